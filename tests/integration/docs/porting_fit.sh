#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/porting.md "U-Boot: a signed FIT image": the recipe's commands, run as written with
# Debian's u-boot-tools and device-tree-compiler on the reference device's kernel and an
# initramfs: the FIT is signed (configuration signature, RSA-3072), the public key lands in
# the control device tree as a required key with the signing key's modulus, and the images
# come back out as they went in under the hashes the signature covers. Debian ships no
# fit_check_sign (u-boot-tools 2023.01 has mkimage, dumpimage, mkenvimage, ...): U-Boot's own
# check of the signature, and its refusal of a changed byte, are not run here. Also: the GRUB
# script in docs/porting.md is the file the VM boots with.
set -euo pipefail
source "$OTTER_SOURCE_DIR/tests/integration/lib/check.sh"

missing=()
for t in mkimage dumpimage dtc fdtget openssl cpio; do command -v "$t" >/dev/null || missing+=("$t"); done
kernel=$(find /boot -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -1)
[ -n "$kernel" ] && [ -r "$kernel" ] || missing+=("a kernel in /boot (linux-image-amd64)")
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: CI=true and missing: ${missing[*]} (make deps)"; exit 1; fi
  echo "SKIPPED: missing ${missing[*]} (make deps)"; exit 77
fi
work=$(mktemp -d "${OTTER_TEST_TMP:-/tmp}/porting_fit.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$kernel" kernel
mkdir -p rd/bin && cp /bin/busybox rd/bin/ && (cd rd && find . | cpio -o -H newc --quiet | gzip -1) > ramdisk

# 1. The key (docs/porting.md step 1).
mkdir keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out keys/dev.key 2>/dev/null
openssl req -batch -new -x509 -key keys/dev.key -out keys/dev.crt -subj /CN=dev/ 2>/dev/null
# 2. image.its (step 2), the configuration signed.
cat > image.its <<'ITS'
/dts-v1/;
/ {
  description = "Otter slot kernel";
  #address-cells = <1>;
  images {
    kernel {
      data = /incbin/("kernel");
      type = "kernel"; arch = "x86_64"; os = "linux"; compression = "none";
      load = <0x01000000>; entry = <0x01000000>;
      hash-1 { algo = "sha256"; };
    };
    ramdisk {
      data = /incbin/("ramdisk");
      type = "ramdisk"; arch = "x86_64"; os = "linux"; compression = "none";
      hash-1 { algo = "sha256"; };
    };
  };
  configurations {
    default = "conf-1";
    conf-1 {
      kernel = "kernel"; ramdisk = "ramdisk";
      signature-1 { algo = "sha256,rsa3072"; key-name-hint = "dev"; sign-images = "kernel", "ramdisk"; };
    };
  };
};
ITS
# hexof DTB NODE PROPERTY: the property's bytes as one hex string (fdtget drops leading zeros).
hexof() { local b; for b in $(fdtget -t bx "$@"); do printf '%02x' "0x$b"; done; }
# A stand-in for U-Boot's control device tree (the board's u-boot.dtb).
printf '/dts-v1/;\n/ { model = "board"; };\n' | dtc -q -I dts -O dtb -o u-boot.dtb -
# 3. Build and sign, the public key into u-boot.dtb as required (step 3).
mkimage -f image.its -k keys -K u-boot.dtb -r image.itb > mkimage.log 2>&1 ||
  die "mkimage failed: $(tail -5 mkimage.log)"
if grep -q "Signature written to 'image.itb', node '/configurations/conf-1/signature-1'" mkimage.log; then
  ok "mkimage signed configuration conf-1"
else bad "mkimage: $(tail -3 mkimage.log)"; fi
expect "the key in u-boot.dtb is required for configurations" \
  "$(fdtget u-boot.dtb /signature/key-dev required)" conf
expect "the key's algorithm" "$(fdtget u-boot.dtb /signature/key-dev algo)" "sha256,rsa3072"
expect "the key in u-boot.dtb has the signing key's modulus" \
  "$(hexof u-boot.dtb /signature/key-dev rsa,modulus | sed 's/^0*//')" \
  "$(openssl rsa -in keys/dev.key -noout -modulus | sed 's/^Modulus=//; s/^0*//' | tr 'A-F' 'a-f')"
expect "the configuration's signature is 3072 bits" \
  "$(fdtget -t bx image.itb /configurations/conf-1/signature-1 value | wc -w)" 384
# The images come back out as they went in, each under the hash the signature covers.
dumpimage -T flat_dt -p 0 -o kernel.out image.itb >/dev/null
if cmp -s kernel kernel.out; then ok "dumpimage: the FIT's kernel is the kernel"; else bad "the FIT's kernel differs"; fi
expect "the kernel's hash-1 is its SHA-256" \
  "$(hexof image.itb /images/kernel/hash-1 value)" \
  "$(sha256sum kernel | cut -c1-64)"

# docs/porting.md copies the GRUB script the VM boots with: the copy is the file.
expect "docs/porting.md's GRUB script is tests/vm/guest/grub.cfg" \
  "$(awk '/^`tests\/vm\/guest\/grub.cfg`/ { f = 1 } f && /^```$/ { n++; next } f && n == 1' \
    "$OTTER_SOURCE_DIR/docs/porting.md" | sha256sum)" "$(sha256sum < "$OTTER_SOURCE_DIR/tests/vm/guest/grub.cfg")"
finish
