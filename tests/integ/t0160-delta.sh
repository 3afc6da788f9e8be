#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-timeout: 1500
# Delta installs (docs/delta.md): the bootable sample converted, and for each version pair
# of tests/sample/variants.sh (s1 a package added, s2 shared libraries updated, s3 another
# kernel) a bundle of the second version installed into the converted image over a real
# nginx on 127.0.0.1 (its access log counts the bytes it served). Checked for each pair:
# the slot is byte for byte what a full install writes, the download is what `bundle info
# --delta-from` predicted and well under the bundle's size. Then: an install killed in
# the middle and run again fetches nothing twice; a server that ignores Range gets a full
# download; a tampered block index and a tampered piece are refused without the slot
# going on trial; a running slot without an index, or with a corrupt block, still installs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/nginx.sh"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
ng_setup
PAIRS=${AIM_DELTA_PAIRS:-s1 s2 s3}
mk() { # mk OUT ARGS...: a bootable sample (built as root, else only from the cache)
	local out=$1
	shift
	if [ "$(id -u)" != 0 ] && ! "$SAMPLE/mkbootable.sh" --cached "$@"; then
		return 2
	fi
	"$SAMPLE/mkbootable.sh" --out "$out" "$@" >>"$TMP/mk.log" 2>&1
}
cd "$TMP" || exit 1
t0=$(date +%s)
for v in base $PAIRS; do
	if [ "$v" = base ]; then mk in.img; else mk "$v.img" --variant "$v"; fi
	rc=$?
	if [ "$rc" = 2 ]; then
		skip "the bootable samples are not cached and building them needs root"
		done_testing
		exit
	fi
	if [ "$rc" != 0 ]; then
		ok 1 "sample $v built"
		tail -n 5 "$TMP/mk.log" | sed 's/^/#   /'
		done_testing
		exit
	fi
	chmod 0644 ./*.img
done
echo "# samples ready in $(($(date +%s) - t0)) s"

NG_LOCATIONS="location /slow/ { alias $WWW/; limit_rate 4m; }
	location /norange/ { alias $WWW/; max_ranges 0; }"
ng_start
check "nginx started on 127.0.0.1:$PORT" test -n "$NGPID"
URL="http://127.0.0.1:$PORT"
LOG="$NG/access.log"

# signed with the release key, as a fleet's images are: the initramfs then carries the
# key as the bundles' do, and an unchanged kernel's initrd is the same file
check "keygen" as_user "$AIM" -q keygen -W -p k.pub -s k.key
check "convert the sample (--sign, slot B empty)" as_user "$AIM" -q convert --sign k.key \
	--slot-b empty in.img base.img
W="$TMP/w.img"
fresh() { rm -f "$W"; cp --sparse=always base.img "$W"; chmod 0666 "$W"; }
js() { "$AIM" status --image "$1" --json | jq -r "$2"; }
off_b=$(js base.img '.slots[1].partition.offset')
boot_off=$(sfdisk -J base.img | jq '.partitiontable.partitions[0].start * 512')
declare -A RSZ REF
# slot_b_sum FILE PAIR: SHA-256 of slot B over the length of PAIR's rootfs payload (the
# bytes an install of it writes)
slot_b_sum() { sha_range "$1" "$off_b" "${RSZ[$2]}"; }
slot_b_files() { # the files of /slot-b/ but install.env (its time differs), with their hashes
	rm -rf "$TMP/files" && mkdir "$TMP/files" &&
		mcopy -s -n -i "$1@@$boot_off" ::/slot-b "$TMP/files/" &&
		(cd "$TMP/files" && find . -type f ! -name install.env -exec sha256sum {} + | sort)
}
on_trial_b() { [ "$(js "$W" '[.state.next_boot, .slots[1].on_trial] | join(" ")')" = "b true" ]; }
boots_a() {
	[ "$(js "$W" '[.state.valid, .state.next_boot, .slots[0].good, .slots[1].on_trial] | join(" ")')" = \
		"true a true false" ]
}
inst() { # inst SOURCE ARGS...: install into $W as an ordinary user; rc, $TMP/err
	local src=$1
	shift
	as_user "$AIM" install --image "$W" -p k.pub --progress=json "$@" "$src" \
		>"$TMP/out" 2>"$TMP/err"
	rc=$?
}
done_val() { grep '"phase":"done"' "$TMP/err" | jq -r "$1"; }
served() { awk -F'"' '{ split($3, a, " "); s += a[2] } END { print s + 0 }' "$LOG"; }

i=0
for v in $PAIRS; do
	i=$((i + 1))
	check "$v: bundle create" as_user "$AIM" -q bundle create -k k.key -o "$v.aimb" \
		--from-image "$v.img" --version "99.$i"
	cp "$v.aimb" "$WWW/$v.aimb" && chmod 0644 "$WWW/$v.aimb"
	bsize=$(stat -c %s "$v.aimb")
	RSZ[$v]=$("$AIM" bundle info --json "$v.aimb" | jq -r '.payloads[] | select(.kind=="rootfs") | .size')
	rsha=$("$AIM" bundle info --json "$v.aimb" | jq -r '.payloads[] | select(.kind=="rootfs") | .sha256')

	# the reference: the whole bundle, read as a stream
	fresh
	inst - --full <"$v.aimb"
	is "$rc" 0 "$v: full install from stdin"
	REF[$v]=$(slot_b_sum "$W" "$v")
	is "${REF[$v]}" "$rsha" "$v: the full install wrote the rootfs payload"
	ref_files=$(slot_b_files "$W")

	pred=$("$AIM" bundle info --json --delta-from base.img "$WWW/$v.aimb" | jq -r .fetch_bytes)
	fresh
	: >"$LOG"
	inst "$URL/$v.aimb"
	is "$rc" 0 "$v: delta install over HTTP"
	is "$(done_val .mode)" delta "$v: read as a delta"
	fetched=$(done_val .fetched)
	srv=$(served)
	check "$v: slot B is byte for byte what a full install writes" \
		test "$(slot_b_sum "$W" "$v")" = "${REF[$v]}"
	check "$v: /slot-b/ holds the same files as after a full install" \
		test "$(slot_b_files "$W")" = "$ref_files"
	check "$v: slot B on trial" on_trial_b
	is "$fetched" "$pred" "$v: fetched what bundle info --delta-from predicted"
	check "$v: the verity tree was made here, not fetched ($(done_val .computed) bytes)" \
		test "$(done_val .computed)" -gt 0
	# nginx's count includes the multipart part headers (~100 bytes a range)
	check "$v: nginx served the bytes fetched ($srv served, $fetched fetched)" \
		test "$srv" -ge "$fetched" -a "$srv" -le $((fetched + fetched / 20 + 65536))
	pct=$((fetched * 1000 / bsize))
	echo "# $v: fetched $fetched of $bsize bytes ($((pct / 10)).$((pct % 10)) %), local $(done_val .local), $(done_val .requests) requests"
	case $v in
	s1) limit=30 ;;  # per mille of the bundle (docs/delta.md: 1.6 %)
	s2) limit=100 ;; # (4.1 %)
	*) limit=800 ;;  # a new kernel: its modules and initrd (59 %)
	esac
	check "$v: fetched at most $((limit / 10)) % of the bundle" test "$pct" -le "$limit"
done
last=$(echo "$PAIRS" | awk '{ print $NF }')
mid=$(echo "$PAIRS" | awk '{ print ($2 != "" ? $2 : $1) }')

# ---- a cut in the middle, then a rerun: nothing is fetched twice ----
fresh
inst "$URL/$mid.aimb"
single=$(done_val .fetched)
fresh
# $AS_USER, not as_user: $! must be the install's own PID (a function runs in a subshell)
$AS_USER "$AIM" install --image "$W" -p k.pub --progress=json "$URL/slow/$mid.aimb" \
	>"$TMP/out" 2>"$TMP/err1" &
hp=$!
for _ in $(seq 600); do
	f=$(grep -o '"fetched":[0-9]*' "$TMP/err1" | tail -n 1 | cut -d: -f2)
	[ -n "$f" ] && [ "$f" -ge $((single / 2)) ] && break
	sleep 0.05
done
kill -KILL "$hp" 2>/dev/null
wait "$hp" 2>/dev/null
first=$(grep -o '"fetched":[0-9]*' "$TMP/err1" | tail -n 1 | cut -d: -f2)
check "cut: the install was killed in the middle (fetched ${first:-0} of $single)" \
	test "${first:-0}" -gt 0 -a "${first:-0}" -lt "$single"
check "cut: slot B is not on trial" boots_a
inst "$URL/$mid.aimb"
is "$rc" 0 "rerun after the cut: installed"
[ "$rc" = 0 ] || diag "$(tail -n 2 "$TMP/err")"
again=$(done_val .fetched)
held=$(done_val .held)
check "rerun: the pieces written before the cut were kept (held $held bytes)" test "$held" -gt 0
# what was in flight when the install was killed (at most one 8 MiB window) may come twice
check "rerun: nothing fetched twice ($first + $again <= $single + 8 MiB)" \
	test $((first + again)) -le $((single + 8 * 1024 * 1024))
check "rerun: slot B is byte for byte the full install's" \
	test "$(slot_b_sum "$W" "$mid")" = "${REF[$mid]}"

# ---- a server that ignores Range: the whole bundle ----
fresh
inst "$URL/norange/$mid.aimb"
is "$rc" 0 "a server that ignores Range: installed"
check "it says the bundle was read whole" grep -q "reading the whole bundle" "$TMP/err"
is "$(done_val .mode)" stream "no Range: read as one stream"
check "no Range: slot B is the full install's" \
	test "$(slot_b_sum "$W" "$mid")" = "${REF[$mid]}"

# ---- tampering ----
"$AIM" bundle info --json "$mid.aimb" >info.json
# the payload area starts where the payloads (4 KiB aligned) leave off before the end
area=$(jq '(([.payloads[] | .offset + .size] | max) + 4095) as $e | .size - ($e - ($e % 4096))' info.json)
flip() { # flip FILE OFFSET: one byte changed
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
payload_off() { jq -r ".payloads[] | select(.name==\"$1\") | .offset" info.json; }
cp "$mid.aimb" "$WWW/bad-index.aimb"
flip "$WWW/bad-index.aimb" $((area + $(payload_off rootfs.idx) + 200))
fresh
inst "$URL/bad-index.aimb"
is "$rc" 1 "a tampered block index: refused"
check "tampered index: says so ($(tail -n 1 "$TMP/err"))" grep -q "block index is refused" "$TMP/err"
check "tampered index: slot B is not on trial" boots_a
# a piece that is always fetched: the first one, the squashfs superblock (bytes_used and
# the table offsets differ between versions)
cp "$mid.aimb" "$WWW/bad-piece.aimb"
flip "$WWW/bad-piece.aimb" $((area + $(payload_off rootfs.squashfs) + 8))
fresh
inst "$URL/bad-piece.aimb"
is "$rc" 1 "a tampered piece: refused"
check "tampered piece: says which ($(tail -n 1 "$TMP/err"))" \
	grep -q "does not match the bundle's block index" "$TMP/err"
check "tampered piece: slot B is not on trial" boots_a

# ---- the running slot: no index; a corrupt block ----
fresh
mdel -i "$W@@$boot_off" ::/slot-a/rootfs.idx
inst "$URL/$last.aimb"
is "$rc" 0 "slot A without a block index: installed"
is "$(done_val .mode)" full "no index on slot A: the whole bundle"
check "no index: says why" grep -q '"why":"slot a has no block index' "$TMP/err"
check "no index: slot B is the full install's" \
	test "$(slot_b_sum "$W" "$last")" = "${REF[$last]}"
fresh
off_a=$(js "$W" '.slots[0].partition.offset')
flip "$W" $((off_a + 1024 * 1024))
inst "$URL/$last.aimb"
is "$rc" 0 "slot A with a corrupt block: installed"
check "corrupt block: fetched instead ($(done_val .refetched) refetched)" \
	test "$(done_val .refetched)" -ge 1
check "corrupt block: slot B is the full install's" \
	test "$(slot_b_sum "$W" "$last")" = "${REF[$last]}"

ng_stop
done_testing
