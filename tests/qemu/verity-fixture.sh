#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Test fixture until convert writes verity slots itself (issue 12, host side): gives the
# slots of a converted image a dm-verity hash tree and signed verity keys in slot.env,
# in the layout aim-boot reads (docs/boot.md "dm-verity and corruption"):
#   the squashfs from byte 0, zeros to 4096, the tree (format 1, sha256, 4096-byte
#   blocks, no superblock) at H = data_blocks * 4096; /slot-X/slot.env gains verity=1,
#   verity_alg, verity_block, verity_data_blocks, verity_hash_offset, verity_salt,
#   verity_root; /slot-X/slot.env.minisig is `minisign -S` of it with SECKEY; PUBKEY goes
#   into the slot's uInitrd files as /etc/armimmutable/keys/<id>.pub (a newc cpio
#   appended to the payload, the uImage header made again with mkimage), as convert does
#   when it signs the slots: aim-boot then refuses unsigned or altered slot.env.
#
#   verity-fixture.sh IMG SECKEY PUBKEY [SLOT...]     SLOT: a, b (default both)
#
# Tools: veritysetup (cryptsetup-bin), minisign, mtools, sfdisk, jq, cpio, mkimage. Prints
# one line per slot: "slot X root <hex>". Exit 1 on any failure.
set -eu
img=$1
key=$2
pub=$3
shift 3
[ $# -gt 0 ] || set -- a b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-verity.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
p1=$(( $(sfdisk -J "$img" | jq '.partitiontable.partitions[0].start') * 512 ))
# a salt per product line: derived, not random (outputs stay reproducible)
salt=$(printf 'armimmutable verity test salt' | sha256sum | cut -c1-64)
id=$(sed -n 's/^untrusted comment: minisign public key //p' "$pub")
mkdir -p "$tmp/cpio/etc/armimmutable/keys"
cp "$pub" "$tmp/cpio/etc/armimmutable/keys/$id.pub"
(cd "$tmp/cpio" && find etc | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/keys.cpio"
mt() { MTOOLS_SKIP_CHECK=1 "$@"; }
for s in "$@"; do
	case $s in a) n=1 ;; b) n=2 ;; *) echo "verity-fixture: no slot '$s'" >&2; exit 1 ;; esac
	start=$(sfdisk -J "$img" | jq ".partitiontable.partitions[$n].start")
	size=$(( $(sfdisk -J "$img" | jq ".partitiontable.partitions[$n].size") * 512 ))
	off=$((start * 512))
	magic=$(od -An -c -j "$off" -N4 "$img" | tr -d ' ')
	[ "$magic" = hsqs ] || { echo "verity-fixture: slot $s holds no squashfs" >&2; exit 1; }
	used=$(od -An -tu8 -j $((off + 40)) -N8 "$img" | tr -d ' ')
	blocks=$(( (used + 4095) / 4096 ))
	h=$((blocks * 4096))
	dd if="$img" of="$tmp/part" bs=1M iflag=skip_bytes,count_bytes skip="$off" \
		count="$size" status=none
	# zeros from the end of the squashfs to the block boundary
	dd if=/dev/zero of="$tmp/part" bs=1 seek="$used" count=$((h - used)) conv=notrunc \
		status=none
	veritysetup format --no-superblock --format=1 --hash=sha256 --data-block-size=4096 \
		--hash-block-size=4096 --data-blocks="$blocks" --hash-offset="$h" \
		--salt="$salt" "$tmp/part" "$tmp/part" >"$tmp/out"
	root=$(sed -n 's/^Root hash:[[:space:]]*//p' "$tmp/out")
	[ ${#root} = 64 ] || { cat "$tmp/out" >&2; exit 1; }
	veritysetup verify --no-superblock --format=1 --hash=sha256 --data-block-size=4096 \
		--hash-block-size=4096 --data-blocks="$blocks" --hash-offset="$h" \
		--salt="$salt" "$tmp/part" "$tmp/part" "$root"
	dd if="$tmp/part" of="$img" bs=1M oflag=seek_bytes seek="$off" conv=notrunc \
		status=none
	MTOOLS_SKIP_CHECK=1 mtype -i "$img@@$p1" "::/slot-$s/slot.env" | tr -d '\r' |
		grep -v '^verity' >"$tmp/slot.env" || true
	printf 'verity=1\nverity_alg=sha256\nverity_block=4096\nverity_data_blocks=%s\nverity_hash_offset=%s\nverity_salt=%s\nverity_root=%s\n' \
		"$blocks" "$h" "$salt" "$root" >>"$tmp/slot.env"
	rm -f "$tmp/slot.env.minisig"
	minisign -S -s "$key" -m "$tmp/slot.env" -x "$tmp/slot.env.minisig" \
		-t "armimmutable slot $s" >/dev/null </dev/null
	MTOOLS_SKIP_CHECK=1 mcopy -o -i "$img@@$p1" "$tmp/slot.env" "$tmp/slot.env.minisig" \
		"::/slot-$s/"
	for f in $(mt mdir -b -i "$img@@$p1" "::/slot-$s" | grep -i '/uinitrd[^/]*$'); do
		mt mcopy -o -i "$img@@$p1" "$f" "$tmp/ui"
		dd if="$tmp/ui" of="$tmp/payload" bs=64 skip=1 status=none
		cat "$tmp/keys.cpio" >>"$tmp/payload"
		mkimage -A arm64 -O linux -T ramdisk -C none -n uInitrd -d "$tmp/payload" \
			"$tmp/ui" >/dev/null
		mt mcopy -o -i "$img@@$p1" "$tmp/ui" "$f"
	done
	echo "slot $s root $root"
done
