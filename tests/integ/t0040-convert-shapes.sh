#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# convert on every convertible sample shape, as an ordinary user: the output keeps the
# table type, the first-partition offset and every byte of the bootloader region; it has
# the boot/slot A/slot B/data layout; boot files, fstab and the resize service are
# transformed; the input is untouched; the output is deterministic.
. "$(dirname "$0")/lib.sh"

# part_field IMG N FIELD: start/size (sectors) of partition N from sfdisk -J
part_field() { sfdisk -J "$1" | jq -r ".partitiontable.partitions[$(($2 - 1))].$3"; }
label_of() { sfdisk -J "$1" | jq -r '.partitiontable.label'; }

for shape in A A2 B C C0 D DE DF H F G; do
	in="$TMP/in-$shape.img"
	out="$TMP/out-$shape.img"
	if ! "$SAMPLE/mkshape.sh" "$shape" "$in" >"$TMP/mk.log" 2>&1; then
		ok 1 "$shape: sample image built"
		sed 's/^/#   /' "$TMP/mk.log" | tail -n 5
		continue
	fi
	chmod 0644 "$in"
	before=$(sha256sum <"$in")
	as_user "$AIM" -q convert "$in" "$out" 2>"$TMP/err"
	rc=$?
	is "$rc" 0 "$shape: converts as an ordinary user"
	[ $rc = 0 ] || { sed 's/^/#   /' "$TMP/err"; continue; }
	is "$(sha256sum <"$in")" "$before" "$shape: input unchanged"
	is "$(label_of "$out")" "$(label_of "$in")" "$shape: table type kept"
	in_start=$(part_field "$in" 1 start)
	is "$(part_field "$out" 1 start)" "$in_start" "$shape: first partition offset kept"
	gap_end=$((in_start * 512))
	if [ "$(label_of "$in")" = gpt ]; then
		keep_from=$((34 * 512)) # after the primary GPT (LBA 0-33)
	else
		keep_from=512
	fi
	if [ "$shape" = G ]; then
		# UEFI only: GRUB's BIOS boot code would jump into what is now the ESP
		is "$(sha_range "$out" 0 440)" "$(head -c 440 /dev/zero | sha256sum | cut -d' ' -f1)" \
			"$shape: the BIOS boot code in the protective MBR is cleared"
	else
		is "$(sha_range "$out" 0 440)" "$(sha_range "$in" 0 440)" "$shape: MBR boot code bytes 0-439 identical"
	fi
	is "$(sha_range "$out" $keep_from $((gap_end - keep_from)))" \
		"$(sha_range "$in" $keep_from $((gap_end - keep_from)))" \
		"$shape: bootloader region $keep_from-$gap_end identical"
	is "$(sfdisk -J "$out" | jq '.partitiontable.partitions | length')" 4 "$shape: four partitions"
	if [ "$(label_of "$in")" = gpt ]; then
		check "$shape: sgdisk -v finds no problems" sh -c "sgdisk -v '$out' | grep -q 'No problems found'"
	fi
	p1=$(($(part_field "$out" 1 start) * 512))
	p2=$(($(part_field "$out" 2 start) * 512))
	p3=$(($(part_field "$out" 3 start) * 512))
	p4=$(($(part_field "$out" 4 start) * 512))
	is "$(blkid -p -O $p1 -s TYPE -o value "$out")" vfat "$shape: p1 is FAT"
	is "$(blkid -p -O $p2 -s TYPE -o value "$out")" squashfs "$shape: p2 is squashfs"
	is "$(blkid -p -O $p4 -s LABEL -o value "$out")" armi_data "$shape: p4 is the data filesystem"
	# The slot image (squashfs and verity tree) of slot.env; the rest of each slot (most of
	# it: the slots are sized for the medium, docs/convert.md) is a hole, not hashed.
	used=$(mtype -i "$out@@$p1" ::/slot-a/slot.env 2>/dev/null | tr -d '\r' |
		sed -n 's/^rootfs_size=//p')
	is "$(sha_range "$out" $p3 "${used:-0}")" "$(sha_range "$out" $p2 "${used:-0}")" \
		"$shape: slot B is a copy of slot A (${used:-?} bytes)"
	dd if="$out" of="$TMP/a.sqfs" bs=1M skip=$((p2 / 1048576)) \
		count=$(((${used:-0} + 1048575) / 1048576)) status=none
	check "$shape: squashfs of slot A is readable" unsquashfs -s "$TMP/a.sqfs"
	# /slot-X/slot.env describes the slot: size and SHA-256 of its squashfs, the release
	for s in a b; do
		mtype -i "$out@@$p1" ::/slot-$s/slot.env 2>/dev/null | tr -d '\r' >"$TMP/slot.env"
		sz=$(sed -n 's/^rootfs_size=//p' "$TMP/slot.env")
		is "$(sed -n 's/^rootfs_sha256=//p' "$TMP/slot.env")" "$(sha_range "$out" $p2 "${sz:-0}")" \
			"$shape: slot-$s/slot.env has the SHA-256 of the squashfs ($sz bytes)"
		is "$(sed -n 's/^version=//p' "$TMP/slot.env")" \
			"$("$AIM" inspect --json "$in" | jq -r '.armbian.version')" "$shape: slot-$s/slot.env version"
	done
	# extlinux boards (docs/boot.md 4a): distro boot finds only boot.scr, which hands over
	# to the slot's extlinux.conf, rewritten for the slot; the board's entries otherwise kept
	if [ "$shape" = H ] || [ "$shape" = DF ] || [ "$shape" = DE ]; then
		check "$shape: no extlinux.conf where distro boot looks before boot.scr" sh -c \
			"! mtype -i '$out@@$p1' ::/extlinux/extlinux.conf && ! mtype -i '$out@@$p1' ::/boot/extlinux/extlinux.conf" 2>/dev/null
		check "$shape: boot.cmd hands over with sysboot" \
			sh -c "mtype -i '$out@@$p1' ::/boot.cmd | grep -q '^sysboot .*\${prefix}extlinux/extlinux.conf'"
		id=$(sfdisk -J "$out" | jq -r .partitiontable.id | sed 's/^0x//')
		if [ "$shape" = H ]; then pre=/boot/; else pre=/; fi
		if [ "$shape" = H ]; then debugfs -R "cat /boot/extlinux/extlinux.conf" "$in?offset=$gap_end" 2>/dev/null >"$TMP/ext.in"
		elif [ "$shape" = DE ]; then debugfs -R "cat /extlinux/extlinux.conf" "$in?offset=$gap_end" 2>/dev/null >"$TMP/ext.in"
		else mtype -i "$in@@$(($(part_field "$in" 1 start) * 512))" ::/extlinux/extlinux.conf >"$TMP/ext.in"; fi
		for s in a b; do
			n=$([ $s = a ] && echo 02 || echo 03)
			mtype -i "$out@@$p1" ::/slot-$s/extlinux/extlinux.conf >"$TMP/ext.$s" 2>&1
			# what the slot's file must be: the paths moved, the command line for the slot
			sed -e "s#^\(  *[a-z]* \)$pre#\1/slot-$s/#" \
				-e "s#root=UUID=[^ ]*#root=PARTUUID=$id-$n#; s#rootfstype=ext4#rootfstype=squashfs#" \
				-e "/append/s#\$# panic=10 armimmutable.slot=$s#" "$TMP/ext.in" >"$TMP/ext.want"
			check "$shape: slot-$s/extlinux/extlinux.conf: /slot-$s/ paths, root=PARTUUID=$id-$n, armimmutable.slot=$s" \
				cmp "$TMP/ext.want" "$TMP/ext.$s"
			cmp -s "$TMP/ext.want" "$TMP/ext.$s" || diff "$TMP/ext.want" "$TMP/ext.$s" | sed 's/^/#   /'
		done
	fi
	# UEFI images (docs/boot.md 4b): p1 is the ESP with GRUB, its generated grub.cfg, the
	# GRUB-readable state; each slot holds the kernel and initrd the image's grub.cfg boots
	# and a grub.env naming them with the image's own command line
	if [ "$shape" = F ] || [ "$shape" = G ]; then
		is "$(sfdisk -J "$out" | jq -r '.partitiontable.partitions[0].type')" \
			C12A7328-F81F-11D2-BA4B-00A0C93EC93B "$shape: p1 is an EFI System partition"
		efi=$([ "$shape" = F ] && echo BOOTAA64.EFI || echo BOOTX64.EFI)
		is "$(mtype -i "$out@@$p1" ::/EFI/BOOT/$efi 2>/dev/null | head -c 2)" MZ \
			"$shape: /EFI/BOOT/$efi is a PE image"
		check "$shape: /EFI/BOOT/grub.cfg reads the state" sh -c \
			"mtype -i '$out@@$p1' ::/EFI/BOOT/grub.cfg | grep -q 'load_env.*state-1.txt'"
		is "$(mtype -i "$out@@$p1" ::/state-1.txt 2>/dev/null | head -n 1)" \
			"# GRUB Environment Block" "$shape: the state record is a GRUB environment block"
		mcopy -n -i "$out@@$p1" ::/bootcount.txt "$TMP/bc" 2>/dev/null
		is "$(stat -c %s "$TMP/bc" 2>/dev/null)" 1024 "$shape: bootcount.txt is one 1024-byte block (save_env)"
		nroot=$(sfdisk -J "$in" | jq '.partitiontable.partitions | length')
		debugfs -R "cat /boot/grub/grub.cfg" "$in?offset=$(($(part_field "$in" "$nroot" start) * 512))" \
			>"$TMP/grub.in" 2>/dev/null
		k=$(awk '$1 == "linux" { sub(".*/", "", $2); print $2; exit }' "$TMP/grub.in")
		i=$(awk '$1 == "initrd" { sub(".*/", "", $2); print $2; exit }' "$TMP/grub.in")
		# the image's arguments carried into each slot's linux line, with the slot's root
		mtype -i "$out@@$p1" ::/EFI/BOOT/grub.cfg >"$TMP/gcfg" 2>/dev/null
		args=$(awk '$1 == "linux" { for (i = 3; i <= NF; i++) if ($i !~ /^(root=|ro$)/) printf "%s ", $i; exit }' "$TMP/grub.in")
		id=$(sfdisk -J "$out" | jq -r '.partitiontable.partitions[1].uuid' | tr A-F a-f)
		check "$shape: slot a's linux line: root=PARTUUID=$id, the image's arguments, the slot" sh -c \
			"grep -F 'root=PARTUUID=$id' '$TMP/gcfg' | grep -F -- '${args% }' | grep -q 'armimmutable.slot=a'"
		for s in a b; do
			mtype -i "$out@@$p1" ::/slot-$s/grub.env >"$TMP/genv" 2>/dev/null
			is "$(sed -n 's/^aim_kernel=//p' "$TMP/genv")/$(sed -n 's/^aim_initrd=//p' "$TMP/genv")" \
				"$k/$i" "$shape: slot-$s/grub.env names the kernel and initrd of the image's grub.cfg"
			is "$(mdir -b -i "$out@@$p1" ::/slot-$s/ 2>/dev/null | sed 's#.*/##' | sort | tr '\n' ' ')" \
				"$(printf '%s\n' "$k" "$i" grub.env slot.env rootfs.idx | sort | tr '\n' ' ')" \
				"$shape: slot-$s holds what GRUB loads, its slot.env and block index, nothing else"
		done
	fi
	unsquashfs -q -n -d "$TMP/sq" "$TMP/a.sqfs" etc/fstab etc/armimmutable boot etc/systemd >/dev/null 2>&1
	check "$shape: fstab has no active / line" sh -c "! awk '\$1 !~ /^#/ && \$2 == \"/\"' '$TMP/sq/etc/fstab' | grep -q ."
	is "$(ls -A "$TMP/sq/boot" 2>/dev/null | wc -l)" 0 "$shape: /boot in the slot is an empty mount point"
	is "$(readlink "$TMP/sq/etc/systemd/system/armbian-resize-filesystem.service")" /dev/null \
		"$shape: armbian-resize-filesystem masked"
	check "$shape: overlay configuration recorded" grep -q '^OVERLAY=persistent' "$TMP/sq/etc/armimmutable/armimmutable.conf"
	rm -rf "$TMP/sq"
	# The kernel in the boot partition is byte-identical to the one in the input's /boot.
	mdir -b -i "$out@@$p1" ::/slot-a/ >"$TMP/bootls" 2>&1
	kern=$(grep -Eo '(Image|zImage|vmlinuz-[^ ]*)$' "$TMP/bootls" | head -n 1)
	check "$shape: slot-a holds a kernel ($kern)" test -n "$kern"
	if [ -n "$kern" ]; then
		mcopy -n -i "$out@@$p1" "::/slot-a/$kern" "$TMP/k.out" 2>/dev/null
		if [ "$shape" = D ] || [ "$shape" = DE ] || [ "$shape" = DF ]; then
			bs=$(($(part_field "$in" 1 start) * 512))
			bp="/$kern"
		else
			# the root: the last partition (the only one but on D, F, G)
			bs=$(($(part_field "$in" "$(sfdisk -J "$in" | jq '.partitiontable.partitions | length')" start) * 512))
			bp="/boot/$kern"
		fi
		if [ "$shape" = DF ]; then
			mcopy -n -i "$in@@$bs" "::$bp" "$TMP/k.in" 2>/dev/null
		else
			debugfs -R "dump $bp $TMP/k.in" "$in?offset=$bs" >/dev/null 2>&1
			# dump does not follow a symlinked name: resolve Image -> vmlinuz-*
			if [ ! -s "$TMP/k.in" ]; then
				tgt=$(debugfs -R "stat $bp" "$in?offset=$bs" 2>/dev/null | sed -n 's/^Fast link dest: "\(.*\)"/\1/p')
				debugfs -R "dump ${bp%/*}/$tgt $TMP/k.in" "$in?offset=$bs" >/dev/null 2>&1
			fi
		fi
		check "$shape: kernel copied byte for byte" cmp "$TMP/k.in" "$TMP/k.out"
		rm -f "$TMP/k.in" "$TMP/k.out"
	fi
	# One copy of each kernel and initramfs (docs/boot.md section 1): no two files of a
	# slot's top level hold the same bytes, and every file the boot script loads
	# unconditionally through ${prefix} (Image/zImage, uInitrd) is there.
	for s in a b; do
		rm -rf "$TMP/slot"
		mkdir "$TMP/slot"
		mcopy -n -i "$out@@$p1" "::/slot-$s/*" "$TMP/slot/" 2>/dev/null
		dup=$(cd "$TMP/slot" && find . -maxdepth 1 -type f -size +0 -exec sha256sum {} + |
			sort | uniq -w 64 -D | awk '{ print $2 }' | tr '\n' ' ')
		is "$dup" "" "$shape: slot-$s holds no two copies of one file"
	done
	if mtype -i "$out@@$p1" ::/boot.cmd >"$TMP/boot.cmd" 2>/dev/null; then
		miss=""
		for f in $(grep -E '^[[:space:]]*load ' "$TMP/boot.cmd" |
			grep -oE '\$\{prefix\}(Image|zImage|uInitrd)[^/[:space:]]*' | sed 's/^${prefix}//' | sort -u); do
			[ -e "$TMP/slot/$f" ] || miss="$miss $f"
		done
		is "$miss" "" "$shape: every kernel and initramfs boot.cmd loads is in the slot"
	fi
	rm -rf "$TMP/slot"
	rm -f "$out" "$TMP/a.sqfs"
	[ "$shape" = B ] || rm -f "$in"
done

# Determinism: same input and options, same bytes; SOURCE_DATE_EPOCH changes them.
in="$TMP/in-B.img"
[ -f "$in" ] || "$SAMPLE/mkshape.sh" B "$in" >/dev/null 2>&1
chmod 0644 "$in"
check "determinism: four conversions succeed" sh -c "
	$(printf %q "$AIM") -q convert '$in' '$TMP/d1.img' &&
	$(printf %q "$AIM") -q convert '$in' '$TMP/d2.img' &&
	SOURCE_DATE_EPOCH=1700000000 $(printf %q "$AIM") -q convert '$in' '$TMP/d3.img' &&
	SOURCE_DATE_EPOCH=1700000000 $(printf %q "$AIM") -q convert '$in' '$TMP/d4.img'"
h() { [ -f "$1" ] && sha256sum <"$1" || echo "missing $1"; }
is "$(h "$TMP/d1.img")" "$(h "$TMP/d2.img")" "same input, same options: bit-identical output"
is "$(h "$TMP/d3.img")" "$(h "$TMP/d4.img")" "SOURCE_DATE_EPOCH: bit-identical output"
check "SOURCE_DATE_EPOCH is honoured (output differs from the default epoch)" \
	test "$(h "$TMP/d1.img")" != "$(h "$TMP/d3.img")"
rm -f "$TMP"/d?.img
done_testing
