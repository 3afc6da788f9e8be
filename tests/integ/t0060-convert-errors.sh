#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# convert's options and failure paths: usage errors exit 2; bad input, an existing
# output, a missing directory, a full disk and an interrupt exit 1 with one clear line
# and leave nothing behind; the input is never modified.
. "$(dirname "$0")/lib.sh"

in="$TMP/in.img"
"$SAMPLE/mkshape.sh" B "$in" >/dev/null 2>&1
chmod 0644 "$in"
sum=$(sha256sum <"$in")
leftovers() { find "$1" -maxdepth 1 -name '*.tmp-*' | wc -l; }

# Usage errors: exit 2 and one line naming the problem.
"$AIM" convert >/dev/null 2>"$TMP/err"
is $? 2 "no arguments: exit 2"
check "no arguments: says what is missing" grep -q "needs INPUT and OUTPUT" "$TMP/err"
"$AIM" convert --overlay=sometimes "$in" "$TMP/o.img" 2>"$TMP/err"
is $? 2 "bad --overlay: exit 2"
check "bad --overlay: message names the option" grep -q -- "--overlay" "$TMP/err"
"$AIM" convert --slot-size=12x "$in" "$TMP/o.img" 2>/dev/null
is $? 2 "bad --slot-size: exit 2"
"$AIM" convert --persist=relative "$in" "$TMP/o.img" 2>/dev/null
is $? 2 "relative --persist: exit 2"
check "--help exits 0 and documents --dry-run" sh -c "'$AIM' convert --help | grep -q -- --dry-run"

# Dry run: prints the plan, writes nothing.
as_user "$AIM" convert --dry-run "$in" "$TMP/o.img" >"$TMP/plan"
is $? 0 "--dry-run succeeds"
check "--dry-run prints the four partitions" grep -q "p4 data" "$TMP/plan"
check "--dry-run writes nothing" test ! -e "$TMP/o.img"
as_user "$AIM" convert --dry-run --json "$in" "$TMP/o.img" >"$TMP/plan.json"
is "$(jq -r '.partitions | length' "$TMP/plan.json")" 4 "--dry-run --json is JSON with four partitions"

# Existing output without --force.
echo keep >"$TMP/exists.img"
chmod 0666 "$TMP/exists.img"
as_user "$AIM" -q convert "$in" "$TMP/exists.img" 2>"$TMP/err"
is $? 1 "existing output: exit 1"
check "existing output: message suggests --force" grep -q -- "--force" "$TMP/err"
is "$(cat "$TMP/exists.img")" keep "existing output: left untouched"
as_user "$AIM" -q convert --force "$in" "$TMP/exists.img"
is $? 0 "--force overwrites"
check "--force: the output is an image now" sh -c "sfdisk -J '$TMP/exists.img' | jq -e '.partitiontable.partitions | length == 4'"
rm -f "$TMP/exists.img"

# Missing output directory.
as_user "$AIM" -q convert "$in" "$TMP/no/such/dir/o.img" 2>"$TMP/err"
is $? 1 "missing output directory: exit 1"
is "$(wc -l <"$TMP/err")" 1 "missing output directory: one line"
check "missing output directory: names the path" grep -q "no/such/dir" "$TMP/err"

# Options end up in the image.
"$AIM" -q keygen -p "$TMP/trust.pub" -s "$TMP/trust.sec" --no-password
chmod 0644 "$TMP/trust.pub"
keyid=$(sed -n 2p "$TMP/trust.pub" | base64 -d | od -An -tx1 -j2 -N8 | tr -d ' \n' |
	sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\8\7\6\5\4\3\2\1/' | tr a-f A-F)
as_user "$AIM" -q convert --overlay=tmpfs --persist=/home --persist=/etc/ssh --slot-b=empty --no-keep-identity \
	--trial-timeout=45 --trust "$TMP/trust.pub" -c xz "$in" "$TMP/k.img"
is $? 0 "kiosk options convert"
p2=$(sfdisk -J "$TMP/k.img" | jq '.partitiontable.partitions[1].start')
p3=$(sfdisk -J "$TMP/k.img" | jq '.partitiontable.partitions[2].start')
sz=$(sfdisk -J "$TMP/k.img" | jq '.partitiontable.partitions[1].size')
dd if="$TMP/k.img" of="$TMP/k.sqfs" bs=512 skip="$p2" count="$sz" status=none
check "-c xz: slot A is xz-compressed" sh -c "unsquashfs -s '$TMP/k.sqfs' | grep -q 'Compression xz'"
unsquashfs -q -n -d "$TMP/ksq" "$TMP/k.sqfs" etc/armimmutable >/dev/null 2>&1
check "--overlay=tmpfs recorded" grep -q '^OVERLAY=tmpfs' "$TMP/ksq/etc/armimmutable/armimmutable.conf"
check "--persist paths recorded" grep -q '^PERSIST="/home /etc/ssh"' "$TMP/ksq/etc/armimmutable/armimmutable.conf"
check "--trial-timeout recorded" grep -q '^TRIAL_TIMEOUT=45$' "$TMP/ksq/etc/armimmutable/armimmutable.conf"
check "--no-keep-identity recorded" grep -q '^KEEP_IDENTITY=no$' "$TMP/ksq/etc/armimmutable/armimmutable.conf"
check "--trust: the key is in the keyring as <key id>.pub ($keyid)" \
	cmp "$TMP/trust.pub" "$TMP/ksq/etc/armimmutable/keys/$keyid.pub"
is "$(tail -c +$((p3 * 512 + 1)) "$TMP/k.img" | head -c $((sz * 512)) | tr -d '\0' | wc -c)" 0 \
	"--slot-b=empty: slot B is all zeros"
rm -rf "$TMP/k.img" "$TMP/k.sqfs" "$TMP/ksq"

as_user "$AIM" -q convert --trust "$in" "$in" "$TMP/t.img" 2>"$TMP/err"
is $? 1 "--trust with a file that is no public key: exit 1"
check "--trust: the message names the file" grep -q "trust $in: not a minisign public key" "$TMP/err"
check "--trust: nothing left behind" test ! -e "$TMP/t.img"
as_user "$AIM" -q convert --trial-timeout=99999 "$in" "$TMP/t.img" 2>"$TMP/err"
is $? 2 "--trial-timeout out of range: usage error"
as_user "$AIM" -q convert -c gzip -l 15 "$in" "$TMP/t.img" 2>"$TMP/err"
is $? 2 "-c gzip -l 15 (gzip takes 1..9): usage error"
check "-c gzip -l 15: the message names the range" grep -q "gzip level 15 out of range 1..9" "$TMP/err"
check "-c gzip -l 15: nothing written" test ! -e "$TMP/t.img"

# Bad inputs: one line, exit 1, nothing left behind.
for kind in truncated gpt-badcrc overlap pastend badsb nosig xz-cut noroot empty notimage; do
	bad="$TMP/bad-$kind.img"
	"$SAMPLE/mkbad.sh" "$kind" "$bad" >/dev/null 2>&1
	[ -e "$bad" ] || bad="$bad.xz"
	check "bad input $kind: fixture built" test -e "$bad"
	chmod 0644 "$bad" 2>/dev/null
	bsum=$(sha256sum <"$bad" 2>/dev/null)
	as_user "$AIM" -q convert "$bad" "$TMP/o-$kind.img" 2>"$TMP/err"
	rc=$?
	is "$rc" 1 "bad input $kind: exit 1"
	is "$(wc -l <"$TMP/err")" 1 "bad input $kind: one error line ($(head -c 120 "$TMP/err"))"
	check "bad input $kind: no output, no temporary left" \
		sh -c "test ! -e '$TMP/o-$kind.img' && test $(leftovers "$TMP") = 0"
	is "$(sha256sum <"$bad")" "$bsum" "bad input $kind: input unchanged"
	rm -f "$bad"
done

# More corrupt inputs: a failure of the library is exit 1 with one line, never a usage
# error (2), whatever its errno (before, -EINVAL from the library read as exit 2).
# bad_input NAME FILE: convert FILE fails with exit 1, one line, nothing left behind.
bad_input() {
	as_user "$AIM" -q convert "$2" "$TMP/o-bad.img" 2>"$TMP/err"
	is $? 1 "$1: exit 1 (not 2)"
	is "$(wc -l <"$TMP/err")" 1 "$1: one error line ($(head -c 120 "$TMP/err"))"
	check "$1: no output, no temporary left" \
		sh -c "test ! -e '$TMP/o-bad.img' && test $(leftovers "$TMP") = 0"
}
bad_input "a character device (/dev/null)" /dev/null
bad_input "a directory" "$TMP"
"$SAMPLE/mkshape.sh" A "$TMP/a.img" --rootfs builtin >/dev/null 2>&1
chmod 0644 "$TMP/a.img"
root=$(("$("$AIM" inspect --json "$TMP/a.img" | jq '.partition_table.partitions[0].start')" / 4096))
itab=$(dumpe2fs "$TMP/a.img?offset=$((root * 4096))" 2>/dev/null |
	sed -n 's/^ *Inode table at \([0-9]*\)-.*/\1/p' | head -n 1)
# garbage FILE BLOCK COUNT: COUNT 4 KiB blocks of text (not zeros) over the root ext4's
# block BLOCK, the same bytes on every run
garbage() {
	cp --sparse=always "$TMP/a.img" "$1"
	seq 1 $(($3 * 1024)) | head -c $(($3 * 4096)) |
		dd of="$1" bs=4096 seek=$((root + $2)) conv=notrunc status=none
}
garbage "$TMP/g-itab.img" "${itab:-39}" 64
bad_input "garbage over the root ext4's inode table" "$TMP/g-itab.img"
garbage "$TMP/g-gdt.img" 1 1
bad_input "garbage over the root ext4's group descriptors" "$TMP/g-gdt.img"
rm -f "$TMP"/g-*.img
mkdir -p "$TMP/sqd/etc" && echo x >"$TMP/sqd/etc/hostname"
mksquashfs "$TMP/sqd" "$TMP/bare.sqfs" -quiet -noappend >/dev/null 2>&1
chmod 0644 "$TMP/bare.sqfs"
bad_input "a bare squashfs, not a disk image" "$TMP/bare.sqfs"
as_user "$AIM" -q convert "$TMP/a.img" "$TMP/conv.img" 2>/dev/null
bad_input "an image converted already (squashfs root slots)" "$TMP/conv.img"
rm -rf "$TMP/a.img" "$TMP/conv.img" "$TMP/bare.sqfs" "$TMP/sqd"

# A full output disk (needs root to mount a small tmpfs).
# (The output is sparse: on tmpfs it takes about 3 MiB.)
if [ "$(id -u)" = 0 ] && mkdir -p "$TMP/full" &&
	mount -t tmpfs -o size=1m tmpfs "$TMP/full"; then
	"$AIM" -q convert "$in" "$TMP/full/o.img" 2>"$TMP/err"
	is $? 1 "full disk: exit 1"
	check "full disk: says so" grep -qi "no space" "$TMP/err"
	is "$(ls -A "$TMP/full" | wc -l)" 0 "full disk: nothing left behind"
	umount "$TMP/full"
else
	skip "full disk needs root for a small tmpfs"
	skip "full disk"
	skip "full disk"
fi

# An interrupt mid-way: exit 1, nothing left behind. The input gets 64 MiB of random
# data so that xz -9 keeps the conversion busy for a while.
big="$TMP/big.img"
"$SAMPLE/mkshape.sh" B "$big" --size-mib 512 >/dev/null 2>&1
head -c 64M /dev/urandom >"$TMP/random.bin"
start=$(($(sfdisk -J "$big" | jq '.partitiontable.partitions[0].start') * 512))
debugfs -w -R "write $TMP/random.bin /random.bin" "$big?offset=$start" >/dev/null 2>&1
rm -f "$TMP/random.bin"
chmod 0644 "$big"
# Job control on, or the shell starts the background job with SIGINT ignored.
set -m
$AS_USER "$AIM" -q convert -c xz -l 9 "$big" "$TMP/int.img" 2>"$TMP/err" &
pid=$!
set +m
for _ in $(seq 100); do
	[ "$(leftovers "$TMP")" != 0 ] && break
	sleep 0.05
done
sleep 0.3
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
is "$rc" 1 "SIGINT: exit 1"
check "SIGINT: says it was interrupted" grep -q "interrupted" "$TMP/err"
check "SIGINT: no output, no temporary left" sh -c "test ! -e '$TMP/int.img' && test $(leftovers "$TMP") = 0"
is "$(sha256sum <"$in")" "$sum" "input unchanged after all of the above"
done_testing
