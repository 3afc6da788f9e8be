#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Builds, without root, a small ext4 image whose tree exercises every kind of metadata the
# converter must carry. Deterministic: the same call (same host, same --tree) gives the
# same bytes (fixed UUID, hash seed, E2FSPROGS_FAKE_TIME, every uid/gid/time set).
#
# Usage: mkrootfs.sh OUT.ext4 SIZE_MIB [--tree DIR] [--label L] [--uuid U] [--features F]
#   --tree DIR     copy DIR's contents into the root too (e.g. an Armbian-shaped /boot, /etc)
#   --features F   extra mke2fs -O features (e.g. "^metadata_csum", "inline_data": beware,
#                  mke2fs -d with inline_data truncates files whose tail is zero)
#   --bare         only the tree of --tree (plus lost+found), none of the cases below
#   --small        without /deep and /bigdir (about 0.5 s less)
#
# What the root contains (tests rely on these; every entry is owned 0:0 and has mtime
# 1600000000.0 unless listed otherwise; directories are 0755, files 0644):
#   /lost+found                      from mke2fs (0700)
#   /etc/hostname                    "aimtest\n"
#   /etc/alias        -> /data/hello.txt          (absolute symlink, for path resolution)
#   /etc/loop1 -> loop2, /etc/loop2 -> loop1      (symlink loop)
#   /data/hello.txt                  "hello, world\n"
#   /data/empty                      0 bytes
#   /data/random.bin                 307200 bytes: SHA-256 chain from seed "aim" (see gen_random)
#   /data/sparse.bin                 64 MiB: 4096 x 'B' at 0, 4096 x 'E' at 64 MiB - 4096,
#                                    a hole between
#   /data/prealloc.bin               1 MiB: 8192 x 'P' at 0, then an uninitialised (fallocated)
#                                    extent over blocks 2..255 (reads as zeros)
#   /data/big.bin                    4.5 GiB (4831838208 bytes), sparse: "HEAD-OF-BIG-FILE\n" at 0
#                                    and "TAIL-OF-BIG-FILE\n" as its last 17 bytes
#   /modes/setuid 04755, /modes/setgid 02755, /modes/all 07777, /modes/none 0000 (files, empty)
#   /modes/sticky                    directory 01777
#   /owners/big                      uid 100000 gid 200000
#   /owners/user                     uid 1000 gid 1000
#   /owners/root                     uid 0 gid 0
#   /times/nsec                      mtime 1700000000.123456789
#   /times/y2100                     mtime 4102444800.000000005 (2100-01-01, epoch bits)
#   /times/pre1970                   mtime -1 (1969-12-31T23:59:59)
#   /xattr/file                      user.comment="hello xattr", trusted.overlay.opaque="y",
#                                    security.capability = v2, cap_net_raw effective+permitted
#   /xattr/acl                       system.posix_acl_access: u::rw- u:1000:r-- g::r-- m::r-- o::---
#   /xattr/acldir                    directory with system.posix_acl_default: u::rwx g::r-x o::r-x
#   /links/a, /links/b, /links/sub/c one inode, 3 names, content "linked\n"
#   /links/fast       -> hello.txt   (fast symlink, 9 bytes)
#   /links/slow       -> 100-byte target "../data/" + 'x' * 92 (slow symlink, dangling)
#   /dev/blk                         block device 8:1 (old encoding)
#   /dev/chr                         char device 300:70000 (new encoding)
#   /dev/null                        char device 1:3
#   /dev/fifo                        fifo 0644
#   /dev/sock                        socket 0755
#   /names/<255 x 'n'>               "long name\n"
#   /deep/d/d/.../d/leaf             200 nested "d" directories, then file "leaf" ("deep\n")
#   /bigdir/f0000 ... /bigdir/f4999  5000 empty files (htree directory)
set -eu

usage() {
	echo "usage: $0 OUT.ext4 SIZE_MIB [--tree DIR] [--label L] [--uuid U] [--features F]" \
		"[--bare] [--small]" >&2
	exit 2
}

[ $# -ge 2 ] || usage
out=$1
size_mib=$2
shift 2
tree=""
label="aimroot"
uuid="5a1e5a1e-0000-4000-8000-00000000a1e4"
features=""
bare=0
small=0
while [ $# -gt 0 ]; do
	case "$1" in
	--tree) [ $# -ge 2 ] || usage; tree=$2; shift 2 ;;
	--label) [ $# -ge 2 ] || usage; label=$2; shift 2 ;;
	--uuid) [ $# -ge 2 ] || usage; uuid=$2; shift 2 ;;
	--features) [ $# -ge 2 ] || usage; features=$2; shift 2 ;;
	--bare) bare=1; shift ;;
	--small) small=1; shift ;;
	*) usage ;;
	esac
done
case "$size_mib" in '' | *[!0-9]*) usage ;; esac

PATH=$PATH:/sbin:/usr/sbin
export E2FSPROGS_FAKE_TIME=1600000000 E2FSCK_TIME=1600000000
export LC_ALL=C TZ=UTC
T=1600000000

# Stage on tmpfs when there is one: creating the 5000 files on a loaded disk filesystem
# costs seconds. An extra --tree may be large, so that stays in TMPDIR.
stage=${TMPDIR:-/tmp}
if [ -z "$tree" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then stage=/dev/shm; fi
work=$(mktemp -d "$stage/mkrootfs.XXXXXX")
[ -n "${MKROOTFS_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT INT TERM
root=$work/root
mkdir "$root"
cmds=$work/debugfs.cmds
: >"$cmds"

# A fixed mke2fs configuration, independent of the host's /etc/mke2fs.conf.
cat >"$work/mke2fs.conf" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr,dir_nlink
	default_mntopts = acl,user_xattr
	blocksize = 4096
	inode_size = 256
	inode_ratio = 4096
[fs_types]
	small = {
		inode_ratio = 4096
	}
	floppy = {
		inode_ratio = 4096
	}
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,extra_isize
	}
EOF
export MKE2FS_CONFIG="$work/mke2fs.conf"

# 32-byte SHA-256 chain: deterministic pseudo-random bytes.
gen_random() { # SEED BYTES
	perl -MDigest::SHA=sha256 -e 'my ($s, $n) = @ARGV; my $o = "";
		while (length($o) < $n) { $s = sha256($s); $o .= $s }
		print substr($o, 0, $n)' "$1" "$2"
}

repeat() { # CHAR COUNT
	perl -e 'print $ARGV[0] x $ARGV[1]' "$1" "$2"
}

if [ $bare = 0 ]; then
	mkdir -p "$root/etc" "$root/data" "$root/modes/sticky" "$root/owners" "$root/times" \
		"$root/xattr/acldir" "$root/links/sub" "$root/dev" "$root/names"
	printf 'aimtest\n' >"$root/etc/hostname"
	ln -s /data/hello.txt "$root/etc/alias"
	ln -s loop2 "$root/etc/loop1"
	ln -s loop1 "$root/etc/loop2"

	printf 'hello, world\n' >"$root/data/hello.txt"
	: >"$root/data/empty"
	gen_random aim 307200 >"$root/data/random.bin"
	truncate -s 64M "$root/data/sparse.bin"
	repeat B 4096 | dd of="$root/data/sparse.bin" conv=notrunc status=none
	repeat E 4096 | dd of="$root/data/sparse.bin" bs=4096 seek=16383 conv=notrunc status=none
	repeat P 8192 >"$root/data/prealloc.bin"
	truncate -s 4831838208 "$root/data/big.bin"
	printf 'HEAD-OF-BIG-FILE\n' | dd of="$root/data/big.bin" conv=notrunc status=none
	printf 'TAIL-OF-BIG-FILE\n' |
		dd of="$root/data/big.bin" bs=1 seek=4831838191 conv=notrunc status=none

	for f in setuid setgid all none; do : >"$root/modes/$f"; done
	for f in big user root; do : >"$root/owners/$f"; done
	for f in nsec y2100 pre1970; do : >"$root/times/$f"; done
	: >"$root/xattr/file"
	: >"$root/xattr/acl"

	printf 'linked\n' >"$root/links/a"
	ln "$root/links/a" "$root/links/b"
	ln "$root/links/a" "$root/links/sub/c"
	ln -s hello.txt "$root/links/fast"
	ln -s "../data/$(repeat x 92)" "$root/links/slow"

	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Local => $ARGV[0], Type => SOCK_STREAM,
		Listen => 1) or die "socket: $!\n"' "$root/dev/sock"

	printf 'long name\n' >"$root/names/$(repeat n 255)"

	if [ $small = 0 ]; then
		d=$root/deep
		i=0
		while [ $i -lt 200 ]; do d=$d/d; i=$((i + 1)); done
		mkdir -p "$d"
		printf 'deep\n' >"$d/leaf"
		# mke2fs -d inserts into a linear directory (quadratic: ~2 s for 5000 names), so
		# it gets the first 300 (two blocks, indexed by e2fsck -D below) and debugfs
		# links the rest into the htree.
		mkdir "$root/bigdir"
		(cd "$root/bigdir" && perl -e 'for (0..299) { my $n = sprintf("f%04d", $_);
			open(my $f, ">", $n) or die "$n: $!\n"; }')
		perl -e 'print "cd /bigdir\n"; printf("mknod f%04d p\n", $_) for 300..4999;
			print "cd /\n"' >"$work/bigdir.cmds"
	fi

	# security.capability v2: effective, permitted = CAP_NET_RAW (13)
	printf '\001\000\000\002\000\040\000\000\000\000\000\000\000\000\000\000\000\000\000\000' \
		>"$work/cap"
	# POSIX ACLs in the VFS v2 format (libext2fs converts them to the ext4 format)
	perl -e 'print pack("V", 2), pack("vvV", 1, 6, 0xffffffff), pack("vvV", 2, 4, 1000),
		pack("vvV", 4, 4, 0xffffffff), pack("vvV", 0x10, 4, 0xffffffff),
		pack("vvV", 0x20, 0, 0xffffffff)' >"$work/acl"
	perl -e 'print pack("V", 2), pack("vvV", 1, 7, 0xffffffff), pack("vvV", 4, 5, 0xffffffff),
		pack("vvV", 0x20, 5, 0xffffffff)' >"$work/dacl"

	cat >"$cmds" <<EOF
sif /data/prealloc.bin size 1048576
fallocate /data/prealloc.bin 2 255
sif /modes/setuid mode 0104755
sif /modes/setgid mode 0102755
sif /modes/all mode 0107777
sif /modes/none mode 0100000
sif /modes/sticky mode 041777
sif /owners/big uid 100000
sif /owners/big gid 200000
sif /owners/user uid 1000
sif /owners/user gid 1000
sif /times/nsec mtime @1700000000
sif /times/nsec mtime_extra $((123456789 << 2))
sif /times/y2100 mtime @4102444800
sif /times/y2100 mtime_extra $(((5 << 2) | 1))
sif /times/pre1970 mtime 0xffffffff
sif /times/pre1970 mtime_extra 0
ea_set /xattr/file user.comment "hello xattr"
ea_set /xattr/file trusted.overlay.opaque y
ea_set -f $work/cap /xattr/file security.capability
ea_set -f $work/acl /xattr/acl system.posix_acl_access
ea_set -f $work/dacl /xattr/acldir system.posix_acl_default
cd /dev
mknod blk b 8 1
sif blk mode 060666
mknod chr c 1 1
sif chr block[0] 0
sif chr block[1] $(((70000 & 0xff) | (300 << 8) | ((70000 & ~0xff) << 12)))
sif chr mode 020666
mknod null c 1 3
sif null mode 020666
mknod fifo p
sif fifo mode 010644
sif sock mode 0140755
cd /
EOF
fi

if [ -n "$tree" ]; then
	cp -a "$tree/." "$root/"
fi

# Fixed times in the source (mke2fs -d copies the seconds of atime and mtime).
find "$root" -exec touch -h -d "@$T" {} +

feat=""
[ -n "$features" ] && feat="-O $features"
rm -f "$out"
truncate -s "${size_mib}M" "$out"
# shellcheck disable=SC2086
mke2fs -q -F -t ext4 -L "$label" -U "$uuid" -E "hash_seed=$uuid,lazy_itable_init=0" $feat \
	-d "$root" "$out"

# Owners and times of everything: mke2fs -d copies the caller's uid/gid and the real ctime,
# and debugfs stamps new inodes with its own clock. mke2fs -d allocates inodes contiguously,
# so fix them by number (a path lookup per entry in the 5000-entry directory is slow).
if [ -e "$work/bigdir.cmds" ]; then
	e2fsck -fyD "$out" >/dev/null 2>&1 || [ $? -lt 4 ] ||
		{ echo "mkrootfs: e2fsck -D failed" >&2; exit 1; }
fi
icount=$(dumpe2fs -h "$out" 2>/dev/null | sed -n 's/^Inode count: *//p')
ifree=$(dumpe2fs -h "$out" 2>/dev/null | sed -n 's/^Free inodes: *//p')
used=$((icount - ifree))
last=$(debugfs -R "testi <$used>" "$out" 2>/dev/null)
next=$(debugfs -R "testi <$((used + 1))>" "$out" 2>/dev/null)
case "$last $next" in
*"Inode $used is marked in use"*"Inode $((used + 1)) is not in use"*) ;;
*) echo "mkrootfs: inodes 1..$used are not contiguous; cannot fix owners" >&2; exit 1 ;;
esac
extra=$(grep -c '^mknod' "$cmds" || true)
perl -e 'my ($t, $n) = @ARGV; for my $i (2, 11 .. $n) {
	print "sif <$i> uid 0\nsif <$i> gid 0\nsif <$i> ctime \@$t\nsif <$i> atime \@$t\n";
	print "sif <$i> crtime \@$t\n" }' "$T" "$used" >"$work/owners1.cmds"
# The bigdir entries came as fifos (debugfs has no "create empty file"): make them empty
# regular files with an empty extent tree, as mke2fs -d makes them.
: >"$work/bigfix.cmds"
if [ -e "$work/bigdir.cmds" ]; then
	cat "$work/bigdir.cmds" >>"$cmds"
	perl -e 'my ($a, $b) = @ARGV; for my $i ($a .. $b) {
		print "sif <$i> mode 0100644\nsif <$i> flags 0x80000\n";
		print "sif <$i> block[0] 0xf30a\nsif <$i> block[1] 4\n" }' \
		$((used + extra + 1)) $((used + extra + 4700)) >"$work/bigfix.cmds"
	extra=$((extra + 4700))
fi
perl -e 'my ($t, $a, $b) = @ARGV; for my $i ($a .. $b) {
	print "sif <$i> uid 0\nsif <$i> gid 0\nsif <$i> ctime \@$t\nsif <$i> atime \@$t\n";
	print "sif <$i> mtime \@$t\nsif <$i> crtime \@$t\n" }' \
	"$T" $((used + 1)) $((used + extra)) \
	>"$work/owners2.cmds"
cat "$work/owners1.cmds" "$cmds" "$work/owners2.cmds" "$work/bigfix.cmds" >"$work/all.cmds"
debugfs -w -f "$work/all.cmds" "$out" >"$work/debugfs.log" 2>&1
if grep -v '^debugfs' "$work/debugfs.log" | grep -v '^Allocated inode' | grep -q .; then
	echo "mkrootfs: debugfs reported:" >&2
	grep -v '^debugfs' "$work/debugfs.log" | grep -v '^Allocated inode' | head -20 >&2
	exit 1
fi
# Index the directories (mke2fs -d leaves them linear; /bigdir becomes an htree) and check.
rc=0
e2fsck -fyD "$out" >"$work/e2fsck.log" 2>&1 || rc=$?
if [ $rc -ge 4 ]; then
	echo "mkrootfs: e2fsck failed ($rc):" >&2
	head -20 "$work/e2fsck.log" >&2
	exit 1
fi
