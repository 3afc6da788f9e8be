#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-timeout: 900
# The libFuzzer harnesses (tests/fuzz/) in the suite: every input of the committed corpus
# once (a crash found earlier stays fixed), then each harness fuzzed briefly
# (AIM_FUZZ_SECS, default 5 s) from that corpus. `make fuzz` fuzzes longer.
. "$(dirname "$0")/lib.sh"
command -v "${CC_FUZZ:-clang-14}" >/dev/null 2>&1 ||
	skip_all "clang-14 missing (tools/deps.sh installs it)"
FB=${AIM_FUZZ_B:-build-fuzz}
cd "$AIM_TOP" || exit 1
B=$FB JOBS=2 tests/fuzz/run.sh --regress >"$TMP/regress" 2>"$TMP/regress.err"
rc=$?
grep -E '^(not )?ok ' "$TMP/regress" | sed 's/^\(not \)\{0,1\}ok [0-9]* - /regress: /' >"$TMP/lines"
n=$(grep -Ec '^(not )?ok ' "$TMP/regress")
while IFS= read -r l; do
	case "$l" in *"(log "*) ok 1 "$l" ;; *) ok 0 "$l" ;; esac
done <"$TMP/lines"
[ "$rc" = 0 ] && [ "$n" -gt 0 ]
ok $? "tests/fuzz/run.sh --regress: $n harnesses, exit $rc"
[ "$rc" = 0 ] || tail -n 20 "$TMP/regress.err" | sed 's/^/#   /'
secs=${AIM_FUZZ_SECS:-5}
B=$FB tests/fuzz/run.sh --time "$secs" >"$TMP/time" 2>"$TMP/time.err"
rc=$?
ok $rc "every harness fuzzed $secs s from the corpus without a crash"
sed 's/^/# /' "$TMP/time"
[ "$rc" = 0 ] || tail -n 30 "$TMP/time.err" | sed 's/^/#   /'
done_testing
