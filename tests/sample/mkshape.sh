#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds a small synthetic disk image of one Armbian image shape (armbian-layout.md section 9),
# rootless (no loop devices, no mount): sfdisk on a sparse file, filesystems made into files
# (mke2fs -d, mkfs.vfat + mcopy) and copied in with dd conv=notrunc,sparse, bootloader bytes
# written into the gap. Deterministic: fixed UUIDs, disk ids, seeds and times; the same call
# gives the same bytes. See docs/samples.md for what each shape models and contains.
#
# Usage: mkshape.sh SHAPE OUT.img [--size-mib N] [--arch arm64|armhf|amd64] [--boot-mib N]
#                   [--real-sizes] [--rootfs auto|builtin|mkrootfs]
#   SHAPE         A A2 B C C0 D DE DF E F G H NOROOT (`mkshape.sh --list` prints them;
#                 DE is D with extlinux.conf on its ext4 /boot instead of boot.scr)
#   --size-mib N  total image size in MiB (root fills what the other partitions leave)
#   --arch        only shape A has a choice (arm64 = sunxi64, armhf = 32-bit sunxi);
#                 G is amd64, every other shape arm64
#   --boot-mib N  size of the partition before root (/boot, RPICFG, ESP); the defaults are
#                 small (32 MiB ext4 /boot, 40 MiB FAT32) to keep the tests fast
#   --real-sizes  use Armbian's real sizes instead: /boot 256 MiB, RPICFG 512 MiB, ESP 260 MiB
#   --rootfs      how the root ext4 is made: "mkrootfs" runs tests/sample/mkrootfs.sh (root
#                 also gets its metadata edge cases), "builtin" runs mke2fs -d here, "auto"
#                 (default) uses mkrootfs.sh when it is executable and falls back to builtin
#                 with a warning on stderr when it fails
# Environment: SOURCE_DATE_EPOCH (default 1718236800) sets every time stamp.
#              AIM_SAMPLE_DM_VERITY: y or m puts CONFIG_DM_VERITY into the kernel config
#              (m: with a dm-verity.ko module; "m-nomod": the config line alone); unset
#              (default): no such line, the image bytes as without it.
set -euo pipefail

me=$(readlink -f "$0")
here=$(dirname "$me")
shapes_dir=$here/shapes
blobs() { perl "$shapes_dir/blobs.pl" "$@"; }

die() {
	echo "mkshape: $*" >&2
	exit 1
}

usage() {
	sed -n '/^# Usage:/,/^# Environment/p' "$me" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

ALL_SHAPES="A A2 B C C0 D DE DF E F G H NOROOT"
if [ "${1:-}" = "--list" ]; then
	echo "$ALL_SHAPES"
	exit 0
fi
[ $# -ge 2 ] || usage
shape=$1
out=$2
shift 2
size_mib=""
arch=""
boot_mib=""
real_sizes=0
rootfs_mode=auto
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) [ $# -ge 2 ] || usage; size_mib=$2; shift 2 ;;
	--arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
	--boot-mib) [ $# -ge 2 ] || usage; boot_mib=$2; shift 2 ;;
	--real-sizes) real_sizes=1; shift ;;
	--rootfs) [ $# -ge 2 ] || usage; rootfs_mode=$2; shift 2 ;;
	*) usage ;;
	esac
done
for n in "$size_mib" "$boot_mib"; do
	case "$n" in *[!0-9]*) die "not a number of MiB: '$n'" ;; esac
done
case "$rootfs_mode" in auto | builtin | mkrootfs) ;; *) die "bad --rootfs '$rootfs_mode'" ;; esac

PATH=$PATH:/sbin:/usr/sbin
export LC_ALL=C TZ=UTC
SDE=${SOURCE_DATE_EPOCH:-1718236800}
export SOURCE_DATE_EPOCH=$SDE E2FSPROGS_FAKE_TIME=$SDE MTOOLS_SKIP_CHECK=1
for t in sfdisk mke2fs debugfs tune2fs mkfs.vfat mcopy mkimage cpio gzip perl jq; do
	command -v $t >/dev/null || die "missing tool: $t (see tools/deps.sh)"
done

# ---- fixed identities (the same in every shape; docs/samples.md lists them) --------------------
ROOT_UUID=6d0c1b2a-3e4f-4a5b-8c7d-9e0f1a2b3c4d    # ext4 armbi_root
BOOT_UUID=2f9e8d7c-6b5a-4c3d-9e2f-1a0b9c8d7e6f    # ext4 armbi_boot
FAT_VOLID=4D2E1F00                                 # every FAT volume: UUID 4D2E-1F00
FAT_UUID=4D2E-1F00
MBR_ID=0x5f0e2b71
GPT_DISK=8a5d7c3e-41f2-4b9e-a0d6-1c2e3f405162
GPT_P1=0b1e4c1a-5d6e-4f70-8192-a3b4c5d6e7f1
GPT_P2=1c2f5d2b-6e7f-4081-92a3-b4c5d6e7f802
GPT_P3=2d3a6e3c-7f80-4192-a3b4-c5d6e7f80913

# GPT type GUIDs (armbian-layout.md 1.5)
T_BIOS=21686148-6449-6E6F-744E-656564454649
T_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
T_ROOT_ARM64=B921B045-1DF0-41C3-AF44-4C6F280D3FAE
T_ROOT_X86_64=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
T_LINUX=0FC63DAF-8483-4772-8E79-3D69D8477DE4

# ---- per-shape description -----------------------------------------------------------------------
# table, OFFSET (MiB before the first partition), the partitions before root, the loader written
# into the gap, the boot method, and the family values of /etc/armbian-release.
VERSION=25.5.1
BRANCH=current
KMAJ=6.12.20
SQUASHFS=y         # CONFIG_SQUASHFS (armbian-layout.md 4.5)
first=none         # partition before root: none | ext4boot | fatboot | rpicfg | esp | bios+esp | fatonly
bootmode=scr       # scr | extlinux | rpi | grub | none
loader=none        # sunxi64 | sunxi | meson | rk3399 | rk35xx | grub-bios | none
table=dos
offset=4
root_gpt_type=$T_ROOT_ARM64
bootscript=""
dtbs=""            # "vendor/file.dtb ..." (first one is the board's)
overlays=""        # overlay .dtbo base names (with prefix)
env_extra=""       # family keys of armbianEnv.txt before rootdev=
case "$shape" in
A)
	[ -n "$arch" ] || arch=arm64
	case "$arch" in
	arm64)
		BOARD=orangepizero2 BOARD_NAME="Orange Pi Zero2" BOARDFAMILY=sun50iw9
		LINUXFAMILY=sunxi64 BOOT_SOC=h616 loader=sunxi64 bootscript=boot-sunxi64.cmd
		vendor=allwinner dtbs="allwinner/sun50i-h616-orangepi-zero2.dtb allwinner/sun50i-h618-orangepi-zero3.dtb"
		overlays="sun50i-h616-uart5 sun50i-h616-i2c3"
		env_extra="verbosity=1
bootlogo=false
console=both
disp_mode=1920x1080p60
overlay_prefix=sun50i-h616"
		;;
	armhf)
		BOARD=orangepipc BOARD_NAME="Orange Pi PC" BOARDFAMILY=sun8i
		LINUXFAMILY=sunxi BOOT_SOC=h3 loader=sunxi bootscript=boot-sunxi.cmd
		vendor="" dtbs="sun8i-h3-orangepi-pc.dtb sun8i-h3-orangepi-one.dtb"
		overlays="sun8i-h3-uart1 sun8i-h3-i2c0"
		env_extra="verbosity=1
bootlogo=false
console=both
disp_mode=1920x1080p60
overlay_prefix=sun8i-h3"
		;;
	*) die "shape A: --arch must be arm64 or armhf" ;;
	esac
	;;
A2)
	BOARD=lepotato BOARD_NAME="Libre Computer AML-S905X-CC" BOARDFAMILY=meson-gxl
	LINUXFAMILY=meson64 BOOT_SOC=s905x loader=meson bootscript=boot-meson64.cmd
	vendor=amlogic dtbs="amlogic/meson-gxl-s905x-libretech-cc.dtb amlogic/meson-gxl-s905x-p212.dtb"
	overlays="meson-uart-a meson-i2c-ao"
	env_extra="verbosity=1
bootlogo=false
console=both
overlay_prefix=meson
fdtfile=amlogic/meson-gxl-s905x-libretech-cc.dtb"
	;;
B | H)
	offset=16
	if [ "$shape" = B ]; then
		BOARD=rockpro64 BOARD_NAME="Pine64 RockPro64"
		dtbs="rockchip/rk3399-rockpro64.dtb rockchip/rk3399-rockpro64-v2.dtb"
	else
		BOARD=nanopct4 BOARD_NAME="FriendlyElec NanoPC-T4" bootmode=extlinux
		dtbs="rockchip/rk3399-nanopc-t4.dtb rockchip/rk3399-nanopi-m4.dtb"
	fi
	BOARDFAMILY=rockchip64 LINUXFAMILY=rockchip64 BOOT_SOC=rk3399 loader=rk3399
	bootscript=boot-rockchip64.cmd vendor=rockchip overlays="rockchip-uart4 rockchip-spi-spidev"
	env_extra="verbosity=1
bootlogo=false
console=both
overlay_prefix=rockchip
fdtfile=${dtbs%% *}"
	;;
C | C0)
	table=gpt offset=16
	[ "$shape" = C0 ] && root_gpt_type=$T_LINUX
	BOARD=rock-5b BOARD_NAME="Radxa ROCK 5B" BOARDFAMILY=rockchip-rk3588 LINUXFAMILY=rk35xx
	BRANCH=vendor KMAJ=6.1.115 BOOT_SOC=rk3588 SQUASHFS=m loader=rk35xx
	bootscript=boot-rockchip64.cmd vendor=rockchip
	dtbs="rockchip/rk3588-rock-5b.dtb rockchip/rk3588s-rock-5a.dtb"
	overlays="rockchip-rk3588-uart7-m2 rockchip-rk3588-i2c8-m2"
	env_extra="verbosity=1
bootlogo=false
console=both
extraargs=cma=256M
overlay_prefix=rockchip-rk3588
fdtfile=rockchip/rk3588-rock-5b.dtb"
	;;
D)
	first=ext4boot
	BOARD=orangepizero2 BOARD_NAME="Orange Pi Zero2" BOARDFAMILY=sun50iw9
	LINUXFAMILY=sunxi64 BOOT_SOC=h616 loader=sunxi64 bootscript=boot-sunxi64.cmd
	vendor=allwinner dtbs="allwinner/sun50i-h616-orangepi-zero2.dtb allwinner/sun50i-h618-orangepi-zero3.dtb"
	overlays="sun50i-h616-uart5 sun50i-h616-i2c3"
	env_extra="verbosity=1
bootlogo=false
console=both
disp_mode=1920x1080p60
overlay_prefix=sun50i-h616"
	;;
DE)
	first=ext4boot bootmode=extlinux
	BOARD=orangepizero2 BOARD_NAME="Orange Pi Zero2" BOARDFAMILY=sun50iw9
	LINUXFAMILY=sunxi64 BOOT_SOC=h616 loader=sunxi64
	vendor=allwinner dtbs="allwinner/sun50i-h616-orangepi-zero2.dtb"
	overlays="sun50i-h616-uart5"
	;;
DF)
	first=fatboot bootmode=extlinux
	BOARD=aml-s9xx-box BOARD_NAME="Amlogic S9xx TV Box" BOARDFAMILY=meson-gxl
	LINUXFAMILY=meson64 BOOT_SOC=s905x
	vendor=amlogic dtbs="amlogic/meson-gxl-s905x-p212.dtb amlogic/meson-gxbb-p201.dtb"
	overlays="meson-uart-a"
	;;
E)
	first=rpicfg bootmode=rpi
	BOARD=rpi4b BOARD_NAME="Raspberry Pi 4" BOARDFAMILY=bcm2711 LINUXFAMILY=bcm2711
	BOOT_SOC=bcm2711 SQUASHFS=m vendor=broadcom
	dtbs="broadcom/bcm2711-rpi-4-b.dtb broadcom/bcm2711-rpi-400.dtb"
	overlays="vc4-kms-v3d disable-bt"
	;;
F)
	table=gpt first=esp bootmode=grub
	BOARD=uefi-arm64 BOARD_NAME="UEFI arm64" BOARDFAMILY=uefi-arm64 LINUXFAMILY=arm64
	BOOT_SOC="" vendor=rockchip dtbs="rockchip/rk3588-rock-5b.dtb"
	;;
G)
	[ -n "$arch" ] || arch=amd64
	table=gpt first=bios+esp bootmode=grub loader=grub-bios root_gpt_type=$T_ROOT_X86_64
	BOARD=uefi-x86 BOARD_NAME="UEFI x86" BOARDFAMILY=uefi-x86 LINUXFAMILY=x86 BOOT_SOC=""
	vendor=""
	;;
NOROOT)
	first=fatonly bootmode=none
	;;
*) die "unknown shape '$shape' (one of: $ALL_SHAPES)" ;;
esac
if [ "$shape" = G ]; then
	[ "$arch" = amd64 ] || die "shape G is amd64 only"
elif [ "$shape" != A ]; then
	[ -z "$arch" ] || [ "$arch" = arm64 ] || die "shape $shape is arm64 only"
	arch=arm64
fi
case "$arch" in
arm64) ARCH=arm64 INITRD_ARCH=arm64 KIT=Image ;;
armhf) ARCH=armhf INITRD_ARCH=arm KIT=zImage ;;
amd64) ARCH=amd64 INITRD_ARCH=x86 KIT=bzImage ;;
esac
KVER=$KMAJ-$BRANCH-${LINUXFAMILY:-none}

# Partition sizes (MiB).
case "$first" in
ext4boot) def_boot=32 real_boot=256 ;;
fatboot) def_boot=40 real_boot=256 ;;
rpicfg) def_boot=40 real_boot=512 ;;
esp | bios+esp) def_boot=40 real_boot=260 ;;
*) def_boot=0 real_boot=0 ;;
esac
if [ -z "$boot_mib" ]; then
	boot_mib=$def_boot
	if [ $real_sizes = 1 ]; then boot_mib=$real_boot; fi
fi
case "$first" in
fatboot | rpicfg | esp | bios+esp)
	[ "$boot_mib" -ge 33 ] || die "--boot-mib: a FAT32 partition needs at least 33 MiB" ;;
ext4boot) [ "$boot_mib" -ge 8 ] || die "--boot-mib: /boot needs at least 8 MiB" ;;
esac
bios_mib=0
[ "$first" = bios+esp ] && bios_mib=4
min_root=24
root_start=$((offset + bios_mib + boot_mib))
if [ -z "$size_mib" ]; then
	size_mib=$((root_start + 48))
	if [ "$first" = fatonly ]; then size_mib=$((offset + 40)); fi
fi
if [ "$first" = fatonly ]; then
	[ "$size_mib" -ge $((offset + 33)) ] || die "--size-mib $size_mib: too small for shape $shape"
else
	[ "$size_mib" -ge $((root_start + min_root + 1)) ] ||
		die "--size-mib $size_mib: too small for shape $shape (needs $((root_start + min_root + 1)))"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mkshape.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
img=$work/disk.img

# ---- partition table -------------------------------------------------------------------------------
S=2048 # sectors per MiB
{
	echo "label: $table"
	if [ "$table" = dos ]; then echo "label-id: $MBR_ID"; else echo "label-id: $GPT_DISK"; fi
	echo "unit: sectors"
	echo "sector-size: 512"
	echo
	o=$((offset * S))
	case "$first" in
	ext4boot | fatboot) echo "start=$o, size=$((boot_mib * S)), type=ea" ;;
	rpicfg) echo "start=$o, size=$((boot_mib * S)), type=c" ;;
	fatonly) echo "start=$o, type=c" ;;
	esp) echo "start=$o, size=$((boot_mib * S)), type=$T_ESP, name=\"efi\", uuid=$GPT_P1" ;;
	bios+esp)
		echo "start=$o, size=$((bios_mib * S)), type=$T_BIOS, name=\"bios\", uuid=$GPT_P1"
		echo "start=$(((offset + bios_mib) * S)), size=$((boot_mib * S)), type=$T_ESP, name=\"efi\", uuid=$GPT_P2"
		;;
	esac
	if [ "$first" != fatonly ]; then
		if [ "$table" = dos ]; then
			echo "start=$((root_start * S)), type=83"
		else
			case "$first" in none) u=$GPT_P1 ;; esp) u=$GPT_P2 ;; *) u=$GPT_P3 ;; esac
			echo "start=$((root_start * S)), type=$root_gpt_type, name=\"rootfs\", uuid=$u"
		fi
	fi
} >"$work/sfdisk.script"
truncate -s "${size_mib}M" "$img"
sfdisk -q --no-reread --no-tell-kernel "$img" <"$work/sfdisk.script" >"$work/sfdisk.log" 2>&1 ||
	{ cat "$work/sfdisk.log" >&2; die "sfdisk failed"; }
# start and size (sectors) of every partition, as sfdisk laid them out
read -r -a pt <<<"$(sfdisk -J "$img" | jq -r '[.partitiontable.partitions[] | .start, .size] | @sh')"
nparts=$((${#pt[@]} / 2))
part_start() { echo "${pt[$((($1 - 1) * 2))]}"; }
part_size() { echo "${pt[$((($1 - 1) * 2 + 1))]}"; }

# put FILE PARTNO: copy a filesystem image into partition PARTNO
put() {
	local s
	s=$(part_start "$2")
	[ "$(stat -c %s "$1")" -le $(($(part_size "$2") * 512)) ] || die "internal: $1 larger than p$2"
	dd if="$1" of="$img" bs=1M oflag=seek_bytes seek=$((s * 512)) conv=notrunc,sparse status=none
}
# write_at FILE BYTE_OFFSET: raw bytes into the image (the bootloader gap)
write_at() {
	dd if="$1" of="$img" bs=64K oflag=seek_bytes seek="$2" conv=notrunc status=none
}

# ---- helpers for trees -------------------------------------------------------------------------------
# mkfit SEED DTB: a U-Boot FIT image (u-boot.itb) holding fake U-Boot and TF-A and a real DTB
mkfit() {
	cat <<EOF | blobs fdt
node /
s description FIT image for U-Boot with bl31 (TF-A)
u32 timestamp $SDE
u32 #address-cells 1
node images
node uboot
s description U-Boot
s type standalone
s os U-Boot
s arch arm64
s compression none
u32 load 0x00200000
prng data $1-uboot 393216
end
node atf-1
s description ARM Trusted Firmware
s type firmware
s os arm-trusted-firmware
s arch arm64
s compression none
u32 load 0x00040000
u32 entry 0x00040000
prng data $1-atf 65536
end
node fdt-1
s description ${2##*/}
s type flat_dt
s compression none
file data $2
end
end
node configurations
s default config-1
node config-1
s description ${2##*/}
s firmware atf-1
s loadables uboot|atf-1
s fdt fdt-1
end
end
end
EOF
}

# mkdtb PATH COMPATIBLE MODEL: a small real device tree blob
mkdtb() {
	printf 'node /\ns compatible %s\ns model %s\nu32 #address-cells 2\nu32 #size-cells 2\nnode chosen\ns bootargs \nend\nnode memory@40000000\ns device_type memory\nu32 reg 0 0x40000000 0 0x40000000\nend\nend\n' \
		"$2" "$3" | blobs fdt >"$1"
}

# mkdtbo PATH NAME: a small overlay blob (fragment@0 with __overlay__)
mkdtbo() {
	printf 'node /\nnode fragment@0\ns target-path /\nnode __overlay__\ns armimmutable,sample %s\nend\nend\nend\n' \
		"$2" | blobs fdt >"$1"
}

# tiny initramfs (gzip'd newc cpio, like COMPRESS=gzip): /init and a marker
mkinitrd() {
	local d=$work/initrd
	rm -rf "$d"
	mkdir -p "$d/scripts" "$d/conf"
	printf '#!/bin/sh\n# armimmutable sample initramfs stand-in\nexec /sbin/init\n' >"$d/init"
	printf 'kernel %s\n' "$KVER" >"$d/conf/arch.conf"
	printf 'MODULES=most\nCOMPRESS=gzip\n' >"$d/conf/initramfs.conf"
	chmod 755 "$d/init"
	find "$d" -exec touch -h -d "@$SDE" {} +
	(cd "$d" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible -R 0:0 --quiet) | gzip -n -9 >"$1"
}

# kernel_files DIR: vmlinuz, config, System.map, initrd.img for $KVER
kernel_files() {
	blobs kernel "$ARCH" "vmlinuz-$KVER" 196608 >"$1/vmlinuz-$KVER"
	{
		echo "#"
		echo "# Automatically generated file; DO NOT EDIT."
		echo "# Linux/${ARCH} $KMAJ Kernel Configuration (armimmutable sample)"
		echo "#"
		echo "CONFIG_LOCALVERSION=\"-$BRANCH-$LINUXFAMILY\""
		echo "CONFIG_EXT4_FS=y"
		[ -z "${AIM_SAMPLE_DM_VERITY:-}" ] ||
			echo "CONFIG_DM_VERITY=${AIM_SAMPLE_DM_VERITY%-nomod}"
		echo "CONFIG_SQUASHFS=$SQUASHFS"
		echo "CONFIG_SQUASHFS_XZ=y"
		echo "CONFIG_SQUASHFS_ZSTD=y"
		echo "CONFIG_OVERLAY_FS=m"
		echo "CONFIG_EROFS_FS=m"
		echo "CONFIG_BLK_DEV_INITRD=y"
	} >"$1/config-$KVER"
	printf '0000000000000000 A _text\n0000000000010000 T start_kernel\n0000000000020000 T squashfs_fill_super\n' \
		>"$1/System.map-$KVER"
	mkinitrd "$1/initrd.img-$KVER"
}

# dtb_tree DIR: DIR/<vendor>/<board>.dtb ... and the overlays
dtb_tree() {
	local d=$1 f od
	mkdir -p "$d"
	for f in $dtbs; do
		mkdir -p "$d/$(dirname "$f")"
		mkdtb "$d/$f" "armimmutable,$(basename "$f" .dtb)" "$BOARD_NAME"
	done
	if [ -n "$overlays" ]; then
		if [ -n "$vendor" ]; then od=$d/$vendor/overlay; else od=$d/overlay; fi
		mkdir -p "$od"
		for f in $overlays; do mkdtbo "$od/$f.dtbo" "$f"; done
		printf 'Overlays for %s (armimmutable sample)\n' "$BOARD_NAME" >"$od/README.${LINUXFAMILY}-overlays"
	fi
}

# uboot_boot_files DIR MODE: what the kernel, dtb and bsp packages put in /boot (4.2, 4.3, 4.6).
# MODE "link": Image, uInitrd and dtb are symlinks; "fat": files and directory moved instead.
uboot_boot_files() {
	local d=$1 mode=$2
	kernel_files "$d"
	mkimage -A "$INITRD_ARCH" -O linux -T ramdisk -C gzip -n uInitrd -d "$d/initrd.img-$KVER" \
		"$d/uInitrd-$KVER" >/dev/null
	dtb_tree "$d/dtb-$KVER"
	touch "$d/.next"
	printf 'BM' >"$d/boot.bmp"
	blobs prng boot.bmp 126 >>"$d/boot.bmp"
	if [ "$mode" = link ]; then
		ln -s "vmlinuz-$KVER" "$d/$KIT"
		ln -s "uInitrd-$KVER" "$d/uInitrd"
		ln -s "dtb-$KVER" "$d/dtb"
	else
		mv "$d/vmlinuz-$KVER" "$d/$KIT"
		mv "$d/uInitrd-$KVER" "$d/uInitrd"
		mv "$d/dtb-$KVER" "$d/dtb"
	fi
	if [ "$bootmode" = scr ]; then
		cp "$shapes_dir/$bootscript" "$d/boot.cmd"
		mkimage -C none -A arm -T script -d "$d/boot.cmd" "$d/boot.scr" >/dev/null
		{
			echo "$env_extra"
			echo "rootdev=UUID=$ROOT_UUID"
			echo "rootfstype=ext4"
			case "$LINUXFAMILY" in
			sunxi* | rockchip64) echo "usbstoragequirks=0x2537:0x1066:u,0x2537:0x1068:u" ;;
			esac
		} >"$d/armbianEnv.txt"
	fi
}

# extlinux_conf FILE PREFIX: SRC_EXTLINUX=yes style (3.2), no armbianEnv.txt
extlinux_conf() {
	local fdt=${dtbs%% *} console
	case "$LINUXFAMILY" in
	meson64) console="console=ttyAML0,115200n8 console=tty1" ;;
	*) console="console=ttyS2,1500000 console=tty1" ;;
	esac
	{
		echo "label Armbian"
		echo "  kernel $2$KIT"
		echo "  initrd $2uInitrd"
		if [ "$first" = fatboot ]; then echo "  fdtdir $2dtb/"; else echo "  fdt $2dtb/$fdt"; fi
		echo "  append root=UUID=$ROOT_UUID rootwait rootfstype=ext4 $console consoleblank=0 loglevel=1 cgroup_enable=cpuset cgroup_memory=1 cgroup_enable=memory"
	} >"$1"
}

# ---- the root tree -------------------------------------------------------------------------------------
stage=$work/root
bootp=$work/bootp # contents of a separate /boot (D, DF)
fatp=$work/fatp   # contents of RPICFG / ESP / the NOROOT FAT partition
mkdir -p "$stage" "$bootp" "$fatp"

root_tree() {
	local r=$stage u
	mkdir -p "$r"/{boot,dev,etc,home,media,mnt,opt,proc,root,run,srv,sys,tmp}
	mkdir -p "$r"/usr/{bin,sbin,lib,share} "$r"/var/{cache,lib,log,tmp,spool}
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 700 "$r/root"
	# merged /usr, as on Debian bookworm
	ln -s usr/bin "$r/bin"
	ln -s usr/sbin "$r/sbin"
	ln -s usr/lib "$r/lib"
	if [ "$ARCH" = amd64 ]; then
		mkdir -p "$r/usr/lib64"
		ln -s usr/lib64 "$r/lib64"
	fi
	mkdir -p "$r/usr/lib/systemd/system" "$r/usr/lib/armbian" "$r/usr/lib/modules"
	blobs elf "$ARCH" exec >"$r/usr/lib/systemd/systemd"
	chmod 755 "$r/usr/lib/systemd/systemd"
	ln -s ../lib/systemd/systemd "$r/usr/sbin/init"
	blobs elf "$ARCH" exec >"$r/usr/bin/sh"
	chmod 755 "$r/usr/bin/sh"

	# /etc
	local e=$r/etc
	mkdir -p "$e/default" "$e/systemd/system/basic.target.wants" \
		"$e/systemd/system/multi-user.target.wants" "$e/systemd/system/sysinit.target.wants" \
		"$e/initramfs-tools/conf.d" "$e/ssh"
	local rel
	rel=$(
		echo "# PLEASE DO NOT EDIT THIS FILE"
		echo "BOARD=$BOARD"
		echo "BOARD_NAME=\"$BOARD_NAME\""
		echo "BOARDFAMILY=$BOARDFAMILY"
		echo "BUILD_REPOSITORY_URL=https://github.com/armbian/build"
		echo "BUILD_REPOSITORY_COMMIT=82a0c923f91f"
		echo "LINUXFAMILY=$LINUXFAMILY"
		echo "ARCH=$ARCH"
		echo "BOOT_SOC=$BOOT_SOC"
		echo "IMAGE_TYPE=stable"
		echo "BOARD_TYPE=conf"
		echo "INITRD_ARCH=$INITRD_ARCH"
		echo "KERNEL_IMAGE_TYPE=$KIT"
		echo "KERNEL_TARGET=$BRANCH"
		echo "FORCE_BOOTSCRIPT_UPDATE="
		echo "FORCE_UBOOT_UPDATE="
		if [ -n "$overlays" ]; then
			if [ -n "$vendor" ]; then echo "OVERLAY_DIR=\"/boot/dtb/$vendor/overlay\""
			else echo "OVERLAY_DIR=\"/boot/dtb/overlay\""; fi
		else
			echo "OVERLAY_DIR=\"\""
		fi
		echo "VENDOR=\"Armbian\""
		echo "VERSION=$VERSION"
		echo "REVISION=$VERSION"
		echo "BRANCH=$BRANCH"
		echo "DISTRIBUTION_CODENAME=bookworm"
		echo "DISTRIBUTION_STATUS=supported"
	)
	echo "$rel" >"$e/armbian-release"
	{
		echo "$rel"
		case "$bootmode" in grub) echo "EXTENSIONS=\"grub\"" ;; *) echo "EXTENSIONS=\"\"" ;; esac
	} >"$e/armbian-image-release"

	# fstab exactly as partitioning.sh writes it (armbian-layout.md 1.9)
	{
		echo "UUID=$ROOT_UUID / ext4 defaults,commit=120,errors=remount-ro 0 1"
		case "$first" in
		ext4boot) echo "UUID=$BOOT_UUID /boot ext4 defaults,commit=120,errors=remount-ro 0 2" ;;
		fatboot) echo "UUID=$FAT_UUID /boot vfat defaults 0 2" ;;
		rpicfg) echo "UUID=$FAT_UUID /boot/firmware vfat defaults 0 2" ;;
		esp | bios+esp) echo "UUID=$FAT_UUID /boot/efi vfat defaults 0 2" ;;
		esac
		echo "tmpfs /tmp tmpfs defaults,nosuid 0 0"
	} >"$e/fstab"

	echo "$BOARD" >"$e/hostname"
	printf '127.0.0.1   localhost\n127.0.1.1   %s\n::1         localhost ip6-localhost ip6-loopback\n' \
		"$BOARD" >"$e/hosts"
	printf 'PRETTY_NAME="Armbian %s bookworm"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\nHOME_URL="https://www.armbian.com"\n' \
		"$VERSION" >"$r/usr/lib/os-release"
	ln -s ../usr/lib/os-release "$e/os-release"
	printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n' >"$e/passwd"
	printf 'root:x:0:\ndaemon:x:1:\nshadow:x:42:\n' >"$e/group"
	printf 'root:$y$j9T$sample$armimmutablesamplehashnotreal:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' >"$e/shadow"
	chmod 640 "$e/shadow"
	printf 'ENABLED=true\nSIZE=50M\nUSE_RSYNC=true\n' >"$e/default/armbian-ramlog"
	printf 'ENABLED=true\n' >"$e/default/armbian-zram-config"
	printf 'OPENSSHD_REGENERATE_HOST_KEYS=true\n' >"$e/default/armbian-firstrun"
	printf 'PermitRootLogin yes\n' >"$e/ssh/sshd_config"
	printf 'MODULES=most\nBUSYBOX=auto\nCOMPRESS=gzip\n' >"$e/initramfs-tools/initramfs.conf"
	printf 'RESUME=none\n' >"$e/initramfs-tools/conf.d/resume"
	printf '# List of modules to include in the initramfs\n' >"$e/initramfs-tools/modules"
	if [ "$loader" != none ] && [ "$loader" != grub-bios ] || [ "$first" = fatboot ]; then
		mkdir -p "$e/initramfs/post-update.d"
		cat >"$e/initramfs/post-update.d/99-uboot" <<'EOF'
#!/bin/sh
# armimmutable sample stand-in for Armbian's 99-uboot hook (armbian-layout.md 4.3):
# wraps the new initramfs into a legacy U-Boot ramdisk and points /boot/uInitrd at it.
. /etc/armbian-release
mkimage -A "$INITRD_ARCH" -O linux -T ramdisk -C gzip -n uInitrd -d "$2" "/boot/uInitrd-$1" >/dev/null
ln -sfn "uInitrd-$1" /boot/uInitrd 2>/dev/null || mv -f "/boot/uInitrd-$1" /boot/uInitrd
EOF
		chmod 755 "$e/initramfs/post-update.d/99-uboot"
	fi
	if [ "$loader" = sunxi ]; then
		printf '# device  offset  env size\n/dev/mmcblk0 0x88000 0x20000\n' >"$e/fw_env.config"
	fi
	if [ "$bootmode" = grub ]; then
		mkdir -p "$e/default/grub.d"
		printf 'GRUB_CMDLINE_LINUX_DEFAULT="console=tty1 splash plymouth.ignore-serial-consoles i915.force_probe=*"\nGRUB_TIMEOUT_STYLE=menu\nGRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR="Armbian"\nGRUB_DISABLE_LINUX_UUID=false\nGRUB_GFXPAYLOAD_LINUX=text\n' \
			>"$e/default/grub.d/98-armbian.cfg"
	fi

	# first-boot services of the bsp-cli package (armbian-layout.md 1.10), enabled as it does
	local s=$r/usr/lib/systemd/system
	cat >"$s/armbian-resize-filesystem.service" <<'EOF'
# armimmutable sample, modelled on Armbian's bsp-cli unit of the same name
[Unit]
Description=Armbian filesystem resize
Before=basic.target
After=sysinit.target local-fs.target
DefaultDependencies=no

[Service]
Type=oneshot
ExecStart=/usr/lib/armbian/armbian-resize-filesystem start
TimeoutStartSec=10min

[Install]
WantedBy=basic.target
EOF
	cat >"$s/armbian-firstrun.service" <<'EOF'
# armimmutable sample, modelled on Armbian's bsp-cli unit of the same name
[Unit]
Description=Armbian first run tasks
Before=getty.target system-getty.slice
After=ssh.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/lib/armbian/armbian-firstrun start
TimeoutStartSec=2min

[Install]
WantedBy=multi-user.target
EOF
	cat >"$s/armbian-ramlog.service" <<'EOF'
# armimmutable sample, modelled on Armbian's bsp-cli unit of the same name
[Unit]
Description=Armbian memory supported logging
DefaultDependencies=no
Before=rsyslog.service sysinit.target syslog.target
After=armbian-zram-config.service
Conflicts=shutdown.target
RequiresMountsFor=/var/log /var/log.hdd

[Service]
Type=oneshot
ExecStart=/usr/lib/armbian/armbian-ramlog start
ExecStop=/usr/lib/armbian/armbian-ramlog stop
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
EOF
	cat >"$s/armbian-zram-config.service" <<'EOF'
# armimmutable sample, modelled on Armbian's bsp-cli unit of the same name
[Unit]
Description=Armbian ZRAM config
DefaultDependencies=no
After=local-fs.target
Before=armbian-ramlog.service

[Service]
Type=oneshot
ExecStart=/usr/lib/armbian/armbian-zram-config start
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
EOF
	for u in resize-filesystem firstrun ramlog zram-config; do
		printf '#!/bin/bash\n# armimmutable sample stand-in for /usr/lib/armbian/armbian-%s\ncase "$1" in\nstart) exit 0 ;;\nesac\n' \
			"$u" >"$r/usr/lib/armbian/armbian-$u"
		chmod 755 "$r/usr/lib/armbian/armbian-$u"
	done
	ln -s /lib/systemd/system/armbian-resize-filesystem.service \
		"$e/systemd/system/basic.target.wants/armbian-resize-filesystem.service"
	ln -s /lib/systemd/system/armbian-firstrun.service \
		"$e/systemd/system/multi-user.target.wants/armbian-firstrun.service"
	ln -s /lib/systemd/system/armbian-ramlog.service \
		"$e/systemd/system/sysinit.target.wants/armbian-ramlog.service"
	ln -s /lib/systemd/system/armbian-zram-config.service \
		"$e/systemd/system/sysinit.target.wants/armbian-zram-config.service"

	# /root: firstlogin trigger
	: >"$r/root/.not_logged_in_yet"
	printf '# ~/.bashrc (armimmutable sample)\nexport PS1="\\u@\\h:\\w\\$ "\n' >"$r/root/.bashrc"
	printf '# ~/.profile (armimmutable sample)\n[ -f ~/.bashrc ] && . ~/.bashrc\n' >"$r/root/.profile"

	# kernel modules
	local m=$r/usr/lib/modules/$KVER
	mkdir -p "$m/kernel/fs/overlayfs" "$m/kernel/fs/squashfs" "$m/kernel/fs/erofs"
	blobs elf "$ARCH" rel >"$m/kernel/fs/overlayfs/overlay.ko"
	blobs elf "$ARCH" rel >"$m/kernel/fs/erofs/erofs.ko"
	if [ "$SQUASHFS" = m ]; then
		blobs elf "$ARCH" rel >"$m/kernel/fs/squashfs/squashfs.ko"
		printf 'kernel/fs/overlayfs/overlay.ko:\nkernel/fs/squashfs/squashfs.ko:\nkernel/fs/erofs/erofs.ko:\n' >"$m/modules.dep"
		printf 'kernel/fs/ext4/ext4.ko\n' >"$m/modules.builtin"
	else
		rmdir "$m/kernel/fs/squashfs"
		printf 'kernel/fs/overlayfs/overlay.ko:\nkernel/fs/erofs/erofs.ko:\n' >"$m/modules.dep"
		printf 'kernel/fs/ext4/ext4.ko\nkernel/fs/squashfs/squashfs.ko\n' >"$m/modules.builtin"
	fi
	if [ "${AIM_SAMPLE_DM_VERITY:-}" = m ]; then
		mkdir -p "$m/kernel/drivers/md"
		blobs elf "$ARCH" rel >"$m/kernel/drivers/md/dm-verity.ko"
		printf 'kernel/drivers/md/dm-verity.ko:\n' >>"$m/modules.dep"
	fi
	sed 's/:$//' "$m/modules.dep" >"$m/modules.order"

	# /boot (armbian-layout.md 4.6)
	case "$bootmode" in
	scr | extlinux)
		if [ "$first" = none ]; then
			uboot_boot_files "$r/boot" link
			if [ "$bootmode" = extlinux ]; then
				mkdir -p "$r/boot/extlinux"
				extlinux_conf "$r/boot/extlinux/extlinux.conf" /boot/
			fi
		elif [ "$first" = ext4boot ]; then
			uboot_boot_files "$bootp" link
			if [ "$bootmode" = extlinux ]; then
				mkdir -p "$bootp/extlinux"
				extlinux_conf "$bootp/extlinux/extlinux.conf" /
			fi
		else # fatboot: Image, uInitrd and dtb moved, not linked (4.2)
			uboot_boot_files "$bootp" fat
			mkdir -p "$bootp/extlinux"
			extlinux_conf "$bootp/extlinux/extlinux.conf" /
		fi
		;;
	rpi)
		kernel_files "$r/boot"
		dtb_tree "$r/boot/dtb-$KVER"
		ln -s "dtb-$KVER" "$r/boot/dtb"
		mkdir -p "$r/boot/firmware"
		echo "rootfstype=ext4" >"$r/boot/armbianEnv.txt"
		;;
	grub)
		kernel_files "$r/boot"
		if [ -n "$dtbs" ]; then
			dtb_tree "$r/boot/dtb-$KVER"
			ln -s "dtb-$KVER" "$r/boot/dtb"
		fi
		mkdir -p "$r/boot/efi" "$r/boot/grub"
		echo "rootfstype=ext4" >"$r/boot/armbianEnv.txt"
		grub_cfg >"$r/boot/grub/grub.cfg"
		;;
	esac
}

grub_cfg() {
	local con="console=tty1"
	[ "$ARCH" = arm64 ] && con="console=ttyAMA0,115200 console=tty1"
	cat <<EOF
#
# DO NOT EDIT THIS FILE
#
# It is automatically generated by grub-mkconfig (armimmutable sample)
#
set default="0"
set timeout=5
insmod part_gpt
insmod ext2
search --no-floppy --fs-uuid --set=root $ROOT_UUID
menuentry 'Armbian $VERSION bookworm' --class armbian --class gnu-linux --class os \$menuentry_id_option 'gnulinux-simple-$ROOT_UUID' {
	load_video
	insmod gzio
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $ROOT_UUID
	echo	'Loading Linux $KVER ...'
	linux	/boot/vmlinuz-$KVER root=UUID=$ROOT_UUID ro $con splash plymouth.ignore-serial-consoles i915.force_probe=*
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-$KVER
}
EOF
}

# FAT partition contents
fat_tree() {
	case "$first" in
	rpicfg)
		local f
		for f in start4.elf fixup4.dat start.elf fixup.dat bootcode.bin; do
			blobs prng "rpi-$f" 8192 >"$fatp/$f"
		done
		cat >"$fatp/config.txt" <<'EOF'
# Raspberry Pi boot configuration (armimmutable sample of an Armbian bcm2711 image)
[all]
kernel=vmlinuz
cmdline=cmdline.txt
initramfs initrd.img followkernel
arm_64bit=1
dtparam=audio=on
dtoverlay=vc4-kms-v3d
max_framebuffers=2
disable_overscan=1
EOF
		echo "console=serial0,115200 console=tty1 loglevel=1 root=LABEL=armbi_root rootfstype=ext4 fsck.repair=yes rootwait logo.nologo cgroup_enable=cpuset cgroup_memory=1 cgroup_enable=memory" \
			>"$fatp/cmdline.txt"
		cp "$stage/boot/vmlinuz-$KVER" "$fatp/vmlinuz"
		cp "$stage/boot/initrd.img-$KVER" "$fatp/initrd.img"
		cp "$stage/boot/dtb-$KVER"/broadcom/*.dtb "$fatp/"
		mkdir -p "$fatp/overlays"
		cp "$stage/boot/dtb-$KVER"/broadcom/overlay/*.dtbo "$fatp/overlays/"
		printf 'Overlays for the Raspberry Pi firmware (armimmutable sample)\n' >"$fatp/overlays/README"
		;;
	esp | bios+esp)
		mkdir -p "$fatp/EFI/BOOT"
		if [ "$ARCH" = arm64 ]; then
			blobs pe arm64 grub-efi 65536 >"$fatp/EFI/BOOT/BOOTAA64.EFI"
		else
			blobs pe amd64 grub-efi 65536 >"$fatp/EFI/BOOT/BOOTX64.EFI"
		fi
		;;
	fatonly)
		printf 'A data partition: this image has no Linux root filesystem.\n' >"$fatp/README.TXT"
		;;
	esac
}

# ---- filesystems ----------------------------------------------------------------------------------
fix_times() { find "$1" -exec touch -h -d "@$SDE" {} +; }

# debugfs script giving every path of the staging tree DIR owner 0:0 and ctime and atime $SDE
# (mke2fs -d copies the caller's uid, the real ctime, and an atime that reading the staging
# files, e.g. to copy them to a FAT partition, may have moved)
owner_cmds() {
	(cd "$1" && find . -mindepth 1) | sed 's|^\.||' | LC_ALL=C sort |
		awk -v t="$SDE" '{ printf "sif \"%s\" uid 0\nsif \"%s\" gid 0\nsif \"%s\" ctime @%s\nsif \"%s\" atime @%s\n", $0, $0, $0, t, $0, t }'
	printf 'sif / uid 0\nsif / gid 0\nsif / ctime @%s\nsif / mtime @%s\nsif / atime @%s\n' "$SDE" "$SDE" "$SDE"
	printf 'sif /lost+found ctime @%s\nsif /lost+found mtime @%s\nsif /lost+found atime @%s\n' "$SDE" "$SDE" "$SDE"
}

mke2fs_opts() {
	local v
	v=$(mke2fs -V 2>&1 | sed -n 's/^mke2fs \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	# Armbian: -q -m 2, and -O ^orphan_file with e2fsprogs >= 1.47 (armbian-layout.md 1.6)
	set -- $v
	if [ "${1:-0}" -gt 1 ] || { [ "${1:-0}" = 1 ] && [ "${2:-0}" -ge 47 ]; }; then
		echo "-q -m 2 -O ^orphan_file"
	else
		echo "-q -m 2"
	fi
}

# mkext4 OUT BYTES LABEL UUID TREE
mkext4() {
	local f=$1 bytes=$(($2 / 4096 * 4096)) log=$work/debugfs.log
	fix_times "$5"
	rm -f "$f"
	truncate -s "$bytes" "$f"
	# shellcheck disable=SC2046
	mke2fs -F -t ext4 $(mke2fs_opts) -b 4096 -L "$3" -U "$4" \
		-E "hash_seed=$4,root_owner=0:0,lazy_itable_init=0" -d "$5" "$f" >/dev/null ||
		die "mke2fs failed for $3"
	owner_cmds "$5" >"$work/owner.cmds"
	debugfs -w -f "$work/owner.cmds" "$f" >"$log" 2>&1
	if grep -v '^debugfs' "$log" | grep -q .; then
		grep -v '^debugfs' "$log" | head -5 >&2
		die "debugfs fix-up failed for $3"
	fi
	tune2fs -o journal_data_writeback "$f" >/dev/null
}

mkroot() {
	local f=$1 bytes=$2 mk=$here/mkrootfs.sh mode=$rootfs_mode
	if [ "$mode" = auto ]; then
		if [ -x "$mk" ]; then mode=mkrootfs; else mode=builtin; fi
	fi
	if [ "$mode" = mkrootfs ]; then
		if "$mk" "$f" $((bytes / 1048576)) --tree "$stage" --label armbi_root --uuid "$ROOT_UUID" \
			>"$work/mkrootfs.log" 2>&1; then
			tune2fs -m 2 -o journal_data_writeback "$f" >/dev/null
			return 0
		fi
		[ "$rootfs_mode" = mkrootfs ] && { tail -n 20 "$work/mkrootfs.log" >&2; die "mkrootfs.sh failed"; }
		echo "mkshape: warning: mkrootfs.sh failed, making the root with mke2fs -d instead" >&2
	fi
	mkext4 "$f" "$bytes" armbi_root "$ROOT_UUID" "$stage"
}

# mkfat OUT BYTES LABEL TREE PARTNO (hidden sectors = the partition's start, as on a device)
mkfat() {
	rm -f "$1"
	truncate -s $(($2 / 512 * 512)) "$1"
	# --invariant fixes every time stamp but also forces volume id 1234ABCD: put ours back into
	# the FAT32 boot sector and its backup (sector 6), at offset 0x43, little-endian
	# one-sector clusters only where FAT32 needs them to have enough clusters (small test sizes)
	local spc=""
	[ "$2" -ge $((128 * 1048576)) ] || spc="-s 1"
	# shellcheck disable=SC2086
	mkfs.vfat -F 32 $spc -h "$(part_start "$5")" -n "$3" --invariant "$1" >/dev/null 2>&1 ||
		die "mkfs.vfat failed for $3"
	perl -e 'binmode STDOUT; print pack("V", hex($ARGV[0]))' "$FAT_VOLID" >"$work/volid"
	dd if="$work/volid" of="$1" bs=1 seek=$((0x43)) conv=notrunc status=none
	dd if="$work/volid" of="$1" bs=1 seek=$((6 * 512 + 0x43)) conv=notrunc status=none
	fix_times "$4"
	local items
	items=$(cd "$4" && find . -mindepth 1 -maxdepth 1 | sed 's|^\./||' | LC_ALL=C sort)
	# shellcheck disable=SC2086
	[ -z "$items" ] || (cd "$4" && mcopy -s -m -Q -i "$1" $items ::/) || die "mcopy failed for $3"
}

if [ "$first" != fatonly ]; then
	root_tree
	fix_times "$stage"
	fix_times "$bootp"
fi
fat_tree

rootpart=$nparts
case "$first" in
ext4boot)
	fix_times "$bootp"
	mkext4 "$work/p1.fs" $(($(part_size 1) * 512)) armbi_boot "$BOOT_UUID" "$bootp"
	put "$work/p1.fs" 1
	;;
fatboot)
	mkfat "$work/p1.fs" $(($(part_size 1) * 512)) armbi_boot "$bootp" 1
	put "$work/p1.fs" 1
	;;
rpicfg)
	mkfat "$work/p1.fs" $(($(part_size 1) * 512)) RPICFG "$fatp" 1
	put "$work/p1.fs" 1
	;;
esp)
	mkfat "$work/p1.fs" $(($(part_size 1) * 512)) ARMBI_EFI "$fatp" 1
	put "$work/p1.fs" 1
	;;
bios+esp)
	mkfat "$work/p2.fs" $(($(part_size 2) * 512)) ARMBI_EFI "$fatp" 2
	put "$work/p2.fs" 2
	;;
fatonly)
	mkfat "$work/p1.fs" $(($(part_size 1) * 512)) DATA "$fatp" 1
	put "$work/p1.fs" 1
	rootpart=0
	;;
esac
if [ $rootpart != 0 ]; then
	mkroot "$work/root.fs" $(($(part_size "$rootpart") * 512))
	put "$work/root.fs" "$rootpart"
fi

# ---- bootloader bytes in the gap (armbian-layout.md 2.2) --------------------------------------------
first_dtb=$work/$(basename "${dtbs%% *}" 2>/dev/null)
[ -z "$dtbs" ] || mkdtb "$first_dtb" "armimmutable,$(basename "${dtbs%% *}" .dtb)" "$BOARD_NAME"
case "$loader" in
sunxi64 | sunxi)
	# u-boot-sunxi-with-spl.bin at 8 KiB: eGON.BT0 SPL padded to 32 KiB, then U-Boot proper
	# (arm64: FIT u-boot.itb; armhf: legacy u-boot.img)
	blobs prng "$shape-$arch-spl" 24576 >"$work/spl.raw"
	mkimage -T sunxi_egon -A arm -d "$work/spl.raw" "$work/spl.egon" >/dev/null
	head -c 32768 /dev/zero >"$work/spl.pad"
	dd if="$work/spl.egon" of="$work/spl.pad" conv=notrunc status=none
	if [ "$loader" = sunxi64 ]; then
		mkfit "$shape-$arch" "$first_dtb" >"$work/uboot"
	else
		blobs prng "$shape-$arch-uboot" 393216 >"$work/uboot.raw"
		mkimage -A arm -O u-boot -T firmware -C none -a 0x4a000000 -e 0x4a000000 \
			-n "U-Boot 2024.01-armbian for sunxi board" -d "$work/uboot.raw" "$work/uboot" >/dev/null
		# 32-bit sunxi: U-Boot environment at 0x88000, 0x20000 long (/etc/fw_env.config)
		printf 'bootcmd=run distro_bootcmd\nbootdelay=1\nboot_targets=mmc0 usb0 pxe dhcp\nfdtfile=sun8i-h3-orangepi-pc.dtb\n' |
			blobs ubootenv 131072 >"$work/env"
		write_at "$work/env" $((0x88000))
	fi
	cat "$work/spl.pad" "$work/uboot" >"$work/u-boot-sunxi-with-spl.bin"
	write_at "$work/u-boot-sunxi-with-spl.bin" 8192
	;;
meson)
	# u-boot.bin: first 442 bytes over the MBR boot code, the rest from sector 1 (meson64_common.inc);
	# "@AML" is the magic of the Amlogic boot image header, 16 bytes into the part at sector 1
	blobs prng "$shape-u-boot.bin" 1048576 >"$work/u-boot.bin"
	printf '@AML' | dd of="$work/u-boot.bin" bs=1 seek=$((512 + 16)) conv=notrunc status=none
	head -c 442 "$work/u-boot.bin" >"$work/mbrcode"
	write_at "$work/mbrcode" 0
	tail -c +513 "$work/u-boot.bin" >"$work/rest"
	write_at "$work/rest" 512
	;;
rk3399 | rk35xx)
	# idbloader.img at sector 64 (mkimage rksd: rk3399 header is RC4-scrambled, first bytes
	# 3b 8c dc fc; rk35xx uses the v2 "RKNS" header) and u-boot.itb (FIT) at sector 16384
	blobs prng "$shape-tpl" 49152 >"$work/tpl.bin"
	if [ "$loader" = rk3399 ]; then soc=rk3399; else soc=rk3568; fi
	mkimage -n "$soc" -T rksd -d "$work/tpl.bin" "$work/idbloader.img" >/dev/null
	blobs prng "$shape-spl" 131072 >>"$work/idbloader.img"
	write_at "$work/idbloader.img" $((64 * 512))
	mkfit "$shape" "$first_dtb" >"$work/u-boot.itb"
	write_at "$work/u-boot.itb" $((16384 * 512))
	;;
grub-bios)
	# GRUB boot.img in the protective MBR bytes 0-439 (grub-install --target=i386-pc): a short
	# jump, the LBA of core.img at 0x5c, the boot drive 0x80 at 0x64, and the "GRUB " string;
	# core.img at the start of the BIOS boot partition
	blobs prng "$shape-boot.img" 440 >"$work/boot.img"
	perl -e 'binmode STDOUT; print "\xeb\x63\x90"' | dd of="$work/boot.img" conv=notrunc status=none
	perl -e 'binmode STDOUT; print pack("Q<", $ARGV[0]), "\x80"' $((offset * S)) |
		dd of="$work/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
	printf 'GRUB \0Geom\0Hard Disk\0Read\0 Error\r\n\0' |
		dd of="$work/boot.img" bs=1 seek=$((0x180)) conv=notrunc status=none
	write_at "$work/boot.img" 0
	blobs prng "$shape-core.img" 65536 >"$work/core.img"
	write_at "$work/core.img" $((offset * 1048576))
	;;
esac

mv -f "$img" "$out" 2>/dev/null || { cp --sparse=always "$img" "$out" && rm -f "$img"; }
