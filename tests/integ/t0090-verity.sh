#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# dm-verity on the host (docs/verity.md), rootless: the kernel preflight (--verity
# auto/on/off on a kernel without dm-verity, with it as a module, with the config line but
# no module); convert --sign: slot.env's verity keys, its signature (minisign -V), the tree
# checked by `veritysetup verify` on slot A's bytes and refused after one flipped byte,
# slot B the same bytes, the same output twice, inspect's slot parameters; bundle create
# with the same key gives the same slot image, carries the signed slot.env, and install
# writes it as it is (install.env beside it) so that status shows the root hash.
. "$(dirname "$0")/lib.sh"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
cd "$TMP" || exit 1
aim() { as_user "$AIM" "$@"; }

build() { # build NAME DM_VERITY
	AIM_SAMPLE_DM_VERITY=$2 need_sample "$1"
}
build plain.img ""
build vm.img m
build nomod.img m-nomod
check "keygen" aim -q keygen -W -p k.pub -s k.key
chmod 0644 k.key

# ---- preflight ----
aim convert plain.img p.img >out 2>err
is "$?" 0 "auto, kernel without dm-verity: converts"
check "one line says verity is off and why" grep -q \
	"convert: verity off: kernel .* is built without dm-verity (CONFIG_DM_VERITY is not set)" err
p1=$(($(sfdisk -J p.img | jq '.partitiontable.partitions[0].start') * 512))
env_of() { mtype -i "$1@@$p1" "::/slot-$2/slot.env" 2>/dev/null | tr -d '\r'; }
env_of p.img a >p.env
check "its slot.env has no verity keys" sh -c "! grep -q verity p.env"
aim convert --verity on plain.img p2.img >out 2>err
is "$?" 1 "--verity on with that kernel: refused (exit 1)"
check "with the reason" grep -q "verity on, but kernel .* is built without dm-verity" err
is "$(wc -l <err)" 1 "in one line"
check "nothing left at the output" test ! -e p2.img
aim convert nomod.img n.img >out 2>err
check "CONFIG_DM_VERITY=m without the module: off, and why" grep -q \
	"verity off: .*CONFIG_DM_VERITY=m), but dm-verity.ko is not in /lib/modules" err
is "$(aim inspect --json vm.img | jq -r .verity.supported)" true "inspect: the module kernel can"
is "$(aim inspect --json plain.img | jq -r .verity.supported)" false "inspect: the other cannot"

# ---- convert --sign ----
check "convert --sign (auto: on)" aim -q convert --sign k.key vm.img v.img
env_of v.img a >a.env
env_of v.img b >b.env
val() { sed -n "s/^$1=//p" a.env; }
is "$(val verity)" 1 "slot.env: verity=1"
is "$(val verity_alg) $(val verity_block)" "sha256 4096" "slot.env: sha256, 4096"
blocks=$(val verity_data_blocks)
hoff=$(val verity_hash_offset)
is "$hoff" "$((blocks * 4096))" "hash offset = data blocks * 4096"
salt=$( { printf 'armimmutable verity salt v1\n'; tail -n 1 k.pub | base64 -d | tail -c 32; } |
	sha256sum | cut -c1-64)
is "$(val verity_salt)" "$salt" "salt = SHA-256(label || the release key's public key)"
check "slot B's slot.env is the same" cmp -s a.env b.env
mtype -i "v.img@@$p1" ::/slot-a/slot.env.minisig >a.sig 2>/dev/null
check "slot.env.minisig passes minisign -V" minisign -Vq -p k.pub -m a.env -x a.sig
check "its trusted comment" grep -qx "trusted comment: armimmutable slot.env" a.sig
sa=$(sfdisk -J v.img | jq '.partitiontable.partitions[1].start')
sb=$(sfdisk -J v.img | jq '.partitiontable.partitions[2].start')
size=$(val rootfs_size)
dd if=v.img of=slot-a bs=512 skip="$sa" count=$(((size + 511) / 512)) status=none
dd if=v.img of=slot-b bs=512 skip="$sb" count=$(((size + 511) / 512)) status=none
truncate -s "$size" slot-a slot-b
is "$(sha256sum <slot-a | cut -c1-64)" "$(val rootfs_sha256)" "rootfs_sha256 covers squashfs and tree"
check "slot B holds the same bytes" cmp -s slot-a slot-b
check "the key is trusted in the root (as --trust)" sh -c \
	"unsquashfs -l slot-a 2>/dev/null | grep -q 'etc/armimmutable/keys/.*\.pub'"
if command -v veritysetup >/dev/null; then
	vs() { veritysetup verify --no-superblock --salt="$salt" --hash-offset="$hoff" \
		--data-blocks="$blocks" "$1" "$1" "$(val verity_root)" >/dev/null 2>&1; }
	check "veritysetup verify accepts slot A" vs slot-a
	printf '\001' | dd of=slot-b bs=1 seek=$((hoff / 2)) conv=notrunc status=none
	vs slot-b
	ok "$([ $? != 0 ]; echo $?)" "and refuses it after one flipped byte"
else
	ok 0 "# SKIP veritysetup (cryptsetup-bin) missing"
fi
check "the same input and options: the same output" sh -c \
	"$(printf %q "$AIM") -q convert --sign k.key vm.img v2.img && cmp -s v.img v2.img"
aim inspect --json v.img >insp.json
is "$(jq -r '.converted_slots[0].verity_root' insp.json)" "$(val verity_root)" "inspect: slot A's root hash"
is "$(jq -r '.converted_slots[1].slot_env_signed' insp.json)" true "inspect: slot B's slot.env signed"
check "convert --verity off: no tree" sh -c \
	"$(printf %q "$AIM") -q convert --verity off vm.img off.img && ! mtype -i off.img@@$p1 ::/slot-a/slot.env | grep -q verity"

# ---- the trusted keys in the appended initramfs (docs/boot.md section 9) ----
# Keys there make aim-boot refuse every slot.env that is unsigned or has no verity keys:
# only signed slots with verity get them; --trust alone puts the key into the root only.
kname=$(unsquashfs -l slot-a 2>/dev/null | sed -n 's|.*/\(etc/armimmutable/keys/.*\.pub\)$|\1|p')
initrd_keys() { mtype -i "$1@@$p1" ::/slot-$2/uInitrd 2>/dev/null | grep -ac 'etc/armimmutable/keys/[0-9A-F]*\.pub'; }
is "$(initrd_keys v.img a) $(initrd_keys v.img b)" "1 1" "convert --sign: both slots' initramfs carry the key"
check "  the root's own key file, same path ($kname)" sh -c \
	"[ -n '$kname' ] && mtype -i 'v.img@@$p1' ::/slot-a/uInitrd 2>/dev/null | grep -aqF '$kname'"
check "convert --trust without --sign" aim -q convert --trust k.pub vm.img t.img
is "$(initrd_keys t.img a)" 0 "  its initramfs carries no key (unsigned slots boot)"
check "convert --sign --verity off" aim -q convert --sign k.key --verity off vm.img so.img
is "$(initrd_keys so.img a)" 0 "  its initramfs carries no key (signed slot.env without a tree)"

# ---- bundle create -k, install ----
check "bundle create -k (version 99.1)" aim -q bundle create -k k.key -o v.aimb --from-image vm.img \
	--version 99.1
aim bundle info --json v.aimb >info.json
rootfs() { jq -r ".payloads[] | select(.kind==\"rootfs\") | .$1" info.json; }
is "$(rootfs sha256)" "$(val rootfs_sha256)" "rootfs payload = convert's slot image (same key, same salt)"
is "$(rootfs verity_root)" "$(val verity_root)" "manifest: verity_root"
tail -c +65 v.aimb | head -c 4096 | tr -d '\0' >manifest.txt
check "manifest: verity_salt, data blocks, hash offset" sh -c \
	"grep -qx verity_salt=$salt manifest.txt && grep -qx verity_data_blocks=$blocks manifest.txt && grep -qx verity_hash_offset=$hoff manifest.txt"
check "the bundle carries slot.env and its signature" sh -c \
	"jq -r '.payloads[].name' info.json | grep -qx slot.env && jq -r '.payloads[].name' info.json | grep -qx slot.env.minisig"
cp --sparse=always v.img w.img
chmod 0666 w.img
check "install into the converted image" aim -q install --image w.img -p k.pub v.aimb
env_of w.img b >wb.env
mtype -i "w.img@@$p1" ::/slot-b/slot.env.minisig >wb.sig 2>/dev/null
check "slot B's slot.env passes minisign -V" minisign -Vq -p k.pub -m wb.env -x wb.sig
check "it says source=bundle and the bundle's version" sh -c "grep -qx source=bundle wb.env && grep -qx version=99.1 wb.env"
aim status --image w.img --json >st.json
is "$(jq -r '.slots[1].verity_root' st.json)" "$(val verity_root)" "status: slot B's root hash"
is "$(jq -r '.slots[1].bundle' st.json)" "$(jq -r .manifest_sha256 info.json)" \
	"status: bundle = manifest SHA-256 (from install.env)"
is "$(jq -r '.slots[1].slot_env_signed' st.json)" true "status: slot B's slot.env signed"
check "status text shows verity per slot" sh -c "$(printf %q "$AIM") status --image w.img | grep -q '  verity:       on, root '"

# ---- a release signed by a key the new root does not trust (key rotation) ----
# --no-trust-signer --trust o.pub: the root trusts only o.pub for the next update, but the
# slot's initramfs must still accept this slot's own slot.env (signed with k.key).
check "keygen (a second key)" aim -q keygen -W -p o.pub -s o.key
check "bundle create -k k.key --no-trust-signer --trust o.pub" aim -q bundle create -k k.key \
	--no-trust-signer --trust o.pub -o rot.aimb --from-image vm.img --version 99.2
cp --sparse=always v.img r.img
chmod 0666 r.img
check "install it" aim -q install --image r.img -p k.pub rot.aimb
kid=$(sed -n 's/^untrusted comment: minisign public key //p' k.pub)
mtype -i "r.img@@$p1" ::/slot-b/uInitrd >rb.initrd 2>/dev/null
check "slot B's initramfs carries the signer's key as slot-signer-$kid.pub" \
	grep -aqF "etc/armimmutable/keys/slot-signer-$kid.pub" rb.initrd
check "  with the signer's key bytes" grep -aqF "$(tail -n 1 k.pub)" rb.initrd
check "  and the trusted key of the root" grep -aqF "$(tail -n 1 o.pub)" rb.initrd
sb=$(sfdisk -J r.img | jq '.partitiontable.partitions[2].start')
dd if=r.img of=rslot-b bs=512 skip="$sb" count=$(($(val rootfs_size) / 512 + 1)) status=none
unsquashfs -l rslot-b 2>/dev/null | grep 'etc/armimmutable/keys/.*\.pub' >rkeys
is "$(wc -l <rkeys)" 1 "its root trusts one key for updates"
check "  o.pub, not the signer" grep -q "$(sed -n 's/^untrusted comment: minisign public key //p' o.pub)" rkeys
done_testing
