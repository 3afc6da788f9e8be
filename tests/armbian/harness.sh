#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs extensions/armimmutable.sh the way the Armbian build framework does
# (docs/armbian-build.md), without the framework, which cannot run offline:
#
#   tests/armbian/harness.sh IMAGE WORKDIR        (variables: ARMIMMUTABLE_*, COMPRESS_OUTPUTIMAGE)
#
# It defines the framework helpers the extension uses (display_alert,
# run_host_command_logged, exit_with_error) and call_extension_method as the framework
# has them (each hook's implementations HOOK__* in name order, EXTENSION set), sets the
# framework's variables (SRC, USERPATCHES_PATH, DEST, version, DESTIMG, FINALDEST,
# FINAL_IMAGE_FILE), sources the extension and calls the hooks in the framework's order:
# extension_prepare_config, add_host_dependencies (EXTRA_BUILD_DEPS declared as an empty
# array before, as lib/functions/host/prepare-host.sh does; its content is printed as
# "EXTRA_BUILD_DEPS: ..."), host_dependencies_ready, then the image: IMAGE copied to
# ${DESTIMG}/${version}.img, the framework's checksum when COMPRESS_OUTPUTIMAGE has sha,
# post_build_image with FINAL_IMAGE_FILE, and every ${DESTIMG}/${version}.* moved to
# ${FINALDEST} (WORKDIR/images), as rootfs-to-image.sh does. Errexit as in the framework.
# The last line on stdout is the path of WORKDIR/images. Exit status: the build's.
set -eEo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
in=${1:?usage: harness.sh IMAGE WORKDIR}
work=${2:?usage: harness.sh IMAGE WORKDIR}

# ---- the framework's helpers, as lib/functions/logging/*.sh define them (output only) ----
function display_alert() {
	local level=${3:-}
	case "${level}" in
		debug | command) [[ "${SHOW_DEBUG:-}" == yes ]] || return 0 ;;
	esac
	echo "[${level:-....}] ${1}${2:+ [ ${2} ]}" >&2
}
function run_host_command_logged() {
	display_alert "Command debug" "$*" "command"
	"$@" 2>&1
}
function exit_with_error() {
	display_alert "error: ${1}" "${2:-} in ${FUNCNAME[1]}()" "err"
	exit 43
}
function call_extension_method() {
	local hook f
	for hook in "$@"; do
		for f in $(compgen -A function "${hook}__" | sort); do
			EXTENSION=armimmutable "${f}"
		done
	done
}

# ---- the framework's variables ----
declare -g SRC="${work}/armbian-build"
declare -g USERPATCHES_PATH="${SRC}/userpatches"
declare -g DEST="${SRC}/output"
declare -g version="${HARNESS_VERSION:-Armbian-harness_25.8.0_Sample_bookworm_current}"
declare -g DESTIMG="${work}/destimg"
declare -g FINALDEST="${DEST}/images"
declare -g COMPRESS_OUTPUTIMAGE="${COMPRESS_OUTPUTIMAGE:-sha,img}"
mkdir -p "${USERPATCHES_PATH}/extensions" "${DESTIMG}" "${FINALDEST}"
cp "${top}/extensions/armimmutable.sh" "${USERPATCHES_PATH}/extensions/armimmutable.sh"
# shellcheck source=extensions/armimmutable.sh
source "${USERPATCHES_PATH}/extensions/armimmutable.sh"

# ---- configuration, then the host (prepare-host.sh) ----
call_extension_method "extension_prepare_config"
declare -g -a EXTRA_BUILD_DEPS=()
call_extension_method "add_host_dependencies"
echo "EXTRA_BUILD_DEPS: ${EXTRA_BUILD_DEPS[*]}"
call_extension_method "host_dependencies_ready"

# ---- the image (rootfs-to-image.sh: the .img, image_compress_and_checksum, the hook, the move) ----
cp --sparse=always "${in}" "${DESTIMG}/${version}.img"
declare compression_type=""
if [[ "${COMPRESS_OUTPUTIMAGE}" == *sha* ]]; then
	(cd "${DESTIMG}" && sha256sum -b "${version}.img" > "${version}.img.sha")
fi
export FINAL_IMAGE_FILE="${DESTIMG}/${version}.img"
call_extension_method "post_build_image"
[[ -n "${compression_type}" ]] && rm -f "${DESTIMG}/${version}.img"
for f in "${DESTIMG}/${version}."*; do
	mv "${f}" "${FINALDEST}/"
done
echo "${FINALDEST}"
