# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# armimmutable extension for the Armbian build framework (docs/armbian-build.md).
#
# Copy (or link) this file to userpatches/extensions/armimmutable.sh of an armbian/build
# checkout and build with ENABLE_EXTENSIONS=armimmutable: beside the normal image,
# output/images/ then also holds <image>.immutable.img (or .img.xz/.img.zst), the same
# image converted into the immutable A/B layout by 'armimmutable convert'. The normal
# image is left as it is.
#
# Variables (all optional; set them in the build command or a userpatches config):
#   ARMIMMUTABLE_OVERLAY       persistent (default) or tmpfs              --overlay
#   ARMIMMUTABLE_PERSIST       paths kept on the data partition, e.g.
#                              "/home /etc/ssh"                           --persist (each)
#   ARMIMMUTABLE_TRUST         minisign public keys the device accepts
#                              update bundles from, space-separated       --trust (each)
#   ARMIMMUTABLE_SIGN_KEY      the release secret key (signs slot.env)    --sign
#   ARMIMMUTABLE_SIGN_PASSWORD_FILE  its password, first line             --password-file
#   ARMIMMUTABLE_MEDIUM_SIZE   the medium the image is for (8G, 16G, ...): the slot policy
#                                                                         --medium-size
#   ARMIMMUTABLE_SLOT_SIZE     a fixed size of each root slot             --slot-size
#   ARMIMMUTABLE_SLOT_B        copy (default) or empty                    --slot-b
#   ARMIMMUTABLE_VERITY        auto (default), on or off                  --verity
#   ARMIMMUTABLE_SQUASHFS      squashfs compressor: zstd (default), xz, gzip, lz4   -c
#   ARMIMMUTABLE_COMPRESS      the output file: none, xz or zst. Default: xz when the
#                              build's COMPRESS_OUTPUTIMAGE has xz, zst when it has zst,
#                              else none (a raw .img, as the build's own 'img')
#   ARMIMMUTABLE_EXTRA_ARGS    more convert options, word-split
#   ARMIMMUTABLE_CLI           the armimmutable binary to run (default: armimmutable in PATH)
#   ARMIMMUTABLE_DEB           a local armimmutable_*.deb installed on the build host
#                              (default: the newest userpatches/armimmutable_*.deb)
# SOURCE_DATE_EPOCH, when the build sets it, makes the conversion reproducible.
#
# Hooks, in the order the framework calls them: extension_prepare_config (checks the
# variables before the long build starts), add_host_dependencies (what the host needs),
# host_dependencies_ready (installs a local .deb), post_build_image (the conversion of
# ${FINAL_IMAGE_FILE}).

# The .deb to install on the build host, if any: ARMIMMUTABLE_DEB or the newest
# userpatches/armimmutable_*.deb.
function armimmutable_local_deb() {
	if [[ -n "${ARMIMMUTABLE_DEB:-}" ]]; then
		echo "${ARMIMMUTABLE_DEB}"
		return 0
	fi
	local up="${USERPATCHES_PATH:-${SRC:-.}/userpatches}" f newest=""
	for f in "${up}"/armimmutable_*.deb; do
		[[ -f "${f}" ]] || continue
		[[ -z "${newest}" || "${f}" -nt "${newest}" ]] && newest="${f}"
	done
	echo "${newest}"
}

function armimmutable_cli() {
	echo "${ARMIMMUTABLE_CLI:-armimmutable}"
}

# The output compression: none, xz or zst.
function armimmutable_compress() {
	local c="${ARMIMMUTABLE_COMPRESS:-}"
	if [[ -z "${c}" ]]; then
		case ",${COMPRESS_OUTPUTIMAGE:-}," in
			*xz*) c=xz ;;
			*zst*) c=zst ;;
			*) c=none ;;
		esac
	fi
	echo "${c}"
}

function extension_prepare_config__armimmutable() {
	display_alert "Extension: ${EXTENSION:-armimmutable}" "immutable A/B image beside the normal one" "info"
	case "${ARMIMMUTABLE_OVERLAY:=persistent}" in
		persistent | tmpfs) ;;
		*) exit_with_error "ARMIMMUTABLE_OVERLAY must be persistent or tmpfs" "${ARMIMMUTABLE_OVERLAY}" ;;
	esac
	case "${ARMIMMUTABLE_SLOT_B:=copy}" in
		copy | empty) ;;
		*) exit_with_error "ARMIMMUTABLE_SLOT_B must be copy or empty" "${ARMIMMUTABLE_SLOT_B}" ;;
	esac
	case "${ARMIMMUTABLE_VERITY:=auto}" in
		auto | on | off) ;;
		*) exit_with_error "ARMIMMUTABLE_VERITY must be auto, on or off" "${ARMIMMUTABLE_VERITY}" ;;
	esac
	case "$(armimmutable_compress)" in
		none | xz | zst) ;;
		*) exit_with_error "ARMIMMUTABLE_COMPRESS must be none, xz or zst" "${ARMIMMUTABLE_COMPRESS}" ;;
	esac
	local p
	for p in ${ARMIMMUTABLE_PERSIST:-}; do
		[[ "${p}" == /* ]] || exit_with_error "ARMIMMUTABLE_PERSIST: not an absolute path" "${p}"
	done
	for p in ${ARMIMMUTABLE_TRUST:-} ${ARMIMMUTABLE_SIGN_KEY:-} ${ARMIMMUTABLE_SIGN_PASSWORD_FILE:-}; do
		[[ -r "${p}" ]] || exit_with_error "armimmutable: key or password file not readable" "${p}"
	done
}

# The framework installs EXTRA_BUILD_DEPS with apt (on the host, or into its Docker
# image). A local .deb: its dependencies go there and host_dependencies_ready installs
# it; ARMIMMUTABLE_CLI: only the tools convert runs; else the armimmutable package
# itself (from an apt repository the host has).
function add_host_dependencies__armimmutable() {
	local deb pkgs=()
	deb="$(armimmutable_local_deb)"
	if [[ -n "${ARMIMMUTABLE_CLI:-}" ]]; then
		pkgs=(e2fsprogs mtools)
	elif [[ -n "${deb}" ]]; then
		[[ -f "${deb}" ]] || exit_with_error "ARMIMMUTABLE_DEB not found" "${deb}"
		# Depends without versions; of alternatives the first.
		mapfile -t pkgs < <(dpkg-deb -f "${deb}" Depends | tr ',' '\n' |
			sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$')
	else
		pkgs=(armimmutable)
	fi
	display_alert "Extension: ${EXTENSION:-armimmutable}: host dependencies" "${pkgs[*]}" "debug"
	# Newer frameworks declare an array, older ones a string.
	if [[ "$(declare -p EXTRA_BUILD_DEPS 2> /dev/null)" == "declare -"*a* ]]; then
		EXTRA_BUILD_DEPS+=("${pkgs[@]}")
	else
		# shellcheck disable=SC2178 # the string form of older frameworks
		declare -g EXTRA_BUILD_DEPS="${EXTRA_BUILD_DEPS:-} ${pkgs[*]}"
	fi
}

function host_dependencies_ready__armimmutable() {
	local deb cli
	deb="$(armimmutable_local_deb)"
	if [[ -z "${ARMIMMUTABLE_CLI:-}" && -n "${deb}" ]]; then
		display_alert "Extension: ${EXTENSION:-armimmutable}: installing" "${deb##*/}" "info"
		run_host_command_logged dpkg -i "${deb}"
	fi
	cli="$(armimmutable_cli)"
	command -v "${cli}" > /dev/null 2>&1 ||
		exit_with_error "armimmutable not found" "${cli} (ARMIMMUTABLE_CLI, ARMIMMUTABLE_DEB or the armimmutable package)"
	display_alert "Extension: ${EXTENSION:-armimmutable}" "$("${cli}" --version 2>&1)" "info"
}

# After the framework has written (and maybe compressed) ${FINAL_IMAGE_FILE}, which is
# still the raw .img here: convert it into ${FINAL_IMAGE_FILE%.img}.immutable.img[.xz|.zst]
# in the same directory, so that the framework moves it to output/images with the
# others (every file named <version>.* goes there).
function post_build_image__armimmutable() {
	local cli in out compress help
	local -a args=()
	cli="$(armimmutable_cli)"
	in="${FINAL_IMAGE_FILE:?FINAL_IMAGE_FILE is not set}"
	[[ -f "${in}" ]] || exit_with_error "armimmutable: no image to convert" "${in}"
	compress="$(armimmutable_compress)"
	out="${in%.img}.immutable.img"
	help="$("${cli}" convert --help 2>&1)"

	args+=(--overlay "${ARMIMMUTABLE_OVERLAY:-persistent}" --slot-b "${ARMIMMUTABLE_SLOT_B:-copy}")
	args+=(--verity "${ARMIMMUTABLE_VERITY:-auto}")
	local p
	for p in ${ARMIMMUTABLE_PERSIST:-}; do args+=(--persist "${p}"); done
	for p in ${ARMIMMUTABLE_TRUST:-}; do args+=(--trust "${p}"); done
	[[ -n "${ARMIMMUTABLE_SIGN_KEY:-}" ]] && args+=(--sign "${ARMIMMUTABLE_SIGN_KEY}")
	[[ -n "${ARMIMMUTABLE_SIGN_PASSWORD_FILE:-}" ]] && args+=(--password-file "${ARMIMMUTABLE_SIGN_PASSWORD_FILE}")
	[[ -n "${ARMIMMUTABLE_SLOT_SIZE:-}" ]] && args+=(--slot-size "${ARMIMMUTABLE_SLOT_SIZE}")
	[[ -n "${ARMIMMUTABLE_SQUASHFS:-}" ]] && args+=(--compressor "${ARMIMMUTABLE_SQUASHFS}")
	if [[ -n "${ARMIMMUTABLE_MEDIUM_SIZE:-}" ]]; then
		[[ "${help}" == *--medium-size* ]] ||
			exit_with_error "ARMIMMUTABLE_MEDIUM_SIZE: this armimmutable has no --medium-size" "$("${cli}" --version 2>&1)"
		args+=(--medium-size "${ARMIMMUTABLE_MEDIUM_SIZE}")
	fi
	# shellcheck disable=SC2206 # word-split on purpose
	[[ -n "${ARMIMMUTABLE_EXTRA_ARGS:-}" ]] && args+=(${ARMIMMUTABLE_EXTRA_ARGS})

	# convert writes .img.xz/.img.zst itself (multi-threaded, with .sha256) when it can;
	# an older armimmutable writes the raw image, compressed here afterwards.
	local native=no target="${out}"
	if [[ "${compress}" != none && "${help}" == *--compress-level* ]]; then
		native=yes
		target="${out}.${compress}"
	fi
	rm -f "${out}" "${out}.xz" "${out}.zst" "${out}.${compress}.sha256"
	display_alert "Converting into the immutable A/B layout" "${target##*/}" "info"
	run_host_command_logged "${cli}" -q convert "${args[@]}" "${in}" "${target}" ||
		exit_with_error "armimmutable convert failed" "${in##*/}"
	if [[ "${compress}" != none && "${native}" == no ]]; then
		display_alert "Compressing" "${out##*/}.${compress}" "info"
		if [[ "${compress}" == xz ]]; then
			run_host_command_logged xz -T0 -6 -f "${out}" || exit_with_error "xz failed" "${out}"
		else
			run_host_command_logged zstd -T0 -q --rm -f "${out}" -o "${out}.zst" || exit_with_error "zstd failed" "${out}"
		fi
		(cd "${out%/*}" && sha256sum "${out##*/}.${compress}" > "${out##*/}.${compress}.sha256") ||
			exit_with_error "sha256sum failed" "${out}.${compress}"
	fi
	display_alert "Immutable A/B image" "${target}" "info"
}
