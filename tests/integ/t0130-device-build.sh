#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The device build of the CLI ($B/dev/<arch>/armimmutable, make device): for every arch
# whose static libraries are there (the host's for x86_64, a tools/sysroot.sh sysroot for
# arm64 and armhf), the binary exists, is static (no interpreter, no dynamic section), is
# for the right machine, and runs (arm64/armhf under qemu-user): --help lists the device
# verbs only; convert, 'bundle create --from-image' and (without the static libcurl of
# tools/curl-static.sh) http(s) sources refuse with a clear line; status --image of a
# converted sample gives the same JSON as the host build; bundle info/verify of a
# host-made bundle pass, and a tampered bundle or the wrong key fail; install --image (file
# and stdin) puts the bundle into slot B on trial, reaches the host build's fault points
# and survives a cut in the middle. As root
# with loop devices, the running-device path too (boot.env, the boot partition mounted
# with mount(2) in a private namespace: the device build has no libmount): status, install
# into the slot partition and the mounted boot files, mark-good, a failing mount. Then a
# conversion with that device dir carries the arm64 binary as /usr/sbin/armimmutable.
. "$(dirname "$0")/lib.sh"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
DEV="$AIM_TOP/$B/dev"
CACHE=${SYSROOT_CACHE:-/var/cache/armimmutable}
cd "$TMP" || exit 1

run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# expect RC WORD DESCRIPTION: exit RC, stderr mentions WORD
expect() {
	is "$rc" "$1" "$3: exit $1"
	if grep -q -- "$2" "$TMP/err"; then ok 0 "$3: message says '$2'"; else
		ok 1 "$3: message says '$2'"
		sed 's/^/#   /' "$TMP/err" | head -n 5
	fi
}
flip() { # flip FILE OFFSET: xor one byte with 0x01
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# ---- tools/sysroot.sh refuses what it does not know ----
run sh "$AIM_TOP/tools/sysroot.sh" mips
is "$rc" 1 "sysroot.sh mips: exit 1"
check "sysroot.sh mips: message names the architectures" grep -q "arm64|armhf.*got 'mips'" "$TMP/err"
run sh "$AIM_TOP/tools/sysroot.sh"
is "$rc" 1 "sysroot.sh without an arch: exit 1"

L="" BL=""
detach() { [ -n "$L" ] && losetup -d "$L" 2>/dev/null; L=""; }
detach_bl() { [ -n "$BL" ] && losetup -d "$BL" 2>/dev/null; BL=""; }
trap 'detach; detach_bl; [ "${BASHPID:-$$}" = "$MAINPID" ] && rm -rf "$TMP"' EXIT

# ---- fixtures: a converted sample (slot B empty), a key pair, a bundle, with the host build
need_sample in.img
check "host: convert the sample with slot B empty" "$AIM" -q convert --slot-b empty in.img base.img
check "host: keygen" "$AIM" -q keygen -W -p k.pub -s k.key
check "host: a second key pair" "$AIM" -q keygen -W -p k2.pub -s k2.key
check "host: bundle create --from-image (version 99.1)" "$AIM" -q bundle create -k k.key \
	-o v2.aimb --from-image in.img --version 99.1
if [ ! -f base.img ] || [ ! -f v2.aimb ]; then
	done_testing
	exit
fi
"$AIM" status --image base.img --json >host-status.json
"$AIM" bundle info --json v2.aimb >host-info.json
cp v2.aimb bad.aimb
flip bad.aimb $(($(stat -c %s v2.aimb) / 2))
rootfs_sha=$(jq -r '.payloads[] | select(.kind=="rootfs") | .sha256' host-info.json)
rootfs_size=$(jq -r '.payloads[] | select(.kind=="rootfs") | .size' host-info.json)
cp --sparse=always base.img w.img
AIM_FAULT_COUNT="$TMP/fc" "$AIM" -q install --image w.img -p k.pub v2.aimb
host_points=$(cat fc 2>/dev/null)
ok "$([ "${host_points:-0}" -gt 2 ]; echo $?)" "host: install --image reaches ${host_points:-no} fault points"
rm -f w.img fc

# The running-device layout on a loop device: the converted image with its boot partition
# as vfat when the kernel has it, else replaced by an ext4 copy of its files (the same
# mount, namespace, write and unmount code; AIM_BOOT_FSTYPE=ext4).
R="$TMP/run"
mkdir -p "$R"
loop_ok=0
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
	p1=$(($(sfdisk -J base.img | jq -r '.partitiontable.partitions[0].start') * 512))
	p1size=$(($(sfdisk -J base.img | jq -r '.partitiontable.partitions[0].size') * 512))
	cp --sparse=always base.img ld0.img
	if grep -qw vfat /proc/filesystems || modprobe vfat 2>/dev/null; then
		FST=vfat
	else
		FST=ext4
		mkdir bootfiles
		mcopy -s -p -n -Q -i "ld0.img@@$p1" '::/*' bootfiles/ &&
			mke2fs -q -t ext4 -d bootfiles p1.ext4 $((p1size / 1024))k >/dev/null 2>&1 &&
			dd if=p1.ext4 of=ld0.img bs=1M seek=$((p1 / 1048576)) conv=notrunc status=none
	fi
	L=$(losetup -P -f --show ld0.img 2>/dev/null) && loop_ok=1
	detach
fi
loop_attach() { # a fresh loop disk: sets L, n, writes boot.env (booted a)
	cp --sparse=always ld0.img ld.img
	L=$(losetup -P -f --show ld.img) || return 1
	for _ in $(seq 20); do
		[ -b "${L}p4" ] && break
		partx -a "$L" 2>/dev/null
		sleep 0.2
	done
	n=${L#/dev/}
	printf 'slot=a\ntrial=0\nmode=persistent\nreason=\ndisk=%s\nroot_dev=%sp2\nboot_dev=%sp1\ndata_dev=%sp4\nstate_seq=1\n' \
		"$n" "$n" "$n" "$n" >"$R/boot.env"
	[ -b "${L}p4" ]
}
boot_file() { # boot_file PATH: a file of the mounted-and-unmounted boot partition
	if [ "$FST" = vfat ]; then
		mtype -i "${L}p1" ::"$1" 2>/dev/null | tr -d '\r'
	else
		debugfs -R "cat $1" "${L}p1" 2>/dev/null
	fi
}
# device_mode ARCH RUNNER... BIN: the device verbs on the running-device layout
device_mode() {
	local a=$1
	shift
	ldev() { AIM_RUN_DIR="$R" AIM_BOOT_FSTYPE=$FST "$@"; }
	if ! loop_attach; then
		detach
		skip "$a: running-device layout: no partitions on the loop device"
		return
	fi
	run ldev "$@" status --json
	is "$rc" 0 "$a: device: status on the mounted boot partition ($FST)"
	is "$(jq -r '[.booted_slot, .state.valid, .slots[1].partition.path] | join(" ")' "$TMP/out")" \
		"a true ${L}p3" "$a: device: booted a, state valid, slot b is ${L}p3"
	# The bundle on a block device of its own, as the QEMU tests hand it over (/dev/vdb).
	BL=$(losetup -r -f --show v2.aimb) || BL=""
	if [ -n "$BL" ]; then
		run ldev "$@" install -p k.pub "$BL"
		is "$rc" 0 "$a: device: install from a block device holding the bundle ($BL)"
		detach_bl
	else
		run ldev "$@" install -p k.pub v2.aimb
		is "$rc" 0 "$a: device: install into the inactive slot (bundle file)"
	fi
	[ $rc = 0 ] || sed 's/^/#   /' "$TMP/err" | head -n 5
	check "$a: device: install says what it did" grep -q "installed 99.1 into slot b" "$TMP/err"
	is "$(sha_range "${L}p3" 0 "$rootfs_size")" "$rootfs_sha" "$a: device: ${L}p3 holds the rootfs"
	is "$(boot_file /slot-b/slot.env | sed -n 's/^version=//p')" 99.1 \
		"$a: device: /slot-b/slot.env on the boot partition says 99.1"
	run ldev "$@" status --json
	is "$(jq -r '[.state.trial_slot, .state.next_boot, .state.active] | join(" ")' "$TMP/out")" \
		"b b a" "$a: device: B on trial, next boot B, A active"
	check "$a: device: nothing left mounted" sh -c "! grep -q ' $R/boot-mnt ' /proc/self/mountinfo"
	run ldev "$@" mark-good --force b
	is "$rc" 0 "$a: device: mark-good --force b"
	run ldev "$@" status --json
	is "$(jq -r .state.active "$TMP/out")" b "$a: device: b active, read back through a new mount"
	run env AIM_RUN_DIR="$R" AIM_BOOT_FSTYPE=nosuchfs "$@" status
	expect 1 "cannot mount the boot partition ${L}p1" "$a: device: a mount that fails"
	detach
}

machine_arm64="AArch64" class_arm64=ELF64 qemu_arm64=qemu-aarch64-static
machine_armhf="ARM" class_armhf=ELF32 qemu_armhf=qemu-arm-static
machine_x86_64="Advanced Micro Devices X86-64" class_x86_64=ELF64 qemu_x86_64=
# The static archives the device build links: tools/sysroot.sh's list.
LIBS=$(sed -n 's/^LIBS="\(.*\)"$/\1/p' "$AIM_TOP/tools/sysroot.sh")
LIBS=${LIBS:-libsodium.a libz.a}
triplet_arm64=aarch64-linux-gnu triplet_armhf=arm-linux-gnueabihf triplet_x86_64=x86_64-linux-gnu
has_libs() { # has_libs ROOT TRIPLET: every archive of LIBS under ROOT/usr/lib/TRIPLET
	local l
	for l in $LIBS; do
		[ -e "$1/usr/lib/$2/$l" ] || return 1
	done
}
built=0
for a in arm64 armhf x86_64; do
	t=triplet_$a
	have=""
	if [ $a = x86_64 ]; then
		has_libs "" "${!t}" && have=host
	else
		for d in "$CACHE/sysroot-$a" "$AIM_TOP/$B/sysroot-$a"; do
			[ -e "$d/.done" ] && has_libs "$d" "${!t}" && have=$d && break
		done
	fi
	if [ -z "$have" ]; then
		skip "$a: no static libraries (make device fetches them)"
		continue
	fi
	bin="$DEV/$a/armimmutable"
	if [ ! -x "$bin" ]; then
		ok 1 "$a: $bin built"
		continue
	fi
	built=$((built + 1))
	ok 0 "$a: $bin built ($(stat -c %s "$bin") bytes)"
	check "$a: file says statically linked" sh -c "file -b '$bin' | grep -q 'statically linked'"
	check "$a: no program interpreter" sh -c "! readelf -lW '$bin' | grep -q INTERP"
	check "$a: no dynamic section" sh -c "readelf -d '$bin' | grep -q 'no dynamic section'"
	m=machine_$a c=class_$a q=qemu_$a
	is "$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')" "${!m}" "$a: readelf machine ${!m}"
	is "$(readelf -h "$bin" | sed -n 's/^ *Class: *//p')" "${!c}" "$a: readelf class ${!c}"
	if [ $a = armhf ]; then
		check "armhf: hard-float EABI" sh -c "readelf -h '$bin' | grep -q 'hard-float ABI'"
	fi
	runner=()
	if [ -n "${!q}" ]; then
		if ! command -v "${!q}" >/dev/null; then
			skip "$a: ${!q} not installed (tools/deps.sh --qemu), not run"
			continue
		fi
		runner=("${!q}")
	fi
	dev() { "${runner[@]}" "$bin" "$@"; }
	udev() { as_user "${runner[@]}" "$bin" "$@"; } # as an ordinary user when root

	run dev --help
	is "$rc" 0 "$a: --help exit 0"
	check "$a: --help lists install, status, mark-good, bundle, reset" sh -c \
		"for v in install status mark-good mark-bad rollback reset bundle keygen; do
			grep -q \"^  \$v \" '$TMP/out' || exit 1; done"
	check "$a: --help does not list convert or inspect" sh -c \
		"! grep -Eq '^  (convert|inspect) ' '$TMP/out'"
	run dev --version
	check "$a: --version says device build" grep -q '(device build)' "$TMP/out"
	run dev convert in.img out.img
	expect 2 "not in this build" "$a: convert"
	run dev bundle create -k k.key -o x.aimb --from-image in.img
	expect 1 "cannot read disk images" "$a: bundle create --from-image"
	check "$a: no bundle left behind" test ! -e x.aimb

	run udev status --image base.img --json
	is "$rc" 0 "$a: status --image --json: exit 0"
	check "$a: status JSON equals the host build's" cmp -s "$TMP/out" host-status.json
	run udev status --image base.img
	check "$a: status names slot a good and active" grep -q '^slot a: .*good, active' "$TMP/out"

	run udev bundle info --json v2.aimb
	check "$a: bundle info --json equals the host build's" cmp -s "$TMP/out" host-info.json
	run udev bundle verify v2.aimb -p k.pub
	is "$rc" 0 "$a: bundle verify of the host-made bundle"
	run dev bundle verify bad.aimb -p k.pub
	expect 1 "SHA-256" "$a: bundle verify of a tampered payload"
	run dev bundle verify v2.aimb -p k2.pub
	expect 1 "not a trusted key" "$a: bundle verify with the wrong key"

	cp --sparse=always base.img w.img
	sum0=$(sha256sum <w.img)
	run dev install --image w.img -p k.pub http://127.0.0.1:9/v2.aimb
	if grep -qa /etc/ssl/certs/ca-certificates.crt "$bin"; then
		# Built with the static libcurl of tools/curl-static.sh (t0131 installs over https).
		expect 1 "cannot connect" "$a (with curl): install from an http URL, nothing listening"
	else
		expect 1 "no http(s) support" "$a: install from an http URL"
		check "$a: the message shows how to pipe it" grep -q 'armimmutable install -' "$TMP/err"
	fi
	is "$(sha256sum <w.img)" "$sum0" "$a: http refused: image unchanged"
	run dev install --image w.img -p k2.pub v2.aimb
	expect 1 "not a trusted key" "$a: install with the wrong key"
	is "$(sha256sum <w.img)" "$sum0" "$a: wrong key: image unchanged"

	run dev install --image w.img -p k.pub v2.aimb
	is "$rc" 0 "$a: install --image of the bundle file"
	[ $rc = 0 ] || sed 's/^/#   /' "$TMP/err" | head -n 5
	"$AIM" status --image w.img --json >st.json
	is "$(jq -r '[.state.trial_slot, .state.next_boot, .slots[1].version, .slots[0].good] |
		join(" ")' st.json)" "b b 99.1 true" "$a: host status: B on trial with 99.1, A good"
	is "$(jq -r '.slots[1].rootfs_sha256' st.json)" "$rootfs_sha" "$a: slot.env rootfs_sha256"
	off_b=$(jq -r '.slots[1].partition.offset' st.json)
	size=$(jq -r '.payloads[] | select(.kind=="rootfs") | .size' host-info.json)
	is "$(sha_range w.img "$off_b" "$size")" "$rootfs_sha" "$a: slot B holds the rootfs"

	cp --sparse=always base.img w.img
	run sh -c "cat v2.aimb | $(printf '%q ' "${runner[@]}" "$bin") install --image w.img -p k.pub -"
	is "$rc" 0 "$a: install --image from stdin"
	is "$(sha_range w.img "$off_b" "$size")" "$rootfs_sha" "$a: stdin: slot B holds the rootfs"

	# The fault points are in this build too: the same count as the host build's, and a
	# cut in the middle leaves slot A the next boot.
	cp --sparse=always base.img w.img
	rm -f fc
	AIM_FAULT_COUNT="$TMP/fc" dev -q install --image w.img -p k.pub v2.aimb 2>/dev/null
	is "$(cat fc 2>/dev/null)" "$host_points" "$a: install reaches the host build's $host_points fault points"
	cp --sparse=always base.img w.img
	AIM_FAULT_AT=$((host_points / 2)) dev -q install --image w.img -p k.pub v2.aimb 2>"$TMP/err"
	is "$?" 75 "$a: AIM_FAULT_AT=$((host_points / 2)) cuts the install (exit 75)"
	is "$("$AIM" status --image w.img --json | jq -r '[.state.valid, .state.next_boot] | join(" ")')" \
		"true a" "$a: after the cut the state is valid and slot A boots next"
	rm -f w.img

	if [ $loop_ok = 1 ]; then
		device_mode $a "${runner[@]}" "$bin"
	else
		skip "$a: running-device layout: needs root and a loop device"
	fi
done

# ---- convert puts the arm64 device binary into the image ----
if [ -x "$DEV/arm64/armimmutable" ] && [ -x "$DEV/arm64/aim-boot" ]; then
	check "host: convert with AIM_DEVICE_DIR=$B/dev" env AIM_DEVICE_DIR="$DEV" "$AIM" -q \
		convert in.img conv.img
	p2=$(($(sfdisk -J conv.img | jq -r '.partitiontable.partitions[1].start') * 512))
	sz=$(($(sfdisk -J conv.img | jq -r '.partitiontable.partitions[1].size') * 512))
	dd if=conv.img of=a.sqfs bs=1M skip=$((p2 / 1048576)) count=$((sz / 1048576)) status=none
	unsquashfs -lls a.sqfs >ls.txt 2>&1
	check "slot A lists /usr/sbin/armimmutable" grep -q ' squashfs-root/usr/sbin/armimmutable$' ls.txt
	check "it is mode 0755, owned by root" \
		grep -Eq '^-rwxr-xr-x root/root .* squashfs-root/usr/sbin/armimmutable$' ls.txt
	is "$(rdsquashfs -c /usr/sbin/armimmutable a.sqfs | sha256sum | cut -d' ' -f1)" \
		"$(sha256sum <"$DEV/arm64/armimmutable" | cut -d' ' -f1)" \
		"/usr/sbin/armimmutable is the arm64 device build, byte for byte"
	check "the sample's aim-boot is there too" grep -q ' squashfs-root/usr/lib/armimmutable/aim-boot$' ls.txt
else
	skip "no arm64 device build: the converted image cannot carry it"
fi
echo "# device builds checked: $built"
done_testing
