#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One option parser for every verb: options come before, between and after the operands
# (as the synopses of docs/armimmutable.1 and each --help write them), "--" ends the
# options (a file may start with '-'), POSIXLY_CORRECT changes nothing, and a bad option
# anywhere is a usage error (exit 2, one line naming it). Every verb: convert, inspect,
# keygen, bundle create/info/verify, install, status, mark-good, mark-bad, rollback, reset.
. "$(dirname "$0")/lib.sh"
export MTOOLS_SKIP_CHECK=1
cd "$TMP" || exit 1
aim() { as_user "$AIM" "$@"; }
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# expect RC WORD DESCRIPTION: the last run exited RC and its stderr mentions WORD
expect() {
	is "$rc" "$1" "$3: exit $1"
	if grep -q -- "$2" "$TMP/err"; then ok 0 "$3: message says '$2'"; else
		ok 1 "$3: message says '$2'"
		sed 's/^/#   /' "$TMP/err" | head -n 5
	fi
	is "$(wc -l <"$TMP/err")" 1 "$3: one line"
}

need_sample in.img

# ---- host verbs ----
run aim inspect in.img --json
is "$rc" 0 "inspect IMAGE --json: exit 0"
check "inspect IMAGE --json: JSON" jq -e .partition_table out
run aim convert in.img --dry-run base.img --json
is "$rc" 0 "convert IN --dry-run OUT --json: exit 0"
is "$(jq -r '.partitions | length' out)" 4 "convert IN --dry-run OUT --json: the plan as JSON"
check "convert --dry-run wrote nothing" test ! -e base.img
run aim -q convert in.img base.img --slot-b empty -c lz4
is "$rc" 0 "convert IN OUT --slot-b empty -c lz4: exit 0"
[ -f base.img ] || { done_testing; exit; }
is "$("$AIM" status --image base.img --json | jq -r '.slots[1].empty')" true \
	"convert: --slot-b after the operands applies"
run aim -q convert in.img base.img --slot-b empty
expect 1 "--force" "convert onto an existing output"
run aim -q convert in.img base.img --slot-b empty -f
is "$rc" 0 "convert IN OUT ... -f: -f after the operands applies"
run aim convert in.img o.img --overlay=sometimes
expect 2 "--overlay" "convert: a bad value after the operands"
run aim convert in.img o.img --bogus
expect 2 "unknown option --bogus" "convert: an unknown option after the operands"
run aim convert in.img o.img -c
expect 2 "option -c needs an argument" "convert: a value missing at the end"
run aim convert in.img o.img -c gzip -l 15
expect 2 "level 15" "convert: a level out of the compressor's range"
run aim convert -- in.img
expect 2 "needs INPUT and OUTPUT" "convert -- IN: one operand"

run aim -q keygen -p k.pub -W -s k.key
is "$rc" 0 "keygen with options in any order: exit 0"
run aim keygen -W stray -p x.pub -s x.key
expect 2 "unexpected argument 'stray'" "keygen: an operand between options"
check "keygen: nothing written after the usage error" test ! -e x.pub -a ! -e x.key

run aim -q bundle create --from-image in.img -o v2.aimb --version 99.1 -k k.key
is "$rc" 0 "bundle create: -k last"
run aim bundle create --from-image in.img stray -o v3.aimb -k k.key
expect 2 "unexpected argument" "bundle create: an operand"
run aim bundle info v2.aimb --json -p k.pub
is "$rc" 0 "bundle info BUNDLE --json -p PUB: exit 0"
is "$(jq -r .signature_checked out)" true "bundle info: -p after the operand checks the signature"
run aim bundle verify v2.aimb -p k.pub
is "$rc" 0 "bundle verify BUNDLE -p PUB: exit 0"
run env POSIXLY_CORRECT=1 "$AIM" bundle verify v2.aimb -p k.pub
is "$rc" 0 "bundle verify BUNDLE -p PUB with POSIXLY_CORRECT: exit 0"
cp v2.aimb ./-z.aimb
run aim bundle verify -p k.pub -- -z.aimb
is "$rc" 0 "bundle verify -p PUB -- -z.aimb: a file that starts with '-'"
run aim bundle verify -p k.pub -z.aimb
expect 2 "unknown option -z" "bundle verify -z.aimb without --"
run aim bundle info v2.aimb v2.aimb
expect 2 "needs one BUNDLE" "bundle info with two operands"

# ---- device verbs, on an image ----
W="$TMP/w.img"
cp --sparse=always base.img "$W"
chmod 0666 "$W"
run aim install v2.aimb --image "$W" -p k.pub --progress=none
is "$rc" 0 "install SOURCE --image IMG -p PUB --progress=none: exit 0"
check "install: installed into slot b" grep -q "installed 99.1 into slot b" err
run aim install v2.aimb --image "$W" --bogus
expect 2 "unknown option --bogus" "install: an unknown option after SOURCE"
run aim install v2.aimb --image "$W" -p
expect 2 "option -p needs an argument" "install: a value missing at the end"
run aim install v2.aimb --image "$W" -p k.pub other.aimb
expect 2 "unexpected argument 'other.aimb'" "install: two sources"
run aim install v2.aimb --help
is "$rc" 0 "install SOURCE --help: exit 0"
check "install SOURCE --help: the help" grep -q "Usage: armimmutable install" out

run aim status --json --image "$W"
is "$rc" 0 "status --json --image IMG: exit 0"
is "$(jq -r .state.trial_slot out)" b "status: slot b on trial"
run aim status --image "$W" stray --json
expect 2 "unexpected argument 'stray'" "status: an operand"
run aim mark-good b --image "$W"
is "$rc" 0 "mark-good SLOT --image IMG: exit 0"
is "$("$AIM" status --image "$W" --json | jq -r '.slots[1].good')" true "mark-good: slot b good"
run aim mark-bad a --image "$W"
is "$rc" 0 "mark-bad SLOT --image IMG (a, no longer active): exit 0"
run aim mark-bad b --image "$W" --force
expect 2 "unknown option --force" "mark-bad: --force is mark-good's"
run aim rollback --image "$W" a
expect 2 "unexpected argument 'a'" "rollback: an operand after the options"
run aim reset --image "$W"
is "$rc" 0 "reset --image IMG: exit 0"
run aim reset --cancel --image "$W"
is "$rc" 0 "reset --cancel --image IMG: exit 0"
check "reset --cancel: cancelled" grep -q "factory reset cancelled" out
done_testing
