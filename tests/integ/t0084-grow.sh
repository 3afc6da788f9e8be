#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The first-boot growth of the data partition (lib/base/ptgrow.c, run by
# `aim-boot grow-table`) on image files: converted samples with an MBR (shape A) and a GPT
# (shape C: its backup header stays at the old end), enlarged. The growth itself, a
# second run that finds nothing to do, and a power cut at every write and fsync: after
# each cut the table reads (sfdisk and armimmutable's own parser) with the partitions
# unmoved and p4 either old or new, and a rerun without cuts ends with the very bytes of an
# uncut growth. Refusals: p4 not last, no table.
. "$(dirname "$0")/lib.sh"
AB="$AIM_TOP/$B/dev/x86_64/aim-boot"
[ -x "$AB" ] || skip_all "no $AB"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
cd "$TMP" || exit 1

GROW_MIB=512
# layout IMG: "start size" of p1..p4 in sectors, one line each (what must not move)
layout() { sfdisk -d "$1" 2>/dev/null | sed -n 's/.*start= *\([0-9]*\), size= *\([0-9]*\),.*/\1 \2/p'; }
p4() { layout "$1" | sed -n 4p; }
enlarge() { # enlarge SRC DST: a sparse copy GROW_MIB larger
	rm -f "$2" && cp --sparse=always "$1" "$2" && truncate -s +${GROW_MIB}M "$2"
}

grow_tests() { # grow_tests mbr|gpt CONVERTED.img
	t=$1 img=$2
	sectors=$(($(stat -c %s "$img") / 512 + GROW_MIB * 2048))
	old=$(layout "$img")
	old4=$(p4 "$img")
	start4=${old4% *}
	if [ "$t" = gpt ]; then new_end=$((sectors - 34)); else new_end=$((sectors - 1)); fi
	new4="$start4 $((new_end - start4 + 1))"

	enlarge "$img" ref.img
	out=$("$AB" grow-table ref.img 2>&1)
	case "$out" in "grow=grown:$t p4 "*) r=0 ;; *) r=1 ;; esac
	ok $r "$t: grown ($out)"
	is "$(p4 ref.img)" "$new4" "$t: p4 ends at the end of the medium"
	is "$(layout ref.img | head -n 3)" "$(printf '%s\n' "$old" | head -n 3)" \
		"$t: p1-p3 unmoved"
	check "$t: armimmutable reads the grown table" "$AIM" status --image ref.img
	if [ "$t" = gpt ]; then
		check "$t: sgdisk -v finds no problem" sh -c 'sgdisk -v ref.img | grep -q "No problems found"'
		is "$(sfdisk -d ref.img 2>&1 >/dev/null)" "" "$t: sfdisk -d warns about nothing"
	fi
	cp --sparse=always ref.img again.img
	is "$("$AB" grow-table again.img 2>&1)" "grow=full" "$t: a second run finds it full"
	check "$t: ... and writes nothing" cmp ref.img again.img

	enlarge "$img" w.img
	AIM_FAULT_COUNT="$TMP/count" "$AB" grow-table w.img >/dev/null 2>&1
	n=$(cat "$TMP/count" 2>/dev/null || echo 0)
	if [ "$t" = gpt ]; then want=8; else want=2; fi
	is "$n" "$want" "$t: the growth has $want fault points"
	bad_cut=0 bad_table=0 bad_rerun=0
	for at in $(seq 1 "$n"); do
		enlarge "$img" w.img
		AIM_FAULT_AT=$at "$AB" grow-table w.img >/dev/null 2>"$TMP/err"
		rc=$?
		if [ "$rc" != 75 ]; then
			bad_cut=$((bad_cut + 1))
			diag "cut at $at: exit $rc: $(head -c 200 "$TMP/err")"
		fi
		l=$(layout w.img)
		if [ "$(printf '%s\n' "$l" | head -n 3)" != "$(printf '%s\n' "$old" | head -n 3)" ] ||
			{ [ "$(p4 w.img)" != "$old4" ] && [ "$(p4 w.img)" != "$new4" ]; } ||
			! "$AIM" status --image w.img >/dev/null 2>"$TMP/err"; then
			bad_table=$((bad_table + 1))
			diag "cut at $at: table after the cut: $(printf '%s' "$l" | tr '\n' ,)" \
				"$(head -c 200 "$TMP/err")"
		fi
		if ! "$AB" grow-table w.img >/dev/null 2>"$TMP/err" || ! cmp -s w.img ref.img; then
			bad_rerun=$((bad_rerun + 1))
			diag "cut at $at: the rerun did not end with the grown table: $(p4 w.img)"
		fi
	done
	is "$bad_cut" 0 "$t: every one of the $n cuts ends the run there (exit 75)"
	is "$bad_table" 0 "$t: after every cut the table reads, p4 old or new, p1-p3 unmoved"
	is "$bad_rerun" 0 "$t: after every cut a rerun ends with the bytes of an uncut growth"
}

for shape in A C; do
	if ! "$SAMPLE/mkshape.sh" $shape in-$shape.img >mk.log 2>&1; then
		ok 1 "sample image $shape built"
		sed 's/^/#   /' mk.log | tail -n 5
		continue
	fi
	# --slot-size 64M: the small layout of before the medium policy (t0122); every cut
	# compares whole images
	check "convert shape $shape" "$AIM" -q convert --slot-b empty --slot-size 64M in-$shape.img \
		conv-$shape.img
	rm -f in-$shape.img
done
[ -f conv-A.img ] && grow_tests mbr conv-A.img
[ -f conv-C.img ] && grow_tests gpt conv-C.img

# ---- refusals: the table is left as it is ----
truncate -s 64M z.img
is "$("$AB" grow-table z.img 2>&1)" "grow=failed:no partition table signature" "no table: refused"
truncate -s 64M nl.img
printf 'label: dos\nstart=2048, size=8192, type=c\nstart=30720, size=8192, type=83\nstart=40960, size=8192, type=83\nstart=12288, size=8192, type=83\n' |
	sfdisk -q nl.img
truncate -s 256M nl.img
cp nl.img nl0.img
is "$("$AB" grow-table nl.img 2>&1)" "grow=not-last" "p4 not the last partition: not grown"
check "... and nothing written" cmp nl.img nl0.img
printf 'label: dos\nstart=2048, size=8192, type=83\nstart=10240, size=8192, type=83\n' |
	sfdisk -q nl.img
out=$("$AB" grow-table nl.img 2>&1)
is "$out" "grow=failed:MBR entry 4 is empty" "no p4: refused"
printf 'label: dos\nstart=2048, size=8192, type=c\nsize=8192, type=83\nsize=8192, type=83\nsize=8192, type=83\n' |
	sfdisk -q nl.img
# p2 starts inside p1 (entry 2's start LBA, bytes 470-473, becomes 4096)
printf '\000\020\000\000' | dd of=nl.img bs=1 seek=470 conv=notrunc status=none
cp nl.img nl0.img
out=$("$AB" grow-table nl.img 2>&1)
case "$out" in "grow=failed:partitions 1 and 2 overlap") r=0 ;; *) r=1 ;; esac
ok $r "overlapping partitions: refused by the table checks ($out)"
check "... and nothing written" cmp nl.img nl0.img
done_testing
