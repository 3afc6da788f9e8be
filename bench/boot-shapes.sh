#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot benchmark per boot path (not a test: nothing here passes or fails on timings): each
# bootable sample booted as it is and converted (default options: verity where the kernel
# has it), alternately, RUNS times, under QEMU TCG (tests/qemu/lib.sh):
#   A  boot.scr   the shape-A sample on Debian's U-Boot
#   H  extlinux   the same made an extlinux image (tests/sample/to-extlinux.sh), U-Boot
#   F  GRUB       the uefi-arm64 sample on AAVMF
#   G  GRUB       the uefi-x86 sample on OVMF (q35)
# Per boot: the host's wall time from QEMU start to multi-user.target on the console, and
# the guest's own clock from kernel start to multi-user.target. Prints the medians and the
# ratios converted / original per shape (the closing notes' table).
# Usage: bench/boot-shapes.sh   Env: RUNS (1), SHAPES ("A H F G"), TMPDIR (/var/tmp), B.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
RUNS=${RUNS:-1}
export MTOOLS_SKIP_CHECK=1
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"
[ -x "$AIM" ] || { echo "bench/boot-shapes.sh: no $AIM (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/aimbench-shapes.XXXXXX")
trap 'qemu_stop; rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT HUP

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# original SHAPE: the unconverted image's path in $tmp
original() {
	local src
	case $1 in
	A | H) src=$("$top/tests/sample/mkbootable.sh" 2>>"$tmp/mk.err" | tail -n 1) ;;
	F | G) src=$("$top/tests/sample/mkuefi.sh" --shape "$1" 2>>"$tmp/mk.err" | tail -n 1) ;;
	esac
	[ -n "$src" ] && [ -f "$src" ] || return 1
	if [ "$1" = H ]; then
		"$top/tests/sample/to-extlinux.sh" "$src" "$tmp/H-orig.img" || return 1
	else
		cp --sparse=always "$src" "$tmp/$1-orig.img" || return 1
	fi
}

# one IMG KIND RUN: a boot to multi-user; appends to $tmp/KIND.wall and .guest
one() {
	local g wall
	qemu_boot "$1" "$tmp/$2-$3.log" || return 1
	if ! qemu_wait_multiuser 900; then
		echo "bench/boot-shapes.sh: $2, run $3: no multi-user within 900 s" >&2
		tail -n 20 "$tmp/$2-$3.log" >&2
		qemu_stop
		return 1
	fi
	wall=$QEMU_WAIT_SECS
	g=$(qemu_guest_multiuser) || g=""
	qemu_poweroff 120 || qemu_stop
	qemu_stop
	echo "$2, run $3: multi-user at ${g:-?} s (guest clock), ${wall} s from QEMU start"
	echo "$wall" >>"$tmp/$2.wall"
	[ -n "$g" ] && echo "$g" >>"$tmp/$2.guest"
	return 0
}

for s in ${SHAPES:-A H F G}; do
	case $s in
	A | H) QEMU_FW=uboot ;;
	F) QEMU_FW=aavmf ;;
	G) QEMU_FW=ovmf ;;
	*) echo "bench/boot-shapes.sh: unknown shape $s" >&2; exit 2 ;;
	esac
	export QEMU_FW
	qemu_available || { echo "$s: QEMU or firmware for $QEMU_FW missing: skipped"; continue; }
	original "$s" || { echo "$s: no sample (tools/deps.sh --qemu; tests/sample/mk*.sh):" >&2; tail -n 3 "$tmp/mk.err" >&2; continue; }
	"$AIM" -q convert "$tmp/$s-orig.img" "$tmp/$s-conv.img" || exit 1
	# the same room to grow on first boot for both
	truncate -s +512M "$tmp/$s-orig.img" "$tmp/$s-conv.img"
	: >"$tmp/$s-orig.wall"; : >"$tmp/$s-conv.wall"; : >"$tmp/$s-orig.guest"; : >"$tmp/$s-conv.guest"
	for i in $(seq "$RUNS"); do
		one "$tmp/$s-orig.img" "$s-orig" "$i" || exit 1
		one "$tmp/$s-conv.img" "$s-conv" "$i" || exit 1
	done
	wo=$(median <"$tmp/$s-orig.wall") wc=$(median <"$tmp/$s-conv.wall")
	go=$(median <"$tmp/$s-orig.guest") gc=$(median <"$tmp/$s-conv.guest")
	printf '%s (%s): to multi-user from QEMU start: original %6.1f s, converted %6.1f s, ratio %.2f; kernel start to multi-user (guest): %6.1f s, %6.1f s, ratio %.2f\n' \
		"$s" "$QEMU_FW" "$wo" "$wc" "$(echo "$wc $wo" | awk '{print $1 / $2}')" \
		"${go:-0}" "${gc:-0}" "$(echo "${gc:-0} ${go:-1}" | awk '{print $1 / $2}')" | tee -a "$tmp/summary"
	rm -f "$tmp/$s-orig.img" "$tmp/$s-conv.img"
done
echo "---- summary (RUNS=$RUNS, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)) ----"
cat "$tmp/summary" 2>/dev/null
