#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs every Debian bookworm package the build, the tests and the demo need.
# Idempotent; run as root (CI and the demo do). Usage: tools/deps.sh [--qemu] [--deb] [--bench]
#   without options: what the build and the fast tests need;
#   with --qemu:     also what building and booting the sample images needs (the arm64
#                    U-Boot one; the UEFI ones: AAVMF, OVMF);
#   with --bench:    also xdelta3 and casync, the methods bench/delta.sh compares with;
#   with --deb:      also what 'make deb' needs (debhelper, lintian). debian/control's
#                    Build-Depends are the build's part of host_pkgs plus debhelper
#                    (tests/integ/t0142-deb.sh checks that they stay so).
# The device-side binaries link statically against the cross toolchains' own libc
# (libc6-dev-*-cross), so no multiarch :arm64/:armhf install is needed; those
# installs break whenever the host and the foreign index disagree on a version. The static
# libraries of the device builds (libsodium, which aim-boot needs to check slot.env
# signatures, zlib, OpenSSL's libcrypto for arm64 and armhf) are unpacked into
# /var/cache/armimmutable by tools/sysroot.sh (apt-get download + dpkg -x, nothing
# installed). With --qemu or --deb, tools/curl-static.sh builds a static libcurl (HTTPS for
# the device CLIs) from Debian's curl source package into the same sysroots
# (x86_64: sysroot-x86_64). cryptsetup-bin (veritysetup) makes and checks dm-verity test fixtures.
# grub-common (grub-mkimage) and grub-efi-amd64-bin (the x86_64-efi modules; only files,
# nothing installs GRUB on this machine) convert UEFI images; tools/grub-modules.sh
# unpacks grub-efi-arm64-bin's arm64-efi modules into /var/cache/armimmutable.
set -eu
t0=$(date +%s)

host_pkgs="build-essential pkg-config
 libsquashfs-dev libext2fs-dev comerr-dev liblzma-dev libzstd-dev
 libcryptsetup-dev libmount-dev libblkid-dev libfdisk-dev libsodium-dev
 libcurl4-openssl-dev zlib1g-dev libssl-dev
 gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross libc6-dev-armhf-cross
 e2fsprogs fdisk gdisk dosfstools mtools squashfs-tools squashfs-tools-ng
 xz-utils zstd u-boot-tools cpio jq file binutils perl attr time bc kmod lz4 bzip2
 minisign nginx curl openssl clang-14 libclang-rt-14-dev cryptsetup-bin
 grub-common grub-efi-amd64-bin"
qemu_pkgs="qemu-system-arm u-boot-qemu mmdebstrap qemu-user-static binfmt-support
 arch-test debian-archive-keyring qemu-efi-aarch64 ovmf qemu-system-x86"
deb_pkgs="debhelper lintian mmdebstrap debian-archive-keyring"
bench_pkgs="xdelta3 casync" # bench/delta.sh's methods to compare with

want="$host_pkgs"
for o in "$@"; do
	case "$o" in
	--qemu) want="$want $qemu_pkgs" ;;
	--deb) want="$want $deb_pkgs" ;;
	--bench) want="$want $bench_pkgs" ;;
	*) echo "deps: unknown option '$o' (usage: tools/deps.sh [--qemu] [--deb] [--bench])" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
sysroots() {
	for a in arm64 armhf; do
		sh "$(dirname "$0")/sysroot.sh" "$a"
	done
	# The static libcurl of the device CLIs (HTTPS), from Debian's curl source package:
	# about 45 s cold for the three arches at once, nothing when built.
	case " $want " in
	*" qemu-user-static "* | *" debhelper "*) sh "$(dirname "$0")/curl-static.sh" --all ;;
	esac
	# GRUB's arm64-efi modules for the UEFI images (grub-mkimage on an amd64 host)
	case " $want " in
	*" grub-common "*) sh "$(dirname "$0")/grub-modules.sh" ;;
	esac
}
if [ -z "$missing" ]; then
	sysroots
	echo "timing: packages $(( $(date +%s) - t0 )) s (all there)"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run tools/deps.sh as root)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
need_update=0
stamp=/var/lib/apt/periodic/armimmutable-update
if [ $need_update = 1 ] || [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720)" ]; then
	# A mirror mid-sync can fail one index; what matters is that the install works.
	apt-get update -q >/dev/null 2>&1 || { sleep 5; apt-get update -q >/dev/null 2>&1; } || true
	mkdir -p "${stamp%/*}" && touch "$stamp"
fi
echo "deps: installing$missing"
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
sysroots
echo "timing: packages $(( $(date +%s) - t0 )) s ($(echo $missing | wc -w) installed)"
