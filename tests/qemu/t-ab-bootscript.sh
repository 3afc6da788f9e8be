#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The generated A/B boot script in real U-Boot (Debian's qemu_arm64, QEMU virt): a FAT
# partition 1 with boot.scr (aim_bootscript_generate + aim_bootscript_compile around a
# tiny body that prints what it got and loads ${prefix}marker.txt), slot-a/ and slot-b/,
# and state copies. Checks: no state -> a; the newer copy wins (also 10 vs 9); a copy
# without its aim_crc line (torn) is skipped; trial boots counted in bootcount.txt by
# fatwrite; tries used up -> fallback to the active slot; the corruption rule (both slots
# good: unconfirmed boots of the active slot counted, the 4th boots the other); the
# no-count variant.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
. "$top/tests/qemu/lib.sh"

qemu_available || skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"
[ -x "$top/$B/tests/aim-mkscr" ] || skip_all "no $B/tests/aim-mkscr (make check builds it)"
for c in sfdisk mkfs.vfat mcopy mtype gzip; do
	command -v $c >/dev/null || skip_all "$c missing"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-ab.XXXXXX")
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP


cat >"$tmp/body.cmd" <<'EOS'
echo "AIMTEST slot=${aim_slot} mode=${aim_mode} prefix=${prefix} bc=${aim_bc}"
if load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} ${prefix}marker.txt; then env import -t ${kernel_addr_r} ${filesize}; echo "AIMTEST marker=${marker}"; fi
echo "AIMTEST-END"
poweroff
EOS
"$top/$B/tests/aim-mkscr" "$tmp/body.cmd" "$tmp/count.scr" &&
	"$top/$B/tests/aim-mkscr" "$tmp/body.cmd" "$tmp/nocount.scr" no-count
ok $? "boot scripts generated and compiled (aim_bootscript_generate, $B/tests/aim-mkscr)"
[ -s "$tmp/count.scr" ] || { done_testing; exit 1; }

D=$tmp/disk.img
M="-i $D@@1M"
mkdisk() { # mkdisk SCRIPT
	rm -f "$D"
	truncate -s 64M "$D" && echo 'start=2048, type=c' | sfdisk -q "$D" &&
		mkfs.vfat -n ARMBI_BOOT --offset 2048 "$D" 64512 >/dev/null &&
		mmd $M ::/slot-a ::/slot-b &&
		echo marker=A >"$tmp/ma" && echo marker=B >"$tmp/mb" &&
		mcopy $M "$tmp/ma" ::/slot-a/marker.txt && mcopy $M "$tmp/mb" ::/slot-b/marker.txt &&
		mcopy $M "$1" ::/boot.scr
}
state() { # state N SEQ ACTIVE TRY TRIES_B [torn|whole [GOOD_B]]
	body=$(printf 'aim_seq=%s\naim_active=%s\naim_try=%s\naim_tries_a=0\naim_tries_b=%s\naim_good_a=1\naim_good_b=%s\naim_reason=\n' "$2" "$3" "$4" "$5" "${7:-0}")
	crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
	if [ "${6:-}" = torn ]; then printf '%s\n' "$body"; else printf '%s\naim_crc=%s\n' "$body" "$crc"; fi \
		>"$tmp/state"
	mcopy -o $M "$tmp/state" "::/state-$1.txt"
}
boot() { # boot: one U-Boot run; the AIMTEST lines end up in $tmp/got
	qemu_boot "$D" "$tmp/log" && qemu_wait 'AIMTEST-END' 90
	r=$?
	qemu_stop
	qemu_text | grep -E '^(AIMTEST|armimmutable)' >"$tmp/got"
	return $r
}
expect() { # expect SLOT MODE BC MARKER DESCRIPTION
	grep -q "^AIMTEST slot=$1 mode=$2 prefix=/slot-$1/ bc=$3\$" "$tmp/got" &&
		grep -q "^AIMTEST marker=$4\$" "$tmp/got"
	r=$?
	ok $r "$5"
	[ $r = 0 ] || sed 's/^/#   /' "$tmp/got"
}

mkdisk "$tmp/count.scr"
boot
ok $? "U-Boot ran the script"
expect a good 0 A "no state: slot a, files from /slot-a/"
grep -q 'no slot state' "$tmp/got"
ok $? "no state: says so"

state 1 1 a "" 0
state 2 2 b "" 0
boot && expect b good 1 B "newer copy 2 (active b) wins (a is good too: the boot is counted)"
state 1 10 a "" 0
state 2 9 b "" 0
boot && expect a good 0 A "seq 10 beats seq 9"
state 1 11 a "" 0
state 2 12 b "" 0 torn
boot && expect a good 0 A "copy without aim_crc (torn) skipped"

state 1 20 a "" 0
state 2 21 a b 2
boot && expect b trial 1 B "trial: boots b, count 1"
mtype $M ::/bootcount.txt | tr -d '\0' >"$tmp/bc"
grep -qx 'aim_bc=1' "$tmp/bc" && grep -qx 'aim_bc_seq=21' "$tmp/bc"
r=$?
ok $r "fatwrite wrote bootcount.txt (aim_bc=1, aim_bc_seq=21)"
[ $r = 0 ] || sed 's/^/#   /' "$tmp/bc"
boot && expect b trial 2 B "second trial boot: count 2"
boot && expect a fallback 2 A "tries used up: back to a"
grep -q 'slot b has no tries left (2 of 2), booting a' "$tmp/got"
ok $? "fallback says why"
state 2 22 a b 2
boot && expect b trial 1 B "a new seq resets U-Boot's count"

# the corruption rule: both slots good, a active, no trial: every boot of a is counted
# (mark-good's new seq resets it); after 3 that never reached boot-complete, b boots
state 1 40 a "" 0 whole 1
state 2 39 a "" 0 whole 1
boot && expect a good 1 A "both slots good: the boot of the active slot is counted (1)"
boot && expect a good 2 A "second unconfirmed boot of a: count 2"
boot && expect a good 3 A "third unconfirmed boot of a: count 3"
boot && expect b fallback 3 B "active slot a failed 3 boots in a row: U-Boot boots b"
grep -q 'slot a failed 3 boots in a row before boot-complete, booting b' "$tmp/got"
ok $? "the fallback from the active slot says why"
state 1 41 a "" 0 whole 1
boot && expect a good 1 A "a new seq (mark-good) resets the count of the active slot"
state 1 42 a "" 0 whole 0
state 2 41 a "" 0 whole 0
mdel $M ::/bootcount.txt 2>/dev/null
boot && expect a good 0 A "the other slot not good: the active slot is not counted"

mkdisk "$tmp/nocount.scr"
state 1 30 a b 3
boot && expect b trial 0 B "no-count script: trial without bootcount"
mtype $M ::/bootcount.txt >/dev/null 2>&1
[ $? != 0 ]
ok $? "no-count script writes no bootcount.txt"
done_testing
