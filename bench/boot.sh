#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boot benchmark (not a test: nothing here passes or fails on timings).
# The cost of dm-verity at boot (docs/verity.md): the bootable sample converted twice from
# the same input, `--sign KEY --verity on` (every read of / checked through dm-verity,
# slot.env's signature checked in the initramfs) and `--verity off`, each booted RUNS
# times under QEMU (TCG, Debian's U-Boot; tests/qemu/lib.sh). Per boot: the guest's own
# clock from kernel start to multi-user.target (systemd's ActiveEnterTimestampMonotonic)
# and the host's wall time from QEMU start to a shell on the console. Prints the medians
# and the ratios verity on / off (goal <= 1.05). The first boot of each image also grows
# the data partition and creates the overlay: both images pay it, in the same order.
# Usage: bench/boot.sh   Env: RUNS (2), TMPDIR (/var/tmp), B (build).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
RUNS=${RUNS:-2}
export MTOOLS_SKIP_CHECK=1
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"
qemu_available || { echo "bench/boot.sh: qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)" >&2; exit 1; }
[ -x "$AIM" ] || { echo "bench/boot.sh: no $AIM (run make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/aimbench-boot.XXXXXX")
trap 'qemu_stop; rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT HUP

src=$("$top/tests/sample/mkbootable.sh" 2>"$tmp/mk.err" | tail -n 1)
[ -n "$src" ] && [ -f "$src" ] || { echo "bench/boot.sh: no bootable sample (tests/sample/mkbootable.sh):" >&2; tail -n 3 "$tmp/mk.err" >&2; exit 1; }
"$AIM" -q keygen --no-password -p "$tmp/k.pub" -s "$tmp/k.key" || exit 1
"$AIM" -q convert --sign "$tmp/k.key" --verity on "$src" "$tmp/on.img" || exit 1
"$AIM" -q convert --verity off "$src" "$tmp/off.img" || exit 1
for v in on off; do truncate -s +512M "$tmp/$v.img"; done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: >"$tmp/on.guest" ; : >"$tmp/off.guest"; : >"$tmp/on.wall"; : >"$tmp/off.wall"
for i in $(seq "$RUNS"); do
	for v in on off; do
		qemu_boot "$tmp/$v.img" "$tmp/$v-$i.log" || exit 1
		if ! qemu_wait_multiuser 600; then
			echo "bench/boot.sh: verity $v, run $i: no multi-user within 600 s" >&2
			tail -n 20 "$tmp/$v-$i.log" >&2
			exit 1
		fi
		wall=$(qemu_elapsed)
		g=$(qemu_guest_multiuser) || g=""
		if [ "$v" = on ]; then
			t=$(qemu_run '/usr/lib/armimmutable/aim-boot verity-table' 30)
			case "$t" in *" verity 1 "*) ;; *) echo "bench/boot.sh: verity on, but no verity table: $t" >&2; exit 1 ;; esac
		fi
		qemu_poweroff 120 || qemu_stop
		qemu_stop
		echo "verity $v, run $i: multi-user at ${g:-?} s (guest clock), shell at $wall s (wall)"
		[ -n "$g" ] && echo "$g" >>"$tmp/$v.guest"
		echo "$wall" >>"$tmp/$v.wall"
	done
done
gon=$(median <"$tmp/on.guest") goff=$(median <"$tmp/off.guest")
won=$(median <"$tmp/on.wall") woff=$(median <"$tmp/off.wall")
printf 'kernel start to multi-user (guest clock, median): verity on %6.1f s, off %6.1f s, ratio %.3f (goal <= 1.05)\n' \
	"$gon" "$goff" "$(echo "$gon $goff" | awk '{print $1 / $2}')"
printf 'QEMU start to a shell (wall, median):             verity on %6.1f s, off %6.1f s, ratio %.3f\n' \
	"$won" "$woff" "$(echo "$won $woff" | awk '{print $1 / $2}')"
