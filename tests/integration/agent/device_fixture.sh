#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sourced by the agent tests: simulated devices in directories, release keys
# and packages. Needs $OTTER_BUILD_DIR and a work directory $work.
otter="$OTTER_BUILD_DIR/bin/otter"
agent="$OTTER_BUILD_DIR/bin/otter-agent"
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"
source "$OTTER_SOURCE_DIR/tests/integration/lib/agent_conf.sh"

# make_keys: release keys r1..r3 and a 2-of-3 root in $work/keys
make_keys() {
  mkdir -p "$work/keys"
  for k in r1 r2 r3 stranger; do "$otter" keygen --type ed25519 --out "$work/keys/$k" >/dev/null; done
  "$otter" root new --pubkey "$work/keys/r1.pub" --pubkey "$work/keys/r2.pub" \
    --pubkey "$work/keys/r3.pub" --threshold 2 -o "$work/keys/root.json" >/dev/null
}

# make_content FILE BYTES SEED: realistic, compressible, seed-dependent content
make_content() {
  local lib; lib=$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')
  { echo "seed $3"; head -c "$2" "$lib"; } | head -c "$2" > "$1"
}

# make_pkg OUT VERSION SECVER IMAGE_FILE HANDLER [MODEL] [KEYS...]: signed by r1+r2 unless keys given
make_pkg() {
  local out=$1 version=$2 secver=$3 img=$4 handler=$5 model=${6:-gw-a}; shift 6 2>/dev/null || shift $#
  local keys=("$@"); [ ${#keys[@]} -gt 0 ] || keys=(r1 r2)
  local args=()
  for k in "${keys[@]}"; do args+=(--key "$work/keys/$k.key"); done
  "$otter" pack --product gw --compatible "$model" --version "$version" --security-version "$secver" \
    --image "rootfs=$img:handler=$handler" "${args[@]}" -o "$out" >/dev/null
}

# make_device DIR HANDLER [HEALTH_COMMAND]: agent.conf, slots, state dir
make_device() {
  local d=$1 handler=$2 health=${3:-}
  mkdir -p "$d/slots"
  case $handler in
    archive) mkdir -p "$d/slots/rootfs-a" "$d/slots/rootfs-b" ;;
    *) : > "$d/slots/rootfs-a"; : > "$d/slots/rootfs-b" ;;
  esac
  agent_conf "$d" "$work/keys/root.json" "$d/slots/rootfs-a" "$d/slots/rootfs-b" "$handler" "$health"
}

# fingerprint DIR: digests of everything a refused install must not touch
fingerprint() {
  local d=$1
  {
    for f in state/state.json state/counter bootenv cmdline; do
      if [ -e "$d/$f" ]; then sha256sum < "$d/$f"; else echo "absent $f"; fi
    done
    local booted; booted=$(sed -n 's/.*otter.slot=\([AB]\).*/\1/p' "$d/cmdline" 2>/dev/null | tr AB ab)
    if [ -d "$d/slots/rootfs-$booted" ]; then (cd "$d/slots/rootfs-$booted" && find . -type f -exec sha256sum {} + | sort)
    elif [ -n "$booted" ]; then sha256sum < "$d/slots/rootfs-$booted"; fi
  } | sha256sum | cut -d' ' -f1
}

# active_fingerprint DIR: what no refusal may change, even one after the inactive
# slot was written: the running slot, the booted slot (cmdline) and the counter
active_fingerprint() {
  local d=$1 booted
  booted=$(sed -n 's/.*otter.slot=\([AB]\).*/\1/p' "$d/cmdline" 2>/dev/null | tr AB ab)
  { sha256sum < "$d/cmdline"; sha256sum < "$d/state/counter"
    if [ -d "$d/slots/rootfs-$booted" ]; then (cd "$d/slots/rootfs-$booted" && find . -type f -exec sha256sum {} + | sort)
    else sha256sum < "$d/slots/rootfs-$booted"; fi
    "$agent" -c "$d/agent.conf" status --json | tr -d ' \n' | sed -n 's/.*"booted":"\([AB]\)".*/\1/p'
  } | sha256sum | cut -d' ' -f1
}

