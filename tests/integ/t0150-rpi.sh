#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Raspberry Pi (shape E, docs/rpi.md), on image files only: the firmware cannot run under
# QEMU, so its A/B path is unproven on hardware and this test checks what it would read.
# The synthetic E image converts to GPT with partitions 1-4 as on every shape and FAT
# partitions 5/6 with each slot's firmware files (the input's, byte for byte, but
# cmdline.txt, rewritten for the slot); autoboot.txt on partition 1 follows the state.
# A bundle made from the E image is installed into slot b (one try, [tryboot] -> 6); the
# trial's outcomes through aim-boot plan on the image's files (taken and kept with
# mark-good -> [all] 6; failed: the firmware boots [all] again and the trial is cancelled);
# power cuts at every write of install, mark-good and aim-boot's fallback leave an
# autoboot.txt whose [all] slot is good (and whose [tryboot] slot is good or the armed trial).
. "$(dirname "$0")/lib.sh"
AB="$AIM_TOP/$B/dev/x86_64/aim-boot"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
cd "$TMP" || exit 1
aim() { as_user "$AIM" "$@"; }

if ! "$SAMPLE/mkshape.sh" E in.img >"$TMP/mk.log" 2>&1; then
	ok 1 "shape E sample built"
	sed 's/^/#   /' "$TMP/mk.log" | tail -n 5
	done_testing
	exit
fi
chmod 0644 in.img

# ---- inspect ----
aim inspect --json in.img >in.json
is "$(jq -r '[.shape.id, .shape.convertible, .boot.method] | join(" ")' in.json)" \
	"E true rpi-firmware" "inspect: shape E, convertible, rpi-firmware"
check "inspect: says unproven on hardware (tryboot cannot run under QEMU)" \
	sh -c "jq -r .shape.reason in.json | grep -q 'unproven on hardware.*QEMU'"
aim inspect in.img >in.txt
check "inspect text: Convertible: yes: unproven on hardware" grep -q '^Convertible: yes: unproven on hardware' in.txt

# ---- convert ----
check "convert (both slots)" aim -q convert --slot-size 64M in.img out.img
check "convert with slot b empty" aim -q convert --slot-b empty --slot-size 64M in.img base.img
[ -f out.img ] && [ -f base.img ] || { done_testing; exit; }

in_p1=$(($(sfdisk -J in.img | jq '.partitiontable.partitions[0].start') * 512))
mkdir inp && mcopy -s -n -i "in.img@@$in_p1" '::*' inp/
# pstart IMG N / pfield IMG N FIELD: partition N from sfdisk -J
pfield() { sfdisk -J "$1" | jq -r --arg n "$2" ".partitiontable.partitions[] | select(.node | endswith(\$n)) | .$3"; }
pstart() { echo $(($(pfield "$1" "$2" start) * 512)); }
is "$(sfdisk -J out.img | jq -r .partitiontable.label)" gpt "table: GPT (six partitions)"
is "$(sfdisk -J out.img | jq '.partitiontable.partitions | length')" 6 "table: six partitions"
BASIC=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7 LINUX=0FC63DAF-8483-4772-8E79-3D69D8477DE4
for n in 1:$BASIC:boot 2:$LINUX:rootfs_a 3:$LINUX:rootfs_b 4:$LINUX:data 5:$BASIC:boot_a 6:$BASIC:boot_b; do
	IFS=: read -r k t name <<<"$n"
	is "$(pfield out.img "$k" type)/$(pfield out.img "$k" name)" "$t/$name" "p$k: type and name $name"
done
is "$(pstart out.img 1)" "$in_p1" "p1 starts where the input's first partition did"
check "sgdisk -v finds no problems in the GPT" sh -c "sgdisk -v out.img | grep -q 'No problems found'"
is "$(sha_range out.img 0 440)" "$(sha_range in.img 0 440)" "MBR boot code bytes 0-439 kept"
is "$(sha_range out.img 17408 $((in_p1 - 17408)))" "$(sha_range in.img 17408 $((in_p1 - 17408)))" \
	"the region after the GPT entries up to p1 kept"
is "$(blkid -p -O "$(pstart out.img 2)" -s TYPE -o value out.img)" squashfs "p2: squashfs (slot a)"
order=$(for k in 1 2 3 4 5 6; do echo "$(pfield out.img $k start) $k"; done | sort -n | cut -d' ' -f2 | tr -d '\n')
is "$order" 156234 "on disk: p1, the slots' boot partitions p5 p6, slots p2 p3, data p4 last"
al=0
for k in 1 2 3 4 5 6; do [ $(($(pstart out.img $k) % 4194304)) = 0 ] || al=1; done
ok "$al" "every partition starts on a 4 MiB boundary"
for k in 2 3 4; do
	is "$(pstart out.img $k)" "$(pstart base.img $k)" "p$k at the same place whether slot b is empty or not"
done
P1=$(pstart out.img 1) P5=$(pstart out.img 5) P6=$(pstart out.img 6)
for x in "1 ARMBI_BOOT" "5 ARMBI_BOOTA" "6 ARMBI_BOOTB"; do
	read -r k l <<<"$x"
	is "$(blkid -p -O "$(pstart out.img "$k")" -s TYPE -o value out.img)/$(blkid -p -O "$(pstart out.img "$k")" -s LABEL -o value out.img)" \
		"vfat/$l" "p$k: FAT, label $l"
done
is "$(minfo -i "out.img@@$P1" :: | sed -n 's/^disk type="\(FAT32\) *"/\1/p')" FAT32 "p1: FAT32 (rpi-eeprom#818: a small FAT32 taken for FAT16 hid autoboot.txt)"
uuid() { pfield out.img "$1" uuid | tr A-F a-f; }
# the input's firmware partition files and the slot's block index (docs/delta.md)
slot_files() { (cd inp && { find . -type f; echo ./rootfs.idx; } | sort | tr '\n' ' '); }
for s in a b; do
	k=$([ $s = a ] && echo 5 || echo 6) root=$([ $s = a ] && echo 2 || echo 3)
	rm -rf "p$s" && mkdir "p$s" && mcopy -s -n -i "out.img@@$(pstart out.img $k)" '::*' "p$s/"
	is "$(cd "p$s" && find . -type f | sort | tr '\n' ' ')" "$(slot_files)" \
		"p$k (slot $s): the firmware partition's files, all of them, and the block index"
	same=0
	for f in $(cd inp && find . -type f ! -name cmdline.txt ! -name initrd.img); do
		cmp -s "inp/$f" "p$s/$f" || { same=1; echo "# differs: $f"; }
	done
	ok "$same" "p$k: every file but cmdline.txt and initrd.img byte for byte (config.txt, kernel, DTBs, overlays, firmware)"
	n=$(stat -c %s inp/initrd.img)
	check "p$k: initrd.img is the input's with aim-boot's cpio appended" \
		sh -c "cmp -s -n $n inp/initrd.img p$s/initrd.img && [ \$(stat -c %s p$s/initrd.img) -gt $n ]"
	want=$(sed -e "s/root=LABEL=armbi_root/root=PARTUUID=$(uuid $root)/" \
		-e 's/rootfstype=ext4/rootfstype=squashfs/' -e "s/\$/ panic=10 armimmutable.slot=$s/" inp/cmdline.txt)
	is "$(cat "p$s/cmdline.txt")" "$want" "p$k: cmdline.txt: root=PARTUUID of p$root, squashfs, panic=10, armimmutable.slot=$s"
done
mdir -/ -b -i "out.img@@$P1" :: | sed 's|^::/||' | sort >p1.ls
is "$(tr '\n' ' ' <p1.ls)" "autoboot.txt slot-a/ slot-a/slot.env slot-b/ slot-b/slot.env state-1.txt state-2.txt " \
	"p1: autoboot.txt, the state copies and each slot's slot.env, no boot files"
AB1=$'# armimmutable: written from the slot state (docs/rpi.md); do not edit\n[all]\ntryboot_a_b=1\nboot_partition=5\n[tryboot]\nboot_partition=5'
is "$(mtype -i "out.img@@$P1" ::autoboot.txt)" "$AB1" "autoboot.txt: slot a (p5) normally and on tryboot"
is "$(aim status --image out.img --json | jq -r '[.state.active, .autoboot.slot, .autoboot.tryboot_slot, .slots[0].good] | join(" ")')" \
	"a a a true" "status: slot a active and good, autoboot.txt names a twice"
is "$(mdir -/ -b -i "base.img@@$(pstart base.img 6)" :: 2>/dev/null | wc -l)" 0 "slot b empty: p6 is an empty FAT"
cp --sparse=always out.img g.img && truncate -s +256M g.img
check "first boot's growth: aim-boot grow-table grows p4 (last on disk) with p5/p6 in the table" \
	sh -c "'$AB' grow-table g.img | grep -q '^grow=grown:gpt p4' && sgdisk -v g.img | grep -q 'No problems found'"
is "$(pstart g.img 5)/$(pstart g.img 6)" "$P5/$P6" "growth: p5 and p6 stay"
rm -f g.img

# ---- install of a bundle made from the E image into slot b ----
check "keygen" aim -q keygen -W -p k.pub -s k.key
check "bundle create --from-image (E, version 99.1)" aim -q bundle create -k k.key -o v2.aimb \
	--from-image in.img --version 99.1
W="$TMP/w.img"
fresh() { rm -f "$W"; cp --sparse=always base.img "$W"; chmod 0666 "$W"; }
ab() { mtype -i "$W@@$P1" ::autoboot.txt | sed -n 's/^boot_partition=//p' | tr '\n' ' '; } # "ALL TRY "
js() { "$AIM" status --image "$W" --json | jq -r "$1"; }
fresh
aim install --image "$W" -p k.pub v2.aimb >out 2>err
is "$?" 0 "install into slot b of the image"
check "install says: on trial for one boot" grep -q "on trial for one boot" err
is "$(ab)" "5 6 " "autoboot.txt: [all] p5 (a), [tryboot] p6 (b)"
is "$(js '[.state.active, .state.trial_slot, .slots[1].tries_left, .slots[0].good, .slots[1].good] | join(" ")')" \
	"a b 1 true false" "state: a active and good, b on trial with one try"
rm -rf wb && mkdir wb && mcopy -s -n -i "$W@@$P6" '::*' wb/
is "$(cat wb/cmdline.txt)" "$(sed -e "s/root=LABEL=armbi_root/root=PARTUUID=$(uuid 3)/" \
	-e 's/rootfstype=ext4/rootfstype=squashfs/' -e 's/$/ panic=10 armimmutable.slot=b/' inp/cmdline.txt)" \
	"p6: the bundle's cmdline.txt rewritten for slot b"
check "p6: the bundle's config.txt is the input's" cmp inp/config.txt wb/config.txt
check "p6: the bundle's kernel is the input's" cmp inp/vmlinuz wb/vmlinuz
is "$(sha_range "$W" "$P5" 1048576)" "$(sha_range base.img "$P5" 1048576)" "p5 (slot a's boot files) untouched"
check "slot b's slot.env on p1" sh -c "mtype -i '$W@@$P1' ::slot-b/slot.env | grep -q '^version=99.1'"
is "$(js .autoboot.tryboot_slot)" b "status --json: tryboot slot b"
"$AIM" status --image "$W" >st.txt
check "status: next boot a, b after reboot '0 tryboot'" grep -q "^next boot: *slot a; reboot '0 tryboot': slot b (trial)" st.txt
cp --sparse=always "$W" trial.img

# A fake sysfs: mmcblk0 with partitions 1-6 (as t0080 does for aim-boot plan)
S=$TMP/sys
mkdir -p "$S/class/block" "$S/devices/mmcblk0"
echo 179:0 >"$S/devices/mmcblk0/dev"
ln -s ../../devices/mmcblk0 "$S/class/block/mmcblk0"
for n in 1 2 3 4 5 6; do
	mkdir "$S/devices/mmcblk0/mmcblk0p$n"
	echo $n >"$S/devices/mmcblk0/mmcblk0p$n/partition"
	echo 179:$n >"$S/devices/mmcblk0/mmcblk0p$n/dev"
	ln -s ../../devices/mmcblk0/mmcblk0p$n "$S/class/block/mmcblk0p$n"
done
# plan SLOT [args]: aim-boot's decision for a boot that mounted SLOT's root
plan() {
	echo "root=PARTUUID=x rootwait armimmutable.slot=$1" >cmdline
	"$AB" plan --state-dir sd --cmdline cmdline --sysfs "$S" \
		--root-dev "mmcblk0p$([ "$1" = a ] && echo 2 || echo 3)" --commit
}
# The boot as aim-boot sees it, on the image's files: plan SLOT commits the state (and
# autoboot.txt) for a boot of SLOT, and the files go back onto p1.
boot_as() {
	rm -rf sd && mkdir sd
	mcopy -n -i "$W@@$P1" ::state-1.txt ::state-2.txt ::autoboot.txt sd/
	plan "$1" >plan.out 2>plan.err
	mcopy -o -n -i "$W@@$P1" sd/state-1.txt sd/state-2.txt sd/autoboot.txt ::/
}
# kept: reboot '0 tryboot' boots p6 (b); aim-boot takes the try; mark-good keeps it
boot_as b
is "$(sed -n 's/^slot=//p' plan.out)/$(sed -n 's/^trial=//p' plan.out)" "b/1" "trial boot of b: aim-boot plans slot b, trial"
is "$(ab)" "5 5 " "the try taken: [tryboot] back to a (any reboot before mark-good goes to a)"
check "mark-good b on the image" aim -q mark-good --image "$W" b
is "$(ab)" "6 6 " "kept: autoboot.txt [all] p6 (b)"
is "$(js '[.state.active, (.state.trial_slot // "-"), .slots[1].good, .slots[0].good] | join(" ")')" \
	"b - true true" "kept: b active and good, no trial, a still good"
# the next update goes to slot a: p5's old files all go first
aim install --image "$W" -p k.pub v2.aimb >/dev/null 2>err
is "$?" 0 "the next install, into slot a (its partition full)"
is "$(ab)" "6 5 " "autoboot.txt: [all] p6 (b), [tryboot] p5 (a)"
rm -rf wa && mkdir wa && mcopy -s -n -i "$W@@$P5" '::*' wa/
is "$(cd wa && find . -type f | sort | tr '\n' ' ')" "$(slot_files)" \
	"p5: the bundle's files, nothing left over"
check "p5: cmdline.txt for slot a" grep -q "root=PARTUUID=$(uuid 2) .*armimmutable.slot=a$" wa/cmdline.txt
# failed: the firmware boots [all] (a) after the trial, or after a normal reboot
cp --sparse=always trial.img "$W"
boot_as a
is "$(sed -n 's/^slot=//p' plan.out)" a "failed trial: aim-boot keeps slot a, which the firmware booted"
is "$(js '[.state.active, (.state.trial_slot // "-"), .slots[1].good] | join(" ")')" "a - false" \
	"failed: the trial is cancelled, a stays active"
check "failed: the reason names slot b" sh -c "'$AIM' status --image '$W' --json | jq -r .state.reason | grep -q 'slot b'"
is "$(ab)" "5 5 " "failed: autoboot.txt names a twice"

# ---- power cuts ----
# good_ab: [all]'s slot is good in the newest state; [tryboot]'s is good or the armed trial
good_ab() {
	local st all try
	st=$("$AIM" status --image "$W" --json) || return 1
	read -r all try <<<"$(ab)"
	all=$([ "$all" = 5 ] && echo 0 || echo 1) try=$([ "$try" = 5 ] && echo 0 || echo 1)
	[ "$(jq -r ".slots[$all].good" <<<"$st")" = true ] || return 1
	[ "$(jq -r ".slots[$try].good" <<<"$st")" = true ] ||
		[ "$(jq -r ".state.trial_slot" <<<"$st")" = "$([ $try = 0 ] && echo a || echo b)" ]
}
all_good() { # [all]'s slot is good in the newest state
	local all
	read -r all _ <<<"$(ab)"
	[ "$(js ".slots[$([ "$all" = 5 ] && echo 0 || echo 1)].good")" = true ]
}
cuts() { # NAME SETUP COMMAND...: cut COMMAND at each of its fault points
	local name=$1 setup=$2 n at bad=0 notcut=0
	shift 2
	$setup
	AIM_FAULT_COUNT="$TMP/count" "$@" >/dev/null 2>&1
	n=$(cat "$TMP/count" 2>/dev/null || echo 0)
	ok "$([ "$n" -ge 2 ]; echo $?)" "$name reaches $n fault points"
	for at in $(seq 1 "$n"); do
		$setup
		AIM_FAULT_AT=$at "$@" >/dev/null 2>"$TMP/err"
		[ $? = 75 ] || notcut=$((notcut + 1))
		good_ab || { bad=$((bad + 1)); echo "# $name cut at $at: autoboot.txt $(ab), state $(js -c .state)"; }
	done
	is "$notcut" 0 "$name: every cut (1..$n) stopped it at once"
	is "$bad" 0 "$name: after every cut autoboot.txt boots a good slot (or the armed trial on tryboot)"
}
cuts "install" fresh "$AIM" -q install --image "$W" -p k.pub v2.aimb
taken() { cp --sparse=always trial.img "$W"; boot_as b; }
cuts "mark-good" taken "$AIM" -q mark-good --image "$W" b
check "mark-good after a cut one: autoboot.txt follows" sh -c "'$AIM' -q mark-good --image '$W' b && [ \"\$(mtype -i '$W@@$P1' ::autoboot.txt | grep -c boot_partition=6)\" = 2 ]"
fallback_dir() {
	cp --sparse=always trial.img "$W"
	rm -rf sd && mkdir sd
	mcopy -n -i "$W@@$P1" ::state-1.txt ::state-2.txt ::autoboot.txt sd/
}
# aim-boot's own writes (state, then autoboot.txt) on a directory: cut each, then copy back
n=0 bad=0 heal=0
fallback_dir
AIM_FAULT_COUNT="$TMP/count" plan a >/dev/null 2>&1
n=$(cat "$TMP/count" 2>/dev/null || echo 0)
ok "$([ "$n" -ge 4 ]; echo $?)" "aim-boot's fallback write reaches $n fault points"
for at in $(seq 1 "$n"); do
	fallback_dir
	AIM_FAULT_AT=$at plan a >/dev/null 2>&1
	rm -f sd/*.tmp
	mcopy -o -n -i "$W@@$P1" sd/state-1.txt sd/state-2.txt sd/autoboot.txt ::/
	all_good || { bad=$((bad + 1)); echo "# aim-boot cut at $at: autoboot.txt $(ab)"; }
	plan a >/dev/null 2>&1 # the next boot, on slot a again
	mcopy -o -n -i "$W@@$P1" sd/state-1.txt sd/state-2.txt sd/autoboot.txt ::/
	[ "$(ab)" = "5 5 " ] || { heal=$((heal + 1)); echo "# aim-boot cut at $at: next boot left $(ab)"; }
done
is "$bad" 0 "aim-boot's fallback cut at each point: autoboot.txt's [all] is a good slot"
is "$heal" 0 "and the next boot (on a) leaves autoboot.txt naming a twice"
# ---- install on a running Pi: the device target over directories (AIM_BOOT_DIR: p1,
# AIM_BOOT_DIR.p5/.p6: the slots' partitions), slot b's partition a file in AIM_DEV_DIR ----
R=$TMP/run BD=$TMP/bootdir DV=$TMP/dev
mkdir -p "$R" "$DV" "$BD" "$BD.p5" "$BD.p6"
mcopy -s -n -i "base.img@@$P1" '::*' "$BD/"
mcopy -s -n -i "base.img@@$P5" '::*' "$BD.p5/"
printf 'slot=a\ntrial=0\nmode=persistent\nreason=\ndisk=mmcblk0\nroot_dev=mmcblk0p2\nboot_dev=mmcblk0p1\ndata_dev=mmcblk0p4\nstate_seq=1\n' >"$R/boot.env"
cp --sparse=always base.img "$DV/mmcblk0"
truncate -s "$(($(pfield base.img 3 size) * 512))" "$DV/mmcblk0p3"
pfield base.img 3 size >"$S/devices/mmcblk0/mmcblk0p3/size"
devi() { AIM_RUN_DIR="$R" AIM_BOOT_DIR="$BD" AIM_SYSFS="$S" AIM_DEV_DIR="$DV" "$AIM" "$@"; }
devi install -p k.pub v2.aimb >out 2>err
is "$?" 0 "device: install into slot b"
check "device: says to start it with reboot '0 tryboot'" grep -q "reboot '0 tryboot'" err
is "$(sed -n 's/^boot_partition=//p' "$BD/autoboot.txt" | tr '\n' ' ')" "5 6 " "device: autoboot.txt [all] 5, [tryboot] 6"
is "$(cat "$BD.p6/cmdline.txt")" "$(sed -e "s/root=LABEL=armbi_root/root=PARTUUID=$(uuid 3)/" \
	-e 's/rootfstype=ext4/rootfstype=squashfs/' -e 's/$/ panic=10 armimmutable.slot=b/' inp/cmdline.txt)" \
	"device: p6's cmdline.txt for slot b (the PARTUUID from the disk's table)"
check "device: p6 has the bundle's config.txt" cmp inp/config.txt "$BD.p6/config.txt"
is "$(ls "$BD/slot-b" | tr '\n' ' ')" "install.env slot.env slot.env.minisig " "device: p1 keeps only slot b's slot.env, its signature, install.env"
is "$(find "$BD.p5" -type f | wc -l)" "$(($(find inp -type f | wc -l) + 1))" "device: p5 (slot a) untouched"
rs=$(jq -r '.payloads[] | select(.kind == "rootfs") | .size' <<<"$("$AIM" bundle info --json v2.aimb)")
is "$(head -c "$rs" "$DV/mmcblk0p3" | sha256sum | cut -d' ' -f1)" \
	"$(jq -r '.payloads[] | select(.kind == "rootfs") | .sha256' <<<"$("$AIM" bundle info --json v2.aimb)")" \
	"device: slot b's partition holds the bundle's root"
is "$(devi status --json | jq -r '[.state.trial_slot, .autoboot.tryboot_slot] | join(" ")')" "b b" \
	"device: status shows the trial and autoboot.txt"
# --reboot: systemctl reboot '0 tryboot' (a stand-in systemctl records its arguments)
mkdir -p bin
printf '#!/bin/sh\nfor a in "$@"; do printf "[%%s]" "$a"; done >"%s/reboot.args"\n' "$TMP" >bin/systemctl
chmod +x bin/systemctl
rm -rf "$BD" "$BD.p5" "$BD.p6" && mkdir -p "$BD" "$BD.p5" "$BD.p6"
mcopy -s -n -i "base.img@@$P1" '::*' "$BD/"
mcopy -s -n -i "base.img@@$P5" '::*' "$BD.p5/"
PATH="$TMP/bin:$PATH" devi -q install --reboot -p k.pub v2.aimb >/dev/null 2>err
is "$?" 0 "device: install --reboot"
is "$(cat "$TMP/reboot.args" 2>/dev/null)" "[reboot][0 tryboot]" "--reboot runs systemctl reboot '0 tryboot'"
run_rc() { "$@" >/dev/null 2>&1; echo $?; }
is "$(run_rc "$AIM" install --reboot --image "$W" -p k.pub v2.aimb)" 2 "--reboot with --image: usage error"
done_testing
