#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Install benchmark (not a test: nothing here passes or fails on timings).
# Compares, on this machine and in this run, `armimmutable install --image` of a bundle
# whose rootfs payload is SIZE_MIB of random bytes (signature check, streaming, SHA-256 of
# every payload, the boot files through mtools, fsync, state writes) against
# `dd bs=1M conv=notrunc,fsync` of the same payload to the same slot offset of the same
# image. Caches are warm for both (the bundle is read once first). Prints the medians of
# RUNS runs and the ratio (dd time / install time: 1.0 = as fast as dd); the rootfs phase
# alone is timed from install's JSON progress. Rootless.
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
: >t.install
: >t.rootfs
: >t.dd
for i in $(seq "$RUNS"); do
	cp --sparse=always base.img w.img
	t0=$(now)
	"$AIM" install --image w.img -p k.pub --progress=json b.aimb 2>p.json
	t1=$(now)
	echo "$t0 $t1" | awk '{print $2 - $1}' >>t.install
	# rootfs phase: from the first "rootfs" line's elapsed back to the "verify" line
	jq -r 'select(.phase=="verify" or .phase=="boot") | .elapsed' p.json | head -n 2 |
		paste -sd' ' | awk '{print $2 - $1}' >>t.rootfs
	cp --sparse=always base.img w.img
	t0=$(now)
	dd if=rootfs.bin of=w.img bs=1M seek="$off_b" oflag=seek_bytes conv=notrunc,fsync status=none
	t1=$(now)
	echo "$t0 $t1" | awk '{print $2 - $1}' >>t.dd
done
ti=$(median <t.install) tr=$(median <t.rootfs) td=$(median <t.dd)
echo "install (whole): $ti s  ($(echo "$SIZE_MIB $ti" | awk '{printf "%.0f", $1 / $2}') MiB/s)"
echo "install (rootfs phase, to the first boot file): $tr s"
echo "dd of the rootfs payload (conv=fsync): $td s  ($(echo "$SIZE_MIB $td" | awk '{printf "%.0f", $1 / $2}') MiB/s)"
echo "ratio dd/install: whole $(echo "$td $ti" | awk '{printf "%.2f", $1 / $2}'), rootfs phase $(echo "$td $tr" | awk '{printf "%.2f", $1 / $2}')"
