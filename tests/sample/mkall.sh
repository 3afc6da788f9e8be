#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds (or finds in the cache) every bootable sample image the QEMU tests use, so that
# tests/run can make them in the background while the unit and integration tests run:
# the default sample (t-sample-*, t-modes, t-fallback, t-ota's v1),
# t-ota's v2 and v3, and the UEFI samples F and G (t-uefi-sample-boot). The rootfs under
# emulation is built once and shared by the first three and F; G's is a native amd64 one.
# Keep the variants here in step with the tests' mkbootable.sh calls: a variant missing
# here is still built, only later and in the foreground, by the test that asks for it.
# Prints each image's path; progress on stderr. Needs root for a cold build.
set -eu
here=$(dirname "$(readlink -f "$0")")
t0=$(date +%s)
"$here/mkbootable.sh"
"$here/mkbootable.sh" --version 25.11.0-v2 --marker "armimmutable sample v2" --system-user aimsvc \
	--variant s2
"$here/mkbootable.sh" --version 25.11.1-v3 --marker "armimmutable sample v3" --break-boot
"$here/mkuefi.sh" --shape F
"$here/mkuefi.sh" --shape G
echo "mkall: sample images ready in $(( $(date +%s) - t0 )) s" >&2
