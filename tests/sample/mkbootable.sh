#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
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
cache=${AIM_CACHE:-/var/cache/armimmutable}
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
	-h|--help) sed -n '3,31p' "$me"; exit 0 ;;
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

say() { printf 'mkbootable: %s\n' "$*" >&2; }
die() { printf 'mkbootable: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

need_build() {
	[ "$(id -u)" = 0 ] ||
		die "building needs root (mmdebstrap --mode=root, owner-preserving tar); no cached $img"
	for c in mmdebstrap mkimage sfdisk mke2fs tune2fs sha256sum tar flock; do
		command -v "$c" >/dev/null 2>&1 || die "missing command $c (run tools/deps.sh --qemu)"
	done
	mkdir -p "$cache"
}

# ---- the rootfs recipe (everything that goes into the rootfs cache key) ----
suite=bookworm
mirror=${AIM_MIRROR:-}
if [ -z "$mirror" ]; then
	# Reuse the host's Debian mirror: deb822 first, then one-line sources.
	mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
		/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=$(sed -n \
		's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\/debian\)[[:space:]].*/\2/p' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
pkgs="systemd,systemd-sysv,udev,kmod,e2fsprogs,fdisk,linux-image-arm64,initramfs-tools,busybox"
pkgs="$pkgs,u-boot-tools,procps,less,openssh-server"
# Armbian boards with MODULES_INITRD use MODULES=list; it also keeps the initramfs step
# short under emulation (MODULES=most takes ~12 min, twice). Written before the kernel.
modules="virtio_mmio virtio_blk virtio_pci virtio_scsi virtio_console ext4 crc32c_generic"
ess_hook='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
printf "MODULES=list\nCOMPRESS=gzip\nRESUME=none\n" >"$1/etc/initramfs-tools/conf.d/armbian.conf" &&
for m in '"$modules"'; do echo "$m"; done >"$1/etc/initramfs-tools/modules"'
recipe="v1|$suite|$mirror|arm64|apt|$pkgs|$ess_hook"
rkey=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
rootfs_tar="$cache/rootfs-$rkey.tar"

# ---- the image key ----
ikey=$( { cat "$me"; find "$files" -type f | LC_ALL=C sort | xargs cat;
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

ensure_binfmt() {
	if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
			die "cannot mount binfmt_misc"
	fi
	if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
		update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 ||
			systemd-binfmt >/dev/null 2>&1 || true
	fi
	arch-test arm64 >/dev/null 2>&1 || die "arm64 binaries do not run here (qemu-user binfmt)"
}

build_rootfs() {
	ensure_binfmt
	say "stage 1: mmdebstrap $suite arm64 from $mirror (slow, cached as $rootfs_tar)"
	t0=$(now)
	# A line a minute, so that a long quiet phase (unpacking, maintainer scripts under
	# emulation) does not look like a hang.
	( while sleep 60; do say "stage 1: $(( $(now) - t0 )) s so far (usually 7-12 min)"; done ) &
	ticker=$!
	mmdebstrap --mode=root --format=tar --arch=arm64 --variant=apt --include="$pkgs" \
		--dpkgopt=force-confold --dpkgopt=force-confdef \
		--essential-hook="$ess_hook" \
		--customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; : >"$1"/etc/machine-id' \
		"$suite" "$rootfs_tar.tmp" "$mirror" >&2 ||
		{ kill $ticker 2>/dev/null; rm -f "$rootfs_tar.tmp"; die "mmdebstrap failed"; }
	kill $ticker 2>/dev/null
	mv "$rootfs_tar.tmp" "$rootfs_tar"
	say "stage 1 done in $(( $(now) - t0 )) s"
}

if [ -f "$img" ] && [ -f "$img.info" ]; then
	say "cached: $img"
else
	need_build
	# One builder per rootfs key at a time; a waiter then finds the image built.
	exec 8>"$cache/.lock-$rkey"
	flock 8
fi
if [ -f "$img" ] && [ -f "$img.info" ]; then
	:
else
	t0=$(now)
	[ -f "$rootfs_tar" ] || build_rootfs
	say "stage 2: image $img (version $version)"
	# Scratch in RAM when there is room (extract + mke2fs -d + rm are I/O bound).
	wbase=$cache
	if [ -d /dev/shm ] && [ "$(df -P -k /dev/shm | awk 'NR == 2 { print $4 }')" -gt 4000000 ]; then
		wbase=/dev/shm
	fi
	work=$(mktemp -d "$wbase/aim-mkbootable.XXXXXX")
	trap 'umount "$work/root/proc" 2>/dev/null; rm -rf "$work"' EXIT INT TERM
	R="$work/root"
	mkdir "$R"
	tar -C "$R" --numeric-owner -p --xattrs --xattrs-include='*' -xf "$rootfs_tar"
	VARIANT_PKGS=""
	[ -z "$variant" ] || variant_apply "$R" "$variant"

	kver=$(ls "$R/lib/modules" | sort -V | tail -n 1)
	[ -n "$kver" ] && [ -f "$R/boot/vmlinuz-$kver" ] || die "no kernel in the rootfs"
	[ -f "$R/boot/initrd.img-$kver" ] || die "no initrd.img-$kver in the rootfs"
	rootuuid=$(cat /proc/sys/kernel/random/uuid)

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
	echo qemu-arm64 >"$R/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\tqemu-arm64\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$R/etc/hosts"
	sed -i 's/^root:[^:]*:/root::/' "$R/etc/shadow"
	mkdir -p "$R/etc/systemd/system/serial-getty@ttyAMA0.service.d"
	cp "$files/serial-getty-autologin.conf" \
		"$R/etc/systemd/system/serial-getty@ttyAMA0.service.d/override.conf"
	printf '%s\n' "$marker" >"$R/etc/armimmutable-sample"
	mkdir -p "$R/etc/systemd/system.conf.d"
	cp "$files/50-sample-timeouts.conf" "$R/etc/systemd/system.conf.d/"
	# Units that only cost time under emulation, masked in this test fixture (never by
	# convert in a user's image): getty-static (gettys on tty2-6, which QEMU's serial-only
	# guest has no use for) sat on the critical path to multi-user.target; e2scrub_reap
	# runs at idle priority and held multi-user.target for minutes on a loaded host.
	for u in getty-static.service e2scrub_reap.service; do
		ln -sfn /dev/null "$R/etc/systemd/system/$u"
	done
	if [ "$break_boot" = 1 ]; then
		cat >"$R/etc/systemd/system/aim-sample-broken.service" <<-EOF
		[Unit]
		Description=armimmutable sample: a health check that always fails
		Before=boot-complete.target
		[Service]
		Type=oneshot
		ExecStart=/bin/false
		[Install]
		RequiredBy=boot-complete.target
		EOF
		mkdir -p "$R/etc/systemd/system/boot-complete.target.requires"
		ln -sfn /etc/systemd/system/aim-sample-broken.service \
			"$R/etc/systemd/system/boot-complete.target.requires/aim-sample-broken.service"
	fi

	# sshd's host keys are made at the first boot, as armbian-firstrun regenerates them,
	# not baked into the image (every device would share them).
	rm -f "$R"/etc/ssh/ssh_host_*
	cat >"$R/etc/systemd/system/aim-sample-sshkeys.service" <<-EOF
	[Unit]
	Description=armimmutable sample: SSH host keys at the first boot (as armbian-firstrun)
	Before=ssh.service
	ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key
	[Service]
	Type=oneshot
	ExecStart=/usr/bin/ssh-keygen -A
	[Install]
	WantedBy=ssh.service
	EOF
	mkdir -p "$R/etc/systemd/system/ssh.service.wants"
	ln -sfn /etc/systemd/system/aim-sample-sshkeys.service \
		"$R/etc/systemd/system/ssh.service.wants/aim-sample-sshkeys.service"
	if [ -n "$sysuser" ]; then
		id=999
		while cut -d: -f3 "$R/etc/passwd" | grep -qx "$id" ||
			cut -d: -f3 "$R/etc/group" | grep -qx "$id"; do id=$((id - 1)); done
		printf '%s:x:%s:%s::/nonexistent:/usr/sbin/nologin\n' "$sysuser" "$id" "$id" >>"$R/etc/passwd"
		printf '%s:x:%s:\n' "$sysuser" "$id" >>"$R/etc/group"
		printf '%s:!:19000::::::\n' "$sysuser" >>"$R/etc/shadow"
		printf '%s:!::\n' "$sysuser" >>"$R/etc/gshadow"
	fi

	# First-boot resize and the uInitrd hook (Armbian's bsp-cli package).
	mkdir -p "$R/usr/lib/armbian" "$R/etc/initramfs/post-update.d" \
		"$R/etc/systemd/system/basic.target.wants"
	install -m 0755 "$files/armbian-resize-filesystem" "$R/usr/lib/armbian/armbian-resize-filesystem"
	install -m 0644 "$files/armbian-resize-filesystem.service" \
		"$R/lib/systemd/system/armbian-resize-filesystem.service"
	ln -sfn /lib/systemd/system/armbian-resize-filesystem.service \
		"$R/etc/systemd/system/basic.target.wants/armbian-resize-filesystem.service"
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
	mke2fs -q -F -t ext4 -m 2 -O ^orphan_file -L armbi_root -U "$rootuuid" \
		-E offset=4194304 -d "$R" "$tmpimg" "${fsmib}M" >&2 2>/dev/null ||
		mke2fs -q -F -t ext4 -m 2 -L armbi_root -U "$rootuuid" \
			-E offset=4194304 -d "$R" "$tmpimg" "${fsmib}M" >&2
	tune2fs -o journal_data_writeback "$tmpimg?offset=4194304" >/dev/null 2>&1 || true
	partuuid="$diskid-01"       # MBR PARTUUID: disk identifier - partition number
	cat >"$tmpimg.info" <<-EOF
	ROOT_UUID=$rootuuid
	PARTUUID=$partuuid
	KVER=$kver
	VERSION=$version
	SIZE_MIB=$size
	USED_MIB=$used
	ROOTFS_KEY=$rkey
	IMAGE_KEY=$ikey
	VARIANT=$variant
	VARIANT_PKGS="$VARIANT_PKGS"
	EOF
	cp --sparse=always "$tmpimg" "$img.tmp"
	mv "$img.tmp" "$img"
	mv "$tmpimg.info" "$img.info"
	rm -rf "$work"
	trap - EXIT INT TERM
	say "built $img (${size} MiB, rootfs ${used} MiB) in $(( $(now) - t0 )) s"
	# Keep the 8 newest sample images (each ~600 MiB allocated); rootfs tarballs stay.
	ls -t "$cache"/sample-*.img 2>/dev/null | tail -n +9 | while read -r old; do
		rm -f "$old" "$old.info"
	done
fi
exec 8>&- 2>/dev/null

if [ -n "$out" ]; then
	cp --sparse=always "$img" "$out.tmp" && mv "$out.tmp" "$out"
	cp "$img.info" "$out.info"
fi
echo "$img"
