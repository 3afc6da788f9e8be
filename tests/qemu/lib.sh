# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=sh disable=SC3043,SC2034
# Helpers for the QEMU boot tests (tests/qemu/t-*.sh). Source it from a POSIX shell that
# has `local` (dash, bash, busybox sh).
#
# The guest is QEMU virt (arm64, TCG), Debian's U-Boot as -bios, the image as a virtio
# disk, no network. QEMU_FW picks another machine: QEMU_FW=aavmf is the same virt machine
# with Debian's UEFI firmware (qemu-efi-aarch64) in pflash, QEMU_FW=ovmf a q35 PC (TCG)
# with Debian's OVMF, QEMU_FW=seabios the same PC with QEMU's own BIOS; these take the disk
# as virtio-blk-pci, and each UEFI run gets its own copy of the firmware's variable store. The serial console (ttyAMA0 on virt, ttyS0 on the PC)
# is a QEMU "pipe" chardev: two FIFOs,
# <dir>/serial.in (we write, the guest reads) and <dir>/serial.out (the guest writes, a
# background cat appends it to the LOG file). QEMU opens both FIFOs read-write, so
# neither side ever blocks on open, and no socat/python is needed.
#
#   qemu_boot IMG LOG [extra qemu args]   start QEMU in the background (QEMU_PID set)
#   qemu_wait PATTERN TIMEOUT             wait for an extended regex in the log; sets
#                                         QEMU_WAIT_SECS (seconds since QEMU started)
#   qemu_shell TIMEOUT                    wait for a root shell on the console
#   qemu_run 'CMD' [TIMEOUT]              run CMD in the guest shell, print its output,
#                                         return its exit status (124 on timeout)
#   qemu_guest_multiuser                  kernel start to multi-user.target, guest clock
#   qemu_poweroff TIMEOUT                 poweroff in the guest, wait for QEMU to exit
#   qemu_stop                             kill QEMU (by its PID) and clean up; idempotent
#   qemu_elapsed                          seconds since QEMU started (one decimal)
#   qemu_stopped_by_signal                for the TERM trap: the console's last lines
# Settings: QEMU_FW (uboot, aavmf, ovmf or seabios), QEMU_MEM (1024), QEMU_SMP (2), QEMU_BIOS
# (Debian's qemu_arm64 u-boot.bin), QEMU_AAVMF and QEMU_OVMF (the firmware's CODE image;
# the VARS template is the file of the same name with VARS for CODE),
# QEMU_PRE_DEVICES: further QEMU arguments placed before the boot disk. On -M virt the
# virtio-mmio devices are numbered in reverse: a disk given after the boot disk would
# become virtio 0, which is the only one U-Boot's distro boot scans.
# Tests must `trap qemu_stop EXIT` so that a failing test never leaves a QEMU behind.

QEMU_PID=""
QEMU_CAT_PID=""
QEMU_DIR=""
QEMU_LOG=""
QEMU_START=""
QEMU_WAIT_SECS=""
: "${QEMU_BIOS:=/usr/lib/u-boot/qemu_arm64/u-boot.bin}"
: "${QEMU_FW:=uboot}"
: "${QEMU_AAVMF:=/usr/share/AAVMF/AAVMF_CODE.fd}"
: "${QEMU_OVMF:=/usr/share/OVMF/OVMF_CODE_4M.fd}"
: "${QEMU_MEM:=1024}"
: "${QEMU_SMP:=2}"

qemu_now() { date +%s.%N; }

# qemu_text: the console log as plain lines: no CR, no ANSI/VT escape sequences (bash's
# bracketed-paste toggles land at the start of a command's first output line).
qemu_text() {
	tr -d '\r' <"$QEMU_LOG" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[()][0-9A-Za-z]//g'
}

qemu_elapsed() {
	awk -v a="$QEMU_START" -v b="$(qemu_now)" 'BEGIN { printf "%.1f\n", b - a }'
}

# qemu_available: 0 when everything needed to boot images on QEMU_FW's machine is there.
qemu_available() {
	case "$QEMU_FW" in
	uboot) command -v qemu-system-aarch64 >/dev/null 2>&1 && [ -r "$QEMU_BIOS" ] ;;
	aavmf) command -v qemu-system-aarch64 >/dev/null 2>&1 && [ -r "$QEMU_AAVMF" ] &&
		[ -r "$(qemu_vars "$QEMU_AAVMF")" ] ;;
	ovmf) command -v qemu-system-x86_64 >/dev/null 2>&1 && [ -r "$QEMU_OVMF" ] &&
		[ -r "$(qemu_vars "$QEMU_OVMF")" ] ;;
	seabios) command -v qemu-system-x86_64 >/dev/null 2>&1 ;;
	*) return 1 ;;
	esac
}

# qemu_vars CODE: the variable store template that goes with a UEFI CODE image.
qemu_vars() {
	printf '%s\n' "$1" | sed 's/\(.*\)CODE/\1VARS/'
}

# qemu_kernel_started: the console pattern that says the firmware has handed over to the
# kernel (nothing typed before it: a key press stops U-Boot's autoboot).
qemu_kernel_started() {
	case "$QEMU_FW" in
	uboot) echo 'Starting kernel' ;;
	*) echo 'EFI stub: |Linux version [0-9]' ;;
	esac
}

# qemu_machine DIR: the machine and firmware arguments of QEMU_FW (one a line).
qemu_machine() {
	local _code
	case "$QEMU_FW" in
	uboot) printf '%s\n' qemu-system-aarch64 -M virt,acpi=off -cpu cortex-a57 -bios "$QEMU_BIOS" ;;
	seabios) printf '%s\n' qemu-system-x86_64 -M q35 -accel tcg ;;
	aavmf|ovmf)
		if [ "$QEMU_FW" = aavmf ]; then
			_code=$QEMU_AAVMF
			printf '%s\n' qemu-system-aarch64 -M virt -cpu cortex-a57
		else
			_code=$QEMU_OVMF
			printf '%s\n' qemu-system-x86_64 -M q35 -accel tcg
		fi
		cp "$(qemu_vars "$_code")" "$1/vars.fd" || return 1
		printf '%s\n' -drive "if=pflash,format=raw,unit=0,readonly=on,file=$_code" \
			-drive "if=pflash,format=raw,unit=1,file=$1/vars.fd"
		;;
	esac
}

qemu_boot() {
	local _img _machine _blk
	_img=$1
	QEMU_LOG=$2
	shift 2
	[ -r "$_img" ] || { echo "qemu_boot: no image $_img" >&2; return 1; }
	qemu_available || { echo "qemu_boot: QEMU or the firmware for QEMU_FW=$QEMU_FW missing" >&2; return 1; }
	QEMU_DIR=$(mktemp -d "${TMPDIR:-/tmp}/aim-qemu.XXXXXX") || return 1
	mkfifo "$QEMU_DIR/serial.in" "$QEMU_DIR/serial.out" || return 1
	_machine=$(qemu_machine "$QEMU_DIR") || return 1
	_blk=virtio-blk-device
	[ "$QEMU_FW" = uboot ] || _blk=virtio-blk-pci
	: >"$QEMU_LOG"
	QEMU_START=$(qemu_now)
	(
		# shellcheck disable=SC2086
		set -- ${QEMU_PRE_DEVICES:-} \
			-drive "if=none,file=$_img,format=raw,id=hd0" -device "$_blk,drive=hd0" "$@"
		# The machine's arguments are one a line (firmware paths may hold blanks).
		IFS='
'
		# shellcheck disable=SC2086
		exec $_machine -m "$QEMU_MEM" -smp "$QEMU_SMP" \
			-display none -monitor none -nic none \
			-chardev "pipe,id=ser0,path=$QEMU_DIR/serial" -serial chardev:ser0 "$@"
	) </dev/null >"$QEMU_DIR/qemu.stderr" 2>&1 &
	QEMU_PID=$!
	# QEMU creates nothing: the FIFOs exist, so cat's open succeeds once QEMU opens them.
	cat "$QEMU_DIR/serial.out" >>"$QEMU_LOG" &
	QEMU_CAT_PID=$!
	# Our writer end stays open read-write for the whole run: never blocks on open.
	exec 9<>"$QEMU_DIR/serial.in"
	return 0
}

qemu_alive() {
	[ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null
}

# qemu_wait PATTERN TIMEOUT: 0 when found, 1 on timeout, 2 when QEMU exited first.
qemu_wait() {
	local _pat _deadline
	_pat=$1
	_deadline=$(( $(date +%s) + $2 ))
	while :; do
		if qemu_text | grep -Eq -- "$_pat"; then
			QEMU_WAIT_SECS=$(qemu_elapsed)
			return 0
		fi
		if ! qemu_alive; then
			sleep 0.3
			qemu_text | grep -Eq -- "$_pat" && {
				QEMU_WAIT_SECS=$(qemu_elapsed); return 0; }
			echo "qemu_wait: QEMU exited before /$_pat/" >&2
			[ -s "$QEMU_DIR/qemu.stderr" ] && sed 's/^/qemu: /' "$QEMU_DIR/qemu.stderr" >&2
			return 2
		fi
		if [ "$(date +%s)" -ge "$_deadline" ]; then
			echo "qemu_wait: timeout after $2 s waiting for /$_pat/" >&2
			return 1
		fi
		sleep 0.2
	done
}

# qemu_newid: a marker id unique within this QEMU run, also from $(...) subshells.
qemu_newid() {
	local _n
	_n=$(cat "$QEMU_DIR/seq" 2>/dev/null || echo 0)
	_n=$((_n + 1))
	echo "$_n" >"$QEMU_DIR/seq"
	echo "${QEMU_DIR##*.}$_n"
}

# qemu_send TEXT: type TEXT followed by a newline on the guest console.
qemu_send() {
	printf '%s\n' "$1" >&9
}

# qemu_shell TIMEOUT: wait until a root shell answers on the console. Handles an
# autologin getty (the sample image) and a plain "login:" prompt with a password-less root.
qemu_shell() {
	local _deadline _typed_login _id _t
	_deadline=$(( $(date +%s) + $1 ))
	_typed_login=0
	while :; do
		_id=$(qemu_newid)
		if [ $_typed_login = 0 ] && qemu_text | grep -Eq 'login: *$'; then
			qemu_send root
			_typed_login=1
			sleep 3
		fi
		# The quotes keep the typed echo from matching: only the output line matches.
		qemu_send "echo AIM''READY$_id"
		_t=$(( _deadline - $(date +%s) ))
		[ $_t -gt 6 ] && _t=6
		[ $_t -lt 1 ] && { echo "qemu_shell: no shell within $1 s" >&2; return 1; }
		if qemu_wait "^AIMREADY$_id\$" "$_t" 2>/dev/null; then
			# Quieter console for the commands that follow.
			qemu_send "bind 'set enable-bracketed-paste off' 2>/dev/null; dmesg -n 1 2>/dev/null"
			return 0
		fi
		qemu_alive || { echo "qemu_shell: QEMU exited" >&2; return 2; }
	done
}

# qemu_run 'CMD' [TIMEOUT]: the output of CMD (CR stripped) on stdout, its status returned.
qemu_run() {
	local _id _out _rc
	_id=$(qemu_newid)
	qemu_send "echo AIM''B$_id; { $1
}; echo AIM''E$_id rc=\$?"
	qemu_wait "^AIME$_id rc=[0-9]+\$" "${2:-60}" || return 124
	_out=$(qemu_text | sed -n "/^AIMB$_id\$/,/^AIME$_id rc=/p")
	printf '%s\n' "$_out" | sed '1d;$d'
	_rc=$(printf '%s\n' "$_out" | sed -n "s/^AIME$_id rc=\([0-9]*\)\$/\1/p")
	return "${_rc:-125}"
}

# qemu_guest_multiuser: seconds from kernel start to multi-user.target in the guest's own
# monotonic clock (needs a shell). Comparable between images booted on a busy host only
# as much as the host's load allows: compare images booted back to back.
# qemu_wait_multiuser TIMEOUT: waits for the kernel's start (U-Boot's "Starting kernel"),
# then for a shell, then
# for multi-user.target to be
# active in the guest. systemd stops printing status lines once a getty owns the
# console, so "Reached target" on the console is not a reliable milestone.
qemu_wait_multiuser() {
	local _deadline _st
	_deadline=$(( $(date +%s) + $1 ))
	# Type nothing before the firmware has handed over: a key press stops U-Boot's autoboot.
	qemu_wait "$(qemu_kernel_started)" "$1" || return 1
	qemu_shell "$1" || return 1
	while :; do
		_st=$(qemu_run 'systemctl is-active multi-user.target' 30)
		[ "$_st" = active ] && return 0
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 2
	done
}

qemu_guest_multiuser() {
	local _us
	_us=$(qemu_run 'systemctl show -p ActiveEnterTimestampMonotonic --value multi-user.target' 30) ||
		return 1
	case "$_us" in ''|*[!0-9]*) return 1 ;; esac
	awk -v u="$_us" 'BEGIN { printf "%.1f\n", u / 1000000 }'
}

# qemu_poweroff TIMEOUT: 0 when QEMU exited by itself after a guest poweroff.
qemu_poweroff() {
	local _deadline
	qemu_alive || return 1
	qemu_send "poweroff"
	_deadline=$(( $(date +%s) + $1 ))
	while qemu_alive; do
		if [ "$(date +%s)" -ge "$_deadline" ]; then
			echo "qemu_poweroff: QEMU still running after $1 s" >&2
			return 1
		fi
		sleep 0.5
	done
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=""
	return 0
}

# qemu_stopped_by_signal: for a test's TERM trap (the runner's time limit, ^C): says so
# and shows the tail of the current console log, which the test's cleanup then removes.
qemu_stopped_by_signal() {
	echo "# stopped by a signal after $(qemu_elapsed 2>/dev/null || echo ?) s of QEMU run time"
	if [ -n "$QEMU_LOG" ] && [ -f "$QEMU_LOG" ]; then
		echo "# the last lines of its console ($QEMU_LOG):"
		qemu_text | tail -n 30 | sed 's/^/#   /'
	fi
}

qemu_stop() {
	local _i
	if qemu_alive; then
		kill "$QEMU_PID" 2>/dev/null
		_i=0
		while qemu_alive && [ $_i -lt 20 ]; do sleep 0.25; _i=$((_i + 1)); done
		qemu_alive && kill -9 "$QEMU_PID" 2>/dev/null
	fi
	[ -n "$QEMU_PID" ] && wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=""
	exec 9>&-
	if [ -n "$QEMU_CAT_PID" ]; then
		kill "$QEMU_CAT_PID" 2>/dev/null
		wait "$QEMU_CAT_PID" 2>/dev/null
		QEMU_CAT_PID=""
	fi
	[ -n "$QEMU_DIR" ] && rm -rf "$QEMU_DIR"
	QEMU_DIR=""
	return 0
}

# ---- TAP: the helpers every shell test shares ----
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"
