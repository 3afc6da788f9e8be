#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes an extlinux image (shape H: Armbian's SRC_EXTLINUX=yes) from the bootable shape-A
# sample, rootless: a sparse copy, then with debugfs boot.scr, boot.cmd and armbianEnv.txt
# replaced by an Armbian-style /boot/extlinux/extlinux.conf booting the same kernel and
# initramfs from the same root.
# Usage: tests/sample/to-extlinux.sh SAMPLE.img OUT.img
set -eu
[ $# = 2 ] || { echo "usage: to-extlinux.sh SAMPLE.img OUT.img" >&2; exit 2; }
cp --sparse=always "$1" "$2"
o=$(($(sfdisk -J "$2" | jq '.partitiontable.partitions[0].start') * 512))
uuid=$(blkid -p -O "$o" -s UUID -o value "$2")
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
printf 'label Armbian\n  kernel /boot/Image\n  initrd /boot/uInitrd\n  append root=UUID=%s rootwait rootfstype=ext4 console=ttyAMA0,115200 console=tty1 consoleblank=0 loglevel=1\n' \
	"$uuid" >"$conf"
printf 'rm /boot/boot.scr\nrm /boot/boot.cmd\nrm /boot/armbianEnv.txt\nmkdir /boot/extlinux\nwrite %s /boot/extlinux/extlinux.conf\n' \
	"$conf" | debugfs -w -f - "$2?offset=$o" >/dev/null 2>&1
