#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The device verbs (status, mark-good, mark-bad, rollback, reset) on a converted image
# (--image, rootless), on a running-device layout (a fake /run/armimmutable/boot.env and
# the boot partition as a directory: AIM_RUN_DIR, AIM_BOOT_DIR), and on a real vfat mount
# of a loop device when root and the kernel allow it. Every error path: exit code and
# message. Power cuts: each state-changing verb is run once to count its fault points,
# then cut at every point in turn; after each cut the state must still name a good,
# bootable slot (status --json and aim-boot plan agree) and a rerun must succeed.
. "$(dirname "$0")/lib.sh"
AB="$AIM_TOP/$B/dev/x86_64/aim-boot"
export MTOOLS_SKIP_CHECK=1

in="$TMP/in.img"
base="$TMP/base.img"
need_sample "$in"
check "convert the sample (as an ordinary user)" as_user "$AIM" -q convert "$in" "$base"
[ -f "$base" ] || { done_testing; exit; }
as_user "$AIM" -q convert --slot-b empty "$in" "$TMP/empty-b.img" 2>/dev/null
p1=$(($(sfdisk -J "$base" | jq -r '.partitiontable.partitions[0].start') * 512))
W="$TMP/w.img"
fresh() { rm -f "$W"; cp --sparse=always "$base" "$W"; chmod 0666 "$W"; }
m() { "$@" -i "$W@@$p1"; } # m mtype ::state-1.txt
# run CMD...: output in $TMP/out, stderr in $TMP/err, exit code in $rc
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# expect RC WORD DESCRIPTION: the last run exited RC and its stderr mentions WORD
expect() {
	is "$rc" "$1" "$3: exit $1"
	if grep -q -- "$2" "$TMP/err"; then ok 0 "$3: message says '$2'"; else
		ok 1 "$3: message says '$2'"
		sed 's/^/#   /' "$TMP/err"
	fi
}
js() { "$AIM" status --image "$W" --json | jq -r "$1"; }
# state files of the image into a directory, for aim-boot plan
plan_image() {
	rm -rf "$TMP/sd" && mkdir "$TMP/sd"
	m mcopy -n ::state-1.txt ::state-2.txt "$TMP/sd/" 2>/dev/null
	echo "root=PARTUUID=x armimmutable.slot=${1:-a}" >"$TMP/cmdline"
	"$AB" plan --state-dir "$TMP/sd" --cmdline "$TMP/cmdline" >"$TMP/plan" 2>&1
}
pval() { sed -n "s/^$1=//p" "$TMP/plan"; }
# state FILE SEQ ACTIVE TRY TRIES_A TRIES_B GOOD_A GOOD_B: a record with its CRC32
state() {
	body=$(printf 'aim_seq=%s\naim_active=%s\naim_try=%s\naim_tries_a=%s\naim_tries_b=%s\naim_good_a=%s\naim_good_b=%s\naim_reason=\n' "$2" "$3" "$4" "$5" "$6" "$7" "$8")
	crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
	printf '%s\naim_crc=%s\n' "$body" "$crc" >"$1"
}

# ---- status of a fresh conversion ----
fresh
run as_user "$AIM" status --image "$W"
is "$rc" 0 "status --image: exit 0"
check "status names slot a good and active" grep -q '^slot a: .*good, active' "$TMP/out"
is "$(js .target)" image "json: target image"
is "$(js .state.valid)" true "json: state valid"
is "$(js .state.seq)" 1 "json: seq 1"
is "$(js .state.next_boot)" a "json: next boot a"
is "$(js '.slots[0].good')" true "json: slot a good"
is "$(js '.slots[1].good')" false "json: slot b (a copy, never booted) not good"
ver=$(js '.slots[0].version')
ok "$([ -n "$ver" ] && [ "$ver" != null ]; echo $?)" "json: slot a version from slot.env ($ver)"
is "$(js '.slots[1].board')" "$(js '.slots[0].board')" "json: slot b board = slot a board"
is "$(js '.slots[1].partition.offset > .slots[0].partition.offset')" true \
	"json: slot partitions in order"
is "$(js .factory_reset_pending)" false "json: no factory reset pending"
is "$(js '.slots | length')" 2 "json: two slots"

# ---- usage errors (exit 2) ----
run "$AIM" status --bogus
expect 2 "unknown option --bogus" "status --bogus"
run "$AIM" mark-good --image "$W"
expect 2 "name the slot" "mark-good --image without a slot"
run "$AIM" mark-bad --image "$W" c
expect 2 "no such slot 'c'" "mark-bad c"
run "$AIM" rollback --image "$W" a
expect 2 "unexpected argument 'a'" "rollback with an argument"
run "$AIM" reset --image
expect 2 "needs an argument" "reset --image without a value"
for v in status mark-good mark-bad rollback reset; do
	run "$AIM" $v --help
	is "$rc" 0 "$v --help: exit 0"
	check "$v --help documents the exit status" grep -q 'Exit status' "$TMP/out"
done

# ---- failures (exit 1) ----
run "$AIM" status --image "$TMP/none.img"
expect 1 "cannot open" "status of a missing image"
run "$AIM" status --image "$in"
expect 1 "not a converted image" "status of an unconverted image"
run "$AIM" rollback --image "$W"
expect 1 "slot b is not good" "rollback to a slot never marked good"
run "$AIM" mark-bad --image "$W" a
expect 1 "slot a is the active slot" "mark-bad of the active slot"
cp --sparse=always "$TMP/empty-b.img" "$TMP/e.img"
run "$AIM" rollback --image "$TMP/e.img"
expect 1 "slot b is empty" "rollback to an empty slot"
run "$AIM" mark-good --image "$TMP/e.img" b
expect 1 "slot b is empty" "mark-good of an empty slot"
is "$("$AIM" status --image "$TMP/e.img" --json | jq -r '.slots[1].empty')" true "json: empty slot b"

# ---- the verbs on an image ----
run as_user "$AIM" mark-good --image "$W" b
is "$rc" 0 "mark-good b (as an ordinary user)"
check "mark-good says what it wrote" grep -q 'slot b marked good (state seq 2, state-2.txt)' "$TMP/out"
check "state-2.txt: aim_active=b" sh -c "mtype -i '$W@@$p1' ::state-2.txt | grep -qx aim_active=b"
check "state-2.txt: aim_good_b=1" sh -c "mtype -i '$W@@$p1' ::state-2.txt | grep -qx aim_good_b=1"
check "state-1.txt untouched (seq 1)" sh -c "mtype -i '$W@@$p1' ::state-1.txt | grep -qx aim_seq=1"
plan_image b
is "$(pval slot)" b "aim-boot plan reads the new state: slot b"
is "$(pval state_seq)" 2 "aim-boot plan: seq 2"
run "$AIM" mark-good --image "$W" b
check "mark-good again: already good, exit 0" grep -q 'already good' "$TMP/out"
run "$AIM" rollback --image "$W"
is "$rc" 0 "rollback from b to a"
is "$(js .state.active)" a "json: a active"
is "$(js .state.reason)" "rollback requested" "json: reason"
is "$(js .state.seq)" 3 "json: seq 3"
is "$(js .state.copy)" 1 "json: written to copy 1 (the older)"
run "$AIM" mark-bad --image "$W" b
is "$rc" 0 "mark-bad b"
is "$(js '.slots[1].good')" false "json: b not good"
is "$(js .state.reason)" "slot b marked bad" "json: reason names b"
run "$AIM" rollback --image "$W"
expect 1 "slot b is not good" "rollback after mark-bad refused"
run "$AIM" reset --image "$W"
is "$rc" 0 "reset"
check "/factory-reset exists, empty" sh -c "[ -z \"\$(mtype -i '$W@@$p1' ::factory-reset)\" ] && mdir -b -i '$W@@$p1' ::factory-reset"
is "$(js .factory_reset_pending)" true "json: factory reset pending"
run "$AIM" reset --image "$W" --cancel
is "$rc" 0 "reset --cancel"
check "/factory-reset gone" sh -c "! mdir -b -i '$W@@$p1' ::factory-reset 2>/dev/null"
run "$AIM" reset --image "$W" --cancel
check "reset --cancel with nothing pending: exit 0" sh -c "[ $rc = 0 ] && grep -q 'no factory reset pending' '$TMP/out'"

# a trial slot on the image (written by hand): mark-bad b cancels it
img_trial() { fresh; state "$TMP/st" 5 a b 0 3 1 0; m mcopy -o "$TMP/st" ::state-2.txt; }
img_trial
is "$(js .state.next_boot)" b "image json: next boot b (on trial)"
run "$AIM" rollback --image "$W"
is "$rc" 0 "image rollback from the trial slot"
is "$(js .state.next_boot)" a "image json: next boot a"
img_trial
run "$AIM" mark-bad --image "$W" b
is "$rc" 0 "image mark-bad of the trial slot"
is "$(js .state.trial_slot)" null "image json: trial cancelled"

# both copies corrupt: status says so, exit 1; mark-good starts over like aim-boot
fresh
printf 'garbage\n' >"$TMP/g"
m mcopy -o "$TMP/g" ::state-1.txt
m mcopy -o "$TMP/g" ::state-2.txt
run "$AIM" status --image "$W" --json
is "$rc" 1 "status with two corrupt copies: exit 1"
is "$(jq -r .state.valid "$TMP/out")" false "json: state invalid"
check "json: the error names both copies" sh -c "jq -r .state.error '$TMP/out' | grep -q 'copy 1: .*copy 2: '"
check "stderr says no valid slot state" grep -q 'no valid slot state' "$TMP/err"
run "$AIM" rollback --image "$W"
expect 1 "no valid slot state" "rollback without a valid state"
run "$AIM" mark-good --image "$W" a
is "$rc" 0 "mark-good a writes a fresh state"
is "$(js .state.valid)" true "json: valid again"
is "$(js .state.active)" a "json: a active"

# ---- running-device layout: boot.env + boot partition directory ----
R="$TMP/run" BD="$TMP/bootdir"
mkdir -p "$R"
fresh
dev_boot() { # unpack the boot partition of $W into $BD
	rm -rf "$BD" && mkdir -p "$BD" && m mcopy -s -n '::*' "$BD/"
}
dev_boot
printf 'slot=a\ntrial=0\nmode=persistent\nreason=\ndisk=mmcblk9\nroot_dev=mmcblk9p2\nboot_dev=mmcblk9p1\ndata_dev=mmcblk9p4\nstate_seq=1\n' >"$R/boot.env"
dev() { AIM_RUN_DIR="$R" AIM_BOOT_DIR="$BD" "$AIM" "$@"; }
run env AIM_RUN_DIR="$TMP/nowhere" "$AIM" status
expect 1 "not booted by aim-boot" "status on a system without boot.env"
run dev status
is "$rc" 0 "device status"
check "device status: booted slot a" grep -q '^booted: *slot a' "$TMP/out"
check "device status: overlay mode" grep -q '^overlay: *persistent' "$TMP/out"
is "$(dev status --json | jq -r .booted_slot)" a "device json: booted a"
is "$(dev status --json | jq -r .target)" device "device json: target device"
run dev mark-good b
expect 1 "not the booted slot" "device mark-good of a slot not booted"
run dev mark-good
check "device mark-good (booted a): already good" grep -q 'slot a already good' "$TMP/out"
run dev mark-good --force b
is "$rc" 0 "device mark-good --force b"
is "$(dev status --json | jq -r .state.active)" b "device json: b active"
ls "$BD"/*.tmp >/dev/null 2>&1
ok $((! $?)) "no temporary files in the boot directory"
run dev rollback
check "device rollback from a: b already active" grep -q 'already the active slot' "$TMP/out"
run dev mark-bad
is "$rc" 0 "device mark-bad of the booted slot a after b became active"
check "mark-bad a says the next boot falls back" grep -q 'slot a marked bad.*next boot falls back' "$TMP/out"
dev_boot
run dev mark-bad
expect 1 "slot a is the active slot" "device mark-bad of the booted, active slot"
# booted b on trial (a state as install leaves it, written by hand)
dev_trial() { # the boot dir with b on trial, 2 tries left, booted b
	dev_boot
	state "$BD/state-2.txt" 5 a b 0 2 1 0
	sed -i 's/^slot=a/slot=b/; s/^trial=0/trial=1/' "$R/boot.env"
}
dev_trial
is "$(dev status --json | jq -r .state.trial_slot)" b "device json: b on trial"
check "device status: trial boot" grep -q 'trial boot' <(dev status)
run dev mark-bad
is "$rc" 0 "device mark-bad of the booted trial slot"
check "mark-bad says the next boot falls back" grep -q 'next boot falls back' "$TMP/out"
is "$(dev status --json | jq -r .state.next_boot)" a "device json: next boot a"
is "$(dev status --json | jq -r .state.trial_slot)" null "device json: trial cancelled"
is "$(sed -n 's/^aim_tries_b=//p' "$BD/state-1.txt")" 0 "state-1.txt: tries_b 0"
# mark-good on the trial slot: the change aim-boot mark-good makes (active, good, no
# trial, tries kept, seq + 1)
dev_trial
run dev mark-good
is "$rc" 0 "device mark-good of the booted trial slot"
rec=$(cat "$BD/state-1.txt")
is "$(printf '%s\n' "$rec" | head -n 8 | tr '\n' ' ')" \
	"aim_seq=6 aim_active=b aim_try= aim_tries_a=0 aim_tries_b=2 aim_good_a=1 aim_good_b=1 aim_reason= " \
	"state-1.txt: the same record aim-boot mark-good writes"
dev_trial
run dev rollback
is "$rc" 0 "device rollback from the trial slot b"
is "$(sed -n 's/^aim_reason=//p' "$BD/state-1.txt")" "rollback requested" "state-1.txt: reason"
is "$(dev status --json | jq -r .state.next_boot)" a "device json: next boot a"

# ---- power cuts ----
# cut_all NAME SETUP VERB...: count the points of VERB after SETUP, then cut at each one;
# after each cut the image must have a valid state whose next boot is a good slot, and
# rerunning the verb must succeed.
cut_all() {
	name=$1 setup=$2
	shift 2
	$setup
	AIM_FAULT_COUNT="$TMP/count" "$@" >/dev/null 2>"$TMP/err"
	rc=$?
	n=$(cat "$TMP/count" 2>/dev/null || echo 0)
	is "$rc" 0 "$name: uncut run succeeds"
	ok "$([ "$n" -ge 1 ]; echo $?)" "$name: $n fault points"
	good=0 rerun=0 cutok=0
	for at in $(seq 1 "$n"); do
		$setup
		AIM_FAULT_AT=$at "$@" >/dev/null 2>"$TMP/err"
		[ $? = 75 ] && cutok=$((cutok + 1))
		st_ok=0
		if $STATUS --json >"$TMP/sj" 2>/dev/null; then
			nb=$(jq -r .state.next_boot "$TMP/sj")
			[ "$(jq -r ".slots[] | select(.name == \"$nb\") | .good or .on_trial" "$TMP/sj")" = true ] && st_ok=1
		fi
		$PLAN
		if [ $st_ok = 1 ] && ! grep -q 'no valid slot state' "$TMP/plan" &&
			[ "$(pval slot)" = "$nb" ]; then
			good=$((good + 1))
		else
			echo "#   cut at $at: no good state (next boot '$nb')"
			sed 's/^/#   /' "$TMP/plan" | head -n 4
		fi
		"$@" >/dev/null 2>&1 && rerun=$((rerun + 1))
	done
	is "$cutok" "$n" "$name: cut at each of the $n points (exit 75)"
	is "$good" "$n" "$name: after each of the $n cuts a valid state names a good slot (status and aim-boot plan agree)"
	is "$rerun" "$n" "$name: the verb succeeds when rerun after each of the $n cuts"
	echo "# fault injection: $name: $n points cut, $good recovered"
}

# the injector itself: a point past the count, or garbage, cuts nothing
fresh
AIM_FAULT_AT=99 AIM_FAULT_COUNT="$TMP/count" "$AIM" mark-good --image "$W" b >/dev/null 2>&1
is "$?" 0 "AIM_FAULT_AT beyond the count: no cut"
is "$(cat "$TMP/count")" 1 "AIM_FAULT_COUNT written at exit (1 point)"
AIM_FAULT_AT=x1 "$AIM" rollback --image "$W" >/dev/null 2>&1
is "$?" 0 "AIM_FAULT_AT not a number: ignored"
AIM_FAULT_COUNT="$TMP/count" "$AIM" status --image "$W" >/dev/null 2>&1
is "$(cat "$TMP/count")" 0 "status reaches no fault point (it writes nothing)"

# image: mtools writes (the older copy only)
img_setup_b_good() { fresh; "$AIM" -q mark-good --image "$W" b >/dev/null; }
STATUS="$AIM status --image $W" PLAN="plan_image"
cut_all "image mark-bad b (on trial)" img_trial "$AIM" mark-bad --image "$W" b
cut_all "image mark-good b" fresh "$AIM" mark-good --image "$W" b
cut_all "image rollback" img_setup_b_good "$AIM" rollback --image "$W"
cut_all "image reset" fresh "$AIM" reset --image "$W"

# device layout: temp file, write, fsync, rename, directory fsync
plan_dir() {
	echo "root=PARTUUID=x armimmutable.slot=a" >"$TMP/cmdline"
	"$AB" plan --state-dir "$BD" --cmdline "$TMP/cmdline" >"$TMP/plan" 2>&1
}
dev_setup() { fresh; dev_boot; sed -i 's/^slot=b/slot=a/; s/^trial=1/trial=0/' "$R/boot.env"; }
dev_setup_both_good() { dev_setup; state "$BD/state-2.txt" 5 a "" 0 0 1 1; }
STATUS="dev status" PLAN="plan_dir"
cut_all "device mark-good --force b" dev_setup dev mark-good --force b
cut_all "device rollback (a to b)" dev_setup_both_good dev rollback
cut_all "device mark-bad (booted trial b)" dev_trial dev mark-bad
cut_all "device mark-good (booted trial b)" dev_trial dev mark-good
cut_all "device reset" dev_setup dev reset

# ---- a real mount of a loop device (root and loop devices needed) ----
# The converted image itself when the kernel has vfat; else a disk whose p1 is an ext4
# copy of the boot partition (AIM_BOOT_FSTYPE=ext4), which exercises the same libmount,
# namespace, write and unmount code.
loop_disk() { # sets LD (the disk image) and FST
	if grep -qw vfat /proc/filesystems || modprobe vfat 2>/dev/null; then
		fresh
		LD=$W FST=vfat
	else
		fresh
		dev_boot
		LD=$TMP/ext.img FST=ext4
		rm -f "$LD" "$TMP/p1.ext4"
		truncate -s 64M "$LD"
		printf '1M,16M,83\n,16M,83\n,16M,83\n,8M,83\n' | sfdisk -q "$LD" >/dev/null
		mke2fs -q -t ext4 -d "$BD" "$TMP/p1.ext4" 16M >/dev/null 2>&1
		dd if="$TMP/p1.ext4" of="$LD" bs=1M seek=1 conv=notrunc status=none
	fi
}
loop_attach() { # sets L, n and writes boot.env
	L=$(losetup -P -f --show "$LD" 2>/dev/null) || return 1
	[ -e "${L}p1" ] || partx -a "$L" 2>/dev/null
	n=${L#/dev/}
	printf 'slot=a\ntrial=0\nmode=persistent\nreason=\ndisk=%s\nroot_dev=%sp2\nboot_dev=%sp1\ndata_dev=%sp4\nstate_seq=1\n' "$n" "$n" "$n" "$n" >"$R/boot.env"
}
ldev() { AIM_RUN_DIR="$R" AIM_BOOT_FSTYPE=$FST "$AIM" "$@"; }
if [ "$(id -u)" != 0 ]; then
	skip "real boot partition mount: not root"
elif ! loop_disk || ! loop_attach; then
	skip "real boot partition mount: no loop device"
elif [ ! -b "${L}p1" ]; then
	losetup -d "$L"
	skip "real boot partition mount: no partitions on the loop device"
else
	echo "# loop device $L, boot partition type $FST"
	[ "$FST" = vfat ] && p1=$(($(sfdisk -J "$LD" | jq -r '.partitiontable.partitions[0].start') * 512))
	run ldev status --json
	is "$rc" 0 "loop: status on the mounted boot partition ($FST)"
	is "$(jq -r .booted_slot "$TMP/out")" a "loop: booted a"
	is "$(jq -r .state.valid "$TMP/out")" true "loop: state valid"
	is "$(jq -r '.slots[1].partition.path' "$TMP/out")" "/dev/${n}p3" "loop: slot b is ${n}p3"
	is "$(jq -r '.slots[1].partition.size' "$TMP/out")" $((16 << 20)) "loop: slot b size from sysfs"
	run ldev mark-good b
	expect 1 "not the booted slot" "loop: mark-good b refused"
	run ldev mark-good --force b
	is "$rc" 0 "loop: mark-good --force b"
	run ldev reset
	is "$rc" 0 "loop: reset"
	check "loop: nothing left mounted" sh -c "! grep -q ' $R/boot-mnt ' /proc/self/mountinfo"
	run ldev status --json
	is "$(jq -r .state.active "$TMP/out")" b "loop: b active, read back through a new mount"
	is "$(jq -r .factory_reset_pending "$TMP/out")" true "loop: reset pending"
	# power cuts on the real mount: b is active, a booted: mark-bad a
	AIM_FAULT_COUNT="$TMP/count" ldev reset --cancel >/dev/null 2>&1
	nc=$(cat "$TMP/count")
	ldev reset >/dev/null 2>&1
	AIM_FAULT_COUNT="$TMP/count" ldev mark-bad a >/dev/null 2>&1
	n2=$(cat "$TMP/count")
	restore() { ldev -q mark-good --force a >/dev/null 2>&1; ldev -q mark-good --force b >/dev/null 2>&1; }
	restore
	good=0
	for at in $(seq 1 "$n2"); do
		AIM_FAULT_AT=$at ldev mark-bad a >/dev/null 2>&1
		cut=$?
		if [ $cut = 75 ] && ldev status --json >"$TMP/sj" 2>/dev/null &&
			! grep -q " $R/boot-mnt " /proc/self/mountinfo; then
			nb=$(jq -r .state.next_boot "$TMP/sj")
			[ "$(jq -r ".slots[] | select(.name == \"$nb\") | .good" "$TMP/sj")" = true ] && good=$((good + 1))
		fi
		restore
	done
	ok "$([ "$n2" -ge 4 ]; echo $?)" "loop: mark-bad reaches $n2 fault points (reset --cancel: $nc)"
	is "$good" "$n2" "loop: cut at each of the $n2 points: a valid state with a good next slot, no mount left"
	echo "# fault injection: loop mount mark-bad: $n2 points cut, $good recovered"
	losetup -d "$L"
	if [ "$FST" = vfat ]; then
		check "loop: state written through the mount is readable by mtools" sh -c "mtype -i '$LD@@$p1' ::state-1.txt | grep -q aim_seq"
	fi
fi
done_testing
