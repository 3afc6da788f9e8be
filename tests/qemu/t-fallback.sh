#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# aim-timeout: 2700 (four cases, 13 boots; the default 1800 s ran out on a loaded host)
# Survival: a slot on trial that cannot boot falls back to the good slot by itself.
# The converted bootable sample gets a state with slot b on trial (try=b, tries_b=3,
# active=a, good_a=1, a higher seq in both copies), then:
#   case 1: slot b's kernel is garbage (/slot-b/Image overwritten): booti fails in U-Boot;
#   case 2: slot b's root is broken (start of p3 zeroed): the kernel starts, initramfs-tools
#           cannot mount the squashfs and panics; panic=10 (added to extraargs by convert)
#           makes it reboot by itself.
# The board is modelled honestly: U-Boot's own count (fatwrite bootcount.txt) is the only
# counter a broken slot ever reaches; QEMU's in-guest reboots are kept (no -no-reboot); a
# console silent for STALL seconds with no kernel started (KSTALL once one started, PSTALL
# once U-Boot sits at its "=>" prompt, having given up) is a watchdog reset: QEMU is
# restarted. Expected: 3 trial boots of b, then U-Boot picks a
# (fallback), Linux comes up on a, boot.env and the state say why.
# The image is a kiosk one (--overlay=tmpfs --persist=/home --persist=/etc/ssh), so the two
# fallback boots also show kiosk mode (docs/state.md): a file written to /etc in case 1 is
# gone in case 2, one written to the persistent /home is kept; sshd runs with the image's
# sshd_config (the persistent /etc/ssh starts from the image) and the same host keys, and
# the machine-id is the same (kept by default in kiosk mode).
# dm-verity (issue 12): the image is converted with --sign KEY (a key from armimmutable
# keygen) and --verity on: its slots carry a hash tree, slot.env its signed verity keys,
# and the initramfs the trusted key. Every boot of slot a runs / over
# /dev/mapper/aim-root-a (the verity target with the signed root hash); case 2's broken
# root is one flipped byte in slot b's squashfs, which dm-verity catches
# (restart_on_corruption reboots);
#   case 3: slot b's slot.env edited (root hash changed, signature left): aim-boot refuses
#           b on its first trial boot, gives the trial up (state reason) and reboots; the
#           device stays on a;
#   case 4: both slots good, active a; one flipped byte in slot a's squashfs (bit rot in
#           the good active slot): every boot of a restarts on dm-verity corruption, the
#           boot script counts them, and after 3 in a row it boots b, which aim-boot makes
#           active with the reason (docs/boot.md section 9, the corruption rule).
set -u
kiosk_id=""
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"
: "${STALL:=25}" "${KSTALL:=120}" "${PSTALL:=3}" "${CASE_DEADLINE:=600}"

qemu_available || skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"
for c in mcopy mtype mdel sfdisk jq gzip; do
	command -v $c >/dev/null || skip_all "$c missing"
done
[ -x "$AIM" ] || skip_all "no $AIM (run make B=$B)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-fallback.XXXXXX")
chmod 0777 "$tmp"
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP

src=$("$top/tests/sample/mkbootable.sh" 2>"$tmp/mk.err" | tail -n 1) || src=""
[ -n "$src" ] && [ -f "$src" ] || skip_all "no cached bootable sample (tests/sample/mkbootable.sh)"
cp --sparse=always "$src" "$tmp/sample.img"
"$AIM" -q keygen --no-password -p "$tmp/k.pub" -s "$tmp/k.key"
ok $? "keygen"
KEYID=$(sed -n 's/^untrusted comment: minisign public key //p' "$tmp/k.pub")
"$AIM" -q convert --overlay=tmpfs --persist=/home --persist=/etc/ssh --sign "$tmp/k.key" \
	--verity on "$tmp/sample.img" "$tmp/conv.img" 2>"$tmp/conv.err"
ok $? "convert succeeds (kiosk: --overlay=tmpfs --persist=/home --persist=/etc/ssh; --sign key $KEYID, --verity on)"
[ -f "$tmp/conv.img" ] || { diag "$(cat "$tmp/conv.err")"; done_testing; exit 1; }
rm -f "$tmp/sample.img"
truncate -s +512M "$tmp/conv.img"
IMG=$tmp/conv.img
pstart() { sfdisk -J "$IMG" | jq ".partitiontable.partitions[$1].start"; }
P1=$(( $(pstart 0) * 512 ))
P3=$(( $(pstart 2) * 512 ))
M="-i $IMG@@$P1"
# shellcheck disable=SC2086
ROOT_A=$(mtype $M ::/slot-a/slot.env | tr -d '\r' | sed -n 's/^verity_root=//p')
[ ${#ROOT_A} = 64 ]
ok $? "slot a's slot.env has the verity root hash ($ROOT_A)"
# shellcheck disable=SC2086
mtype $M ::/slot-b/slot.env.minisig >/dev/null 2>&1 &&
	mtype $M ::/slot-b/uInitrd | grep -aq "etc/armimmutable/keys/$KEYID\.pub"
ok $? "slot b's slot.env is signed and its initramfs carries the key"

# shellcheck disable=SC2086
mtype $M ::/slot-b/armbianEnv.txt | grep -q '^extraargs=.*panic=10'
ok $? "slot b's armbianEnv.txt carries panic=10 (unattended reboot after a panic)"

state() { # state COPY SEQ ACTIVE TRY TRIES_B [GOOD_B]
	body=$(printf 'aim_seq=%s\naim_active=%s\naim_try=%s\naim_tries_a=0\naim_tries_b=%s\naim_good_a=1\naim_good_b=%s\naim_reason=\n' "$2" "$3" "$4" "$5" "${6:-0}")
	crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
	printf '%s\naim_crc=%s\n' "$body" "$crc" >"$tmp/state"
	# shellcheck disable=SC2086
	mcopy -o $M "$tmp/state" "::/state-$1.txt"
}
trial_b() { # both copies: b on trial with 3 tries, a good and active; no stale bootcount
	# shellcheck disable=SC2086
	mdel $M ::/bootcount.txt 2>/dev/null
	state 1 $(( $1 + 1 )) a b 3 && state 2 "$1" a b 3
}
newest_state() { # the newest copy (by seq) on the host
	# shellcheck disable=SC2086
	s1=$(mtype $M ::/state-1.txt | sed -n 's/^aim_seq=//p')
	# shellcheck disable=SC2086
	s2=$(mtype $M ::/state-2.txt | sed -n 's/^aim_seq=//p')
	if [ "${s2:-0}" -gt "${s1:-0}" ]; then n=2; else n=1; fi
	# shellcheck disable=SC2086
	mtype $M "::/state-$n.txt"
}

logsize() { wc -c <"$1" 2>/dev/null || echo 0; }
# boot_until_fallback NAME [PATTERN]: boots (and restarts on a stall = watchdog reset)
# until U-Boot picks slot a in fallback mode (or the console matches PATTERN); QEMU is left
# running on that boot. Logs: $tmp/NAME-K.log
boot_until_fallback() {
	local k start last size now since
	k=0
	start=$(date +%s)
	while [ $k -lt 6 ]; do
		k=$((k + 1))
		qemu_boot "$IMG" "$tmp/$1-$k.log" || return 1
		last=0
		since=$(date +%s)
		while :; do
			sleep 1
			now=$(date +%s)
			if qemu_text | grep -q "${2:-armimmutable: slot a (fallback)}"; then
				FB_RUNS=$k FB_SECS=$((now - start))
				return 0
			fi
			[ $((now - start)) -ge "$CASE_DEADLINE" ] && { qemu_stop; return 1; }
			size=$(logsize "$tmp/$1-$k.log")
			if [ "$size" != "$last" ]; then last=$size since=$now; continue; fi
			# after the last U-Boot banner, did a kernel start?
			if qemu_text | sed -n '/^U-Boot 20/h; /^U-Boot 20/!H; ${x;p}' |
				grep -q 'Starting kernel'; then
				lim=$KSTALL
			elif qemu_text | tail -n 1 | grep -q '^=> *$'; then
				# U-Boot gave up and sits at its prompt: nothing more will come
				lim=$PSTALL
			else
				lim=$STALL
			fi
			if [ $((now - since)) -ge "$lim" ]; then
				diag "$1: QEMU run $k silent for $lim s: watchdog reset (restart QEMU)"
				qemu_stop
				break
			fi
			qemu_alive || { qemu_stop; break; }
		done
	done
	return 1
}
# report NAME: one TAP line per U-Boot decision, in order, over all QEMU runs of NAME
report() {
	cat "$tmp/$1"-*.log | tr -d '\r' |
		grep -E '^armimmutable: (trial boot|good boot|slot . has no tries|slot . failed|slot . \()|Bad Linux ARM64|Rebooting automatically|Failed to mount|^U-Boot 20|verity|refused' \
		>"$tmp/$1.events"
	sed 's/^/#   /' "$tmp/$1.events"
	# "1 of 3, 2 of 3, 3 of 3" when only U-Boot counts; "1 of 3, 1 of 2, 1 of 1" when
	# aim-boot takes each try too (its new seq makes U-Boot's count start again)
	TRIALS=$(grep -c '^armimmutable: trial boot . of . for slot b' "$tmp/$1.events")
}
check_slot_a() { # check_slot_a NAME WHY: Linux on slot a over dm-verity, WHY recorded
	local out why
	why=$2
	# the sample's console does not always print "Reached target Multi-User": the shell
	qemu_shell 500
	ok $? "$1: fallback boot gives a root shell ($(qemu_elapsed) s)"
	out=$(qemu_run 'cat /proc/cmdline' 30)
	case " $out " in *" armimmutable.slot=a "*) r=0 ;; *) r=1 ;; esac
	ok $r "$1: kernel command line names slot a"
	out=$(qemu_run 'findmnt -n -o SOURCE /run/aim/lower; cat /sys/block/dm-*/dm/name' 30)
	[ "$out" = "/dev/mapper/aim-root-a
aim-root-a" ]
	ok $? "$1: the lower layer is slot A through dm-verity (got '$(echo $out)')"
	out=$(qemu_run '/usr/lib/armimmutable/aim-boot verity-table' 30)
	case "$out" in "aim-root-a: 0 "*" verity 1 "*":2 "*":2 4096 4096 "*" sha256 $ROOT_A "*" 1 restart_on_corruption") r=0 ;; *) r=1 ;; esac
	ok $r "$1: the live dm table is verity over vda2 with the signed root hash (dmsetup table)"
	[ $r = 0 ] || diag "table: $out"
	out=$(qemu_run 'cat /run/armimmutable/boot.env' 30)
	diag "$1: boot.env:" "$out"
	case "$out" in *"verity=1"*"verity_root=$ROOT_A"*"verity_signed=$KEYID"*) r=0 ;; *) r=1 ;; esac
	ok $r "$1: boot.env: verity=1, the root hash, signed by $KEYID"
	case "$out" in *mode=tmpfs*) r=0 ;; *) r=1 ;; esac
	ok $r "$1: kiosk: boot.env says mode=tmpfs"
	out=$(qemu_run 'armimmutable status' 60)
	case "$out" in *"$2"*) r=0 ;; *) r=1 ;; esac
	ok $r "$1: armimmutable status gives the reason ('$2')"
	[ $r = 0 ] || diag "status: $out"
	# (one line: the guest's shell reads what is typed, a tab would complete)
	idn=$(qemu_run 'for i in $(seq 60); do systemctl is-active -q ssh && break; sleep 1; done; systemctl is-active ssh; grep -c "^Include /etc/ssh/sshd_config.d" /etc/ssh/sshd_config; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2; cat /etc/machine-id' 90)
	set -- "$1" $idn
	[ $# = 5 ] && [ "$2" = active ] && [ "$3" = 1 ] && [ -n "$4" ] && [ ${#5} = 32 ]
	ok $? "$1: kiosk: sshd runs with the image's sshd_config (host key ${4:-?}, machine-id ${5:-?})"
	case "$1" in
	"case 1")
		kiosk_id="${4:-} ${5:-}"
		qemu_run 'echo gone-1 >/etc/aim-kiosk-etc && echo kept-2 >/home/aim-kiosk-home && sync' 30
		ok $? "kiosk: wrote /etc/aim-kiosk-etc and /home/aim-kiosk-home" ;;
	"case 2")
		[ "${4:-} ${5:-}" = "$kiosk_id" ]
		ok $? "kiosk: the SSH host key and machine-id are the same after the reboots"
		qemu_run 'test ! -e /etc/aim-kiosk-etc' 30
		ok $? "kiosk: the file written to /etc in case 1 is gone after the reboots"
		out=$(qemu_run 'cat /home/aim-kiosk-home' 30)
		[ "$out" = kept-2 ]
		ok $? "kiosk: the file written to /home in case 1 survived (got '$out')" ;;
	esac
	qemu_poweroff 120
	ok $? "$1: clean poweroff"
	qemu_stop
	out=$(newest_state)
	diag "$1: newest state copy after the fallback:" "$out"
	printf '%s\n' "$out" | grep -qx 'aim_try=' && printf '%s\n' "$out" | grep -qx 'aim_active=a' &&
		printf '%s\n' "$out" | grep -qx 'aim_tries_b=0' &&
		printf '%s\n' "$out" | grep -q "^aim_reason=$why"
	ok $? "$1: state: trial cancelled, active a, aim_reason says why"
}

# ---- case 1: garbage kernel in slot b ----
head -c 1048576 /dev/urandom >"$tmp/garbage"
# shellcheck disable=SC2086
mcopy -o $M "$tmp/garbage" ::/slot-b/Image && trial_b 10
ok $? "case 1: /slot-b/Image overwritten with garbage, state: b on trial, 3 tries"
t0=$(date +%s)
boot_until_fallback kernel
ok $? "case 1: U-Boot fell back to slot a by itself (${FB_SECS:-?} s, ${FB_RUNS:-?} QEMU runs)"
report kernel
[ "$TRIALS" = 3 ]
ok $? "case 1: exactly 3 trial boots of b were counted before the fallback (got $TRIALS)"
grep -q '^armimmutable: slot b has no tries left (3 of 3), booting a' "$tmp/kernel.events"
ok $? "case 1: U-Boot says slot b has no tries left"
check_slot_a "case 1" "slot b ran out of tries"
diag "case 1 total: $(( $(date +%s) - t0 )) s"

# ---- case 2: one flipped byte in slot b's squashfs, good kernel ----
# Byte 1000 of p3: in data block 0 (after the 96-byte superblock, which is all that
# initramfs-tools' unverified mount reads there), so the verity mount reads it at once.
flip() { # flip OFFSET: complements the byte at OFFSET of the image
	local v
	v=$(od -An -tu1 -j "$1" -N1 "$IMG" | tr -d ' ')
	printf "\\$(printf %03o $((255 - v)))" |
		dd of="$IMG" bs=1 seek="$1" count=1 conv=notrunc status=none
}
# shellcheck disable=SC2086
mcopy -o $M "::/slot-a/Image" "$tmp/Image" 2>/dev/null || mtype $M ::/slot-a/Image >"$tmp/Image"
# shellcheck disable=SC2086
mcopy -o $M "$tmp/Image" ::/slot-b/Image && flip $((P3 + 1000)) && trial_b 20
ok $? "case 2: slot b kernel restored, one byte of p3 flipped, state: b on trial, 3 tries"
t0=$(date +%s)
boot_until_fallback root
ok $? "case 2: U-Boot fell back to slot a by itself (${FB_SECS:-?} s, ${FB_RUNS:-?} QEMU runs)"
report root
[ "$TRIALS" = 3 ]
ok $? "case 2: exactly 3 trial boots of b were counted before the fallback (got $TRIALS)"
n=$(grep -c 'dm-verity device corrupted' "$tmp/root.events")
[ "$n" = 3 ]
ok $? "case 2: dm-verity caught the flipped byte and restarted the board, $n times"
check_slot_a "case 2" "slot b ran out of tries"
diag "case 2 total: $(( $(date +%s) - t0 )) s"

# ---- case 3: slot b's slot.env edited (root hash changed, signature left) ----
flip $((P3 + 1000))
# shellcheck disable=SC2086
mtype $M ::/slot-b/slot.env >"$tmp/slot-b.env.orig"
# shellcheck disable=SC2086
mtype $M ::/slot-b/slot.env | tr -d '\r' |
	sed 's/^verity_root=\(.\)/verity_root=\1\1/; s/^verity_root=\(.\{64\}\).*/verity_root=\1/' \
	>"$tmp/slot.env" && mcopy -o $M "$tmp/slot.env" ::/slot-b/slot.env && trial_b 30
ok $? "case 3: slot b's byte restored, its slot.env root hash edited (signature kept), b on trial"
t0=$(date +%s)
boot_until_fallback env 'armimmutable: slot a (good)'
ok $? "case 3: the device came back to slot a by itself (${FB_SECS:-?} s, ${FB_RUNS:-?} QEMU runs)"
report env
[ "$TRIALS" = 1 ]
ok $? "case 3: one trial boot of b (got $TRIALS)"
grep -q 'aim-boot: slot b refused: slot.env signature' "$tmp/env-1.log"
ok $? "case 3: aim-boot refused slot b: the signature of slot.env fails"
check_slot_a "case 3" "slot b refused: slot.env signature"
diag "case 3 total: $(( $(date +%s) - t0 )) s"

# ---- case 4: bit rot in the good active slot a, slot b good: the corruption rule ----
P2=$(( $(pstart 1) * 512 ))
# shellcheck disable=SC2086
mcopy -o $M "$tmp/slot-b.env.orig" ::/slot-b/slot.env && flip $((P2 + 1000)) &&
	mdel $M ::/bootcount.txt 2>/dev/null
state 1 41 a "" 0 1 && state 2 40 a "" 0 1
ok $? "case 4: slot b's slot.env restored, one byte of p2 (slot a) flipped, state: a active, both good"
t0=$(date +%s)
boot_until_fallback rot 'armimmutable: slot b (fallback)'
ok $? "case 4: the device moved to slot b by itself (${FB_SECS:-?} s, ${FB_RUNS:-?} QEMU runs)"
report rot
n=$(grep -c 'dm-verity device corrupted' "$tmp/rot.events")
[ "$n" = 3 ]
ok $? "case 4: dm-verity caught the flipped byte in slot a and restarted the board, $n times"
grep -q '^armimmutable: slot a failed 3 boots in a row before boot-complete, booting b' \
	"$tmp/rot.events"
ok $? "case 4: U-Boot says slot a failed 3 boots in a row and boots b"
qemu_shell 500
ok $? "case 4: slot b gives a root shell ($(qemu_elapsed) s)"
ROOT_B=$(tr -d '\r' <"$tmp/slot-b.env.orig" | sed -n 's/^verity_root=//p')
out=$(qemu_run 'findmnt -n -o SOURCE /run/aim/lower; /usr/lib/armimmutable/aim-boot verity-table' 30)
case "$out" in "/dev/mapper/aim-root-b"*"aim-root-b: 0 "*" sha256 $ROOT_B "*" restart_on_corruption") r=0 ;; *) r=1 ;; esac
ok $r "case 4: / is slot B through dm-verity with b's signed root hash"
[ $r = 0 ] || diag "case 4: $out"
why="slot a failed 3 boots in a row before boot-complete: now b"
out=$(qemu_run 'armimmutable status' 60)
case "$out" in *"$why"*) r=0 ;; *) r=1 ;; esac
ok $r "case 4: armimmutable status gives the reason ('$why')"
[ $r = 0 ] || diag "status: $out"
qemu_poweroff 120
ok $? "case 4: clean poweroff"
qemu_stop
out=$(newest_state)
diag "case 4: newest state copy:" "$out"
printf '%s\n' "$out" | grep -qx 'aim_active=b' && printf '%s\n' "$out" | grep -qx 'aim_good_a=0' &&
	printf '%s\n' "$out" | grep -q "^aim_reason=$why"
ok $? "case 4: state: b active, a no longer good, aim_reason says why"
diag "case 4 total: $(( $(date +%s) - t0 )) s"
if [ $T_FAIL != 0 ]; then
	for f in "$tmp"/*.log; do
		diag "---- tail of $f"
		tail -n 40 "$f" | tr -d '\r' | sed 's/^/#   /'
	done
fi
done_testing
