#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install benchmark (not a test: nothing here passes or fails on timings).
# Compares, on this machine and in this run, `armimmutable install --image` of a bundle
# whose rootfs payload is SIZE_MIB of random bytes (signature check, streaming, SHA-256 of
# every payload, the boot files through mtools, fsync, state writes) against
# `dd bs=1M conv=notrunc,fsync` of the same payload to the same slot offset of the same
# image. Caches are warm for both (the bundle is read once first). Prints the medians of
# RUNS runs and the ratio (dd time / install time: 1.0 = as fast as dd); the rootfs phase
# alone is timed from install's JSON progress. Then the same for a bundle made from an
# image with dm-verity (the bootable sample; `bundle create -k --from-image`, verity on: the payload is the slot
# image, squashfs + hash tree, and the bundle carries the signed slot.env) against `dd` of
# that payload. Rootless.
# Usage: bench/install.sh   Env: RUNS (3), SIZE_MIB (256), TMPDIR (/var/tmp).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
RUNS=${RUNS:-3}
SIZE_MIB=${SIZE_MIB:-256}
export MTOOLS_SKIP_CHECK=1
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/aimbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

"$top/tests/sample/mkshape.sh" A in.img >/dev/null 2>&1
"$AIM" -q convert --slot-b empty --slot-size $((SIZE_MIB + 64))M in.img base.img
"$AIM" -q keygen -W -p k.pub -s k.key
head -c $((SIZE_MIB * 1024 * 1024)) /dev/urandom >rootfs.bin
p1=$(($(sfdisk -J base.img | jq -r '.partitiontable.partitions[0].start') * 512))
mkdir boot && mcopy -s -n -i "base.img@@$p1" ::/slot-a boot/ && rm -f boot/slot-a/slot.env
st=$("$AIM" status --image base.img --json)
board=$(echo "$st" | jq -r '.slots[0].board') family=$(echo "$st" | jq -r '.slots[0].family')
arch=$(echo "$st" | jq -r '.slots[0].arch')
off_b=$(echo "$st" | jq -r '.slots[1].partition.offset')
"$AIM" -q bundle create -k k.key -o b.aimb --rootfs rootfs.bin --boot-dir boot/slot-a \
	--version 99.1 --board "$board" --family "$family" --arch "$arch"
nboot=$(find boot/slot-a -type f | wc -l)
echo "bundle: $(du -h --apparent-size b.aimb | cut -f1), rootfs payload ${SIZE_MIB} MiB random, $nboot boot files"
cat b.aimb rootfs.bin >/dev/null

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# measure BASE BUNDLE PAYLOAD MIB OFFSET LABEL
measure() {
	: >t.install
	: >t.rootfs
	: >t.dd
	for i in $(seq "$RUNS"); do
		cp --sparse=always "$1" w.img
		sync w.img # the copy's dirty pages are not the next fsync's work
		t0=$(now)
		"$AIM" install --image w.img -p k.pub --progress=json "$2" 2>p.json
		t1=$(now)
		echo "$t0 $t1" | awk '{print $2 - $1}' >>t.install
		# rootfs phase: from the first "rootfs" progress line (after the first MiB; the old
		# slot's boot files are gone by then) to the first "boot" line, scaled to the
		# whole payload
		jq -r 'select(.phase=="rootfs" or .phase=="boot") | "\(.phase) \(.elapsed) \(.done)"' p.json |
			awk -v size="$(($4 * 1048576))" '$1 == "rootfs" && !t0 { t0 = $2; d0 = $3 }
				$1 == "boot" { print ($2 - t0) * size / (size - d0); exit }' >>t.rootfs
		cp --sparse=always "$1" w.img
		sync w.img # the copy's dirty pages are not the next fsync's work
		t0=$(now)
		dd if="$3" of=w.img bs=1M seek="$5" oflag=seek_bytes conv=notrunc,fsync status=none
		t1=$(now)
		echo "$t0 $t1" | awk '{print $2 - $1}' >>t.dd
	done
	ti=$(median <t.install) tr=$(median <t.rootfs) td=$(median <t.dd)
	echo "$6:"
	echo "  install (whole): $ti s  ($(echo "$4 $ti" | awk '{printf "%.0f", $1 / $2}') MiB/s)"
	echo "  install (rootfs phase: payload write, SHA-256, fsync): $tr s"
	echo "  dd of the rootfs payload (conv=fsync): $td s  ($(echo "$4 $td" | awk '{printf "%.0f", $1 / $2}') MiB/s)"
	echo "  ratio dd/install: whole $(echo "$td $ti" | awk '{printf "%.2f", $1 / $2}'), rootfs phase $(echo "$td $tr" | awk '{printf "%.2f", $1 / $2}')"
}
measure base.img b.aimb rootfs.bin "$SIZE_MIB" "$off_b" "random rootfs payload, ${SIZE_MIB} MiB"

# ---- a bundle with dm-verity, from the bootable sample (Debian's kernel has it) ----
vm=$("$top/tests/sample/mkbootable.sh" 2>/dev/null | tail -n 1)
[ -f "$vm" ] || { echo "bench/install.sh: no bootable sample (tests/sample/mkbootable.sh)" >&2; exit 1; }
ln -s "$vm" vm.img
"$AIM" -q convert --sign k.key --verity on vm.img vbase.img
"$AIM" -q bundle create -k k.key -o v.aimb --from-image vm.img --version 99.2
vsize=$("$AIM" bundle info --json v.aimb | jq -r '.payloads[] | select(.kind=="rootfs") | .size')
voff=$("$AIM" status --image vbase.img --json | jq -r '.slots[1].partition.offset')
# the payload area starts after header, manifest and signature, on 4 KiB (docs/ota.md)
hm=$(od -An -tu4 -j 16 -N 4 v.aimb | tr -d ' ') hs=$(od -An -tu4 -j 20 -N 4 v.aimb | tr -d ' ')
area=$(( (64 + hm + hs + 4095) / 4096 * 4096 ))
poff=$("$AIM" bundle info --json v.aimb | jq -r '.payloads[] | select(.kind=="rootfs") | .offset')
dd if=v.aimb of=vpayload.bin bs=1M iflag=skip_bytes,count_bytes skip=$((area + poff)) \
	count="$vsize" status=none
[ "$(sha256sum <vpayload.bin | cut -c1-64)" = "$("$AIM" bundle info --json v.aimb |
	jq -r '.payloads[] | select(.kind=="rootfs") | .sha256')" ] ||
	{ echo "bench/install.sh: cannot cut the rootfs payload out of v.aimb" >&2; exit 1; }
cat v.aimb vpayload.bin >/dev/null
echo "verity bundle: $(du -h --apparent-size v.aimb | cut -f1), rootfs payload $((vsize / 1048576)) MiB (squashfs + hash tree)"
measure vbase.img v.aimb vpayload.bin $((vsize / 1048576)) "$voff" "verity slot payload (sample)"
