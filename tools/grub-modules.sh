#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# GRUB's arm64-efi modules for aim_grub_mkimage on a host of another architecture
# (docs/boot.md 4b): Debian's grub-efi-arm64-bin, downloaded with 'apt-get download' and
# unpacked with 'dpkg -x' (nothing installed), as tools/sysroot.sh does for libraries.
#
#   tools/grub-modules.sh [--print] [DIR]
#
# DIR defaults to $SYSROOT_CACHE/grub-arm64 (/var/cache/armimmutable/grub-arm64); the
# modules end up in DIR/usr/lib/grub/arm64-efi, the version in DIR/VERSION. A second run
# with them there does nothing. On an arm64 host, grub-efi-arm64-bin installs the same
# modules in /usr/lib/grub/arm64-efi. Exit status: 0 done, 1 failure (reason on stderr).
set -eu

CACHE=${SYSROOT_CACHE:-/var/cache/armimmutable}
print=0
if [ "${1:-}" = "--print" ]; then
	print=1
	shift
fi
dir=${1:-$CACHE/grub-arm64}
if [ $print = 1 ]; then
	echo "$dir/usr/lib/grub/arm64-efi"
	exit 0
fi
[ -e "$dir/usr/lib/grub/arm64-efi/linux.mod" ] && [ -e "$dir/.done" ] && exit 0
if ! dpkg --print-foreign-architectures | grep -qx arm64 &&
	[ "$(dpkg --print-architecture)" != arm64 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "grub-modules: apt does not know the architecture arm64; as root run:" \
			"dpkg --add-architecture arm64 && apt-get update (nothing gets installed)" >&2
		exit 1
	fi
	dpkg --add-architecture arm64
	apt-get update -q >/dev/null 2>&1 || { sleep 5; apt-get update -q >/dev/null; }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-grubmods.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt's _apt user must be able to write the download directory
chmod 0777 "$tmp"
if ! (cd "$tmp" && apt-get download -q grub-efi-arm64-bin:arm64 >/dev/null 2>&1); then
	echo "grub-modules: apt-get download grub-efi-arm64-bin:arm64 failed" >&2
	exit 1
fi
mkdir -p "$dir"
dpkg -x "$tmp"/grub-efi-arm64-bin_*.deb "$dir"
dpkg-deb -f "$tmp"/grub-efi-arm64-bin_*.deb Version >"$dir/VERSION"
touch "$dir/.done"
echo "grub-modules: grub-efi-arm64-bin $(cat "$dir/VERSION") in $dir"
