#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds a broken or non-convertible disk image for the negative tests. Rootless and
# deterministic, like mkshape.sh (the good images come from mkshape.sh, always with
# --rootfs builtin here so the fixtures do not depend on mkrootfs.sh).
#
# Usage: mkbad.sh KIND OUT.img        (mkbad.sh --list prints the kinds)
#
# KIND
#   truncated   shape A (MBR, ext4 root p1 at 4 MiB) cut in the middle of the root partition:
#               the table says p1 ends at the end of the 64 MiB image, the file is only
#               4 MiB + half of p1 long
#   gpt-badcrc  shape C (GPT) with one byte of the primary GPT header flipped (byte 56 of
#               LBA 1, the first byte of the disk GUID), so the header CRC32 no longer
#               matches; the backup header at the end of the disk is intact
#   overlap     shape A plus a second MBR entry (type 83) that starts 8 MiB inside p1
#               and ends inside it: p1 and p2 overlap
#   pastend     shape A whose MBR entry for p1 claims 64 MiB more than the file holds (the
#               file and the filesystem are complete; only the table is wrong)
#   badsb       shape A, 200 MiB, with the ext4 superblock magic (0xEF53 at byte 1080 of
#               the filesystem) zeroed; the backup superblock at block 32768 is intact
#   nosig       shape A with the MBR signature 0x55AA (bytes 510-511) zeroed
#   xz-cut      shape A compressed with xz (-6, one thread), then cut to half its length;
#               written to OUT.img.xz (OUT itself is not created)
#   noroot      an MBR with only one FAT32 partition (label DATA, type 0c): no Linux root
#   empty       a zero-length file
#   notimage    1 MiB of pseudo-random bytes (no partition table, no 0x55AA)
set -euo pipefail

me=$(readlink -f "$0")
here=$(dirname "$me")
KINDS="truncated gpt-badcrc overlap pastend badsb nosig xz-cut noroot empty notimage"

die() {
	echo "mkbad: $*" >&2
	exit 1
}

if [ "${1:-}" = "--list" ]; then
	echo "$KINDS"
	exit 0
fi
[ $# = 2 ] || { echo "usage: $0 KIND OUT.img (KIND: $KINDS)" >&2; exit 2; }
kind=$1
out=$2
export LC_ALL=C TZ=UTC

mkshape() { "$here/mkshape.sh" "$1" "$2" --rootfs builtin; }

# poke FILE OFFSET PERL-PACK-ARGS...: overwrite bytes at OFFSET with pack(...)
poke() {
	local f=$1 off=$2
	shift 2
	perl -e 'binmode STDOUT; my $fmt = shift; print pack($fmt, @ARGV)' "$@" |
		dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

ROOT_START=$((4 * 1048576)) # shape A: p1 at 4 MiB

case "$kind" in
truncated)
	mkshape A "$out"
	size=$(stat -c %s "$out")
	truncate -s $((ROOT_START + (size - ROOT_START) / 2)) "$out"
	;;
gpt-badcrc)
	mkshape C "$out"
	b=$(od -A n -t u1 -j $((512 + 56)) -N 1 "$out" | tr -d ' ')
	poke "$out" $((512 + 56)) C $((b ^ 255))
	;;
overlap)
	mkshape A "$out"
	# entry 2 at byte 462: status, CHS first (3), type, CHS last (3), LBA start, sectors
	poke "$out" 462 "C C3 C C3 V V" 0 254 255 255 131 254 255 255 $((8192 + 16384)) 32768
	;;
pastend)
	mkshape A "$out"
	sectors=$(od -A n -t u4 -j $((446 + 12)) -N 4 "$out" | tr -d ' ')
	poke "$out" $((446 + 12)) V $((sectors + 64 * 2048))
	;;
badsb)
	# 200 MiB, so that the root has a second block group holding a backup superblock
	"$here/mkshape.sh" A "$out" --rootfs builtin --size-mib 200
	poke "$out" $((ROOT_START + 1080)) v 0
	;;
nosig)
	mkshape A "$out"
	poke "$out" 510 v 0
	;;
xz-cut)
	case "$out" in *.xz) xzout=$out ;; *) xzout=$out.xz ;; esac
	tmp=$(mktemp "${TMPDIR:-/tmp}/mkbad.XXXXXX")
	trap 'rm -f "$tmp"' EXIT
	mkshape A "$tmp"
	xz -6 -T1 -c "$tmp" >"$xzout"
	size=$(stat -c %s "$xzout")
	truncate -s $((size / 2)) "$xzout"
	;;
noroot)
	mkshape NOROOT "$out"
	;;
empty)
	rm -f "$out"
	: >"$out"
	;;
notimage)
	perl "$here/shapes/blobs.pl" prng notimage 1048576 >"$out"
	;;
*)
	die "unknown kind '$kind' (one of: $KINDS)"
	;;
esac
