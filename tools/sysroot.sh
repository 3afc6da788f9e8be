#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Static libraries of another architecture for the device build of the armimmutable CLI.
#
#   tools/sysroot.sh [--print] ARCH [DIR]     ARCH: arm64 | armhf
#
# Downloads the Debian -dev packages that hold the static archives the device build links
# (libsodium.a, libz.a, libcrypto.a) with 'apt-get download PKG:ARCH' and unpacks them
# with 'dpkg -x' into DIR. Default DIR: $SYSROOT_CACHE/sysroot-ARCH (SYSROOT_CACHE defaults to
# /var/cache/armimmutable) when that is writable, else $B/sysroot-ARCH (B: the build
# directory, 'build' when unset); the Makefile looks in the same two places.
# Nothing of the foreign architecture is installed: a multiarch install breaks whenever the
# host and the foreign index disagree on a version. apt needs the architecture in its
# index; as root the script adds it (dpkg --add-architecture, apt-get update) when it is
# missing. No version is pinned: whatever the archive has is taken and recorded in
# DIR/VERSIONS ("package:arch version" lines). DIR/.done marks a complete sysroot; a second
# run with one present (and every archive of LIBS in it) does nothing; one made before a
# library was added to the list is fetched again.
#
# --print: only print the directory the sysroot would go to (or is in), create nothing.
# Exit status: 0 done (or already there), 1 failure (the reason on stderr).
set -eu

PKGS="libsodium-dev zlib1g-dev libssl-dev"
LIBS="libsodium.a libz.a libcrypto.a"
CACHE=${SYSROOT_CACHE:-/var/cache/armimmutable}

print=0
if [ "${1:-}" = "--print" ]; then
	print=1
	shift
fi
arch=${1:-}
case "$arch" in
arm64) triplet=aarch64-linux-gnu ;;
armhf) triplet=arm-linux-gnueabihf ;;
*)
	echo "sysroot: usage: tools/sysroot.sh [--print] arm64|armhf [DIR] (got '${arch}')" >&2
	exit 1
	;;
esac

dir=${2:-}
if [ -z "$dir" ]; then
	if [ -e "$CACHE/sysroot-$arch/.done" ] ||
		{ mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ]; }; then
		dir=$CACHE/sysroot-$arch
	else
		dir=${B:-build}/sysroot-$arch
	fi
fi
if [ $print = 1 ]; then
	echo "$dir"
	exit 0
fi
complete() {
	[ -e "$1/.done" ] || return 1
	for a in $LIBS; do
		[ -e "$1/usr/lib/$triplet/$a" ] || return 1
	done
}
complete "$dir" && exit 0

if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	if [ "$(id -u)" != 0 ]; then
		echo "sysroot: apt does not know the architecture $arch; as root run:" \
			"dpkg --add-architecture $arch && apt-get update (nothing gets installed)" >&2
		exit 1
	fi
	dpkg --add-architecture "$arch"
	apt-get update -q >/dev/null 2>&1 || { sleep 5; apt-get update -q >/dev/null; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-sysroot.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root"
list=""
for p in $PKGS; do
	list="$list $p:$arch"
done
# shellcheck disable=SC2086
if ! (cd "$tmp" && apt-get download -q $list >"$tmp/log" 2>&1); then
	if [ "$(id -u)" = 0 ]; then
		# A stale index names versions the mirror no longer has: refresh once.
		apt-get update -q >/dev/null 2>&1 || true
		# shellcheck disable=SC2086
		(cd "$tmp" && apt-get download -q $list >"$tmp/log" 2>&1) || {
			sed 's/^/sysroot: /' "$tmp/log" >&2
			echo "sysroot: apt-get download$list failed" >&2
			exit 1
		}
	else
		sed 's/^/sysroot: /' "$tmp/log" >&2
		echo "sysroot: apt-get download$list failed (as root, apt-get update first)" >&2
		exit 1
	fi
fi
: >"$tmp/root/VERSIONS"
for deb in "$tmp"/*.deb; do
	dpkg-deb -x "$deb" "$tmp/root"
	dpkg-deb -f "$deb" Package Version Architecture |
		awk '/^Package:/ {p=$2} /^Version:/ {v=$2} /^Architecture:/ {a=$2}
		     END {print p ":" a, v}' >>"$tmp/root/VERSIONS"
done
for a in $LIBS; do
	if [ ! -e "$tmp/root/usr/lib/$triplet/$a" ]; then
		echo "sysroot: $a for $arch is not in the packages$list" >&2
		exit 1
	fi
done
touch "$tmp/root/.done"
mkdir -p "${dir%/*}"
rm -rf "$dir"
mv "$tmp/root" "$dir" 2>/dev/null || { cp -a "$tmp/root" "$dir"; }
echo "sysroot: $arch in $dir:" $(cut -d' ' -f1,2 "$dir/VERSIONS" | tr '\n' ' ') >&2
