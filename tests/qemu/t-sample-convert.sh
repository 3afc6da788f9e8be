#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The converted bootable sample boots on real U-Boot in QEMU: U-Boot runs the generated
# A/B boot.scr, picks slot A, the kernel gets root=PARTUUID=<slot A> and
# armimmutable.slot=a, the initramfs (the image's own, with aim-boot appended by
# convert) mounts the squashfs and the overlay, systemd reaches multi-user.target, / is
# an overlay over slot A's squashfs, and a file written to /etc survives a reboot
# (persistent mode). Also prints the boot-time ratio against the unconverted sample.
# The image is converted through the Armbian build framework extension
# (extensions/armimmutable.sh, run by tests/armbian/harness.sh as the framework runs it,
# ARMIMMUTABLE_PERSIST=/home): the boot of what an Armbian build with
# ENABLE_EXTENSIONS=armimmutable produces (t0145 checks that this is the same image as
# 'convert --persist /home').
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

T_NAME=convert
# shellcheck source=tests/qemu/converted.sh
. "$top/tests/qemu/converted.sh"

# 1. convert through the extension's hooks, as an ordinary user when we are root
harness_v=Armbian-harness_25.8.0_Sample_bookworm_current
if [ "$(id -u)" = 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups -- env ARMIMMUTABLE_CLI="$AIM" \
		ARMIMMUTABLE_PERSIST=/home HARNESS_VERSION=$harness_v \
		bash "$top/tests/armbian/harness.sh" "$IN" "$tmp/armbian" >"$tmp/harness.out" 2>"$tmp/conv.err"
else
	ARMIMMUTABLE_CLI="$AIM" ARMIMMUTABLE_PERSIST=/home HARNESS_VERSION=$harness_v \
		bash "$top/tests/armbian/harness.sh" "$IN" "$tmp/armbian" >"$tmp/harness.out" 2>"$tmp/conv.err"
fi
ok $? "the Armbian extension's hooks convert the sample (post_build_image)"
mv "$tmp/armbian/armbian-build/output/images/$harness_v.immutable.img" "$tmp/conv.img" 2>/dev/null
rm -rf "$tmp/armbian"
[ -f "$tmp/conv.img" ] || { diag "$(cat "$tmp/conv.err")"; done_testing; exit 1; }
diag "$(grep -h 'Immutable A/B image\|EXTRA_BUILD_DEPS' "$tmp/harness.out" "$tmp/conv.err")"
partuuid_a=$(sfdisk -J "$tmp/conv.img" | jq -r '.partitiontable.id' | sed 's/^0x//')-02
truncate -s +512M "$tmp/conv.img"

# 2. first boot
qemu_boot "$tmp/conv.img" "$tmp/console.log"
ok $? "QEMU started"
qemu_wait 'armimmutable: slot a' 120
ok $? "U-Boot ran the A/B boot.scr and picked slot a"
qemu_wait_multiuser 600
ok $? "systemd reached multi-user.target on the converted image (root shell)"
conv_guest=$(qemu_guest_multiuser) || conv_guest=""

cmdline=$(qemu_run 'cat /proc/cmdline' 30)
case " $cmdline " in *" armimmutable.slot=a "*) r=0 ;; *) r=1 ;; esac
ok $r "kernel command line names slot a"
case " $cmdline " in *" root=PARTUUID=$partuuid_a "*) r=0 ;; *) r=1 ;; esac
ok $r "kernel command line has root=PARTUUID=$partuuid_a"
[ $r = 0 ] || diag "cmdline: $cmdline"
out=$(qemu_run 'findmnt -n -o FSTYPE /' 30)
[ "$out" = overlay ]
ok $? "/ is an overlay (got '$out')"
# the sample's kernel has dm-verity (a module): convert's default (--verity auto) gives the
# slots a tree, and aim-boot maps slot A through it (unsigned: no --sign here)
out=$(qemu_run 'findmnt -n -o SOURCE,FSTYPE /run/aim/lower | tr -s " "' 30)
[ "$out" = "/dev/mapper/aim-root-a squashfs" ]
ok $? "the lower layer is slot A's squashfs through dm-verity (got '$out')"
out=$(qemu_run '/usr/lib/armimmutable/aim-boot verity-table' 30)
case "$out" in "aim-root-a: 0 "*" verity 1 "*" sha256 "*" restart_on_corruption") r=0 ;; *) r=1 ;; esac
ok $r "the live dm table is the verity target over slot A (restart_on_corruption)"
[ $r = 0 ] || diag "verity-table: $out"
out=$(qemu_run 'cat /run/armimmutable/boot.env' 30)
case "$out" in *slot=a*) r=0 ;; *) r=1 ;; esac
ok $r "/run/armimmutable/boot.env records slot a"
[ $r = 0 ] || diag "boot.env: $out"
out=$(qemu_run 'systemctl is-active multi-user.target' 30)
[ "$out" = active ]
ok $? "multi-user.target active (got '$out')"
out=$(qemu_run 'cat /etc/armimmutable-sample' 30)
[ -n "$out" ]
ok $? "the sample's marker file is readable (got '$out')"
qemu_run 'echo persisted-42 >/etc/aim-persist-test; sync' 30 >/dev/null
out=$(qemu_run 'systemctl --failed --no-legend --plain' 30)
diag "failed units: ${out:-none}"

# 3. reboot: the file written to /etc is still there (persistent overlay)
qemu_poweroff 120
ok $? "clean poweroff"
qemu_boot "$tmp/conv.img" "$tmp/console2.log"
qemu_wait_multiuser 600
ok $? "second boot reaches multi-user.target"
out=$(qemu_run 'cat /etc/aim-persist-test' 30)
[ "$out" = persisted-42 ]
ok $? "a file written to /etc survived the reboot (got '$out')"
qemu_poweroff 120

# Boot time (guest clock, kernel start to multi-user.target) against the unconverted
# sample booted by t-sample-boot.sh in the same run (AIM_BOOTTIME_FILE), if it was.
diag "boot time to multi-user (converted, guest clock): ${conv_guest:-?} s"
if [ -n "${AIM_BOOTTIME_FILE:-}" ] && [ -f "$AIM_BOOTTIME_FILE" ] && [ -n "$conv_guest" ]; then
	s=$(awk '$1 == "sample" {v = $3} END {print v}' "$AIM_BOOTTIME_FILE")
	case "$s" in '' | '?') ;; *)
		diag "boot time ratio converted/sample (guest clock): $conv_guest / $s = $(echo "$conv_guest / $s" | bc -l | cut -c1-5)"
		echo "converted $conv_guest" >>"$AIM_BOOTTIME_FILE" ;;
	esac
fi
if [ $T_FAIL != 0 ]; then
	diag "console log tail:"
	tail -n 60 "$tmp/console.log" | tr -d '\r' | sed 's/^/#   /'
fi
done_testing
