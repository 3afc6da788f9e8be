# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh
# The TAP helpers of every shell test (tests/integ/lib.sh and tests/qemu/lib.sh source
# this; the C unit tests have tests/tap.h). POSIX sh.
#
#   ok STATUS DESCRIPTION       a test point; STATUS 0 passes
#   is GOT WANT DESCRIPTION     passes when the two strings are equal (else both shown)
#   check DESCRIPTION CMD...    passes when CMD exits 0 (else the first lines it printed)
#   skip REASON                 a skipped test point
#   diag TEXT...                each argument's lines as "# " comments
#   skip_all REASON             the whole test skipped (1..0 # SKIP); exits 0
#   done_testing                the plan line; returns 1 when a point failed
# T_N counts the points, T_FAIL the failed ones.

T_N=0
T_FAIL=0

ok() {
	T_N=$((T_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAIL=$((T_FAIL + 1))
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got '$1', want '$2'"
	fi
}

check() {
	_tap_d=$1
	shift
	if _tap_out=$("$@" 2>&1); then
		ok 0 "$_tap_d"
	else
		ok 1 "$_tap_d"
		printf '%s\n' "$_tap_out" | head -n 20 | sed 's/^/#   /'
	fi
}

skip() {
	T_N=$((T_N + 1))
	echo "ok $T_N # SKIP $1"
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAIL" = 0 ]
}
