#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Compressed output benchmark (not a test: nothing here passes or fails on timings).
# Compares `armimmutable convert IN out.img.xz` (the raw image assembled in a temporary
# file, then liblzma's multi-threaded encoder, docs/convert.md "Compressed output") with
# what a user would do otherwise: `convert IN out.img` then `xz -T0 -LEVEL -k` of the raw
# image, the same preset; and the same for zstd (`zstd -T0 -N`). Prints per format the
# medians of RUNS runs of both (page cache dropped before each), their ratio (goal <= 1.0)
# and the sizes. Usage: bench/compress.sh [IMAGE]   (default: the bootable sample, from the
# cache, built if missing). Env: RUNS (3), XZ_LEVEL (6), ZSTD_LEVEL (3).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
RUNS=${RUNS:-3}
XZ_LEVEL=${XZ_LEVEL:-6}
ZSTD_LEVEL=${ZSTD_LEVEL:-3}
img=${1:-$("$top/tests/sample/mkbootable.sh" | tail -n 1)}
tmp=$(mktemp -d /var/tmp/aimbench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1718236800

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
drop() { sync; [ "$(id -u)" = 0 ] && echo 3 >/proc/sys/vm/drop_caches || true; }
secs() { # secs CMD...: wall seconds of one run
	local s e
	drop
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}
direct() { rm -f "$tmp"/d.img.*; "$AIM" -q convert --compress-level "$2" "$img" "$tmp/d.img.$1"; }
twostep() {
	rm -f "$tmp"/r.img "$tmp"/r.img.*
	"$AIM" -q convert "$img" "$tmp/r.img" || return 1
	if [ "$1" = xz ]; then xz -T0 "-$2" -k "$tmp/r.img"; else zstd -q -T0 "-$2" "$tmp/r.img"; fi
}

echo "bench/compress.sh: $img, $(nproc) CPUs, $RUNS runs each, medians"
for f in xz zst; do
	lvl=$XZ_LEVEL
	[ $f = zst ] && lvl=$ZSTD_LEVEL
	: >"$tmp/t.d"
	: >"$tmp/t.t"
	for _ in $(seq 1 "$RUNS"); do
		secs direct $f "$lvl" >>"$tmp/t.d"
		secs twostep $f "$lvl" >>"$tmp/t.t"
	done
	d=$(median <"$tmp/t.d")
	t=$(median <"$tmp/t.t")
	sd=$(stat -c %s "$tmp/d.img.$f")
	st=$(stat -c %s "$tmp/r.img.$f")
	printf '%-4s level %-2s convert to out.img.%s %7.2f s  convert + %s -T0 %7.2f s  ratio %.3f\n' \
		$f "$lvl" $f "$d" "$([ $f = xz ] && echo xz || echo zstd)" "$t" "$(echo "$d / $t" | bc -l)"
	printf '     sizes: direct %d B, two steps %d B (raw image %d B)\n' "$sd" "$st" \
		"$(stat -c %s "$tmp/r.img")"
done
