# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh disable=SC2034,SC2154,SC3043
# What the bootable sample builders share (tests/sample/mkbootable.sh: shape A on U-Boot;
# tests/sample/mkuefi.sh: shapes F and G on UEFI with GRUB). Source it after setting
# `me` (the calling script), `files` (tests/sample/armbian) and `prog` (the name in
# messages). Everything here writes only below $cache, the scratch directory and $R.
#
#   sample_recipe ARCH       the rootfs recipe of ARCH (arm64: shape A's, amd64: shape G's):
#                            sets pkgs, ess_hook, recipe, rkey, rootfs_tar
#   sample_begin CMD...      1 when $img is cached; else 0, with root and CMD checked and
#                            the lock of $rkey held (a waiter then finds the image built)
#   sample_end               release the lock, copy $img to $out (--out), print its path
#   sample_build_rootfs ARCH mmdebstrap the recipe into $rootfs_tar (arm64 via qemu-user)
#   sample_scratch           a scratch directory $work (RAM when there is room) with the
#                            rootfs extracted to $R; removed on exit
#   sample_etc HOST TTY      hostname, hosts, password-less root, serial autologin on TTY,
#                            the marker, the timeouts, masked units, sshd keys at first
#                            boot, the system user, the first-boot resize
#   sample_kernel            kver= the rootfs's kernel (vmlinuz and initrd.img checked),
#                            rootuuid= a new UUID for the root filesystem
#   sample_mkext4 IMG OFFSET MIB UUID   the root ext4 (mke2fs -d $R) into IMG at OFFSET
#   sample_info_tail         the .info lines every image has (KVER ... IMAGE_KEY)
#   sample_publish TMPIMG PREFIX       TMPIMG and TMPIMG.info into $img, keep the 8 newest
#                                      PREFIX-*.img

cache=${AIM_CACHE:-/var/cache/armimmutable}

say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
now() { date +%s; }

sample_need_build() {
	[ "$(id -u)" = 0 ] ||
		die "building needs root (mmdebstrap --mode=root, owner-preserving tar); no cached $img"
	for c in mmdebstrap sfdisk mke2fs tune2fs sha256sum tar flock "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "missing command $c (run tools/deps.sh --qemu)"
	done
	mkdir -p "$cache"
}

# ---- the rootfs recipes (everything that goes into a rootfs cache key) ----
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

sample_recipe() {
	local modules
	case "$1" in
	arm64)
		pkgs="systemd,systemd-sysv,udev,kmod,e2fsprogs,fdisk,linux-image-arm64,initramfs-tools,busybox"
		pkgs="$pkgs,u-boot-tools,procps,less,openssh-server"
		# Armbian boards with MODULES_INITRD use MODULES=list; it also keeps the initramfs
		# step short under emulation (MODULES=most takes ~12 min, twice). Written before
		# the kernel.
		modules="virtio_mmio virtio_blk virtio_pci virtio_scsi virtio_console ext4 crc32c_generic"
		;;
	amd64)
		# Shape G: what the arm64 recipe has, GRUB's EFI and BIOS modules instead of
		# u-boot-tools (grub-efi-amd64-bin and grub-pc-bin, as Armbian's grub extension
		# installs them; no grub-efi-amd64/grub-pc, whose maintainer scripts would run
		# grub-install on the build host).
		pkgs="systemd,systemd-sysv,udev,kmod,e2fsprogs,fdisk,linux-image-amd64,initramfs-tools,busybox"
		pkgs="$pkgs,grub-efi-amd64-bin,grub-pc-bin,grub2-common,procps,less,openssh-server"
		modules="virtio_pci virtio_blk virtio_scsi virtio_console ext4 crc32c_generic"
		;;
	*) die "no rootfs recipe for $1" ;;
	esac
	ess_hook='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
printf "MODULES=list\nCOMPRESS=gzip\nRESUME=none\n" >"$1/etc/initramfs-tools/conf.d/armbian.conf" &&
for m in '"$modules"'; do echo "$m"; done >"$1/etc/initramfs-tools/modules"'
	recipe="v1|$suite|$mirror|$1|apt|$pkgs|$ess_hook"
	rkey=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
	rootfs_tar="$cache/rootfs-$rkey.tar"
}

sample_begin() {
	if [ ! -f "$img" ] || [ ! -f "$img.info" ]; then
		sample_need_build "$@"
		exec 8>"$cache/.lock-$rkey"
		flock 8
	fi
	if [ -f "$img" ] && [ -f "$img.info" ]; then
		say "cached: $img"
		return 1
	fi
	t0=$(now)
}

sample_end() {
	exec 8>&- 2>/dev/null
	if [ -n "$out" ]; then
		cp --sparse=always "$img" "$out.tmp" && mv "$out.tmp" "$out"
		cp "$img.info" "$out.info"
	fi
	echo "$img"
}

sample_kernel() {
	kver=$(ls "$R/lib/modules" | sort -V | tail -n 1)
	[ -n "$kver" ] && [ -f "$R/boot/vmlinuz-$kver" ] || die "no kernel in the rootfs"
	[ -f "$R/boot/initrd.img-$kver" ] || die "no initrd.img-$kver in the rootfs"
	rootuuid=$(cat /proc/sys/kernel/random/uuid)
}

sample_ensure_binfmt() {
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

sample_build_rootfs() {
	local t0 ticker hint
	hint="usually 1-3 min"
	if [ "$1" = arm64 ] && [ "$(dpkg --print-architecture)" != arm64 ]; then
		sample_ensure_binfmt
		hint="usually 3-12 min under qemu-user"
	fi
	say "stage 1: mmdebstrap $suite $1 from $mirror (cached as $rootfs_tar)"
	t0=$(now)
	# A line a minute, so that a long quiet phase (unpacking, maintainer scripts under
	# emulation) does not look like a hang.
	( while sleep 60; do say "stage 1: $(( $(now) - t0 )) s so far ($hint)"; done ) &
	ticker=$!
	mmdebstrap --mode=root --format=tar --arch="$1" --variant=apt --include="$pkgs" \
		--dpkgopt=force-confold --dpkgopt=force-confdef \
		--essential-hook="$ess_hook" \
		--customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; : >"$1"/etc/machine-id' \
		"$suite" "$rootfs_tar.tmp" "$mirror" >&2 ||
		{ kill $ticker 2>/dev/null; rm -f "$rootfs_tar.tmp"; die "mmdebstrap failed"; }
	kill $ticker 2>/dev/null
	mv "$rootfs_tar.tmp" "$rootfs_tar"
	say "stage 1 done in $(( $(now) - t0 )) s"
}

sample_scratch() {
	local wbase
	# Scratch in RAM when there is room (extract + mke2fs -d + rm are I/O bound).
	wbase=$cache
	if [ -d /dev/shm ] && [ "$(df -P -k /dev/shm | awk 'NR == 2 { print $4 }')" -gt 4000000 ]; then
		wbase=/dev/shm
	fi
	work=$(mktemp -d "$wbase/aim-$prog.XXXXXX")
	trap 'rm -rf "$work"' EXIT INT TERM
	R="$work/root"
	mkdir "$R"
	tar -C "$R" --numeric-owner -p --xattrs --xattrs-include='*' -xf "$rootfs_tar"
}

sample_etc() {
	local host tty u id
	host=$1 tty=$2
	echo "$host" >"$R/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' \
		"$host" >"$R/etc/hosts"
	sed -i 's/^root:[^:]*:/root::/' "$R/etc/shadow"
	mkdir -p "$R/etc/systemd/system/serial-getty@$tty.service.d"
	cp "$files/serial-getty-autologin.conf" \
		"$R/etc/systemd/system/serial-getty@$tty.service.d/override.conf"
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

	# First-boot resize (Armbian's bsp-cli package).
	mkdir -p "$R/usr/lib/armbian" "$R/etc/systemd/system/basic.target.wants"
	install -m 0755 "$files/armbian-resize-filesystem" "$R/usr/lib/armbian/armbian-resize-filesystem"
	install -m 0644 "$files/armbian-resize-filesystem.service" \
		"$R/lib/systemd/system/armbian-resize-filesystem.service"
	ln -sfn /lib/systemd/system/armbian-resize-filesystem.service \
		"$R/etc/systemd/system/basic.target.wants/armbian-resize-filesystem.service"
}

sample_mkext4() {
	# Armbian's options (armbian-layout.md 1.6); bookworm's mke2fs knows orphan_file,
	# older ones do not.
	mke2fs -q -F -t ext4 -m 2 -O ^orphan_file -L armbi_root -U "$4" \
		-E offset="$2" -d "$R" "$1" "${3}M" >&2 2>/dev/null ||
		mke2fs -q -F -t ext4 -m 2 -L armbi_root -U "$4" \
			-E offset="$2" -d "$R" "$1" "${3}M" >&2
	tune2fs -o journal_data_writeback "$1?offset=$2" >/dev/null 2>&1 || true
}

sample_info_tail() {
	printf '%s\n' "KVER=$kver" "VERSION=$version" "SIZE_MIB=$size" "USED_MIB=$used" \
		"ROOTFS_KEY=$rkey" "IMAGE_KEY=$ikey"
}

sample_publish() {
	cp --sparse=always "$1" "$img.tmp"
	mv "$img.tmp" "$img"
	mv "$1.info" "$img.info"
	rm -rf "$work"
	trap - EXIT INT TERM
	# Keep the 12 newest images of this kind (each ~600 MiB allocated; make check uses 6
	# of kind sample: the base, t-ota's v2 and v3, t0160's s1-s3, and a test run takes a
	# cached image's path while others build); rootfs tarballs stay.
	ls -t "$cache/$2"-*.img 2>/dev/null | tail -n +13 | while read -r old; do
		rm -f "$old" "$old.info"
	done
	say "built $img (${size} MiB, rootfs ${used} MiB) in $(( $(now) - t0 )) s"
}
