# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by mkbootable.sh for --variant NAME: the second version of a delta-update pair
# (docs/delta.md), made from the same cached rootfs as the base sample by installing
# Debian packages with dpkg in the extracted tree (chroot under qemu-user), as an apt
# upgrade on the device would. Versions are not pinned: for each package the newest
# version in the host's apt sources (bookworm, -updates, -security; arm64 must be a
# foreign architecture there, as tools/sysroot.sh arranges) that differs from the one in
# the rootfs is taken, and recorded in the image's .info (VARIANT_PKGS).
#   s1  one small package added (nano) and an /etc file changed (sshd_config)
#   s2  a security-style update of shared libraries: libssl3, zlib1g, libc6, libc-bin
#   s3  a kernel change: another linux-image-6.1.0-N-arm64 (a new /lib/modules tree and
#       initrd), the old one purged

variant_check() {
	case "$1" in
	s1|s2|s3) ;;
	*) echo "mkbootable: unknown --variant: $1 (s1, s2, s3)" >&2; exit 2 ;;
	esac
}

# variant_other_version ROOT PKG: the newest arm64 version apt knows that is not ROOT's.
variant_other_version() {
	have=$(dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Version}' "$2" 2>/dev/null || true)
	apt-cache madison "$2:arm64" | awk -F' [|] ' -v have="$have" \
		'{ gsub(/ /, "", $2) } $2 != have { print $2; exit }'
}

# variant_fetch DIR PKG=VER...: downloads the .debs into DIR.
variant_fetch() {
	d=$1
	shift
	mkdir -p "$d"
	for pv in "$@"; do
		(cd "$d" && apt-get download -q "${pv%%=*}:arm64=${pv#*=}" >/dev/null 2>&1) ||
			die "variant: cannot download ${pv%%=*}:arm64=${pv#*=} (apt-get update?)"
	done
}

# variant_dpkg ROOT ARGS...: dpkg inside the tree (qemu-user), /proc mounted meanwhile.
variant_dpkg() {
	vr=$1
	shift
	mount -t proc proc "$vr/proc"
	rc=0
	chroot "$vr" env DEBIAN_FRONTEND=noninteractive PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		dpkg --force-confold --force-confdef "$@" >&2 || rc=$?
	umount "$vr/proc"
	[ $rc = 0 ] || die "variant: dpkg $* failed ($rc)"
}

# variant_apply ROOT NAME: turns the extracted base rootfs into version 2 of pair NAME.
# Sets VARIANT_PKGS ("pkg=version ..." installed, "-pkg" purged).
variant_apply() {
	vr=$1
	vn=$2
	debs="$vr/tmp/aim-variant-debs"
	VARIANT_PKGS=""
	sample_ensure_binfmt
	case "$vn" in
	s1)
		v=$(variant_other_version "$vr" nano)
		[ -n "$v" ] || die "variant s1: no nano in the apt sources"
		VARIANT_PKGS="nano=$v"
		;;
	s2)
		for p in libssl3 zlib1g libc6 libc-bin; do
			v=$(variant_other_version "$vr" $p)
			[ -n "$v" ] || die "variant s2: no other version of $p in the apt sources"
			VARIANT_PKGS="$VARIANT_PKGS $p=$v"
		done
		;;
	s3)
		old=$(dpkg-query --admindir="$vr/var/lib/dpkg" -W -f='${Package}\n' \
			'linux-image-[0-9]*' | head -n 1)
		v=$(variant_other_version "$vr" linux-image-arm64)
		[ -n "$v" ] || die "variant s3: no other linux-image-arm64 in the apt sources"
		new=$(apt-cache show "linux-image-arm64:arm64=$v" |
			sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*\) (= .*/\1/p' | head -n 1)
		if [ -z "$new" ] || [ "$new" = "$old" ]; then
			die "variant s3: linux-image-arm64 $v brings no other kernel than $old"
		fi
		nv=$(apt-cache show "$new:arm64" | sed -n 's/^Version: //p' | head -n 1)
		VARIANT_PKGS="linux-image-arm64=$v $new=$nv"
		;;
	esac
	# shellcheck disable=SC2086
	variant_fetch "$debs" $VARIANT_PKGS
	set --
	for f in "$debs"/*.deb; do
		set -- "$@" "/tmp/aim-variant-debs/${f##*/}"
	done
	variant_dpkg "$vr" -i "$@"
	rm -rf "$debs"
	case "$vn" in
	s1)
		printf '\n# armimmutable sample variant s1\nClientAliveInterval 120\n' \
			>>"$vr/etc/ssh/sshd_config"
		;;
	s3)
		variant_dpkg "$vr" --purge "$old"
		kold=${old#linux-image-}
		rm -rf "$vr/lib/modules/$kold" "$vr/usr/lib/linux-image-$kold"
		VARIANT_PKGS="$VARIANT_PKGS -$old"
		;;
	esac
	VARIANT_PKGS=${VARIANT_PKGS# }
	say "variant $vn: $VARIANT_PKGS"
}
