#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Makes a shape-D image with extlinux (a separate ext4 /boot partition holding
# extlinux/extlinux.conf, no boot.scr: Armbian's BOOTFS_TYPE=ext4 with SRC_EXTLINUX=yes)
# from the bootable shape-A sample, rootless: p1 a new ext4 "armbi_boot" at 4 MiB made
# from the sample's /boot (debugfs rdump; boot.scr, boot.cmd and armbianEnv.txt left out,
# extlinux.conf booting the same kernel and initramfs), p2 the sample's root partition
# byte for byte (its /boot, now hidden under the mount point, stays as it was).
# Usage: tests/sample/to-dext.sh SAMPLE.img OUT.img
set -eu
[ $# = 2 ] || { echo "usage: to-dext.sh SAMPLE.img OUT.img" >&2; exit 2; }
src=$1 out=$2
MiB=1048576
rs=$(sfdisk -J "$src" | jq '.partitiontable.partitions[0].start')
rn=$(sfdisk -J "$src" | jq '.partitiontable.partitions[0].size')
uuid=$(blkid -p -O $((rs * 512)) -s UUID -o value "$src")
work=$(mktemp -d "${TMPDIR:-/tmp}/aim-to-dext.XXXXXX")
trap 'rm -rf "$work"' EXIT
debugfs -R "rdump /boot $work" "$src?offset=$((rs * 512))" >/dev/null 2>&1
b=$work/boot
[ -e "$b/Image" ] || { echo "to-dext: no /boot/Image in $src" >&2; exit 1; }
rm -f "$b/boot.scr" "$b/boot.cmd" "$b/armbianEnv.txt"
mkdir -p "$b/extlinux"
printf 'label Armbian\n  kernel /Image\n  initrd /uInitrd\n  append root=UUID=%s rootwait rootfstype=ext4 console=ttyAMA0,115200 console=tty1 consoleblank=0 loglevel=1\n' \
	"$uuid" >"$b/extlinux/extlinux.conf"
# boot -> . as Armbian puts it on boot partitions
ln -s . "$b/boot"
boot_mib=256
p2=$((4 + boot_mib))
rm -f "$out"
truncate -s $(( (p2 * MiB) + rn * 512 + MiB )) "$out"
dd if="$src" of="$out" bs=512 count=1 conv=notrunc status=none # keep the MBR's disk id
printf 'label: dos\nlabel-id: 0x%s\n%s,%s,83\n%s,%s,83\n' \
	"$(sfdisk -J "$src" | jq -r .partitiontable.id | sed 's/^0x//')" \
	$((4 * MiB / 512)) $((boot_mib * MiB / 512)) $((p2 * MiB / 512)) "$rn" |
	sfdisk -q "$out" >/dev/null
mke2fs -q -F -t ext4 -L armbi_boot -d "$b" -E offset=$((4 * MiB)) "$out" "${boot_mib}M"
dd if="$src" of="$out" bs=1M skip=$((rs * 512 / MiB)) seek=$p2 count=$((rn * 512 / MiB)) \
	conv=notrunc,sparse status=none
