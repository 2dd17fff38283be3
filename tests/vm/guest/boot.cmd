# U-Boot script of the reference device's U-Boot variant (tests/vm/uboot.sh),
# compiled with `mkimage -T script` into /boot.scr on the boot partition, where
# U-Boot's distro boot finds it. A/B with the boot counters otter-agent's uboot
# back-end keeps (BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT). Debian's qemu-x86
# U-Boot keeps no environment of its own (CONFIG_ENV_IS_NOWHERE), so the
# environment is two files on the boot partition, U-Boot's redundant format
# (CRC32, a flags byte, the variables; 16 KiB each): /uboot.env and
# /uboot-redund.env, the fw_env.config of libubootenv in Linux
#   /bootpart/uboot.env 0x0 0x4000
#   /bootpart/uboot-redund.env 0x0 0x4000
# Every writer (this script, the agent) writes the copy NOT in use and gives
# it a newer flags byte: a power cut tears at most the copy being written, and
# the other one, intact, is read at the next boot. The try is counted down and
# written before the kernel starts.
setenv otter_env_size 0x4000
# Copy 1 at 0x6000000, copy 2 at 0x6100000, zeroed first: a missing or short
# file then has a bad CRC. 0x6200000 is scratch, 0x6300000 the copy written.
mw.b 0x6000000 0 0x4000
mw.b 0x6100000 0 0x4000
load ${devtype} ${devnum}:${distro_bootpart} 0x6000000 /uboot.env
load ${devtype} ${devnum}:${distro_bootpart} 0x6100000 /uboot-redund.env

# The newer copy by the flags byte (offset 4), U-Boot's and libubootenv's rule:
# the larger one, except that 0 follows 0xff.
setenv otter_newer 1
if itest.b *0x6100004 > *0x6000004; then setenv otter_newer 2; fi
if itest.b *0x6000004 == 0xff && itest.b *0x6100004 == 0; then setenv otter_newer 2; fi
if itest.b *0x6100004 == 0xff && itest.b *0x6000004 == 0; then setenv otter_newer 1; fi

# env import -c wants the CRC right before the variables: each copy's CRC and
# variables are put together in the scratch buffer, without the flags byte.
# The older copy is imported first, the newer one last: a copy with a bad CRC
# is refused (its import fails, nothing changes), so the newest intact copy
# decides. otter_cur is the copy in use, otter_flag its flags byte's address.
setenv otter_cur
setenv otter_imp1 'cp.b 0x6000000 0x6200000 4; cp.b 0x6000005 0x6200004 0x3ffb; if env import -c 0x6200000 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then setenv otter_cur 1; setenv otter_flag 0x6000004; fi'
setenv otter_imp2 'cp.b 0x6100000 0x6200000 4; cp.b 0x6100005 0x6200004 0x3ffb; if env import -c 0x6200000 0x3fff BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then setenv otter_cur 2; setenv otter_flag 0x6100004; fi'
if test "${otter_newer}" = 2; then run otter_imp1 otter_imp2; else run otter_imp2 otter_imp1; fi
if test -z "${otter_cur}"; then
  echo "OTTER-UBOOT no intact environment copy: defaults"
else
  echo "OTTER-UBOOT environment from copy ${otter_cur}"
fi
test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

# The first slot in BOOT_ORDER with tries left. This build has no setexpr
# (CONFIG_CMD_SETEXPR is off): the decrement is a chain, as in GRUB's script,
# for [boot] tries up to 9.
setenv otter_slot
for s in ${BOOT_ORDER}; do
  if test -z "${otter_slot}"; then
    if test "${s}" = "A" && test ${BOOT_A_LEFT} -gt 0; then
      setenv otter_slot A
      setenv otter_part 2
      setenv otter_left ${BOOT_A_LEFT}
    elif test "${s}" = "B" && test ${BOOT_B_LEFT} -gt 0; then
      setenv otter_slot B
      setenv otter_part 3
      setenv otter_left ${BOOT_B_LEFT}
    fi
  fi
done
if test -z "${otter_slot}"; then
  echo "OTTER-UBOOT no slot left to boot (order ${BOOT_ORDER}, A ${BOOT_A_LEFT}, B ${BOOT_B_LEFT})"
  exit
fi
if   test "${otter_left}" = 9; then setenv otter_left 8
elif test "${otter_left}" = 8; then setenv otter_left 7
elif test "${otter_left}" = 7; then setenv otter_left 6
elif test "${otter_left}" = 6; then setenv otter_left 5
elif test "${otter_left}" = 5; then setenv otter_left 4
elif test "${otter_left}" = 4; then setenv otter_left 3
elif test "${otter_left}" = 3; then setenv otter_left 2
elif test "${otter_left}" = 2; then setenv otter_left 1
else setenv otter_left 0; fi
setenv BOOT_${otter_slot}_LEFT ${otter_left}

# Persisted before the kernel starts (a slot that never reaches boot-check runs
# out of tries after [boot] tries boots), into the copy not in use. Its flags
# byte must be newer than the one in use; without setexpr the script cannot
# add, so it writes 0xff, or 0 after 0xff, or 1 after 0 (newer by the rule
# above; the agent's next write, through libubootenv, adds 1 to it).
setenv otter_file /uboot-redund.env
if test "${otter_cur}" = 2; then setenv otter_file /uboot.env; fi
setenv otter_newflag ff
if test -n "${otter_cur}"; then
  if itest.b *${otter_flag} == 0xff; then setenv otter_newflag 0; fi
  if itest.b *${otter_flag} == 0; then setenv otter_newflag 1; fi
fi
env export -c -s 0x3fff 0x6300001 BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
cp.b 0x6300001 0x6200000 4
cp.b 0x6200000 0x6300000 4
mw.b 0x6300004 ${otter_newflag} 1
ext4write ${devtype} ${devnum}:${distro_bootpart} 0x6300000 ${otter_file} ${otter_env_size}
echo "OTTER-UBOOT slot=${otter_slot} order=${BOOT_ORDER} A_LEFT=${BOOT_A_LEFT} B_LEFT=${BOOT_B_LEFT}"
setenv bootargs "root=/dev/vda${otter_part} otter.slot=${otter_slot} console=ttyS0 panic=1 no_timer_check quiet loglevel=3"
load ${devtype} ${devnum}:${otter_part} ${kernel_addr_r} /boot/vmlinuz
load ${devtype} ${devnum}:${otter_part} ${ramdisk_addr_r} /boot/initrd.img
zboot ${kernel_addr_r} 0 ${ramdisk_addr_r} ${filesize}
