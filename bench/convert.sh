#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Conversion benchmark (not a test: nothing here passes or fails on timings).
# Compares, on this machine and in this run, the whole `armimmutable convert` (reading
# the image, compressing, writing every partition) against the obvious alternative:
# loop-mount the same root partition and run mksquashfs on it with the same compressor,
# level and all cores. Prints, per image, medians of RUNS runs (page cache dropped before
# each): the time ratio, the squashfs size ratio and our peak resident memory; dm-verity's
# cost (convert --verity on vs --verity off, and vs mksquashfs + `veritysetup format` of
# the same squashfs, docs/verity.md); then the cost of 4 GiB of free space.
# Needs root (loop mount). Usage: bench/convert.sh [IMAGE...]   (default: the bootable
# Debian sample and its MODULES=most variant from tests/sample/mkmost.sh, whose /boot
# holds a ~45 MB initrd.img, a uInitrd file and a uInitrd link; both from the cache,
# built if missing). Env: RUNS (3), COMP (zstd), LEVEL (9).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
RUNS=${RUNS:-3}
COMP=${COMP:-zstd}
LEVEL=${LEVEL:-9}
NPROC=$(nproc)
[ "$(id -u)" = 0 ] || { echo "bench/convert.sh: needs root for the loop mount" >&2; exit 1; }
tmp=$(mktemp -d /var/tmp/aimbench.XXXXXX)
trap 'umount "$tmp/mnt" 2>/dev/null; rm -rf "$tmp"' EXIT

imgs=("$@")
if [ ${#imgs[@]} = 0 ]; then
	imgs=("$("$top/tests/sample/mkbootable.sh" | tail -n 1)"
	      "$("$top/tests/sample/mkmost.sh" | tail -n 1)")
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { # secs CMD...: wall seconds of one run
	local s e
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}

# /boot's contents go to the boot partition, not into the slot: leave them out of the
# baseline too, so that both squashfs images hold the same tree.
# (-e takes every argument after it as an exclude: it must come last.)
sq_flags=(-comp "$COMP" -processors "$NPROC" -noappend -quiet -no-progress)
[ "$COMP" = zstd ] || [ "$COMP" = gzip ] && sq_flags+=(-Xcompression-level "$LEVEL")
[ "$COMP" = xz ] && sq_flags+=(-Xdict-size 100%)
sq_flags+=(-wildcards -e 'boot/*')
echo "runs: $RUNS, compressor: $COMP level $LEVEL, threads: $NPROC"

bench_image() { # bench_image IMG: prints its lines; sets o (our median seconds)
	local img=$1 root_start="" n i b rss_kib our_sq base_sq ir
	local base=() ours=() rss=() noverity=() vs=() bv bvs nv
	echo
	echo "image: $img ($(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) allocated)"
	for n in $(sfdisk -J "$img" | jq -r '.partitiontable.partitions[].start'); do
		[ "$(blkid -p -O $((n * 512)) -s LABEL -o value "$img")" = armbi_root ] && root_start=$n
	done
	ir=$(debugfs -R 'ls -l /boot' "$img?offset=$((root_start * 512))" 2>/dev/null |
		awk '$NF ~ /^(uInitrd|initrd\.img)/ {printf "%s%s(%s) ", s, $NF, $6; s=""}')
	[ -z "$ir" ] || echo "initramfs files: $ir"
	mount -o ro,loop,noload,offset=$((root_start * 512)) "$img" "$tmp/mnt"
	for i in $(seq "$RUNS"); do
		sync; echo 3 >/proc/sys/vm/drop_caches
		base+=("$(secs mksquashfs "$tmp/mnt" "$tmp/base.sqfs" "${sq_flags[@]}")")
		# the baseline's verity tree on its squashfs (appended, as convert places it)
		cp "$tmp/base.sqfs" "$tmp/base-v.sqfs"
		bv=$(stat -c %s "$tmp/base-v.sqfs")
		bv=$(( (bv + 4095) / 4096 * 4096 ))
		truncate -s "$bv" "$tmp/base-v.sqfs"
		sync; echo 3 >/proc/sys/vm/drop_caches
		vs+=("$(secs veritysetup format --no-superblock --hash-offset="$bv" \
			--salt=0000000000000000000000000000000000000000000000000000000000000000 \
			"$tmp/base-v.sqfs" "$tmp/base-v.sqfs")")
		sync; echo 3 >/proc/sys/vm/drop_caches
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$AIM" -q convert -f -c "$COMP" -l "$LEVEL" \
			--verity on "$img" "$tmp/out.img" >/dev/null 2>&1
		ours+=("$(tail -n 1 "$tmp/time" | cut -d' ' -f1)")
		rss+=("$(tail -n 1 "$tmp/time" | cut -d' ' -f2)")
		sync; echo 3 >/proc/sys/vm/drop_caches
		noverity+=("$(secs "$AIM" -q convert -f -c "$COMP" -l "$LEVEL" --verity off "$img" \
			"$tmp/out-nv.img")")
	done
	b=$(printf '%s\n' "${base[@]}" | median)
	o=$(printf '%s\n' "${ours[@]}" | median)
	rss_kib=$(printf '%s\n' "${rss[@]}" | median)
	nv=$(printf '%s\n' "${noverity[@]}" | median)
	bvs=$(printf '%s\n' "${vs[@]}" | median)
	n=$(sfdisk -J "$tmp/out.img" | jq '.partitiontable.partitions[1].start')
	our_sq=$(unsquashfs -s -o $((n * 512)) "$tmp/out.img" 2>/dev/null |
		sed -n 's/^Filesystem size \([0-9]*\) bytes.*/\1/p')
	base_sq=$(stat -c %s "$tmp/base.sqfs")
	umount "$tmp/mnt"

	printf 'mksquashfs alone (median):      %8.2f s   squashfs %d bytes\n' "$b" "$base_sq"
	printf 'armimmutable convert (median): %8.2f s   squashfs %d bytes\n' "$o" "$our_sq"
	printf 'time ratio convert/mksquashfs: %8.3f   (goal <= 0.6)\n' "$(echo "$o / $b" | bc -l)"
	printf 'size ratio ours/mksquashfs:    %8.4f   (goal <= 1.01)\n' "$(echo "$our_sq / $base_sq" | bc -l)"
	printf 'peak resident memory (median): %8.1f MiB (goal < 64)\n' "$(echo "$rss_kib / 1024" | bc -l)"
	printf 'convert --verity off (median): %8.2f s\n' "$nv"
	printf 'veritysetup format (median):   %8.2f s   (on the mksquashfs output)\n' "$bvs"
	printf 'time ratio verity on/off:      %8.3f   (goal <= 1.05)\n' "$(echo "$o / $nv" | bc -l)"
	printf 'time ratio convert/(mksquashfs+veritysetup): %8.3f\n' \
		"$(echo "$o / ($b + $bvs)" | bc -l)"
	printf 'runs: mksquashfs %s; veritysetup %s; convert %s; --verity off %s; convert max RSS KiB %s\n' \
		"${base[*]}" "${vs[*]}" "${ours[*]}" "${noverity[*]}" "${rss[*]}"
}

mkdir -p "$tmp/mnt"
for im in "${imgs[@]}"; do
	bench_image "$im"
	[ -n "${first_o:-}" ] || { first_o=$o; img=$im; }
done
o=$first_o
echo

# Cost of free space: the same root in an image 4 GiB larger (the root filesystem
# is not grown, so this measures only the extra empty image size). Then a root with
# a 4 GiB sparse file.
cp --sparse=always "$img" "$tmp/big.img"
truncate -s +4G "$tmp/big.img"
t_big=$(secs "$AIM" -q convert -f -c "$COMP" -l "$LEVEL" "$tmp/big.img" "$tmp/out.img")
printf 'image with 4 GiB more free space: %.2f s (vs %.2f s)\n' "$t_big" "$o"
rm -f "$tmp/big.img"
"$top/tests/sample/mkshape.sh" B "$tmp/s1.img" --size-mib 256 --rootfs builtin >/dev/null 2>&1
cp --sparse=always "$tmp/s1.img" "$tmp/s2.img"
rs=$(($(sfdisk -J "$tmp/s2.img" | jq '.partitiontable.partitions[0].start') * 512))
truncate -s 4G "$tmp/sparse.bin"
debugfs -w -R "write $tmp/sparse.bin /sparse-4g.bin" "$tmp/s2.img?offset=$rs" >/dev/null 2>&1
t1=$(secs "$AIM" -q convert -f "$tmp/s1.img" "$tmp/o1.img")
t2=$(secs "$AIM" -q convert -f "$tmp/s2.img" "$tmp/o2.img")
printf 'small root: %.2f s; same root plus a 4 GiB sparse file: %.2f s\n' "$t1" "$t2"
