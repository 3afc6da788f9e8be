#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# install from a real nginx (tests/integ/nginx.sh) into a converted image: a plain download;
# the server shut down mid-transfer and started again (the install resumes with a Range
# request and succeeds, slot B byte-identical); the same cut without retries, a 404 and a
# bundle replaced on the server between attempts are refused with one line and the image
# still boots slot A; https needs the right CA (--cacert) or --insecure.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
ng_setup
cd "$TMP" || exit 1
NG_LOCATIONS="location /slow/ { alias $WWW/; limit_rate 1m; }"

need_sample in.img
# --slot-size 64M: the layout before the slots were sized for the medium (t0122 tests that):
# the image is hashed whole after each refusal
check "convert the sample with slot B empty" as_user "$AIM" -q convert --slot-b empty --slot-size 64M in.img base.img
check "keygen" as_user "$AIM" -q keygen -W -p k.pub -s k.key
check "bundle create (version 99.1)" as_user "$AIM" -q bundle create -k k.key \
	-o v2.aimb --from-image in.img --version 99.1
cp v2.aimb "$WWW/v2.aimb"
chmod 0644 "$WWW/v2.aimb"
"$AIM" bundle info --json "$WWW/v2.aimb" >v2.json
rootfs_size=$(jq -r '.payloads[] | select(.kind=="rootfs") | .size' v2.json)
rootfs_sha=$(jq -r '.payloads[] | select(.kind=="rootfs") | .sha256' v2.json)
bsize=$(stat -c %s "$WWW/v2.aimb")
W="$TMP/w.img"
fresh() { rm -f "$W"; cp --sparse=always base.img "$W"; chmod 0666 "$W"; }
js() { "$AIM" status --image "$W" --json | jq -r "$1"; }
off_b=$("$AIM" status --image base.img --json | jq -r '.slots[1].partition.offset')
slot_b_ok() { [ "$(sha_range "$W" "$off_b" "$rootfs_size")" = "$rootfs_sha" ]; }
boots_a() {
	[ "$(js '[.state.valid, .state.next_boot, .slots[0].good, .slots[1].on_trial] | join(" ")')" = \
		"true a true false" ]
}
inst() { # inst URL ARGS...: install into $W as an ordinary user, exit status in $rc
	local url=$1
	shift
	as_user "$AIM" install --image "$W" -p k.pub "$@" "$url" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# The install's JSON progress in $1 has passed $2 bytes.
wait_done() {
	local i d
	for i in $(seq 400); do
		d=$(grep -o '"done":[0-9]*' "$1" 2>/dev/null | tail -n 1 | cut -d: -f2)
		[ -n "$d" ] && [ "$d" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# cut_install URL ARGS...: install in the background, restart nginx after 1 MiB
cut_install() {
	local url=$1 hp
	shift
	as_user "$AIM" install --image "$W" -p k.pub --progress=json "$@" "$url" \
		>"$TMP/out" 2>"$TMP/err" &
	hp=$!
	if wait_done "$TMP/err" $((1024 * 1024)); then
		cut_at=$(grep -o '"done":[0-9]*' "$TMP/err" | tail -n 1 | cut -d: -f2)
		ng_stop
		sleep 0.5
		[ -n "${BETWEEN:-}" ] && eval "$BETWEEN"
		ng_start
	else
		cut_at=none
	fi
	wait "$hp"
	rc=$?
}

ng_start
check "nginx started on 127.0.0.1:$PORT" test -n "$NGPID"
URL="http://127.0.0.1:$PORT"

fresh
inst "$URL/v2.aimb"
is "$rc" 0 "install over HTTP: exit 0"
check "install over HTTP: slot B holds the rootfs" slot_b_ok
is "$(js .state.next_boot)" b "install over HTTP: B on trial"

# The server goes away mid-transfer and comes back: resumed, not restarted (--full: the
# stream; a delta install after a cut: t0160).
fresh
cut_install "$URL/slow/v2.aimb" --full
is "$rc" 0 "cut after $cut_at of $bsize bytes, nginx restarted: install succeeds"
last=$(tail -n 1 "$TMP/err")
is "$(echo "$last" | jq -r .phase)" done "cut: the last JSON line says done"
r=$(echo "$last" | jq -r .reconnects)
ok "$([ "${r:-0}" -ge 1 ]; echo $?)" "cut: the download reconnected ($r times)"
check "cut: the server answered a Range request with 206" \
	grep -q '"GET /slow/v2.aimb HTTP/1.1" 206' "$NG/access.log"
check "cut: slot B byte-identical to the payload" slot_b_ok
is "$(js .state.next_boot)" b "cut: B on trial"
is "$(js '.slots[1].bundle')" "$(jq -r .manifest_sha256 v2.json)" "cut: slot.env names the bundle"

# The same cut without retries: refused, A still boots.
fresh
cut_install "$URL/slow/v2.aimb" --full --retries 0
is "$rc" 1 "cut with --retries 0: exit 1"
check "cut with --retries 0: JSON error line" sh -c "grep '^{' '$TMP/err' | tail -n 1 | jq -e '.phase == \"error\"'"
check "cut with --retries 0: the error says the transfer broke ($(tail -n 1 "$TMP/err" | head -c 200))" \
	grep -q "armimmutable: install: http://127.0.0.1:$PORT/slow/v2.aimb: .*transfer closed" "$TMP/err"
check "cut with --retries 0: the image boots A" boots_a

# The bundle replaced on the server while the connection was down: refused.
fresh
cp "$WWW/v2.aimb" "$WWW/v2.orig"
BETWEEN='cp "$WWW/v2.orig" "$WWW/v2.new" && touch -d "2001-01-01" "$WWW/v2.new" && chmod 0644 "$WWW/v2.new" && mv "$WWW/v2.new" "$WWW/v2.aimb"'
cut_install "$URL/slow/v2.aimb" --full
BETWEEN=""
is "$rc" 1 "bundle replaced on the server mid-transfer: exit 1"
check "replaced: says the content changed" grep -q "content changed on the server" "$TMP/err"
check "replaced: the image boots A" boots_a

fresh
sum0=$(sha256sum <"$W")
inst "$URL/missing.aimb"
is "$rc" 1 "404: exit 1"
check "404: message ($(cat "$TMP/err"))" grep -q "missing.aimb: HTTP 404" "$TMP/err"
is "$(wc -l <"$TMP/err")" 1 "404: one line"
is "$(sha256sum <"$W")" "$sum0" "404: image unchanged"

if [ "$have_tls" = 1 ]; then
	inst "https://127.0.0.1:$TLSPORT/v2.aimb"
	is "$rc" 1 "https with a self-signed certificate: refused"
	check "https: certificate not trusted" grep -q "certificate not trusted" "$TMP/err"
	is "$(sha256sum <"$W")" "$sum0" "https refused: image unchanged"
	inst "https://127.0.0.1:$TLSPORT/v2.aimb" --cacert "$NG/cert.pem"
	is "$rc" 0 "https with --cacert: installed"
	check "https with --cacert: slot B holds the rootfs" slot_b_ok
else
	skip "openssl could not make a test certificate"
fi

ng_stop
inst "$URL/v2.aimb"
is "$rc" 1 "server down: exit 1"
check "server down: Connection refused" grep -q "Connection refused" "$TMP/err"

done_testing
