#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A/B on UEFI images through GRUB (docs/boot.md 4b), on QEMU with Debian's firmware: the
# uefi-arm64 sample (F) on virt with AAVMF and the uefi-x86 sample (G) on a q35 PC with
# OVMF (TCG), both built from Debian packages by tests/sample/mkuefi.sh. For each:
#   the v1 image converted with our key trusted; a v2 image (other VERSION and marker)
#   bundled on the host and given to the guest on a second disk;
#   boot 1: GRUB boots slot a (good) with the slot's command line; the guest installs v2
#           into b, which goes on trial; poweroff;
#   boot 2: GRUB counts b's trial in bootcount.txt (save_env on the ESP), v2 runs on b,
#           armimmutable-mark-good.service keeps it; the guest installs v2 into a (trial);
#           poweroff;
#   host:   slot a's kernel on the ESP replaced by garbage;
#   boot 3: GRUB tries a, its kernel does not load, GRUB boots the good b by itself;
#           aim-boot cancels a's trial and says why; an install into a is cut by killing
#           QEMU mid-write;
#   boot 4: GRUB boots b, its kernel and initramfs bring up systemd on b's root; on the
#           host, status --image: slot a (cut) is not on trial.
# Prints a timing line per boot. AIM_UEFI_SHAPES="F G" (default) picks the shapes.
# aim-timeout: 3000
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

for c in mke2fs jq sfdisk mtype mcopy; do
	command -v $c >/dev/null 2>&1 || skip_all "$c missing"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-uefi-ab.XXXXXX")
chmod 0777 "$tmp"
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP

"$AIM" -q keygen --no-password -p "$tmp/k.pub" -s "$tmp/k.key"
ok $? "keygen"

esp() { sfdisk -J "$1" | jq -r '.partitiontable.partitions[0].start * 512'; }
fail_tail() {
	[ $T_FAIL = 0 ] && return 0
	diag "console log tail ($1):"
	tail -n 40 "$tmp/$1" | tr -d '\r' | sed 's/^/#   /'
}
status() { qemu_run 'armimmutable status --json' 60 >"$tmp/status.json"; }
jqs() { jq -r "$1" "$tmp/status.json" 2>/dev/null; }
slot() { jqs ".slots[] | select(.name == \"$1\") | $2"; }

# boot WHAT LOG: boot the converted image with the bundle disk up to a root shell
boot() {
	local t0 rc
	t0=$(date +%s)
	qemu_boot "$img" "$tmp/$2"
	qemu_wait_multiuser 900
	rc=$?
	ok $rc "$SHAPE $1: multi-user.target ($(( $(date +%s) - t0 )) s host time)"
	echo "timing: t-uefi-ab $SHAPE $1 $(( $(date +%s) - t0 )) s"
	[ $rc = 0 ] && qemu_run 'mkdir -p /mnt/b && mount -o ro LABEL=aimbundles /mnt/b' 60
}

story() {
	SHAPE=$1
	QEMU_FW=$2
	export QEMU_FW
	if ! qemu_available; then
		ok 0 "# SKIP $SHAPE: QEMU or firmware for $QEMU_FW missing"
		return 0
	fi
	v1=$("$top/tests/sample/mkuefi.sh" --shape "$SHAPE" 2>"$tmp/mk.err" | tail -n 1)
	v2=$("$top/tests/sample/mkuefi.sh" --shape "$SHAPE" --version 25.11.0-v2 \
		--marker "armimmutable sample v2" 2>>"$tmp/mk.err" | tail -n 1)
	if [ ! -f "$v1" ] || [ ! -f "$v2" ]; then
		ok 1 "$SHAPE: samples v1 and v2 available"
		tail -n 20 "$tmp/mk.err" | sed 's/^/# /'
		return 1
	fi
	img=$tmp/$SHAPE.img
	"$AIM" -q convert --trust "$tmp/k.pub" "$v1" "$img" 2>"$tmp/err"
	ok $? "$SHAPE: convert v1"
	[ -f "$img" ] || { diag "$(cat "$tmp/err")"; return 1; }
	truncate -s +256M "$img"
	rm -rf "$tmp/bundles"
	mkdir "$tmp/bundles"
	"$AIM" -q bundle create -k "$tmp/k.key" -o "$tmp/bundles/v2.aimb" --from-image "$v2" 2>"$tmp/err"
	ok $? "$SHAPE: bundle create v2"
	[ -s "$tmp/err" ] && diag "$(cat "$tmp/err")"
	rm -f "$tmp/bundles.img"
	mke2fs -q -t ext4 -L aimbundles -d "$tmp/bundles" "$tmp/bundles.img" \
		"$(( $(du -sm "$tmp/bundles" | cut -f1) + 64 ))M" >/dev/null
	ok $? "$SHAPE: the bundle disk"
	QEMU_PRE_DEVICES="-drive if=none,file=$tmp/bundles.img,format=raw,id=hd1,readonly=on -device virtio-blk-pci,drive=hd1"
	export QEMU_PRE_DEVICES
	pa=$(sfdisk -J "$img" | jq -r '.partitiontable.partitions[1].uuid' | tr A-F a-f)
	off=$(esp "$img")

	# ---- boot 1: slot a; install v2 into b ----
	if boot "boot 1 (v1 on a)" "$SHAPE-1.log"; then
		qemu_text | grep -q 'armimmutable: slot a (good)'
		ok $? "$SHAPE: GRUB booted slot a (good)"
		out=$(qemu_run 'cat /proc/cmdline' 30)
		case "$out" in *"root=PARTUUID=$pa "*"armimmutable.slot=a"*) r=0 ;; *) r=1 ;; esac
		ok $r "$SHAPE: the kernel command line names slot a's partition and the slot"
		[ $r = 0 ] || diag "$out"
		status
		[ "$(jqs .booted_slot)" = a ] && [ "$(slot a .version)" = 25.8.0-sample ]
		ok $? "$SHAPE: status: booted a, v1"
		qemu_run 'armimmutable install --progress=none /mnt/b/v2.aimb 2>&1' 900 >"$tmp/prog"
		r=$?
		ok $r "$SHAPE: install v2 into b in the guest"
		[ $r = 0 ] || diag "$(cat "$tmp/prog")"
		status
		[ "$(slot b .on_trial)" = true ] && [ "$(jqs .state.next_boot)" = b ]
		ok $? "$SHAPE: status: b on trial, next boot b"
	fi
	qemu_poweroff 180
	ok $? "$SHAPE boot 1: clean poweroff"
	fail_tail "$SHAPE-1.log"

	# ---- boot 2: b on trial, kept; install v2 into a ----
	if boot "boot 2 (v2 on b, trial)" "$SHAPE-2.log"; then
		qemu_text | grep -q 'armimmutable: trial boot 1 of [0-9] for slot b'
		ok $? "$SHAPE: GRUB counted b's trial boot (save_env on the ESP)"
		out=$(qemu_run 'cat /etc/armimmutable-sample; grep -o "armimmutable.slot=[ab]" /proc/cmdline' 30)
		[ "$out" = "armimmutable sample v2
armimmutable.slot=b" ]
		ok $? "$SHAPE: v2 runs on slot b"
		[ $? = 0 ] || diag "$out"
		out=$(qemu_run 'for i in $(seq 120); do systemctl is-active -q armimmutable-mark-good.service && break; sleep 1; done; systemctl is-active armimmutable-mark-good.service' 150)
		[ "$out" = active ]
		ok $? "$SHAPE: armimmutable-mark-good.service ran"
		status
		[ "$(jqs .booted_slot)" = b ] && [ "$(slot b .good)" = true ] &&
			[ "$(slot b .active)" = true ] && [ "$(slot b .on_trial)" = false ]
		ok $? "$SHAPE: status: b good and active"
		[ $? = 0 ] || diag "$(cat "$tmp/status.json")"
		qemu_run 'armimmutable install --progress=none /mnt/b/v2.aimb 2>&1' 900 >"$tmp/prog"
		r=$?
		ok $r "$SHAPE: install v2 into a"
		[ $r = 0 ] || diag "$(cat "$tmp/prog")"
	fi
	qemu_poweroff 180
	ok $? "$SHAPE boot 2: clean poweroff"
	fail_tail "$SHAPE-2.log"

	# ---- host: a garbage kernel in slot a ----
	k=$(mtype -i "$img@@$off" ::/slot-a/grub.env 2>/dev/null | sed -n 's/^aim_kernel=//p')
	head -c 1048576 /dev/urandom >"$tmp/garbage"
	mcopy -o -i "$img@@$off" "$tmp/garbage" "::/slot-a/$k"
	ok $? "$SHAPE: slot a's kernel ($k) replaced by garbage"

	# ---- boot 3: a does not load, b boots; an install cut by a power loss ----
	if boot "boot 3 (a on trial, garbage kernel)" "$SHAPE-3.log"; then
		qemu_text | grep -q 'armimmutable: slot a did not load, trying slot b'
		ok $? "$SHAPE: GRUB: slot a did not load, slot b booted"
		status
		[ "$(jqs .booted_slot)" = b ] && [ "$(slot a .on_trial)" = false ] &&
			[ "$(slot a .good)" = false ] && [ "$(slot b .active)" = true ]
		ok $? "$SHAPE: status: on b, a's trial cancelled"
		[ $? = 0 ] || diag "$(cat "$tmp/status.json")"
		diag "$SHAPE reason: $(jqs .state.reason)"
		qemu_send "armimmutable install --progress=json /mnt/b/v2.aimb 2>/tmp/cut.json &"
		cut=0
		for _ in $(seq 600); do
			sleep 1
			p=$(qemu_run 'tail -n 1 /tmp/cut.json' 20 | sed -n 's/.*"done":\([0-9]*\).*"total":\([0-9]*\).*/\1 \2/p')
			set -- $p
			if [ $# = 2 ] && [ "$2" -gt 0 ] && [ $(( $1 * 100 / $2 )) -ge 30 ]; then
				cut=$(( $1 * 100 / $2 ))
				break
			fi
		done
		qemu_stop
		[ "$cut" -gt 0 ]
		ok $? "$SHAPE: QEMU killed during an install into a (at ${cut}% of a payload)"
	fi
	qemu_stop
	fail_tail "$SHAPE-3.log"

	# ---- boot 4: after the cut, b boots (up to systemd on its root: the rest of the
	# boot is what boot 3 showed) ----
	t0=$(date +%s)
	qemu_boot "$img" "$tmp/$SHAPE-4.log"
	qemu_wait 'systemd\[1\]: (Detected architecture|Hostname set)' 600
	ok $? "$SHAPE boot 4 (after the cut): the kernel, the initramfs, systemd on the root"
	echo "timing: t-uefi-ab $SHAPE boot 4 (after the cut, to systemd) $(( $(date +%s) - t0 )) s"
	qemu_text | grep -q 'armimmutable: slot b (good)'
	ok $? "$SHAPE: GRUB booted the good slot b"
	qemu_text | grep -q 'Kernel command line:.*armimmutable.slot=b'
	ok $? "$SHAPE: slot b's kernel and command line"
	qemu_stop
	"$AIM" status --image "$img" --json >"$tmp/status.json" 2>"$tmp/err"
	[ "$(slot b .active)" = true ] && [ "$(slot b .good)" = true ] &&
		[ "$(slot a .on_trial)" = false ] && [ "$(slot a .good)" = false ]
	ok $? "$SHAPE: status --image: b active and good, a (cut) not on trial"
	[ $? = 0 ] || diag "$(cat "$tmp/status.json" "$tmp/err")"
	fail_tail "$SHAPE-4.log"
	rm -f "$img" "$tmp/bundles.img"
}

for s in ${AIM_UEFI_SHAPES:-F G}; do
	case $s in
	F) story F aavmf ;;
	G) story G ovmf ;;
	esac
done
done_testing
