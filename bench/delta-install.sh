#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Delta installs end to end (docs/delta.md section 10; not a test: nothing passes or fails).
# The bootable sample converted with the release key (v1), and for each version pair of
# tests/sample/variants.sh (s1, s2, s3) a bundle of v2, served by nginx on 127.0.0.1. For
# each pair, in the same run:
#   fetched      bytes the delta install fetched (its --progress=json "done" line; nginx's
#                access log agrees within the multipart headers)
#   % bundle     fetched over the bundle's size
#   x xdelta3    fetched over `xdelta3 -e -9` of v1's bundle to v2's (a lower bound that
#                needs the old bundle on the server and its whole bytes on the device)
#   time         wall time of the delta install and of a full install (--full: one stream)
#                of the same bundle from the same server into a fresh copy of v1 (median
#                of RUNS), and their ratio; then once each over a link of RATE bytes a
#                second (nginx limit_rate; default 20m, about 160 Mbit/s)
# Usage: bench/delta-install.sh   Env: RUNS (3), PAIRS ("s1 s2 s3"), RATE (20m). Needs nginx, and xdelta3
# for its column (tools/deps.sh --bench), root the first time (the pairs are built).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
RUNS=${RUNS:-3}
PAIRS=${PAIRS:-"s1 s2 s3"}
TMP=$(mktemp -d /var/tmp/aimdinst.XXXXXX)
chmod 0755 "$TMP" # nginx workers run as nobody
MAINPID=$$
export SOURCE_DATE_EPOCH=1718236800 MTOOLS_SKIP_CHECK=1
# shellcheck source=tests/integ/nginx.sh
. "$top/tests/integ/nginx.sh"
if ! ng_init; then
	echo "bench/delta-install.sh: no nginx ($NGINX): skipped"
	rm -rf "$TMP"
	exit 0
fi
# a link of RATE bytes a second (nginx limit_rate), for the times on a real network
RATE=${RATE:-20m}
NG_LOCATIONS="location /link/ { alias $WWW/; limit_rate $RATE; }"
ng_start
mk="$top/tests/sample/mkbootable.sh"
"$mk" --out "$TMP/v1.img" >/dev/null 2>>"$TMP/mk.log" || { tail -n 5 "$TMP/mk.log"; exit 1; }
"$AIM" -q keygen -W -p "$TMP/k.pub" -s "$TMP/k.key"
"$AIM" -q convert --sign "$TMP/k.key" --slot-b empty "$TMP/v1.img" "$TMP/base.img"
have_xdelta=1
command -v xdelta3 >/dev/null || { have_xdelta=0; echo "note: no xdelta3: its column is 0"; }
if [ $have_xdelta = 1 ]; then
	"$AIM" -q bundle create -k "$TMP/k.key" -o "$TMP/v1.aimb" --from-image "$TMP/v1.img"
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
W="$TMP/w.img"
run_install() { # run_install URL ARGS...: seconds on stdout, the JSON lines in $TMP/err
	local s0 e0
	rm -f "$W"
	cp --sparse=always "$TMP/base.img" "$W"
	s0=$(date +%s.%N)
	"$AIM" install --image "$W" -p "$TMP/k.pub" --progress=json "$@" 2>"$TMP/err" >/dev/null ||
		{ tail -n 2 "$TMP/err" >&2; return 1; }
	e0=$(date +%s.%N)
	echo "$e0 - $s0" | bc
}
echo "bench/delta-install.sh: v1 $(sed -n 's/^IMAGE_KEY=//p' "$TMP/v1.img.info"), nginx on 127.0.0.1, median of $RUNS"
printf '  %-3s %12s %12s %8s %10s %9s %9s %6s %14s\n' pair bundle fetched "% bundle" "x xdelta3" \
	"delta s" "full s" ratio "at $RATE/s: d/f"
for p in $PAIRS; do
	"$mk" --variant "$p" --version 25.8.1-sample --out "$TMP/$p.img" >/dev/null 2>>"$TMP/mk.log" ||
		{ tail -n 5 "$TMP/mk.log"; exit 1; }
	"$AIM" -q bundle create -k "$TMP/k.key" -o "$WWW/$p.aimb" --version 99.1 \
		--from-image "$TMP/$p.img"
	chmod 0644 "$WWW/$p.aimb"
	bsize=$(stat -c %s "$WWW/$p.aimb")
	xd=0
	[ $have_xdelta = 0 ] ||
		xd=$(xdelta3 -e -9 -f -s "$TMP/v1.aimb" "$WWW/$p.aimb" /dev/stdout | wc -c)
	: >"$TMP/td" && : >"$TMP/tf"
	for _ in $(seq "$RUNS"); do
		run_install "http://127.0.0.1:$PORT/$p.aimb" >>"$TMP/td"
		fetched=$(grep '"phase":"done"' "$TMP/err" | jq -r .fetched)
		run_install "http://127.0.0.1:$PORT/$p.aimb" --full >>"$TMP/tf"
	done
	td=$(median <"$TMP/td")
	tf=$(median <"$TMP/tf")
	# once each over the limited link
	ld=$(run_install "http://127.0.0.1:$PORT/link/$p.aimb")
	lf=$(run_install "http://127.0.0.1:$PORT/link/$p.aimb" --full)
	printf '  %-3s %12d %12d %7.2f%% %10.2f %9.2f %9.2f %6.2f %6.1f/%.1f s\n' "$p" "$bsize" \
		"$fetched" "$(echo "100 * $fetched / $bsize" | bc -l)" \
		"$(echo "$fetched / ($xd + ($xd == 0))" | bc -l)" "$td" "$tf" \
		"$(echo "$td / $tf" | bc -l)" "$ld" "$lf"
	rm -f "$TMP/$p.img"
done
ng_stop
rm -rf "$TMP"
