#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck disable=SC2034
# Builds the bootable, Armbian-shaped arm64 sample image (shape A of armbian-layout.md
# section 9: MBR, one ext4 root "armbi_root" at 4 MiB, boot.scr + armbianEnv.txt in /boot,
# fake bootloader bytes in the gap) from Debian bookworm arm64 packages, and caches it.
#
# Usage: tests/sample/mkbootable.sh [--out FILE] [--version V] [--marker TEXT] [--break-boot]
#                                   [--system-user NAME] [--variant s1|s2|s3]
#   --out FILE     copy the finished image to FILE (sparse); without it, nothing is copied
#   --version V    VERSION= in /etc/armbian-release (default 25.8.0-sample)
#   --marker TEXT  content of /etc/armimmutable-sample (default "armimmutable sample V")
#   --cached       build nothing: exit 0 when the image is in the cache, 1 when not
#   --break-boot   a userspace that never completes boot: aim-sample-broken.service fails
#                  and boot-complete.target requires it (the kernel, initramfs and
#                  multi-user still come up; an update of this must fall back)
#   --system-user NAME  a system user and group NAME, as a package's `adduser --system
#                  --group` makes them (the next free id below 1000 in passwd, group,
#                  shadow, gshadow): an update that brings a new daemon's account
#   --variant NAME the second version of a delta-update pair (tests/sample/variants.sh,
#                  docs/delta.md): s1 a small package added and an /etc file changed, s2
#                  shared libraries updated, s3 another kernel. Installs .debs from the
#                  host's apt sources with dpkg in the tree (stage 2 only, ~1-3 min more)
# Prints the path of the cached image on stdout (last line); progress goes to stderr.
# Next to the image, <img>.info holds shell-style facts: ROOT_UUID, PARTUUID, KVER, ...
#
# Two cache levels under ${AIM_CACHE:-/var/cache/armimmutable}:
#   rootfs-<key>.tar  the mmdebstrap result (slow: ~10+ min under qemu-user). Its key is
#                     the hash of the recipe below (suite, mirror, packages, hooks).
#   sample-<key>.img  the finished image. Its key is the hash of this script, the files in
#                     tests/sample/armbian/, the options and the rootfs key. A new version
#                     or marker only re-runs the second stage (extract, patch, mke2fs).
# Building needs root (mmdebstrap --mode=root, tar extraction preserving owners) and a
# working qemu-aarch64 binfmt (it mounts binfmt_misc and enables qemu-aarch64 when
# missing); a cache hit does not. Concurrent runs serialise on a lock per rootfs key.
# Packages: tools/deps.sh --qemu.
set -eu

me=$(readlink -f "$0")
here=$(dirname "$me")
files="$here/armbian"
out=""
version="25.8.0-sample"
marker=""
break_boot=0
sysuser=""
cached_only=0
variant=""
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--marker) marker=$2; shift 2 ;;
	--break-boot) break_boot=1; shift ;;
	--system-user) sysuser=$2; shift 2 ;;
	--variant) variant=$2; shift 2 ;;
	--cached) cached_only=1; shift ;;
	-h|--help) sed -n '4,32p' "$me"; exit 0 ;;
	*) echo "mkbootable: unknown argument: $1" >&2; exit 2 ;;
	esac
done
[ -n "$marker" ] || marker="armimmutable sample $version"
case "$version" in *[!A-Za-z0-9._+~-]*|"") echo "mkbootable: bad --version: $version" >&2; exit 2 ;; esac
if [ -n "$variant" ]; then
	. "$here/variants.sh"
	variant_check "$variant"
fi
case "$sysuser" in *[!a-z0-9_-]*) echo "mkbootable: bad --system-user: $sysuser" >&2; exit 2 ;; esac

prog=mkbootable
# shellcheck source=tests/sample/samplelib.sh
. "$here/samplelib.sh"

sample_recipe arm64

# ---- the image key ----
ikey=$( { cat "$me" "$here/samplelib.sh"; find "$files" -type f | LC_ALL=C sort | xargs cat;
	printf '|%s|%s|%s' "$version" "$marker" "$rkey"
	[ "$break_boot" = 0 ] || printf '|break-boot'
	[ -z "$sysuser" ] || printf '|system-user=%s' "$sysuser"
	[ -z "$variant" ] || { printf '|variant=%s|' "$variant"; cat "$here/variants.sh"; }; } |
	sha256sum | cut -c1-16)
img="$cache/sample-$ikey.img"
if [ $cached_only = 1 ]; then
	[ -f "$img" ] && [ -f "$img.info" ]
	exit
fi

if sample_begin mkimage; then
	[ -f "$rootfs_tar" ] || sample_build_rootfs arm64
	say "stage 2: image $img (version $version)"
	sample_scratch
	trap 'umount "$work/root/proc" 2>/dev/null; rm -rf "$work"' EXIT INT TERM
	VARIANT_PKGS=""
	[ -z "$variant" ] || variant_apply "$R" "$variant"

	sample_kernel

	# /boot the Armbian way (armbian-layout.md 4.2, 4.3, 4.6). Armbian's arm64 vmlinuz is
	# a plain Image; Debian's is gzip-compressed, which booti would need kernel_comp_addr_r
	# for, so store it uncompressed like Armbian does.
	B="$R/boot"
	if [ "$(od -An -tx1 -N2 "$B/vmlinuz-$kver" | tr -d ' ')" = 1f8b ]; then
		gzip -dc <"$B/vmlinuz-$kver" >"$B/vmlinuz-$kver.raw"
		touch -r "$B/vmlinuz-$kver" "$B/vmlinuz-$kver.raw"
		mv "$B/vmlinuz-$kver.raw" "$B/vmlinuz-$kver"
	fi
	ln -sfn "vmlinuz-$kver" "$B/Image"
	touch "$B/.next"
	mkimage -A arm64 -O linux -T ramdisk -C gzip -n uInitrd \
		-d "$B/initrd.img-$kver" "$B/uInitrd-$kver" >/dev/null
	ln -sfn "uInitrd-$kver" "$B/uInitrd"
	mkdir -p "$B/dtb-$kver"
	for v in rockchip allwinner; do
		[ -d "$R/usr/lib/linux-image-$kver/$v" ] &&
			cp -a "$R/usr/lib/linux-image-$kver/$v" "$B/dtb-$kver/"
	done
	ln -sfn "dtb-$kver" "$B/dtb"
	cp "$files/boot.cmd" "$B/boot.cmd"
	mkimage -C none -A arm -T script -n "armbian boot script" -d "$B/boot.cmd" "$B/boot.scr" >/dev/null
	sed -e "s/@ROOT_UUID@/$rootuuid/" "$files/armbianEnv.txt" >"$B/armbianEnv.txt"

	# /etc: release files, fstab, hostname, serial console autologin, marker.
	sed -e "s/@VERSION@/$version/" "$files/armbian-release" >"$R/etc/armbian-release"
	cp "$R/etc/armbian-release" "$R/etc/armbian-image-release"
	cat >"$R/etc/fstab" <<-EOF
	# <file system>					<mount point>	<type>	<options>	<dump>	<pass>
	UUID=$rootuuid	/	ext4	defaults,commit=120,errors=remount-ro	0	1
	tmpfs						/tmp		tmpfs	defaults,nosuid	0	0
	EOF
	sample_etc qemu-arm64 ttyAMA0

	# The uInitrd hook (Armbian's bsp-cli package).
	mkdir -p "$R/etc/initramfs/post-update.d"
	install -m 0755 "$files/99-uboot" "$R/etc/initramfs/post-update.d/99-uboot"

	# The disk: used * 1.3 rounded up to 4 MiB (armbian-layout.md 1.8), MBR, p1 at 4 MiB.
	used=$(du -s -B1M "$R" | cut -f1)   # allocated, not apparent: modules are many small files
	size=$(( ( (used + 4) * 13 / 10 + 3 ) / 4 * 4 ))
	tmpimg="$work/sample.img"
	truncate -s "${size}M" "$tmpimg"
	diskid=$(od -An -tx4 -N4 /dev/urandom | tr -d ' ')
	printf 'label: dos\nlabel-id: 0x%s\nunit: sectors\nstart=8192, type=83\n' "$diskid" |
		sfdisk -q "$tmpimg" >/dev/null
	# Recognisable bytes where a board's SPL would sit (8 KiB), 32 KiB of them.
	{ printf 'FAKE-SPL armimmutable sample bootloader %s\n' "$version"
	  i=0; while [ $i -lt 512 ]; do printf 'FAKE-SPL-%05d-0123456789abcdef0123456789abcdef012345678\n' $i; i=$((i + 1)); done
	} | head -c 32768 | dd of="$tmpimg" bs=1024 seek=8 conv=notrunc status=none
	fsmib=$((size - 4))
	sample_mkext4 "$tmpimg" 4194304 "$fsmib" "$rootuuid"
	partuuid="$diskid-01"       # MBR PARTUUID: disk identifier - partition number
	cat >"$tmpimg.info" <<-EOF
	ROOT_UUID=$rootuuid
	PARTUUID=$partuuid
	$(sample_info_tail)
	VARIANT=$variant
	VARIANT_PKGS="$VARIANT_PKGS"
	EOF
	sample_publish "$tmpimg" sample
fi
sample_end
