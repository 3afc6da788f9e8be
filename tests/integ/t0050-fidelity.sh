#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fidelity: the squashfs in slot A holds exactly the input's root tree except for the
# documented transforms (docs/convert.md). Both trees are read by the kernel (loop
# mounts of the input's ext4 and of the output's slot A), so neither side is read by
# our own code. Compared for every path: type, mode with setuid/setgid/sticky, owner,
# size, mtime (seconds, clamped to squashfs's 0..2^32-1), symlink target, device
# numbers, content SHA-256, user./trusted./security. xattrs, and hard-link groups.
# Needs root for the loop mounts; runs on the rich sample (every metadata case of
# tests/sample/mkrootfs.sh) and, when cached, on the bootable Debian sample.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! grep -qw squashfs /proc/filesystems 2>/dev/null &&
	! modprobe squashfs 2>/dev/null; then
	skip "fidelity needs root and squashfs for loop mounts"
	done_testing
	exit 0
fi

# The documented transforms: paths that may differ or appear/disappear.
transformed() {
	grep -Ev '^\./boot/|^\./etc/fstab\||^\./etc/armimmutable(/|\|)|^\./etc/systemd/system(\||/armbian-resize-filesystem\.service)|/[^/]*\.wants/armbian-resize-filesystem\.service\||^\./root/\.no_rootfs_resize\||^\./root\||^\./etc/systemd\||^\./etc\|' |
		# the device side convert installs (docs/convert.md): every path named
		# armimmutable*, and the directory entries of the folders that hold them
		grep -Ev 'armimmutable[^/|]*\||armimmutable[^/|]*/|^\./usr/share/initramfs-tools(/hooks|/scripts|/scripts/local-bottom)?\|d\||^\./usr/share\|d\||^\./usr/lib/systemd/system\|d\||^\./usr/lib/systemd\|d\||^\./usr/lib\|d\||^\./usr\|d\||^\./etc/systemd/system/[^/|]*\.wants\|d\|'
}

# listing DIR: one line per path, sorted.
listing() {
	(
		cd "$1" || exit 1
		find . -xdev -printf '%p|%y|%#m|%U|%G|%T@|%l\n' |
			awk -F'|' 'BEGIN{OFS="|"} {t=int($6); if ($6 < 0 && t != $6) t--; if (t < 0) t = 0; if (t > 4294967295) t = 4294967295; $6=t; print}'
		# sizes and contents of regular files
		find . -xdev -type f -printf '%p|size|%s\n'
		find . -xdev -type f -print0 | xargs -0 -r sha256sum | awk '{h=$1; $1=""; sub(/^ /,""); print $0 "|sha|" h}'
		# device numbers
		find . -xdev \( -type b -o -type c \) -print0 | xargs -0 -r stat -c '%n|dev|%t:%T'
		# xattrs that squashfs can hold
		getfattr -R -P -d -m '^(user|trusted|security)\.' -e hex . 2>/dev/null |
			awk '/^# file: /{f=substr($0,9)} /=/{print "./" f "|xattr|" $0}' | sed 's#^\./\./#./#'
		# hard-link groups: the sorted names sharing an inode, by the group's first name
		find . -xdev ! -type d -links +1 -printf '%i %p\n' | sort -k1,1n -k2 |
			awk '{g[$1] = g[$1] ? g[$1] "," $2 : $2} END {for (i in g) print g[i] "|links"}'
	) | LC_ALL=C sort
}

compare_image() { # compare_image NAME IMG
	name=$1
	in=$2
	out="$TMP/$name-out.img"
	as_user "$AIM" -q convert "$in" "$out"
	is $? 0 "$name: converts"
	rstart=$(sfdisk -J "$in" | jq '[.partitiontable.partitions[] | select(.type=="83" or (.type|test("-")))] | last | .start')
	rstart=$(blkid -p -O 0 "$in" >/dev/null 2>&1; for n in $(sfdisk -J "$in" | jq -r '.partitiontable.partitions[].start'); do
		[ "$(blkid -p -O $((n * 512)) -s LABEL -o value "$in")" = armbi_root ] && echo $n; done | head -n 1)
	sstart=$(sfdisk -J "$out" | jq '.partitiontable.partitions[1].start')
	mkdir -p "$TMP/m-in" "$TMP/m-out"
	mount -o ro,loop,noload,offset=$((rstart * 512)) -t ext4 "$in" "$TMP/m-in" &&
		mount -o ro,loop,offset=$((sstart * 512)) -t squashfs "$out" "$TMP/m-out"
	is $? 0 "$name: both trees mounted"
	listing "$TMP/m-in" | transformed | grep -v '^\./lost+found' >"$TMP/l-in"
	listing "$TMP/m-out" | transformed | grep -v '^\./lost+found' >"$TMP/l-out"
	n=$(wc -l <"$TMP/l-in")
	check "$name: listing is not trivial ($n lines)" test "$n" -gt 50
	if diff -u "$TMP/l-in" "$TMP/l-out" >"$TMP/l-diff"; then
		ok 0 "$name: every path identical apart from the documented transforms"
	else
		ok 1 "$name: every path identical apart from the documented transforms"
		head -n 40 "$TMP/l-diff" | sed 's/^/#   /'
	fi
	is "$(getfattr -R -P -m '^system\.posix_acl' "$TMP/m-out" 2>/dev/null | grep -c '^system')" 0 \
		"$name: no POSIX ACLs in the squashfs (they cannot be stored)"
	grep -v '^#' "$TMP/m-in/etc/fstab" | awk '$2 != "/" && $2 !~ /^\/boot/' >"$TMP/fstab-want"
	grep -v '^#' "$TMP/m-out/etc/fstab" >"$TMP/fstab-got"
	check "$name: fstab keeps every other line" cmp "$TMP/fstab-want" "$TMP/fstab-got"
	umount "$TMP/m-in" "$TMP/m-out"
	rm -f "$out"
}

# The rich synthetic sample: every metadata case (devices, fifo, socket, 300:70000,
# setuid/setgid/sticky, 100000/200000 owners, ns and post-2038 times, xattrs, ACLs,
# hard links, fast/slow symlinks, sparse and 4.5 GiB files, 255-byte names, deep tree,
# 5000-entry directory).
"$SAMPLE/mkshape.sh" A "$TMP/rich.img" --rootfs mkrootfs >/dev/null 2>&1
check "rich sample built with mkrootfs.sh" test -s "$TMP/rich.img"
chmod 0644 "$TMP/rich.img"
compare_image rich "$TMP/rich.img"
rm -f "$TMP/rich.img"

# The bootable Debian sample, if it is in the cache (tests/qemu builds it).
cache=${AIM_CACHE:-/var/cache/armimmutable}
boot_img=$(ls -t "$cache"/sample-*.img 2>/dev/null | head -n 1)
if [ -n "$boot_img" ]; then
	cp --sparse=always "$boot_img" "$TMP/debian.img"
	chmod 0644 "$TMP/debian.img"
	compare_image debian "$TMP/debian.img"
else
	skip "bootable Debian sample not cached yet (make check-qemu builds it)"
fi
done_testing
