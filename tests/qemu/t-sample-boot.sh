#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boots the Armbian-shaped arm64 sample image (tests/sample/mkbootable.sh) in QEMU with
# Debian's U-Boot and checks the Armbian boot flow end to end: boot.scr ran, the kernel got
# root=UUID=<fs uuid> and ubootpart=<partuuid>, systemd reached multi-user.target, / is the
# ext4 /dev/vda1, the release and marker files are there, and the first-boot resize grew
# the root partition of a disk larger than the image. Prints the boot time.
# Env: AIM_SAMPLE_IMG=path uses that image (with its .info) instead of building/caching;
#      AIM_BOOTTIME_FILE=path appends "sample <host secs from QEMU start> <guest secs from
#      kernel start>" there (to multi-user.target);
#      AIM_QEMU_FULL=1 also runs update-initramfs in the guest (99-uboot hook, ~3 min);
#      AIM_QEMU_LOGDIR=dir keeps the serial console log there.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

qemu_available || skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-sample.XXXXXX")
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP

# 1. the image
version="25.8.0-sample"
marker="armimmutable sample $version"    # mkbootable.sh's defaults: the image every test uses
if [ -n "${AIM_SAMPLE_IMG:-}" ]; then
	src=$AIM_SAMPLE_IMG
else
	t0=$(date +%s)
	src=$("$top/tests/sample/mkbootable.sh" 2>"$tmp/mk.err" |
		tail -n 1) || src=""
	cat "$tmp/mk.err" >&2
	# Without root only a cache hit works: then there is nothing to test here.
	if [ -z "$src" ] && [ "$(id -u)" != 0 ]; then
		skip_all "no cached sample and building it needs root (or set AIM_SAMPLE_IMG)"
	fi
	diag "mkbootable took $(( $(date +%s) - t0 )) s"
fi
[ -n "$src" ] && [ -f "$src" ] && [ -f "$src.info" ]
ok $? "sample image and its .info exist"
[ -f "$src.info" ] || { done_testing; exit 1; }
ROOT_UUID="" PARTUUID="" SIZE_MIB=0 VERSION=""
. "$src.info"
[ -n "${AIM_SAMPLE_IMG:-}" ] && { version=$VERSION; marker=""; }

# The shape, read from the image without booting it.
img="$tmp/disk.img"
cp --sparse=always "$src" "$img"
blk_uuid=$(blkid -p -O 4194304 -o value -s UUID "$img" 2>/dev/null)
blk_label=$(blkid -p -O 4194304 -o value -s LABEL "$img" 2>/dev/null)
[ "$blk_uuid" = "$ROOT_UUID" ] && [ "$blk_label" = armbi_root ]
ok $? "p1 at 4 MiB is ext4 armbi_root with UUID $ROOT_UUID (blkid says $blk_uuid)"
[ "$(dd if="$img" bs=1024 skip=8 count=1 status=none | head -c 8)" = FAKE-SPL ]
ok $? "fake bootloader bytes at 8 KiB"
# A card larger than the image, so that the first-boot resize has work to do.
truncate -s +512M "$img"

# 2. boot
qemu_boot "$img" "$tmp/console.log"
ok $? "QEMU started"
qemu_wait 'armimmutable-sample: boot\.scr running' 120
ok $? "U-Boot ran our boot.scr"
qemu_wait 'Booting using the fdt blob|Starting kernel' 120
ok $? "boot.scr handed over to the kernel (booti)"
qemu_wait_multiuser 500
rc=$?
boot_secs=$(qemu_elapsed)
ok $rc "systemd reached multi-user.target (root shell on ttyAMA0)"
guest_secs=$(qemu_guest_multiuser) || guest_secs=""
[ $rc = 0 ] && diag "boot time: QEMU start to a shell with multi-user active: $boot_secs s"
diag "guest clock, kernel start to multi-user.target: ${guest_secs:-?} s"
[ $rc = 0 ] && [ -n "${AIM_BOOTTIME_FILE:-}" ] &&
	echo "sample $boot_secs ${guest_secs:-?}" >>"$AIM_BOOTTIME_FILE"

cmdline=$(qemu_run 'cat /proc/cmdline' 30)
case " $cmdline " in *" root=UUID=$ROOT_UUID "*) r=0 ;; *) r=1 ;; esac
ok $r "kernel command line has root=UUID=$ROOT_UUID"
case " $cmdline " in *" ubootpart=$PARTUUID "*) r=0 ;; *) r=1 ;; esac
ok $r "kernel command line has ubootpart=$PARTUUID (from U-Boot's part uuid)"
case " $cmdline " in *" console=ttyAMA0,115200 "*) r=0 ;; *) r=1 ;; esac
ok $r "console args built from armbianEnv.txt console=serial"
[ $r = 0 ] || diag "cmdline: $cmdline"

out=$(qemu_run 'systemctl is-active multi-user.target' 30)
[ "$out" = active ]
ok $? "multi-user.target is active (got '$out')"

out=$(qemu_run 'findmnt -n -o SOURCE,FSTYPE / | tr -s " "' 30)
[ "$out" = "/dev/vda1 ext4" ]
ok $? "/ is ext4 on /dev/vda1 (got '$out')"

out=$(qemu_run '. /etc/armbian-release && echo "$BOARD|$LINUXFAMILY|$VERSION"' 30)
[ "$out" = "qemu-arm64|arm64|$version" ]
ok $? "/etc/armbian-release readable (got '$out')"

out=$(qemu_run 'cat /etc/armimmutable-sample' 30)
if [ -n "$marker" ]; then [ "$out" = "$marker" ]; else [ -n "$out" ]; fi
ok $? "marker file present (got '$out')"

out=$(qemu_run 'readlink /boot/Image; readlink /boot/uInitrd; readlink /boot/dtb' 30)
case "$out" in vmlinuz-*uInitrd-*dtb-*) r=0 ;; *) r=1 ;; esac
ok $r "Armbian /boot symlinks Image, uInitrd, dtb"

# resize: the disk is 512 MiB larger than the image; root must have grown past the image.
out=$(qemu_run 'systemctl is-active armbian-resize-filesystem.service; df -B1M --output=size / | tail -n 1 | tr -d " "' 60)
state=$(printf '%s\n' "$out" | head -n 1)
fs_mib=$(printf '%s\n' "$out" | tail -n 1)
case "$fs_mib" in ''|*[!0-9]*) fs_mib=0 ;; esac
[ "$state" = active ] && [ "$fs_mib" -gt "$SIZE_MIB" ]
ok $? "first-boot resize grew / to $fs_mib MiB (image $SIZE_MIB MiB, service $state)"

# Armbian's 99-uboot hook: update-initramfs must rewrap the new initrd as uInitrd-<kver>.
# About 3 min of emulated mkinitramfs, so only with AIM_QEMU_FULL=1.
if [ "${AIM_QEMU_FULL:-0}" != 1 ]; then
	skip "update-initramfs/99-uboot check (set AIM_QEMU_FULL=1; ~3 min)"
else
out=$(qemu_run 'k=$(uname -r); a=$(md5sum </boot/uInitrd-$k); update-initramfs -u >/dev/null 2>&1 || echo FAIL; b=$(md5sum </boot/uInitrd-$k); [ "$a" != "$b" ] && echo changed; dd if=/boot/uInitrd bs=1 skip=32 count=7 2>/dev/null; echo; readlink /boot/uInitrd' 400)
case "$out" in changed*uInitrd*uInitrd-*) r=0 ;; *) r=1 ;; esac
ok $r "update-initramfs -u regenerates /boot/uInitrd through post-update.d/99-uboot"
[ $r = 0 ] || diag "got: $out"
fi

diag "$(qemu_run 'systemd-analyze 2>&1 | head -n 1' 60)"
diag "$(qemu_run 'journalctl -b -o short-monotonic -u armbian-resize-filesystem.service --no-pager | tail -n 8' 60)"

out=$(qemu_run 'systemctl --failed --no-legend --plain | wc -l' 30)
[ "$out" = 0 ]
ok $? "no failed units (got '$out')"
[ "$out" = 0 ] || diag "$(qemu_run 'systemctl --failed --no-legend --plain' 30)"

qemu_poweroff 120
ok $? "clean poweroff"
[ -n "${AIM_QEMU_LOGDIR:-}" ] && cp "$tmp/console.log" "$AIM_QEMU_LOGDIR/t-sample-boot.console.log"
if [ $T_FAIL != 0 ]; then
	diag "console log tail:"
	tail -n 40 "$tmp/console.log" | tr -d '\r' | sed 's/^/#   /'
fi
done_testing
