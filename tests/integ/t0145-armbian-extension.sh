#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Armbian build framework extension (extensions/armimmutable.sh, docs/armbian-build.md)
# run by tests/armbian/harness.sh the way the framework runs it (its helpers, variables and
# hook order) on a sample: the immutable image lands beside the normal one in the
# framework's output directory, converted with the options of the build variables (the
# same bytes as a direct convert with those options), the normal image untouched; xz
# output with its .sha256; a bad variable stops the build before anything is written;
# add_host_dependencies with each source of the tool and both forms of EXTRA_BUILD_DEPS.
# tests/qemu/t-sample-convert.sh boots an image converted through the same harness.
# aim-timeout: 600
# shellcheck source=tests/integ/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
H=$AIM_TOP/tests/armbian/harness.sh
EXT=$AIM_TOP/extensions/armimmutable.sh
V=Armbian-harness_25.8.0_Sample_bookworm_current

check "the extension is valid bash" bash -n "$EXT"
need_sample in.img --arch arm64
"$AIM" -q keygen -W -p k.pub -s k.key 2>/dev/null
insha=$(sha256sum <in.img)

# ---- 1. options from the build variables, raw output ----
t0=$(date +%s)
ARMIMMUTABLE_CLI="$AIM" ARMIMMUTABLE_OVERLAY=tmpfs ARMIMMUTABLE_PERSIST="/home /etc/ssh" \
	ARMIMMUTABLE_TRUST="$TMP/k.pub" ARMIMMUTABLE_SLOT_B=empty COMPRESS_OUTPUTIMAGE=sha,img \
	bash "$H" in.img w1 >h1.out 2>h1.err
rc=$?
is "$rc" 0 "the hooks run in the framework's order and succeed ($(( $(date +%s) - t0 )) s)"
[ $rc = 0 ] || sed 's/^/#   /' h1.err | tail -n 20
out=w1/armbian-build/output/images
check "add_host_dependencies with ARMIMMUTABLE_CLI: the tools convert runs" \
	grep -qx 'EXTRA_BUILD_DEPS: e2fsprogs mtools' h1.out
check "the immutable image is beside the normal one in output/images" test -f "$out/$V.immutable.img"
check "the normal image is still there" test -f "$out/$V.img"
is "$(sha256sum <"$out/$V.img")" "$insha" "the normal image is untouched"
check "the framework's own checksum of the normal image is still right" \
	sh -c "cd '$out' && sha256sum -c --quiet '$V.img.sha'"
"$AIM" inspect "$out/$V.immutable.img" >insp 2>&1
check "inspect: slot a converted" grep -q '^Slot a: *converted' insp
as_user "$AIM" -q convert --overlay tmpfs --persist /home --persist /etc/ssh --trust k.pub \
	--slot-b empty in.img direct.img 2>/dev/null
cmp -s direct.img "$out/$V.immutable.img"
ok $? "the same bytes as 'convert --overlay tmpfs --persist /home --persist /etc/ssh --trust k.pub --slot-b empty'"
check "the build's progress lines name the conversion" grep -q 'Converting into the immutable A/B layout' h1.err
rm -rf w1 direct.img

# ---- 2. xz output, as Armbian publishes: .img.xz and .img.xz.sha256 ----
t0=$(date +%s)
ARMIMMUTABLE_CLI="$AIM" COMPRESS_OUTPUTIMAGE=sha,xz bash "$H" in.img w2 >h2.out 2>h2.err
rc=$?
is "$rc" 0 "COMPRESS_OUTPUTIMAGE=sha,xz: succeeds ($(( $(date +%s) - t0 )) s)"
[ $rc = 0 ] || sed 's/^/#   /' h2.err | tail -n 20
out=w2/armbian-build/output/images
check "the immutable image is $V.immutable.img.xz" test -f "$out/$V.immutable.img.xz"
check "... no raw immutable image is left" test ! -e "$out/$V.immutable.img"
check "xz -t accepts it" xz -t "$out/$V.immutable.img.xz"
check "its .sha256 checks" sh -c "cd '$out' && sha256sum -c --quiet '$V.immutable.img.xz.sha256'"
xz -dc "$out/$V.immutable.img.xz" >dec.img 2>/dev/null
"$AIM" -q convert in.img raw.img 2>/dev/null
cmp -s dec.img raw.img
ok $? "decompressed, it is the raw conversion byte for byte"
rm -rf w2 dec.img raw.img

# ---- 3. a bad variable stops the build in extension_prepare_config ----
ARMIMMUTABLE_CLI="$AIM" ARMIMMUTABLE_OVERLAY=bogus bash "$H" in.img w3 >h3.out 2>h3.err
rc=$?
ok "$([ $rc != 0 ]; echo $?)" "ARMIMMUTABLE_OVERLAY=bogus: the build stops (exit $rc)"
check "... with the framework's error naming the variable" grep -q 'error: ARMIMMUTABLE_OVERLAY must be persistent or tmpfs' h3.err
check "... before any image was written" test -z "$(ls w3/destimg 2>/dev/null)"
ARMIMMUTABLE_CLI="$AIM" ARMIMMUTABLE_MEDIUM_SIZE=16G bash "$H" in.img w4 >h4.out 2>h4.err
rc=$?
if "$AIM" convert --help | grep -q -- --medium-size; then
	is "$rc" 0 "ARMIMMUTABLE_MEDIUM_SIZE=16G: converted with --medium-size"
else
	ok "$([ $rc != 0 ] && grep -q 'no --medium-size' h4.err; echo $?)" \
		"ARMIMMUTABLE_MEDIUM_SIZE with a CLI that has no --medium-size: a clear error"
fi
rm -rf w3 w4
ARMIMMUTABLE_CLI=/nonexistent/armimmutable bash "$H" in.img w5 >h5.out 2>h5.err
rc=$?
ok "$([ $rc != 0 ] && grep -q 'error: armimmutable not found' h5.err; echo $?)" \
	"host_dependencies_ready: a missing CLI stops the build with the framework's error"
rm -rf w5

# ---- 4. add_host_dependencies: a local .deb, the apt package, the old string form ----
deps() { # deps DECLARE [VAR=VALUE...]: EXTRA_BUILD_DEPS after the hook
	local decl=$1
	shift
	# shellcheck disable=SC2016 # expanded by the inner bash
	env -u ARMIMMUTABLE_CLI "$@" bash -c 'display_alert() { :; }; exit_with_error() { echo "ERR $*"; exit 1; }
		'"$decl"'; . "$1"; add_host_dependencies__armimmutable; echo "${EXTRA_BUILD_DEPS[@]}"' _ "$EXT"
}
is "$(deps 'declare -a EXTRA_BUILD_DEPS=()' SRC="$TMP/none")" "armimmutable" \
	"no CLI and no .deb: the armimmutable package from the host's apt repositories"
is "$(deps 'EXTRA_BUILD_DEPS="pigz"' SRC="$TMP/none")" "pigz armimmutable" \
	"an older framework's string EXTRA_BUILD_DEPS is extended as a string"
deb=$(find "$AIM_TOP/build/deb" -maxdepth 1 -name 'armimmutable_*.deb' 2>/dev/null | head -n 1)
if [ -n "$deb" ]; then
	mkdir -p up/userpatches && cp "$deb" up/userpatches/
	got=$(deps 'declare -a EXTRA_BUILD_DEPS=()' SRC="$TMP/up")
	want=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' | tr '\n' ' ')
	is "$got " "$want" "a .deb in userpatches/: its dependencies go to EXTRA_BUILD_DEPS"
	check "... those include the shared libraries and mtools" sh -c "echo '$got' | grep -q mtools && echo '$got' | grep -q libsquashfs"
else
	skip "no build/deb/armimmutable_*.deb (make deb) for the local-.deb case"
fi
is "$(deps 'declare -a EXTRA_BUILD_DEPS=()' SRC="$TMP/none" ARMIMMUTABLE_DEB=/nonexistent.deb)" \
	"ERR ARMIMMUTABLE_DEB not found /nonexistent.deb" "ARMIMMUTABLE_DEB that does not exist: the framework's error"
done_testing
