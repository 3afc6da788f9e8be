#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds the libFuzzer harnesses (tests/fuzz/fuzz-*.c, clang with ASan+UBSan) into $B
# (default build-fuzz) and runs them, one at a time (tests/fuzz/README.md).
#   tests/fuzz/run.sh --regress [NAME...]      every input of the committed corpus once; TAP
#   tests/fuzz/run.sh [--time SECS] [NAME...]  fuzz each harness SECS seconds (default 120);
#                                              new inputs go to $B/new/NAME, not the corpus
#   tests/fuzz/run.sh --merge [NAME...]        add what $B/new/NAME adds in coverage to the
#                                              committed corpus (libFuzzer -merge=1)
# A crash writes its reproducer to $B/crashes/NAME-crash-<sha1> and fails (exit 1).
# Environment: B, CC (default clang-14), JOBS (build jobs, default the CPU count).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
B=${B:-build-fuzz}
CC=${CC:-clang-14}
mode=time secs=120
while [ $# -gt 0 ]; do
	case $1 in
	--regress) mode=regress ;;
	--merge) mode=merge ;;
	--time) mode=time; secs=${2:?--time needs seconds}; shift ;;
	-h|--help) sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
	for f in tests/fuzz/fuzz-*.c; do
		n=${f#tests/fuzz/fuzz-}
		names+=("${n%.c}")
	done
fi

if ! make -s -f tests/fuzz/build.mk -j"${JOBS:-$(nproc)}" B="$B" CC="$CC" \
	"${names[@]/#/$B/fuzz-}" >&2; then
	echo "run.sh: build failed" >&2
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$B/crashes" "$B/log"
corpus() { echo "tests/fuzz/corpus/$1"; }
opts=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
# The zstd reader accepts windows up to 2 GiB (windowLogMax 31, lib/input.c): a 20-byte
# frame header makes it allocate that (untouched, so the RSS limit still holds).
extra() { [ "$1" = input ] && echo -malloc_limit_mb=4096; }
fails=0 i=0

case $mode in
regress)
	for n in "${names[@]}"; do
		i=$((i + 1))
		c=$(corpus "$n")
		k=$(find "$c" -type f 2>/dev/null | wc -l)
		if "$B/fuzz-$n" "${opts[@]}" $(extra "$n") -runs=0 -artifact_prefix="$B/crashes/$n-" "$c" \
			>"$B/log/$n.log" 2>&1; then
			echo "ok $i - $n: $k inputs"
		else
			echo "not ok $i - $n: $k inputs (log $B/log/$n.log)"
			grep -m1 -E 'ERROR: |runtime error|Test unit written' "$B/log/$n.log" | sed 's/^/# /'
			fails=$((fails + 1))
		fi
	done
	echo "1..$i"
	;;
time)
	printf '%-12s %10s %8s %7s %5s %s\n' harness execs exec/s edges new crashes
	for n in "${names[@]}"; do
		c=$(corpus "$n")
		new="$B/new/$n"
		rm -rf "$new" && mkdir -p "$new"
		"$B/fuzz-$n" "${opts[@]}" $(extra "$n") -max_total_time="$secs" -artifact_prefix="$B/crashes/$n-" \
			"$new" "$c" >"$B/log/$n.log" 2>&1
		rc=$?
		log="$B/log/$n.log"
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
		edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
		crash=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | head -1)
		printf '%-12s %10s %8s %7s %5s %s\n' "$n" "${execs:-?}" "${eps:-?}" "${edges:-?}" \
			"$(find "$new" -type f | wc -l)" "${crash:-0}"
		if [ $rc -ne 0 ]; then
			grep -m1 -E 'ERROR: |runtime error' "$log" | sed 's/^/  /'
			fails=$((fails + 1))
		fi
	done
	;;
merge)
	for n in "${names[@]}"; do
		c=$(corpus "$n")
		mkdir -p "$c"
		"$B/fuzz-$n" -merge=1 "${opts[@]}" "$c" "$B/new/$n" >"$B/log/$n-merge.log" 2>&1 ||
			fails=$((fails + 1))
		echo "$n: $(find "$c" -type f | wc -l) inputs, $(du -sk "$c" | cut -f1) KiB"
	done
	;;
esac
[ $fails -eq 0 ]
