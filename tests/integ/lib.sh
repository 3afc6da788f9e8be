# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared helpers for the integration tests: TAP output, the binary under test,
# a scratch directory, and running as an ordinary user.
set -u
AIM_TOP=${AIM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${B:-build}
AIM="$AIM_TOP/$B/armimmutable"
SAMPLE="$AIM_TOP/tests/sample"
# shellcheck source=tests/tap.sh
. "$AIM_TOP/tests/tap.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aimtest.XXXXXX")
chmod 0777 "$TMP"
MAINPID=$$
# Only the test's own shell cleans up, not subshells (background jobs) on their exit.
trap '[ "${BASHPID:-$$}" = "$MAINPID" ] && rm -rf "$TMP"' EXIT

# Runs a command as an ordinary user (nobody) when we are root, as the tools must work
# without privileges; as ourselves otherwise.
# The same as a command prefix, for background jobs whose PID must be the tool's own.
if [ "$(id -u)" = 0 ]; then
	AS_USER="setpriv --reuid=65534 --regid=65534 --clear-groups --"
else
	AS_USER=""
fi
as_user() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	else
		"$@"
	fi
}

# Hash of a file region: sha_range FILE OFFSET LENGTH
sha_range() {
	tail -c +"$(($2 + 1))" "$1" | head -c "$3" | sha256sum | cut -d' ' -f1
}

# need_sample FILE [mkshape.sh options...]: shape A (tests/sample/mkshape.sh) into FILE,
# readable by everyone; a failed build is one "not ok" with the log's last lines, and the
# test ends there. Environment settings of mkshape.sh (AIM_SAMPLE_*) pass through.
need_sample() {
	local f=$1
	shift
	if ! "$SAMPLE/mkshape.sh" A "$f" "$@" >"$TMP/mk.log" 2>&1; then
		ok 1 "sample $(basename "$f") built"
		sed 's/^/#   /' "$TMP/mk.log" | tail -n 5
		done_testing
		exit
	fi
	chmod 0644 "$f"
}
