#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds (or finds in the cache) the bench's MODULES=most variant of the default sample
# (mkbootable.sh): the same image, its /boot/initrd.img-<kver> replaced by one with
# initramfs-tools' MODULES=most module set (what many boards ship, ~45 MB gzip) and
# uInitrd-<kver> remade from it (the uInitrd link stays). The initramfs is the
# rootfs's own MODULES=list one plus every module auto_add_modules() names for "most"
# (the directories and names in the rootfs's hook-functions, with their modules.dep
# dependencies), depmod run on the host, repacked with gzip -9: running mkinitramfs
# itself under qemu-user took hours. No QEMU test uses it.
#
# Usage: tests/sample/mkmost.sh   Prints the path of the cached image (last line); the
# default sample is built first when missing. Needs root for a build (as mkbootable.sh).
# Cached as ${AIM_CACHE:-/var/cache/armimmutable}/sample-most-<key>.img, key: this
# script and the default sample's key.
set -eu

me=$(readlink -f "$0")
here=$(dirname "$me")
cache=${AIM_CACHE:-/var/cache/armimmutable}
say() { printf 'mkmost: %s\n' "$*" >&2; }
die() { printf 'mkmost: error: %s\n' "$*" >&2; exit 1; }

base=$("$here/mkbootable.sh" | tail -n 1)
IMAGE_KEY="" ROOTFS_KEY="" KVER=""
. "$base.info"
key=$({ cat "$me"; printf '|%s' "$IMAGE_KEY"; } | sha256sum | cut -c1-16)
img="$cache/sample-most-$key.img"
if [ -f "$img" ] && [ -f "$img.info" ]; then
	echo "$img"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "building needs root; no cached $img"
for c in mkimage debugfs depmod cpio gzip tar; do
	command -v "$c" >/dev/null 2>&1 || die "missing command $c (run tools/deps.sh --qemu)"
done
t0=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/aim-mkmost.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
R="$work/root"
mkdir "$R"
tar -C "$R" -xf "$cache/rootfs-$ROOTFS_KEY.tar" ./usr/share/initramfs-tools/hook-functions \
	"./usr/lib/modules/$KVER" "./boot/initrd.img-$KVER" || die "cannot read the rootfs"

most_initrd() {
	_r=$1 _k=$2 _w="$work/initrd"
	_hf="$_r/usr/share/initramfs-tools/hook-functions"
	_md="$_r/usr/lib/modules/$_k"
	mkdir "$_w"
	( cd "$_w" && gzip -dc <"$_r/boot/initrd.img-$_k" | cpio -id --quiet --no-absolute-filenames ) ||
		die "cannot unpack initrd.img-$_k"
	# the modules auto_add_modules() copies for MODULES=most: whole directories, names
	sed -n '/^auto_add_modules/,/^}/s/.*copy_modules_dir \(kernel\/[^ \\]*\).*/\1/p' "$_hf" |
		sort -u >"$work/most.dirs"
	sed -n '/^auto_add_modules/,/^}/s/.*modules="\$modules \(.*\)"/\1/p' "$_hf" |
		tr ' ' '\n' | sed -n 's/-/_/g; /./p' | sort -u >"$work/most.names"
	[ -s "$work/most.dirs" ] || die "no copy_modules_dir in $_hf"
	# the selected paths and every path their modules.dep lines name
	awk -v dirs="$work/most.dirs" -v names="$work/most.names" '
		BEGIN { while ((getline l < dirs) > 0) d[++nd] = l "/"
			while ((getline l < names) > 0) n[l] = 1 }
		{ p = $1; sub(/:$/, "", p); b = p; sub(/.*\//, "", b); sub(/\.ko.*/, "", b)
		  gsub(/-/, "_", b); take = (b in n)
		  for (i = 1; i <= nd && !take; i++) take = index(p, d[i]) == 1
		  if (take) for (i = 1; i <= NF; i++) { q = $i; sub(/:$/, "", q); print q } }
	' "$_md/modules.dep" | sort -u >"$work/most.paths"
	_dst="$_w/usr/lib/modules/$_k"
	[ -d "$_dst" ] || _dst="$_w/lib/modules/$_k"
	( cd "$_md" && xargs cp --parents -p -t "$_dst" ) <"$work/most.paths" ||
		die "cannot copy the modules"
	cp -p "$_md"/modules.order "$_md"/modules.builtin "$_md"/modules.builtin.modinfo "$_dst"/
	depmod -b "$_w" "$_k" || die "depmod failed"
	( cd "$_w" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -n -9 ) \
		>"$_r/boot/initrd.img-$_k.new" || die "cannot repack the initramfs"
	touch -r "$_r/boot/initrd.img-$_k" "$_r/boot/initrd.img-$_k.new"
	mv "$_r/boot/initrd.img-$_k.new" "$_r/boot/initrd.img-$_k"
	rm -rf "$_w"
	say "initrd.img-$_k: $(wc -l <"$work/most.paths") modules added, $(stat -c %s "$_r/boot/initrd.img-$_k") bytes"
}

say "initramfs with MODULES=most's module set (kernel $KVER)"
most_initrd "$R" "$KVER"
mkimage -A arm64 -O linux -T ramdisk -C gzip -n uInitrd -d "$R/boot/initrd.img-$KVER" \
	"$work/uInitrd-$KVER" >/dev/null
cp --sparse=always "$base" "$work/img"
off=$(( $(sfdisk -J "$work/img" | jq '.partitiontable.partitions[0].start') * 512 ))
debugfs -w -f - "$work/img?offset=$off" >/dev/null 2>&1 <<-CMDS
	rm /boot/initrd.img-$KVER
	write $R/boot/initrd.img-$KVER /boot/initrd.img-$KVER
	rm /boot/uInitrd-$KVER
	write $work/uInitrd-$KVER /boot/uInitrd-$KVER
CMDS
for f in "initrd.img-$KVER" "uInitrd-$KVER"; do
	n=$(debugfs -R "stat /boot/$f" "$work/img?offset=$off" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -n 1)
	[ -n "$n" ] && [ "$n" -gt 1000000 ] || die "writing /boot/$f into the image failed"
done
cp "$base.info" "$work/img.info"
mv "$work/img" "$img.tmp"
mv "$img.tmp" "$img"
mv "$work/img.info" "$img.info"
say "built $img in $(( $(date +%s) - t0 )) s"
echo "$img"
