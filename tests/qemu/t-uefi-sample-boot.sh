#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Boots the unconverted UEFI sample images (tests/sample/mkuefi.sh) as Armbian's
# uefi-arm64 and uefi-x86 images boot: F on QEMU virt with Debian's AAVMF, G on a q35 PC
# (TCG) with Debian's OVMF, each to multi-user.target over the serial console, and G's
# BIOS path once more with SeaBIOS up to the kernel's start. Checks, before booting, the
# layout (GPT types and names, ESP label and offset, root UUID, GRUB's removable EFI binary
# and its embedded config), and in the guest that the image's own GRUB menu booted
# (its entry title and echo lines on the console, BOOT_IMAGE= and root=UUID= on the kernel
# command line with 98-armbian.cfg's arguments), / is the ext4 root partition, the ESP is
# at /boot/efi, no unit failed and the first-boot resize grew the last (root) partition.
# Prints a "timing:" line per boot.
# Env: AIM_UEFI_F_IMG / AIM_UEFI_G_IMG=path use that image (with its .info) instead of
#      building/caching; AIM_UEFI_SHAPES="F G" (default) picks the shapes;
#      AIM_QEMU_LOGDIR=dir keeps the serial console logs there.
# aim-timeout: 1500
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

for fw in aavmf ovmf; do
	QEMU_FW=$fw qemu_available ||
		skip_all "QEMU or firmware for $fw missing (tools/deps.sh --qemu: qemu-efi-aarch64, ovmf, qemu-system-x86)"
done
command -v debugfs >/dev/null 2>&1 && command -v mdir >/dev/null 2>&1 ||
	skip_all "debugfs or mtools missing (tools/deps.sh)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-uefi.XXXXXX")
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP

keep_log() {
	[ -n "${AIM_QEMU_LOGDIR:-}" ] && cp "$QEMU_LOG" "$AIM_QEMU_LOGDIR/t-uefi-sample-boot.$1.console.log"
	return 0
}

# sample SHAPE: src= the image's path (built or from the cache), or "".
sample() {
	local var t0
	var=AIM_UEFI_${1}_IMG
	eval "src=\${$var:-}"
	if [ -z "$src" ]; then
		t0=$(date +%s)
		src=$("$top/tests/sample/mkuefi.sh" --shape "$1" 2>"$tmp/mk.err" | tail -n 1) || src=""
		sed 's/^/# /' "$tmp/mk.err"
		diag "mkuefi --shape $1 took $(( $(date +%s) - t0 )) s"
	fi
}

# static SHAPE IMG: the layout, read without booting.
static() {
	local img=$1 esp_type root_type got n
	n=$ROOT_PARTNUM
	got=$(sfdisk -d "$img" 2>/dev/null)
	case "$got" in *"label: gpt"*) r=0 ;; *) r=1 ;; esac
	ok $r "$SHAPE: GPT"
	esp_type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
	if [ "$SHAPE" = F ]; then root_type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE; else
		root_type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709; fi
	got=$(printf '%s\n' "$got" | sed -n 's/^[^ ]*[^0-9]\([0-9]\) : start= *\([0-9]*\),.*type=\([0-9A-F-]*\),.*name="\([a-z]*\)".*/\1 \2 \3 \4/p' | tr '\n' ' ')
	want="$((n - 1)) $((ESP_OFFSET / 512)) $esp_type efi $n $((ROOT_OFFSET / 512)) $root_type rootfs "
	[ "$SHAPE" = F ] || want="1 8192 21686148-6449-6E6F-744E-656564454649 bios $want"
	is "$got" "$want" "$SHAPE: partitions (number, start, type, name)"
	is "$(blkid -p -O "$ESP_OFFSET" -o value -s LABEL "$img" 2>/dev/null)" ARMBI_EFI \
		"$SHAPE: ESP labelled ARMBI_EFI at $ESP_OFFSET"
	is "$(blkid -p -O "$ROOT_OFFSET" -o value -s UUID "$img" 2>/dev/null)" "$ROOT_UUID" \
		"$SHAPE: root ext4 with UUID $ROOT_UUID"
	got=$(mdir -b -i "$img@@$ESP_OFFSET" ::/EFI/BOOT 2>/dev/null | tr '\n' ' ')
	is "$got" "::/EFI/BOOT/$(basename "$EFI_BOOT") " "$SHAPE: the ESP holds only $EFI_BOOT"
	mcopy -n -i "$img@@$ESP_OFFSET" "::$EFI_BOOT" "$tmp/boot.efi" 2>/dev/null
	grep -aq "search.fs_uuid $ROOT_UUID root" "$tmp/boot.efi" &&
		grep -aq "set prefix=(\$root)'/boot/grub'" "$tmp/boot.efi"
	ok $? "$SHAPE: $EFI_BOOT's embedded config finds the root by UUID, prefix /boot/grub"
	debugfs -R 'cat /boot/grub/grub.cfg' "$img?offset=$ROOT_OFFSET" >"$tmp/grub.cfg" 2>/dev/null
	grep -q "^	linux	/boot/vmlinuz-$KVER root=UUID=$ROOT_UUID ro .*console=$CONSOLE" "$tmp/grub.cfg" &&
		grep -q "^	initrd	/boot/initrd.img-$KVER\$" "$tmp/grub.cfg" && ! grep -q /dev "$tmp/grub.cfg"
	ok $? "$SHAPE: /boot/grub/grub.cfg boots vmlinuz-$KVER with root=UUID=, initrd.img-$KVER, no /dev"
	got=$(debugfs -R "ls -p /boot/grub/$GRUB_PLATFORM" "$img?offset=$ROOT_OFFSET" 2>/dev/null |
		grep -c '/normal\.mod/\|/linux\.mod/\|/ext2\.mod/\|/part_gpt\.mod/\|/search_fs_uuid\.mod/')
	is "$got" 5 "$SHAPE: GRUB's modules in /boot/grub/$GRUB_PLATFORM (normal, linux, ext2, part_gpt, search_fs_uuid)"
}

# boot SHAPE FW: boots a copy (512 MiB larger) to multi-user and checks it.
boot() {
	local img out host guest
	img="$tmp/disk-$SHAPE.img"
	cp --sparse=always "$src" "$img"
	truncate -s +512M "$img"
	QEMU_FW=$2
	qemu_boot "$img" "$tmp/$SHAPE.log"
	ok $? "$SHAPE: QEMU started ($2)"
	qemu_wait_multiuser 600
	rc=$?
	host=$(qemu_elapsed)
	ok $rc "$SHAPE: systemd reached multi-user.target (root shell on $CONSOLE)"
	[ $rc = 0 ] || { qemu_text | tail -n 30 | sed 's/^/#   /'; keep_log "$SHAPE"; qemu_stop; return 1; }
	guest=$(qemu_guest_multiuser) || guest="?"
	echo "timing: boot $SHAPE ($BOARD, $2) $host s to a shell with multi-user active (guest: kernel to multi-user $guest s)"

	qemu_text | grep -q "Booting \`Armbian GNU/Linux'" &&
		qemu_text | grep -q "Loading Linux $KVER \.\.\."
	ok $? "$SHAPE: GRUB ran the image's own menu entry ('Armbian GNU/Linux', 'Loading Linux $KVER ...')"
	out=$(qemu_run 'cat /proc/cmdline' 30)
	case " $out " in
	*" BOOT_IMAGE=/boot/vmlinuz-$KVER root=UUID=$ROOT_UUID ro "*"console=$CONSOLE splash=verbose "*) r=0 ;;
	*) r=1 ;;
	esac
	ok $r "$SHAPE: kernel command line from grub.cfg (BOOT_IMAGE, root=UUID=$ROOT_UUID, 98-armbian.cfg's args)"
	[ $r = 0 ] || diag "cmdline: $out"
	out=$(qemu_run 'test -d /sys/firmware/efi && echo efi; findmnt -n -o SOURCE,FSTYPE / | tr -s " "; findmnt -n -o SOURCE,FSTYPE /boot/efi | tr -s " "' 30)
	is "$(echo $out)" "efi /dev/vda$ROOT_PARTNUM ext4 /dev/vda$((ROOT_PARTNUM - 1)) vfat" \
		"$SHAPE: booted by UEFI, / is ext4 on vda$ROOT_PARTNUM, the ESP at /boot/efi"
	out=$(qemu_run '. /etc/armbian-release && echo "$BOARD|$LINUXFAMILY"; cat /etc/armimmutable-sample' 30)
	case "$out" in "$BOARD|"*"armimmutable sample"*) r=0 ;; *) r=1 ;; esac
	ok $r "$SHAPE: /etc/armbian-release says BOARD=$BOARD; marker present"
	out=$(qemu_run 'systemctl is-active armbian-resize-filesystem.service; df -B1M --output=size / | tail -n 1 | tr -d " "' 60)
	fs_mib=$(printf '%s\n' "$out" | tail -n 1)
	case "$fs_mib" in ''|*[!0-9]*) fs_mib=0 ;; esac
	[ "$(printf '%s\n' "$out" | head -n 1)" = active ] && [ "$fs_mib" -gt $((SIZE_MIB - ROOT_OFFSET / 1048576)) ]
	ok $? "$SHAPE: first-boot resize grew the root partition and / to $fs_mib MiB"
	out=$(qemu_run 'systemctl --failed --no-legend --plain | wc -l' 30)
	is "$out" 0 "$SHAPE: no failed units"
	[ "$out" = 0 ] || diag "$(qemu_run 'systemctl --failed --no-legend --plain' 30)"
	qemu_poweroff 120
	ok $? "$SHAPE: clean poweroff"
	keep_log "$SHAPE"
	qemu_stop
}

for SHAPE in ${AIM_UEFI_SHAPES:-F G}; do
	sample "$SHAPE"
	if [ -z "$src" ] && [ "$(id -u)" != 0 ]; then
		skip "shape $SHAPE: no cached image and building it needs root (or set AIM_UEFI_${SHAPE}_IMG)"
		continue
	fi
	[ -n "$src" ] && [ -f "$src" ] && [ -f "$src.info" ]
	ok $? "$SHAPE: sample image and its .info exist"
	[ -f "$src.info" ] || continue
	ROOT_UUID="" ROOT_OFFSET=0 ESP_OFFSET=0 ROOT_PARTNUM=0 KVER="" EFI_BOOT="" GRUB_PLATFORM=""
	CONSOLE="" BOARD="" SIZE_MIB=0
	. "$src.info"
	static "$src"
	case "$SHAPE" in
	F) boot F aavmf ;;
	G)
		boot G ovmf
		# The BIOS path of the same image: GRUB's boot.img and core.img (BIOS boot
		# partition) up to the kernel's start.
		cp --sparse=always "$src" "$tmp/disk-G.img"
		QEMU_FW=seabios
		qemu_boot "$tmp/disk-G.img" "$tmp/G-bios.log" &&
			qemu_wait 'Linux version [0-9]' 300 &&
			qemu_text | grep -q "Booting \`Armbian GNU/Linux'"
		ok $? "G: SeaBIOS boots GRUB from the BIOS boot partition into the image's menu and kernel"
		echo "timing: boot G (BIOS, SeaBIOS) ${QEMU_WAIT_SECS:-?} s to the kernel's start"
		keep_log G-bios
		qemu_stop
		;;
	esac
	rm -f "$tmp"/disk-*.img
done
done_testing
