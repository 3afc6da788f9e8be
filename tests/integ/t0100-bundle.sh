#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# keygen and bundle create/info/verify as an ordinary user, against the real minisign:
# our keys and signatures checked by `minisign -V`, keys made by `minisign -G` (plain and
# password-protected) used by us; bundles from sample shape A (the same squashfs and boot
# files as convert makes) and from --rootfs; every kind of damage refused with a clear
# message and exit 1: manifest, payload byte, signature, wrong key, truncation; bundle info
# escapes what it shows (C1 bytes in a trusted comment signed by minisign, in text and
# JSON) and refuses a manifest that is not UTF-8 without echoing the byte.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
# bundle create's temporary directories go here, so that the check below sees only this
# test's (a QEMU test beside it makes bundles in the default TMPDIR).
mkdir -p "$TMP/tmpdir" && chmod 1777 "$TMP/tmpdir" && export TMPDIR="$TMP/tmpdir"
export SOURCE_DATE_EPOCH=1718236800
aim() { as_user "$AIM" "$@"; }

# flip FILE OFFSET: xor one byte with 0x01
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# fails_with DESCRIPTION PATTERN CMD...: exit status 1 and stderr matching PATTERN
fails_with() {
	local d=$1 pat=$2 rc
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	is "$rc" 1 "$d: exit 1"
	if grep -q -- "$pat" "$TMP/err"; then ok 0 "$d: message says '$pat'"; else
		ok 1 "$d: message says '$pat'"
		sed 's/^/#   /' "$TMP/err" | head -n 5
	fi
}
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# --- keygen ---
check "keygen --no-password" aim keygen -W -p k.pub -s k.key
is "$(stat -c %a k.key)" 600 "secret key is mode 0600"
check "public key has minisign's comment line" grep -q '^untrusted comment: minisign public key [0-9A-F]*$' k.pub
fails_with "keygen does not overwrite" "exists (use --force" aim keygen -W -p k.pub -s k.key
old=$(sha256sum <k.key)
check "keygen --force overwrites" aim keygen -W -f -p k.pub -s k.key
check "new key after --force" test "$(sha256sum <k.key)" != "$old"
echo "pass word" >pw
chmod 0644 pw
check "keygen --password-file" aim keygen --password-file pw -p e.pub -s e.key
echo hello >m
check "minisign signs with our encrypted key" sh -c 'echo "pass word" | minisign -S -s e.key -m m >/dev/null 2>&1'
check "minisign -V checks it with our public key" minisign -Vq -p e.pub -m m
fails_with "keygen: empty password refused" "empty password" sh -c "$(printf %q "$AIM") keygen -p x.pub -s x.key </dev/null"
aim keygen -W -p same -s same >/dev/null 2>&1
is "$?" 2 "keygen: the same file for both keys is a usage error (exit 2)"

# --- keys from minisign ---
check "minisign -G -W" minisign -G -W -p mw.pub -s mw.key
check "minisign -G with a password" sh -c 'printf "pw2\npw2\n" | minisign -G -p me.pub -s me.key >/dev/null 2>&1'
chmod 0644 mw.key me.key

# --- a bundle from sample shape A, through convert's pipeline ---
need_sample a.img
start=$(date +%s.%N)
check "bundle create --from-image (as $(as_user id -un))" aim -q bundle create -k k.key -o a.aimb --from-image a.img
t_create=$(echo "$(date +%s.%N) - $start" | bc)
if [ ! -f a.aimb ]; then
	done_testing
	exit
fi
check "bundle info --json" sh -c "$(printf %q "$AIM") bundle info --json a.aimb >info.json"
board=$("$AIM" inspect --json a.img | jq -r '.armbian.board')
version=$("$AIM" inspect --json a.img | jq -r '.armbian.version')
is "$(jq -r .board info.json)" "$board" "manifest board = the image's BOARD ($board)"
is "$(jq -r .version info.json)" "$version" "manifest version = the image's VERSION ($version)"
is "$(jq -r .arch info.json)" arm64 "manifest arch"
is "$(jq -r .signature_checked info.json)" false "info without a key: signature not checked"
check "info text says the signature was not checked" sh -c "$(printf %q "$AIM") bundle info a.aimb | grep -q 'not checked'"
is "$(jq -r '.payloads[0].kind' info.json)" rootfs "first payload is the rootfs"
check "boot payloads include the kernel" sh -c "jq -r '.payloads[] | select(.kind==\"boot\") | .name' info.json | grep -qx Image"
check "the bundle carries its own slot.env and slot.env.minisig, last" sh -c \
	"jq -r '.payloads[].name' info.json | tail -n 2 | tr '\n' ' ' | grep -qx 'slot.env slot.env.minisig '"
is "$(jq -r '[.payloads[] | .offset % 4096] | add' info.json)" 0 "every payload 4 KiB aligned"
is "$(($(stat -c %s a.aimb) % 4096))" 0 "bundle size a multiple of 4 KiB"
is "$(jq -r .size info.json)" "$(stat -c %s a.aimb)" "size in the manifest = file size"

# The rootfs payload is the squashfs convert writes into slot A (same epoch, options).
# bundle create trusts its signing key in the new root (the next update must install):
# convert gives the same squashfs with the same key trusted.
check "convert the same image (--trust k.pub)" aim -q convert --trust k.pub a.img conv.img
p1=$(($(sfdisk -J conv.img | jq '.partitiontable.partitions[0].start') * 512))
mtype -i "conv.img@@$p1" ::/slot-a/slot.env 2>/dev/null | tr -d '\r' >slot.env
is "$(jq -r '.payloads[0].sha256' info.json)" "$(sed -n 's/^rootfs_sha256=//p' slot.env)" \
	"rootfs payload = convert's slot A squashfs (SHA-256)"
mcopy -n -i "conv.img@@$p1" ::/slot-a/Image conv.Image 2>/dev/null
is "$(jq -r '.payloads[] | select(.name=="Image") | .sha256' info.json)" "$(sha256sum <conv.Image | cut -d' ' -f1)" \
	"Image payload = convert's /slot-a/Image"
rm -f conv.img

# verify, and minisign verifies the manifest signature
start=$(date +%s.%N)
check "bundle verify" aim bundle verify a.aimb -p k.pub
t_verify=$(echo "$(date +%s.%N) - $start" | bc)
ml=$(u32 a.aimb 16)
sl=$(u32 a.aimb 20)
tail -c +65 a.aimb | head -c "$ml" >manifest
tail -c +$((65 + ml)) a.aimb | head -c "$sl" >manifest.minisig
check "minisign -V verifies the bundle's manifest signature" minisign -Vq -p k.pub -m manifest
check "info with -p reports a good signature" sh -c "$(printf %q "$AIM") bundle info a.aimb -p k.pub | grep -q 'Signature: *good'"

# Overhead and speed (reported, not asserted).
sq=$(jq -r '.payloads[0].size' info.json)
raw=$(jq -r '[.payloads[].size] | add' info.json)
sz=$(stat -c %s a.aimb)
echo "# bundle $sz bytes; raw squashfs $sq, all payloads $raw; overhead $((sz - sq)) bytes over the squashfs ($(echo "scale=2; ($sz - $sq) * 100 / $sq" | bc)%), $((sz - raw)) bytes over the payloads ($(echo "scale=2; ($sz - $raw) * 100 / $raw" | bc)%)"
echo "# create (incl. conversion) ${t_create}s, verify ${t_verify}s ($(echo "scale=1; $sz / 1048576 / $t_verify" | bc) MB/s)"

# --- damage: one clear line, exit 1 ---
area=$(( (64 + ml + sl + 4095) / 4096 * 4096 ))
cp a.aimb t.aimb
v=$(grep -boa "^version=" manifest | head -n 1 | cut -d: -f1)
flip t.aimb $((64 + v + 8))
fails_with "tampered manifest" "signature verification failed" aim bundle verify t.aimb -p k.pub
fails_with "tampered manifest (info -p)" "signature verification failed" aim bundle info t.aimb -p k.pub
cp a.aimb t.aimb
flip t.aimb $((area + 1000))
fails_with "tampered rootfs byte" "rootfs.squashfs': SHA-256" aim bundle verify t.aimb -p k.pub
cp a.aimb t.aimb
img_off=$(jq -r '.payloads[] | select(.name=="Image") | .offset' info.json)
flip t.aimb $((area + img_off + 7))
flip t.aimb $((area + 1000))
fails_with "two tampered payloads" "'Image': SHA-256" aim bundle verify t.aimb -p k.pub
is "$(grep -c 'SHA-256' "$TMP/err")" 2 "one line per bad payload (2)"
cp a.aimb t.aimb
flip t.aimb $((64 + ml + 100))
fails_with "tampered signature" "signature" aim bundle verify t.aimb -p k.pub
cp a.aimb t.aimb
tc=$(grep -boa "^trusted comment: " manifest.minisig | cut -d: -f1)
flip t.aimb $((64 + ml + tc + 20))
fails_with "tampered trusted comment" "trusted comment was changed" aim bundle verify t.aimb -p k.pub
fails_with "wrong key" "not a trusted key" aim bundle verify a.aimb -p mw.pub
head -c $((area + sq / 2)) a.aimb >t.aimb
fails_with "truncated in the rootfs" "truncated bundle" aim bundle verify t.aimb -p k.pub
head -c $((64 + ml / 2)) a.aimb >t.aimb
fails_with "truncated in the manifest" "truncated bundle" aim bundle verify t.aimb -p k.pub
head -c $(($(stat -c %s a.aimb) - 4096)) a.aimb >t.aimb
fails_with "truncated at the end" "truncated bundle" aim bundle verify t.aimb -p k.pub
cp a.aimb t.aimb && echo x >>t.aimb
fails_with "trailing data" "data after the end" aim bundle verify t.aimb -p k.pub
fails_with "not a bundle" "not an armimmutable bundle" aim bundle verify a.img -p k.pub
fails_with "missing public key file" "cannot read" aim bundle verify a.aimb -p nope.pub
aim bundle verify a.aimb >/dev/null 2>&1
is "$?" 2 "verify without -p: usage error (exit 2)"
rm -f t.aimb

# --- bundle create from --rootfs with minisign's keys ---
dd if=/dev/urandom of=root.sqfs bs=1k count=300 status=none
mkdir -p boot/dtb/vendor
echo kernel >boot/Image
echo dtb >boot/dtb/vendor/board.dtb
echo "should not be a payload" >boot/slot.env
echo "nor this" >boot/slot.env.minisig
chmod -R a+rX boot root.sqfs
check "bundle create --rootfs with a minisign -W key" aim -q bundle create -k mw.key -o r.aimb \
	--rootfs root.sqfs --boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64
check "bundle verify with minisign's public key" aim -q bundle verify r.aimb -p mw.pub
"$AIM" bundle info --json r.aimb >r.json
is "$(jq -r '[.payloads[].name] | join(",")' r.json)" \
	"rootfs.squashfs,Image,dtb/vendor/board.dtb,slot.env,slot.env.minisig" \
	"payloads in order, the boot dir's slot.env replaced by the bundle's own"
is "$(jq -r '.payloads[0].sha256' r.json)" "$(sha256sum <root.sqfs | cut -d' ' -f1)" "rootfs payload hash"
check "bundle create with minisign's encrypted key (--password-file)" sh -c "printf 'pw2\n' >pw2 &&
	$(printf %q "$AIM") -q bundle create -k me.key --password-file pw2 -o re.aimb --rootfs root.sqfs \
	--boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64"
check "its bundle verifies with minisign's public key" aim -q bundle verify re.aimb -p me.pub
check "encrypted key, password on stdin" sh -c "echo pw2 | $(printf %q "$AIM") -q bundle create -k me.key \
	-o rs.aimb --rootfs root.sqfs --boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64"
printf 'wrong\n' >pw3
fails_with "wrong password" "wrong password" aim bundle create -k me.key --password-file pw3 -o rw.aimb \
	--rootfs root.sqfs --boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64
check "nothing left behind after a failure" sh -c '! ls rw.aimb* 2>/dev/null | grep -q .'
fails_with "output exists" "exists (use --force" aim bundle create -k mw.key -o r.aimb --rootfs root.sqfs \
	--boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64
fails_with "missing rootfs" "nope.sqfs" aim bundle create -k mw.key -o n.aimb --rootfs nope.sqfs \
	--boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64
ln -s /etc/passwd boot/link
fails_with "symlink in the boot dir" "only regular files" aim bundle create -k mw.key -o n.aimb \
	--rootfs root.sqfs --boot-dir boot --version 2.0 --board b1 --family f1 --arch arm64
rm boot/link
aim bundle create -o n.aimb --rootfs root.sqfs >/dev/null 2>&1
is "$?" 2 "create without -k: usage error (exit 2)"
aim bundle create -k mw.key --rootfs root.sqfs >/dev/null 2>&1
is "$?" 2 "--rootfs without --boot-dir/--version...: usage error (exit 2)"
fails_with "not an image" "root.sqfs" aim bundle create -k mw.key -o n.aimb --from-image root.sqfs
check "no temporary directories left" sh -c '! ls -d "$TMPDIR"/armimmutable-bundle-* 2>/dev/null | grep -q .'

# --- bundle info shows nothing a terminal would act on ---
# r.aimb re-signed by minisign with a trusted comment holding a raw C1 byte (0x9b, CSI in
# 8-bit terminals), U+009B encoded in UTF-8 and a tab; the header's signature length and
# the padding follow the new signature.
le32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) \
	$(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
# no_c1 FILE...: no byte ESC or 0x80-0x9f (raw C1, or the second byte of an encoded one)
no_c1() { ! cat "$@" | od -An -tx1 -v | grep -qE '(^| )(1b|8[0-9a-f]|9[0-9a-f])( |$)'; }
rml=$(u32 r.aimb 16)
rsl=$(u32 r.aimb 20)
rarea=$(( (64 + rml + rsl + 4095) / 4096 * 4096 ))
tail -c +65 r.aimb | head -c "$rml" >r.manifest
minisign -S -s mw.key -m r.manifest -x r.sig -t "$(printf 'evil\x9b[31mraw\xc2\x9b[32mutf8\tend')" \
	>/dev/null 2>&1
rsl2=$(stat -c %s r.sig 2>/dev/null || echo 0)
rarea2=$(( (64 + rml + rsl2 + 4095) / 4096 * 4096 ))
{ head -c 20 r.aimb; le32 "$rsl2"; head -c 64 r.aimb | tail -c 40; cat r.manifest r.sig
  head -c $((rarea2 - 64 - rml - rsl2)) /dev/zero; tail -c +$((rarea + 1)) r.aimb; } >tc.aimb
check "re-signed bundle with C1 bytes in its trusted comment verifies" aim -q bundle verify tc.aimb -p mw.pub
aim bundle info tc.aimb -p mw.pub >tc.out 2>tc.err
is "$?" 0 "bundle info -p of it: exit 0"
check "the trusted comment is shown escaped" \
	grep -qF 'Trusted:     evil\x9b[31mraw\xc2\x9b[32mutf8\tend' tc.out
check "no ESC, C1 or raw 0x80-0x9f byte reaches the terminal" no_c1 tc.out tc.err
"$AIM" bundle info --json tc.aimb -p mw.pub >tc.json
check "--json: valid JSON" jq -e . tc.json
check "--json: U+009B as \\u009b, the raw byte as U+FFFD" \
	grep -qF '"trusted_comment": "evil\ufffd[31mraw\u009b[32mutf8\tend"' tc.json
check "--json: no ESC, C1 or raw 0x80-0x9f byte" no_c1 tc.json
# An unverified manifest with a raw C1 byte in the version (same length, so the header
# stays): refused as not UTF-8, and the message does not echo the byte.
cp r.aimb c1.aimb
v=$(grep -boa "^version=2.0" r.manifest | head -n 1 | cut -d: -f1)
printf '2\2330' | dd of=c1.aimb bs=1 seek=$((64 + v + 8)) conv=notrunc status=none
fails_with "bundle info of a manifest with a C1 byte" "control character or invalid UTF-8" \
	aim bundle info c1.aimb
is "$(wc -l <"$TMP/err")" 1 "its error is one line"
check "the byte is not echoed" no_c1 "$TMP/err" "$TMP/out"
done_testing
