#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-boot's decision core on the host: `aim-boot plan` over a fake sysfs and a state
# directory: fresh state, trial counting, U-Boot's bootcount, fallback with reason,
# corrupt copies, and its failures (exit code and message); dm-verity: slot.env's
# signature against --keys (minisign-made), a refused slot given up in the state, the
# corruption rule of the active slot.
. "$(dirname "$0")/lib.sh"
AB="$AIM_TOP/$B/dev/x86_64/aim-boot"
[ -x "$AB" ] || { echo "1..0 # SKIP no $AB"; exit 0; }

S=$TMP/sys D=$TMP/state
mkdir -p "$S/class/block" "$S/devices/vda" "$D"
echo 254:0 >"$S/devices/vda/dev"
ln -s ../../devices/vda "$S/class/block/vda"
for n in 1 2 3 4; do
	mkdir "$S/devices/vda/vda$n"
	echo $n >"$S/devices/vda/vda$n/partition"
	echo 254:$n >"$S/devices/vda/vda$n/dev"
	ln -s ../../devices/vda/vda$n "$S/class/block/vda$n"
done
mkdir -p "$S/devices/vdb/vdb2" && echo 2 >"$S/devices/vdb/vdb2/partition"
ln -s ../../devices/vdb/vdb2 "$S/class/block/vdb2"

# state FILE SEQ ACTIVE TRY TRIES_A TRIES_B GOOD_A GOOD_B: a record with its CRC32
state() {
	body=$(printf 'aim_seq=%s\naim_active=%s\naim_try=%s\naim_tries_a=%s\naim_tries_b=%s\naim_good_a=%s\naim_good_b=%s\naim_reason=\n' "$2" "$3" "$4" "$5" "$6" "$7" "$8")
	crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
	printf '%s\naim_crc=%s\n' "$body" "$crc" >"$1"
}
plan() { # plan SLOT ROOTDEV [args]: output in $TMP/out, exit code in $rc
	printf 'root=PARTUUID=12345678-0%s rootwait armimmutable.slot=%s quiet\n' \
		"${2#vda}" "$1" >"$TMP/cmdline"
	r=$2
	shift 2
	"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$D" --sysfs "$S" --root-dev "$r" "$@" \
		>"$TMP/out" 2>"$TMP/err"
	rc=$?
}
val() { sed -n "s/^$1=//p" "$TMP/out"; }

# fresh: no state yet
plan a vda2
is "$rc" 0 "fresh: plan succeeds"
is "$(val slot)" a "fresh: slot a"
is "$(val boot_dev) $(val data_dev) $(val disk)" "vda1 vda4 vda" "devices found via sysfs"
is "$(val state_write)" state-1.txt "fresh: writes state-1.txt"
check "fresh: reason says there was no state" grep -q 'no valid slot state' "$TMP/out"
plan a vda2 --commit
check "commit wrote state-1.txt" grep -q '^aim_active=a$' "$D/state-1.txt"
plan a vda2
is "$(val state_write) $(val reason)" "none " "second boot: nothing to write, no reason"

# trial of b with 2 tries (copy 2 newest)
state "$D/state-2.txt" 5 a b 0 2 1 0
plan b vda3 --commit
is "$(val slot) $(val trial)" "b 1" "trial: boots b on trial"
is "$(val state_write)" state-1.txt "trial: writes the older copy 1"
check "trial: copy 1 has seq 6, one try left" grep -qz 'aim_seq=6.*aim_tries_b=1' "$D/state-1.txt"

# U-Boot counted this boot too: consumed once, not twice
printf 'aim_bc=1\naim_bc_seq=6\n' >"$D/bootcount.txt"
plan b vda3 --commit
is "$(val slot) $(val trial) $(val state_seq)" "b 1 7" "U-Boot count consumed (no double count)"
check "copy 2 now seq 7 with 0 tries" grep -qz 'aim_seq=7.*aim_tries_b=0' "$D/state-2.txt"

# out of tries: U-Boot falls back to a; the helper records why
plan a vda2 --commit
is "$(val slot) $(val trial)" "a 0" "exhausted: slot a"
check "exhausted: reason recorded" grep -q '^reason=slot b ran out of tries' "$TMP/out"
check "fallback written: trial cancelled" grep -q '^aim_try=$' "$D/state-1.txt"
check "fallback written: reason stored" grep -q '^aim_reason=slot b ran out of tries' "$D/state-1.txt"

# a kernel of slot b runs although the state chose a: keep b, say so
state "$D/state-1.txt" 20 a "" 0 0 1 0
state "$D/state-2.txt" 19 a "" 0 0 1 0
plan a vda3
is "$(val slot)" b "mounted slot wins over the state"
check "mismatch named" grep -q 'command line says slot a but slot b is mounted' "$TMP/out"

# corrupt newest copy: the older valid one is used
state "$D/state-2.txt" 30 a b 0 3 1 0
sed -i 's/aim_tries_b=3/aim_tries_b=9/' "$D/state-2.txt"
plan a vda2
is "$(val state_seq) $(val trial)" "20 0" "corrupt copy 2 ignored, copy 1 (seq 20) used"

# both corrupt: fresh state, reason names the CRC problem
printf 'garbage\n' >"$D/state-1.txt"
plan a vda2
check "both corrupt: reason names the copies" grep -q 'copy 1: line garbage' "$TMP/out"
check "both corrupt: CRC mismatch named" grep -q 'CRC mismatch' "$TMP/out"

# conf and cmdline override of the overlay mode
printf 'OVERLAY=tmpfs\nPERSIST="/home /etc/ssh"\n' >"$TMP/conf"
plan a vda2 --conf "$TMP/conf"
is "$(val mode)" tmpfs "OVERLAY=tmpfs from the conf"
is "$(sed -n 's/^persist=//p' "$TMP/out" | tr '\n' ' ')" "/home /etc/ssh " "persistent paths"
printf 'armimmutable.overlay=persistent armimmutable.slot=a\n' >"$TMP/cmdline"
"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$D" --conf "$TMP/conf" >"$TMP/out"
is "$(val mode)" persistent "armimmutable.overlay= on the cmdline wins"

# the trial watchdog's timeout: default, conf, cmdline override, bad values
is "$(val trial_timeout)" 600 "trial_timeout defaults to 600 s"
printf 'TRIAL_TIMEOUT=90\n' >"$TMP/conf"
"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$D" --conf "$TMP/conf" >"$TMP/out"
is "$(val trial_timeout)" 90 "TRIAL_TIMEOUT=90 from the conf"
printf 'armimmutable.slot=a armimmutable.trial_timeout=0\n' >"$TMP/cmdline"
"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$D" --conf "$TMP/conf" >"$TMP/out"
is "$(val trial_timeout)" 0 "armimmutable.trial_timeout= on the cmdline wins"
printf 'TRIAL_TIMEOUT=ten\n' >"$TMP/conf"
"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$D" --conf "$TMP/conf" >/dev/null 2>"$TMP/err"
is $? 1 "bad TRIAL_TIMEOUT: exit 1"
check "bad TRIAL_TIMEOUT named" grep -q 'bad TRIAL_TIMEOUT=ten' "$TMP/err"
printf 'armimmutable.slot=a armimmutable.trial_timeout=-1\n' >"$TMP/cmdline"
"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$D" >/dev/null 2>"$TMP/err"
is $? 1 "bad armimmutable.trial_timeout=: exit 1"

# failures: exit code and message
plan a vda1
is "$rc" 1 "root on partition 1: fails"
check "... message says it is not a slot" grep -q 'partition 1, not a slot' "$TMP/err"
plan a vdb2
is "$rc" 1 "root on a disk without boot/data: fails"
check "... message names partition 4" grep -q 'no partition 1 (boot) on vdb' "$TMP/err"
plan a nosuch
is "$rc" 1 "unknown root device fails"
check "... message names it" grep -q 'nosuch is not a partition' "$TMP/err"
plan c vda2
is "$rc" 1 "bad armimmutable.slot fails"
check "... message names the word" grep -q 'bad armimmutable.slot=c' "$TMP/err"
printf 'OVERLAY=zram\n' >"$TMP/conf"
plan a vda2 --conf "$TMP/conf"
is "$rc" 1 "bad OVERLAY fails"
check "... message names it" grep -q 'bad OVERLAY=zram' "$TMP/err"
printf 'KEEP_IDENTITY=maybe\n' >"$TMP/conf"
plan a vda2 --conf "$TMP/conf"
is "$rc" 1 "bad KEEP_IDENTITY fails"
check "... message names it" grep -q 'bad KEEP_IDENTITY=maybe (yes or no)' "$TMP/err"
printf 'KEEP_IDENTITY=no\nOVERLAY=tmpfs\n' >"$TMP/conf"
plan a vda2 --conf "$TMP/conf"
is "$rc" 0 "KEEP_IDENTITY=no is accepted"
printf 'PERSIST="/home ../etc"\n' >"$TMP/conf"
plan a vda2 --conf "$TMP/conf"
check "bad persistent path named" grep -q "bad persistent path '../etc'" "$TMP/err"
"$AB" plan --cmdline "$TMP/cmdline" >/dev/null 2>"$TMP/err"
is "$?" 1 "plan without --state-dir fails"
check "... message names --state-dir" grep -q -- '--state-dir' "$TMP/err"
"$AB" plan --cmdline "$TMP/nope" --state-dir "$D" >/dev/null 2>"$TMP/err"
check "missing cmdline file named" grep -q "cannot read $TMP/nope" "$TMP/err"
"$AB" frobnicate >/dev/null 2>&1
is "$?" 2 "unknown verb: usage, exit 2"
mkdir -p "$TMP/ro" && chmod 0555 "$TMP/ro"
if [ "$(id -u)" != 0 ]; then
	"$AB" plan --cmdline "$TMP/cmdline" --state-dir "$TMP/ro" --commit >/dev/null 2>"$TMP/err"
	is "$?" 1 "commit to a read-only dir fails"
	check "... message says the trial is not counted" grep -q 'cannot write the slot state' "$TMP/err"
else
	skip "read-only state dir (running as root)"
	skip "read-only state dir message (running as root)"
fi
# ---- dm-verity: slot.env checked against the trusted keys (as in the initramfs) ----
D=$TMP/vstate K=$TMP/keys
mkdir -p "$D/slot-a" "$K"
ROOT=4392712ba01368efdf14b05c76f9e4df0d53664630b5d48632ed17a137f39076
SALT=1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff001
printf 'version=1\nverity=1\nverity_alg=sha256\nverity_block=4096\nverity_data_blocks=2048\nverity_hash_offset=8388608\nverity_salt=%s\nverity_root=%s\n' \
	"$SALT" "$ROOT" >"$D/slot-a/slot.env"
state "$D/state-1.txt" 10 a "" 0 0 1 1
plan a vda2
is "$(val verity) $(val verity_root) $(val verity_signed)" "1 $ROOT -" \
	"no keys: verity from slot.env, unsigned"
if command -v minisign >/dev/null 2>&1; then
	minisign -G -W -p "$K/k.pub" -s "$TMP/k.key" >/dev/null </dev/null
	id=$(sed -n 's/^untrusted comment: minisign public key //p' "$K/k.pub")
	minisign -S -s "$TMP/k.key" -m "$D/slot-a/slot.env" -x "$D/slot-a/slot.env.minisig" \
		>/dev/null </dev/null
	plan a vda2 --keys "$K"
	is "$(val verity) $(val verity_signed) $(val refused)" "1 $id " \
		"keys: slot.env signed by the trusted key (minisign -S): verity, signer named"
	cp "$D/slot-a/slot.env" "$TMP/env.good"
	sed -i "s/^verity_root=4/verity_root=5/" "$D/slot-a/slot.env"
	plan a vda2 --keys "$K"
	check "root hash edited, signature left: refused" grep -q \
		'^refused=slot.env signature: signature verification failed' "$TMP/out"
	plan a vda2 --keys "$K" --commit
	check "refused active slot with a good b: the state makes b active" \
		grep -qz 'aim_seq=11.*aim_active=b.*aim_good_a=0.*aim_reason=slot a refused: slot.env signature' \
		"$D/state-2.txt"
	cp "$TMP/env.good" "$D/slot-a/slot.env" && mv "$D/slot-a/slot.env.minisig" "$TMP/sig"
	rm -f "$D/state-2.txt"
	plan a vda2 --keys "$K"
	is "$(val refused)" "slot.env is not signed" "keys, no signature: refused"
	grep -v '^verity' "$TMP/env.good" >"$D/slot-a/slot.env"
	minisign -S -s "$TMP/k.key" -m "$D/slot-a/slot.env" -x "$D/slot-a/slot.env.minisig" \
		>/dev/null </dev/null
	plan a vda2 --keys "$K"
	is "$(val refused)" "slot.env: no verity keys" "keys, signed slot.env without verity: refused"
	plan a vda2
	is "$(val verity) $(val refused)" "0 " "no keys, no verity keys: booted as before"
else
	for i in 1 2 3 4 5 6; do skip "minisign missing"; done
fi
# the corruption rule: U-Boot counted 3 boots of the good active a and booted b
rm -f "$D"/state-*.txt
state "$D/state-1.txt" 20 a "" 0 0 1 1
printf 'aim_bc=3\naim_bc_seq=20\n' >"$D/bootcount.txt"
plan b vda3 --commit
is "$(val slot) $(val reason)" "b slot a failed 3 boots in a row before boot-complete: now b" \
	"corruption rule: b booted by U-Boot after 3 failed boots of a becomes active"
check "corruption rule: the state says so (a not good, b active, seq 21)" \
	grep -qz 'aim_seq=21.*aim_active=b.*aim_good_a=0.*aim_good_b=1' "$D/state-2.txt"
printf 'aim_bc=2\naim_bc_seq=21\n' >"$D/bootcount.txt"
plan b vda3
is "$(val state_write)" none "the next boot of b: nothing to write"

for a in arm64 armhf x86_64; do
	check "$a build is static" sh -c "file '$AIM_TOP/$B/dev/$a/aim-boot' | grep -q 'statically linked'"
done
# initramfs-tools scripts: syntax and the prereqs protocol
for f in hooks/armimmutable scripts/local-bottom/armimmutable; do
	check "$f: sh -n" sh -n "$AIM_TOP/hooks/initramfs-tools/$f"
	is "$(sh "$AIM_TOP/hooks/initramfs-tools/$f" prereqs)" "" "$f: prereqs prints none"
done
echo "1..$T_N"
[ "$T_FAIL" = 0 ]
