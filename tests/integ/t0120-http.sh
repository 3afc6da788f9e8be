#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lib/source over real HTTP: a Debian nginx started by this test on 127.0.0.1 (its own
# config, pid and logs in the scratch dir, stopped by its PID) serves a 64 MiB random file.
# The helper (test-source --fetch) reads it through aim_source and prints the SHA-256 and
# the number of reconnects. Cuts are real: nginx is shut down mid-transfer and started again
# (206 resume; and a location with Range disabled, where the 200 is skipped into), its worker
# is frozen (low-speed timeout), the file is replaced between attempts (refused), a location
# without Range or validators cannot be resumed (refused); 404, 503, connection refused, DNS
# failure, an untrusted TLS certificate and a missing CA file give one-line errors; HTTPS with
# the right CA works; an https source redirected to http:// is refused (https to https and
# http to https are followed); http_proxy and no_proxy are honoured.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/nginx.sh"
HELPER="$AIM_TOP/$B/tests/test-source"
ng_setup "$HELPER"
NG_LOCATIONS="
		location /slow/ { alias $WWW/; limit_rate 12m; }
		location /norange/ { alias $WWW/; limit_rate 12m; max_ranges 0; }
		location /opaque/ {
			alias $WWW/; limit_rate 12m; etag off;
			sub_filter 'zzAIMNEVERzz' 'x'; sub_filter_types *;
		}
		location = /err503 { return 503; }
		location = /redirect { return 302 /data.bin; }
		location /clear/ { alias $WWW/; }
		location = /to-tls { return 302 https://127.0.0.1:@TLSPORT@/small.bin; }"
NG_TLS_LOCATIONS="
		location = /to-http { return 302 http://127.0.0.1:@PORT@/clear/small.bin; }
		location = /to-https { return 302 /small.bin; }"

head -c $((64 * 1024 * 1024)) /dev/urandom >"$WWW/data.bin"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$WWW/small.bin"
chmod 0644 "$WWW"/*.bin
want=$(sha256sum <"$WWW/data.bin" | cut -d' ' -f1)
want_small=$(sha256sum <"$WWW/small.bin" | cut -d' ' -f1)
stop_nginx() { ng_stop; }
start_nginx() { ng_start; }

fetch() { # fetch OUT ERR ARGS...: runs the helper, exit status in $rc
	local out=$1 err=$2
	shift 2
	as_user "$HELPER" --fetch "$@" >"$out" 2>"$err"
	rc=$?
}
field() { sed -n "s/^$1 //p" "$2"; }

start_nginx
check "nginx starts on 127.0.0.1 as $(id -un) with its own config" test -n "$NGPID"
URL="http://127.0.0.1:$PORT"

# 1. A plain transfer.
fetch "$TMP/o" "$TMP/e" "$URL/data.bin"
is "$rc" 0 "64 MiB over HTTP: success"
is "$(field sha256 "$TMP/o")" "$want" "64 MiB over HTTP: SHA-256 matches"
is "$(field size "$TMP/o")" $((64 * 1024 * 1024)) "size from Content-Length"
is "$(field reconnects "$TMP/o")" 0 "no reconnects without a cut"
# Throughput without hashing: HTTP over loopback against the same file read directly.
rate() { # rate SPEC: MiB/s of the helper reading SPEC without hashing
	local t0 t1
	t0=$(date +%s.%N)
	"$HELPER" --fetch "$1" --no-hash --chunk 1048576 >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{printf "%.0f", 64 / ($2 - $1)}'
}
cat "$WWW/data.bin" >/dev/null
echo "# 64 MiB, no hashing: HTTP loopback $(rate "$URL/data.bin") MiB/s, file $(rate "$WWW/data.bin") MiB/s"

fetch "$TMP/o" "$TMP/e" "$URL/redirect"
is "$(field sha256 "$TMP/o")" "$want" "a redirect is followed"

# 2. nginx shut down mid-transfer and started again: resumed with a 206.
cut_during() { # cut_during PATH EXTRA_ARGS...: fetch PATH, restart nginx after 8 MiB
	local path=$1
	shift
	rm -f "$TMP/mark"
	as_user "$HELPER" --fetch "$URL$path" --delay-ms 200 --retries 20 --mark "$TMP/mark" \
		"$@" >"$TMP/o" 2>"$TMP/e" &
	local hp=$!
	if wait_mark "$TMP/mark" $((8 * 1024 * 1024)); then
		cut_at=$(cat "$TMP/mark")
		stop_nginx
		sleep 0.5
		[ -n "${BETWEEN:-}" ] && eval "$BETWEEN"
		start_nginx
	else
		cut_at=none
	fi
	wait "$hp"
	rc=$?
}
cut_during /slow/data.bin
is "$rc" 0 "cut mid-transfer (nginx stopped after $cut_at bytes): success"
is "$(field sha256 "$TMP/o")" "$want" "cut mid-transfer: SHA-256 still matches"
r=$(field reconnects "$TMP/o")
ok "$([ "${r:-0}" -ge 1 ] && echo 0 || echo 1)" "cut mid-transfer: reconnected ($r times)"
check "cut mid-transfer: the server saw a Range request answered 206" \
	grep -q '"GET /slow/data.bin HTTP/1.1" 206' "$NG/access.log"

# 3. Range disabled (max_ranges 0): the 200 is skipped into, same ETag proves it unchanged.
cut_during /norange/data.bin
is "$rc" 0 "server ignoring Range, cut: success"
is "$(field sha256 "$TMP/o")" "$want" "server ignoring Range, cut: SHA-256 matches (200 skipped into)"
r=$(field reconnects "$TMP/o")
ok "$([ "${r:-0}" -ge 1 ] && echo 0 || echo 1)" "server ignoring Range: reconnected ($r times)"

# 4. The file replaced between attempts (new ETag/Last-Modified): refused, not spliced.
cp "$WWW/data.bin" "$WWW/change.bin"
touch -d '2020-01-01' "$WWW/change.bin"
BETWEEN='head -c $((64 * 1024 * 1024)) /dev/urandom >"$WWW/change.bin.new" && chmod 0644 "$WWW/change.bin.new" && mv "$WWW/change.bin.new" "$WWW/change.bin"'
cut_during /slow/change.bin
BETWEEN=""
is "$rc" 1 "file replaced between attempts: exit 1"
check "file replaced: refused as changed content ($(head -c 200 "$TMP/e"))" \
	grep -q "content changed on the server" "$TMP/e"
check "file replaced: the message names ETag" grep -q "ETag" "$TMP/e"
is "$(wc -l <"$TMP/e")" 1 "file replaced: one error line"
check "file replaced: nothing printed as a result" test ! -s "$TMP/o"

# 5. No Range and no validators (sub_filter: chunked, no ETag/Last-Modified).
fetch "$TMP/o" "$TMP/e" "$URL/opaque/small.bin"
is "$rc" 0 "no Range, no validators, no cut: success"
is "$(field sha256 "$TMP/o")" "$want_small" "no Range, no validators: SHA-256 matches"
is "$(field size "$TMP/o")" -1 "chunked response: size unknown"
cut_during /opaque/data.bin
is "$rc" 1 "no Range and no validators, cut: exit 1"
check "no Range, cut: says it cannot resume ($(head -c 200 "$TMP/e"))" grep -q "cannot resume" "$TMP/e"
is "$(wc -l <"$TMP/e")" 1 "no Range, cut: one error line"

# 6. Frozen worker: the low-speed timeout cuts the stalled transfer and it resumes. libcurl
# averages the speed over about 5 s, so a stall is seen after that plus the low-speed time.
rm -f "$TMP/mark"
as_user "$HELPER" --fetch "$URL/slow/data.bin" --delay-ms 200 --retries 20 --low-speed 1 \
	--mark "$TMP/mark" >"$TMP/o" 2>"$TMP/e" &
hp=$!
worker=""
wait_mark "$TMP/mark" $((8 * 1024 * 1024)) && ng_freeze 9
wait "$hp"
rc=$?
is "$rc" 0 "stalled server (worker $worker frozen 9 s, low-speed 1 s): success"
is "$(field sha256 "$TMP/o")" "$want" "stalled server: SHA-256 matches"
r=$(field reconnects "$TMP/o")
ok "$([ "${r:-0}" -ge 1 ] && echo 0 || echo 1)" "stalled server: reconnected ($r times)"

# 7. A slow consumer (pauses longer than the low-speed time) does not break the transfer.
fetch "$TMP/o" "$TMP/e" "$URL/small.bin" --low-speed 1 --slow-ms 1200 --chunk 1048576
is "$rc" 0 "slow consumer (1.2 s per MiB, low-speed 1 s): success"
is "$(field sha256 "$TMP/o")" "$want_small" "slow consumer: SHA-256 matches"
echo "# slow consumer: $(field reconnects "$TMP/o") reconnects"

# 8. Errors: one line each, naming the problem.
fetch "$TMP/o" "$TMP/e" "$URL/missing.bin"
is "$rc" 1 "404: exit 1"
check "404: message says HTTP 404 and names the URL ($(cat "$TMP/e"))" \
	grep -q "127.0.0.1:$PORT/missing.bin: HTTP 404" "$TMP/e"
is "$(wc -l <"$TMP/e")" 1 "404: one line"

fetch "$TMP/o" "$TMP/e" "$URL/err503" --retries 2 --delay-ms 100
is "$rc" 1 "503: exit 1 after the retries"
check "503: message says it gave up and names HTTP 503 ($(cat "$TMP/e"))" \
	sh -c "grep -q 'gave up after 2 reconnects' '$TMP/e' && grep -q 'HTTP 503' '$TMP/e'"
is "$(grep -c '"GET /err503' "$NG/access.log")" 3 "503: tried three times (1 + 2 retries)"

fetch "$TMP/o" "$TMP/e" "http://no-such-host.invalid/b.aimb"
is "$rc" 1 "DNS failure: exit 1"
check "DNS failure: says it cannot resolve the host ($(cat "$TMP/e"))" \
	grep -q "cannot resolve host" "$TMP/e"
is "$(wc -l <"$TMP/e")" 1 "DNS failure: one line"

if [ $have_tls = 1 ]; then
	fetch "$TMP/o" "$TMP/e" "https://127.0.0.1:$TLSPORT/small.bin"
	is "$rc" 1 "HTTPS with a self-signed certificate: refused by default"
	check "HTTPS untrusted: says so ($(head -c 200 "$TMP/e"))" grep -q "certificate not trusted" "$TMP/e"
	is "$(wc -l <"$TMP/e")" 1 "HTTPS untrusted: one line"
	fetch "$TMP/o" "$TMP/e" "https://127.0.0.1:$TLSPORT/small.bin" --cafile "$NG/cert.pem"
	is "$(field sha256 "$TMP/o")" "$want_small" "HTTPS with the CA file: SHA-256 matches"
	fetch "$TMP/o" "$TMP/e" "https://127.0.0.1:$TLSPORT/small.bin" --insecure
	is "$(field sha256 "$TMP/o")" "$want_small" "HTTPS with insecure opt-in: works"

	# Redirects: https stays https (never downgraded to cleartext); http may go to https.
	fetch "$TMP/o" "$TMP/e" "https://127.0.0.1:$TLSPORT/to-http" --cafile "$NG/cert.pem"
	is "$rc" 1 "https redirected to http://: refused (exit 1)"
	check "https to http: says so ($(head -c 300 "$TMP/e"))" grep -q \
		"to-http: redirected to http://127.0.0.1:$PORT/clear/small.bin: refused, an https source is only followed to https" "$TMP/e"
	is "$(wc -l <"$TMP/e")" 1 "https to http: one line"
	check "https to http: nothing printed as a result" test ! -s "$TMP/o"
	check "https to http: the cleartext URL was never requested" \
		sh -c "! grep -q 'GET /clear/' '$NG/access.log'"
	fetch "$TMP/o" "$TMP/e" "https://127.0.0.1:$TLSPORT/to-https" --cafile "$NG/cert.pem"
	is "$(field sha256 "$TMP/o")" "$want_small" "https redirected to https: followed"
	fetch "$TMP/o" "$TMP/e" "$URL/to-tls" --cafile "$NG/cert.pem"
	is "$(field sha256 "$TMP/o")" "$want_small" "http redirected to https: followed"
else
	skip "openssl could not make a test certificate"
fi

# libcurl's standard proxy variables apply: a host that does not resolve is reached
# through the proxy (nginx answers absolute-URI requests from its default server).
as_user env http_proxy="$URL" "$HELPER" --fetch "http://update.example.invalid/small.bin" \
	>"$TMP/o" 2>"$TMP/e"
is "$(field sha256 "$TMP/o")" "$want_small" "http_proxy is honoured (an unresolvable host through it)"
check "the proxy saw the absolute URI" grep -q '"GET http://update.example.invalid/small.bin' "$NG/access.log"
as_user env http_proxy="$URL" no_proxy="update.example.invalid" "$HELPER" \
	--fetch "http://update.example.invalid/small.bin" >"$TMP/o" 2>"$TMP/e"
check "no_proxy is honoured (the host is then resolved itself: fails)" grep -q "cannot resolve host" "$TMP/e"

if [ $have_tls = 1 ]; then
	fetch "$TMP/o" "$TMP/e" "https://127.0.0.1:$TLSPORT/small.bin" --cafile "$TMP/no-such-ca.pem"
	is "$rc" 1 "a missing CA file: exit 1"
	check "a missing CA file: says so ($(head -c 200 "$TMP/e"))" grep -q "CA bundle" "$TMP/e"
fi

stop_nginx
fetch "$TMP/o" "$TMP/e" "$URL/data.bin"
is "$rc" 1 "connection refused: exit 1"
check "connection refused: says so ($(cat "$TMP/e"))" grep -q "Connection refused" "$TMP/e"
is "$(wc -l <"$TMP/e")" 1 "connection refused: one line"

done_testing
