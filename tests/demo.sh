#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make demo: the main job on the built-in sample. Builds (or takes from the cache) the
# bootable Armbian-shaped arm64 sample, shows what inspect sees, converts it rootless
# into the A/B layout, shows the result, and boots the sample under QEMU with Debian's
# U-Boot, then boots the converted image the same way: the generated A/B boot.scr picks
# slot A, the initramfs mounts the squashfs and the overlay, systemd comes up
# (tests/qemu/t-sample-boot.sh and t-sample-convert.sh; both print their checks as TAP).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
out=${AIM_DEMO_DIR:-$top/$B/demo}
mkdir -p "$out"
demo_t0=$(date +%s)

if "$top/tests/sample/mkbootable.sh" --cached; then
	echo "== 1. the sample image (in the cache: the demo takes about 4 min)"
else
	cat <<-EOF
	== 1. the sample image: not built yet. The first run takes about 10-15 min on 2 cores:
	   the sample is a real Debian bookworm arm64 system with Armbian's /boot layout, made
	   from Debian's packages with mmdebstrap, whose package scripts run under emulation
	   (qemu-user). It is cached in ${AIM_CACHE:-/var/cache/armimmutable}: later runs take
	   about 4 min (convert, then two QEMU boots). Progress follows.
	EOF
fi
t0=$(date +%s)
img=$("$top/tests/sample/mkbootable.sh" | tail -n 1)
echo "   sample ready in $(( $(date +%s) - t0 )) s: $img"
cp --sparse=always "$img" "$out/sample.img"
chmod 0644 "$out/sample.img"
echo "== 2. armimmutable inspect sample.img"
"$AIM" inspect "$out/sample.img"
echo
echo "== 3. armimmutable convert sample.img appliance.img (as an ordinary user)"
chmod 0777 "$out"
setpriv --reuid=65534 --regid=65534 --clear-groups -- \
	"$AIM" convert --force --persist=/home "$out/sample.img" "$out/appliance.img"
echo
echo "== 4. armimmutable inspect appliance.img"
sfdisk -d "$out/appliance.img" | sed -n '/^label/p;/start=/p'
p1=$(($(sfdisk -J "$out/appliance.img" | jq '.partitiontable.partitions[0].start') * 512))
echo "boot partition, slot a:"
mdir -/ -b -i "$out/appliance.img@@$p1" ::/slot-a | sed 's#^#  #' | head -n 12
echo
boottimes="$out/boot-times"
: >"$boottimes"
echo "== 5. boot the original sample in QEMU (Debian U-Boot, virtio disk, TCG)"
AIM_BOOTTIME_FILE="$boottimes" AIM_SAMPLE_IMG="$img" sh "$top/tests/qemu/t-sample-boot.sh"
echo
echo "== 6. convert it again and boot the A/B image in QEMU"
B="$B" AIM_BOOTTIME_FILE="$boottimes" sh "$top/tests/qemu/t-sample-convert.sh"
echo
echo "demo done in $(( $(date +%s) - demo_t0 )) s: $out/sample.img -> $out/appliance.img"
