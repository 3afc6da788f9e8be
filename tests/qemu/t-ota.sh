#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Over-the-air updates on real U-Boot in QEMU, installed by the device itself:
#   v1: the bootable sample, converted with our key trusted (--trust), boots on slot a;
#   v2: a second sample (other VERSION and /etc/armimmutable-sample, shared libraries
#       updated: pair s2 of docs/delta.md), bundled on the host, installed as a delta;
#   v3: a third sample whose userspace never completes boot (a unit boot-complete.target
#       requires fails), bundled with --trial-timeout 20.
# The bundles reach the guest on a second virtio disk (ext4, label aimbundles; the guest
# has no network). In the guest, `armimmutable install` (the static device build that
# convert put in /usr/sbin) writes the inactive slot:
#   boot 1 (v1 on a): the owner configures it (root password, hostname, a network file,
#           a user with a home file, an edit of /etc/armimmutable-sample, which v2
#           changes too, and of a file under /usr); install v2 -> b on trial; power off;
#   boot 2: U-Boot boots b on trial, v2 runs, armimmutable-mark-good.service marks b good;
#           the state was carried (docs/state.md): password, hostname, network file,
#           user, machine-id, SSH host key; the /usr change is not; the edited file is the
#           owner's with v2's beside it as .aim-new; v2's new system user aimsvc exists;
#           rollback; power off;
#   boot 3: v1 on a with its state as it was; install v3 -> b on trial; power off;
#   boots 4..: v3 never reaches boot-complete; the trial watchdog reboots it; after its
#           tries U-Boot falls back to a by itself, v1 runs, the state says why;
#   then an install of v3 is cut by killing QEMU mid-write; the next boot is v1 on a,
#   and the install then succeeds.
# `status --json` is checked at each step. dm-verity (docs/verity.md): v1 (--trust, not
# signed) boots with no keys in its initramfs; v2 (bundle create -k) brings an initramfs
# with the key, and slot b's signed slot.env is checked and mapped.
# aim-timeout: 3600 (eight boots plus three trial boots; 30 min were not enough on a loaded
# two-core host)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
AIM="$top/$B/armimmutable"
# shellcheck source=tests/qemu/lib.sh
. "$top/tests/qemu/lib.sh"

qemu_available || skip_all "qemu-system-aarch64 or U-Boot missing (tools/deps.sh --qemu)"
[ -x "$top/$B/dev/arm64/armimmutable" ] ||
	skip_all "no device build of the CLI ($B/dev/arm64/armimmutable: make device)"
for c in mke2fs jq sfdisk mtype; do
	command -v $c >/dev/null 2>&1 || skip_all "$c missing"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aim-t-ota.XXXXXX")
chmod 0777 "$tmp"
cleanup() { qemu_stop; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'qemu_stopped_by_signal; exit 143' TERM INT HUP

sample() { # sample OPTIONS...: path of the cached bootable sample
	"$top/tests/sample/mkbootable.sh" "$@" 2>>"$tmp/mk.err" | tail -n 1
}
v1=$(sample) v2=$(sample --version 25.11.0-v2 --marker "armimmutable sample v2" --system-user aimsvc \
	--variant s2)
v3=$(sample --version 25.11.1-v3 --marker "armimmutable sample v3" --break-boot)
if [ ! -f "$v1" ] || [ ! -f "$v2" ] || [ ! -f "$v3" ]; then
	[ "$(id -u)" != 0 ] && skip_all "samples not cached and building them needs root"
	ok 1 "samples v1, v2, v3 available"
	tail -n 20 "$tmp/mk.err" | sed 's/^/# /'
	done_testing
	exit 1
fi
ok 0 "samples v1, v2, v3 available"

# ---- host: key, v1 image, v2/v3 bundles, the bundle disk ----
"$AIM" -q keygen --no-password -p "$tmp/k.pub" -s "$tmp/k.key"
KEYID=$(sed -n 's/^untrusted comment: minisign public key //p' "$tmp/k.pub")
ok $? "keygen"
"$AIM" -q convert --trust "$tmp/k.pub" --persist=/home "$v1" "$tmp/v1.img" 2>"$tmp/err"
ok $? "convert v1 with the key trusted"
[ -f "$tmp/v1.img" ] || { diag "$(cat "$tmp/err")"; done_testing; exit 1; }
truncate -s +256M "$tmp/v1.img"
mkdir "$tmp/bundles"
"$AIM" -q bundle create -k "$tmp/k.key" -o "$tmp/bundles/v2.aimb" --persist=/home \
	--from-image "$v2" 2>"$tmp/err"
ok $? "bundle create v2 ($(($(stat -c %s "$tmp/bundles/v2.aimb" 2>/dev/null || echo 0) >> 20)) MiB)"
"$AIM" -q bundle create -k "$tmp/k.key" -o "$tmp/bundles/v3.aimb" --persist=/home \
	--trial-timeout 20 --from-image "$v3" 2>>"$tmp/err"
ok $? "bundle create v3 (--trial-timeout 20)"
[ -s "$tmp/err" ] && diag "$(cat "$tmp/err")"
size=$(du -sm "$tmp/bundles" | cut -f1)
mke2fs -q -t ext4 -L aimbundles -d "$tmp/bundles" "$tmp/bundles.img" "$((size + 64))M" >/dev/null
ok $? "the bundle disk (ext4, ${size} MiB of bundles)"
rm -rf "$tmp/bundles"
# before the boot disk on the command line: see QEMU_PRE_DEVICES in lib.sh
QEMU_PRE_DEVICES="-drive if=none,file=$tmp/bundles.img,format=raw,id=hd1,readonly=on -device virtio-blk-device,drive=hd1"

boot() { # boot LOG WHAT: boot v1.img with the bundle disk, wait for multi-user and a shell
	local _t0 _rc
	_t0=$(date +%s)
	qemu_boot "$tmp/v1.img" "$tmp/$1"
	qemu_wait_multiuser 900
	_rc=$?
	ok $_rc "$2: multi-user.target ($(( $(date +%s) - _t0 )) s host time)"
	[ $_rc = 0 ] && qemu_run 'mkdir -p /mnt/b && mount -o ro LABEL=aimbundles /mnt/b' 60
}
status() { qemu_run 'armimmutable status --json' 60 >"$tmp/status.json"; }
jqs() { jq -r "$1" "$tmp/status.json" 2>/dev/null; }
slot() { jqs ".slots[] | select(.name == \"$1\") | $2"; }
fail_tail() {
	[ $T_FAIL = 0 ] && return 0
	diag "console log tail ($1):"
	tail -n 40 "$tmp/$1" | tr -d '\r' | sed 's/^/#   /'
}
install() { # install BUNDLE: in the guest, exit status returned, JSON progress in $tmp/prog
	qemu_run "armimmutable install --progress=json /mnt/b/$1 2>/tmp/prog; r=\$?; tail -n 3 /tmp/prog; (exit \$r)" 900 >"$tmp/prog"
}

# ---- boot 1: v1 on slot a, install v2 ----
if boot v1.log "boot 1 (v1)"; then
	status
	[ "$(jqs .booted_slot)" = a ] && [ "$(slot a .version)" = 25.8.0-sample ]
	ok $? "status: booted a, running 25.8.0-sample"
	[ $? = 0 ] || diag "$(cat "$tmp/status.json")"
	# --trust without --sign (docs/verity.md): no keys in the initramfs, the unsigned slot
	# boots (through dm-verity when the kernel has it, unsigned)
	out=$(qemu_run 'grep "^verity" /run/armimmutable/boot.env' 30)
	case " $(echo $out) " in *" verity=0 "* | *" verity_signed=- "*) r=0 ;; *) r=1 ;; esac
	ok $r "v1 (--trust, not signed): boots, slot.env not checked ($(echo $out))"
	# the owner configures the device (what armbian-firstlogin and the owner do)
	# (one line: the guest's shell reads what is typed, a tab would complete)
	qemu_run 'echo root:aim-secret | chpasswd && echo aimbox >/etc/hostname && mkdir -p /etc/network/interfaces.d && echo "iface eth9 inet dhcp" >/etc/network/interfaces.d/aim && useradd -m -s /bin/bash owner && echo hello >/home/owner/file && echo "owner edit" >>/etc/armimmutable-sample && echo AIMUSR >>/usr/share/base-files/motd' 60
	ok $? "v1: the owner sets the root password, hostname, a network file, a user, edits /etc and /usr"
	ident=$(qemu_run 'getent shadow root | cut -d: -f2; cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2' 30)
	set -- $ident
	[ $# = 3 ] && [ ${#2} = 32 ]
	ok $? "v1: root's password hash, machine-id ${2:-?}, SSH host key ${3:-?}"
	v1_state=$(echo $ident)
	status
	[ "$(jqs '.layer.changed[] | select(.path == "/usr") | .carried')" = false ] &&
		[ "$(jqs '.layer.changed[] | select(.path == "/etc") | .carried')" = true ]
	ok $? "status: the writable layer holds /etc (carried at an update) and /usr (dropped)"
	t0=$(date +%s)
	qemu_run "armimmutable install --progress=none /mnt/b/v2.aimb 2>&1" 900 >"$tmp/prog"
	r=$?
	ok $r "install v2 in the guest ($(( $(date +%s) - t0 )) s)"
	[ $r = 0 ] || diag "$(cat "$tmp/prog")"
	# v2 is v1 with shared libraries updated (pair s2 of docs/delta.md): read as a delta from
	# the bundle disk, only what slot a lacks
	pct=$(sed -n 's/.*delta: fetched .* bundle (\([0-9]*\)\.[0-9] %).*/\1/p' "$tmp/prog")
	[ -n "$pct" ] && [ "$pct" -lt 15 ]
	ok $? "install v2 read the bundle as a delta: $(grep -o 'fetched .*' "$tmp/prog" | head -n 1)"
	grep 'first boot of slot b carries' "$tmp/prog" | grep 'keeps.*/etc' | grep -q 'drops.*/usr'
	ok $? "install says what the first boot of slot b keeps and drops"
	diag "$(grep 'first boot of slot' "$tmp/prog")"
	status
	[ "$(slot b .version)" = 25.11.0-v2 ] && [ "$(slot b .on_trial)" = true ] &&
		[ "$(jqs .state.next_boot)" = b ] && [ "$(jqs .booted_slot)" = a ]
	ok $? "status: slot b holds v2, on trial, next boot b"
	[ $? = 0 ] || diag "$(cat "$tmp/status.json")"
fi
qemu_poweroff 180
ok $? "boot 1: clean poweroff"
fail_tail v1.log

# ---- boot 2: v2 on b (trial), marked good; install v3 into a ----
if boot v2.log "boot 2 (v2 on trial)"; then
	qemu_text | grep -q 'armimmutable: slot b (trial)'
	ok $? "U-Boot booted slot b on trial"
	# the signed bundle brought an initramfs with the key: slot b's slot.env is checked
	out=$(qemu_run 'grep "^verity" /run/armimmutable/boot.env' 30)
	case " $(echo $out) " in *" verity=1 "*" verity_signed=$KEYID "*) r=0 ;; *) r=1 ;; esac
	ok $r "v2 (bundle create -k): slot b mapped through dm-verity, slot.env signed by $KEYID ($(echo $out))"
	out=$(qemu_run 'cat /etc/armimmutable-sample.aim-new; sed -n "s/^VERSION=//p" /etc/armbian-release' 30)
	[ "$out" = "armimmutable sample v2
25.11.0-v2" ]
	ok $? "v2 runs (marker beside the owner's edit, and VERSION: $(echo $out))"
	ident=$(qemu_run 'getent shadow root | cut -d: -f2; cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2' 30)
	[ "$(echo $ident)" = "$v1_state" ]
	ok $? "v2: root's password, machine-id and SSH host key carried from v1"
	[ $? = 0 ] || diag "v1: $v1_state; v2: $(echo $ident)"
	out=$(qemu_run 'cat /etc/hostname /etc/network/interfaces.d/aim /home/owner/file; id -un owner' 30)
	[ "$out" = "aimbox
iface eth9 inet dhcp
hello
owner" ]
	ok $? "v2: hostname, network file, the user and its home carried"
	[ $? = 0 ] || diag "$out"
	out=$(qemu_run 'grep -c AIMUSR /usr/share/base-files/motd; tail -n 1 /etc/armimmutable-sample; getent passwd aimsvc | cut -d: -f1; getent group aimsvc | cut -d: -f1' 30)
	[ "$out" = "0
owner edit
aimsvc
aimsvc" ]
	ok $? "v2: the /usr change is gone, the owner's /etc edit kept, v2's system user and group exist"
	[ $? = 0 ] || diag "$out"
	out=$(qemu_run 'grep -c "^conflict /etc/armimmutable-sample:" /run/armimmutable/carry.log; grep -c "^drop /usr$" /run/armimmutable/carry.log' 30)
	[ "$out" = "1
1" ]
	ok $? "carry.log: the conflict and the dropped /usr"
	[ $? = 0 ] || diag "$(qemu_run 'cat /run/armimmutable/carry.log' 30)"
	diag "$(qemu_text | grep -m1 'new system, state carried' | sed 's/.*aim-boot: //')"
	out=$(qemu_run 'for i in $(seq 120); do systemctl is-active -q armimmutable-mark-good.service && break; sleep 1; done; systemctl is-active armimmutable-mark-good.service' 150)
	[ "$out" = active ]
	ok $? "armimmutable-mark-good.service ran after boot-complete.target"
	status
	[ "$(jqs .booted_slot)" = b ] && [ "$(slot b .good)" = true ] &&
		[ "$(slot b .active)" = true ] && [ "$(slot b .on_trial)" = false ]
	ok $? "status: booted b, b good and active, no trial"
	[ $? = 0 ] || diag "$(cat "$tmp/status.json")"
	qemu_run 'armimmutable rollback' 60 >/dev/null
	ok $? "rollback to slot a (v1)"
fi
qemu_poweroff 180
ok $? "boot 2: clean poweroff"
fail_tail v2.log

# ---- boot 3: v1 on a with its state as it was; install v3 into b ----
if boot v1b.log "boot 3 (rolled back to v1)"; then
	out=$(qemu_run 'sed -n "s/^VERSION=//p" /etc/armbian-release; grep -c AIMUSR /usr/share/base-files/motd; tail -n 1 /etc/armimmutable-sample; ls /etc/armimmutable-sample.aim-new 2>&1 >/dev/null | wc -l; getent passwd aimsvc | wc -l; cat /etc/hostname' 30)
	ident=$(qemu_run 'getent shadow root | cut -d: -f2; cat /etc/machine-id; ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | cut -d" " -f2' 30)
	[ "$out" = "25.8.0-sample
1
owner edit
1
0
aimbox" ] && [ "$(echo $ident)" = "$v1_state" ]
	ok $? "rollback: v1 with its own state (its /usr change, no .aim-new, no aimsvc)"
	[ $? = 0 ] || diag "$out / $(echo $ident)"
	install v3.aimb
	r=$?
	ok $r "install v3 into slot b"
	[ $r = 0 ] || diag "$(cat "$tmp/prog")"
	status
	[ "$(slot b .version)" = 25.11.1-v3 ] && [ "$(slot b .on_trial)" = true ]
	ok $? "status: slot b holds v3, on trial"
fi
qemu_poweroff 180
ok $? "boot 3: clean poweroff"
fail_tail v1b.log

# ---- boots 3..: v3 never completes boot; the watchdog reboots; U-Boot falls back ----
t0=$(date +%s)
qemu_boot "$tmp/v1.img" "$tmp/v3.log"
qemu_wait 'armimmutable: slot a \(fallback\)' 1500
r=$?
trials=$(qemu_text | grep -c '^armimmutable: slot b (trial)')
ok $r "v3 was rebooted by the trial watchdog and U-Boot fell back to a ($trials trial boots of b, $(( $(date +%s) - t0 )) s)"
n=$(qemu_text | grep -c 'trial boot not marked good within 20 s')
diag "the trial watchdog said why it rebooted on the console $n times"
qemu_shell 900
ok $? "fallback boot: shell"
out=$(qemu_run 'sed -n "s/^VERSION=//p" /etc/armbian-release; cat /etc/hostname' 30)
[ "$out" = "25.8.0-sample
aimbox" ]
ok $? "v1 runs again, with its state (got '$(echo $out)')"
qemu_run 'for i in $(seq 120); do systemctl is-active -q multi-user.target && break; sleep 1; done; mkdir -p /mnt/b && mount -o ro LABEL=aimbundles /mnt/b' 150 >/dev/null
status
[ "$(jqs .booted_slot)" = a ] && [ "$(slot b .good)" = false ] && [ "$(slot b .on_trial)" = false ] &&
	[ "$(slot a .active)" = true ]
ok $? "status: booted a, slot b not good and off trial, a active"
reason=$(jqs .state.reason)
case "$reason" in *"slot b ran out of tries"*) r=0 ;; *) r=1 ;; esac
ok $r "status: the state says why ($reason)"

# ---- an install cut by a power loss ----
qemu_send "armimmutable install --progress=json /mnt/b/v3.aimb 2>/tmp/cut.json &"
cut=0
for _ in $(seq 600); do
	sleep 1
	p=$(qemu_run 'tail -n 1 /tmp/cut.json' 20 | sed -n 's/.*"done":\([0-9]*\).*"total":\([0-9]*\).*/\1 \2/p')
	set -- $p
	if [ $# = 2 ] && [ "$2" -gt 0 ] && [ $(( $1 * 100 / $2 )) -ge 30 ]; then
		cut=$(( $1 * 100 / $2 ))
		break
	fi
done
qemu_stop
[ "$cut" -gt 0 ]
ok $? "QEMU killed during the install of v3 (at ${cut}% of a payload)"
fail_tail v3.log
if boot cut.log "boot after the cut"; then
	out=$(qemu_run 'sed -n "s/^VERSION=//p" /etc/armbian-release' 30)
	[ "$out" = "25.8.0-sample" ]
	ok $? "after the cut the good slot a (v1) boots"
	install v3.aimb
	r=$?
	ok $r "the install then succeeds"
	[ $r = 0 ] || diag "$(cat "$tmp/prog")"
	status
	[ "$(slot b .version)" = 25.11.1-v3 ] && [ "$(slot b .on_trial)" = true ] &&
		[ "$(jqs .booted_slot)" = a ]
	ok $? "status: slot b holds v3 on trial again, a booted"
fi
qemu_poweroff 180
ok $? "last boot: clean poweroff"
fail_tail cut.log
done_testing
