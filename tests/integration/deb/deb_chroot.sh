#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages, built from this tree (make deb: dpkg-buildpackage + lintian), installed
# with dpkg into a clean Debian bookworm chroot (mmdebstrap, from the mirror this machine's
# apt uses) and run there (deb_inside.sh): the packaged server as the packaged user otter,
# an agent cycle against it, a package made by the packaged `otter`. Also checked here: the
# conffiles, the units, the man pages, the version, and that reinstalling (what an upgrade
# does) leaves an existing database alone, and purging too.
#
# The chroot is cached in $OTTER_BUILD_DIR/deb-cache/ as a tarball, one per set of runtime
# dependencies (the Depends of the built packages), so every run starts from a fresh copy
# without the network; a new dependency makes a new tarball. Needs root (chroot, mount).
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"

missing=()
for t in mmdebstrap dpkg-buildpackage dh lintian fakeroot; do command -v "$t" >/dev/null || missing+=("$t"); done
if [ "$(id -u)" != 0 ] || [ ${#missing[@]} -gt 0 ]; then
  why="needs root and ${missing[*]:-} (make deps)"
  [ "${CI:-}" = true ] && { echo "FAIL: $why"; exit 1; }
  echo "SKIPPED: $why"; exit 77
fi

debdir=$OTTER_BUILD_DIR/deb
# OTTER_DEB_REUSE=1 (never under CI): test the .debs already in build/deb, while working on
# this test itself.
if [ -n "${OTTER_DEB_REUSE:-}" ] && [ "${CI:-}" != true ]; then
  echo "reusing the packages in $debdir (OTTER_DEB_REUSE)"
else
  make -s -C "$OTTER_SOURCE_DIR" deb BUILD="$OTTER_BUILD_DIR" JOBS="${JOBS:-2}" >"$OTTER_BUILD_DIR/deb-build.log" 2>&1 ||
    { tail -40 "$OTTER_BUILD_DIR/deb-build.log"; die "make deb failed (log: $OTTER_BUILD_DIR/deb-build.log)"; }
  ok "make deb: built and lintian clean"
fi
debs=("$debdir"/otter_*.deb "$debdir"/otter-agent_*.deb "$debdir"/otter-server_*.deb)
for d in "${debs[@]}"; do [ -f "$d" ] || die "missing package $d"; done

# The mirror apt uses here (deb822 URIs: or a one-line deb entry), bookworm's main archive.
mirror=$(for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && cat "$f"; done |
  sed -nE 's/^(URIs:|deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\3/p' | grep -v security | head -1 || true)
[ -n "$mirror" ] || die "no Debian mirror in /etc/apt/sources.list*"

# Runtime dependencies of the packages (first of each alternative, without versions), minus
# the packages themselves; plus the tools deb_inside.sh drives.
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
  sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^otter' | grep . | sort -u | tr '\n' ',')
deps="${deps}curl,jq,ca-certificates"
cache=$OTTER_BUILD_DIR/deb-cache
key=$(printf '%s\n%s\n' "$mirror" "$deps" | sha256sum | cut -c1-16)
tarball=$cache/bookworm-$key.tar
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  mmdebstrap --variant=apt --include="$deps" bookworm "$cache/new.tar" "$mirror" >"$cache/mmdebstrap.log" 2>&1 ||
    { tail -20 "$cache/mmdebstrap.log"; die "mmdebstrap failed"; }
  mv "$cache/new.tar" "$tarball"
fi

root=${OTTER_TEST_TMP:-/tmp}/deb-chroot.$$
cleanup() {
  for m in proc dev/pts dev; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  rm -rf "$root"
}
trap cleanup EXIT
mkdir -p "$root"
tar -xf "$tarball" -C "$root"
mount --bind /dev "$root/dev"
mount -t proc proc "$root/proc"
in_root() { chroot "$root" "$@"; }

mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
rc=0; out=$(in_root sh -c 'dpkg -i /tmp/debs/*.deb' 2>&1) || rc=$?
expect "dpkg -i installs the three packages in a clean bookworm" "$rc" 0
[ "$rc" = 0 ] || { echo "$out"; finish; }

expect "system user otter" "$(in_root getent passwd otter | cut -d: -f1)" otter
expect "state dir owned by otter" "$(in_root stat -c '%U:%G %a' /var/lib/otter-server)" "otter:otter 750"
# shellcheck disable=SC2016 # ${Conffiles}: dpkg-query's field, not the shell's
conff=$(in_root dpkg-query -W -f='${Conffiles}\n' otter-server otter-agent | awk '{print $1}' | sort | tr '\n' ' ')
expect "conffiles" "$conff" "/etc/otter/agent.conf /etc/otter/server.conf "
expect "agent.conf root:otter 0640" "$(in_root stat -c '%U:%G %a' /etc/otter/agent.conf)" "root:otter 640"
for u in otter-server.service otter-agentd.service otter-boot-check.service otter-installer.socket otter-installer@.service; do
  [ -f "$root/lib/systemd/system/$u" ] && ok "unit $u installed" || bad "unit $u missing"
done
for p in otter otter-agent otter-agentd otter-fetch otter-server; do
  [ -f "$root/usr/share/man/man1/$p.1.gz" ] && ok "man page $p(1)" || bad "man page $p(1) missing"
done
# The local update page (otter-agentd ui, [ui] web_dir's default) comes with otter-agent.
for f in index.html app.js style.css; do
  [ -f "$root/usr/share/otter/web/device/$f" ] && ok "device page $f" || bad "device page $f missing"
done
version=$(dpkg-parsechangelog -l "$OTTER_SOURCE_DIR/debian/changelog" -S Version)
cmake_version=$(sed -nE 's/^project\(otter VERSION ([0-9.]+).*/\1/p' "$OTTER_SOURCE_DIR/CMakeLists.txt")
expect "debian/changelog version is the project's" "${version%%-*}" "$cmake_version"
expect "otter --version" "$(in_root otter --version | head -1 | grep -o "$cmake_version" | head -1)" "$cmake_version"

mkdir -p "$root/otter-test/tests/integration"
cp -r "$OTTER_SOURCE_DIR/tests/integration/lib" "$OTTER_SOURCE_DIR/tests/integration/server" \
  "$OTTER_SOURCE_DIR/tests/integration/deb" "$root/otter-test/tests/integration/"
rc=0; in_root env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
  bash /otter-test/tests/integration/deb/deb_inside.sh || rc=$?
expect "inside the chroot: server, agent and tool from the packages" "$rc" 0
[ "$rc" = 0 ] || finish

# Reinstalling (the maintainer scripts' upgrade path) and purging leave the database alone.
sum=$(sha256sum < "$root/var/lib/otter-server/otter.db")
rc=0; in_root sh -c 'dpkg -i /tmp/debs/*.deb' >/dev/null 2>&1 || rc=$?
expect "reinstall succeeds" "$rc" 0
expect "reinstall leaves the database alone" "$(sha256sum < "$root/var/lib/otter-server/otter.db")" "$sum"
expect "reinstall keeps the edited server.conf" "$(grep -c '^listen = 127.0.0.1:0' "$root/etc/otter/server.conf")" 1
rc=0; in_root dpkg --purge otter-server >/dev/null 2>&1 || rc=$?
expect "purge succeeds" "$rc" 0
expect "purge leaves the database" "$(sha256sum < "$root/var/lib/otter-server/otter.db")" "$sum"
finish
