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

T_NAME=reset
# shellcheck source=tests/qemu/converted.sh
. "$top/tests/qemu/converted.sh"

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
