# Sample boot script in the style of Armbian's boot-meson64.cmd (Amlogic), written for the
# armimmutable test images: own load addresses, serial console ttyAML0, legacy zImage path
# when ${prefix}zImage exists, otherwise Image + uInitrd + booti.
# Recompile with: mkimage -C none -A arm -T script -d boot.cmd boot.scr

setenv scriptaddr "0x32000000"
setenv kernel_addr_r "0x34000000"
setenv fdt_addr_r "0x4080000"
setenv overlay_error "false"
setenv ramdisk_addr_r "0x13000000"
setenv rootdev "/dev/mmcblk1p1"
setenv verbosity "1"
setenv console "both"
setenv bootlogo "false"
setenv rootfstype "ext4"
setenv docker_optimizations "on"

if test -e ${devtype} ${devnum} ${prefix}armbianEnv.txt; then
	load ${devtype} ${devnum} ${scriptaddr} ${prefix}armbianEnv.txt
	env import -t ${scriptaddr} ${filesize}
fi

if test "${console}" = "display" || test "${console}" = "both"; then setenv consoleargs "console=tty1"; fi
if test "${console}" = "serial" || test "${console}" = "both"; then setenv consoleargs "console=ttyAML0,115200 ${consoleargs}"; fi
if test "${bootlogo}" = "true"; then setenv consoleargs "splash plymouth.ignore-serial-consoles ${consoleargs}"; else setenv consoleargs "splash=verbose ${consoleargs}"; fi

part uuid ${devtype} ${devnum}:${distro_bootpart} partuuid
setenv bootargs "root=${rootdev} rootwait rootfstype=${rootfstype} ${consoleargs} consoleblank=0 coherent_pool=2M loglevel=${verbosity} ubootpart=${partuuid} libata.force=noncq usb-storage.quirks=${usbstoragequirks} ${extraargs} ${extraboardargs}"
if test "${docker_optimizations}" = "on"; then setenv bootargs "${bootargs} cgroup_enable=cpuset cgroup_memory=1 cgroup_enable=memory"; fi

if test -e ${devtype} ${devnum} ${prefix}zImage; then
	load ${devtype} ${devnum} ${fdt_addr_r} boot/dtb/${fdtfile}
	load ${devtype} ${devnum} ${kernel_addr_r} boot/zImage
	load ${devtype} ${devnum} ${ramdisk_addr_r} boot/uInitrd
	unzip ${kernel_addr_r} 0x1080000
	booti 0x1080000 ${ramdisk_addr_r} ${fdt_addr_r}
else
	load ${devtype} ${devnum} ${ramdisk_addr_r} ${prefix}uInitrd
	load ${devtype} ${devnum} ${kernel_addr_r} ${prefix}Image
	load ${devtype} ${devnum} ${fdt_addr_r} ${prefix}dtb/${fdtfile}
	fdt addr ${fdt_addr_r}
	fdt resize 65536
	for overlay_file in ${overlays}; do
		if load ${devtype} ${devnum} ${scriptaddr} ${prefix}dtb/amlogic/overlay/${overlay_prefix}-${overlay_file}.dtbo; then
			fdt apply ${scriptaddr} || setenv overlay_error "true"
		fi
	done
	if test "${overlay_error}" = "true"; then
		load ${devtype} ${devnum} ${fdt_addr_r} ${prefix}dtb/${fdtfile}
	fi
	booti ${kernel_addr_r} ${ramdisk_addr_r} ${fdt_addr_r}
fi
