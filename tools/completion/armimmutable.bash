# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for armimmutable (installed as
# /usr/share/bash-completion/completions/armimmutable). Verbs and options are read from
# the CLI's own --help, so that they never drift from the binary that is installed.

_armimmutable_opts() { # _armimmutable_opts CMD [VERB]: the long and short options of --help
	"$1" ${2:+"$2"} --help 2>/dev/null |
		grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | sed 's/^[ ,]*//' | sort -u
}

_armimmutable() {
	local cur prev verb i cmd=${COMP_WORDS[0]}
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	verb=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) verb=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$verb" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_armimmutable_opts "$cmd")" -- "$cur")
		else
			local verbs
			verbs=$("$cmd" --help 2>/dev/null | sed -n '/^Verbs:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
			mapfile -t COMPREPLY < <(compgen -W "$verbs" -- "$cur")
		fi
		return 0
	fi
	case $prev in
	--overlay) mapfile -t COMPREPLY < <(compgen -W "persistent tmpfs" -- "$cur"); return 0 ;;
	--slot-b) mapfile -t COMPREPLY < <(compgen -W "copy empty" -- "$cur"); return 0 ;;
	--verity) mapfile -t COMPREPLY < <(compgen -W "auto on off" -- "$cur"); return 0 ;;
	-c | --compressor) mapfile -t COMPREPLY < <(compgen -W "zstd xz gzip lz4" -- "$cur"); return 0 ;;
	--tmpdir | --persist) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return 0 ;;
	-l | --level | -b | --block-size | -j | --threads | --slot-size | --boot-size | \
		--data-size | --trial-timeout | --medium-size) return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_armimmutable_opts "$cmd" "$verb")" -- "$cur")
		return 0
	fi
	if [ "$verb" = bundle ] && [ "$i" -eq $((COMP_CWORD - 1)) ]; then
		mapfile -t COMPREPLY < <(compgen -W "create info verify" -- "$cur")
		return 0
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	compopt -o filenames 2>/dev/null
	return 0
}
complete -F _armimmutable armimmutable
