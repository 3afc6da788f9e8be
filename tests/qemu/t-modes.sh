#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A converted GPT image on real U-Boot in QEMU, with first-boot growth and factory reset:
#   the sample turned into a GPT image (sgdisk -g), converted (persistent, /home declared
#   persistent), on a disk 1 GiB larger than the image, slot a not yet good:
#   boot 1: slot a with root=PARTUUID=<p2>, / is an overlay over slot A's squashfs with the
#   upper on the data partition, aim-boot grew the GPT data partition entry (backup header
#   moved), armimmutable-grow-data.service grew its ext4 online (both fill the disk),
#   armimmutable-mark-good.service marked slot a good; files written to /etc and /home;
#   boot 2: both files are still there (persistent), nothing left to grow;
#   then the host drops /factory-reset on the boot partition (as `armimmutable reset` or a
#   card reader would), boot 3: both files are gone, boot.env says factory_reset=done:2,
#   nothing left in the trash, the system itself intact, the flag gone.
# Kiosk mode (tmpfs overlay) is booted in t-fallback.sh, whose image is a kiosk one.
# Three boots in all, every wait time-bound.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

T_NAME=modes
# shellcheck source=tests/qemu/converted.sh
. "$top/tests/qemu/converted.sh"

# ---- (a) GPT, persistent, disk enlarged by 1 GiB, slot a not yet marked good ----
cp --sparse=always "$tmp/sample.img" "$tmp/gpt-in.img"
truncate -s +1M "$tmp/gpt-in.img" && sgdisk -g "$tmp/gpt-in.img" >/dev/null 2>&1 &&
	chmod 0644 "$tmp/gpt-in.img"
ok $? "host: the sample turned into a GPT image (sgdisk -g)"
# A kernel without dm-verity (issue 12): dm-verity.ko removed from the root (debugfs,
# rootless; modules.dep still names it): convert says verity is off and why, and the image
# boots as without verity (the slot's squashfs mounted straight from its partition).
roff=$(( $(sfdisk -J "$tmp/gpt-in.img" | jq '.partitiontable.partitions[-1].start') * 512 ))
kver=$(debugfs -R 'ls /lib/modules' "$tmp/gpt-in.img?offset=$roff" 2>/dev/null |
	tr -s ' ' '\n' | grep -E '^[0-9]+\.[0-9]+.*-' | head -n 1)
debugfs -w -R "rm /lib/modules/$kver/kernel/drivers/md/dm-verity.ko" \
	"$tmp/gpt-in.img?offset=$roff" >/dev/null 2>&1 &&
	! debugfs -R "stat /lib/modules/$kver/kernel/drivers/md/dm-verity.ko" \
		"$tmp/gpt-in.img?offset=$roff" 2>&1 | grep -q '^Inode:'
ok $? "host: dm-verity.ko removed from the root of kernel $kver (debugfs)"
IN=$tmp/gpt-in.img
convert "$tmp/p.img" --persist=/home
ok $? "convert (GPT, persistent, --persist=/home)"
[ -f "$tmp/p.img" ] || { diag "$(cat "$tmp/conv.err")"; done_testing; exit 1; }
# (convert above ran with -q; the same preflight line without it, from a dry run)
"$AIM" convert --dry-run "$IN" "$tmp/dry.img" 2>&1 | grep -q \
	"^convert: verity off: kernel $kver has dm-verity as a module (CONFIG_DM_VERITY=m), but dm-verity.ko is not in"
ok $? "convert says verity is off and why"
mt "$tmp/p.img" mtype ::/slot-a/slot.env | tr -d '\r' | grep -q '^verity' && r=1 || r=0
ok $r "slot a's slot.env has no verity keys"
rm -f "$tmp/gpt-in.img"
IN=$tmp/sample.img
[ "$(sfdisk -J "$tmp/p.img" | jq -r .partitiontable.label)" = gpt ]
ok $? "the converted image keeps the GPT"
partuuid_a=$(sfdisk -J "$tmp/p.img" | jq -r '.partitiontable.partitions[1].uuid' | tr 'A-F' 'a-f')
truncate -s +1G "$tmp/p.img"
state_record 100 0 >"$tmp/s1"
state_record 99 0 >"$tmp/s2"
mt "$tmp/p.img" mcopy -o "$tmp/s1" ::state-1.txt && mt "$tmp/p.img" mcopy -o "$tmp/s2" ::state-2.txt
ok $? "host: state copies say seq 100, aim_good_a=0"

if boot_to_shell "$tmp/p.img" "$tmp/p1.log" "GPT boot 1"; then
	out=$(qemu_run 'cat /proc/cmdline' 30)
	case " $out " in *" root=PARTUUID=$partuuid_a "*" armimmutable.slot=a "*) r=0 ;; *) r=1 ;; esac
	ok $r "GPT: the kernel command line names slot a and its PARTUUID"
	[ $r = 0 ] || diag "cmdline: $out"
	out=$(qemu_run 'grep "^overlay / " /proc/mounts; findmnt -rn -o SOURCE,FSTYPE /run/aim/lower' 30)
	case "$out" in overlay*lowerdir=/run/aim/lower*upperdir=/run/aim/data/overlay/a/upper*"/dev/vda2 squashfs"*) r=0 ;; *) r=1 ;; esac
	ok $r "GPT: / is an overlay over slot A's squashfs, upper on the data partition"
	[ $r = 0 ] || diag "mounts: $out"
	env=$(qemu_run 'cat /run/armimmutable/boot.env' 30)
	case "$env" in *slot=a*mode=persistent*) r=0 ;; *) r=1 ;; esac
	ok $r "GPT: /run/armimmutable/boot.env records slot a, persistent"
	case "$env" in *"verity=0"*) r=0 ;; *) r=1 ;; esac
	ok $r "boot.env says verity=0 (no dm-verity in this kernel)"
	case "$env" in *"grow=grown:gpt"*) r=0 ;; *) r=1 ;; esac
	ok $r "boot.env records the grown GPT data partition ($(printf '%s\n' "$env" | grep '^grow=' || echo 'no grow='))"
	out=$(qemu_run 'echo $(( $(cat /sys/class/block/vda/size) - $(cat /sys/class/block/vda4/start) - $(cat /sys/class/block/vda4/size) ))' 30)
	[ -n "$out" ] && [ "$out" -ge 0 ] 2>/dev/null && [ "$out" -lt 32768 ]
	ok $? "the data partition ends within 16 MiB of the disk end ($out sectors left)"
	out=$(qemu_run 'systemctl is-active armimmutable-grow-data.service' 30)
	[ "$out" = active ]
	ok $? "armimmutable-grow-data.service active (got '$out')"
	out=$(qemu_run 'echo $(( $(df -B1 --output=size /run/aim/data | tail -n 1) >> 20 ))' 30)
	[ -n "$out" ] && [ "$out" -gt 1100 ] 2>/dev/null
	ok $? "the data file system grew online: df says $out MiB (> 1100)"
	out=$(qemu_run 'for i in $(seq 90); do systemctl is-active -q armimmutable-mark-good.service && break; sleep 1; done; systemctl is-active armimmutable-mark-good.service; journalctl -b -o cat -u armimmutable-mark-good.service | tail -n 2' 120)
	case "$out" in active*"marked good"*) r=0 ;; *) r=1 ;; esac
	ok $r "armimmutable-mark-good.service ran and marked slot a good"
	[ $r = 0 ] || diag "mark-good: $out"
	qemu_run 'echo etc-1 >/etc/aim-persist-etc && echo home-1 >/home/aim-persist-home && sync' 30
	ok $? "wrote /etc/aim-persist-etc and /home/aim-persist-home"
fi
qemu_poweroff 120
ok $? "GPT boot 1: clean poweroff"
fail_tail "$tmp/p1.log"
sgdisk -v "$tmp/p.img" 2>&1 | grep -q 'No problems found'
ok $? "host: sgdisk -v finds no problems in the grown GPT (backup header at the new end)"
st=$(newest_state "$tmp/p.img")
case "$st" in *aim_seq=101*aim_good_a=1*) r=0 ;; *) r=1 ;; esac
ok $r "host: the newest state copy says seq 101 and aim_good_a=1"
[ $r = 0 ] || diag "state: $st"

if boot_to_shell "$tmp/p.img" "$tmp/p2.log" "GPT boot 2"; then
	out=$(qemu_run 'cat /etc/aim-persist-etc /home/aim-persist-home' 30)
	[ "$out" = "etc-1
home-1" ]
	ok $? "persistent: the files in /etc and /home survived the reboot (got '$out')"
	out=$(qemu_run 'grep -E "^(grow|factory_reset)=" /run/armimmutable/boot.env' 30)
	case "$out" in *grow=full*factory_reset=none*) r=0 ;; *) r=1 ;; esac
	ok $r "second boot: nothing left to grow, no factory reset ($out)"
fi
qemu_poweroff 120
ok $? "GPT boot 2: clean poweroff"
fail_tail "$tmp/p2.log"

# ---- factory reset of the same device: the host drops the flag, boot 3 resets ----
: >"$tmp/empty"
mt "$tmp/p.img" mcopy -o "$tmp/empty" ::factory-reset
ok $? "host: /factory-reset dropped on the boot partition"
if boot_to_shell "$tmp/p.img" "$tmp/p3.log" "factory reset boot"; then
	qemu_run 'test ! -e /etc/aim-persist-etc && test ! -e /home/aim-persist-home' 30
	ok $? "factory reset: the files in /etc and /home are gone"
	out=$(qemu_run 'grep ^factory_reset= /run/armimmutable/boot.env; ls -A /run/aim/data' 30)
	case "$out" in factory_reset=done:2*) r=0 ;; *) r=1 ;; esac
	ok $r "boot.env says factory_reset=done:2 ($(echo $out))"
	case "$out" in *.aim-trash*) r=1 ;; *) r=0 ;; esac
	ok $r "nothing of the old writable layer is left on the data partition"
	qemu_run 'test -x /bin/sh && test -s /etc/armbian-release && test -s /etc/armimmutable-sample' 30
	ok $? "factory reset: the system itself is intact (from the slot)"
	out=$(qemu_run 'grep -c "^grow=full" /run/armimmutable/boot.env' 30)
	[ "$out" = 1 ]
	ok $? "factory reset: the grown data partition stays grown (grow=full)"
fi
qemu_poweroff 120
ok $? "factory reset boot: clean poweroff"
fail_tail "$tmp/p3.log"
mt "$tmp/p.img" mdir -b ::/ 2>/dev/null | grep -q factory-reset
[ $? = 1 ]
ok $? "host: the flag is gone from the boot partition"

rm -f "$tmp/p.img"
done_testing
