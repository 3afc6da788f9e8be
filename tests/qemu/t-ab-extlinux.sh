#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# extlinux boards in real U-Boot (Debian's qemu_arm64, QEMU virt), without booting Linux:
# the sample shapes H (extlinux.conf in the root's /boot) and DF (FAT /boot partition
# with extlinux) converted, and each run of U-Boot's distro boot followed up to sysboot's
# "append:" line. Checks: distro boot finds the generated boot.scr (no extlinux.conf in
# the places it looks first), which hands over to the slot's own extlinux.conf with
# sysboot; slot a's kernel, initrd and command line (root=PARTUUID=<slot a>,
# rootfstype=squashfs, armimmutable.slot=a); a trial of slot b counted in bootcount.txt
# (slot b's files and root: for H, slot b is empty at convert and filled by `install` of a
# bundle of the same image, --tries 2; for DF, the trial is written into the state);
# tries used up: back to a. The sample's kernel is not a
# kernel: each run stops at U-Boot's "Starting kernel". Last, one full boot: the bootable
# sample (tests/sample/mkbootable.sh, when cached) made an extlinux image (boot.scr,
# boot.cmd and armbianEnv.txt replaced by /boot/extlinux/extlinux.conf, with debugfs),
# converted, boots Linux on slot a: the slot's command line, / an overlay over slot a; then
# the guest installs v2 (the same made from t-ota's v2 sample) into slot b, which boots on
# trial through its own extlinux.conf and is kept. DE (D with extlinux on its ext4 /boot)
# gets the same U-Boot runs as DF, and the sample made a DE image (tests/sample/to-dext.sh)
# boots Linux on slot a.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

qemu_available || skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"
for c in sfdisk jq mcopy mtype gzip; do
	command -v $c >/dev/null || skip_all "$c missing"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-ext.XXXXXX")
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP
export MTOOLS_SKIP_CHECK=1

D=$tmp/disk.img
mt() { # mt CMD ARGS...: mtools on p1 of $D
	_c=$1
	shift
	"$_c" -i "$D@@$(($(sfdisk -J "$D" | jq '.partitiontable.partitions[0].start') * 512))" "$@"
}
state() { # state N SEQ ACTIVE TRY TRIES_B
	body=$(printf 'aim_seq=%s\naim_active=%s\naim_try=%s\naim_tries_a=0\naim_tries_b=%s\naim_good_a=1\naim_good_b=0\naim_reason=\n' "$2" "$3" "$4" "$5")
	crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
	printf '%s\naim_crc=%s\n' "$body" "$crc" >"$tmp/state"
	mt mcopy -o "$tmp/state" "::/state-$1.txt"
}
boot() { # boot: one U-Boot run up to the kernel's start; lines of interest in $tmp/got
	qemu_boot "$D" "$tmp/log" && qemu_wait '^Starting kernel|armimmutable: sysboot of .* returned' 90
	r=$?
	qemu_stop
	qemu_text | grep -E '^(armimmutable|Retrieving file|append|Found|Starting kernel)' >"$tmp/got"
	return $r
}
expect() { # expect SLOT MODE DESCRIPTION: slot SLOT's files and command line were used
	_n=$([ "$1" = a ] && echo 02 || echo 03)
	grep -q "^armimmutable: slot $1 ($2), files from /slot-$1/\$" "$tmp/got" &&
		grep -q "^Retrieving file: /slot-$1/Image\$" "$tmp/got" &&
		grep -q "^Retrieving file: /slot-$1/uInitrd\$" "$tmp/got" &&
		grep -q "^Retrieving file: /slot-$1/extlinux/extlinux.conf\$" "$tmp/got" &&
		grep -q "^append: root=PARTUUID=$pid-$_n .*rootfstype=squashfs .*armimmutable.slot=$1\$" "$tmp/got" &&
		! grep -q "^Found .*extlinux" "$tmp/got"
	r=$?
	ok $r "$3"
	[ $r = 0 ] || sed 's/^/#   /' "$tmp/got"
}

for shape in H DF DE; do
	rm -f "$D" "$tmp/b.aimb"
	empty=""
	[ $shape = H ] && empty="--slot-b empty"
	# shellcheck disable=SC2086
	"$top/tests/sample/mkshape.sh" $shape "$tmp/in.img" --rootfs builtin >/dev/null 2>&1 &&
		"$AIM" -q convert $empty "$tmp/in.img" "$D" 2>"$tmp/err"
	r=$?
	ok $r "$shape: the sample converts${empty:+ ($empty)}"
	[ $r = 0 ] || { sed 's/^/#   /' "$tmp/err"; continue; }
	if [ $shape = H ]; then
		"$AIM" -q keygen -W -p "$tmp/k.pub" -s "$tmp/k.key" 2>"$tmp/err" &&
			"$AIM" -q bundle create -k "$tmp/k.key" -o "$tmp/b.aimb" --from-image "$tmp/in.img" \
				--version 99.1 2>>"$tmp/err"
		r=$?
		ok $r "$shape: a bundle of the same image"
		[ $r = 0 ] || sed 's/^/#   /' "$tmp/err"
	fi
	rm -f "$tmp/in.img"
	pid=$(sfdisk -J "$D" | jq -r '.partitiontable.id' | sed 's/^0x//')

	boot
	ok $? "$shape: U-Boot ran boot.scr"
	expect a good "$shape: slot a: /slot-a/extlinux/extlinux.conf, its kernel, initrd and root"
	grep -q '^Starting kernel' "$tmp/got"
	ok $? "$shape: sysboot started slot a's kernel"

	if [ $shape = H ]; then
		"$AIM" -q install --image "$D" -p "$tmp/k.pub" --tries 2 "$tmp/b.aimb" 2>"$tmp/err"
		r=$?
		ok $r "$shape: install of the bundle into slot b, 2 tries"
		[ $r = 0 ] || sed 's/^/#   /' "$tmp/err"
	else
		state 2 2 a b 2
	fi
	boot && expect b trial "$shape: trial of b: slot b's extlinux.conf, kernel and root"
	seq=$({ mt mtype ::/state-1.txt; mt mtype ::/state-2.txt; } | tr -d "\r" | sed -n 's/^aim_seq=//p' | sort -n | tail -n 1)
	mt mtype ::/bootcount.txt | tr -d '\0' >"$tmp/bc"
	grep -qx 'aim_bc=1' "$tmp/bc" && grep -qx "aim_bc_seq=$seq" "$tmp/bc"
	ok $? "$shape: the trial boot counted in bootcount.txt"
	boot && expect b trial "$shape: second trial boot of b"
	boot && expect a fallback "$shape: tries used up: back to slot a"
	grep -q 'slot b has no tries left (2 of 2), booting a' "$tmp/got"
	ok $? "$shape: the fallback says why"
done

# The full boot: the bootable sample as an extlinux image (Armbian's SRC_EXTLINUX=yes file)
src=""
if "$top/tests/sample/mkbootable.sh" --cached 2>/dev/null; then
	src=$("$top/tests/sample/mkbootable.sh" 2>/dev/null | tail -n 1)
fi
if [ -z "$src" ] || [ ! -f "$src" ] || ! command -v debugfs >/dev/null; then
	diag "no cached bootable sample (tests/sample/mkbootable.sh) or no debugfs: full boot skipped"
	done_testing
	exit 0
fi
"$top/tests/sample/to-extlinux.sh" "$src" "$tmp/bs.img"
[ "$("$AIM" inspect --json "$tmp/bs.img" | jq -r '[.shape.id, .boot.method] | join(" ")')" = "H extlinux" ]
ok $? "the bootable sample as an extlinux image (shape H)"
rm -f "$D"
"$AIM" -q keygen -W -p "$tmp/k.pub" -s "$tmp/k.key" 2>"$tmp/err"
"$AIM" -q convert --trust "$tmp/k.pub" "$tmp/bs.img" "$D" 2>>"$tmp/err"
ok $? "it converts"
rm -f "$tmp/bs.img"
truncate -s +512M "$D"
pid=$(sfdisk -J "$D" | jq -r '.partitiontable.id' | sed 's/^0x//')
# v2 (t-ota's second sample, as an extlinux image) bundled, on a second disk
v2=$("$top/tests/sample/mkbootable.sh" --version 25.11.0-v2 --marker "armimmutable sample v2" \
	--system-user aimsvc --variant s2 2>/dev/null | tail -n 1)
mkdir -p "$tmp/bundles"
r=1
if [ -f "$v2" ] && "$top/tests/sample/to-extlinux.sh" "$v2" "$tmp/v2.img" &&
	"$AIM" -q bundle create -k "$tmp/k.key" -o "$tmp/bundles/v2.aimb" --from-image "$tmp/v2.img" 2>"$tmp/err"; then
	rm -f "$tmp/v2.img"
	mke2fs -q -t ext4 -L aimbundles -d "$tmp/bundles" "$tmp/bundles.img" \
		"$(( $(du -sm "$tmp/bundles" | cut -f1) + 64 ))M" >/dev/null
	QEMU_PRE_DEVICES="-drive if=none,file=$tmp/bundles.img,format=raw,id=hd1,readonly=on -device virtio-blk-device,drive=hd1"
	r=0
fi
rm -rf "$tmp/bundles" "$tmp/v2.img"
ok $r "a bundle of v2 as an extlinux image"
[ $r = 0 ] || sed 's/^/#   /' "$tmp/err"
qemu_boot "$D" "$tmp/log"
qemu_wait_multiuser 900
ok $? "Linux reaches multi-user.target on slot a ($(qemu_elapsed) s from power-on)"
cmdline=$(qemu_run 'cat /proc/cmdline' 30)
case " $cmdline " in *" root=PARTUUID=$pid-02 "*" armimmutable.slot=a "*) r=0 ;; *) r=1 ;; esac
ok $r "the kernel got slot a's command line from /slot-a/extlinux/extlinux.conf"
[ $r = 0 ] || diag "cmdline: $cmdline"
# shellcheck disable=SC2016 # expanded in the guest
out=$(qemu_run 'echo $(findmnt -n -o FSTYPE /) $(sed -n "s/^slot=//p" /run/armimmutable/boot.env)' 30)
[ "$out" = "overlay a" ]
ok $? "/ is the overlay over slot a (got '$out')"
# an update on an extlinux board: installed in the guest, slot b boots on trial through
# its own extlinux.conf (rewritten by install), is kept by mark-good
qemu_run 'mkdir -p /mnt/b && mount -o ro LABEL=aimbundles /mnt/b && armimmutable install --progress=none /mnt/b/v2.aimb 2>&1' 900 >"$tmp/prog"
r=$?
ok $r "install of v2 into slot b in the guest"
[ $r = 0 ] || diag "$(cat "$tmp/prog")"
qemu_poweroff 180 || qemu_stop
qemu_stop
qemu_boot "$D" "$tmp/log2"
qemu_wait_multiuser 900
ok $? "boot 2: multi-user.target ($(qemu_elapsed) s from power-on)"
qemu_text | grep -q 'armimmutable: slot b (trial), files from /slot-b/'
ok $? "boot 2: U-Boot booted slot b on trial"
out=$(qemu_run 'cat /etc/armimmutable-sample; grep -o "root=PARTUUID=[^ ]* .*armimmutable.slot=[ab]" /proc/cmdline | sed "s/ .* / /"' 30)
[ "$out" = "armimmutable sample v2
root=PARTUUID=$pid-03 armimmutable.slot=b" ]
ok $? "boot 2: v2 runs with slot b's command line from its extlinux.conf"
[ $? = 0 ] || diag "$out"
out=$(qemu_run 'for i in $(seq 120); do systemctl is-active -q armimmutable-mark-good.service && break; sleep 1; done; armimmutable status --json' 150)
[ "$(printf '%s\n' "$out" | jq -r '[.booted_slot, (.slots[] | select(.name == "b") | .good, .active, .on_trial)] | join(" ")' 2>/dev/null)" = "b true true false" ]
ok $? "boot 2: slot b kept (good, active, no trial)"
[ $? = 0 ] || diag "$out"
qemu_stop

# D with extlinux on its own ext4 /boot (DE), from the same sample: converted (the boot
# files come from the boot partition), slot a boots Linux through its extlinux.conf
rm -f "$D"
"$top/tests/sample/to-dext.sh" "$src" "$tmp/de.img" &&
	[ "$("$AIM" inspect --json "$tmp/de.img" | jq -r '[.shape.id, .boot.method] | join(" ")')" = "D extlinux" ] &&
	"$AIM" -q convert "$tmp/de.img" "$D" 2>"$tmp/err"
ok $? "DE: the sample with an ext4 /boot partition and extlinux converts"
rm -f "$tmp/de.img"
truncate -s +512M "$D"
pid=$(sfdisk -J "$D" | jq -r '.partitiontable.id' | sed 's/^0x//')
QEMU_PRE_DEVICES=""
qemu_boot "$D" "$tmp/log3"
qemu_wait_multiuser 900
ok $? "DE: Linux reaches multi-user.target on slot a ($(qemu_elapsed) s from power-on)"
cmdline=$(qemu_run 'cat /proc/cmdline' 30)
case " $cmdline " in *" root=PARTUUID=$pid-02 "*" armimmutable.slot=a "*) r=0 ;; *) r=1 ;; esac
ok $r "DE: slot a's command line from /slot-a/extlinux/extlinux.conf"
[ $r = 0 ] || diag "cmdline: $cmdline"
qemu_stop
done_testing
