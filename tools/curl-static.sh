#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# A minimal static libcurl (HTTP and HTTPS over OpenSSL) for the device build of the
# armimmutable CLI, built from Debian's own curl source package (bookworm's, with Debian's
# patches, so with its security fixes).
#
#   tools/curl-static.sh [--print] ARCH [DIR]     ARCH: arm64 | armhf | x86_64
#   tools/curl-static.sh --all                   the three, in parallel, default DIRs
#
# Debian's libcurl.a cannot be linked statically (it needs GSSAPI, LDAP, libidn2, libpsl,
# ... archives Debian does not ship), so this script builds lib/ of the source package with
# every optional part off and installs libcurl.a and <curl/*.h> into DIR:
# DIR/usr/lib/<triplet>/libcurl.a, DIR/usr/include/curl/. arm64/armhf: DIR is the sysroot of
# tools/sysroot.sh (made first when missing), whose libssl.a/libcrypto.a curl is configured
# against. x86_64: DIR (default $SYSROOT_CACHE/sysroot-x86_64, else $B/sysroot-x86_64) holds
# only curl; OpenSSL is the host's (libssl-dev).
# The source: 'apt-get source --download-only curl' into $SYSROOT_CACHE/curl-src (else
# $B/curl-src), kept there; a deb-src entry for bookworm, bookworm-updates and
# bookworm-security is added as /etc/apt/sources.list.d/armimmutable-src.sources (as root)
# when apt knows no curl source. A cached source of the version apt names is not fetched
# again; without apt (no root, no deb-src) the newest cached one is used.
# CA defaults: /etc/ssl/certs/ca-certificates.crt and /etc/ssl/certs (Debian and Ubuntu).
# DIR/.curl-done (holding the version) marks a finished build: a second run does nothing;
# remove it to rebuild (a sysroot fetched again by tools/sysroot.sh loses it too).
#
# --print: only print DIR. Exit status: 0 done (or already there), 1 failure (the reason
# on stderr). Prints a timing line.
set -eu

CACHE=${SYSROOT_CACHE:-/var/cache/armimmutable}
JOBS=${JOBS:-2}
here=$(cd "$(dirname "$0")" && pwd)

# --all: the three arches at once (one job each: configure is serial, so on 2 cores three
# in parallel take about as long as one and a half built one after the other).
if [ "${1:-}" = "--all" ]; then
	t0=$(date +%s)
	logs=$(mktemp -d "${TMPDIR:-/tmp}/aim-curl-all.XXXXXX")
	pids="" names=""
	for a in arm64 armhf x86_64; do
		t=aarch64-linux-gnu
		[ $a = armhf ] && t=arm-linux-gnueabihf
		[ $a = x86_64 ] && t=x86_64-linux-gnu
		d=$(sh "$0" --print "$a")
		[ -e "$d/.curl-done" ] && [ -e "$d/usr/lib/$t/libcurl.a" ] && continue
		JOBS=1 sh "$0" "$a" >"$logs/$a" 2>&1 &
		pids="$pids $!:$a" names="$names${names:+, }$a"
	done
	[ -n "$pids" ] || { rm -rf "$logs"; exit 0; }
	rc=0
	for p in $pids; do
		wait "${p%%:*}" || rc=1
		cat "$logs/${p#*:}" >&2
	done
	rm -rf "$logs"
	echo "timing: curl ($names at once) $(($(date +%s) - t0)) s"
	exit $rc
fi

print=0
if [ "${1:-}" = "--print" ]; then
	print=1
	shift
fi
arch=${1:-}
case "$arch" in
arm64) triplet=aarch64-linux-gnu cc=aarch64-linux-gnu-gcc extra="" ;;
armhf) triplet=arm-linux-gnueabihf cc=arm-linux-gnueabihf-gcc extra="-D_TIME_BITS=64" ;;
x86_64) triplet=x86_64-linux-gnu cc=gcc extra="" ;;
*)
	echo "curl-static: usage: tools/curl-static.sh [--print] arm64|armhf|x86_64 [DIR]" \
		"(got '${arch}')" >&2
	exit 1
	;;
esac

writable() { [ -e "$1" ] || mkdir -p "$1" 2>/dev/null && [ -w "$1" ]; }

dir=${2:-}
if [ -z "$dir" ]; then
	if [ "$arch" = x86_64 ]; then
		if [ -e "$CACHE/sysroot-x86_64/.curl-done" ] || writable "$CACHE"; then
			dir=$CACHE/sysroot-x86_64
		else
			dir=${B:-build}/sysroot-x86_64
		fi
	else
		dir=$(sh "$here/sysroot.sh" --print "$arch")
	fi
fi
if [ $print = 1 ]; then
	echo "$dir"
	exit 0
fi
[ -e "$dir/.curl-done" ] && [ -e "$dir/usr/lib/$triplet/libcurl.a" ] && exit 0
t0=$(date +%s)

if [ "$arch" = x86_64 ]; then
	ossl=/usr
	for f in /usr/lib/$triplet/libssl.a /usr/lib/$triplet/libcrypto.a; do
		[ -e "$f" ] || { echo "curl-static: $f is missing (apt-get install libssl-dev)" >&2; exit 1; }
	done
else
	sh "$here/sysroot.sh" "$arch" "$dir"
fi
# Absolute: configure and make run in another directory.
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ "$arch" = x86_64 ] || ossl=$dir/usr
command -v "$cc" >/dev/null || { echo "curl-static: $cc is missing (tools/deps.sh)" >&2; exit 1; }

# ---- the source package ----
if writable "$CACHE"; then
	src=$CACHE/curl-src
else
	src=${B:-build}/curl-src
fi
mkdir -p "$src"
src=$(cd "$src" && pwd)
# apt's curl source: "VERSION" of the newest one it knows, or nothing.
apt_version() {
	apt-get source --print-uris -q curl 2>/dev/null |
		sed -n "s/^'[^']*' curl_\([^ ]*\)\.dsc .*/\1/p" | head -n 1
}
fetch_source() {
	v=$(apt_version)
	if [ -z "$v" ] && [ "$(id -u)" = 0 ]; then
		list=/etc/apt/sources.list.d/armimmutable-src.sources
		if [ ! -e "$list" ]; then
			cat >"$list" <<-EOF
				# deb-src for tools/curl-static.sh (armimmutable): Debian's curl source
				Types: deb-src
				URIs: http://deb.debian.org/debian
				Suites: bookworm bookworm-updates
				Components: main
				Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

				Types: deb-src
				URIs: http://deb.debian.org/debian-security
				Suites: bookworm-security
				Components: main
				Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
			EOF
		fi
		apt-get update -q >/dev/null 2>&1 || { sleep 5; apt-get update -q >/dev/null 2>&1; } || true
		v=$(apt_version)
	fi
	if [ -n "$v" ]; then
		if [ ! -e "$src/curl_$v.dsc" ]; then
			command -v dpkg-source >/dev/null || {
				echo "curl-static: dpkg-source is missing (apt-get install dpkg-dev)" >&2
				exit 1
			}
			(cd "$src" && apt-get source -q --download-only "curl=$v" >"$src/fetch.log" 2>&1) || {
				sed 's/^/curl-static: /' "$src/fetch.log" >&2
				echo "curl-static: apt-get source --download-only curl=$v failed" >&2
				exit 1
			}
		fi
	else
		# No apt source (not root, no deb-src): the newest cached one (also root's cache).
		f=$(for f in "$src"/curl_*.dsc "$CACHE"/curl-src/curl_*.dsc; do
			[ -e "$f" ] && echo "${f##*/curl_} $f"
		done | sort -V | tail -n 1 | cut -d' ' -f2)
		[ -n "$f" ] || {
			echo "curl-static: apt knows no curl source package; as root run this script" \
				"(it adds a deb-src entry) or add deb-src for bookworm and apt-get update" >&2
			exit 1
		}
		echo "$f"
		return
	fi
	echo "$src/curl_$v.dsc"
}
# One fetch at a time (the three arches may run in parallel).
dsc=$(
	exec 9>"$src/.lock"
	flock 9
	fetch_source
)
version=${dsc##*/curl_}
version=${version%.dsc}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-curl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && dpkg-source -x "$dsc" curl >"$tmp/x.log" 2>&1) || {
	sed 's/^/curl-static: /' "$tmp/x.log" >&2
	echo "curl-static: dpkg-source -x curl_$version.dsc failed" >&2
	exit 1
}

# ---- configure: HTTP and HTTPS with OpenSSL, everything else off ----
cd "$tmp/curl"
# Debian's orig tarball carries a generated configure; regenerate only when it does not.
[ -x configure ] || autoreconf -fi >"$tmp/autoreconf.log" 2>&1
if [ "$arch" = x86_64 ]; then
	pkg="PKG_CONFIG_LIBDIR=/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig"
	inc="" lib=""
else
	pkg="PKG_CONFIG_LIBDIR=$ossl/lib/$triplet/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dir"
	inc="-I$ossl/include -I$ossl/include/$triplet" lib="-L$ossl/lib/$triplet"
fi
# shellcheck disable=SC2086
if ! env $pkg CC="$cc" CPPFLAGS="$inc $extra -D_FILE_OFFSET_BITS=64" LDFLAGS="$lib" \
	CFLAGS="-Os -ffunction-sections -fdata-sections" \
	./configure --host="$triplet" --build="$(dpkg-architecture -qDEB_BUILD_GNU_TYPE 2>/dev/null ||
		echo x86_64-linux-gnu)" \
	--disable-shared --enable-static --disable-manual --disable-docs --disable-dependency-tracking \
	--with-openssl="$ossl" --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
	--with-ca-path=/etc/ssl/certs --without-ca-fallback \
	--enable-http --enable-proxy --disable-ftp --disable-file --disable-ldap --disable-ldaps \
	--disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
	--disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-ntlm --disable-ntlm-wb \
	--disable-kerberos-auth --disable-negotiate-auth --disable-aws --disable-netrc \
	--disable-cookies --disable-alt-svc --disable-hsts --disable-doh --disable-sspi \
	--disable-tls-srp --disable-websockets \
	--without-zlib --without-brotli --without-zstd --without-libidn2 --without-libpsl \
	--without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche --without-msh3 \
	--without-libssh2 --without-libssh --without-wolfssh --without-librtmp --without-gssapi \
	--without-libgsasl --without-hyper >"$tmp/configure.log" 2>&1; then
	tail -n 30 "$tmp/configure.log" | sed 's/^/curl-static: /' >&2
	echo "curl-static: configure of curl $version for $arch failed" >&2
	exit 1
fi
# What configure found must be what is asked for: OpenSSL, no other library.
grep -q '^#define USE_OPENSSL 1' lib/curl_config.h || {
	echo "curl-static: configure did not enable OpenSSL for $arch (see config.log)" >&2
	exit 1
}
make -C lib -j"$JOBS" libcurl.la >"$tmp/make.log" 2>&1 || {
	tail -n 30 "$tmp/make.log" | sed 's/^/curl-static: /' >&2
	echo "curl-static: make -C lib of curl $version for $arch failed" >&2
	exit 1
}

# ---- install ----
mkdir -p "$dir/usr/lib/$triplet" "$dir/usr/include/curl"
cp lib/.libs/libcurl.a "$dir/usr/lib/$triplet/libcurl.a.new"
mv "$dir/usr/lib/$triplet/libcurl.a.new" "$dir/usr/lib/$triplet/libcurl.a"
cp include/curl/*.h "$dir/usr/include/curl/"
if [ -e "$dir/VERSIONS" ]; then
	grep -v '^curl:source ' "$dir/VERSIONS" >"$tmp/V" || true
	cp "$tmp/V" "$dir/VERSIONS"
fi
echo "curl:source $version" >>"$dir/VERSIONS"
echo "$version" >"$dir/.curl-done"
echo "curl-static: curl $version for $arch in $dir" \
	"($(du -k "$dir/usr/lib/$triplet/libcurl.a" | cut -f1) KB libcurl.a)" >&2
echo "timing: curl $arch $(($(date +%s) - t0)) s"
