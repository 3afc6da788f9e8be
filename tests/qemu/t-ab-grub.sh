#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The generated A/B grub.cfg in real GRUB (Debian bookworm's 2.06, built by
# aim_grub_mkimage) under UEFI: AAVMF on qemu-system-aarch64 -M virt and OVMF on
# qemu-system-x86_64 (TCG). One GRUB run per architecture: a GPT disk whose ESP holds
# BOOTAA64.EFI/BOOTX64.EFI and a wrapper /EFI/BOOT/grub.cfg that `source`s the test-mode
# grub.cfg (aim_grubcfg_generate, dir=/tN) of each scenario directory /tN once per
# simulated boot, then halts. Each /tN has its own state copies (GRUB flavour),
# bootcount.txt (GRUB environment block) and slot-a/, slot-b/ with dummy kernels, all
# made by the library ($B/tests/aim-mkgrub). The scenarios: no state -> a; a trial of b
# counted by save_env (read back on the host: bc=1 for the state's seq, and through
# aim_slotstate_load); tries used up -> back to a with the reason; copy 2 newer but cut
# short (no aim_crc) -> copy 1 decides; the corruption rule after 3 counted boots; the
# trial slot's kernel missing -> the other slot; the no-count config; the real config
# (timeout, serial) with garbage kernels: both fail, the menu. Then, with the cached arm64
# sample image, the real config loads Debian's kernel and initramfs: the kernel's command
# line is checked and QEMU stopped.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
. "$top/tests/qemu/lib.sh"

H=$top/$B/tests/aim-mkgrub
[ -x "$H" ] || skip_all "no $B/tests/aim-mkgrub (make check builds it)"
for c in sfdisk mkfs.vfat mcopy mtype mmd grub-mkimage; do
	command -v $c >/dev/null || skip_all "$c missing (tools/deps.sh --qemu)"
done
ARM_MODS=${AIM_GRUB_ARM64_MODS:-/var/cache/armimmutable/grub-arm64/usr/lib/grub/arm64-efi}
arches=""
if command -v qemu-system-aarch64 >/dev/null && [ -r /usr/share/AAVMF/AAVMF_CODE.fd ] &&
	[ -r "$ARM_MODS/linux.mod" ]; then
	arches="arm64"
fi
if command -v qemu-system-x86_64 >/dev/null && [ -r /usr/share/OVMF/OVMF_CODE_4M.fd ] &&
	[ -r /usr/lib/grub/x86_64-efi/linux.mod ]; then
	arches="$arches x86_64"
fi
[ -n "$arches" ] || skip_all "no UEFI firmware or GRUB modules (tools/deps.sh --qemu)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-grub.XXXXXX")
[ -z "${AIM_KEEP:-}" ] || echo "# keeping $tmp"
QPID=""
cleanup() { [ -z "$QPID" ] || kill "$QPID" 2>/dev/null; [ -n "${AIM_KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

D=$tmp/disk.img
M="-i $D@@1M"
put() { mcopy -o $M "$1" "::$2"; }
state() { # state DIR N SEQ ACTIVE TRY TRIES_B GOOD_B [torn]
	"$H" state "$tmp/f" "$3" "$4" "$5" "$6" "$7" ${8:-} && put "$tmp/f" "$1/state-$2.txt"
}
bootcount() { "$H" bootcount "$tmp/f" "$2" "$3" && put "$tmp/f" "$1/bootcount.txt"; }
scenario() { # scenario DIR [cfg options]: the directory, its config, both slots' files
	d=$1
	shift
	mmd $M "::$d" "::$d/slot-a" "::$d/slot-b" &&
		"$H" cfg "$tmp/f" test "dir=$d" "$@" && put "$tmp/f" "$d/grub.cfg" &&
		echo kernel >"$tmp/k" && put "$tmp/k" "$d/slot-a/vmlinuz" &&
		put "$tmp/k" "$d/slot-b/vmlinuz"
}
# the wrapper: "AIMTEST run <dir> <n>" before each sourced boot, AIMTEST-END, halt
runs="/t1 /t2 /t3 /t3 /t4 /t5 /t5 /t5 /t5 /t6 /t7 root"
mkdisk() { # mkdisk EFI-BINARY NAME
	rm -f "$D"
	truncate -s 48M "$D" &&
		echo 'start=2048, size=94208, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' |
		sfdisk -q -X gpt "$D" && mkfs.vfat -n ESP --offset 2048 "$D" 47104 >/dev/null 2>&1 &&
		mmd $M ::/EFI ::/EFI/BOOT && put "$1" "/EFI/BOOT/$2" || return 1
	{
		i=0
		for r in $runs; do
			i=$((i + 1))
			echo "echo \"AIMTEST run $r $i\""
			[ $r = root ] && echo "source /grub.cfg" || echo "source $r/grub.cfg"
		done
		echo 'echo "AIMTEST-END"'
		echo 'halt'
	} >"$tmp/wrap.cfg" && put "$tmp/wrap.cfg" /EFI/BOOT/grub.cfg || return 1
	scenario /t1 || return 1                 # no state
	scenario /t2 && state /t2 1 20 a - 0 0 && state /t2 2 21 a b 2 0 &&
		bootcount /t2 0 0 || return 1    # a trial of b
	scenario /t3 && state /t3 1 31 a b 2 0 && bootcount /t3 1 31 || return 1 # 1 of 2 used
	scenario /t4 && state /t4 1 40 a - 0 0 && state /t4 2 41 b - 0 1 torn &&
		bootcount /t4 0 0 || return 1    # copy 2 cut short
	scenario /t5 && state /t5 1 50 a - 0 1 && state /t5 2 49 a - 0 1 &&
		bootcount /t5 0 0 || return 1    # both good: the corruption rule
	scenario /t6 && state /t6 1 60 a b 3 0 && bootcount /t6 0 0 &&
		mdel $M ::/t6/slot-b/vmlinuz || return 1 # the trial slot does not load
	scenario /t7 no-count && state /t7 1 70 a b 3 0 && bootcount /t7 0 0 || return 1 # no-count
	# the real config (timeout, serial) in the root, both kernels garbage: linux fails
	# for the trial slot b, then for a, and the menu is defined; the wrapper goes on
	"$H" cfg "$tmp/f" timeout=1 serial && put "$tmp/f" /grub.cfg &&
		mmd $M ::/slot-a ::/slot-b && echo garbage >"$tmp/k" &&
		put "$tmp/k" /slot-a/vmlinuz && put "$tmp/k" /slot-b/vmlinuz &&
		state "" 1 80 a b 3 0 && bootcount "" 0 0
}
boot() { # boot ARCH: one firmware + GRUB run; the log in $tmp/log.ARCH
	case $1 in
	arm64)
		cp /usr/share/AAVMF/AAVMF_VARS.fd "$tmp/vars.fd"
		set -- qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 \
			-drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
			-drive if=pflash,format=raw,file="$tmp/vars.fd" \
			-drive if=none,file="$D",format=raw,id=hd0 -device virtio-blk-pci,drive=hd0 \
			-serial "file:$tmp/log.arm64" ;;
	x86_64)
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$tmp/vars.fd"
		set -- qemu-system-x86_64 -M q35 -m 256 \
			-drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
			-drive if=pflash,format=raw,file="$tmp/vars.fd" \
			-drive if=none,file="$D",format=raw,id=hd0 -device virtio-blk-pci,drive=hd0 \
			-serial "file:$tmp/log.x86_64" ;;
	esac
	t0=$(date +%s.%N)
	# halt ends QEMU; a GRUB that stops at a prompt does not: timeout ends that one
	timeout 240 "$@" -display none -monitor none -nic none </dev/null >"$tmp/qemu.err" 2>&1 &
	QPID=$!
	wait "$QPID"
	QPID=""
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}
# the lines of run N (the Nth sourced boot) of the log
run_lines() { awk -v n="$2" '/^AIMTEST run /{ cur = $4 } cur == n' "$tmp/got.$1"; }
# the same joined into one line: GRUB's console wraps lines at its width (80 columns)
run_text() { run_lines "$1" "$2" | tr -d '\n'; }
expect() { # expect ARCH RUN 'EXTENDED REGEX' DESCRIPTION
	run_lines "$1" "$2" | grep -Eq "$3"
	r=$?
	ok $r "$1: $4"
	[ $r = 0 ] || run_lines "$1" "$2" | sed 's/^/#   /'
}
bootcount_is() { # bootcount_is ARCH DIR BC SEQ DESCRIPTION
	mtype $M "::$2/bootcount.txt" >"$tmp/bc" 2>/dev/null
	head -c 25 "$tmp/bc" | grep -q '^# GRUB Environment Block' &&
		grep -qx "aim_bc=$3" "$tmp/bc" && grep -qx "aim_bc_seq=$4" "$tmp/bc" &&
		[ "$(wc -c <"$tmp/bc")" = 1024 ]
	r=$?
	ok $r "$1: $5"
	[ $r = 0 ] || head -c 100 "$tmp/bc" | sed 's/^/#   /'
}

timing=""
for arch in $arches; do
	case $arch in
	arm64) plat=arm64-efi mods=$ARM_MODS efi=BOOTAA64.EFI ;;
	x86_64) plat=x86_64-efi mods=/usr/lib/grub/x86_64-efi efi=BOOTX64.EFI ;;
	esac
	"$H" mkimage $plat "$mods" "$tmp/$efi"
	ok $? "$arch: aim_grub_mkimage made $efi from $mods"
	mkdisk "$tmp/$efi" $efi
	ok $? "$arch: ESP with GRUB, the wrapper and 7 scenario directories"
	boot $arch
	tr -d '\r' <"$tmp/log.$arch" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' |
		sed -n '/^AIMTEST run /,$p' >"$tmp/got.$arch"
	grep -q '^AIMTEST-END' "$tmp/got.$arch"
	r=$?
	ok $r "$arch: GRUB ran every scenario and halted (${secs} s)"
	[ $r = 0 ] || tail -n 30 "$tmp/log.$arch" | sed 's/^/#   /'
	timing="$timing $arch ${secs} s"

	expect $arch 1 '^aim: slot=a mode=good bc=0 seq=0$' "no state: slot a"
	expect $arch 1 '^armimmutable: no slot state' "no state: says so"
	run_text $arch 1 | grep -q 'aim: linux /t1/slot-a/vmlinuz console=ttyS0 root=PARTUUID=11111111-02 rootfstype=squashfs quiet ro panic=10 armimmutable\.slot=aaim: initrd /t1/slot-a/initrd\.img'
	ok $? "$arch: slot a's kernel and initrd, the image's arguments with the slot's root"
	expect $arch 2 '^aim: slot=b mode=trial bc=1 seq=21$' "trial of b (copy 2, seq 21): boot 1"
	expect $arch 2 '^armimmutable: trial boot 1 of 2 for slot b$' "save_env wrote the count"
	bootcount_is $arch /t2 1 21 "bootcount.txt written in place by save_env: aim_bc=1, aim_bc_seq=21, 1024 bytes"
	mcopy -o $M ::/t2/state-1.txt ::/t2/state-2.txt ::/t2/bootcount.txt "$tmp/" &&
		mkdir -p "$tmp/esp" && mv "$tmp/state-1.txt" "$tmp/state-2.txt" "$tmp/bootcount.txt" "$tmp/esp/" &&
		"$H" load "$tmp/esp" >"$tmp/load"
	grep -qx 'seq=21 copy=2 count=1 grubenv=1' "$tmp/load"
	ok $? "$arch: aim_slotstate_load reads GRUB's bootcount.txt (count 1 for seq 21)"
	expect $arch 3 '^aim: slot=b mode=trial bc=2 seq=31$' "second trial boot: count 2"
	expect $arch 4 '^aim: slot=a mode=fallback bc=2 seq=31$' "tries used up: back to a"
	expect $arch 4 '^armimmutable: slot b has no tries left \(2 of 2\), booting a$' "the fallback says why"
	bootcount_is $arch /t3 2 31 "the fallback boot is not counted (aim_bc=2)"
	expect $arch 5 '^aim: slot=a mode=good bc=0 seq=40$' "copy 2 newer (41) but cut short: copy 1 decides"
	expect $arch 6 '^aim: slot=a mode=good bc=1 seq=50$' "both good: the boot of the active slot is counted (1)"
	expect $arch 7 '^aim: slot=a mode=good bc=2 seq=50$' "second unconfirmed boot of a: 2"
	expect $arch 8 '^aim: slot=a mode=good bc=3 seq=50$' "third unconfirmed boot of a: 3"
	expect $arch 9 '^aim: slot=b mode=fallback bc=3 seq=50$' "the corruption rule: the 4th boots b"
	expect $arch 9 '^armimmutable: slot a failed 3 boots in a row before boot-complete, booting b$' \
		"the corruption rule says why"
	expect $arch 10 '^armimmutable: slot b did not load, trying slot a$' "trial kernel missing: says so"
	expect $arch 10 '^aim: slot=a mode=fallback bc=1 seq=60$' "trial kernel missing: slot a boots"
	expect $arch 11 '^aim: slot=b mode=trial bc=0 seq=70$' "no-count config: trial without a count"
	bootcount_is $arch /t7 0 0 "no-count config leaves bootcount.txt alone"
	# serial: OVMF has its console on the serial port already, so GRUB's serial_efi0
	# terminal doubles every line there: substrings of the joined text, not whole lines
	run_lines $arch 12 | grep -q '^error: terminal'
	[ $? != 0 ]
	ok $? "$arch: real config: GRUB's terminal on the serial port without an error"
	run_text $arch 12 | grep -q 'armimmutable: booting slot b in 1 s; Esc: menu'
	ok $? "$arch: real config: the timeout"
	run_text $arch 12 | grep -q 'armimmutable: slot b did not load, trying slot a'
	ok $? "$arch: real config: linux refuses slot b's garbage kernel, slot a is tried"
	run_text $arch 12 | grep -q 'armimmutable: no automatic boot: choose a slot'
	ok $? "$arch: real config: neither loads: the menu of both slots"
	bootcount_is $arch "" 1 80 "real config: the trial boot counted"
done

# The real config loads a real kernel: Debian's arm64 kernel and initramfs of the sample
# image (tests/sample/mkbootable.sh, cached), up to the kernel's command line.
sample=${AIM_SAMPLE_IMG:-$("$top/tests/sample/mkbootable.sh" 2>/dev/null | tail -n 1)}
case " $arches " in *" arm64 "*) ;; *) sample="" ;; esac
if [ -n "$sample" ] && [ -f "$sample" ] && command -v debugfs >/dev/null &&
	off=$(sfdisk -d "$sample" | awk -F'[=,]' '/start=/ { print $2 * 512; exit }') &&
	kver=$(sed -n 's/^KVER=//p' "$sample.info") && [ -n "$kver" ]; then
	debugfs -R "dump /boot/vmlinuz-$kver $tmp/vmlinuz" "$sample?offset=$off" 2>/dev/null
	debugfs -R "dump /boot/initrd.img-$kver $tmp/initrd.img" "$sample?offset=$off" 2>/dev/null
	# an arm64 Image has "ARMd" at 0x38 (the shared cache may be rebuilt under us)
	[ "$(dd if="$tmp/vmlinuz" bs=1 skip=56 count=4 2>/dev/null)" = ARMd ] &&
		[ -s "$tmp/initrd.img" ] || sample=""
else
	sample=""
fi
if [ -n "$sample" ]; then
	rm -f "$D"
	truncate -s 128M "$D" &&
		echo 'start=2048, size=258048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B' |
		sfdisk -q -X gpt "$D" && mkfs.vfat -n ESP --offset 2048 "$D" 129024 >/dev/null 2>&1 &&
		mmd $M ::/EFI ::/EFI/BOOT ::/slot-a ::/slot-b && put "$tmp/BOOTAA64.EFI" /EFI/BOOT/BOOTAA64.EFI &&
		"$H" cfg "$tmp/f" 'args=console=ttyAMA0 ignore_loglevel root=/dev/vda2 rootfstype=ext4 dyndbg="file x.c +p" a=$b' &&
		put "$tmp/f" /EFI/BOOT/grub.cfg && put "$tmp/vmlinuz" /slot-a/vmlinuz &&
		put "$tmp/initrd.img" /slot-a/initrd.img && state "" 1 5 a - 0 0 && bootcount "" 0 0
	ok $? "arm64: an ESP with the real config and Debian's $kver kernel in slot a"
	cp /usr/share/AAVMF/AAVMF_VARS.fd "$tmp/vars.fd"
	: >"$tmp/log.kernel"
	t0=$(date +%s.%N)
	timeout 240 qemu-system-aarch64 -M virt -cpu cortex-a57 -m 1024 \
		-drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
		-drive if=pflash,format=raw,file="$tmp/vars.fd" \
		-drive if=none,file="$D",format=raw,id=hd0 -device virtio-blk-pci,drive=hd0 \
		-serial "file:$tmp/log.kernel" -display none -monitor none -nic none \
		</dev/null >"$tmp/qemu.err" 2>&1 &
	QPID=$!
	i=0
	until grep -q 'Kernel command line' "$tmp/log.kernel" || [ $i -ge 1200 ] ||
		! kill -0 "$QPID" 2>/dev/null; do
		sleep 0.1
		i=$((i + 1))
	done
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	sleep 0.5
	kill "$QPID" 2>/dev/null
	wait "$QPID" 2>/dev/null
	QPID=""
	tr -d '\r' <"$tmp/log.kernel" | grep -a 'Kernel command line:' >"$tmp/cmdline"
	grep -Fq 'Kernel command line: BOOT_IMAGE=/slot-a/vmlinuz console=ttyAMA0 ignore_loglevel root=PARTUUID=11111111-02 rootfstype=squashfs "dyndbg=file x.c +p" a=$b ro panic=10 armimmutable.slot=a' "$tmp/cmdline"
	r=$?
	ok $r "arm64: GRUB loaded the kernel and initramfs of slot a; its command line as generated (GRUB quotes an argument with spaces whole) (${secs} s)"
	[ $r = 0 ] || tail -n 20 "$tmp/log.kernel" | sed 's/^/#   /'
	timing="$timing; arm64 firmware to the kernel command line ${secs} s"
else
	skip "no sample image (tests/sample/mkbootable.sh) or no arm64: the real kernel part"
fi
echo "timing: GRUB runs (firmware + 12 sourced boots):$timing"
done_testing
