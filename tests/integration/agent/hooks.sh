#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install hooks carried in the package (issue #14, docs/agent.md "Install hooks"):
#   1. `otter pack --pre-install/--post-install` puts them in the signed package;
#      the agent runs pre_install before the first slot write and post_install
#      once the slot is whole, each with the new slot's path as argument and a
#      clean environment (fixed PATH, OTTER_* only: nothing of the agent's);
#      post_install sees the new image complete in its slot;
#   2. a failing pre_install (exit 3) and a failing post_install abort: the
#      message has the hook's status and output; the running slot, the booted
#      slot and the counter are unchanged, slot B has no tries left (never booted) and
#      recorded as holding nothing, no update is pending;
#   3. a hanging hook is killed after [hooks] timeout with its process group
#      (a background child it started is gone too), and the install aborts;
#   4. a tampered hook (same size, one byte changed, manifest and signatures
#      intact) is refused before anything runs or is written.
# On the old code step 1 fails: `otter pack` has no --pre-install.
set -euo pipefail
work="${OTTER_TEST_TMP:-/tmp}/agent-hooks.$$"
rm -rf "$work"; mkdir -p "$work"; trap 'rm -rf "$work"' EXIT
source "$OTTER_SOURCE_DIR/tests/integration/agent/device_fixture.sh"
make_keys
command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }

make_content "$work/v1.img" 400000 1
make_content "$work/v2.img" 500000 2
v2sha=$(sha256sum < "$work/v2.img" | cut -d' ' -f1)
make_pkg "$work/v1.zip" 1.0 1 "$work/v1.img" raw

# hook NAME BODY: a /bin/sh hook that logs its arguments and environment, then runs BODY
hook() {
  cat > "$work/$1.sh" <<SH
#!/bin/sh
log=$work/log
echo "\$OTTER_HOOK args: \$*" >> "\$log"
env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort > "$work/\$OTTER_HOOK.env"
[ "\$OTTER_HOOK" = post_install ] && echo "post slot: \$(head -c $(stat -c %s "$work/v2.img") "\$1" | sha256sum | cut -d' ' -f1)" >> "\$log"
$2
SH
}
# pack2 OUT PRE POST: release 2.0 with the hook scripts PRE and POST ("" = none)
pack2() {
  local args=()
  [ -n "$2" ] && args+=(--pre-install "$work/$2.sh")
  [ -n "$3" ] && args+=(--post-install "$work/$3.sh")
  "$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 \
    --image "rootfs=$work/v2.img:handler=raw" "${args[@]}" \
    --key "$work/keys/r1.key" --key "$work/keys/r2.key" -o "$1" >/dev/null
}
# device DIR [TIMEOUT]: on 1.0 (factory into A, booted and committed); hooks run from DIR/hooks
device() {
  rm -rf "$1"; make_device "$1" raw; mkdir "$1/hooks"
  printf '[hooks]\ntimeout = %s\ndir = %s\n' "${2:-60}" "$1/hooks" >> "$1/agent.conf"
  "$agent" -c "$1/agent.conf" factory "$work/v1.zip" >/dev/null
  "$agent" bootsim --root "$1" >/dev/null
}
# refused_cleanly DIR BEFORE: the running side untouched, B out of the boot order, nothing pending
refused_cleanly() {
  local d=$1 before=$2 st
  st=$("$agent" -c "$d/agent.conf" status --json | tr -d ' \n')
  [ "$(active_fingerprint "$d")" = "$before" ] && [[ $st == *'"B":null'* ]] \
    && [[ $st == *'"pending":null'* ]] && [[ $st == *'"B_left":"0"'* ]]
}

# 1. Both hooks run, in order, with the slot path and a clean environment.
hook pre 'exit 0'; hook post 'exit 0'
pack2 "$work/v2-hooks.zip" pre post
unzip -Z1 "$work/v2-hooks.zip" | tr '\n' ' ' | grep -q '^manifest.json manifest.sig pre_install.hook post_install.hook rootfs.img.zst $' \
  && ok "the hooks are entries after manifest.sig, before the image" || bad "entries: $(unzip -Z1 "$work/v2-hooks.zip" | tr '\n' ' ')"
"$otter" inspect "$work/v2-hooks.zip" | grep -q '^hook pre_install   pre_install.hook, ' \
  && ok "otter inspect shows the hooks" || bad "inspect: $("$otter" inspect "$work/v2-hooks.zip")"
d="$work/ok"; device "$d"
out=$(OTTER_LEAK=agent-env SECRET_TOKEN=x "$agent" -c "$d/agent.conf" install "$work/v2-hooks.zip" 2>&1) \
  && ok "a package with hooks installs" || bad "install: $out"
expected="pre_install args: $d/slots/rootfs-b
post_install args: $d/slots/rootfs-b
post slot: $v2sha"
[ "$(cat "$work/log")" = "$expected" ] && ok "pre then post ran with the new slot's path; post saw 2.0 whole in it" \
  || bad "hook log: $(cat "$work/log")"
want_env="OTTER_HOOK=pre_install
OTTER_REPLACES=rootfs
OTTER_RUNNING_VERSION=1.0
OTTER_SLOT=B
OTTER_SLOT_CLASSES=rootfs
OTTER_VERSION=2.0
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
[ -z "$(ls -A "$d/hooks")" ] && ok "the hooks ran from [hooks] dir, which is empty again" || bad "left in [hooks] dir: $(ls -A "$d/hooks")"
[ "$(cat "$work/pre_install.env")" = "$want_env" ] && ok "the environment is PATH and OTTER_* only (nothing of the agent's)" \
  || bad "environment: $(cat "$work/pre_install.env")"
out=$("$agent" bootsim --root "$d" 2>&1)
[[ $out == "booted slot B: update committed" ]] && ok "2.0 boots and commits" || bad "boot: $out"

# 2. A failing pre_install, then a failing post_install: aborted, the running side untouched.
hook prefail 'echo "battery at 12%, refusing" >&2; exit 3'
pack2 "$work/v2-prefail.zip" prefail ""
d="$work/prefail"; device "$d"; before=$(active_fingerprint "$d"); bsum=$(sha256sum < "$d/slots/rootfs-b")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-prefail.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"install hook pre_install: exited with 3: battery at 12%, refusing"* ]] \
  && ok "a failing pre_install aborts (exit $rc) with its status and output" || bad "pre fail: rc $rc: $out"
# Its output reached the agent's log as it came, line by line with a prefix (not only the message).
grep -qx 'otter-agent: hook pre_install: battery at 12%, refusing' <<<"$out" \
  && ok "the hook's stderr is in the agent's log, prefixed" || bad "no log line for the hook: $out"
refused_cleanly "$d" "$before" && ok "pre_install failed: running slot, booted slot, counter unchanged; B invalid, nothing pending" \
  || bad "after the pre_install failure: $("$agent" -c "$d/agent.conf" status --json)"
[ "$(sha256sum < "$d/slots/rootfs-b")" = "$bsum" ] && ok "pre_install failed before the first byte reached slot B" \
  || bad "slot B was written"
: > "$work/log"
hook postfail 'echo "migration failed" >&2; exit 1'
pack2 "$work/v2-postfail.zip" pre postfail
d="$work/postfail"; device "$d"; before=$(active_fingerprint "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-postfail.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"install hook post_install: exited with 1: migration failed"* ]] \
  && ok "a failing post_install aborts (exit $rc)" || bad "post fail: rc $rc: $out"
refused_cleanly "$d" "$before" && ok "post_install failed: the written slot B is invalid, the running side unchanged" \
  || bad "after the post_install failure: $("$agent" -c "$d/agent.conf" status --json)"
[ ! -e "$d/reboot-requested" ] && ok "no reboot after a failed hook" || bad "reboot requested"

# 3. A hanging hook (with a background child) is killed with its group after the timeout.
hook hang "sleep 600 & echo \$! > $work/bgpid; sleep 600"
pack2 "$work/v2-hang.zip" hang ""
d="$work/hang"; device "$d" 1; before=$(active_fingerprint "$d")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-hang.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"install hook pre_install: killed after [hooks] timeout 1 s"* ]] \
  && ok "a hanging pre_install is killed after [hooks] timeout (exit $rc)" || bad "hang: rc $rc: $out"
bg=$(cat "$work/bgpid")
state=$(awk '{print $3}' "/proc/$bg/stat" 2>/dev/null || echo gone)
[ "$state" = gone ] || [ "$state" = Z ] && ok "its background child died with its process group" \
  || { kill "$bg" 2>/dev/null; bad "background child $bg still running ($state)"; }
refused_cleanly "$d" "$before" && ok "after the timeout: running side unchanged, B invalid" \
  || bad "after the timeout: $("$agent" -c "$d/agent.conf" status --json)"

# 4. A tampered hook: refused before anything runs or is written.
rm -f "$work/log" "$work/pre_install.env"
python3 - "$work/v2-hooks.zip" "$work/v2-tampered.zip" <<'PY'
import sys, zipfile
src, out = sys.argv[1:3]
z = zipfile.ZipFile(src)
with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as o:
    for info in z.infolist():
        data = z.read(info.filename)
        if info.filename == "pre_install.hook":
            data = data.replace(b"exit 0", b"exit 7")  # same size, one byte changed
        o.writestr(info.filename, data)
PY
d="$work/tampered"; device "$d"; before=$(fingerprint "$d"); bsum=$(sha256sum < "$d/slots/rootfs-b")
rc=0; out=$("$agent" -c "$d/agent.conf" install "$work/v2-tampered.zip" 2>&1) || rc=$?
[ "$rc" != 0 ] && [[ $out == *"hook pre_install (pre_install.hook)"*"tampered hook refused"* ]] \
  && ok "a tampered hook is refused (exit $rc)" || bad "tampered: rc $rc: $out"
[ ! -e "$work/log" ] && [ ! -e "$work/pre_install.env" ] && ok "no hook ran" || bad "a hook ran: $(cat "$work/log" 2>/dev/null)"
[ "$(fingerprint "$d")" = "$before" ] && [ "$(sha256sum < "$d/slots/rootfs-b")" = "$bsum" ] \
  && ok "nothing was written (state, boot variables, counter, both slots)" || bad "the tampered package changed the device"

# 5. otter delta carries the hooks of its NEW package (it refused such packages before).
out=$("$otter" delta --from "$work/v1.zip" --to "$work/v2-hooks.zip" --root "$work/keys/root.json" \
  --key "$work/keys/r1.key" --key "$work/keys/r2.key" -o "$work/v2-delta.zip" 2>&1) \
  && ok "otter delta of a package with hooks" || bad "otter delta: $out"
unzip -Z1 "$work/v2-delta.zip" 2>/dev/null | tr '\n' ' ' | grep -q '^manifest.json manifest.sig pre_install.hook post_install.hook ' \
  && ok "the delta carries both hooks" || bad "delta entries: $(unzip -Z1 "$work/v2-delta.zip" 2>&1 | tr '\n' ' ')"
rm -f "$work/log"
d="$work/delta"; device "$d"
out=$("$agent" -c "$d/agent.conf" install "$work/v2-delta.zip" 2>&1) && [ "$(head -c 500000 "$d/slots/rootfs-b" | sha256sum | cut -d' ' -f1)" = "$v2sha" ] \
  && ok "the delta installs 2.0" || bad "delta install: $out"
grep -q '^pre_install args: ' "$work/log" && grep -q '^post_install args: ' "$work/log" \
  && ok "both hooks ran from the delta" || bad "hook log: $(cat "$work/log" 2>/dev/null)"
finish
