#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The synthetic sample images (tests/sample/mkshape.sh, mkbad.sh): builds every shape and
# every bad fixture and checks the facts that define them with independent tools (sfdisk -J,
# sgdisk -v, blkid -p -O, debugfs, mtools, mkimage -l, od, xz). The expected values are
# written here from docs/armbian-layout.md (sections 1-4, 6 and 9) and docs/samples.md, not
# read back from the scripts. Also: the same call gives the same bytes, and a build as an
# ordinary user gives the same bytes as one as root.
. "$(dirname "$0")/lib.sh"
MK="$SAMPLE/mkshape.sh"
BAD="$SAMPLE/mkbad.sh"
export TMPDIR=$TMP

# ---- helpers ---------------------------------------------------------------------------------------
pt() { sfdisk -J "$1" 2>/dev/null | jq -r ".partitiontable$2"; }
# hex IMG OFFSET N: N bytes at OFFSET as lower-case hex
hex() { od -A n -t x1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# bytes IMG OFFSET N: N raw bytes at OFFSET
bytes() { tail -c +"$(($2 + 1))" "$1" | head -c "$3"; }
# blk IMG PART_START_SECTORS TAG
blk() { blkid -p -O $(($2 * 512)) -s "$3" -o value "$1" 2>/dev/null; }
# e2 IMG PART_START_SECTORS REQUEST: debugfs request on the ext4 at that offset
e2() { debugfs -R "$3" "$1?offset=$(($2 * 512))" 2>/dev/null; }
# e2link IMG START PATH: target of a symlink
e2link() { e2 "$1" "$2" "stat $3" | sed -n 's/^Fast link dest: "\(.*\)"$/\1/p'; }
# e2type IMG START PATH: "regular" "directory" "symlink"
e2type() { e2 "$1" "$2" "stat $3" | sed -n 's/^Inode: [0-9]*  *Type: \([a-z]*\) .*/\1/p'; }
# e2dump IMG START PATH OUT
e2dump() { debugfs -R "dump $3 $4" "$1?offset=$(($2 * 512))" >/dev/null 2>&1; }
# relval FILE KEY: value of KEY=... in a shell-style file
relval() { sed -n "s/^$2=//p" "$1" | tr -d '"'; }
# zeros FILE: number of zero bytes
zeros() { tr -cd '\000' <"$1" | wc -c; }
# mkimage_l FILE: mkimage -l output
mkl() { mkimage -l "$1" 2>&1; }
has() { grep -q -- "$2" <<<"$1"; } # has TEXT PATTERN

# elf_machine FILE: "<class> <e_machine>" of an ELF file
elf_machine() {
	echo "$(od -A n -t u1 -j 4 -N 1 "$1" | tr -d ' ') $(od -A n -t u2 -j 18 -N 2 "$1" | tr -d ' ')"
}

# The keys of /etc/armbian-release listed in armbian-layout.md 4.7
REL_KEYS="BOARD BOARD_NAME BOARDFAMILY LINUXFAMILY ARCH BOOT_SOC IMAGE_TYPE INITRD_ARCH KERNEL_IMAGE_TYPE FORCE_BOOTSCRIPT_UPDATE FORCE_UBOOT_UPDATE OVERLAY_DIR VENDOR VERSION BRANCH"

# check_root IMG START SHAPE LINUXFAMILY ARCH ELF_CLASS ELF_MACHINE: what every root has;
# sets $kver (the kernel release under /lib/modules)
check_root() {
	local img=$1 s=$2 sh=$3 fam=$4 arch=$5 class=$6 mach=$7 w=$TMP/chk-$3 k miss=""
	rm -rf "$w"
	mkdir -p "$w"
	e2 "$img" "$s" "cat /etc/armbian-release" >"$w/rel"
	for k in $REL_KEYS; do grep -q "^$k=" "$w/rel" || miss="$miss $k"; done
	is "$miss" "" "$sh: /etc/armbian-release has every key of layout 4.7"
	is "$(relval "$w/rel" LINUXFAMILY) $(relval "$w/rel" ARCH)" "$fam $arch" \
		"$sh: armbian-release LINUXFAMILY and ARCH"
	e2 "$img" "$s" "cat /etc/armbian-image-release" >"$w/irel"
	check "$sh: /etc/armbian-image-release has EXTENSIONS" grep -q '^EXTENSIONS=' "$w/irel"
	uuid=$(blk "$img" "$s" UUID)
	e2 "$img" "$s" "cat /etc/fstab" >"$w/fstab"
	is "$(head -n 1 "$w/fstab")" "UUID=$uuid / ext4 defaults,commit=120,errors=remount-ro 0 1" \
		"$sh: fstab line 1 mounts the root by filesystem UUID (layout 1.9)"
	is "$(tail -n 1 "$w/fstab")" "tmpfs /tmp tmpfs defaults,nosuid 0 0" "$sh: fstab ends with tmpfs /tmp"
	is "$(e2link "$img" "$s" /sbin) $(e2link "$img" "$s" /usr/sbin/init)" \
		"usr/sbin ../lib/systemd/systemd" "$sh: /sbin/init resolves to /lib/systemd/systemd (merged /usr)"
	e2dump "$img" "$s" /usr/lib/systemd/systemd "$w/systemd"
	is "$(elf_machine "$w/systemd")" "$class $mach" "$sh: /lib/systemd/systemd is an ELF for $arch"
	is "$(e2link "$img" "$s" /etc/systemd/system/basic.target.wants/armbian-resize-filesystem.service)" \
		/lib/systemd/system/armbian-resize-filesystem.service "$sh: resize service enabled in basic.target.wants"
	check "$sh: armbian-resize-filesystem script and firstrun unit present" \
		sh -c "debugfs -R 'stat /usr/lib/armbian/armbian-resize-filesystem' '$img?offset=$((s * 512))' 2>&1 | grep -q 'Type: regular' &&
			debugfs -R 'stat /usr/lib/systemd/system/armbian-firstrun.service' '$img?offset=$((s * 512))' 2>&1 | grep -q 'Type: regular'"
	kver=$(e2 "$img" "$s" "ls /usr/lib/modules" | tr -s ' \n' '\n\n' | grep -- "-$fam\$" | head -n 1)
	has "$kver" "-$(relval "$w/rel" BRANCH)-$fam" && ok 0 "$sh: kernel release <ver>-<BRANCH>-<LINUXFAMILY> ($kver)" ||
		ok 1 "$sh: kernel release <ver>-<BRANCH>-<LINUXFAMILY> (got '$kver')"
	is "$(e2 "$img" "$s" "stat /etc/fstab" | sed -n 's/.*User: *\([0-9]*\) *Group: *\([0-9]*\).*/\1:\2/p')" "0:0" \
		"$sh: files owned by root"
}

# check_uboot_boot IMG START SHAPE PREFIX KIT MKIMAGE_ARCH: the U-Boot /boot of layout 4.6
# (in the root: PREFIX /boot; a separate ext4 /boot: PREFIX ""); needs $kver and $root_uuid
check_uboot_boot() {
	local img=$1 s=$2 sh=$3 pfx=$4 kit=$5 iarch=$6 w=$TMP/chk-$3 f miss=""
	local ls
	ls=$(e2 "$img" "$s" "ls $pfx/")
	for f in armbianEnv.txt boot.cmd boot.scr boot.bmp .next "$kit" "vmlinuz-$kver" "config-$kver" \
		"System.map-$kver" "initrd.img-$kver" uInitrd "uInitrd-$kver" dtb "dtb-$kver"; do
		has " $ls " "[[:space:]]${f}[[:space:]]" || miss="$miss $f"
	done
	is "$miss" "" "$sh: $pfx/ holds every file of layout 4.6"
	is "$(e2link "$img" "$s" "$pfx/$kit") $(e2link "$img" "$s" "$pfx/uInitrd") $(e2link "$img" "$s" "$pfx/dtb")" \
		"vmlinuz-$kver uInitrd-$kver dtb-$kver" "$sh: $kit, uInitrd and dtb are symlinks (layout 4.2, 4.3)"
	e2dump "$img" "$s" "$pfx/boot.scr" "$w/boot.scr"
	out=$(mkl "$w/boot.scr")
	has "$out" "Image Type: *ARM Linux Script" && ok 0 "$sh: boot.scr is a legacy script image (-A arm -T script)" ||
		{ ok 1 "$sh: boot.scr is a legacy script image"; echo "$out" | sed 's/^/#   /'; }
	e2dump "$img" "$s" "$pfx/uInitrd-$kver" "$w/uInitrd"
	out=$(mkl "$w/uInitrd")
	has "$out" "Image Type: *$iarch Linux RAMDisk Image (gzip compressed)" &&
		ok 0 "$sh: uInitrd is a legacy $iarch ramdisk, gzip (layout 4.3)" ||
		{ ok 1 "$sh: uInitrd is a legacy $iarch ramdisk"; echo "$out" | sed 's/^/#   /'; }
	e2 "$img" "$s" "cat $pfx/armbianEnv.txt" >"$w/env"
	check "$sh: armbianEnv.txt has rootdev=UUID=<root fs uuid> and rootfstype=ext4" \
		sh -c "grep -qx 'rootdev=UUID=$root_uuid' '$w/env' && grep -qx 'rootfstype=ext4' '$w/env'"
}

# mkshape SHAPE NAME [opts]: build SHAPE into $TMP/NAME.img (root made by mke2fs -d)
mkshape() { local sh=$1 name=$2; shift 2; "$MK" "$sh" "$TMP/$name.img" --rootfs builtin "$@" >"$TMP/$name.log" 2>&1; }
built() { # built NAME SHAPE [opts]
	local n=$1 sh=$2
	shift 2
	if mkshape "$sh" "$n" "$@"; then ok 0 "$n: built"; return 0; fi
	ok 1 "$n: built"
	sed 's/^/#   /' "$TMP/$n.log" | tail -n 5
	return 1
}

T_ARM64="B921B045-1DF0-41C3-AF44-4C6F280D3FAE"
T_X86_64="4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
T_LINUX="0FC63DAF-8483-4772-8E79-3D69D8477DE4"
T_ESP="C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
T_BIOS="21686148-6449-6E6F-744E-656564454649"

# ---- A: sunxi64 -------------------------------------------------------------------------------------
if built A A; then
	img=$TMP/A.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length')" "dos 1" "A: MBR with one partition"
	is "$(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].type')" "8192 83" \
		"A: root p1 at 4 MiB, type 83"
	is "$(pt "$img" '.partitions[0].bootable // false')" false "A: no bootable flag (layout 1.5)"
	is "$(blk "$img" 8192 TYPE) $(blk "$img" 8192 LABEL)" "ext4 armbi_root" "A: p1 is ext4 armbi_root"
	is "$(bytes "$img" $((8192 + 4)) 8)" "eGON.BT0" "A: sunxi SPL (eGON.BT0) at 8 KiB"
	is "$(hex "$img" $((40 * 1024)) 4)" d00dfeed "A: U-Boot FIT after the 32 KiB SPL (40 KiB)"
	root_uuid=$(blk "$img" 8192 UUID)
	check_root "$img" 8192 A sunxi64 arm64 2 183
	check_uboot_boot "$img" 8192 A /boot Image AArch64
	check "A: boot.cmd is the sunxi64 flow (booti, armbianEnv.txt)" \
		sh -c "debugfs -R 'cat /boot/boot.cmd' '$img?offset=$((8192 * 512))' 2>/dev/null | grep -q '^booti ' &&
			debugfs -R 'cat /boot/boot.cmd' '$img?offset=$((8192 * 512))' 2>/dev/null | grep -q 'armbianEnv.txt'"
	e2dump "$img" 8192 /boot/vmlinuz-$kver "$TMP/A.vmlinuz"
	is "$(bytes "$TMP/A.vmlinuz" 56 4)" "ARMd" "A: vmlinuz has the arm64 Image magic at 56"
fi

# ---- A, armhf: 32-bit sunxi ---------------------------------------------------------------------------
if built Ahf A --arch armhf; then
	img=$TMP/Ahf.img
	is "$(pt "$img" '.partitions[0].start') $(blk "$img" 8192 LABEL)" "8192 armbi_root" "Ahf: root p1 at 4 MiB"
	is "$(bytes "$img" $((8192 + 4)) 8)" "eGON.BT0" "Ahf: sunxi SPL at 8 KiB"
	is "$(hex "$img" $((40 * 1024)) 4)" 27051956 "Ahf: legacy u-boot.img after the SPL"
	env_crc=$(hex "$img" $((0x88000)) 4)
	calc=$(bytes "$img" $((0x88000 + 4)) $((0x20000 - 4)) | gzip -c | tail -c 8 | head -c 4 | od -A n -t x1 | tr -d ' \n')
	is "$env_crc" "$calc" "Ahf: U-Boot environment at 544 KiB with a valid CRC32 (layout 2.2)"
	check "Ahf: environment holds bootcmd" sh -c "tail -c +$((0x88000 + 5)) '$img' | head -c 4096 | grep -aq bootcmd="
	root_uuid=$(blk "$img" 8192 UUID)
	check_root "$img" 8192 Ahf sunxi armhf 1 40
	check_uboot_boot "$img" 8192 Ahf /boot zImage ARM
	is "$(e2 "$img" 8192 'cat /etc/fw_env.config' | grep -v '^#')" "/dev/mmcblk0 0x88000 0x20000" \
		"Ahf: /etc/fw_env.config points at 0x88000, 0x20000 long"
	e2dump "$img" 8192 /boot/vmlinuz-$kver "$TMP/Ahf.zimage"
	is "$(hex "$TMP/Ahf.zimage" $((0x24)) 4)" 18286f01 "Ahf: zImage magic at 0x24"
	check "Ahf: boot.cmd tests \${prefix}.next and uses bootz" \
		sh -c "debugfs -R 'cat /boot/boot.cmd' '$img?offset=$((8192 * 512))' 2>/dev/null | grep -q 'prefix}.next' &&
			debugfs -R 'cat /boot/boot.cmd' '$img?offset=$((8192 * 512))' 2>/dev/null | grep -q '^	bootz '"
fi

# ---- A2: meson64 -------------------------------------------------------------------------------------
if built A2 A2; then
	img=$TMP/A2.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].type')" \
		"dos 8192 83" "A2: MBR, root p1 at 4 MiB type 83"
	is "$(hex "$img" 510 2)" 55aa "A2: MBR signature kept"
	bytes "$img" 0 440 >"$TMP/A2.code"
	z=$(zeros "$TMP/A2.code")
	[ "$z" -lt 16 ] && ok 0 "A2: MBR boot-code bytes 0-439 are U-Boot (not zero: $z zero bytes)" ||
		ok 1 "A2: MBR boot-code bytes 0-439 are U-Boot ($z zero bytes)"
	id=$(pt "$img" .id)
	is "$id" "0x$(od -A n -t x4 -j 440 -N 4 "$img" | tr -d ' ')" "A2: disk id is bytes 440-443 as written"
	is "${id:2:4}" "5f0e" "A2: bytes 442-443 of the disk id still from the table's label-id (u-boot.bin wrote 0-441)"
	is "$(bytes "$img" $((512 + 16)) 4)" "@AML" "A2: Amlogic boot image header from sector 1"
	bytes "$img" 512 $((1024 * 1024 - 512)) >"$TMP/A2.rest"
	z=$(zeros "$TMP/A2.rest")
	[ "$z" -lt 16384 ] && ok 0 "A2: U-Boot continues from sector 1 ($z zero bytes in the first MiB)" ||
		ok 1 "A2: U-Boot continues from sector 1 ($z zero bytes)"
	is "$(blk "$img" 8192 LABEL)" armbi_root "A2: p1 is armbi_root"
	root_uuid=$(blk "$img" 8192 UUID)
	check_root "$img" 8192 A2 meson64 arm64 2 183
	check_uboot_boot "$img" 8192 A2 /boot Image AArch64
	check "A2: boot.cmd is the meson64 flow (ttyAML0)" \
		sh -c "debugfs -R 'cat /boot/boot.cmd' '$img?offset=$((8192 * 512))' 2>/dev/null | grep -q ttyAML0"
fi

# ---- B and H: rockchip64 MBR ---------------------------------------------------------------------------
for sh in B H; do
	built "$sh" "$sh" || continue
	img=$TMP/$sh.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length') $(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].type')" \
		"dos 1 32768 83" "$sh: MBR, root p1 at 16 MiB type 83 (layout 1.3)"
	is "$(hex "$img" $((64 * 512)) 4)" 3b8cdcfc "$sh: rk3399 idbloader (RC4-scrambled header) at sector 64"
	is "$(hex "$img" $((16384 * 512)) 4)" d00dfeed "$sh: u-boot.itb (FIT) at sector 16384"
	bytes "$img" $((16384 * 512)) $((1024 * 1024)) >"$TMP/$sh.itb"
	out=$(mkl "$TMP/$sh.itb")
	has "$out" "FIT description" && has "$out" "Default Configuration: 'config-1'" &&
		ok 0 "$sh: u-boot.itb lists as a FIT with a default configuration" ||
		{ ok 1 "$sh: u-boot.itb lists as a FIT"; echo "$out" | head -n 5 | sed 's/^/#   /'; }
	is "$(blk "$img" 32768 TYPE) $(blk "$img" 32768 LABEL)" "ext4 armbi_root" "$sh: p1 is ext4 armbi_root"
	root_uuid=$(blk "$img" 32768 UUID)
	check_root "$img" 32768 "$sh" rockchip64 arm64 2 183
done
if [ -f "$TMP/B.img" ]; then
	check_uboot_boot "$TMP/B.img" 32768 B /boot Image AArch64
	check "B: boot.cmd is the rockchip64 flow (ttyS2,1500000, distro_bootpart)" \
		sh -c "debugfs -R 'cat /boot/boot.cmd' '$TMP/B.img?offset=$((32768 * 512))' 2>/dev/null | grep -q 'ttyS2,1500000' &&
			debugfs -R 'cat /boot/boot.cmd' '$TMP/B.img?offset=$((32768 * 512))' 2>/dev/null | grep -q 'distro_bootpart'"
fi
if [ -f "$TMP/H.img" ]; then
	img=$TMP/H.img
	root_uuid=$(blk "$img" 32768 UUID)
	ext=$(e2 "$img" 32768 "cat /boot/extlinux/extlinux.conf")
	has "$ext" "append root=UUID=$root_uuid " && ok 0 "H: extlinux.conf appends root=UUID=<root fs uuid> (layout 3.2)" ||
		{ ok 1 "H: extlinux.conf appends root=UUID="; echo "$ext" | sed 's/^/#   /'; }
	is "$(e2type "$img" 32768 /boot/armbianEnv.txt)$(e2type "$img" 32768 /boot/boot.scr)" "" \
		"H: no armbianEnv.txt and no boot.scr (SRC_EXTLINUX=yes)"
	is "$(e2link "$img" 32768 /boot/Image) $(e2link "$img" 32768 /boot/uInitrd)" \
		"vmlinuz-$kver uInitrd-$kver" "H: Image and uInitrd symlinks"
fi

# ---- C and C0: rockchip GPT ---------------------------------------------------------------------------
for sh in C C0; do
	built "$sh" "$sh" || continue
	img=$TMP/$sh.img
	want=$T_ARM64
	[ $sh = C0 ] && want=$T_LINUX
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length') $(pt "$img" '.partitions[0].start')" "gpt 1 32768" \
		"$sh: GPT, one partition at 16 MiB"
	is "$(pt "$img" '.partitions[0].type') $(pt "$img" '.partitions[0].name')" "$want rootfs" \
		"$sh: root type $want, PARTLABEL rootfs (layout 1.5)"
	check "$sh: sgdisk -v finds no problems" sh -c "sgdisk -v '$img' | grep -q 'No problems found'"
	is "$(bytes "$img" $((64 * 512)) 4)" RKNS "$sh: rk35xx idbloader (RKNS v2 header) at LBA 64"
	is "$(hex "$img" $((16384 * 512)) 4)" d00dfeed "$sh: u-boot.itb at LBA 16384"
	is "$(blk "$img" 32768 TYPE) $(blk "$img" 32768 LABEL)" "ext4 armbi_root" "$sh: p1 is ext4 armbi_root"
	root_uuid=$(blk "$img" 32768 UUID)
	check_root "$img" 32768 "$sh" rk35xx arm64 2 183
	check_uboot_boot "$img" 32768 "$sh" /boot Image AArch64
	check "$sh: armbianEnv.txt has the rk35xx extraargs=cma=256M (layout 3.3)" \
		sh -c "debugfs -R 'cat /boot/armbianEnv.txt' '$img?offset=$((32768 * 512))' 2>/dev/null | grep -qx 'extraargs=cma=256M'"
done

# ---- D: separate ext4 /boot ---------------------------------------------------------------------------
if built D D; then
	img=$TMP/D.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length')" "dos 2" "D: MBR with two partitions"
	is "$(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].size') $(pt "$img" '.partitions[0].type')" \
		"8192 65536 ea" "D: /boot p1 at 4 MiB, 32 MiB (test size), type ea (layout 1.5)"
	is "$(pt "$img" '.partitions[1].start') $(pt "$img" '.partitions[1].type')" "73728 83" "D: root p2 right after, type 83"
	is "$(blk "$img" 8192 TYPE) $(blk "$img" 8192 LABEL)" "ext4 armbi_boot" "D: p1 is ext4 armbi_boot"
	is "$(blk "$img" 73728 TYPE) $(blk "$img" 73728 LABEL)" "ext4 armbi_root" "D: p2 is ext4 armbi_root"
	is "$(bytes "$img" $((8192 + 4)) 8)" "eGON.BT0" "D: sunxi SPL at 8 KiB"
	root_uuid=$(blk "$img" 73728 UUID)
	check_root "$img" 73728 D sunxi64 arm64 2 183
	check_uboot_boot "$img" 8192 D "" Image AArch64
	is "$(sed -n 2p "$TMP/chk-D/fstab")" "UUID=$(blk "$img" 8192 UUID) /boot ext4 defaults,commit=120,errors=remount-ro 0 2" \
		"D: fstab line 2 mounts /boot by UUID"
	is "$(e2 "$img" 73728 'ls -p /boot' | awk -F/ 'NF > 5 && $6 != "." && $6 != ".."' | wc -l)" 0 \
		"D: /boot in the root is an empty mount point"
fi
if built Dreal D --real-sizes; then
	is "$(pt "$TMP/Dreal.img" '.partitions[0].size')" 524288 "D --real-sizes: /boot is 256 MiB (layout 1.6)"
	rm -f "$TMP/Dreal.img"
fi

# ---- DF: FAT /boot with extlinux ----------------------------------------------------------------------
if built DF DF; then
	img=$TMP/DF.img
	is "$(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].type') $(pt "$img" '.partitions[1].type')" \
		"8192 ea 83" "DF: /boot p1 at 4 MiB type ea, root p2 type 83"
	is "$(blk "$img" 8192 TYPE) $(blk "$img" 8192 LABEL)" "vfat armbi_boot" "DF: p1 is FAT armbi_boot"
	m="$img@@$((8192 * 512))"
	ext=$(mtype -i "$m" ::/extlinux/extlinux.conf 2>&1)
	root_uuid=$(blk "$img" "$(pt "$img" '.partitions[1].start')" UUID)
	has "$ext" "append root=UUID=$root_uuid " && ok 0 "DF: /extlinux/extlinux.conf on p1 appends root=UUID=" ||
		{ ok 1 "DF: extlinux.conf on p1"; echo "$ext" | sed 's/^/#   /'; }
	listing=$(mdir -b -i "$m" ::/ 2>&1)
	miss=""
	for f in Image uInitrd dtb "initrd.img-" "config-" "System.map-"; do has "$listing" "::/$f" || miss="$miss $f"; done
	is "$miss" "" "DF: p1 holds Image, uInitrd and dtb/ as files (moved on FAT, layout 4.2)"
	has "$listing" "armbianEnv.txt" && ok 1 "DF: no armbianEnv.txt" || ok 0 "DF: no armbianEnv.txt"
	mdir -i "$m" ::/dtb/amlogic >/dev/null 2>&1
	is $? 0 "DF: dtb/amlogic/ directory on p1"
	is "$(minfo -i "$m" :: 2>/dev/null | sed -n 's/^hidden sectors: *//p')" 8192 "DF: FAT hidden sectors = partition start"
	s2=$(pt "$img" '.partitions[1].start')
	check_root "$img" "$s2" DF meson64 arm64 2 183
	is "$(sed -n 2p "$TMP/chk-DF/fstab")" "UUID=$(blk "$img" 8192 UUID) /boot vfat defaults 0 2" "DF: fstab line 2 (vfat /boot)"
fi

# ---- E: Raspberry Pi ----------------------------------------------------------------------------------
if built E E; then
	img=$TMP/E.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].type') $(pt "$img" '.partitions[1].type')" \
		"dos 8192 c 83" "E: MBR, FAT p1 at 4 MiB (type 0c), root p2 83"
	is "$(blk "$img" 8192 TYPE) $(blk "$img" 8192 LABEL) $(blk "$img" 8192 VERSION)" "vfat RPICFG FAT32" \
		"E: p1 is FAT32 RPICFG (layout 6)"
	m="$img@@$((8192 * 512))"
	cfg=$(mtype -i "$m" ::/config.txt 2>&1)
	has "$cfg" "^kernel=vmlinuz" && has "$cfg" "^initramfs initrd.img followkernel" && has "$cfg" "^arm_64bit=1" &&
		ok 0 "E: config.txt: kernel=vmlinuz, initramfs initrd.img followkernel, arm_64bit=1" ||
		{ ok 1 "E: config.txt"; echo "$cfg" | sed 's/^/#   /'; }
	cmdline=$(mtype -i "$m" ::/cmdline.txt 2>&1)
	has "$cmdline" "root=LABEL=armbi_root rootfstype=ext4" && ok 0 "E: cmdline.txt: root=LABEL=armbi_root (layout 3.7)" ||
		{ ok 1 "E: cmdline.txt"; echo "# $cmdline"; }
	listing=$(mdir -b -i "$m" ::/ 2>&1)
	miss=""
	for f in start4.elf fixup4.dat vmlinuz initrd.img bcm2711-rpi-4-b.dtb overlays; do
		has "$listing" "::/$f/\{0,1\}\$" || miss="$miss $f"
	done
	is "$miss" "" "E: p1 holds firmware, vmlinuz, initrd.img, the DTB and overlays/"
	s2=$(pt "$img" '.partitions[1].start')
	is "$(blk "$img" "$s2" LABEL)" armbi_root "E: p2 is armbi_root"
	root_uuid=$(blk "$img" "$s2" UUID)
	check_root "$img" "$s2" E bcm2711 arm64 2 183
	is "$(sed -n 2p "$TMP/chk-E/fstab")" "UUID=$(blk "$img" 8192 UUID) /boot/firmware vfat defaults 0 2" \
		"E: fstab mounts RPICFG at /boot/firmware"
	is "$(e2 "$img" "$s2" 'cat /boot/armbianEnv.txt')" "rootfstype=ext4" "E: leftover armbianEnv.txt holds only rootfstype=ext4"
	is "$(e2type "$img" "$s2" /boot/firmware)" directory "E: /boot/firmware mount point in root"
fi

# ---- F and G: UEFI --------------------------------------------------------------------------------------
if built F F; then
	img=$TMP/F.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length')" "gpt 2" "F: GPT with two partitions"
	is "$(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].type') $(pt "$img" '.partitions[0].name')" \
		"8192 $T_ESP efi" "F: ESP p1 at 4 MiB"
	is "$(pt "$img" '.partitions[1].type') $(pt "$img" '.partitions[1].name')" "$T_ARM64 rootfs" "F: root p2 arm64-root type"
	check "F: sgdisk -v finds no problems" sh -c "sgdisk -v '$img' | grep -q 'No problems found'"
	is "$(blk "$img" 8192 TYPE) $(blk "$img" 8192 LABEL)" "vfat ARMBI_EFI" "F: ESP is FAT ARMBI_EFI"
	mcopy -n -i "$img@@$((8192 * 512))" ::/EFI/BOOT/BOOTAA64.EFI "$TMP/F.efi" 2>/dev/null
	pe=$(od -A n -t x4 -j $((0x3c)) -N 4 "$TMP/F.efi" | tr -d ' ')
	is "$(bytes "$TMP/F.efi" 0 2) $(bytes "$TMP/F.efi" $((0x$pe)) 4 | tr -d '\0') $(hex "$TMP/F.efi" $((0x$pe + 4)) 2)" \
		"MZ PE 64aa" "F: EFI/BOOT/BOOTAA64.EFI is a PE for arm64"
	s2=$(pt "$img" '.partitions[1].start')
	root_uuid=$(blk "$img" "$s2" UUID)
	check_root "$img" "$s2" F arm64 arm64 2 183
	g=$(e2 "$img" "$s2" "cat /boot/grub/grub.cfg")
	has "$g" "root=UUID=$root_uuid " && has "$g" "initrd.img" && ! has "$g" "/dev/" &&
		ok 0 "F: /boot/grub/grub.cfg: root=UUID=, initrd.img, no /dev paths (layout 6)" ||
		{ ok 1 "F: grub.cfg"; echo "$g" | head -n 20 | sed 's/^/#   /'; }
	is "$(sed -n 2p "$TMP/chk-F/fstab")" "UUID=$(blk "$img" 8192 UUID) /boot/efi vfat defaults 0 2" "F: fstab mounts the ESP at /boot/efi"
	is "$(e2 "$img" "$s2" 'cat /boot/armbianEnv.txt')" "rootfstype=ext4" "F: leftover armbianEnv.txt only"
	is "$(e2type "$img" "$s2" "/boot/vmlinuz-$kver") $(e2type "$img" "$s2" "/boot/initrd.img-$kver") $(e2type "$img" "$s2" /boot/uInitrd)" \
		"regular regular " "F: vmlinuz-<kver> and initrd.img-<kver>, no uInitrd"
	check "F: image-release EXTENSIONS has grub" grep -q '^EXTENSIONS="grub"' "$TMP/chk-F/irel"
fi
if built G G; then
	img=$TMP/G.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length')" "gpt 3" "G: GPT with three partitions"
	is "$(pt "$img" '.partitions[0].start') $(pt "$img" '.partitions[0].size') $(pt "$img" '.partitions[0].type')" \
		"8192 8192 $T_BIOS" "G: BIOS boot p1 4-8 MiB (layout 6)"
	is "$(pt "$img" '.partitions[1].start') $(pt "$img" '.partitions[1].type')" "16384 $T_ESP" "G: ESP p2 at 8 MiB"
	is "$(pt "$img" '.partitions[2].type') $(pt "$img" '.partitions[2].name')" "$T_X86_64 rootfs" "G: root p3 x86-64 type"
	check "G: sgdisk -v finds no problems" sh -c "sgdisk -v '$img' | grep -q 'No problems found'"
	is "$(hex "$img" 0 3) $(hex "$img" 450 1) $(hex "$img" 510 2)" "eb6390 ee 55aa" \
		"G: protective MBR (type ee) with boot.img's jump at 0"
	check "G: GRUB boot code in bytes 0-439" sh -c "head -c 440 '$img' | grep -aq 'GRUB '"
	is "$(od -A n -t u8 -j $((0x5c)) -N 8 "$img" | tr -d ' ')" 8192 "G: boot.img points at core.img in the BIOS boot partition"
	z=$(bytes "$img" $((8192 * 512)) 65536 | tr -cd '\000' | wc -c)
	[ "$z" -lt 4096 ] && ok 0 "G: core.img written at the start of p1" || ok 1 "G: core.img at p1 ($z zero bytes)"
	is "$(blk "$img" 16384 LABEL)" ARMBI_EFI "G: ESP label"
	mcopy -n -i "$img@@$((16384 * 512))" ::/EFI/BOOT/BOOTX64.EFI "$TMP/G.efi" 2>/dev/null
	is "$(bytes "$TMP/G.efi" 0 2) $(hex "$TMP/G.efi" $((0x84)) 2)" "MZ 6486" "G: EFI/BOOT/BOOTX64.EFI is a PE for x86-64"
	s3=$(pt "$img" '.partitions[2].start')
	root_uuid=$(blk "$img" "$s3" UUID)
	check_root "$img" "$s3" G x86 amd64 2 62
	has "$(e2 "$img" "$s3" 'cat /boot/grub/grub.cfg')" "root=UUID=$root_uuid " && ok 0 "G: grub.cfg root=UUID=" || ok 1 "G: grub.cfg root=UUID="
fi

# ---- NOROOT -------------------------------------------------------------------------------------------
if built NOROOT NOROOT; then
	img=$TMP/NOROOT.img
	is "$(pt "$img" .label) $(pt "$img" '.partitions|length') $(pt "$img" '.partitions[0].type')" "dos 1 c" \
		"NOROOT: MBR with one FAT partition"
	is "$(blk "$img" 8192 TYPE)" vfat "NOROOT: p1 is FAT"
fi

# ---- argument errors ------------------------------------------------------------------------------------
"$MK" Z "$TMP/z.img" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc != 0 ] && grep -q "unknown shape 'Z'" "$TMP/err" && ok 0 "unknown shape: fails and names it" ||
	ok 1 "unknown shape: fails and names it (rc $rc: $(cat "$TMP/err"))"
"$MK" B "$TMP/z.img" --arch armhf >/dev/null 2>"$TMP/err"
rc=$?
[ $rc != 0 ] && grep -q "arm64 only" "$TMP/err" && ok 0 "B --arch armhf: refused" || ok 1 "B --arch armhf: refused (rc $rc)"
"$MK" A "$TMP/z.img" --size-mib 10 >/dev/null 2>"$TMP/err"
rc=$?
[ $rc != 0 ] && grep -q "too small" "$TMP/err" && ok 0 "--size-mib too small: refused" || ok 1 "--size-mib too small: refused (rc $rc)"
is "$(ls "$TMP"/z.img 2>/dev/null)" "" "failed builds leave no output"
"$BAD" nonsense "$TMP/z.img" >/dev/null 2>"$TMP/err"
rc=$?
[ $rc != 0 ] && grep -q "unknown kind 'nonsense'" "$TMP/err" && ok 0 "mkbad: unknown kind named" || ok 1 "mkbad: unknown kind named"

# ---- size option ------------------------------------------------------------------------------------------
if mkshape B Bbig --size-mib 200; then
	is "$(stat -c %s "$TMP/Bbig.img")" $((200 * 1048576)) "B --size-mib 200: 200 MiB file"
	is "$(pt "$TMP/Bbig.img" '.partitions[0].size')" $(((200 - 16) * 2048)) "B --size-mib 200: root fills the image"
	rm -f "$TMP/Bbig.img"
else
	ok 1 "B --size-mib 200 built"
fi

# ---- determinism and rootless builds ---------------------------------------------------------------------
mkdir -p "$TMP/again"
chmod 0777 "$TMP/again"
for n in A Ahf A2 B C C0 D DF E F G H NOROOT; do
	[ -f "$TMP/$n.img" ] || continue
	case $n in Ahf) sh=A opt="--arch armhf" ;; *) sh=$n opt="" ;; esac
	# shellcheck disable=SC2086
	if SOURCE_DATE_EPOCH="" "$MK" "$sh" "$TMP/again/$n.img" --rootfs builtin $opt >/dev/null 2>&1; then
		is "$(sha256sum <"$TMP/again/$n.img")" "$(sha256sum <"$TMP/$n.img")" "$n: a second build gives the same bytes"
	else
		ok 1 "$n: second build"
	fi
	rm -f "$TMP/again/$n.img"
done
if [ "$(id -u)" = 0 ] && [ -f "$TMP/E.img" ]; then
	if as_user "$MK" E "$TMP/again/E-user.img" --rootfs builtin >"$TMP/user.log" 2>&1; then
		is "$(sha256sum <"$TMP/again/E-user.img")" "$(sha256sum <"$TMP/E.img")" "E built as an ordinary user: same bytes as root's"
	else
		ok 1 "E built as an ordinary user"
		sed 's/^/#   /' "$TMP/user.log" | tail -n 5
	fi
	rm -f "$TMP/again/E-user.img"
fi

# ---- root made by mkrootfs.sh (when it exists) ------------------------------------------------------------
if [ -x "$SAMPLE/mkrootfs.sh" ]; then
	if "$MK" A "$TMP/Amk.img" --rootfs mkrootfs >"$TMP/Amk.log" 2>&1; then
		img=$TMP/Amk.img
		is "$(blk "$img" 8192 LABEL) $(blk "$img" 8192 UUID)" "armbi_root $(blk "$TMP/A.img" 8192 UUID)" \
			"A --rootfs mkrootfs: same label and UUID"
		is "$(e2type "$img" 8192 /etc/armbian-release) $(e2type "$img" 8192 /data/hello.txt)" "regular regular" \
			"A --rootfs mkrootfs: Armbian tree plus mkrootfs.sh's edge cases"
		"$MK" A "$TMP/again/Amk.img" --rootfs mkrootfs >/dev/null 2>&1
		is "$(sha256sum <"$TMP/again/Amk.img")" "$(sha256sum <"$img")" "A --rootfs mkrootfs: deterministic"
		rm -f "$img" "$TMP/again/Amk.img"
	else
		skip "mkrootfs.sh failed, root edge cases not checked: $(tail -n 1 "$TMP/Amk.log")"
	fi
else
	skip "tests/sample/mkrootfs.sh not present"
fi

# ---- bad fixtures -----------------------------------------------------------------------------------------
mkbad() { "$BAD" "$1" "$TMP/bad-$1.img" >"$TMP/bad.log" 2>&1 || { ok 1 "bad $1: built"; sed 's/^/#   /' "$TMP/bad.log"; return 1; }; }
if mkbad truncated; then
	img=$TMP/bad-truncated.img
	end=$((($(pt "$img" '.partitions[0].start') + $(pt "$img" '.partitions[0].size')) * 512))
	size=$(stat -c %s "$img")
	[ "$size" -lt "$end" ] && [ "$size" -gt $((8192 * 512)) ] &&
		ok 0 "bad truncated: file ($size) ends inside p1 (ends at $end)" || ok 1 "bad truncated: $size vs $end"
fi
if mkbad gpt-badcrc; then
	v=$(sgdisk -v "$TMP/bad-gpt-badcrc.img" 2>&1)
	has "$v" "Main header: ERROR" && has "$v" "Backup header: OK" &&
		ok 0 "bad gpt-badcrc: sgdisk sees a bad main header and a good backup" ||
		{ ok 1 "bad gpt-badcrc"; echo "$v" | head -n 8 | sed 's/^/#   /'; }
fi
if mkbad overlap; then
	v=$(sfdisk -V "$TMP/bad-overlap.img" 2>&1)
	rc=$?
	has "$v" "Partition 1: overlaps partition 2" && ok 0 "bad overlap: sfdisk -V reports the overlap" ||
		ok 1 "bad overlap: sfdisk -V (rc $rc: $v)"
fi
if mkbad pastend; then
	img=$TMP/bad-pastend.img
	end=$((($(pt "$img" '.partitions[0].start') + $(pt "$img" '.partitions[0].size')) * 512))
	[ "$(stat -c %s "$img")" -lt "$end" ] && ok 0 "bad pastend: p1 ends past the end of the file" ||
		ok 1 "bad pastend: p1 end $end"
	is "$(blk "$img" 8192 TYPE)" ext4 "bad pastend: the filesystem itself is intact"
fi
if mkbad badsb; then
	img=$TMP/bad-badsb.img
	is "$(blk "$img" 8192 TYPE)" "" "bad badsb: blkid finds no filesystem at p1"
	is "$(hex "$img" $((8192 * 512 + 1080)) 2)" 0000 "bad badsb: superblock magic zeroed"
	check "bad badsb: the root is readable through the backup superblock (debugfs -c -s 32768)" \
		sh -c "debugfs -c -s 32768 -b 4096 -R 'stat /etc/fstab' '$img?offset=$((8192 * 512))' 2>/dev/null | grep -q 'Type: regular'"
fi
if mkbad nosig; then
	is "$(hex "$TMP/bad-nosig.img" 510 2)" 0000 "bad nosig: no 0x55AA"
	sfdisk -d "$TMP/bad-nosig.img" >/dev/null 2>&1
	is $? 1 "bad nosig: sfdisk finds no table"
fi
if mkbad xz-cut; then
	is "$(ls "$TMP/bad-xz-cut.img" 2>/dev/null)" "" "bad xz-cut: no uncompressed file written"
	v=$(xz -t "$TMP/bad-xz-cut.img.xz" 2>&1)
	rc=$?
	[ $rc != 0 ] && has "$v" "Unexpected end of input" && ok 0 "bad xz-cut: xz -t reports unexpected end of input" ||
		ok 1 "bad xz-cut: xz -t (rc $rc: $v)"
	head -c 6 "$TMP/bad-xz-cut.img.xz" | od -A n -t x1 | tr -d ' \n' >"$TMP/xzmagic"
	is "$(cat "$TMP/xzmagic")" fd377a585a00 "bad xz-cut: starts with the xz magic"
fi
if mkbad noroot; then
	img=$TMP/bad-noroot.img
	is "$(pt "$img" '.partitions|length') $(pt "$img" '.partitions[0].type') $(blk "$img" 8192 TYPE)" "1 c vfat" \
		"bad noroot: only a FAT partition"
fi
if mkbad empty; then
	is "$(stat -c %s "$TMP/bad-empty.img")" 0 "bad empty: zero length"
fi
if mkbad notimage; then
	img=$TMP/bad-notimage.img
	is "$(stat -c %s "$img")" 1048576 "bad notimage: 1 MiB"
	sfdisk -d "$img" >/dev/null 2>&1
	is $? 1 "bad notimage: sfdisk finds no table"
	is "$(blkid -p "$img" >/dev/null 2>&1; echo $?)" 2 "bad notimage: blkid finds nothing"
fi
for k in truncated gpt-badcrc overlap pastend badsb nosig noroot empty notimage; do
	[ -f "$TMP/bad-$k.img" ] || continue
	"$BAD" "$k" "$TMP/again/bad-$k.img" >/dev/null 2>&1
	is "$(sha256sum <"$TMP/again/bad-$k.img")" "$(sha256sum <"$TMP/bad-$k.img")" "bad $k: deterministic"
	rm -f "$TMP/again/bad-$k.img"
done

done_testing
