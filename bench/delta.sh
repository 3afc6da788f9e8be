#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Delta-update benchmark (docs/delta.md; not a test: nothing passes or fails here).
# For the three version pairs of the bootable sample (tests/sample/mkbootable.sh: the base
# sample as v1; --variant s1, s2, s3 as v2, cached like the sample) it makes signed bundles
# with each squashfs layout and prints the bytes a device must fetch to go from v1 to v2:
#   xdelta3      xdelta3 -e -9 of the two squashfs images (a lower bound that needs the
#                old image on the server)
#   casync-N     casync make --chunk-size=N of each squashfs as a blob: the compressed
#                chunks of v2 not in v1's store, plus v2's .caibx index (packed layout only)
#   4k           fixed 4 KiB blocks of v2 whose SHA-256 is not that of a block of v1
#                (RAUC's block-hash-index), plus the index: 32 bytes per 4 KiB block (the
#                level-0 hashes of the verity tree)
#   sqfs-block   squashfs data and fragment blocks of v2 whose SHA-256 is not that of a
#                block of v1, position-independent, plus the tables (fetched whole) and the
#                index: 44 bytes per block (offset, size, SHA-256)
# Every method also fetches the bundle's header, manifest and signature, and the boot
# payloads by 4 KiB blocks (missing blocks plus 32 bytes of index per block); "% bundle" is
# that total over the size of v2's bundle, "x xdelta3" the squashfs part over xdelta3 of the
# packed layout. Per layout: the squashfs size against packed, and the bundle create time
# (median of RUNS, v1).
# Usage: bench/delta.sh   Env: LAYOUTS ("packed delta"; any --sqfs-layout value),
# CASYNC_SIZES ("4096 16384 65536"), RUNS (3). Needs xdelta3 and casync (Debian packages;
# a method whose tool is missing is skipped with a note), and root to build the pairs the
# first time (about a minute each on top of the sample's rootfs cache).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
LAYOUTS=${LAYOUTS:-"packed delta"}
CASYNC_SIZES=${CASYNC_SIZES:-"4096 16384 65536"}
RUNS=${RUNS:-3}
tmp=$(mktemp -d /var/tmp/aimdelta.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1718236800

# Copies (sparse) out of the cache: it keeps only the 8 newest images, and other runs may
# push one of ours out while this runs.
mk="$top/tests/sample/mkbootable.sh"
i=""
img=""
img_base="$tmp/base.img"
"$mk" --out "$img_base" >/dev/null
for p in s1 s2 s3; do
	eval "img_$p=\$tmp/$p.img"
	"$mk" --variant $p --version 25.8.1-sample --out "$tmp/$p.img" >/dev/null
done
echo "bench/delta.sh: pairs (v1: the bootable sample, $(sed -n 's/^IMAGE_KEY=//p' "$img_base.info")):"
for p in s1 s2 s3; do
	eval "i=\$img_$p"
	echo "  $p: $(sed -n 's/^IMAGE_KEY=//p' "$i.info"): $(sed -n 's/^VARIANT_PKGS=//p' "$i.info" | tr -d '"')"
done

# shellcheck disable=SC2046
cc -O2 -Wall -o "$tmp/delta-blocks" "$top/bench/delta-blocks.c" \
	$(pkg-config --cflags --libs libsquashfs1) -lcrypto # word splitting wanted
DB="$tmp/delta-blocks"
have_xdelta=1
have_casync=1
command -v xdelta3 >/dev/null || { have_xdelta=0; echo "note: no xdelta3 (apt-get install xdelta3): skipped"; }
command -v casync >/dev/null || { have_casync=0; echo "note: no casync (apt-get install casync): skipped"; }
"$AIM" -q keygen -W -p "$tmp/k.pub" -s "$tmp/k.key" >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p; s/^$1=\([0-9]*\).*/\1/p" | awk 'NR == 1'; }

# split BUNDLE DIR: DIR/sqfs (the squashfs, without the verity tree), DIR/boot (the boot
# payloads as they lie in the bundle, 4 KiB aligned), DIR/head (bytes before the payloads).
split() {
	local b=$1 d=$2 m s a used rsize
	m=$(od -An -tu4 -j16 -N4 "$b" | tr -d ' ')
	s=$(od -An -tu4 -j20 -N4 "$b" | tr -d ' ')
	a=$(( (64 + m + s + 4095) / 4096 * 4096 ))
	# the rootfs is the first payload (offset 0)
	rsize=$(dd if="$b" bs=1 skip=64 count="$m" status=none | awk -F= '
		/^\[payload\]/ { p++ } p == 1 && $1 == "size" && !r { r = $2 } END { print r }')
	used=$(od -An -tu8 -j$((a + 40)) -N8 "$b" | tr -d ' ')
	mkdir -p "$d"
	echo "$a" >"$d/head"
	dd if="$b" of="$d/sqfs" bs=4096 skip=$((a / 4096)) count=$(( (used + 4095) / 4096 )) \
		status=none
	dd if="$b" of="$d/boot" bs=4096 skip=$(( (a + (rsize + 4095) / 4096 * 4096) / 4096 )) \
		status=none
}

# casync_fetch OLD NEW SIZE: compressed chunks of NEW missing from OLD's store + NEW's index
casync_fetch() {
	local o=$1 n=$2 cs=$3 miss idx
	rm -rf "$tmp/st-o" "$tmp/st-n"
	casync make --store="$tmp/st-o" --chunk-size="$cs" "$tmp/o.caibx" "$o" >/dev/null
	casync make --store="$tmp/st-n" --chunk-size="$cs" "$tmp/n.caibx" "$n" >/dev/null
	miss=$(cd "$tmp/st-n" && find . -name '*.cacnk' | while read -r f; do
		[ -e "$tmp/st-o/$f" ] || stat -c %s "$f"; done | awk '{s += $1} END {print s + 0}')
	idx=$(stat -c %s "$tmp/n.caibx")
	rm -rf "$tmp/st-o" "$tmp/st-n"
	echo $((miss + idx))
}

declare -A xref
row() { # row PAIR METHOD SQFS_BYTES EXTRA_BYTES BUNDLE_SIZE
	local pct ratio
	pct=$(echo "100 * ($3 + $4) / $5" | bc -l)
	ratio=$(echo "$3 / ${xref[$1]}" | bc -l)
	printf '  %-3s %-18s %12d B  %6.2f %% bundle  %5.2f x xdelta3\n' "$1" "$2" "$(($3 + $4))" \
		"$pct" "$ratio"
}

declare -A psize
for layout in $LAYOUTS; do
	ld="$tmp/$layout"
	mkdir -p "$ld"
	: >"$ld/times"
	for v in base s1 s2 s3; do
		eval "img=\$img_$v"
		n=1
		[ "$v" = base ] && n=$RUNS
		for _ in $(seq 1 "$n"); do
			s0=$(date +%s.%N)
			"$AIM" -q bundle create -f -k "$tmp/k.key" -o "$ld/$v.aimb" \
				--sqfs-layout "$layout" --from-image "$img"
			e0=$(date +%s.%N)
			[ "$v" = base ] && echo "$e0 - $s0" | bc >>"$ld/times"
		done
		split "$ld/$v.aimb" "$ld/$v"
		stat -c %s "$ld/$v.aimb" >"$ld/$v/bundle"
		rm -f "$ld/$v.aimb"
	done
	psize[$layout]=$(stat -c %s "$ld/base/sqfs")
	over=$(echo "100 * ${psize[$layout]} / ${psize[${LAYOUTS%% *}]} - 100" | bc -l)
	printf '\nlayout %s: squashfs %d B (%+.2f %% vs %s), bundle create %.2f s (median of %d)\n' \
		"$layout" "${psize[$layout]}" "$over" "${LAYOUTS%% *}" \
		"$(median <"$ld/times")" "$RUNS"
	for p in s1 s2 s3; do
		o="$ld/base" nw="$ld/$p"
		bsize=$(cat "$nw/bundle")
		boot=$("$DB" --raw "$o/boot" "$nw/boot")
		extra=$(( $(cat "$nw/head") + $(echo "$boot" | field 4k_missing) +
			$(stat -c %s "$nw/boot") / 4096 * 32 ))
		xd=0
		if [ $have_xdelta = 1 ]; then
			xd=$(xdelta3 -e -9 -f -s "$o/sqfs" "$nw/sqfs" /dev/stdout | wc -c)
		fi
		[ -n "${xref[$p]:-}" ] || xref[$p]=${xd:-1}
		[ "${xref[$p]}" != 0 ] || xref[$p]=1
		[ $have_xdelta = 0 ] || row "$p" xdelta3 "$xd" "$extra" "$bsize"
		if [ $have_casync = 1 ] && [ "$layout" = "${LAYOUTS%% *}" ]; then
			for cs in $CASYNC_SIZES; do
				row "$p" "casync-$((cs / 1024))k" "$(casync_fetch "$o/sqfs" "$nw/sqfs" "$cs")" \
					"$extra" "$bsize"
			done
		fi
		r=$("$DB" "$o/sqfs" "$nw/sqfs")
		sz=$(echo "$r" | field size)
		row "$p" 4k "$(( $(echo "$r" | field 4k_missing) + sz / 4096 * 32 ))" "$extra" "$bsize"
		row "$p" sqfs-block "$(( $(echo "$r" | field sqfs_missing) +
			$(echo "$r" | field sqfs_pieces) * 44 ))" "$extra" "$bsize"
		printf '      (%s: boot payloads %d of %d B by 4 KiB blocks, bundle %d B)\n' "$p" \
			"$(echo "$boot" | field 4k_missing)" "$(stat -c %s "$nw/boot")" "$bsize"
	done
done
