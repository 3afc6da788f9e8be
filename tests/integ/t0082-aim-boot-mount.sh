#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-boot's real mount path, end to end, on a loop device in a private mount namespace:
# a 4-partition disk (FAT boot with a trial state, squashfs slots a and b, ext4 data),
# slot b's squashfs mounted at NEWROOT like initramfs-tools does, then
# `aim-boot overlay NEWROOT`: overlay root, per-slot upper on the data partition, the
# persistent bind, boot.env, the trial counted in the state on the FAT partition; and a
# broken data partition makes it fail loudly. Needs root and loop devices: skipped
# otherwise (the decision logic is covered rootless by t0080).
. "$(dirname "$0")/lib.sh"
AB="$AIM_TOP/$B/dev/x86_64/aim-boot"
[ -x "$AB" ] || { echo "1..0 # SKIP no $AB"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (loop devices, mounts)"; exit 0; }
for c in losetup unshare mksquashfs mkfs.vfat mkfs.ext4 mcopy mtype mmd sfdisk; do
	command -v $c >/dev/null || { echo "1..0 # SKIP $c missing"; exit 0; }
done
LOOP=""
trap '[ -n "$LOOP" ] && losetup -d "$LOOP"; rm -rf "$TMP"' EXIT

MiB=1048576
mkdir -p "$TMP/root/etc/armimmutable" "$TMP/root/sbin" "$TMP/root/home" "$TMP/root/run"
printf 'OVERLAY=persistent\nPERSIST="/home"\n' >"$TMP/root/etc/armimmutable/armimmutable.conf"
echo init >"$TMP/root/sbin/init"
echo A >"$TMP/root/slot"
mksquashfs "$TMP/root" "$TMP/a.sqfs" -quiet -noappend >/dev/null
echo B >"$TMP/root/slot"
mksquashfs "$TMP/root" "$TMP/b.sqfs" -quiet -noappend >/dev/null
D=$TMP/disk.img
truncate -s 64M "$D"
printf 'start=2048,size=32768,type=c\nstart=34816,size=16384\nstart=51200,size=16384\nstart=67584,type=83\n' |
	sfdisk -q "$D"
mkfs.vfat -n ARMBI_BOOT --offset 2048 "$D" 16384 2>/dev/null >/dev/null
dd if="$TMP/a.sqfs" of="$D" bs=512 seek=34816 conv=notrunc status=none
dd if="$TMP/b.sqfs" of="$D" bs=512 seek=51200 conv=notrunc status=none
mkfs.ext4 -q -F -L armi_data -E offset=$((67584 * 512)) "$D" 30M
body=$(printf 'aim_seq=5\naim_active=a\naim_try=b\naim_tries_a=0\naim_tries_b=2\naim_good_a=1\naim_good_b=0\naim_reason=\n')
crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
printf '%s\naim_crc=%s\n' "$body" "$crc" >"$TMP/state"
mcopy -i "$D@@1M" "$TMP/state" ::/state-1.txt
ok $? "fixture disk built"

LOOP=$(losetup -P -f --show "$D") || { ok 1 "losetup"; echo "1..$T_N"; exit 1; }
L=${LOOP#/dev/}
# The partition scan of losetup -P does not always show up in containers: ask again.
[ -e "/sys/class/block/${L}p4" ] || partx -a "$LOOP" 2>/dev/null
i=0
while [ ! -e "/sys/class/block/${L}p4" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "/sys/class/block/${L}p4" ] || { echo "1..0 # SKIP no partition devices for $LOOP"; exit 0; }
for n in 1 2 3 4; do
	[ -e "/dev/${L}p$n" ] || mknod "/dev/${L}p$n" b $(tr ':' ' ' <"/sys/class/block/${L}p$n/dev")
done
ok 0 "loop device $LOOP with partitions"

# run AIMBOOT: inside a private mount namespace with its own /run
run() {
	unshare -m sh -c '
		mount --make-rprivate / && mount -t tmpfs aimtest /run && mkdir /run/newroot &&
		mount -t squashfs -o ro "$1" /run/newroot || exit 9
		"$2" overlay /run/newroot 2>"$3/stderr"; echo "rc=$?" >"$3/result"
		cat /run/armimmutable/boot.env >"$3/boot.env" 2>/dev/null
		cat /run/newroot/slot >"$3/slot" 2>/dev/null
		echo hello 2>/dev/null >/run/newroot/home/h && echo etc >/run/newroot/etc/e
		ls /run/aim/data/persist/home >"$3/persist" 2>/dev/null
		ls /run/aim/data/overlay/b/upper/etc >"$3/upper" 2>/dev/null
		grep " /run/newroot " /proc/self/mounts >"$3/mounts"
		true' sh "$1" "$AB" "$TMP"
}
run "/dev/${L}p3"
is "$(cat "$TMP/result")" "rc=0" "aim-boot overlay succeeds"
sed 's/^/#   /' "$TMP/stderr"
is "$(cat "$TMP/slot")" B "NEWROOT shows slot b's squashfs"
check "NEWROOT is an overlay with lowerdir /run/aim/lower" grep -q 'overlay.*lowerdir=/run/aim/lower' "$TMP/mounts"
if grep -qw vfat /proc/filesystems; then
	is "$(sed -n 's/^slot=//p' "$TMP/boot.env") $(sed -n 's/^trial=//p' "$TMP/boot.env")" "b 1" \
		"boot.env: slot b on trial"
else
	is "$(sed -n 's/^slot=//p' "$TMP/boot.env")" b "boot.env: slot b"
	check "boot.env: the unmountable boot partition is the reason" \
		grep -q '^reason=boot partition not mountable' "$TMP/boot.env"
	check "... and aim-boot said so" grep -q 'cannot mount the boot partition' "$TMP/stderr"
fi
is "$(cat "$TMP/persist")" h "a file in /home lands in data/persist/home"
is "$(cat "$TMP/upper")" e "a file in /etc lands in data/overlay/b/upper"
if grep -qw vfat /proc/filesystems; then
	mtype -i "$D@@1M" ::/state-2.txt >"$TMP/st2" 2>/dev/null
	check "trial counted: state-2.txt seq 6, one try left" grep -qz 'aim_seq=6.*aim_tries_b=1' "$TMP/st2"
else
	skip "trial counted on the FAT partition (this kernel has no vfat)"
fi

# an update's first boot: slot.env names each slot's payload; slot b's layer (unstamped,
# from the run above) is stale, slot a's layer is carried into a new one (docs/state.md)
printf 'version=1\nrootfs_sha256=%s\ninstalled=1\n' aaaa >"$TMP/slot-a.env"
printf 'version=2\nrootfs_sha256=%s\ninstalled=2\n' bbbb >"$TMP/slot-b.env"
mmd -i "$D@@1M" ::/slot-a ::/slot-b 2>/dev/null
mcopy -o -i "$D@@1M" "$TMP/slot-a.env" ::/slot-a/slot.env
mcopy -o -i "$D@@1M" "$TMP/slot-b.env" ::/slot-b/slot.env
carry_run() {
	unshare -m sh -c '
		mkdir -p "$4/d" && mount "$1" "$4/d" && mkdir -p "$4/d/overlay/a/upper/etc" "$4/d/overlay/a/upper/usr" &&
		echo from-a >"$4/d/overlay/a/upper/etc/e2" && echo x >"$4/d/overlay/a/upper/usr/junk" &&
		umount "$4/d" || exit 9
		mount --make-rprivate / && mount -t tmpfs aimtest /run && mkdir /run/newroot &&
		mount -t squashfs -o ro "$2" /run/newroot || exit 9
		"$3" overlay /run/newroot 2>"$4/stderr"; echo "rc=$?" >"$4/result"
		cat /run/newroot/etc/e2 >"$4/e2" 2>&1
		ls /run/aim/data/overlay/b/upper >"$4/upper" 2>&1
		cat /run/aim/data/overlay/b/base >"$4/base" 2>&1
		cat /run/armimmutable/carry.log >"$4/carry.log" 2>&1
		true' sh "/dev/${L}p4" "/dev/${L}p3" "$AB" "$TMP"
}
if grep -qw vfat /proc/filesystems; then
	carry_run
	is "$(cat "$TMP/result")" "rc=0" "update boot of slot b: aim-boot overlay succeeds"
	sed 's/^/#   /' "$TMP/stderr"
	is "$(cat "$TMP/e2")" from-a "slot a's /etc change carried into slot b's new layer"
	is "$(tr '\n' ' ' <"$TMP/upper")" "etc " "... its /usr dropped, b's stale layer replaced"
	is "$(cat "$TMP/base")" "bbbb 2" "... stamped with slot b's payload"
	check "... said on the console" grep -q "slot b: new system, state carried from slot a's layer" "$TMP/stderr"
	check "... and in carry.log" grep -qx 'drop /usr' "$TMP/carry.log"
else
	skip "update boot carry (this kernel has no vfat)"
fi

# broken data partition: loud failure
dd if=/dev/zero of="$D" bs=512 seek=67584 count=4096 conv=notrunc status=none
run "/dev/${L}p3"
is "$(cat "$TMP/result")" "rc=1" "unmountable data partition: aim-boot fails"
check "... and names it" grep -q "cannot mount the data partition /dev/${L}p4" "$TMP/stderr"
run "/dev/${L}p1" 2>/dev/null
check "a non-slot partition as root is refused" sh -c "! grep -q rc=0 '$TMP/result'"
echo "1..$T_N"
[ "$T_FAIL" = 0 ]
