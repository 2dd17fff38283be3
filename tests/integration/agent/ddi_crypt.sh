#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Encrypted images over the air (issue 13): a real otter-server on 127.0.0.1 takes an
# update encrypted for one device's X25519 key:
#   1. the upload is verified without any key and stored as uploaded: the image's
#      clear bytes appear nowhere in the server's data (ciphertext only);
#   2. the device holding the key ([crypt] key) installs it from the server's
#      artifact link, boots it and reports success; slot B is the clear image;
#   3. a device with another key refuses it before writing anything ("not a
#      recipient"): slots, state, counter and boot variables unchanged, and the
#      server has error/failure with the reason.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/server/lib.sh"
source "$OTTER_SOURCE_DIR/tests/integration/agent/ddi_fixture.sh"
ddi_setup ddi-crypt
openssl genpkey -algorithm X25519 -out "$keys/dev.key" 2>/dev/null
openssl genpkey -algorithm X25519 -out "$keys/other.key" 2>/dev/null
for n in dev other; do openssl pkey -in "$keys/$n.key" -pubout -out "$keys/$n.pub"; done
marker="OTTER-CLEAR-MARKER-$$-$RANDOM"
lib=$(ldd "$(command -v openssl)" | awk '/libcrypto/ {print $3}')
{ echo "version 2.0 $marker"; head -c 900000 "$lib"; echo "$marker end"; } > "$keys/2.0.img"
"$otter" pack --product gw --compatible gw-a --version 2.0 --security-version 2 --chunk-size 64KiB \
  --image rootfs="$keys/2.0.img" --key "$keys/r1.key" --encrypt-for "$keys/dev.pub" \
  -o "$keys/2.0.zip" >/dev/null

# 1. Upload: verified without a key, stored as it came.
release 2.0 >/dev/null
sha=$(sha256sum < "$keys/2.0.zip" | cut -d' ' -f1)
cmp -s "$keys/2.0.zip" "$work/artifacts/$sha" && ok "the server stores the encrypted package unchanged" \
  || bad "no stored artifact $sha identical to the upload"
if grep -rqaF "$marker" "$work"; then bad "clear image bytes in the server's data: $(grep -rlaF "$marker" "$work")"
else ok "the image's clear bytes are nowhere in the server's data"; fi

# print DIR: what a refused update must leave alone.
print() {
  local f
  for f in a b state/state.json state/counter bootenv cmdline; do
    if [ -e "$1/$f" ]; then echo "$f $(sha256sum < "$1/$f" | cut -d' ' -f1)"; else echo "$f absent"; fi
  done
}

# 2. The recipient installs it over the air.
ddi_device "$work/dev" dev
printf '[crypt]\nkey = %s\n' "$keys/dev.key" >> "$work/dev/agent.conf"
act=$(deploy 2.0 dev)
expect "the recipient installs 2.0" "$(cycle "$work/dev")" 0
"$agent" bootsim --root "$work/dev" >/dev/null
cycle "$work/dev" >/dev/null
expect "2.0 committed: finished/success" "$(action "$act" '.status + "/" + .result')" finished/success
cmp -s -n "$(stat -c %s "$keys/2.0.img")" "$keys/2.0.img" "$work/dev/b" \
  && ok "slot B holds the clear image" || bad "slot B is not the image"

# 3. Another device's key: refused before any write, reported.
ddi_device "$work/other" other
printf '[crypt]\nkey = %s\n' "$keys/other.key" >> "$work/other/agent.conf"
before=$(print "$work/other")
act=$(deploy 2.0 other)
cycle "$work/other" >/dev/null
grep -qF "not a recipient" "$work/cycle.log" && ok "another key: refused, not a recipient" \
  || bad "another key: $(cat "$work/cycle.log")"
expect "another key: slots, state, counter and boot variables unchanged" "$(print "$work/other")" "$before"
expect "another key: error/failure on the server" "$(action "$act" '.status + "/" + .result')" error/failure
detail=$(action "$act" '[.feedback[] | select(.execution == "closed")][0].details | join(" ")')
[[ $detail == *"not a recipient"* ]] && ok "another key: the server has the reason" \
  || bad "another key: feedback: $detail"
stop_server
finish
