#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Update soak (docs/soak.md): hundreds of update cycles on one converted image file. Each
# cycle draws an operation (install of alternating versions, a simulated boot, mark-good,
# mark-bad, rollback, reset) from a seeded generator, counts its fault points on a copy
# (AIM_FAULT_COUNT) and, in 70 % of the cycles, cuts it with AIM_FAULT_AT at a drawn
# point. After every cut: a valid state whose next boot is a good or trial slot, aim-boot
# plan agrees, the slots that can boot hold files that hash as recorded, a good slot is
# left; then the rerun completes with the result of an uncut run. Rootless (runs itself
# as nobody when started as root), no QEMU.
#
# Usage: tests/soak/soak.sh [--cycles N] [--seed S] [--keep] [--verbose]
#   --cycles N   update cycles (default 300)
#   --seed S     seed of the generator, 0..4294967295 (default: from the clock; printed)
#   --keep       keep the scratch directory (its path is printed)
#   --verbose    one comment line per cycle: operation, points, cut, resulting state
# Environment: B (build directory, relative to the top or absolute; default build).
# Prints TAP: one line per check kind with its count, a `not ok` line per failure naming
# the seed, cycle, operation and cut point, and a summary line. Exit 0 when all passed.
set -u
AIM_TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in
/*) BD=$B ;;
*) BD=$AIM_TOP/$B ;;
esac

usage_err() {
	echo "soak: $*" >&2
	exit 2
}
cycles=300 seed="" keep=0 verbose=0
while [ $# -gt 0 ]; do
	case $1 in
	--cycles) [ $# -ge 2 ] || usage_err "--cycles needs a number"; cycles=$2; shift 2 ;;
	--seed) [ $# -ge 2 ] || usage_err "--seed needs a number"; seed=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage_err "unknown argument $1" ;;
	esac
done
case $cycles in '' | *[!0-9]*) usage_err "bad --cycles '$cycles'" ;; esac
[ -n "$seed" ] || seed=$(($(date +%s%N) % 4294967296))
case $seed in '' | *[!0-9]*) usage_err "bad --seed '$seed'" ;; esac
[ ${#seed} -le 10 ] && [ "$seed" -le 4294967295 ] || usage_err "--seed above 4294967295"

# As root: the same run as nobody, which proves that no step needs privileges.
if [ "$(id -u)" = 0 ] && [ -z "${AIM_SOAK_USER:-}" ]; then
	args=(--cycles "$cycles" --seed "$seed")
	[ $keep = 1 ] && args+=(--keep)
	[ $verbose = 1 ] && args+=(--verbose)
	exec env AIM_SOAK_USER=1 B="$BD" setpriv --reuid=65534 --regid=65534 --clear-groups -- \
		/bin/bash "$0" "${args[@]}"
fi

# shellcheck source=tests/tap.sh
. "$AIM_TOP/tests/tap.sh"
AIM=$BD/armimmutable
AB=$BD/dev/x86_64/aim-boot
for f in "$AIM" "$AB"; do
	[ -x "$f" ] || { echo "Bail out! $f missing (make B=$B)"; exit 1; }
done
# convert and bundle create find the device side next to a binary in the tree; a build
# directory elsewhere needs to say where it is
export AIM_DEVICE_DIR=${AIM_DEVICE_DIR:-$BD/dev} AIM_HOOKS_DIR=${AIM_HOOKS_DIR:-$AIM_TOP/hooks}
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800 LC_ALL=C
unset AIM_FAULT_AT AIM_FAULT_COUNT
shopt -s globstar dotglob nullglob
TMP=$(mktemp -d "${TMPDIR:-/tmp}/aimsoak.XXXXXX") || exit 1
if [ $keep = 1 ]; then
	trap 'echo "# kept $TMP"' EXIT
else
	trap 'rm -rf "$TMP"' EXIT
fi
cd "$TMP" || exit 1
t0=$(date +%s)
echo "# soak: seed $seed, $cycles cycles, binaries in $BD"

# ---- the generator: a 32-bit LCG; rnd N sets R to 0..N-1 from its upper bits ----
RNG=$seed
rnd() {
	RNG=$(((RNG * 1103515245 + 12345) & 0xffffffff))
	R=$(((RNG >> 12) % $1))
}

# ---- helpers (few processes: this machine runs them thousands of times) ----
# sha_range FILE OFFSET LENGTH: SHA-256 of a file region in SR
sha_range() {
	SR=$(dd if="$1" bs=64K iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none |
		sha256sum)
	SR=${SR%% *}
}
# boot_list DIR: "SHA-256  name" lines of the files under DIR in BL, without slot.env and
# armbianEnv.txt (rewritten for the slot that holds them)
# payload BUNDLE NAME: a payload's bytes on stdout (the payload area follows the 4 KiB
# aligned header, manifest and signature)
payload() {
	python3 - "$1" "$2" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
ml, sl = struct.unpack_from("<II", d, 16)
area = (64 + ml + sl + 4095) // 4096 * 4096
sec, found = {}, None
for line in d[64:64 + ml].decode().split("\n") + ["[payload]"]:
    if line == "[payload]":
        if sec.get("name") == sys.argv[2] and sec.get("kind") == "boot":
            found = sec
        sec = {}
    elif "=" in line:
        k, v = line.split("=", 1)
        sec[k] = v
if not found:
    sys.exit(1)
off, size = int(found["offset"]), int(found["size"])
sys.stdout.buffer.write(d[area + off:area + off + size])
PY
}

boot_list() {
	local f files=()
	for f in "$1"/**; do
		[ -f "$f" ] || continue
		# slot.env, its signature and install.env describe the slot (checked apart)
		case ${f##*/} in slot.env | slot.env.minisig | install.env | armbianEnv.txt) continue ;; esac
		files+=("${f#"$1"/}")
	done
	BL=""
	[ ${#files[@]} = 0 ] || BL=$(cd "$1" && sha256sum -- "${files[@]}")
}
# has_line FILE PATTERN: a line of FILE matches the shell PATTERN
has_line() {
	local l
	while IFS= read -r l || [ -n "$l" ]; do
		# shellcheck disable=SC2053
		[[ $l == $2 ]] && return 0
	done <"$1"
	return 1
}

# ---- set-up: image, key, two bundles that differ in rootfs and boot files ----
setup_fail() {
	echo "Bail out! set-up: $*"
	exit 1
}
"$AIM_TOP/tests/sample/mkshape.sh" A in.img >mk.log 2>&1 ||
	setup_fail "mkshape.sh A: $(tail -n 1 mk.log)"
"$AIM" -q convert in.img base.img 2>err || setup_fail "convert: $(cat err)"
"$AIM" -q keygen -W -p k.pub -s k.key 2>err || setup_fail "keygen: $(cat err)"
p1=$(($(sfdisk -J base.img | jq -r '.partitiontable.partitions[0].start') * 512))
"$AIM" status --image base.img --json >base.json || setup_fail "status of base.img"
bj() { jq -r "$1" base.json; }
declare -A REF_BOOT REF_ROOTFS REF_BUNDLE
mkdir conv && mcopy -s -n -i "base.img@@$p1" ::/slot-a conv/ 2>/dev/null ||
	setup_fail "mcopy of /slot-a"
v=$(bj '.slots[0].version')
boot_list conv/slot-a
REF_BOOT[$v]=$BL REF_ROOTFS[$v]=$(bj '.slots[0].rootfs_sha256') REF_BUNDLE[$v]=""
off_a=$(bj '.slots[0].partition.offset') size_a=$(bj '.slots[0].rootfs_size')
sha_range base.img "$off_a" "$size_a"
[ "$SR" = "${REF_ROOTFS[$v]}" ] || setup_fail "slot a of base.img does not hash as its slot.env says"
dd if=base.img of=v1.sqfs bs=64K iflag=skip_bytes,count_bytes skip="$off_a" count="$size_a" \
	status=none
# v2: the same squashfs with 64 KiB after its end (ignored by the kernel, hashed here),
# one boot file less and a new directory
{ cat v1.sqfs; head -c 65536 /dev/zero | tr '\0' v; } >v2.sqfs
rm -f conv/slot-a/slot.env
cp -a conv/slot-a boot1 && echo 1 >boot1/soak-version.txt
cp -a conv/slot-a boot2 && echo 2 >boot2/soak-version.txt && rm -f boot2/boot.bmp &&
	mkdir boot2/soak && head -c 5000 /dev/zero | tr '\0' x >boot2/soak/extra.bin
VER=([1]=99.1 [2]=99.2)
for i in 1 2; do
	v=${VER[$i]}
	"$AIM" -q bundle create -k k.key -o "v$i.aimb" --rootfs "v$i.sqfs" --boot-dir "boot$i" \
		--version "$v" --board "$(bj '.slots[0].board')" --family "$(bj '.slots[0].family')" \
		--arch "$(bj '.slots[0].arch')" 2>err || setup_fail "bundle create v$i: $(cat err)"
	"$AIM" bundle info --json "v$i.aimb" >"v$i.json"
	# the block index is the bundle's own (made for v$i.sqfs, not the converted slot's)
	payload "v$i.aimb" rootfs.idx >"boot$i/rootfs.idx" ||
		setup_fail "v$i: no rootfs.idx payload"
	boot_list "boot$i"
	REF_BOOT[$v]=$BL
	REF_ROOTFS[$v]=$(jq -r '.payloads[] | select(.kind=="rootfs") | .sha256' "v$i.json")
	REF_BUNDLE[$v]=$(jq -r .manifest_sha256 "v$i.json")
	sha_range "v$i.sqfs" 0 "$(stat -c %s "v$i.sqfs")"
	[ "$SR" = "${REF_ROOTFS[$v]}" ] || setup_fail "v$i: the manifest's rootfs SHA-256 is not the file's"
done
W=$TMP/w.img C=$TMP/c.img
fresh() { cp --sparse=always base.img "$W"; }
fresh
echo "# set-up: sample A converted, bundles ${VER[1]} and ${VER[2]} ($(stat -c %s v1.aimb), $(stat -c %s v2.aimb) bytes), $(($(date +%s) - t0)) s"

# ---- the operations ----
# run_op IMG: runs $OP ($ARG) on IMG with the fault variable $FENV (AIM_FAULT_COUNT=FILE,
# AIM_FAULT_AT=N or empty); exit code in rc, stderr in $TMP/err
run_op() {
	local img=$1
	[ -z "$FENV" ] || export "${FENV?}"
	case $OP in
	install) "$AIM" -q install --image "$img" -p k.pub --allow-downgrade "$ARG" ;;
	mark-good | mark-bad) "$AIM" -q "$OP" --image "$img" "$ARG" ;;
	rollback) "$AIM" -q rollback --image "$img" ;;
	reset) "$AIM" -q reset --image "$img" ${ARG:+"$ARG"} ;;
	boot) boot_sim "$img" ;;
	esac >/dev/null 2>"$TMP/err"
	rc=$?
	unset AIM_FAULT_AT AIM_FAULT_COUNT
}
# boot_sim IMG: what a boot records. U-Boot's part (pick by seq, bootcount.txt) is not run
# here (tests/qemu runs it); aim-boot's is: `aim-boot plan --commit` decides and stores the
# state in a directory holding the image's state files (5 fault points: temp, write,
# fsync, rename, directory fsync), and what it left there (state copies, a temp file after
# a cut) is copied back to the boot partition as if it had been written there.
boot_sim() {
	local img=$1 d=$TMP/bootp f r
	rm -rf "$d" "$d.0" && mkdir "$d" "$d.0"
	mcopy -n -i "$img@@$p1" ::state-1.txt ::state-2.txt ::state-1.tmp ::state-2.tmp "$d.0/" \
		2>/dev/null
	cp -p -r "$d.0/." "$d/"
	echo "root=PARTUUID=x armimmutable.slot=$S_next" >"$TMP/cmdline"
	"$AB" plan --commit --state-dir "$d" --cmdline "$TMP/cmdline" >"$TMP/bootplan"
	r=$?
	for f in state-1.txt state-2.txt state-1.tmp state-2.tmp; do
		if [ -f "$d/$f" ]; then
			cmp -s "$d/$f" "$d.0/$f" || mcopy -o -i "$img@@$p1" "$d/$f" "::$f" || r=99
		elif [ -f "$d.0/$f" ]; then
			mdel -i "$img@@$p1" "::$f" || r=99
		fi
	done
	return $r
}

# ---- checks ----
declare -A NPASS NFAIL
KINDS="cut state plan files bootable rerun result clean uncut"
declare -A KDESC=(
	[cut]="a cut run stops at its point (exit 75)"
	[state]="after a cut or run: a valid state whose next boot is a good slot or a trial slot with tries"
	[plan]="aim-boot plan on the image's state files picks the slot status names"
	[files]="the next-boot slot and each good slot hold files that hash as recorded"
	[bootable]="a good slot with intact files is left (never both slots unbootable)"
	[rerun]="the operation rerun after a cut completes"
	[result]="after the rerun the state is that of an uncut run"
	[clean]="no temporary file left on the boot partition after a completed operation"
	[uncut]="an uncut run succeeds, or refuses (exit 1) and changes nothing"
)
for k in $KINDS; do NPASS[$k]=0 NFAIL[$k]=0; done
cyc=0 OP=set-up ARG="" CUTDESC="" cyc_failed=0 nfail_lines=0
pass() { NPASS[$1]=$((NPASS[$1] + 1)); }
fail() { # fail KIND MESSAGE: a `not ok` line that says how to get here again
	NFAIL[$1]=$((NFAIL[$1] + 1))
	cyc_failed=1
	nfail_lines=$((nfail_lines + 1))
	if [ $nfail_lines -le 50 ]; then
		ok 1 "seed $seed cycle $cyc: $OP${ARG:+ $ARG}${CUTDESC}: $1: $2"
	elif [ $nfail_lines = 51 ]; then
		diag "more failures: counted, not shown"
	fi
}

# What an uncut run and a rerun must agree on (neither seq nor times).
SUMQ='[.state.valid, .state.active, .state.trial_slot, .state.next_boot, (.slots[] | .good,
	.tries_left, .version, .bundle), .factory_reset_pending] | map(tostring) | join(" ")'
summ() { SUM=$("$AIM" status --image "$1" --json 2>/dev/null | jq -r "$SUMQ"); }
# load_st: status of $W into st.json and shell variables (one jq run): S_valid, S_next,
# S_active, S_trial, S_reset, SUMM, and for each slot X: S_X_good, S_X_trial, S_X_tries,
# S_X_ver, S_X_sha, S_X_size, S_X_off, S_X_bundle ("null" when absent)
S_valid=false S_next=a S_active=a S_trial=null S_reset=false SUMM=""
load_st() {
	local r
	"$AIM" status --image "$W" --json >"$TMP/st.json" 2>"$TMP/sterr"
	r=$?
	S_valid=false
	eval "$(jq -r 'def q: tostring | @sh;
		"S_valid=\(.state.valid|q) S_next=\(.state.next_boot|q) S_active=\(.state.active|q) S_trial=\(.state.trial_slot|q) S_reset=\(.factory_reset_pending|q)",
		(.slots[] | "S_\(.name)_good=\(.good|q) S_\(.name)_trial=\(.on_trial|q) S_\(.name)_tries=\(.tries_left|q) S_\(.name)_ver=\(.version|q) S_\(.name)_sha=\(.rootfs_sha256|q) S_\(.name)_size=\(.rootfs_size|q) S_\(.name)_off=\(.partition.offset|q) S_\(.name)_bundle=\(.bundle|q)"),
		"SUMM=\('"$SUMQ"' | q)"' "$TMP/st.json" 2>/dev/null)"
	return $r
}
# slot_ok X: slot X holds the files of the version its slot.env names (rootfs bytes,
# slot.env, boot files byte for byte and name for name, armbianEnv.txt for slot X); why
# not in WHY
slot_ok() {
	local x=$1 d=$TMP/slotf n
	n=S_${x}_ver && local v=${!n}
	n=S_${x}_sha && local sha=${!n}
	n=S_${x}_bundle && local bun=${!n}
	n=S_${x}_off && local off=${!n}
	n=S_${x}_size && local size=${!n}
	WHY=""
	[ -n "${REF_BOOT[$v]+y}" ] || { WHY="slot $x: version '$v' is none of the references"; return 1; }
	[ "$sha" = "${REF_ROOTFS[$v]}" ] || { WHY="slot $x: slot.env rootfs_sha256 is not that of $v"; return 1; }
	[ "$bun" = "${REF_BUNDLE[$v]}" ] || { WHY="slot $x: slot.env bundle is not that of $v"; return 1; }
	sha_range "$W" "$off" "$size"
	[ "$SR" = "$sha" ] || { WHY="slot $x: the partition does not hash as $v's rootfs"; return 1; }
	rm -rf "$d" && mkdir "$d" && mcopy -s -n -i "$W@@$p1" "::/slot-$x" "$d/" 2>/dev/null
	boot_list "$d/slot-$x"
	if [ "$BL" != "${REF_BOOT[$v]}" ]; then
		WHY="slot $x: boot files differ from $v's: $(diff <(echo "${REF_BOOT[$v]}") <(echo "$BL") |
			grep '^[<>]' | head -n 4 | tr '\n' ' ')"
		return 1
	fi
	has_line "$d/slot-$x/armbianEnv.txt" "*armimmutable.slot=$x*" ||
		{ WHY="slot $x: armbianEnv.txt does not name slot $x"; return 1; }
	[ -f "$d/slot-$x/slot.env" ] || { WHY="slot $x: no slot.env"; return 1; }
	return 0
}
# verify WHEN: the invariants on $W (WHEN: "after the cut", "after the rerun", "after the
# run"); leaves the state in st.json, the S_* variables and SUMM
verify() {
	local when=$1 nb x n good_intact=0 pslot="" preason="" l
	if ! load_st || [ "$S_valid" != true ]; then
		fail state "$when: no valid state: $(head -c 200 "$TMP/sterr")"
		return
	fi
	nb=$S_next
	n=S_${nb}_good && local g=${!n}
	n=S_${nb}_trial && local t=${!n}
	n=S_${nb}_tries && local tries=${!n}
	if [ "$g" = true ] || { [ "$t" = true ] && [ "$tries" -gt 0 ]; }; then
		pass state
	else
		fail state "$when: next boot $nb is neither good nor on trial with tries: $(jq -c .state "$TMP/st.json")"
	fi
	rm -rf "$TMP/sd" && mkdir "$TMP/sd"
	mcopy -n -i "$W@@$p1" ::state-1.txt ::state-2.txt "$TMP/sd/" 2>/dev/null
	echo "root=PARTUUID=x armimmutable.slot=$nb" >"$TMP/cmdline"
	"$AB" plan --state-dir "$TMP/sd" --cmdline "$TMP/cmdline" >"$TMP/plan" 2>&1
	while IFS= read -r l; do
		case $l in slot=*) pslot=${l#slot=} ;; reason=*) preason=${l#reason=} ;; esac
	done <"$TMP/plan"
	if [ "$pslot" = "$nb" ] && [[ $preason != *"no valid slot state"* ]]; then
		pass plan
	else
		fail plan "$when: aim-boot plan says slot '$pslot' ($preason), status next boot $nb"
	fi
	for x in a b; do
		# the slots that can boot: the next one, and the good ones (fallbacks)
		n=S_${x}_good
		[ "$x" = "$nb" ] || [ "${!n}" = true ] || continue
		if slot_ok "$x"; then
			pass files
			[ "${!n}" = true ] && good_intact=1
		else
			fail files "$when: $WHY"
		fi
	done
	if [ $good_intact = 1 ]; then pass bootable; else fail bootable "$when: no good slot with intact files"; fi
	if [ "$when" != "after the cut" ]; then
		mdir -/ -b -i "$W@@$p1" :: >"$TMP/ls" 2>/dev/null
		if has_line "$TMP/ls" "*.tmp" || has_line "$TMP/ls" "*.aim-tmp"; then
			fail clean "$when: left on the boot partition: $(grep -E 'tmp$' "$TMP/ls" | head -n 3 | tr '\n' ' ')"
		else
			pass clean
		fi
	fi
}

# ---- the cycles ----
declare -A OPRUNS OPCUTS OPREF OPMIN OPMAX
OPS="install boot mark-good mark-bad rollback reset"
ncuts=0 nrefused=0 ninstall=0 nagain=0
for op in $OPS; do OPRUNS[$op]=0 OPCUTS[$op]=0 OPREF[$op]=0 OPMIN[$op]=-1 OPMAX[$op]=0; done
load_st
for ((cyc = 1; cyc <= cycles; cyc++)); do
	cyc_failed=0 CUTDESC=""
	# the operation (weights 30 25 20 10 8 7) and its argument, from the current state
	rnd 100
	if [ $R -lt 30 ]; then
		OP=install ARG=v$((ninstall % 2 + 1)).aimb
		ninstall=$((ninstall + 1))
	elif [ $R -lt 55 ]; then
		OP=boot ARG=""
	elif [ $R -lt 75 ]; then
		# mostly the trial slot (what boot-complete does), else either slot
		OP=mark-good ARG=$S_trial
		rnd 100
		if [ "$ARG" = null ] || [ $R -ge 80 ]; then
			rnd 2
			ARG=a
			[ $R = 0 ] || ARG=b
		fi
	elif [ $R -lt 85 ]; then
		# mostly the slot that is not active; else the active one (refused)
		OP=mark-bad
		rnd 100
		ARG=$S_active
		[ $R -lt 80 ] && { [ "$S_active" = a ] && ARG=b || ARG=a; }
	elif [ $R -lt 93 ]; then
		OP=rollback ARG=""
	else
		OP=reset ARG=""
		rnd 2
		[ "$S_reset" = true ] && [ $R = 0 ] && ARG=--cancel
	fi
	OPRUNS[$OP]=$((OPRUNS[$OP] + 1))
	before=$SUMM
	# counted on a copy, whose result is then the uncut run's
	cp --sparse=always "$W" "$C"
	echo 0 >"$TMP/count"
	FENV="AIM_FAULT_COUNT=$TMP/count"
	run_op "$C"
	read -r n <"$TMP/count"
	[ "${OPMIN[$OP]}" = -1 ] || [ "$n" -lt "${OPMIN[$OP]}" ] && OPMIN[$OP]=$n
	[ "$n" -gt "${OPMAX[$OP]}" ] && OPMAX[$OP]=$n
	if [ $rc != 0 ]; then
		# a refusal (rollback to a slot not good, mark-bad of the active slot) changes nothing
		OPREF[$OP]=$((OPREF[$OP] + 1)) nrefused=$((nrefused + 1))
		summ "$C"
		if [ $rc = 1 ] && [ "$OP" != install ] && [ "$OP" != boot ] && [ "$SUM" = "$before" ]; then
			pass uncut
		else
			fail uncut "uncut run: exit $rc: $(head -c 200 "$TMP/err")"
		fi
		[ $verbose = 1 ] && diag "cycle $cyc: $OP${ARG:+ $ARG}: refused: $(head -n 1 "$TMP/err")"
		[ $cyc_failed = 1 ] && { fresh; load_st; }
		continue
	fi
	pass uncut
	summ "$C"
	want=$SUM want_rc=0
	rnd 100
	if [ "$n" -gt 0 ] && [ $R -lt 70 ]; then
		rnd "$n"
		at=$((R + 1))
		CUTDESC=" cut at $at/$n"
		ncuts=$((ncuts + 1)) OPCUTS[$OP]=$((OPCUTS[$OP] + 1))
		FENV="AIM_FAULT_AT=$at"
		run_op "$W"
		if [ $rc = 75 ]; then pass cut; else fail cut "exit $rc, not 75: $(head -c 200 "$TMP/err")"; fi
		verify "after the cut"
		FENV=""
		if [ "$SUMM" = "$want" ] && [ "$want" != "$before" ]; then
			# the cut came after the operation's last state write: the rerun is the
			# operation once more (a second boot; rollback on an image is relative to
			# the next boot, so a second one rolls back again, or is refused)
			nagain=$((nagain + 1))
			cp --sparse=always "$C" "$C.2"
			run_op "$C.2"
			want_rc=$rc
			summ "$C.2"
			want=$SUM
		fi
		run_op "$W"
		if [ $rc = $want_rc ]; then
			pass rerun
		else
			fail rerun "rerun: exit $rc, an uncut run: $want_rc: $(head -c 200 "$TMP/err")"
		fi
		verify "after the rerun"
		if [ "$SUMM" = "$want" ]; then pass result; else fail result "got '$SUMM', an uncut run gives '$want'"; fi
	else
		mv "$C" "$W"
		verify "after the run"
	fi
	[ $verbose = 1 ] && diag "cycle $cyc: $OP${ARG:+ $ARG}: $n points${CUTDESC:+,$CUTDESC}: $SUMM"
	if [ $cyc_failed = 1 ]; then
		# carry on from the converted image, so one bug does not fail every later cycle
		fresh
		load_st
	fi
done

# ---- report ----
nfailed=0
for k in $KINDS; do
	nfailed=$((nfailed + NFAIL[$k]))
	if [ "${NFAIL[$k]}" = 0 ]; then
		ok 0 "$k: ${KDESC[$k]} (${NPASS[$k]} checks)"
	else
		ok 1 "$k: ${KDESC[$k]} (${NFAIL[$k]} of $((NPASS[$k] + NFAIL[$k])) failed)"
	fi
done
for op in $OPS; do
	[ "${OPRUNS[$op]}" = 0 ] && continue
	diag "$op: ${OPRUNS[$op]} runs, ${OPCUTS[$op]} cut, ${OPREF[$op]} refused, ${OPMIN[$op]}-${OPMAX[$op]} fault points"
done
diag "$nagain cuts came after the operation's last state write: their rerun was the operation once more"
echo "# soak: $cycles cycles, $ncuts cuts, $nrefused refusals, seed $seed, $nfailed failed checks, wall $(($(date +%s) - t0)) s"
done_testing
