#!/usr/bin/perl
# SPDX-License-Identifier: LGPL-2.1-or-later
# Deterministic binary blobs for the sample Armbian images (tests/sample/mkshape.sh).
# Everything is written to stdout; the same arguments always give the same bytes.
#
#   prng SEED N            N pseudo-random bytes: SHA-256("SEED:" . i) for i = 0, 1, ...
#   fdt                    a flattened device tree (magic d00dfeed, version 17) built from
#                          a small description read on stdin, one item per line:
#                            node NAME | end | s PROP STR[|STR...] | u32 PROP N [N...]
#                            | u64 PROP N | empty PROP | file PROP PATH | prng PROP SEED N
#                          "node /" is the root node; numbers may be 0x... hex.
#   elf ARCH exec|rel      a small ELF for arm64|armhf|amd64: "exec" is a static program that
#                          calls exit(0); "rel" is a relocatable object (a stand-in .ko)
#   kernel ARCH SEED N     a fake kernel of N bytes whose header is what the boot loaders
#                          check: arm64 Image header ("ARM\x64" at 56, "MZ" at 0), armhf
#                          zImage magic 0x016f2818 at 0x24, amd64 bzImage ("HdrS" at 0x202)
#   pe ARCH SEED N         a fake PE/COFF EFI application ("MZ", "PE\0\0", machine, subsystem 10)
#   ubootenv SIZE          a U-Boot environment block: CRC32 (LE) of the data area, then the
#                          key=value lines read on stdin, NUL-separated, zero-padded to SIZE
use strict;
use warnings;
use Digest::SHA qw(sha256);

binmode STDOUT;
my $cmd = shift // die "usage: blobs.pl CMD ...\n";

sub prng {
	my ($seed, $n) = @_;
	my $out = '';
	my $i = 0;
	$out .= sha256("$seed:" . $i++) while length($out) < $n;
	return substr($out, 0, $n);
}

sub num {
	my ($v) = @_;
	return $v =~ /^0x/i ? hex($v) : $v + 0;
}

sub pad4 {
	my ($s) = @_;
	return $s . ("\0" x ((4 - length($s) % 4) % 4));
}

sub fdt {
	my ($struct, $strings) = ('', '');
	my %stroff;
	my $depth = 0;
	my $prop = sub {
		my ($name, $val) = @_;
		unless (exists $stroff{$name}) {
			$stroff{$name} = length($strings);
			$strings .= "$name\0";
		}
		$struct .= pack('NNN', 3, length($val), $stroff{$name}) . pad4($val);
	};
	while (my $l = <STDIN>) {
		chomp $l;
		$l =~ s/^\s+//;
		next if $l eq '' || $l =~ /^#/;
		my ($op, $name, @a) = split /\s+/, $l;
		if ($op eq 'node') {
			$name = '' if $name eq '/';
			$struct .= pack('N', 1) . pad4("$name\0");
			$depth++;
		} elsif ($op eq 'end') {
			$struct .= pack('N', 2);
			$depth--;
		} elsif ($op eq 's') {
			my $v = join(' ', @a);
			$prop->($name, join('', map { "$_\0" } split(/\|/, $v)));
		} elsif ($op eq 'u32') {
			$prop->($name, pack('N*', map { num($_) } @a));
		} elsif ($op eq 'u64') {
			my $v = num($a[0]);
			$prop->($name, pack('NN', int($v / 4294967296), $v % 4294967296));
		} elsif ($op eq 'empty') {
			$prop->($name, '');
		} elsif ($op eq 'file') {
			open(my $fh, '<:raw', $a[0]) or die "fdt: $a[0]: $!\n";
			local $/;
			my $d = <$fh>;
			$prop->($name, $d // '');
		} elsif ($op eq 'prng') {
			$prop->($name, prng($a[0], num($a[1])));
		} else {
			die "fdt: bad line: $l\n";
		}
	}
	die "fdt: unbalanced nodes\n" if $depth != 0;
	$struct .= pack('N', 9);
	my $off_rsv = 40;
	my $off_struct = $off_rsv + 16;
	my $off_strings = $off_struct + length($struct);
	my $total = $off_strings + length($strings);
	my $pad = (8 - $total % 8) % 8;
	print pack('N10', 0xd00dfeed, $total + $pad, $off_struct, $off_strings, $off_rsv, 17, 16, 0,
		   length($strings), length($struct));
	print "\0" x 16, $struct, $strings, "\0" x $pad;
}

sub elf {
	my ($arch, $type) = @_;
	my %m = (arm64 => [2, 183, 0], armhf => [1, 40, 0x05000400], amd64 => [2, 62, 0]);
	my $d = $m{$arch} or die "elf: unknown arch $arch\n";
	my ($class, $mach, $flags) = @$d;
	my %code = (
		# mov x0, #0; mov x8, #93 (exit); svc #0
		arm64 => pack('V3', 0xd2800000, 0xd2800ba8, 0xd4000001),
		# mov r0, #0; mov r7, #1 (exit); svc #0
		armhf => pack('V3', 0xe3a00000, 0xe3a07001, 0xef000000),
		# xor edi, edi; mov eax, 60 (exit); syscall
		amd64 => "\x31\xff\xb8\x3c\x00\x00\x00\x0f\x05",
	);
	my $ident = "\x7fELF" . pack('C5', $class, 1, 1, 0, 0) . "\0" x 7;
	if ($type eq 'rel') {
		my $body = "name=stand-in\0license=GPL\0";
		if ($class == 2) {
			print $ident, pack('vvVQ<Q<Q<Vvvvvvv', 1, $mach, 1, 0, 0, 0, $flags, 64, 0, 0, 64, 0, 0),
			      $body;
		} else {
			print $ident, pack('vvVVVVVvvvvvv', 1, $mach, 1, 0, 0, 0, $flags, 52, 0, 0, 40, 0, 0),
			      $body;
		}
		return;
	}
	my $c = $code{$arch};
	if ($class == 2) {
		my $base = 0x400000;
		my $entry = $base + 64 + 56;
		my $size = 64 + 56 + length($c);
		print $ident, pack('vvVQ<Q<Q<Vvvvvvv', 2, $mach, 1, $entry, 64, 0, $flags, 64, 56, 1, 64, 0, 0);
		print pack('VVQ<Q<Q<Q<Q<Q<', 1, 5, 0, $base, $base, $size, $size, 0x1000), $c;
	} else {
		my $base = 0x10000;
		my $entry = $base + 52 + 32;
		my $size = 52 + 32 + length($c);
		print $ident, pack('vvVVVVVvvvvvv', 2, $mach, 1, $entry, 52, 0, $flags, 52, 32, 1, 40, 0, 0);
		print pack('V8', 1, 0, $base, $base, $size, $size, 5, 0x1000), $c;
	}
}

sub kernel {
	my ($arch, $seed, $n) = @_;
	my $b = prng($seed, $n);
	if ($arch eq 'arm64') {
		my $h = pack('VVQ<Q<Q<Q<Q<Q<VV', 0x91005a4d, 0x14000000 | (0x10000 >> 2), 0, $n, 0xa, 0, 0, 0,
			     0x644d5241, 0x40);
		substr($b, 0, 64) = $h;
		substr($b, 0x40, 6) = "PE\0\0" . pack('v', 0xaa64);
	} elsif ($arch eq 'armhf') {
		substr($b, 0, 0x30) = pack('V8', (0xe1a00000) x 8) . pack('V4', 0xea000003, 0x016f2818, 0, $n);
	} elsif ($arch eq 'amd64') {
		substr($b, 0, 2) = 'MZ';
		substr($b, 0x1f1, 1) = pack('C', 27);
		substr($b, 0x1fe, 2) = "\x55\xaa";
		substr($b, 0x202, 6) = 'HdrS' . pack('v', 0x020f);
	} else {
		die "kernel: unknown arch $arch\n";
	}
	print $b;
}

sub pe {
	my ($arch, $seed, $n) = @_;
	my %m = (arm64 => 0xaa64, amd64 => 0x8664, armhf => 0x01c2);
	my $mach = $m{$arch} or die "pe: unknown arch $arch\n";
	my $b = prng($seed, $n);
	substr($b, 0, 0x40) = 'MZ' . ("\0" x 0x3a) . pack('V', 0x80);
	my $opt = pack('v', 0x20b) . ("\0" x 66) . pack('v', 10);  # PE32+, subsystem EFI application
	substr($b, 0x80, 24 + length($opt)) = "PE\0\0" . pack('vvVVVvv', $mach, 0, 0, 0, 0, 0xf0, 0x0206) . $opt;
	substr($b, 0x200, 24) = "GNU GRUB  version 2.06\0\0";
	print $b;
}

sub ubootenv {
	my ($size) = @_;
	my $data = '';
	while (my $l = <STDIN>) {
		chomp $l;
		next if $l eq '';
		$data .= "$l\0";
	}
	$data .= "\0";
	die "ubootenv: environment larger than $size\n" if length($data) > $size - 4;
	$data .= "\0" x ($size - 4 - length($data));
	require Compress::Raw::Zlib;
	print pack('V', Compress::Raw::Zlib::crc32($data)), $data;
}

if ($cmd eq 'prng') {
	print prng($ARGV[0], num($ARGV[1]));
} elsif ($cmd eq 'fdt') {
	fdt();
} elsif ($cmd eq 'elf') {
	elf(@ARGV);
} elsif ($cmd eq 'kernel') {
	kernel($ARGV[0], $ARGV[1], num($ARGV[2]));
} elsif ($cmd eq 'pe') {
	pe($ARGV[0], $ARGV[1], num($ARGV[2]));
} elsif ($cmd eq 'ubootenv') {
	ubootenv(num($ARGV[0]));
} else {
	die "blobs.pl: unknown command $cmd\n";
}
