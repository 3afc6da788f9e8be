#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-timeout: 240
# The test runner itself (tests/run): a hung test fails within its time limit with its
# name and its last lines, the run goes on and ends with its summary line; a per-script
# "# aim-timeout:" line is honoured; a failing, an unplanned and a non-executable test
# fail; skips are not failures. With QEMU there: a guest that never boots (U-Boot finds a
# zeroed kernel) is stopped at the limit and its console's last lines are shown.
. "$(dirname "$0")/lib.sh"

d=$TMP/tests
mkdir -p "$d"
cat >"$d/t-pass.sh" <<'EOF'
#!/bin/sh
echo "ok 1 - first"; echo "ok 2 - second"; echo "1..2"
EOF
cat >"$d/t-hang.sh" <<'EOF'
#!/bin/sh
echo "ok 1 - started"
echo "last words before the hang"
sleep 600
EOF
cat >"$d/t-own-limit.sh" <<'EOF'
#!/bin/sh
# aim-timeout: 2
echo "ok 1 - started"
sleep 600
EOF
cat >"$d/t-fail.sh" <<'EOF'
#!/bin/sh
echo "ok 1 - fine"; echo "not ok 2 - broken"; echo "1..2"; exit 1
EOF
cat >"$d/t-unplanned.sh" <<'EOF'
#!/bin/sh
echo "ok 1 - no plan follows"
EOF
cat >"$d/t-skip.sh" <<'EOF'
#!/bin/sh
echo "1..0 # SKIP nothing to do here"
EOF
printf '#!/bin/sh\necho "ok 1"; echo "1..1"\n' >"$d/t-noexec.sh"
chmod +x "$d/t-pass.sh" "$d/t-hang.sh" "$d/t-own-limit.sh" "$d/t-fail.sh" \
	"$d/t-unplanned.sh" "$d/t-skip.sh"

list="$d/t-pass.sh $d/t-own-limit.sh $d/t-fail.sh $d/t-unplanned.sh"
list="$list $d/t-skip.sh $d/t-noexec.sh $d/t-pass.sh"
t0=$(date +%s)
AIM_TESTS=$list AIM_TEST_TIMEOUT="" AIM_QEMU=0 "$AIM_TOP/tests/run" >"$TMP/out" 2>&1
rc=$?
secs=$(( $(date +%s) - t0 ))
is "$rc" 1 "the run exits 1 when a test failed"
grep -q '^timing: tests in all' "$TMP/out"
ok $? "a total timing line"
grep -E "t-own-limit.sh +FAIL .*TIMEOUT \(limit 2 s\)" "$TMP/out" >/dev/null
ok $? "a script's own '# aim-timeout: 2' stops it after 2 s, with its name"
[ "$(grep -c 't-pass.sh  *ok' "$TMP/out")" = 2 ]
ok $? "the tests after the stopped ones still ran"
grep -Eq 't-fail.sh +FAIL' "$TMP/out" && grep -q '    | not ok 2 - broken' "$TMP/out"
ok $? "a failing test: FAIL and its TAP"
grep -Eq 't-unplanned.sh +FAIL' "$TMP/out"
ok $? "a test without a plan fails"
grep -Eq 't-skip.sh +skip' "$TMP/out"
ok $? "a skipped test is reported as skipped"
grep -Eq 't-noexec.sh +FAIL +not executable' "$TMP/out"
ok $? "a test that is not executable fails"
[ $secs -lt 120 ]
ok $? "the stopped test did not hold the run for its full sleep ($secs s)"
[ "$T_FAIL" = 0 ] || sed 's/^/#   /' "$TMP/out"

AIM_TESTS="$d/t-pass.sh $d/t-hang.sh $d/t-pass.sh" AIM_TEST_TIMEOUT=3 "$AIM_TOP/tests/run" \
	>"$TMP/out2" 2>&1
rc=$?
is "$rc" 1 "AIM_TEST_TIMEOUT=3: the run fails"
grep -Eq 't-hang.sh +FAIL .*TIMEOUT \(limit 3 s\)' "$TMP/out2"
ok $? "the hung test fails with its name and the limit"
grep -q '    | last words before the hang' "$TMP/out2"
ok $? "its last lines are shown"
is "$(tail -n 1 "$TMP/out2")" "5 passed, 1 failed" "the summary line ends the run"
[ "$T_FAIL" = 0 ] || sed 's/^/#   /' "$TMP/out2"

# ---- a guest that never boots ----
QEMU_BIOS=${QEMU_BIOS:-/usr/lib/u-boot/qemu_arm64/u-boot.bin}
if ! command -v qemu-system-aarch64 >/dev/null 2>&1 || [ ! -r "$QEMU_BIOS" ] ||
	! command -v mkfs.vfat >/dev/null 2>&1 || ! command -v mkimage >/dev/null 2>&1; then
	skip "QEMU, U-Boot, mkfs.vfat or mkimage missing (tools/deps.sh --qemu)"
	skip "QEMU, U-Boot, mkfs.vfat or mkimage missing (tools/deps.sh --qemu)"
	skip "QEMU, U-Boot, mkfs.vfat or mkimage missing (tools/deps.sh --qemu)"
	done_testing
	exit
fi
# A disk whose boot.scr loads an all-zero kernel: U-Boot refuses it and stops at its
# prompt; the test waits for a multi-user system that never comes.
D=$TMP/zero.img
truncate -s 32M "$D"
echo 'start=2048, type=c' | sfdisk -q "$D"
mkfs.vfat --offset 2048 "$D" 31744 >/dev/null
head -c 1048576 /dev/zero >"$TMP/Image"
cat >"$TMP/boot.cmd" <<'EOF'
echo "t0001: loading a zeroed kernel"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} Image
booti ${kernel_addr_r} - ${fdtcontroladdr}
EOF
mkimage -C none -A arm -T script -d "$TMP/boot.cmd" "$TMP/boot.scr" >/dev/null
mcopy -i "$D@@1M" "$TMP/Image" "$TMP/boot.scr" ::/
cat >"$d/t-noboot.sh" <<EOF
#!/bin/sh
# A QEMU test whose guest never boots.
top=$AIM_TOP
. "\$top/tests/qemu/lib.sh"
trap qemu_stop EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP
qemu_boot "$D" "$TMP/console.log"
ok \$? "QEMU started"
qemu_wait_multiuser 600
ok \$? "multi-user (never)"
done_testing
EOF
chmod +x "$d/t-noboot.sh"
t0=$(date +%s)
AIM_TESTS="$d/t-noboot.sh $d/t-pass.sh" AIM_TEST_TIMEOUT=25 "$AIM_TOP/tests/run" >"$TMP/out3" 2>&1
rc=$?
secs=$(( $(date +%s) - t0 ))
grep -Eq 't-noboot.sh +FAIL .*TIMEOUT \(limit 25 s\)' "$TMP/out3" && [ $rc = 1 ] && [ $secs -lt 60 ]
ok $? "a guest that never boots: its test fails at the limit ($secs s for the run)"
grep -q 'the last lines of its console' "$TMP/out3" && grep -q '| #   .*t0001: loading a zeroed kernel' "$TMP/out3"
ok $? "its console's last lines are shown (U-Boot's)"
is "$(tail -n 1 "$TMP/out3")" "3 passed, 1 failed" "the run goes on to the next test and its summary"
[ "$T_FAIL" = 0 ] || sed 's/^/#   /' "$TMP/out3"
pgrep -f "file=$D," >/dev/null
[ $? = 1 ]
ok $? "no QEMU of the stopped test is left running"
done_testing
