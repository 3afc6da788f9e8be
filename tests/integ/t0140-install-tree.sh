#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# make install DESTDIR=...: the installed file list (the CLI, its man page, bash completion,
# aim-boot and the device CLI per arch, the hooks in armimmutable's own data directory) and
# nothing under the host's initramfs-tools, /etc or systemd directories (issue 15: a host
# install must never hook the host's boot). The CLI run from DESTDIR, pointed at its data
# with AIM_DEVICE_DIR/AIM_HOOKS_DIR (docs/packaging.md), converts a sample, whose slot then
# holds the hook, the script, the units, aim-boot and the device CLI.
# aim-timeout: 600
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
D=$TMP/dest
P=/usr/local

# The same build as the tests' (B, and SANITIZE with it, as make check passes them).
san=""
case "$B" in build-san*) san=SANITIZE=1 ;; esac
make -s -C "$AIM_TOP" B="$B" $san DESTDIR="$D" install >make.log 2>&1
rc=$?
is "$rc" 0 "make install DESTDIR=... succeeds"
[ $rc = 0 ] || { sed 's/^/#   /' make.log | tail -n 20; done_testing; exit 1; }
(cd "$D" && find . ! -type d | sed 's|^\.||' | sort) >files
diag "installed: $(wc -l <files) files"

forbidden=$(grep -E '^/(usr/(local/)?)?etc/|^/(usr/(local/)?)?(lib|share|libexec)/(initramfs-tools|systemd)/' files)
is "$forbidden" "" "nothing under initramfs-tools, /etc or a systemd directory"
for f in $P/bin/armimmutable $P/share/man/man1/armimmutable.1 \
	$P/share/bash-completion/completions/armimmutable \
	$P/share/armimmutable/hooks/initramfs-tools/hooks/armimmutable \
	$P/share/armimmutable/hooks/initramfs-tools/scripts/local-bottom/armimmutable \
	$P/share/armimmutable/armbian/armimmutable.sh; do
	check "installed: $f" grep -qx "$f" files
done
for u in "$AIM_TOP"/hooks/systemd/*.service; do
	check "installed: unit ${u##*/} in the private hooks directory" \
		grep -qx "$P/share/armimmutable/hooks/systemd/${u##*/}" files
done
for a in arm64 armhf x86_64; do
	check "installed: $a aim-boot" grep -qx "$P/libexec/armimmutable/$a/aim-boot" files
	if [ -x "$AIM_TOP/$B/dev/$a/armimmutable" ]; then
		check "installed: $a device CLI" grep -qx "$P/libexec/armimmutable/$a/armimmutable" files
	else
		skip "$a device CLI not built (no sysroot: make device)"
	fi
done
check "aim-boot arm64 is an AArch64 executable" sh -c \
	"file '$D$P/libexec/armimmutable/arm64/aim-boot' | grep -q 'ARM aarch64'"
check "aim-boot armhf is an ARM executable" sh -c \
	"file '$D$P/libexec/armimmutable/armhf/aim-boot' | grep -q 'ARM, EABI5'"
check "man page is installed uncompressed and readable" sh -c \
	"man -l '$D$P/share/man/man1/armimmutable.1' 2>/dev/null | grep -q convert || grep -q convert '$D$P/share/man/man1/armimmutable.1'"

# bash completion: the verbs and a verb's options come from the installed CLI's --help
comp() { # comp WORDS...: the completions of the last word
	PATH="$D$P/bin:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_armimmutable; printf "%s\n" "${COMPREPLY[@]}"' _ \
		"$D$P/share/bash-completion/completions/armimmutable" "$@"
}
is "$(comp armimmutable con | tr '\n' ' ')" "convert " "completion: verb"
comp armimmutable convert --ov | grep -qx -- --overlay
ok $? "completion: convert's options from its --help"
is "$(comp armimmutable convert --overlay '' | tr '\n' ' ')" "persistent tmpfs " "completion: --overlay values"
is "$(comp armimmutable bundle i | tr '\n' ' ')" "info " "completion: bundle's sub-verbs"

# The installed CLI finds its data: beside its own bin/ (any prefix, DESTDIR too), or where
# the two variables say.
need_sample in.img --arch arm64
as_user "$D$P/bin/armimmutable" -q convert in.img out.img 2>err
rc=$?
is "$rc" 0 "the CLI installed in DESTDIR converts with the data installed beside it"
[ $rc = 0 ] || sed 's/^/#   /' err
as_user env AIM_DEVICE_DIR="$D$P/libexec/armimmutable" AIM_HOOKS_DIR="$D$P/share/armimmutable/hooks" \
	"$D$P/bin/armimmutable" -q convert in.img out-env.img 2>err
is "$?" 0 "... and with AIM_DEVICE_DIR/AIM_HOOKS_DIR naming it"
cmp -s out.img out-env.img
ok $? "... the same bytes"
if [ -f out.img ]; then
	off=$(sfdisk -J out.img | jq '.partitiontable.partitions[1].start * 512')
	unsquashfs -o "$off" -lc out.img 2>/dev/null | sed 's|^squashfs-root||' >slot
	for f in /usr/lib/armimmutable/aim-boot /usr/sbin/armimmutable \
		/usr/share/initramfs-tools/hooks/armimmutable \
		/usr/share/initramfs-tools/scripts/local-bottom/armimmutable \
		/usr/lib/systemd/system/armimmutable-mark-good.service; do
		check "slot A has $f" grep -qx "$f" slot
	done
	cmp -s <(unsquashfs -o "$off" -cat out.img /usr/lib/armimmutable/aim-boot 2>/dev/null) \
		"$D$P/libexec/armimmutable/arm64/aim-boot"
	ok $? "slot A's aim-boot is the installed arm64 one"
fi

# Moved away from its data, and with nothing at the built-in prefix, convert says what
# is missing.
if [ ! -e "$P/libexec/armimmutable/arm64/aim-boot" ]; then
	mkdir -p moved/bin && cp "$D$P/bin/armimmutable" moved/bin/
	as_user moved/bin/armimmutable -q convert in.img out2.img 2>err
	rc=$?
	is "$rc" 1 "no device side at the prefix: convert fails"
	check "... naming the missing file" grep -q "$P/libexec/armimmutable" err
	ok "$([ ! -e out2.img ]; echo $?)" "... and leaves no output"
fi

# uninstall takes everything away again
make -s -C "$AIM_TOP" B="$B" $san DESTDIR="$D" uninstall >make.log 2>&1
is "$(cd "$D" && find . ! -type d | wc -l)" 0 "make uninstall removes every installed file"
done_testing
