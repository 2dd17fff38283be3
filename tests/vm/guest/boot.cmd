# U-Boot script of the reference device's U-Boot variant (tests/vm/uboot.sh),
# compiled with `mkimage -T script` into /boot.scr on the boot partition, where
# U-Boot's distro boot finds it. A/B with the boot counters otter-agent's uboot
# back-end keeps (BOOT_ORDER, BOOT_A_LEFT, BOOT_B_LEFT), in /uboot.env on the
# boot partition: Debian's qemu-x86_64 U-Boot keeps no environment of its own
# (CONFIG_ENV_IS_NOWHERE), so the script imports the file (env import -c: the
# CRC-checked binary format libubootenv and fw_printenv read and write through
# the fw_env.config "/bootpart/uboot.env 0x0 0x4000") and writes it back with
# env export -c and ext4write. The try is counted down before the kernel starts.
setenv otter_env_addr 0x6000000
setenv otter_env_size 0x4000
if load ${devtype} ${devnum}:${distro_bootpart} ${otter_env_addr} /uboot.env; then
  if env import -c ${otter_env_addr} ${otter_env_size} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT; then
    echo "OTTER-UBOOT environment imported from /uboot.env"
  else
    echo "OTTER-UBOOT /uboot.env has a bad CRC: defaults"
  fi
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

# Persisted before the kernel starts: a slot that never reaches boot-check
# runs out of tries after [boot] tries boots.
env export -c -s ${otter_env_size} ${otter_env_addr} BOOT_ORDER BOOT_A_LEFT BOOT_B_LEFT
ext4write ${devtype} ${devnum}:${distro_bootpart} ${otter_env_addr} /uboot.env ${otter_env_size}
echo "OTTER-UBOOT slot=${otter_slot} order=${BOOT_ORDER} A_LEFT=${BOOT_A_LEFT} B_LEFT=${BOOT_B_LEFT}"
setenv bootargs "root=/dev/vda${otter_part} otter.slot=${otter_slot} console=ttyS0 panic=1 no_timer_check quiet loglevel=3"
load ${devtype} ${devnum}:${otter_part} ${kernel_addr_r} /boot/vmlinuz
load ${devtype} ${devnum}:${otter_part} ${ramdisk_addr_r} /boot/initrd.img
zboot ${kernel_addr_r} 0 ${ramdisk_addr_r} ${filesize}
