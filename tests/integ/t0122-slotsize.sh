#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Slots sized for the medium (docs/convert.md, "Slot sizes and the medium"), on image files
# without QEMU: the default plans for an 8G medium (1 GiB slots), convert and status show
# each slot's headroom, the image fits the medium and stays sparse; a v2 whose squashfs is
# twice v1's (v1's squashfs with as many incompressible bytes appended by mksquashfs)
# installs into it; on a 1G medium a payload of exactly the slot size installs and one
# 4 KiB larger is refused with what to do, the image unchanged; a medium too small for the
# image is refused with the sizes, nothing written; --medium-size usage errors.
. "$(dirname "$0")/lib.sh"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
cd "$TMP" || exit 1
aim() { as_user "$AIM" "$@"; }
M=1048576

need_sample in.img

# ---- the default: an 8G medium ----
aim convert -n --json in.img dry.img >dry.json
is "$(jq -r '[.medium_size, .medium_size_default] | join(" ")' dry.json)" "8589934592 true" \
	"dry run: planned for the default 8G medium"
is "$(jq -r '.partitions[1].size' dry.json)" 1073741824 "dry run: slot A is 8G / 8 = 1 GiB"
check "convert with the defaults" sh -c "$(printf %q "$AIM") convert in.img v1.img >conv.txt"
[ -f v1.img ] || { done_testing; exit; }
chmod 0666 v1.img
sed 's/^/#   /' conv.txt
check "convert names the medium" grep -q "slots for a medium of 8G (the default)" conv.txt
check "convert says what fits" grep -q "is up to 1024 MiB fit" conv.txt
"$AIM" status --image v1.img --json >st.json
size=$(jq -r '.slots[0].partition.size' st.json)
s1=$(jq -r '.slots[0].rootfs_size' st.json)
is "$size" 1073741824 "status: slot A 1 GiB"
is "$(jq -r '.slots[0].headroom' st.json)" $((size - s1)) "status: slot A headroom = size - root"
is "$(jq -r '.slots[1].headroom' st.json)" $((size - s1)) "status: slot B (copy) the same"
check "convert prints slot A's headroom" \
	grep -Eq "p2 root A +1024 MiB .* headroom $(((size - s1) / M)) MiB" conv.txt
"$AIM" status --image v1.img >st.txt
check "status text: size and headroom" \
	grep -q "size:         1024 MiB, headroom $(((size - s1) / M)) MiB" st.txt
apparent=$(stat -c %s v1.img)
alloc=$(($(stat -c %b v1.img) * $(stat -c %B v1.img)))
diag "image: $((apparent / M)) MiB apparent, $((alloc / M)) MiB allocated, root $((s1 / 1024)) KiB"
check "the image fits an 8 GB card (8*10^9 bytes)" test "$apparent" -le 8000000000
check "the image is sparse (allocated < 1/4 of its size)" test $((alloc * 4)) -lt "$apparent"

# ---- a v2 twice the size of v1 installs ----
check "keygen" aim -q keygen -W -p k.pub -s k.key
off_a=$(jq -r '.slots[0].partition.offset' st.json)
dd if=v1.img of=v1.sqfs bs=4096 skip=$((off_a / 4096)) count=$((s1 / 4096)) status=none
mkdir extra && head -c "$s1" /dev/urandom >extra/incompressible.bin
cp v1.sqfs v2.sqfs
check "mksquashfs appends $((s1 / 1024)) KiB of random bytes to v1's squashfs" \
	mksquashfs extra v2.sqfs -quiet -no-progress -no-recovery
s2=$(stat -c %s v2.sqfs)
diag "v1 squashfs $s1 bytes, v2 $s2 bytes"
check "v2's squashfs is at least twice v1's" test "$s2" -ge $((2 * s1))
check "v2 unsquashfs lists v1's files and the new one" \
	sh -c "unsquashfs -l v2.sqfs | grep -q 'incompressible.bin' && unsquashfs -l v2.sqfs | grep -q etc/hostname"
p1=$(($(sfdisk -J v1.img | jq -r '.partitiontable.partitions[0].start') * 512))
rm -rf bootdir && mkdir bootdir && mcopy -s -n -i "v1.img@@$p1" ::/slot-a/ bootdir/ 2>/dev/null
mv bootdir/slot-a bootdir/s && rm -f bootdir/s/slot.env bootdir/s/slot.env.minisig
mkb() { # mkb OUT VERSION ROOTFS
	aim -q bundle create -k k.key -o "$1" --rootfs "$3" --boot-dir bootdir/s --version "$2" \
		--board "$(jq -r '.slots[0].board' st.json)" \
		--family "$(jq -r '.slots[0].family' st.json)" --arch "$(jq -r '.slots[0].arch' st.json)"
}
check "bundle of the v2 squashfs" mkb v2.aimb 99.2 v2.sqfs
check "install v2 (2x v1) into the image planned for 8G" \
	aim -q install --image v1.img -p k.pub v2.aimb
"$AIM" status --image v1.img --json >st2.json
is "$(jq -r '.slots[1].version' st2.json)" 99.2 "slot B holds v2"
is "$(sha_range v1.img "$(jq -r '.slots[1].partition.offset' st2.json)" "$s2")" \
	"$(sha256sum <v2.sqfs | cut -d' ' -f1)" "slot B's bytes are v2's squashfs"
is "$(jq -r '.slots[1].headroom' st2.json)" $((size - s2)) "status: slot B headroom after v2"

# ---- a 1G medium: the slot's size is the limit ----
check "convert --medium-size 1G" aim -q convert --medium-size 1G in.img g1.img
"$AIM" status --image g1.img --json >g1.json
slot=$(jq -r '.slots[1].partition.size' g1.json)
is "$slot" $((128 * M)) "1G: slots of 128 MiB"
truncate -s "$slot" full.sqfs
check "bundle with a rootfs of exactly the slot size" mkb full.aimb 99.3 full.sqfs
cp --sparse=always g1.img w.img && chmod 0666 w.img
check "a rootfs of exactly the slot size installs" aim -q install --image w.img -p k.pub full.aimb
is "$("$AIM" status --image w.img --json | jq -r '.slots[1].headroom')" 0 "... headroom 0"
truncate -s $((slot + 4096)) big.sqfs
check "bundle with a rootfs 4 KiB larger than the slot" mkb big.aimb 99.3 big.sqfs
cp --sparse=always g1.img w.img && chmod 0666 w.img
sum0=$(sha256sum <w.img)
aim install --image w.img -p k.pub big.aimb 2>err
is "$?" 1 "oversized rootfs: exit 1"
sed 's/^/#   /' err
check "oversized: the message names both sizes" \
	grep -q "payload (129 MiB) is larger than slot b (128 MiB)" err
check "oversized: the message says what to do" \
	grep -q "reconvert the image with a larger --medium-size or --slot-size" err
is "$(wc -l <err)" 1 "oversized: one line"
is "$(sha256sum <w.img)" "$sum0" "oversized: nothing written"

# ---- a medium too small for the image; usage errors ----
aim convert --medium-size 256M in.img small.img 2>err
is "$?" 1 "256M medium: exit 1"
sed 's/^/#   /' err
check "256M: the message names the sizes" grep -q "more than a medium of 256M holds (238 MiB)" err
check "256M: the message says what to do" grep -q "give a larger --medium-size" err
check "256M: no output" test ! -e small.img
check "256M: no temporary left" sh -c '! ls small.img.tmp* 2>/dev/null'
aim convert --medium-size 12x in.img small.img 2>err
is "$?" 2 "--medium-size 12x: exit 2"
aim convert --medium-size 100M in.img small.img 2>err
is "$?" 2 "--medium-size 100M: exit 2"
check "100M: says the minimum" grep -q "at least 256M" err
done_testing
