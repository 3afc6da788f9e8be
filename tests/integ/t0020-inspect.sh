#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# inspect on every sample shape, as an ordinary user: shape, table, boot method,
# architecture, family, loader signatures, kernels and root; compressed inputs give the
# same answer; every bad fixture gives one error line and exit 1. Expected values come
# from armbian-layout.md (sections 2, 3, 9) and docs/samples.md, not from the tool.
. "$(dirname "$0")/lib.sh"

# shape  expected: id convertible table boot-method arch first-start loaders
expect() {
	case $1 in
	A) echo "A true dos boot.scr arm64 8192 sunxi-spl" ;;
	A-armhf) echo "A true dos boot.scr armhf 8192 sunxi-spl" ;;
	A2) echo "A' true dos boot.scr arm64 8192 mbr-boot-code" ;;
	B) echo "B true dos boot.scr arm64 32768 rockchip-idbloader,rockchip-u-boot-itb" ;;
	C) echo "C true gpt boot.scr arm64 32768 rockchip-idbloader,rockchip-u-boot-itb" ;;
	C0) echo "C true gpt boot.scr arm64 32768 rockchip-idbloader,rockchip-u-boot-itb" ;;
	D) echo "D true dos boot.scr arm64 8192 sunxi-spl" ;;
	DE) echo "D true dos extlinux arm64 8192 sunxi-spl" ;;
	DF) echo "D true dos extlinux arm64 8192 -" ;;
	E) echo "E true dos rpi-firmware arm64 8192 -" ;;
	F) echo "F true gpt grub arm64 8192 -" ;;
	G) echo "G true gpt grub amd64 8192 grub-boot.img" ;;
	H) echo "H true dos extlinux arm64 32768 rockchip-idbloader,rockchip-u-boot-itb" ;;
	esac
}

for s in A A-armhf A2 B C C0 D DE DF E F G H; do
	img="$TMP/$s.img"
	case $s in
	A-armhf) "$SAMPLE/mkshape.sh" A "$img" --arch armhf --rootfs builtin >/dev/null 2>&1 ;;
	*) "$SAMPLE/mkshape.sh" "$s" "$img" --rootfs builtin >/dev/null 2>&1 ;;
	esac
	chmod 0644 "$img"
	as_user "$AIM" inspect --json "$img" >"$TMP/j" 2>"$TMP/err"
	rc=$?
	is "$rc" 0 "$s: inspect exits 0"
	[ $rc = 0 ] || { sed 's/^/#   /' "$TMP/err"; continue; }
	read -r id conv table boot arch start loaders <<<"$(expect "$s")"
	is "$(jq -r .shape.id "$TMP/j")" "$id" "$s: shape $id"
	is "$(jq -r .shape.convertible "$TMP/j")" "$conv" "$s: convertible=$conv"
	if [ "$conv" = false ]; then
		check "$s: says why it is not convertible" test -n "$(jq -r '.shape.reason // empty' "$TMP/j")"
	fi
	is "$(jq -r .partition_table.type "$TMP/j" | sed 's/mbr/dos/')" "$table" "$s: table $table"
	is "$(jq -r .boot.method "$TMP/j")" "$boot" "$s: boot method $boot"
	is "$(jq -r .arch "$TMP/j")" "$arch" "$s: architecture $arch (from /sbin/init)"
	is "$(jq -r '.partition_table.partitions[0].start' "$TMP/j")" $((start * 512)) "$s: first partition at sector $start"
	got=$(jq -r '[.bootloader_region.signatures[].name] | map(select(. != "unknown-data" and . != "amlogic-bl2")) | join(",")' "$TMP/j")
	[ "$loaders" = - ] && loaders=""
	is "$got" "$loaders" "$s: loader signatures '$loaders'"
	# Cross-check with independent tools: sfdisk for the table, debugfs for the root.
	is "$(jq -r '.partition_table.partitions | length' "$TMP/j")" \
		"$(sfdisk -J "$img" | jq '.partitiontable.partitions | length')" "$s: partition count as sfdisk"
	rootn=$(jq -r .root.partition "$TMP/j")
	roff=$(($(sfdisk -J "$img" | jq ".partitiontable.partitions[$((rootn - 1))].start") * 512))
	is "$(jq -r '.partition_table.partitions[] | select(.role == "root") | .uuid' "$TMP/j")" \
		"$(blkid -p -O "$roff" -s UUID -o value "$img")" "$s: root filesystem UUID as blkid"
	board=$(debugfs -R "cat /etc/armbian-release" "$img?offset=$roff" 2>/dev/null | sed -n 's/^BOARD=//p')
	is "$(jq -r .armbian.board "$TMP/j")" "$board" "$s: board $board as in /etc/armbian-release"
	kver=$(debugfs -R "ls -p /boot" "$img?offset=$roff" 2>/dev/null | tr '/' '\n' | sed -n 's/^vmlinuz-//p' | head -n 1)
	if [ -n "$kver" ]; then
		check "$s: kernel $kver listed" sh -c "jq -e --arg k '$kver' '.kernels | index(\$k)' '$TMP/j'"
	fi
	check "$s: used size is between 1 byte and the filesystem size" \
		sh -c "jq -e '.root.used > 0 and .root.used <= .root.size' '$TMP/j'"
	as_user "$AIM" inspect "$img" >"$TMP/t" 2>&1
	check "$s: text output names the shape" grep -q "^Shape: *$id " "$TMP/t"
	[ "$conv" = true ] && yn=yes || yn=no
	check "$s: text output says Convertible: $yn" grep -q "^Convertible: $yn" "$TMP/t"
done

# Compressed inputs give the same answer as the raw image.
cp "$TMP/B.img" "$TMP/Bc.img"
xz -T2 -1 -k "$TMP/Bc.img" && zstd -q -3 "$TMP/Bc.img" -o "$TMP/Bc.img.zst"
as_user "$AIM" inspect --json "$TMP/B.img" | jq -S 'del(.image)' >"$TMP/raw.j"
for c in xz zst; do
	as_user "$AIM" inspect --json "$TMP/Bc.img.$c" >"$TMP/c.j" 2>/dev/null
	is "$(jq -r .image.compression "$TMP/c.j")" "$([ $c = xz ] && echo xz || echo zstd)" "$c input detected by magic"
	is "$(jq -S 'del(.image)' "$TMP/c.j" | sha256sum)" "$(sha256sum <"$TMP/raw.j")" "$c input: same report as raw"
done
mv "$TMP/Bc.img.xz" "$TMP/renamed.img"
is "$(as_user "$AIM" inspect --json "$TMP/renamed.img" | jq -r .image.compression)" xz "xz detected by magic, not by name"

# Bad images: exit 1 and one line that names the problem.
bad_words() {
	case $1 in
	truncated) echo "end|truncat|past the end|short" ;;
	gpt-badcrc) echo "CRC" ;;
	overlap) echo "overlap" ;;
	pastend) echo "past the end" ;;
	badsb) echo "superblock" ;;
	xz-cut) echo "truncated|corrupt" ;;
	noroot) echo "no Linux root" ;;
	empty) echo "0 bytes|too short|empty" ;;
	notimage) echo "no partition table|signature" ;;
	esac
}
for kind in truncated gpt-badcrc overlap pastend badsb xz-cut noroot empty notimage; do
	bad="$TMP/bad-$kind.img"
	"$SAMPLE/mkbad.sh" "$kind" "$bad" >/dev/null 2>&1
	[ -e "$bad" ] || bad="$bad.xz"
	chmod 0644 "$bad" 2>/dev/null
	as_user "$AIM" inspect "$bad" >/dev/null 2>"$TMP/err"
	rc=$?
	is "$rc" 1 "bad $kind: exit 1"
	is "$(wc -l <"$TMP/err")" 1 "bad $kind: one line"
	check "bad $kind: names the problem ($(head -c 100 "$TMP/err"))" grep -Eqi "$(bad_words "$kind")" "$TMP/err"
done
"$AIM" inspect >/dev/null 2>&1
is $? 2 "no argument: usage error, exit 2"
"$AIM" inspect "$TMP/does-not-exist.img" 2>"$TMP/err"
is $? 1 "missing file: exit 1"
check "missing file: says so" grep -q "No such file" "$TMP/err"
done_testing
