#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# The state carry (docs/state.md) on directory trees, through tests/integ/aim-carry.c
# (the library code aim-boot runs): an old system (v1) with an owner's writable layer, a
# new system (v2) that adds a daemon's system user and group and changes a config file:
#   - the account databases are merged (the owner's user, password and group membership
#     next to v2's new system user; copying v1's layer would have lost it);
#   - a file both changed keeps the owner's version, v2's beside it as FILE.aim-new;
#   - /usr and /var/lib/dpkg are dropped, /home, /root, the timesync clock kept;
#   - whiteouts (the first-login flag) and opaque directories are carried;
#   - the layer swap is cut at every fault point: the other slot's layer is never
#     touched, and a rerun finishes with the same result;
#   - persistent paths start from the image (overlay per directory, copy per file).
# Needs root (owners, whiteouts, trusted.* xattrs, overlay mounts).
. "$(dirname "$0")/lib.sh"
AC="$AIM_TOP/$B/tests/aim-carry"
[ -x "$AC" ] || { echo "1..0 # SKIP no $AC (make $B/tests/aim-carry)"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "1..0 # SKIP needs root (owners, whiteouts, xattrs)"; exit 0; }
for c in getfattr setfattr unshare; do
	command -v $c >/dev/null || { echo "1..0 # SKIP $c missing"; exit 0; }
done

manifest() { # manifest DIR: every entry with type, mode, owner, size, content hash, xattrs
	(cd "$1" && find . -path ./work -prune -o -print | LC_ALL=C sort | while read -r f; do
		printf '%s %s ' "$f" "$(stat -c '%F %a %u:%g %s %t:%T' "$f")"
		[ -f "$f" ] && [ ! -L "$f" ] && md5sum <"$f" | cut -c1-8
		getfattr -h -d -m trusted.overlay "$f" 2>/dev/null | grep -v '^#' | tr '\n' ' '
		echo
	done)
}

# ---- fixtures: v1 (old lower), v2 (new lower), the owner's layer on v1 (old upper) ----
OL=$TMP/v1 NL=$TMP/v2 OU=$TMP/layer
for d in "$OL" "$NL"; do
	mkdir -p "$d/etc/ssh" "$d/usr/bin" "$d/root" "$d/home" "$d/var/lib/dpkg" "$d/etc/keep.d"
	printf 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n' >"$d/etc/passwd"
	printf 'root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' >"$d/etc/shadow"
	printf 'root:x:0:\ndaemon:x:1:\nsudo:x:27:\nshadow:x:42:\n' >"$d/etc/group"
	printf 'root:*::\ndaemon:*::\nsudo:*::\nshadow:*::\n' >"$d/etc/gshadow"
	chmod 0640 "$d/etc/shadow" "$d/etc/gshadow"
	chgrp 42 "$d/etc/shadow" "$d/etc/gshadow"
	echo qemu-arm64 >"$d/etc/hostname"
	echo 'Port 22' >"$d/etc/ssh/sshd_config"
	echo v1 >"$d/etc/conf-user"
	: >"$d/root/.not_logged_in_yet"
	echo x >"$d/etc/keep.d/a"
done
for f in conf-both conf-upd armbian-release; do echo v1 >"$OL/etc/$f"; echo v2 >"$NL/etc/$f"; done
echo v1 >"$OL/usr/bin/tool"; echo v2 >"$NL/usr/bin/tool"
echo 'aimsvc:x:998:998::/nonexistent:/usr/sbin/nologin' >>"$NL/etc/passwd"
echo 'aimsvc:!:19000::::::' >>"$NL/etc/shadow"
echo 'aimsvc:x:998:' >>"$NL/etc/group"
echo 'aimsvc:!::' >>"$NL/etc/gshadow"

mkdir -p "$OU/etc/ssh" "$OU/usr/bin" "$OU/root" "$OU/home/owner" "$OU/var/lib/dpkg" \
	"$OU/var/lib/systemd/timesync" "$OU/etc/keep.d" "$OU/var/cache/apt"
cp -a "$OL/etc/passwd" "$OL/etc/shadow" "$OL/etc/group" "$OL/etc/gshadow" "$OU/etc/"
echo 'owner:x:1000:1000:Owner:/home/owner:/bin/bash' >>"$OU/etc/passwd"
sed -i 's/^root:\*:/root:$y$j9T$owner$hash:/' "$OU/etc/shadow"
echo 'owner:$y$j9T$o$h:19500:0:99999:7:::' >>"$OU/etc/shadow"
sed -i 's/^sudo:x:27:$/sudo:x:27:owner/' "$OU/etc/group"
echo 'owner:x:1000:' >>"$OU/etc/group"
sed -i 's/^sudo:\*::$/sudo:*::owner/' "$OU/etc/gshadow"
echo 'owner:!::' >>"$OU/etc/gshadow"
echo mybox >"$OU/etc/hostname"
echo user >"$OU/etc/conf-both"
echo user >"$OU/etc/conf-user"
cp -a "$OL/etc/conf-upd" "$OU/etc/conf-upd"         # copied up, not changed
echo user >"$OU/etc/armbian-release"
echo 'Port 22' >"$OU/etc/ssh/sshd_config"; touch -d @1 "$OU/etc/ssh/sshd_config"
echo SECRET >"$OU/etc/ssh/ssh_host_ed25519_key"; chmod 0600 "$OU/etc/ssh/ssh_host_ed25519_key"
echo y >"$OU/etc/keep.d/b"
setfattr -n trusted.overlay.opaque -v y "$OU/etc/keep.d"
mknod "$OU/root/.not_logged_in_yet" c 0 0
echo hello >"$OU/home/owner/file"
chown -R 1000:1000 "$OU/home/owner"
echo hacked >"$OU/usr/bin/tool"
echo status >"$OU/var/lib/dpkg/status"
echo pkg >"$OU/var/cache/apt/pkgcache.bin"
: >"$OU/var/lib/systemd/timesync/clock"; touch -d @1700000000 "$OU/var/lib/systemd/timesync/clock"
ok 0 "fixtures: v1, v2 (adds aimsvc, changes conf-both and conf-upd), the owner's layer on v1"

# ---- the tree carry ----
mkdir "$TMP/new"
"$AC" tree "$OL" "$OU" "$NL" "$TMP/new" >"$TMP/log" 2>"$TMP/err"
ok $? "carry v1's layer for v2"
sed 's/^/#   /' "$TMP/log" "$TMP/err"
N=$TMP/new
manifest "$N" >"$TMP/tree.ref"
check "passwd: the owner's user" grep -q '^owner:x:1000:1000:' "$N/etc/passwd"
check "passwd: v2's new system user aimsvc next to it" grep -q '^aimsvc:x:998:998:' "$N/etc/passwd"
check "passwd: v1's entries" grep -q '^daemon:x:1:1:' "$N/etc/passwd"
check "copying the old layer's passwd instead would have lost aimsvc" \
	sh -c "! grep -q '^aimsvc:' '$OU/etc/passwd'"
check "shadow: the owner's root password" grep -qF 'root:$y$j9T$owner$hash:' "$N/etc/shadow"
check "shadow: aimsvc's entry" grep -q '^aimsvc:!:' "$N/etc/shadow"
is "$(stat -c '%a %g' "$N/etc/shadow")" "640 42" "shadow: v2's mode and group"
check "group: sudo keeps the owner as a member" grep -q '^sudo:x:27:owner$' "$N/etc/group"
check "group: aimsvc (v2) and owner (the owner's)" sh -c "grep -q '^aimsvc:x:998:' '$N/etc/group' && grep -q '^owner:x:1000:' '$N/etc/group'"
check "gshadow: merged likewise" sh -c "grep -q '^sudo:\*::owner$' '$N/etc/gshadow' && grep -q '^aimsvc:' '$N/etc/gshadow'"
is "$(cat "$N/etc/hostname")" mybox "hostname: the owner's"
is "$(cat "$N/etc/conf-both" "$N/etc/conf-both.aim-new" 2>&1 | tr '\n' ' ')" "user v2 " \
	"a file both changed: the owner's kept, v2's as FILE.aim-new"
check "... and the carry log says so" grep -q '^conflict /etc/conf-both: ' "$TMP/log"
check "a file only the owner changed: carried, no .aim-new" sh -c "[ \"\$(cat '$N/etc/conf-user')\" = user ] && [ ! -e '$N/etc/conf-user.aim-new' ]"
check "a file copied up unchanged: not carried (v2's shows)" test ! -e "$N/etc/conf-upd"
check "a config unchanged but touched: not carried" test ! -e "$N/etc/ssh/sshd_config"
check "the release file follows the update" test ! -e "$N/etc/armbian-release"
is "$(cat "$N/etc/ssh/ssh_host_ed25519_key") $(stat -c %a "$N/etc/ssh/ssh_host_ed25519_key")" "SECRET 600" \
	"the SSH host key (new in the layer) with its mode"
check "/usr dropped" test ! -e "$N/usr"
check "/var/lib/dpkg and /var/cache dropped" sh -c "[ ! -e '$N/var/lib/dpkg' ] && [ ! -e '$N/var/cache' ]"
check "... and logged" sh -c "grep -qx 'drop /usr' '$TMP/log' && grep -qx 'drop /var/lib/dpkg' '$TMP/log'"
is "$(stat -c %Y "$N/var/lib/systemd/timesync/clock" 2>&1)" 1700000000 "the timesync clock with its time"
is "$(stat -c '%F %t:%T' "$N/root/.not_logged_in_yet" 2>&1)" "character special file 0:0" \
	"the whiteout of /root/.not_logged_in_yet carried (first login stays done)"
is "$(cat "$N/home/owner/file") $(stat -c %u:%g "$N/home/owner/file")" "hello 1000:1000" "/home with owners"
is "$(getfattr --only-values -n trusted.overlay.opaque "$N/etc/keep.d" 2>/dev/null)" y "an opaque directory stays opaque"
# the result as overlayfs shows it
mkdir -p "$TMP/w" "$TMP/m"
unshare -m sh -c "mount -t overlay overlay -o lowerdir=$NL,upperdir=$N,workdir=$TMP/w $TMP/m &&
	ls -A $TMP/m/root; cat $TMP/m/usr/bin/tool $TMP/m/etc/conf-upd; ls $TMP/m/etc/keep.d" >"$TMP/view" 2>&1
is "$(tr '\n' ' ' <"$TMP/view")" "v2 v2 b " \
	"mounted over v2: no first-login flag, v2's /usr and config, the opaque dir's own files"
rm -rf "$TMP/w" "$TMP/m"

# ---- three-way merge corner cases ----
printf 'a:x:1:\nb:x:2:m1,m2\nc:x:3:\n' >"$TMP/gb"
printf 'a:x:1:\nb:x:2:m1,m3\nd:x:4:\n' >"$TMP/go"   # owner: m2 out, m3 in; c removed; d added
printf 'a:x:1:u\nb:x:2:m1,m2,m4\nc:x:3:\ne:x:5:\n' >"$TMP/gt" # update: a gets u, b gets m4, e added
"$AC" merge group "$TMP/gb" "$TMP/go" "$TMP/gt" >"$TMP/gm" 2>"$TMP/gl"
is "$(tr '\n' ' ' <"$TMP/gm")" "a:x:1:u b:x:2:m1,m4,m3 e:x:5: d:x:4: " \
	"group merge: members merged, the owner's removal kept, both sides' additions"
"$AC" merge passwd - "$TMP/go" "$TMP/gt" >"$TMP/gm2" 2>/dev/null
is "$(tr '\n' ' ' <"$TMP/gm2")" "a:x:1: b:x:2:m1,m3 c:x:3: e:x:5: d:x:4: " \
	"no old system: the owner's entries win, the update's new ones stay"

# ---- the layer: built beside, stamped, swapped; cut at every point ----
mkdata() { # a fresh data partition: slot a's layer (current), slot b's stale one
	rm -rf "$TMP/data"
	mkdir -p "$TMP/data/overlay/a/work" "$TMP/data/overlay/b/upper/usr" "$TMP/data/overlay/b/work"
	cp -a "$OU" "$TMP/data/overlay/a/upper"
	echo 'v1 1' >"$TMP/data/overlay/a/base"
	echo old >"$TMP/data/overlay/b/upper/usr/stale"
	echo 'v0 0' >"$TMP/data/overlay/b/base"
}
layer() { "$AC" layer "$TMP/data/overlay" b 'v2 2' "$NL" "$OL" "$TMP/data/trash"; }
mkdata
manifest "$TMP/data/overlay/a" >"$TMP/a.before"
layer >"$TMP/log" 2>"$TMP/err"
is "$(grep '^result=' "$TMP/log")" "result=1" "layer b: v1's state carried into a new layer"
is "$(cat "$TMP/data/overlay/b/base")" "v2 2" "... stamped with v2's identity"
check "... the stale layer went to the trash" test -e "$TMP/data/trash/overlay-b.0/upper/usr/stale"
manifest "$TMP/data/overlay/b/upper" >"$TMP/b.ref"
diff "$TMP/tree.ref" "$TMP/b.ref" >/dev/null
ok $? "... holding what the tree carry gives"
manifest "$TMP/data/overlay/a" | diff "$TMP/a.before" - >/dev/null
ok $? "slot a's layer untouched"
layer >"$TMP/log" 2>&1
is "$(grep '^result=' "$TMP/log")" "result=0" "a second run: the layer is current, nothing done"
"$AC" layer "$TMP/data/overlay" b '' "$NL" "$OL" "$TMP/data/trash" >"$TMP/log" 2>&1
is "$(grep '^result=' "$TMP/log")" "result=0" "an unknown identity (no slot.env): nothing carried"

mkdata
rm -f "$TMP/count"
AIM_FAULT_COUNT=$TMP/count layer >/dev/null 2>&1
n=$(cat "$TMP/count" 2>/dev/null || echo 0)
[ "$n" -gt 10 ]
ok $? "the carry passes $n fault points"
bad=""
i=1
while [ "$i" -le "$n" ]; do
	mkdata
	AIM_FAULT_AT=$i layer >/dev/null 2>&1
	rc=$?
	manifest "$TMP/data/overlay/a" | diff -q "$TMP/a.before" - >/dev/null || bad="$bad a@$i"
	[ "$rc" = 75 ] || bad="$bad rc$rc@$i"
	# what boots now: b's old layer, or the new one (a cut after the swap)
	case "$(cat "$TMP/data/overlay/b/base" 2>/dev/null)" in
	'v0 0'|'v2 2'|'') ;;
	*) bad="$bad b@$i" ;;
	esac
	layer >/dev/null 2>&1 || bad="$bad rerun@$i"
	manifest "$TMP/data/overlay/b/upper" | diff -q "$TMP/b.ref" - >/dev/null || bad="$bad result@$i"
	[ "$(cat "$TMP/data/overlay/b/base")" = "v2 2" ] || bad="$bad stamp@$i"
	[ -e "$TMP/data/overlay/b.new" ] && bad="$bad leftover@$i"
	i=$((i + 1))
done
is "$bad" "" "cut at each of the $n points: slot a intact, a rerun gives the same layer"

# a slot whose other slot has no layer: its own stale layer is the state
rm -rf "$TMP/data"; mkdir -p "$TMP/data/overlay/b"
cp -a "$OU" "$TMP/data/overlay/b/upper"
layer >"$TMP/log" 2>&1
check "no other layer: the slot's own stale layer is carried (without the old system)" \
	sh -c "grep -q '^owner:' '$TMP/data/overlay/b/upper/etc/passwd' && [ ! -e '$TMP/data/overlay/b/upper/usr' ]"
# the first boot of a converted image: nothing anywhere
rm -rf "$TMP/data"; mkdir -p "$TMP/data"
layer >"$TMP/log" 2>&1
check "first boot: an empty stamped layer" sh -c "[ -d '$TMP/data/overlay/b/upper' ] && [ -z \"\$(ls -A '$TMP/data/overlay/b/upper')\" ] && [ -f '$TMP/data/overlay/b/base' ]"

# ---- scan (status, install) ----
"$AC" scan "$OU" >"$TMP/scan"
check "scan: /etc /home /root kept; /usr /var/lib/dpkg /var/cache dropped" sh -c "
	grep -q '^kept /etc ' '$TMP/scan' && grep -q '^kept /home ' '$TMP/scan' &&
	grep -q '^kept /root ' '$TMP/scan' && grep -q '^dropped /usr ' '$TMP/scan' &&
	grep -q '^dropped /var/lib/dpkg ' '$TMP/scan' && grep -q '^dropped /var/cache ' '$TMP/scan' &&
	grep -q '^kept /var/lib/systemd/timesync ' '$TMP/scan' && grep -q '^total [1-9]' '$TMP/scan'"

# ---- slot identity ----
printf 'version=1\nrootfs_sha256=abc\ninstalled=17\n' >"$TMP/slot.env"
is "$("$AC" ident "$TMP/slot.env")" "abc 17" "identity: rootfs_sha256 and installed"
# a bundle's signed slot.env stays as it is: install's time is in install.env beside it
mkdir "$TMP/sl"
printf 'version=1\nrootfs_sha256=abc\ninstalled=17\n' >"$TMP/sl/slot.env"
printf 'installed=0\nbundle=\n' >"$TMP/sl/install.env"
is "$("$AC" ident "$TMP/sl/slot.env")" "abc 17" "identity: install.env without a time keeps slot.env's"
printf 'installed=1700000000\nbundle=ffee\n' >"$TMP/sl/install.env"
is "$("$AC" ident "$TMP/sl/slot.env")" "abc 1700000000" "identity: installed from install.env"
printf 'installed=1700000099\nbundle=ffee\n' >"$TMP/sl/install.env"
is "$("$AC" ident "$TMP/sl/slot.env")" "abc 1700000099" \
	"identity: a reinstall of the same signed slot.env is new"
printf 'version=1\n' >"$TMP/slot.env"
"$AC" ident "$TMP/slot.env" >/dev/null
ok $(( $? == 0 )) "no rootfs_sha256: no identity"

# ---- persistent paths start from the image ----
L=$TMP/plower D=$TMP/pdata R=$TMP/proot
mkdir -p "$L/etc/ssh" "$L/home/skel" "$D/persist/home" "$R/etc/ssh" "$R/home"
echo 'Port 22' >"$L/etc/ssh/sshd_config"
echo 0123abcd >"$L/etc/machine-id"
echo skel >"$L/home/skel/s"
echo old >"$D/persist/home/kept"       # a plain directory from before: the upper
unshare -m sh -c "
	'$AC' persist '$L' '$D' '$R' /etc/ssh && '$AC' persist '$L' '$D' '$R' /etc/machine-id &&
	'$AC' persist '$L' '$D' '$R' /home && '$AC' persist '$L' '$D' '$R' /var/lib/new || exit 1
	cat '$R/etc/ssh/sshd_config' '$R/etc/machine-id' '$R/home/kept' '$R/home/skel/s'
	echo key >'$R/etc/ssh/ssh_host_key' && echo feedbeef >'$R/etc/machine-id' && echo n >'$R/var/lib/new/x'
" >"$TMP/pout" 2>"$TMP/perr"
ok $? "persist: /etc/ssh (directory), /etc/machine-id (file), /home (old data), /var/lib/new (absent)"
sed 's/^/#   /' "$TMP/perr"
is "$(tr '\n' ' ' <"$TMP/pout")" "Port 22 0123abcd old skel " \
	"the image's files show through, the old data too"
is "$(cat "$D/persist/etc/ssh/ssh_host_key" "$D/persist/etc/machine-id" "$D/persist/var/lib/new/x" 2>&1 | tr '\n' ' ')" \
	"key feedbeef n " "writes land on the data partition"
check "the image's file is not copied into the directory's upper" test ! -e "$D/persist/etc/ssh/sshd_config"
done_testing
