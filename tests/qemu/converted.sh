# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared set-up of the QEMU tests that convert the bootable sample (sourced after lib.sh,
# with T_NAME set): skips when QEMU or mtools are missing, makes $tmp (removed at exit,
# QEMU stopped), copies the cached sample to $IN, and defines convert (as an ordinary user
# when root), mt (mtools on p1), state_record, newest_state, boot_to_shell and fail_tail.
qemu_available || skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"
command -v mtype >/dev/null 2>&1 || skip_all "mtools missing"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-$T_NAME.XXXXXX")
chmod 0777 "$tmp"
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP

src=$("$top/tests/sample/mkbootable.sh" 2>"$tmp/mk.err" | tail -n 1) || src=""
if [ -z "$src" ] && [ "$(id -u)" != 0 ]; then
	skip_all "no cached sample and building it needs root"
fi
[ -n "$src" ] && [ -f "$src" ]
ok $? "sample image available"
[ -f "$src" ] || { cat "$tmp/mk.err" >&2; done_testing; exit 1; }
cp --sparse=always "$src" "$tmp/sample.img"
chmod 0644 "$tmp/sample.img"
IN=$tmp/sample.img

convert() { # convert OUT [OPTIONS...]: as an ordinary user when we are root
	local _out
	_out=$1
	shift
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			"$AIM" -q convert "$@" "$IN" "$_out" 2>"$tmp/conv.err"
	else
		"$AIM" -q convert "$@" "$IN" "$_out" 2>"$tmp/conv.err"
	fi
}

# mtools on the boot partition (p1) of image $1
boot_off() { sfdisk -J "$1" | jq -r '.partitiontable.partitions[0].start * 512'; }
mt() { # mt IMG CMD ARGS...: CMD is an mtools command; "::" paths are on p1
	local _img _cmd
	_img=$1
	_cmd=$2
	shift 2
	MTOOLS_SKIP_CHECK=1 "$_cmd" -i "$_img@@$(boot_off "$_img")" "$@"
}

# state_record SEQ GOOD_A: a valid slot state copy (docs/boot.md), slot a active.
state_record() {
	local _body _crc
	_body=$(printf 'aim_seq=%s\naim_active=a\naim_try=\naim_tries_a=0\naim_tries_b=0\naim_good_a=%s\naim_good_b=1\naim_reason=\n' "$1" "$2")
	_crc=$(printf '%s\n' "$_body" | gzip -c | tail -c 8 | od -An -tx4 -N4 | tr -d ' ')
	printf '%s\naim_crc=%s\n' "$_body" "$_crc"
}

# newest_state IMG: the newest valid-looking copy's lines (highest aim_seq)
newest_state() {
	local _a _b _sa _sb
	_a=$(mt "$1" mtype ::state-1.txt 2>/dev/null | tr -d '\r')
	_b=$(mt "$1" mtype ::state-2.txt 2>/dev/null | tr -d '\r')
	_sa=$(printf '%s\n' "$_a" | sed -n 's/^aim_seq=//p')
	_sb=$(printf '%s\n' "$_b" | sed -n 's/^aim_seq=//p')
	if [ "${_sb:-0}" -gt "${_sa:-0}" ]; then printf '%s\n' "$_b"; else printf '%s\n' "$_a"; fi
}

boot_to_shell() { # boot_to_shell IMG LOG WHAT
	local _rc _t0
	_t0=$(date +%s)
	qemu_boot "$1" "$2"
	qemu_wait_multiuser 600
	_rc=$?
	ok $_rc "$3: systemd reached multi-user.target ($(( $(date +%s) - _t0 )) s host time)"
	[ $_rc = 0 ]
}

fail_tail() { # the console log tail when something failed so far
	[ $T_FAIL = 0 ] && return 0
	diag "console log tail ($1):"
	tail -n 50 "$1" | tr -d '\r' | sed 's/^/#   /'
}

