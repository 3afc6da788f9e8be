#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Factory reset and kiosk mode of converted images, on real U-Boot in QEMU:
#  (a) persistent image (/home declared persistent): boot 1 writes files to /etc (overlay)
#      and /home (persistent path); the host drops /factory-reset on the boot partition;
#      boot 2: both files are gone, boot.env says factory_reset=done:2, nothing left in
#      the trash, the system itself intact; the flag is gone from the boot partition;
#  (b) kiosk image (--overlay=tmpfs --persist=/home): a file written to /etc is gone after
#      a reboot, a file in /home survives.
# Four boots in all, every wait time-bound.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

qemu_available || tap_skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"
command -v mtype >/dev/null 2>&1 || tap_skip_all "mtools missing"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-reset.XXXXXX")
chmod 0777 "$tmp"
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

src=$("$top/tests/sample/mkbootable.sh" 2>"$tmp/mk.err" | tail -n 1) || src=""
if [ -z "$src" ] && [ "$(id -u)" != 0 ]; then
	tap_skip_all "no cached sample and building it needs root"
fi
[ -n "$src" ] && [ -f "$src" ]
tap_ok $? "sample image available"
[ -f "$src" ] || { cat "$tmp/mk.err" >&2; tap_done; exit 1; }
cp --sparse=always "$src" "$tmp/sample.img"
chmod 0644 "$tmp/sample.img"
IN=$tmp/sample.img

convert() { # convert OUT [OPTIONS...]: as an ordinary user when we are root
	local _out
	_out=$1
	shift
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			"$AIM" -q convert "$@" "$IN" "$_out" 2>"$tmp/conv.err"
	else
		"$AIM" -q convert "$@" "$IN" "$_out" 2>"$tmp/conv.err"
	fi
}

# mtools on the boot partition (p1) of image $1
boot_off() { sfdisk -J "$1" | jq -r '.partitiontable.partitions[0].start * 512'; }
mt() { # mt IMG CMD ARGS...: CMD is an mtools command; "::" paths are on p1
	local _img _cmd
	_img=$1
	_cmd=$2
	shift 2
	MTOOLS_SKIP_CHECK=1 "$_cmd" -i "$_img@@$(boot_off "$_img")" "$@"
}

# state_record SEQ GOOD_A: a valid slot state copy (docs/boot.md), slot a active.
state_record() {
	local _body _crc
	_body=$(printf 'aim_seq=%s\naim_active=a\naim_try=\naim_tries_a=0\naim_tries_b=0\naim_good_a=%s\naim_good_b=1\naim_reason=\n' "$1" "$2")
	_crc=$(printf '%s\n' "$_body" | gzip -c | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
	printf '%s\naim_crc=%s\n' "$_body" "$_crc"
}

# newest_state IMG: the newest valid-looking copy's lines (highest aim_seq)
newest_state() {
	local _a _b _sa _sb
	_a=$(mt "$1" mtype ::state-1.txt 2>/dev/null | tr -d '\r')
	_b=$(mt "$1" mtype ::state-2.txt 2>/dev/null | tr -d '\r')
	_sa=$(printf '%s\n' "$_a" | sed -n 's/^aim_seq=//p')
	_sb=$(printf '%s\n' "$_b" | sed -n 's/^aim_seq=//p')
	if [ "${_sb:-0}" -gt "${_sa:-0}" ]; then printf '%s\n' "$_b"; else printf '%s\n' "$_a"; fi
}

boot_to_shell() { # boot_to_shell IMG LOG WHAT
	local _rc _t0
	_t0=$(date +%s)
	qemu_boot "$1" "$2"
	qemu_wait_multiuser 600
	_rc=$?
	tap_ok $_rc "$3: systemd reached multi-user.target ($(( $(date +%s) - _t0 )) s host time)"
	[ $_rc = 0 ]
}

fail_tail() { # the console log tail when something failed so far
	[ $TAP_FAIL = 0 ] && return 0
	tap_diag "console log tail ($1):"
	tail -n 50 "$1" | tr -d '\r' | sed 's/^/#   /'
}

# ---- persistent image: files written, then a factory reset ----
convert "$tmp/p.img" --persist=/home
tap_ok $? "convert (persistent, --persist=/home)"
[ -f "$tmp/p.img" ] || { tap_diag "$(cat "$tmp/conv.err")"; tap_done; exit 1; }
if boot_to_shell "$tmp/p.img" "$tmp/p1.log" "persistent boot 1"; then
	qemu_run 'echo etc-1 >/etc/aim-persist-etc && echo home-1 >/home/aim-persist-home && sync' 30
	tap_ok $? "wrote /etc/aim-persist-etc and /home/aim-persist-home"
fi
qemu_poweroff 120
tap_ok $? "persistent boot 1: clean poweroff"
fail_tail "$tmp/p1.log"
: >"$tmp/empty"
mt "$tmp/p.img" mcopy -o "$tmp/empty" ::factory-reset
tap_ok $? "host: /factory-reset dropped on the boot partition"
if boot_to_shell "$tmp/p.img" "$tmp/p3.log" "factory reset boot"; then
	qemu_run 'test ! -e /etc/aim-persist-etc && test ! -e /home/aim-persist-home' 30
	tap_ok $? "factory reset: the files in /etc and /home are gone"
	out=$(qemu_run 'grep ^factory_reset= /run/armimmutable/boot.env; ls -A /run/aim/data' 30)
	case "$out" in factory_reset=done:2*) r=0 ;; *) r=1 ;; esac
	tap_ok $r "boot.env says factory_reset=done:2 ($(echo $out))"
	case "$out" in *.aim-trash*) r=1 ;; *) r=0 ;; esac
	tap_ok $r "nothing of the old writable layer is left on the data partition"
	qemu_run 'test -x /bin/sh && test -s /etc/armbian-release && test -s /etc/armimmutable-sample' 30
	tap_ok $? "factory reset: the system itself is intact (from the slot)"
fi
qemu_poweroff 120
tap_ok $? "factory reset boot: clean poweroff"
fail_tail "$tmp/p3.log"
mt "$tmp/p.img" mdir -b ::/ 2>/dev/null | grep -q factory-reset
[ $? = 1 ]
tap_ok $? "host: the flag is gone from the boot partition"
rm -f "$tmp/p.img"

# ---- (b) kiosk: tmpfs overlay, /home persistent ----
convert "$tmp/k.img" --overlay=tmpfs --persist=/home
tap_ok $? "convert (kiosk: --overlay=tmpfs --persist=/home)"
[ -f "$tmp/k.img" ] || { tap_diag "$(cat "$tmp/conv.err")"; tap_done; exit 1; }
if boot_to_shell "$tmp/k.img" "$tmp/k1.log" "kiosk boot 1"; then
	out=$(qemu_run 'grep ^mode= /run/armimmutable/boot.env' 30)
	[ "$out" = mode=tmpfs ]
	tap_ok $? "kiosk boot.env says mode=tmpfs (got '$out')"
	qemu_run 'echo gone-1 >/etc/aim-kiosk-etc && echo kept-2 >/home/aim-kiosk-home && sync' 30
	tap_ok $? "wrote /etc/aim-kiosk-etc and /home/aim-kiosk-home"
fi
qemu_poweroff 120
tap_ok $? "kiosk boot 1: clean poweroff"
fail_tail "$tmp/k1.log"
if boot_to_shell "$tmp/k.img" "$tmp/k2.log" "kiosk boot 2"; then
	qemu_run 'test ! -e /etc/aim-kiosk-etc' 30
	tap_ok $? "the file written to /etc is gone after the reboot"
	out=$(qemu_run 'cat /home/aim-kiosk-home' 30)
	[ "$out" = kept-2 ]
	tap_ok $? "the file written to /home survived the reboot (got '$out')"
fi
qemu_poweroff 120
tap_ok $? "kiosk boot 2: clean poweroff"
fail_tail "$tmp/k2.log"
tap_done
