#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# convert IN OUT.img.xz / OUT.img.zst (docs/convert.md, "Compressed output"), as an
# ordinary user: the compressed file passes xz -t / zstd -t, decompresses to the bytes of
# the raw conversion, OUT.sha256 checks with sha256sum -c, the xz file has several blocks;
# bad names, levels and an unwritable directory fail and leave nothing behind.
. "$(dirname "$0")/lib.sh"

in="$TMP/in.img"
"$SAMPLE/mkshape.sh" A "$in" --size-mib 160 >/dev/null 2>&1
chmod 0644 "$in"
mkdir "$TMP/o"
chmod 0777 "$TMP/o"
sum=$(sha256sum <"$in")
export SOURCE_DATE_EPOCH=1718236800
leftovers() { find "$1" -mindepth 1 | wc -l; }

as_user "$AIM" -q convert "$in" "$TMP/o/raw.img"
is $? 0 "raw conversion"

# xz: level 1 keeps the test fast; the block size still gives several blocks.
as_user "$AIM" -q convert --compress-level 1 -j 2 "$in" "$TMP/o/out.img.xz" 2>"$TMP/err"
is $? 0 "converts to .img.xz"
sed 's/^/#   /' "$TMP/err"
check "xz -t accepts it" xz -t "$TMP/o/out.img.xz"
check "xz -dc gives the bytes of the raw conversion" sh -c "xz -dc '$TMP/o/out.img.xz' | cmp - '$TMP/o/raw.img'"
check "out.img.xz.sha256 checks (sha256sum -c)" sh -c "cd '$TMP/o' && sha256sum -c --status out.img.xz.sha256"
is "$(cut -d' ' -f2- "$TMP/o/out.img.xz.sha256")" " out.img.xz" "the .sha256 line is '<hex>  out.img.xz'"
blocks=$(xz --robot -lvv "$TMP/o/out.img.xz" | awk '$1 == "totals" { print $3 }')
check "the xz file has more than one block ($blocks)" test "${blocks:-0}" -gt 1
is "$(sha256sum <"$in")" "$sum" "input unchanged"

as_user "$AIM" -q convert "$in" "$TMP/o/out.img.zst"
is $? 0 "converts to .img.zst"
check "zstd -t accepts it" zstd -q -t "$TMP/o/out.img.zst"
check "zstd -dc gives the bytes of the raw conversion" sh -c "zstd -q -dc '$TMP/o/out.img.zst' | cmp - '$TMP/o/raw.img'"
check "out.img.zst.sha256 checks" sh -c "cd '$TMP/o' && sha256sum -c --status out.img.zst.sha256"
as_user "$AIM" -q convert -j 1 "$in" "$TMP/o/j1.img.zst"
is "$(cut -d' ' -f1 "$TMP/o/j1.img.zst.sha256")" "$(cut -d' ' -f1 "$TMP/o/out.img.zst.sha256")" \
	"zstd output is the same with -j 1"
rm -f "$TMP/o/j1.img.zst"*
check "zstd content size recorded in the frame" sh -c "zstd -lv '$TMP/o/out.img.zst' 2>&1 | grep -q 'Decompressed Size'"

# The same bytes again: deterministic; an existing .sha256 alone blocks without --force.
as_user "$AIM" -q convert -f --compress-level 1 "$in" "$TMP/o/out.img.xz"
check "xz output is deterministic" sh -c "cd '$TMP/o' && sha256sum -c --status out.img.xz.sha256"
rm -f "$TMP/o/out.img.zst"
as_user "$AIM" -q convert "$in" "$TMP/o/out.img.zst" 2>"$TMP/err"
is $? 1 "an existing OUT.sha256 without --force: exit 1"
check "the message names it" grep -q "out.img.zst.sha256 exists" "$TMP/err"
check "and no image is left" test ! -e "$TMP/o/out.img.zst"
rm -f "$TMP/o/"*.zst*

# Names and levels: usage errors (exit 2), nothing created.
n0=$(leftovers "$TMP/o")
for bad in out.img.gz out.img.bz2 out.img.lz4 out.img.zstd; do
	as_user "$AIM" -q convert "$in" "$TMP/o/$bad" 2>"$TMP/err"
	is $? 2 "$bad: exit 2"
	check "$bad: says only .xz or .zst compress" grep -q "xz or .zst" "$TMP/err"
done
as_user "$AIM" -q convert --compress-level 3 "$in" "$TMP/o/x.img" 2>"$TMP/err"
is $? 2 "--compress-level with a raw OUTPUT: exit 2"
as_user "$AIM" -q convert --compress-level 12 "$in" "$TMP/o/x.img.xz" 2>"$TMP/err"
is $? 2 "--compress-level 12 for xz: exit 2"
check "names the range" grep -q "0..9" "$TMP/err"
as_user "$AIM" -q convert --dry-run "$in" "$TMP/o/x.img.xz" >"$TMP/plan"
is $? 0 "--dry-run with .img.xz prints the plan"
is "$(leftovers "$TMP/o")" "$n0" "no file created by any of these"

# An unwritable directory and an interrupt: nothing left.
mkdir "$TMP/ro"
chmod 0555 "$TMP/ro"
as_user "$AIM" -q convert "$in" "$TMP/ro/out.img.xz" 2>"$TMP/err"
is $? 1 "unwritable directory: exit 1"
is "$(leftovers "$TMP/ro")" 0 "unwritable directory: nothing left"
$AS_USER "$AIM" -q convert -l 22 --compress-level 9 "$in" "$TMP/o/int.img.xz" &
pid=$!
for _ in $(seq 1 100); do
	[ -e "$TMP/o/int.img.xz.tmp-$pid" ] && break
	sleep 0.1
done
sleep 2
kill -INT "$pid"
wait "$pid"
is $? 1 "interrupted: exit 1"
is "$(find "$TMP/o" -name 'int.img*' | wc -l)" 0 "interrupted: no int.img.xz, .sha256 or temporary left"
done_testing
