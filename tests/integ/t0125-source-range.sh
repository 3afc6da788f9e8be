#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim_source_fetch (random access, lib/source-range.c) against a real nginx on 127.0.0.1
# (tests/integ/nginx.sh), through the helper test-source-range, which compares every range
# with the same bytes of the file (memcmp): one range; 200 random ranges (multipart: fewer
# requests than ranges in nginx's access log, one connection); ranges at the very end; a
# location with max_ranges 1 (multipart declined: one request per range, still right) and
# one with max_ranges 0 (Range ignored: no random access, with the reason; fetch refused);
# the file replaced on the server between two fetches (-ESTALE, names the ETag); nginx
# stopped and started again in the middle of a rate-limited range, and a frozen worker cut
# by the low-speed timeout (resumed from the first missing byte: every byte fetched once);
# HTTPS with the CA file, and refused without; a plain file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
HELPER="$AIM_TOP/$B/tests/test-source-range"
ng_setup "$HELPER"
NG_LOCATIONS="
		location /slow/ { alias $WWW/; limit_rate 4m; }
		location /one/ { alias $WWW/; max_ranges 1; }
		location /norange/ { alias $WWW/; max_ranges 0; }"
SIZE=$((32 * 1024 * 1024))
head -c $SIZE /dev/urandom >"$WWW/data.bin"
cp "$WWW/data.bin" "$WWW/many.bin"
cp "$WWW/data.bin" "$TMP/ref.bin"
chmod 0644 "$WWW"/*.bin "$TMP/ref.bin"
ng_start
check "nginx starts on 127.0.0.1 with its own config" test -n "$NGPID"
URL="http://127.0.0.1:$PORT"

run() { # run ARGS...: the helper on ref.bin, exit status in $rc
	as_user "$HELPER" --ref "$TMP/ref.bin" "$@" >"$TMP/o" 2>"$TMP/e"
	rc=$?
}
field() { sed -n "s/^$1 //p" "$TMP/o"; }
lt() { [ "$1" -lt "$2" ]; }

# 1. One range.
run --fetch "$URL/data.bin" --ranges 1000:5000
is "$rc" 0 "one range: success ($(head -c 200 "$TMP/e"))"
is "$(field random)" 1 "nginx answers Range: random access"
is "$(field size)" $SIZE "size from open's Content-Range"
is "$(field same)" 1 "one range: bytes equal"
is "$(field requests)" 2 "one range: open's request and one more"

# 2. Many ranges: multipart, 32 per request, one kept-alive connection.
run --fetch "$URL/many.bin" --random 200 --seed 3
is "$rc" 0 "200 ranges: success ($(head -c 200 "$TMP/e"))"
is "$(field same)" 1 "200 ranges: bytes equal"
is "$(field fetched)" "$(field bytes)" "200 ranges: every byte fetched once ($(field bytes))"
req=$(grep -c '"GET /many.bin' "$NG/access.log")
check "200 ranges: nginx saw fewer requests than ranges ($req)" lt "$req" 100
is "$(field requests)" "$req" "200 ranges: the helper counted the requests nginx saw"
is "$(field requests)" 8 "200 ranges: open's request and 7 of up to 32 ranges"
is "$(field connections)" 1 "200 ranges: all on one connection (keep-alive)"
run --fetch "$URL/many.bin" --random 300 --seed 4 --max-per-req 100
is "$(field same)" 1 "300 ranges, 100 per request: bytes equal"
is "$(field requests)" 4 "300 ranges, 100 per request: 1 + 3 requests"

# 3. The very end.
run --fetch "$URL/data.bin" --ranges -1:1
is "$(field same)" 1 "the last byte"
run --fetch "$URL/data.bin" --ranges 0:10,-100000:100000
is "$(field same)" 1 "the first 10 bytes and the last 100000"
run --fetch "$URL/data.bin" --ranges 0:$SIZE
is "$(field same)" 1 "the whole file as one range"

# 4. max_ranges 1: multipart declined (nginx answers 200), one request per range.
run --fetch "$URL/one/data.bin" --random 20 --seed 5
is "$rc" 0 "max_ranges 1: success ($(head -c 200 "$TMP/e"))"
is "$(field same)" 1 "max_ranges 1: bytes equal"
is "$(field requests)" 22 "max_ranges 1: open, the declined request, 20 single ranges"
is "$(grep -c '"GET /one/data.bin HTTP/1.1" 206' "$NG/access.log")" 21 \
	"max_ranges 1: nginx answered 21 requests with 206"

# 5. max_ranges 0: Range ignored.
run --fetch "$URL/norange/data.bin" --ranges 0:10
is "$rc" 1 "max_ranges 0: fetch refused (exit 1)"
is "$(field random)" 0 "max_ranges 0: no random access"
check "max_ranges 0: the reason says Range is ignored ($(field why))" \
	sh -c "grep -q '^why .*ignores Range' '$TMP/o'"
check "max_ranges 0: -EOPNOTSUPP ($(head -c 200 "$TMP/e"))" grep -q "^error -95:" "$TMP/e"
sent=$(awk '/"GET \/norange\/data.bin/ { print $10 }' "$NG/access.log")
check "max_ranges 0: open dropped the 200 after its headers (nginx sent ${sent:-?} bytes)" \
	lt "${sent:-$SIZE}" $((4 * 1024 * 1024))

# 6. The file replaced on the server between two fetches: the ETag changes.
cp "$WWW/data.bin" "$WWW/change.bin"
touch -d '2020-01-01' "$WWW/change.bin"
rm -f "$TMP/go" "$TMP/go.ready"
as_user "$HELPER" --ref "$TMP/ref.bin" --fetch "$URL/change.bin" --random 10 \
	--again "$TMP/go" >"$TMP/o" 2>"$TMP/e" &
hp=$!
for _ in $(seq 200); do [ -e "$TMP/go.ready" ] && break; sleep 0.05; done
head -c $SIZE /dev/urandom >"$WWW/change.new" && chmod 0644 "$WWW/change.new" &&
	mv "$WWW/change.new" "$WWW/change.bin"
touch "$TMP/go"
wait "$hp"
rc=$?
is "$rc" 1 "file replaced between fetches: refused (exit 1)"
check "file replaced: -ESTALE naming the ETag ($(head -c 300 "$TMP/e"))" \
	sh -c "grep -q '^error -116:.*content changed on the server.*ETag' '$TMP/e'"
is "$(wc -l <"$TMP/e")" 1 "file replaced: one error line"

# 7. nginx stopped and started again inside a range (limit_rate 4m: 4 ranges of 4 MiB).
RANGES=1000:4194304,8000000:4194304,16000000:4194304,-4194304:4194304
slow_fetch() { # slow_fetch ARGS...: the helper on $RANGES of /slow/ in the background, $hp
	rm -f "$TMP/mark"
	as_user "$HELPER" --ref "$TMP/ref.bin" --fetch "$URL/slow/data.bin" --ranges $RANGES \
		--delay-ms 200 --retries 20 --mark "$TMP/mark" "$@" >"$TMP/o" 2>"$TMP/e" &
	hp=$!
}
resumed() { # resumed WHAT: the helper's output after a cut: resumed, every byte right
	local r
	is "$(field same)" 1 "$1: bytes equal"
	r=$(field reconnects)
	check "$1: reconnected (${r:-none})" lt 0 "${r:-0}"
	is "$(field fetched)" "$(field bytes)" "$1: resumed, every byte fetched once"
}
slow_fetch
cut_at=none
if wait_mark "$TMP/mark" $((6 * 1024 * 1024)); then
	cut_at=$(cat "$TMP/mark")
	ng_stop
	sleep 0.5
	ng_start
fi
wait "$hp"
rc=$?
is "$rc" 0 "nginx restarted after $cut_at bytes (in range 2): success ($(head -c 200 "$TMP/e"))"
resumed restarted

# 8. A frozen worker: the low-speed timeout cuts the stalled request, it resumes.
slow_fetch --low-speed 1
worker=""
wait_mark "$TMP/mark" $((6 * 1024 * 1024)) && ng_freeze 8
wait "$hp"
rc=$?
is "$rc" 0 "worker $worker frozen 8 s, low-speed 1 s: success ($(head -c 200 "$TMP/e"))"
resumed stalled

# 9. HTTPS: the CA file is needed.
if [ "$have_tls" = 1 ]; then
	run --fetch "https://127.0.0.1:$TLSPORT/many.bin" --random 100 --seed 6
	is "$rc" 1 "HTTPS with a self-signed certificate: refused"
	check "HTTPS untrusted: -EKEYREJECTED ($(head -c 200 "$TMP/e"))" \
		sh -c "grep -q '^error -129:.*certificate not trusted' '$TMP/e'"
	run --fetch "https://127.0.0.1:$TLSPORT/many.bin" --random 100 --seed 6 \
		--cafile "$NG/cert.pem"
	is "$rc" 0 "HTTPS with the CA file: success ($(head -c 200 "$TMP/e"))"
	is "$(field same)" 1 "HTTPS: 100 ranges, bytes equal"
	is "$(field connections)" 1 "HTTPS: one connection"
else
	skip "openssl could not make a test certificate"
fi

# 10. A plain file.
run --fetch "$TMP/ref.bin" --random 500 --seed 7
is "$rc" 0 "a file: success"
is "$(field same)" 1 "a file: 500 ranges, bytes equal"

ng_stop
done_testing
