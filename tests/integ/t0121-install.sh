#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# install on image targets (rootless): a bundle from `bundle create` goes into slot B of a
# converted image (slot B converted empty): the slot's bytes, the boot files, slot.env and
# the state (B on trial, A still the good fallback) are checked; every refusal exits 1 with
# one line naming the problem and leaves the image as it was (or with the target slot
# marked bad: never booted), boot file names that collide on FAT included; --progress=json;
# stdin. Then fault injection: the install is
# cut at every one of its write/fsync points in turn; after each cut the image still boots
# the good slot A (status and aim-boot plan agree) and a new install succeeds.
. "$(dirname "$0")/lib.sh"
AB="$AIM_TOP/$B/dev/x86_64/aim-boot"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1718236800
cd "$TMP" || exit 1
aim() { as_user "$AIM" "$@"; }

need_sample in.img
# --slot-size 64M: the layout before the slots were sized for the medium (t0122 tests that);
# every refusal below hashes the whole image, which 1 GiB slots would make slow
check "convert the sample with slot B empty" aim -q convert --slot-b empty --slot-size 64M in.img base.img
[ -f base.img ] || { done_testing; exit; }
check "keygen" aim -q keygen -W -p k.pub -s k.key
check "a second key pair" aim -q keygen -W -p k2.pub -s k2.key
check "bundle create --from-image (version 99.1)" aim -q bundle create -k k.key -o v2.aimb \
	--from-image in.img --version 99.1
aim bundle info --json v2.aimb >v2.json
p1=$(($(sfdisk -J base.img | jq -r '.partitiontable.partitions[0].start') * 512))
W="$TMP/w.img"
BASE=base.img # what fresh() copies
fresh() { rm -f "$W"; cp --sparse=always "$BASE" "$W"; chmod 0666 "$W"; }
m() { "$@" -i "$W@@$p1"; }
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}
# expect RC WORD DESCRIPTION: exit RC, stderr one line mentioning WORD
expect() {
	is "$rc" "$1" "$3: exit $1"
	if grep -q -- "$2" "$TMP/err"; then ok 0 "$3: message says '$2'"; else
		ok 1 "$3: message says '$2'"
		sed 's/^/#   /' "$TMP/err" | head -n 5
	fi
	[ "$1" = 2 ] || is "$(wc -l <"$TMP/err")" 1 "$3: one line"
}
js() { "$AIM" status --image "$W" --json | jq -r "$1"; }
snap() { "$AIM" status --image "$W" --json >"$TMP/st.json"; } # then sj instead of js
sj() { jq -r "$1" "$TMP/st.json"; }
plan_image() { # aim-boot plan on the image's state files: prints the chosen slot
	rm -rf sd && mkdir sd
	m mcopy -n ::state-1.txt ::state-2.txt sd/ 2>/dev/null
	echo "root=PARTUUID=x armimmutable.slot=a" >cmdline
	"$AB" plan --state-dir sd --cmdline cmdline 2>/dev/null | sed -n 's/^slot=//p'
}
# the image still boots the good slot A, as before any install
boots_a() {
	snap
	[ "$(sj '[.state.valid, .state.next_boot, .slots[0].good, .state.active] | join(" ")')" = \
		"true a true a" ] && [ "$(plan_image)" = a ]
}
off_b=$("$AIM" status --image base.img --json | jq -r '.slots[1].partition.offset')
slot_b_sha() { sha_range "$W" "$off_b" "$1"; } # SHA-256 of the first N bytes of slot B
rootfs_size=$(jq -r '.payloads[] | select(.kind=="rootfs") | .size' v2.json)
rootfs_sha=$(jq -r '.payloads[] | select(.kind=="rootfs") | .sha256' v2.json)

# ---- a good install ----
fresh
check "before: the image boots slot A" boots_a
run aim install --image "$W" -p k.pub v2.aimb
is "$rc" 0 "install v2 into the image: exit 0"
check "install says what it did" grep -q "installed 99.1 into slot b" "$TMP/err"
is "$(js .state.trial_slot)" b "state: slot B on trial"
is "$(js .state.next_boot)" b "state: next boot is B"
is "$(js '.slots[1].tries_left')" 3 "state: 3 tries"
is "$(js '.slots[0].good')" true "state: A is still the good fallback"
is "$(js .state.active)" a "state: A still active"
is "$(plan_image)" b "aim-boot plan picks B"
is "$(slot_b_sha "$rootfs_size")" "$rootfs_sha" "slot B holds the rootfs payload byte for byte"
is "$(js '.slots[1].version')" 99.1 "slot.env: version"
is "$(js '.slots[1].source')" bundle "slot.env: source=bundle"
is "$(js '.slots[1].bundle')" "$(jq -r .manifest_sha256 v2.json)" \
	"bundle = manifest SHA-256 (install.env beside the bundle's signed slot.env)"
is "$(js '.slots[1].rootfs_sha256')" "$rootfs_sha" "slot.env: rootfs_sha256"
is "$(js '.slots[1].board')" "$(jq -r .board v2.json)" "slot.env: board"
bad=0 nboot=0
while read -r name sha; do
	nboot=$((nboot + 1))
	# armbianEnv.txt names the slot: rewritten for the slot it lands in (below)
	[ "$name" = armbianEnv.txt ] && continue
	got=$(m mtype ::"/slot-b/$name" 2>/dev/null | sha256sum | cut -d' ' -f1)
	[ "$got" = "$sha" ] || { bad=$((bad + 1)); echo "# $name: $got != $sha"; }
done < <(jq -r '.payloads[] | select(.kind=="boot") | "\(.name) \(.sha256)"' v2.json)
is "$bad" 0 "all $nboot boot files in /slot-b/ match their payloads (armbianEnv.txt aside)"
uuid_b=$(sfdisk -J "$W" | jq -r '.partitiontable.partitions[2] | .uuid // empty' | tr A-F a-f)
[ -n "$uuid_b" ] || uuid_b=$(sfdisk -J "$W" | jq -r .partitiontable.id | sed 's/^0x//')-03
m mtype ::/slot-b/armbianEnv.txt 2>/dev/null | tr -d '\r' >"$TMP/envb"
check "slot-b/armbianEnv.txt: rootdev is slot B's partition (PARTUUID=$uuid_b)" \
	grep -qx "rootdev=PARTUUID=$uuid_b" "$TMP/envb"
check "slot-b/armbianEnv.txt: armimmutable.slot=b" grep -q '^extraargs=.*armimmutable.slot=b' "$TMP/envb"
check "slot-b/armbianEnv.txt: no armimmutable.slot=a left" sh -c "! grep -q 'armimmutable.slot=a' '$TMP/envb'"
is "$(m mdir -/ -b ::/slot-b 2>/dev/null | grep -vc '/$')" "$((nboot + 1))" \
	"/slot-b/ holds the boot files (slot.env and its signature among them) and install.env, nothing else"
# names as the bundle spells them: a lower-case 8.3 name (boot.scr) is stored with FAT's
# lower-case flags, not as BOOT.SCR (the temp name renamed by mmove lost them)
m mdir -/ -b ::/slot-b 2>/dev/null | grep -v '/$' | sed 's|^::/slot-b/||' | sort >names.got
{ jq -r '.payloads[] | select(.kind=="boot") | .name' v2.json; echo install.env; } | sort >names.want
check "/slot-b/ names match the bundle's, case included (boot.scr, not BOOT.SCR)" \
	diff names.want names.got
run aim install --image "$W" -p k.pub v2.aimb
is "$rc" 0 "installing the same version again (into B again: A is still active)"

# ---- stdin, JSON progress ----
fresh
run sh -c "cat v2.aimb | $(printf %q "$AIM") install --image '$W' -p k.pub --progress=json -"
is "$rc" 0 "install from stdin with --progress=json"
check "every progress line is JSON" jq -e . "$TMP/err"
is "$(tail -n 1 "$TMP/err" | jq -r .phase)" done "last JSON line: phase done"
is "$(tail -n 1 "$TMP/err" | jq -r .slot)" b "last JSON line: slot b"
check "JSON progress has the rootfs phase" sh -c "jq -r .phase '$TMP/err' | grep -qx rootfs"
is "$(jq -r 'select(.phase=="finish") | .done' "$TMP/err")" "$(stat -c %s v2.aimb)" \
	"progress reaches the bundle size"
is "$(slot_b_sha "$rootfs_size")" "$rootfs_sha" "stdin: slot B holds the rootfs"

# ---- usage errors ----
run "$AIM" install
expect 2 "needs a SOURCE" "no SOURCE"
run "$AIM" install --tries 0 v2.aimb
expect 2 "--tries" "--tries 0"
run "$AIM" install --progress=xml v2.aimb
expect 2 "--progress" "--progress=xml"
run "$AIM" install -p k.pub --keyring . v2.aimb
expect 2 "exclude" "-p with --keyring"

# ---- refusals before anything is written: the image stays byte-identical ----
fresh
sum0=$(sha256sum <"$W")
refused() { # refused WORD DESCRIPTION INSTALL-ARGS...
	local word=$1 d=$2
	shift 2
	run aim install --image "$W" "$@"
	expect 1 "$word" "$d"
	is "$(sha256sum <"$W")" "$sum0" "$d: image unchanged"
}
refused "not a trusted key" "wrong key" -p k2.pub v2.aimb
mkdir -p emptyring ring
cp k2.pub ring/a.pub
cp k.pub ring/b.pub
refused "no trusted keys" "empty keyring" --keyring emptyring v2.aimb
run aim install --image "$W" --keyring ring v2.aimb
is "$rc" 0 "--keyring DIR with the right key among others"
fresh
refused "No such file" "missing bundle" -p k.pub nothere.aimb
head -c 100000 /dev/urandom >junk.aimb
refused "not an armimmutable bundle" "random bytes" -p k.pub junk.aimb
mlen=$(od -An -tu4 -j 16 -N4 v2.aimb | tr -d ' ')
slen=$(od -An -tu4 -j 20 -N4 v2.aimb | tr -d ' ')
area=$(( (64 + mlen + slen + 4095) / 4096 * 4096 )) # where the payloads start
cp v2.aimb tm.aimb
printf 'X' | dd of=tm.aimb bs=1 seek=$((64 + 20)) conv=notrunc status=none
refused "signature" "tampered manifest" -p k.pub tm.aimb
cp v2.aimb ts.aimb
printf 'A' | dd of=ts.aimb bs=1 seek=$((64 + mlen + 200)) conv=notrunc status=none
refused "signature" "tampered signature" -p k.pub ts.aimb
head -c 2000 v2.aimb >tr.aimb
refused "truncated" "truncated in the manifest" -p k.pub tr.aimb

# bundles from a prepared squashfs and boot dir, with other metadata
off_a=$(js '.slots[0].partition.offset')
size_a=$(js '.slots[0].rootfs_size')
tail -c +$((off_a + 1)) base.img | head -c "$size_a" >rootfs.sqfs
rm -rf bootdir && mkdir bootdir && m mcopy -s -n ::/slot-a/ bootdir/ 2>/dev/null
mv bootdir/slot-a bootdir/s && rm -f bootdir/s/slot.env
mkb() { # mkb OUT VERSION BOARD FAMILY ARCH [ROOTFS]
	aim -q bundle create -k k.key -o "$1" --rootfs "${6:-rootfs.sqfs}" --boot-dir bootdir/s \
		--version "$2" --board "$3" --family "$4" --arch "$5"
}
board=$(jq -r .board v2.json) family=$(jq -r .family v2.json)
check "bundle for another board" mkb board.aimb 99.1 otherboard "$family" arm64
refused "board 'otherboard'" "wrong board" -p k.pub board.aimb
check "bundle for another family" mkb fam.aimb 99.1 "$board" otherfam arm64
refused "family 'otherfam'" "wrong family" -p k.pub fam.aimb
check "bundle for another arch" mkb arch.aimb 99.1 "$board" "$family" armhf
refused "architecture 'armhf'" "wrong arch" -p k.pub arch.aimb
check "bundle of an older version" mkb old.aimb 1.0 "$board" "$family" arm64
refused "downgrade from" "downgrade" -p k.pub old.aimb
slot_size=$(js '.slots[1].partition.size')
truncate -s $((slot_size + 4096)) big.sqfs
check "bundle with a rootfs larger than the slot" mkb big.aimb 99.1 "$board" "$family" arm64 big.sqfs
refused "larger than slot b" "oversized rootfs" -p k.pub big.aimb
# boot file names that are one name on FAT (case, a trailing dot, armbianEnv.txt spelled
# otherwise, which would not be rewritten for the slot): refused before any write
mkfat() { # mkfat OUT: a bundle of bootdir/c
	aim -q bundle create -k k.key -o "$1" --rootfs rootfs.sqfs --boot-dir bootdir/c \
		--version 99.1 --board "$board" --family "$family" --arch arm64
}
rm -rf bootdir/c && cp -a bootdir/s bootdir/c && echo a >bootdir/c/fat-a.txt &&
	echo b >bootdir/c/FAT-A.TXT
check "bundle with boot files fat-a.txt and FAT-A.TXT" mkfat fatcase.aimb
refused "one file on FAT" "boot names differing in case" -p k.pub fatcase.aimb
rm -rf bootdir/c && cp -a bootdir/s bootdir/c && echo a >bootdir/c/fat-b.txt &&
	echo b >bootdir/c/fat-b.txt.
check "bundle with boot files fat-b.txt and fat-b.txt." mkfat fatdot.aimb
refused "one file on FAT" "boot names differing in a trailing dot" -p k.pub fatdot.aimb
rm -rf bootdir/c && cp -a bootdir/s bootdir/c && mv bootdir/c/armbianEnv.txt bootdir/c/ARMBIANENV.TXT
check "bundle with ARMBIANENV.TXT" mkfat fatenv.aimb
refused "is 'armbianEnv.txt' on FAT" "armbianEnv.txt spelled otherwise" -p k.pub fatenv.aimb
run aim install --image "$W" -p k.pub --allow-downgrade old.aimb
is "$rc" 0 "--allow-downgrade installs the older version"
is "$(js '.slots[1].version')" 1.0 "downgraded slot B says 1.0"
# One copy of each kernel (docs/boot.md section 1): a bundle whose boot files hold the
# kernel twice (Image and a copy, as a /boot with a symlink copied by hand): the name the
# image's boot.cmd loads is written, the other is read and hashed but not stored.
rm -rf bootdir/c && cp -a bootdir/s bootdir/c && cp bootdir/c/Image bootdir/c/vmlinuz-9.9-dup
check "bundle with Image and vmlinuz-9.9-dup, the same bytes" mkfat dupk.aimb
fresh
run aim install --image "$W" -p k.pub dupk.aimb
is "$rc" 0 "it installs"
m mdir -/ -b ::/slot-b 2>/dev/null | sed 's|^::/slot-b/||' >names.dup
check "slot-b/Image (what boot.cmd loads) is written" grep -qx Image names.dup
check "slot-b/vmlinuz-9.9-dup (the same bytes, loaded by nothing) is not" \
	sh -c '! grep -q vmlinuz-9.9-dup names.dup'

# ---- damage found while streaming: the slot stays marked bad, A keeps booting ----
# (--full: read whole; a delta install never reads a damaged piece that slot A holds, and
# refuses one it fetches: t0160)
fresh
cp v2.aimb tp.aimb
printf 'Z' | dd of=tp.aimb bs=1 seek=$((area + 1000)) conv=notrunc status=none
run aim install --image "$W" -p k.pub --full tp.aimb
expect 1 "SHA-256" "tampered rootfs payload"
check "tampered payload: the image boots A" boots_a
is "$(js '.slots[1].on_trial')" false "tampered payload: B not on trial"
is "$(js '.slots[1].empty')" true "tampered payload: B has no boot files"
last=$(jq -r '.payloads[-1].offset + .payloads[-1].size' v2.json)
head -c $((area + last - 10)) v2.aimb >tl.aimb
run aim install --image "$W" -p k.pub tl.aimb
expect 1 "truncated\|ends early\|end" "bundle truncated in the last payload"
check "truncated payload: the image boots A" boots_a
run aim install --image "$W" -p k.pub v2.aimb
is "$rc" 0 "a good install after the failed ones"
is "$(js .state.next_boot)" b "after the failed ones: next boot B"

# ---- running-device layout: the fallback of a running trial is never overwritten ----
R="$TMP/run" BD="$TMP/bootdir-dev"
mkdir -p "$R"
rm -rf "$BD" && mkdir -p "$BD" && m mcopy -s -n '::*' "$BD/"
printf 'slot=b\ntrial=1\nmode=persistent\nreason=\ndisk=mmcblk9\nroot_dev=mmcblk9p3\nboot_dev=mmcblk9p1\ndata_dev=mmcblk9p4\nstate_seq=1\n' >"$R/boot.env"
run env AIM_RUN_DIR="$R" AIM_BOOT_DIR="$BD" "$AIM" install -p k.pub v2.aimb
expect 1 "fallback while slot b runs on trial" "device booted on the trial slot B"
printf 'slot=a\ntrial=0\nmode=persistent\nreason=\ndisk=mmcblk9\nroot_dev=mmcblk9p2\nboot_dev=mmcblk9p1\ndata_dev=mmcblk9p4\nstate_seq=1\n' >"$R/boot.env"
# booted a, but b made active (mark-good --force b) and not booted yet
state() { # state FILE SEQ ACTIVE TRY TRIES_A TRIES_B GOOD_A GOOD_B: a record with its CRC32
	body=$(printf 'aim_seq=%s\naim_active=%s\naim_try=%s\naim_tries_a=%s\naim_tries_b=%s\naim_good_a=%s\naim_good_b=%s\naim_reason=\n' "$2" "$3" "$4" "$5" "$6" "$7" "$8")
	crc=$(printf '%s\n' "$body" | gzip -c | tail -c 8 | head -c 4 | od -An -tx4 | tr -d ' \n')
	printf '%s\naim_crc=%s\n' "$body" "$crc" >"$1"
}
state "$BD/state-2.txt" 9 b "" 0 0 1 1
run env AIM_RUN_DIR="$R" AIM_BOOT_DIR="$BD" "$AIM" install -p k.pub v2.aimb
expect 1 "slot b is the active slot" "device booted on a while b is active"
run env AIM_RUN_DIR="$TMP/nowhere" "$AIM" install -p k.pub v2.aimb
expect 1 "boot.env\|aim-boot" "device not booted by aim-boot"

# ---- power cuts at every fault point of an install ----
# cut_every_point LABEL BUNDLE: $BASE, installing BUNDLE (--version 99.1) into slot B, cut
# at each of its fault points; after each cut the image boots A or the finished install,
# and a new install succeeds
cut_every_point() {
	local lb=$1 bundle=$2 n at cut_bad=0 boot_bad=0 redo_bad=0 cut_old=0 cut_new=0
	p1=$(($(sfdisk -J "$BASE" | jq -r '.partitiontable.partitions[0].start') * 512))
	off_b=$("$AIM" status --image "$BASE" --json | jq -r '.slots[1].partition.offset')
	aim bundle info --json "$bundle" >"$TMP/b.json"
	rootfs_size=$(jq -r '.payloads[] | select(.kind=="rootfs") | .size' "$TMP/b.json")
	rootfs_sha=$(jq -r '.payloads[] | select(.kind=="rootfs") | .sha256' "$TMP/b.json")
	fresh
	rm -f "$TMP/count"
	AIM_FAULT_COUNT="$TMP/count" "$AIM" -q install --image "$W" -p k.pub "$bundle" 2>/dev/null
	n=$(cat "$TMP/count" 2>/dev/null || echo 0)
	ok "$([ "$n" -ge 10 ]; echo $?)" "${lb}an install reaches $n fault points"
	for at in $(seq 1 "$n"); do
		fresh
		AIM_FAULT_AT=$at "$AIM" -q install --image "$W" -p k.pub "$bundle" >/dev/null 2>"$TMP/err"
		rc=$?
		if [ "$rc" != 75 ]; then
			cut_bad=$((cut_bad + 1))
			echo "# cut at $at: exit $rc: $(head -c 200 "$TMP/err")"
		fi
		if boots_a; then
			cut_old=$((cut_old + 1))
		elif finished; then
			cut_new=$((cut_new + 1))
		else
			boot_bad=$((boot_bad + 1))
			echo "# cut at $at: neither A nor a finished B: $(js -c .state)"
		fi
		if ! "$AIM" -q install --image "$W" -p k.pub "$bundle" 2>"$TMP/err" ||
			[ "$(js .state.next_boot)" != b ] ||
			[ "$(slot_b_sha "$rootfs_size")" != "$rootfs_sha" ]; then
			redo_bad=$((redo_bad + 1))
			echo "# cut at $at: the install after it failed: $(head -c 200 "$TMP/err")"
		fi
	done
	is "$cut_bad" 0 "${lb}every cut (1..$n) stopped the install at once (exit 75)"
	is "$boot_bad" 0 "${lb}after every cut the image boots the good slot A ($cut_old cuts) or the finished install ($cut_new cuts, after the trial state was renamed into place)"
	ok "$([ "$cut_old" -ge $((n - 4)) ]; echo $?)" "${lb}only the last points of the final state store leave B on trial ($cut_new)"
	is "$redo_bad" 0 "${lb}after every cut a new install succeeds and B is on trial"
	echo "# fault injection: ${lb}install: $n points cut, $((n - boot_bad)) recovered ($cut_old boot A, $cut_new the finished install)"
}
# the install completed: B on trial with its bytes and slot.env, A the good fallback
finished() {
	snap
	[ "$(sj '[.state.valid, .state.next_boot, .state.trial_slot, .slots[0].good,
		.slots[1].version] | join(" ")')" = "true b b true 99.1" ] &&
		[ "$(plan_image)" = b ] && [ "$(slot_b_sha "$rootfs_size")" = "$rootfs_sha" ]
}
cut_every_point "" v2.aimb

# ---- an extlinux board (shape H, docs/boot.md 4a): install rewrites the slot's
# extlinux.conf (the bundle's names /slot-a/ and slot A's root) for the slot it lands in
if "$SAMPLE/mkshape.sh" H inh.img >mk.log 2>&1; then
	chmod 0644 inh.img
	check "H: convert with slot B empty" aim -q convert --slot-b empty inh.img baseh.img
	check "H: bundle create --from-image" aim -q bundle create -k k.key -o h.aimb \
		--from-image inh.img --version 99.1
	rm -f "$W" && cp --sparse=always baseh.img "$W" && chmod 0666 "$W"
	p1=$(($(sfdisk -J "$W" | jq -r '.partitiontable.partitions[0].start') * 512))
	run aim install --image "$W" -p k.pub h.aimb
	is "$rc" 0 "H: install into slot b: exit 0"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$TMP/err"
	id=$(sfdisk -J "$W" | jq -r .partitiontable.id | sed 's/^0x//')
	m mtype ::/slot-b/extlinux/extlinux.conf 2>/dev/null | tr -d '\r' >"$TMP/extb"
	check "H: slot-b/extlinux.conf: kernel, initrd and fdt from /slot-b/" \
		sh -c "[ \$(grep -Ec '^ *(kernel|initrd|fdt) /slot-b/' '$TMP/extb') = 3 ]"
	check "H: slot-b/extlinux.conf: root=PARTUUID=$id-03 and armimmutable.slot=b" \
		grep -Eq "^ *append root=PARTUUID=$id-03 .*rootfstype=squashfs .*armimmutable.slot=b\$" "$TMP/extb"
	check "H: slot-b/extlinux.conf: nothing of slot a left" sh -c "! grep -Eq 'slot-a|slot=a|-02 ' '$TMP/extb'"
	is "$(js .state.next_boot)" b "H: slot b boots next, on trial"
	BASE=baseh.img
	cut_every_point "H: " h.aimb
else
	ok 1 "H: sample image built"
fi

# ---- a UEFI image (shape F, docs/boot.md 4b): the GRUB boot chain, cut at every point ----
if "$SAMPLE/mkshape.sh" F inf.img >mk.log 2>&1; then
	chmod 0644 inf.img
	check "F: convert" aim -q convert inf.img basef.img
	check "F: bundle create --from-image" aim -q bundle create -k k.key -o f.aimb \
		--from-image inf.img --version 99.1
	BASE=basef.img
	fresh
	p1=$(($(sfdisk -J "$W" | jq -r '.partitiontable.partitions[0].start') * 512))
	run aim install --image "$W" -p k.pub f.aimb
	is "$rc" 0 "F: install into slot b: exit 0"
	[ "$rc" = 0 ] || sed 's/^/#   /' "$TMP/err"
	k=$(m mtype ::/slot-b/grub.env 2>/dev/null | sed -n 's/^aim_kernel=//p')
	check "F: slot-b/grub.env names the kernel the bundle brought ($k)" \
		sh -c "[ -n '$k' ] && mtype -i '$W@@$p1' '::/slot-b/$k' >/dev/null"
	cut_every_point "F: " f.aimb
else
	ok 1 "F: sample image built"
fi

done_testing
