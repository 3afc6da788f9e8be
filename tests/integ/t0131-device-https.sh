#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# HTTPS in the static device build of the CLI ($B/dev/<arch>/armimmutable linked with the
# libcurl.a of tools/curl-static.sh, libssl.a and libcrypto.a): for x86_64 and arm64 (under
# qemu-user) and armhf when its static curl is there, install --image from the test nginx
# (tests/integ/nginx.sh) on 127.0.0.1: over https with a self-signed certificate it is
# refused ("certificate not trusted") and the image is unchanged, also with a CA file that
# is not the server's; with --cacert naming the server's certificate it installs as a delta
# (ranges; slot B byte-identical, B on trial); plain http installs too. The binary's CA defaults are
# Debian's and Ubuntu's (/etc/ssl/certs). As root: a name from /etc/hosts resolves although
# nsswitch.conf names a module that does not exist (the device build looks host names up in
# files and dns only).
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integ/nginx.sh
. "$(dirname "$0")/nginx.sh"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
DEV="$AIM_TOP/$B/dev"
CACHE=${SYSROOT_CACHE:-/var/cache/armimmutable}
if ! ng_init; then
	skip "nginx is not installed ($NGINX; tools/deps.sh installs it)"
	done_testing
	exit
fi
if [ "$have_tls" != 1 ]; then
	skip "openssl could not make a test certificate"
	done_testing
	exit
fi
cd "$TMP" || exit 1

# shellcheck disable=SC2034 # read as ${!t} and ${!q}
triplet_arm64=aarch64-linux-gnu triplet_armhf=arm-linux-gnueabihf triplet_x86_64=x86_64-linux-gnu
# shellcheck disable=SC2034
qemu_arm64=qemu-aarch64-static qemu_armhf=qemu-arm-static qemu_x86_64=
# The directory with the static curl of an arch, as the Makefile looks for it ("" if none).
curl_dir() {
	local d t=triplet_$1
	for d in "$CACHE/sysroot-$1" "$AIM_TOP/$B/sysroot-$1"; do
		[ -e "$d/.curl-done" ] && [ -e "$d/usr/lib/${!t}/libcurl.a" ] && { echo "$d"; return; }
	done
}
todo=""
for a in x86_64 arm64 armhf; do
	q=qemu_$a
	if [ -z "$(curl_dir $a)" ]; then
		skip "$a: no static libcurl (make device or tools/curl-static.sh $a builds it)"
	elif [ ! -x "$DEV/$a/armimmutable" ]; then
		ok 1 "$a: $DEV/$a/armimmutable built"
	elif [ -n "${!q}" ] && ! command -v "${!q}" >/dev/null; then
		skip "$a: ${!q} not installed (tools/deps.sh --qemu), not run"
	else
		todo="$todo $a"
	fi
done
if [ -z "$todo" ]; then
	done_testing
	exit
fi

need_sample in.img
check "host: convert the sample with slot B empty" "$AIM" -q convert --slot-b empty in.img base.img
check "host: keygen" "$AIM" -q keygen -W -p k.pub -s k.key
check "host: bundle create --from-image (version 99.1)" "$AIM" -q bundle create -k k.key \
	-o "$WWW/v2.aimb" --from-image in.img --version 99.1
chmod 0644 "$WWW/v2.aimb"
"$AIM" bundle info --json "$WWW/v2.aimb" >info.json
rootfs_sha=$(jq -r '.payloads[] | select(.kind=="rootfs") | .sha256' info.json)
rootfs_size=$(jq -r '.payloads[] | select(.kind=="rootfs") | .size' info.json)
off_b=$("$AIM" status --image base.img --json | jq -r '.slots[1].partition.offset')
# A CA that is not the server's.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout other.key -out other.pem >/dev/null 2>&1
chmod 0644 other.pem "$NG/cert.pem"

# For the name lookup as root: an nsswitch.conf whose hosts module does not exist, and a
# hosts file with a name for 127.0.0.1.
echo "hosts: aim-no-such-module" >nsswitch.conf
{ cat /etc/hosts; echo "127.0.0.1 aim-update.test"; } >hosts
run_ns() { # run_ns CMD...: CMD with those two files, exit status in $rc
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m sh -c 'mount --bind "$1" /etc/nsswitch.conf && mount --bind "$2" /etc/hosts &&
		shift 2 && exec "$@"' sh "$TMP/nsswitch.conf" "$TMP/hosts" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# getent, which follows nsswitch.conf, does not find the name there: the case is real.
# Root and a private mount namespace with bind mounts (not in every container).
ns_ok=0
# shellcheck disable=SC2016
[ "$(id -u)" = 0 ] && unshare -m sh -c 'mount --bind "$1" /etc/hosts' sh "$TMP/hosts" \
	2>/dev/null && ns_ok=1
if [ $ns_ok = 1 ]; then
	run_ns getent hosts aim-update.test
	is "$rc" 2 "getent under that nsswitch.conf does not find the name"
else
	skip "host names under another nsswitch.conf: needs root and unshare -m"
fi

ng_start
check "nginx started on 127.0.0.1:$PORT (https: $TLSPORT)" test -n "$NGPID"
HTTPS="https://127.0.0.1:$TLSPORT/v2.aimb"
W="$TMP/w.img"
fresh() { rm -f "$W"; cp --sparse=always base.img "$W"; chmod 0666 "$W"; }
# Unchanged after a refusal: the same status (state, slot.env) and slot B's first MiB.
"$AIM" status --image base.img --json >base.json
b0=$(sha_range base.img "$off_b" 1048576)
unchanged() {
	"$AIM" status --image w.img --json | sed 's/"w\.img"/"base.img"/g' | cmp -s - base.json &&
		[ "$(sha_range "$W" "$off_b" 1048576)" = "$b0" ]
}
slot_b_ok() { [ "$(sha_range "$W" "$off_b" "$rootfs_size")" = "$rootfs_sha" ]; }
next_boot() { "$AIM" status --image "$W" --json | jq -r .state.next_boot; }

for a in $todo; do
	bin="$DEV/$a/armimmutable"
	q=qemu_$a
	runner=()
	[ -n "${!q}" ] && runner=("${!q}")
	inst() { # inst URL ARGS...: install into $W as an ordinary user, exit status in $rc
		local url=$1
		shift
		as_user "${runner[@]}" "$bin" install --image "$W" -p k.pub "$@" "$url" \
			>"$TMP/out" 2>"$TMP/err"
		rc=$?
	}
	check "$a: the binary has curl with Debian's CA defaults" \
		grep -qa /etc/ssl/certs/ca-certificates.crt "$bin"

	fresh
	inst "$HTTPS"
	is "$rc" 1 "$a: https with a self-signed certificate, no --cacert: exit 1"
	check "$a: certificate not trusted ($(head -c 200 "$TMP/err"))" \
		grep -q "certificate not trusted" "$TMP/err"
	check "$a: refused: image unchanged" unchanged

	inst "$HTTPS" --cacert "$TMP/other.pem"
	is "$rc" 1 "$a: https with another CA: exit 1"
	check "$a: another CA: certificate not trusted" grep -q "certificate not trusted" "$TMP/err"
	check "$a: another CA: image unchanged" unchanged

	inst "$HTTPS" --cacert "$NG/cert.pem"
	is "$rc" 0 "$a: https with --cacert of the server: exit 0"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$TMP/err" | head -n 5
	check "$a: https: slot B holds the rootfs" slot_b_ok
	is "$(next_boot)" b "$a: https: B on trial"
	# by ranges, as a delta: only what slot A lacks (docs/delta.md)
	check "$a: https: read as a delta ($(grep -o 'delta: fetched [^;]*' "$TMP/err"))" \
		grep -q "delta: fetched" "$TMP/err"

	fresh
	inst "http://127.0.0.1:$PORT/v2.aimb"
	is "$rc" 0 "$a: plain http: exit 0"
	check "$a: http: slot B holds the rootfs" slot_b_ok

	if [ $ns_ok = 1 ]; then
		# A host name (curl answers 'localhost' itself): the device build looks host
		# names up in files and dns only, whatever nsswitch.conf names (main.c), so an NSS
		# module it cannot load does not matter. In a private mount namespace:
		# nsswitch.conf names a module that does not exist, /etc/hosts the test's name.
		fresh
		run_ns "${runner[@]}" "$bin" install --image "$W" -p k.pub \
			"http://aim-update.test:$PORT/v2.aimb"
		is "$rc" 0 "$a: a name from /etc/hosts, nsswitch.conf naming a missing module: exit 0"
		[ "$rc" = 0 ] || sed 's/^/#   /' "$TMP/err" | head -n 3
		check "$a: /etc/hosts name: slot B holds the rootfs" slot_b_ok
	fi
done
check "nginx's log shows the downloads" grep -Eq '"GET /v2.aimb HTTP/1.1" 20[06]' "$NG/access.log"
ng_stop

done_testing
