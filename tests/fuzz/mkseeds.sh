#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Regenerates the seed corpora under tests/fuzz/corpus/<harness>/ from small fixtures of
# the kinds the unit and integration tests build (bundles signed with tests/fuzz/seed.key,
# GPT/MBR images by sfdisk, FAT12 by mkfs.vfat + mtools, ext2/ext4 by mke2fs -d, cpio
# archives, xz/zstd streams, slot state records). Then run `run.sh --merge-seeds` (or
# libFuzzer -merge=1 by hand) to keep only the inputs that add coverage.
#   tests/fuzz/mkseeds.sh [OUTDIR]   (default tests/fuzz/corpus; needs build/armimmutable)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/tests/fuzz/corpus}
aim=${AIM:-$top/build/armimmutable}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
export SOURCE_DATE_EPOCH=1700000000
mkdir -p "$out"
d() { mkdir -p "$out/$1"; echo "$out/$1"; }

# ---- slot state, bootcount ----
o=$(d slotstate)
python3 - "$o" <<'PY'
import sys, zlib
o = sys.argv[1]
def rec(seq, active, tr, ta, tb, ga, gb, reason):
    t = (f"aim_seq={seq}\naim_active={active}\naim_try={tr}\naim_tries_a={ta}\n"
         f"aim_tries_b={tb}\naim_good_a={ga}\naim_good_b={gb}\naim_reason={reason}\n")
    return t + "aim_crc=%08x\n" % zlib.crc32(t.encode())
a = rec(1, "a", "", 0, 0, 1, 0, "")
b = rec(2, "a", "b", 0, 3, 1, 0, "")
c = rec(9, "b", "", 0, 0, 1, 1, "trial of a failed: no boots left")
cases = {"fresh": a, "trial": b, "both-good": c, "pair": a + "\0" + b,
         "pair-bad-crc": b.replace("aim_seq=2", "aim_seq=3") + "\0" + a,
         "wrap": rec(4294967295, "b", "a", 2, 0, 0, 1, "") + "\0" + rec(0, "a", "", 0, 0, 1, 1, "")}
# the GRUB flavour (docs/boot.md 4b): GRUB's envblk signature first, under the CRC
sig = "# GRUB Environment Block\n"
def grec(*args):
    t = sig + rec(*args)
    t = t[:t.index("aim_crc=")]
    return t + "aim_crc=%08x\n" % zlib.crc32(t.encode())
g1 = grec(20, "a", "", 0, 0, 1, 0, "")
g2 = grec(21, "a", "b", 0, 2, 1, 0, "installed")
cases.update({"grub-pair": g1 + "\0" + g2, "grub-torn": g1 + "\0" + g2[:-12]})
for k, v in cases.items():
    open(f"{o}/{k}", "w").write(v)
PY
o=$(d bootcount)
printf 'aim_bc=1\naim_bc_seq=8\n' >"$o/one"
printf 'aim_bc_seq=8\naim_bc=3\nfoo=bar\n\0' >"$o/any-order"
printf 'aim_bc=2\naim_bc_seq=7\n' >"$o/old-seq"
# GRUB's bootcount.txt: an environment block of 1024 bytes, '#' padding
{ printf '# GRUB Environment Block\naim_bc=1\naim_bc_seq=7\n'; head -c 977 /dev/zero | tr '\0' '#'; } >"$o/grub-block"

# ---- slot.env ----
o=$(d slotenv)
printf 'version=24.5.1\nboard=orangepi5\nfamily=rockchip-rk3588\narch=arm64\nsource=convert\nrootfs_size=696320\nrootfs_sha256=%064d\ninstalled=1700000000\n' 0 >"$o/convert"
printf '# slot b\r\nversion=24.8.0\nboard=rpi4b\nfamily=bcm2711\narch=arm64\nsource=bundle\nbundle=%064d\nunknown=x\n' 1 >"$o/bundle"

# ---- aim-boot: command line, armimmutable.conf, boot.env ----
o=$(d aimboot)
printf 'root=PARTUUID=ABCDEF01-02 ro armimmutable.slot=b armimmutable.overlay=tmpfs armimmutable.trial_timeout=300 quiet\n' >"$o/cmdline"
printf 'OVERLAY=persistent\nTRIAL_TIMEOUT=600\nPERSIST="/etc/ssh /var/lib/docker /home"\n' >"$o/conf"
printf 'slot=a\nboot_dev=mmcblk0p1\ndata_dev=mmcblk0p4\ntrial=0\nreason=\ngrow=done\n' >"$o/boot.env"

# ---- keys and signatures ----
o=$(d sign)
cp "$top/tests/fuzz/seed.pub" "$o/pub"
cp "$top/tests/fuzz/seed.key" "$o/key-plain"
tail -n 1 "$top/tests/fuzz/seed.pub" >"$o/pub-bare"
printf 'pw\n' >"$w/pw"
"$aim" -q keygen -p "$w/enc.pub" -s "$o/key-scrypt" --password-file "$w/pw" >/dev/null 2>&1 || true
printf 'format=1\n' >"$w/msg"
if command -v minisign >/dev/null; then
	minisign -G -W -p "$w/m.pub" -s "$w/m.key" >/dev/null 2>&1 && {
		minisign -S -s "$w/m.key" -m "$w/msg" -x "$o/sig-prehashed" -t "trusted" >/dev/null 2>&1 || true
		minisign -S -l -s "$w/m.key" -m "$w/msg" -x "$o/sig-legacy" >/dev/null 2>&1 || true
	}
fi

# ---- bundles and manifests ----
mkdir -p "$w/root/etc" "$w/boot/dtb/rockchip"
echo 'VERSION=24.5.1' >"$w/root/etc/armbian-release"
mksquashfs "$w/root" "$w/root.sqfs" -quiet -noappend -all-root >/dev/null
printf 'kernel' >"$w/boot/Image"
printf 'dtb' >"$w/boot/dtb/rockchip/rk3588.dtb"
: >"$w/boot/empty"
o=$(d bundle)
"$aim" -q bundle create -k "$top/tests/fuzz/seed.key" -o "$o/sample.aimb" --rootfs "$w/root.sqfs" \
	--boot-dir "$w/boot" --version 24.5.1 --board orangepi5 --family rockchip-rk3588 \
	--arch arm64 --linuxfamily rk35xx -f
mkdir -p "$w/boot1"
printf 'x' >"$w/boot1/boot.scr"
"$aim" -q bundle create -k "$top/tests/fuzz/seed.key" -o "$o/small.aimb" --rootfs "$w/root.sqfs" \
	--boot-dir "$w/boot1" --version 1 --board b --family f --arch armhf -f
# the block index bundle create made for the squashfs (a boot payload, rootfs.idx)
python3 - "$o/sample.aimb" "$(d deltaindex)/sample" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
ml, sl = struct.unpack_from("<II", d, 16)
area = (64 + ml + sl + 4095) // 4096 * 4096
sec = {}
for line in d[64:64 + ml].decode().split("\n"):
    if line == "[payload]":
        if sec.get("name") == "rootfs.idx":
            break
        sec = {}
    elif "=" in line:
        k, v = line.split("=", 1)
        sec[k] = v
off, size = int(sec["offset"]), int(sec["size"])
open(sys.argv[2], "wb").write(d[area + off:area + off + size])
PY
m=$(d manifest)
for b in "$o"/*.aimb; do
	python3 - "$b" "$m/$(basename "$b" .aimb)" "$(d sign)/sig-$(basename "$b" .aimb)" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
ml, sl = struct.unpack_from("<II", d, 16)
open(sys.argv[2], "wb").write(d[64:64 + ml])
open(sys.argv[3], "wb").write(d[64 + ml:64 + ml + sl])
PY
done

# ---- input formats ----
o=$(d input)
seq 1 800 >"$w/raw"
printf 'armbian-image' >>"$w/raw"
cp "$w/raw" "$o/raw"
xz -c --check=crc64 "$w/raw" >"$o/raw.xz"
xz -c --block-size=1024 "$w/raw" >"$o/raw-blocks.xz"
zstd -q -c "$w/raw" >"$o/raw.zst"
{ zstd -q -c "$w/raw"; zstd -q -c --no-content-size </dev/zero | head -c 0; } >"$o/raw2.zst"
printf '\x50\x2a\x4d\x18\x04\x00\x00\x00skip' >"$o/skippable.zst"; zstd -q -c "$w/msg" >>"$o/skippable.zst"
head -c 65536 /dev/zero | zstd -q -c >"$o/zeros.zst"
gzip -c "$w/msg" >"$o/msg.gz"

# ---- partition tables ----
o=$(d ptable)
truncate -s 64K "$w/gpt"
printf 'label: gpt\nfirst-lba: 34\nstart=34, size=40, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="boot"\nstart=74, size=20, type=L\n' |
	sfdisk -q "$w/gpt" >/dev/null && cp "$w/gpt" "$o/gpt"
truncate -s 64K "$w/mbr"
printf 'label: dos\nlabel-id: 0x12345678\nstart=1, size=40, type=c, bootable\nstart=41, size=60, type=83\n' |
	sfdisk -q "$w/mbr" >/dev/null && cp "$w/mbr" "$o/mbr"
truncate -s 160K "$w/gpt4k"
printf 'label: gpt\nfirst-lba: 6\nstart=6, size=10, type=L\n' |
	sfdisk -q --sector-size 4096 "$w/gpt4k" >/dev/null 2>&1 && cp "$w/gpt4k" "$o/gpt-4k" || true

# ---- FAT ----
o=$(d fat)
mkfs.vfat -C -n BOOT "$w/fat.img" 96 >/dev/null
printf 'setenv x 1\n' >"$w/boot.scr"
printf 'verbosity=1\n' >"$w/armbianEnv.txt"
MTOOLS_SKIP_CHECK=1 mmd -i "$w/fat.img" ::/EFI ::/EFI/BOOT ::/dtb ::/dtb/rockchip
MTOOLS_SKIP_CHECK=1 mcopy -i "$w/fat.img" "$w/boot.scr" "$w/armbianEnv.txt" ::/
MTOOLS_SKIP_CHECK=1 mcopy -i "$w/fat.img" "$w/msg" ::/EFI/BOOT/BOOTAA64.EFI
MTOOLS_SKIP_CHECK=1 mcopy -i "$w/fat.img" "$w/msg" ::/dtb/rockchip/a-very-long-file-name.dtb
cp "$w/fat.img" "$o/fat12"

# ---- ext2/ext4 ----
o=$(d ext4)
mkdir -p "$w/fs/etc" "$w/fs/dir/sub"
echo 'BOARD=x' >"$w/fs/etc/armbian-release"
ln -s ../etc/armbian-release "$w/fs/dir/link"
printf 'data' >"$w/fs/dir/sub/file"
mke2fs -q -t ext4 -b 1024 -N 32 -O ^has_journal,^resize_inode -E root_owner=0:0 -d "$w/fs" \
	"$w/e4" 128K >/dev/null 2>&1 && cp "$w/e4" "$o/ext4"
mke2fs -q -t ext2 -b 1024 -N 16 -d "$w/fs" "$w/e2" 64K >/dev/null 2>&1 && cp "$w/e2" "$o/ext2" || true

# ---- initramfs, modules.dep ----
o=$(d initrd)
mkdir -p "$w/ir/conf" "$w/ir/scripts/local-bottom" "$w/ir/lib/modules/6.1.0/kernel/fs/squashfs" "$w/ir/bin"
printf 'ext4\n' >"$w/ir/conf/modules"
printf '/scripts/local-bottom/foo "$@"\n[ -e /conf/param.conf ] && . /conf/param.conf\n' >"$w/ir/scripts/local-bottom/ORDER"
printf 'kernel/fs/squashfs/squashfs.ko:\n' >"$w/ir/lib/modules/6.1.0/modules.dep"
printf '\177ELF' >"$w/ir/lib/modules/6.1.0/kernel/fs/squashfs/squashfs.ko"
ln -s /bin/sh "$w/ir/bin/ash"
(cd "$w/ir" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$o/plain.cpio"
gzip -n -c "$o/plain.cpio" >"$o/cpio.gz"
zstd -q -c "$o/plain.cpio" >"$o/cpio.zst"
xz -c --check=crc32 "$o/plain.cpio" >"$o/cpio.xz"
cat "$o/plain.cpio" "$o/cpio.gz" >"$o/concat"
mkimage -A arm64 -O linux -T ramdisk -C gzip -n uInitrd -d "$o/cpio.gz" "$o/uInitrd" >/dev/null
o=$(d modulesdep)
printf 'kernel/fs/squashfs/squashfs.ko:\nkernel/fs/overlayfs/overlay.ko:\nkernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko\nkernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/lib/crc16.ko:\n' >"$o/dep"
printf 'kernel/fs/squashfs/squashfs.ko.xz:\nkernel/fs/overlayfs/overlay.ko.zst: kernel/lib/libcrc32c.ko.gz\n\0kernel/fs/ext4/ext4.ko\nkernel/lib/libcrc32c.ko\n' >"$o/dep-builtin"
echo "seeds in $out: $(find "$out" -type f | wc -l) files, $(du -sk "$out" | cut -f1) KiB"
