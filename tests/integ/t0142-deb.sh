#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package (docs/packaging.md): debian/control's Build-Depends are packages
# tools/deps.sh installs; the .deb of 'make deb' (build/deb/) holds nothing under the
# host's initramfs-tools, /etc or systemd directories, and installs into a clean bookworm
# chroot, where its armimmutable inspects and converts the sample. Run by 'make check-deb'
# (which builds the .deb first); elsewhere it skips the chroot part when no .deb is there.
# The base chroot (mmdebstrap, minimal, apt lists kept) is cached as
# /var/cache/armimmutable/deb-chroot-<key>.tar and extracted afresh each run; the .debs
# apt fetches for it are kept in /var/cache/armimmutable/deb-chroot-apt/.
# aim-timeout: 900
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# ---- Build-Depends come from tools/deps.sh (debhelper-compat is debhelper's) ----
bd=$(sed -n '/^Build-Depends:/,/^[^ ]/p' "$AIM_TOP/debian/control" | sed '$!b;/^[^ ]/d' |
	sed 's/^Build-Depends://; s/([^)]*)//g' | tr ',' '\n' | tr -d ' ' | grep -v '^$' |
	sed 's/^debhelper-compat$/debhelper/')
words=$(sed -n '/^host_pkgs=/,/^$/p' "$AIM_TOP/tools/deps.sh" | tr -c 'a-z0-9.+-' '\n')
missing=""
for p in $bd; do
	printf '%s\n' "$words" | grep -qx -- "$p" || missing="$missing $p"
done
ok "$([ -n "$bd" ] && [ -z "$missing" ]; echo $?)" \
	"every Build-Depends ($(echo "$bd" | wc -w)) is installed by tools/deps.sh${missing:+ (not:$missing)}"

deb=$(find "$AIM_TOP/build/deb" -maxdepth 1 -name "armimmutable_*_amd64.deb" 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
	skip "no build/deb/armimmutable_*.deb: 'make deb' or 'make check-deb' makes it"
	done_testing
	exit 0
fi
diag "package: ${deb##*/}"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >list
forbidden=$(grep -E '^/etc/|^/(usr/)?(lib|share|libexec)/(initramfs-tools|systemd)/' list)
is "$forbidden" "" "the .deb puts nothing under initramfs-tools, /etc or a systemd directory"
for f in /usr/bin/armimmutable /usr/share/man/man1/armimmutable.1.gz \
	/usr/share/bash-completion/completions/armimmutable \
	/usr/share/armimmutable/hooks/initramfs-tools/hooks/armimmutable \
	/usr/share/armimmutable/armbian/armimmutable.sh /usr/share/doc/armimmutable/armbian-build.md.gz \
	/usr/libexec/armimmutable/arm64/aim-boot /usr/libexec/armimmutable/arm64/armimmutable \
	/usr/libexec/armimmutable/armhf/aim-boot /usr/libexec/armimmutable/armhf/armimmutable; do
	check "the .deb has $f" grep -qx "$f" list
done

if [ "$(id -u)" != 0 ]; then
	skip "the chroot install needs root (chroot, mmdebstrap --mode=root)"
	done_testing
	exit 0
fi
if ! command -v mmdebstrap >/dev/null; then
	skip "mmdebstrap missing (tools/deps.sh --deb)"
	done_testing
	exit 0
fi

# ---- the base chroot, cached ----
cache=${AIM_CACHE:-/var/cache/armimmutable}
mirror=${AIM_MIRROR:-$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\)[[:space:]]*$/\1/p' \
	/etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)}
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
recipe="bookworm apt $mirror skip=cleanup/apt/lists v1"
key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
base=$cache/deb-chroot-$key.tar
mkdir -p "$cache/deb-chroot-apt"
exec 8>"$cache/.lock-deb-chroot"
flock 8
if [ ! -f "$base" ]; then
	t0=$(date +%s)
	mmdebstrap --mode=root --format=tar --variant=apt --skip=cleanup/apt/lists \
		bookworm "$base.tmp" "$mirror" >mm.log 2>&1 && mv "$base.tmp" "$base"
	ok $? "base chroot made with mmdebstrap ($(( $(date +%s) - t0 )) s, cached as ${base##*/})"
	[ -f "$base" ] || { rm -f "$base.tmp"; tail -n 20 mm.log | sed 's/^/#   /'; done_testing; exit 1; }
fi
exec 8>&-
R=$TMP/root
mkdir "$R" && tar -C "$R" --numeric-owner -xpf "$base"
ok $? "a clean bookworm chroot from ${base##*/}"
umount_all() { umount "$R/proc" 2>/dev/null; }
trap 'umount_all; [ "${BASHPID:-$$}" = "$MAINPID" ] && rm -rf "$TMP"' EXIT
mount -t proc proc "$R/proc"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
cp "$cache"/deb-chroot-apt/*.deb "$R/var/cache/apt/archives/" 2>/dev/null
cp "$deb" "$R/tmp/"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }
check "the chroot has no armimmutable before" sh -c "! chroot '$R' sh -c 'command -v armimmutable'"

# ---- install: the dependencies from Debian's archive (apt-get update when the cached lists
# name versions the archive has dropped) ----
t0=$(date +%s)
inst() { in_root apt-get install -y -q --no-install-recommends "/tmp/${deb##*/}" >apt.log 2>&1; }
DEBIAN_FRONTEND=noninteractive inst || { in_root apt-get update -q >>apt.log 2>&1; DEBIAN_FRONTEND=noninteractive inst; }
rc=$?
is "$rc" 0 "apt-get install ./${deb##*/} in the chroot ($(( $(date +%s) - t0 )) s)"
[ $rc = 0 ] || tail -n 20 apt.log | sed 's/^/#   /'
cp -n "$R"/var/cache/apt/archives/*.deb "$cache/deb-chroot-apt/" 2>/dev/null
check "dpkg lists the package installed" sh -c "chroot '$R' dpkg-query -W -f='\${Status}' armimmutable | grep -q 'install ok installed'"
is "$(in_root dpkg -L armimmutable | grep -E '^/etc/|^/(usr/)?(lib|share)/(initramfs-tools|systemd)/')" "" \
	"dpkg -L: nothing under initramfs-tools, /etc or systemd"
check "armimmutable --version runs in the chroot" in_root armimmutable --version
check "the man page and completion are there" test -f "$R/usr/share/man/man1/armimmutable.1.gz" -a \
	-f "$R/usr/share/bash-completion/completions/armimmutable"

# ---- the sample: the bootable one when it is cached, else a shape ----
if src=$("$SAMPLE/mkbootable.sh" 2>/dev/null | tail -n 1) && [ -f "$src" ]; then
	what="the bootable sample"
	cp --sparse=always "$src" "$R/tmp/sample.img"
else
	what="sample shape A (arm64; no cached bootable sample)"
	"$SAMPLE/mkshape.sh" A "$R/tmp/sample.img" --arch arm64 >mk.log 2>&1 ||
		{ ok 1 "sample built"; tail -n 5 mk.log | sed 's/^/#   /'; done_testing; exit 1; }
fi
diag "converting $what"
in_root armimmutable inspect /tmp/sample.img >inspect.out 2>&1
is "$?" 0 "armimmutable inspect on $what in the chroot"
check "inspect: convertible" grep -q '^Convertible: *yes' inspect.out
t0=$(date +%s)
in_root armimmutable -q convert /tmp/sample.img /tmp/out.img 2>conv.err
rc=$?
is "$rc" 0 "armimmutable convert in the chroot ($(( $(date +%s) - t0 )) s)"
[ $rc = 0 ] || sed 's/^/#   /' conv.err
if [ -f "$R/tmp/out.img" ]; then
	in_root armimmutable inspect /tmp/out.img >inspect2.out 2>&1
	check "inspect in the chroot: slot a converted" grep -q '^Slot a: *converted' inspect2.out
	off=$(sfdisk -J "$R/tmp/out.img" | jq '.partitiontable.partitions[1].start * 512')
	cmp -s <(unsquashfs -o "$off" -cat "$R/tmp/out.img" /usr/lib/armimmutable/aim-boot 2>/dev/null) \
		"$R/usr/libexec/armimmutable/arm64/aim-boot"
	ok $? "slot A's aim-boot is the package's arm64 one"
	unsquashfs -o "$off" -lc "$R/tmp/out.img" 2>/dev/null | sed 's|^squashfs-root||' >slot
	check "slot A has the package's initramfs-tools hook" grep -qx /usr/share/initramfs-tools/hooks/armimmutable slot
	check "slot A has the device CLI" grep -qx /usr/sbin/armimmutable slot
fi
check "the chroot's own initramfs-tools directory was not touched" test ! -e "$R/usr/share/initramfs-tools/hooks/armimmutable"
done_testing
