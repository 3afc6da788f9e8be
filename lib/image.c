/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Image analysis (see image.h). Shapes follow armbian-layout.md section 9; partitions
 * are recognised by filesystem label first (armbi_root, armbi_boot, ARMBI_EFI, RPICFG),
 * then by type code, then by content, because Armbian's type codes changed in 2022 and
 * 2024 (section 1.5).
 */
#include "image.h"

#include <blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ext4.h"
#include "fat.h"
#include "grubboot.h"
#include "kcheck.h"
#include "tree.h"
#include "base/endian.h"
#include "base/fileio.h"
#include "base/log.h"
#include "base/macro.h"

#define MiB (1024ULL * 1024)

const char *aim_boot_method_name(enum aim_boot_method m)
{
	static const char *const names[] = {"unknown", "boot.scr", "boot.ini", "extlinux", "grub",
					    "rpi-firmware"};
	return m < ARRAY_SIZE(names) ? names[m] : "unknown";
}

const char *aim_role_name(enum aim_role r)
{
	static const char *const names[] = {"other", "root", "boot", "esp", "bios-boot"};
	return r < ARRAY_SIZE(names) ? names[r] : "other";
}

static void probe_fs(int fd, const struct aim_part *p, struct aim_part_info *pi)
{
	blkid_probe pr = blkid_new_probe();
	const char *v;

	if (!pr)
		return;
	if (blkid_probe_set_device(pr, fd, (blkid_loff_t)p->start, (blkid_loff_t)p->size) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
							      BLKID_SUBLKS_LABEL);
		if (blkid_do_safeprobe(pr) == 0) {
			if (blkid_probe_lookup_value(pr, "TYPE", &v, NULL) == 0)
				snprintf(pi->fstype, sizeof(pi->fstype), "%s", v);
			if (blkid_probe_lookup_value(pr, "UUID", &v, NULL) == 0)
				snprintf(pi->uuid, sizeof(pi->uuid), "%s", v);
			if (blkid_probe_lookup_value(pr, "LABEL", &v, NULL) == 0)
				snprintf(pi->label, sizeof(pi->label), "%s", v);
		}
	}
	blkid_free_probe(pr);
}

static int is_ext(const char *t)
{
	return !strcmp(t, "ext4") || !strcmp(t, "ext3") || !strcmp(t, "ext2");
}

static int is_linux_fs(const char *t)
{
	return is_ext(t) || !strcmp(t, "btrfs") || !strcmp(t, "xfs") || !strcmp(t, "f2fs") ||
	       !strcmp(t, "nilfs2") || !strcmp(t, "crypto_LUKS");
}

static int guid_is(const struct aim_part *p, const char *g)
{
	return !strcasecmp(p->type_guid, g);
}

/* Roles: labels first, then types, then content. */
static void assign_roles(struct aim_image_info *ii)
{
	struct aim_ptable *pt = &ii->pt;

	ii->root = ii->boot = ii->esp = -1;
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];
		struct aim_part_info *pi = &ii->part[i];

		if (guid_is(p, "21686148-6449-6E6F-744E-656564454649"))
			pi->role = AIM_ROLE_BIOS;
		else if (!strcmp(pi->label, "armbi_root"))
			pi->role = AIM_ROLE_ROOT;
		else if (!strcmp(pi->label, "armbi_boot"))
			pi->role = AIM_ROLE_BOOT;
		else if (!strcasecmp(pi->label, "ARMBI_EFI") || !strcmp(pi->label, "RPICFG") ||
			 p->mbr_type == 0xef || guid_is(p, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"))
			pi->role = AIM_ROLE_ESP;
		else if (p->mbr_type == 0xea || guid_is(p, "BC13C2FF-59E6-4262-A352-B275FD6F7172"))
			pi->role = AIM_ROLE_BOOT;
	}
	/* Root: the labelled one, else the last partition with a Linux filesystem. */
	for (unsigned i = 0; i < pt->nparts; i++)
		if (ii->part[i].role == AIM_ROLE_ROOT && ii->root < 0)
			ii->root = (int)i;
	for (int i = (int)pt->nparts - 1; ii->root < 0 && i >= 0; i--)
		if (ii->part[i].role == AIM_ROLE_OTHER && is_linux_fs(ii->part[i].fstype)) {
			ii->root = i;
			ii->part[i].role = AIM_ROLE_ROOT;
		}
	/* An unlabelled filesystem before the root is a separate /boot (shape D before
	 * Sept 2022 used type 83 for it). */
	for (int i = 0; i < ii->root; i++)
		if (ii->part[i].role == AIM_ROLE_OTHER &&
		    (is_ext(ii->part[i].fstype) || !strcmp(ii->part[i].fstype, "vfat")))
			ii->part[i].role = AIM_ROLE_BOOT;
	for (unsigned i = 0; i < pt->nparts; i++) {
		if (ii->part[i].role == AIM_ROLE_BOOT && ii->boot < 0)
			ii->boot = (int)i;
		if (ii->part[i].role == AIM_ROLE_ESP && ii->esp < 0)
			ii->esp = (int)i;
	}
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

static void add_loader(struct aim_image_info *ii, const char *name, uint64_t off)
{
	if (ii->nloaders < AIM_MAX_LOADERS)
		ii->loaders[ii->nloaders++] = (struct aim_loader_sig){name, off};
}

/* Known loader signatures at the offsets armbian-layout.md section 2.2 lists. */
static int scan_gap(int fd, struct aim_image_info *ii)
{
	static const uint8_t rk_rc4[4] = {0x3b, 0x8c, 0xdc, 0xfc}; /* RC4 of 0x0FF0AA55 */
	uint8_t b[512];
	int r;

	r = aim_pread_full(fd, b, sizeof(b), 0);
	if (r < 0)
		return r;
	ii->mbr_boot_code = !all_zero(b, 440);
	if (ii->mbr_boot_code && memmem(b, 440, "GRUB", 4))
		add_loader(ii, "grub-boot.img", 0);
	else if (ii->mbr_boot_code && ii->pt.type == AIM_PTABLE_MBR)
		add_loader(ii, "mbr-boot-code", 0);

	struct {
		uint64_t off;
		size_t at, len;
		const char *magic, *name;
	} probes[] = {
		{8192, 4, 8, "eGON.BT0", "sunxi-spl"},
		{32768, 0, 4, "RKNS", "rockchip-idbloader"},
		{32768, 0, 4, (const char *)rk_rc4, "rockchip-idbloader"},
		{32768, 0, 4, "\xd0\x0d\xfe\xed", "u-boot-fit"},
		{8 * MiB, 0, 4, "\xd0\x0d\xfe\xed", "rockchip-u-boot-itb"},
		{8 * MiB, 0, 4, "LOADER  ", "rockchip-uboot-img"},
		{12 * MiB, 0, 4, "BL3X", "rockchip-trust"},
		{512, 16, 4, "@AML", "amlogic-bl2"},
		{1024, 0, 1, "\xd1", "imx-ivt"},
		{33 * 1024, 0, 1, "\xd1", "imx-ivt"},
		{512, 0, 1, "\x8b", "mvebu-kwbimage"},
		{512, 0, 4, "\x11\x22\x33\x44", "odroid-bl1"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		uint64_t off = probes[i].off;
		if (off + probes[i].at + probes[i].len > ii->gap_end || off < ii->gap_start)
			continue;
		r = aim_pread_full(fd, b, probes[i].at + probes[i].len, off);
		if (r < 0)
			return r;
		if (!memcmp(b + probes[i].at, probes[i].magic, probes[i].len)) {
			/* IVT: tag 0xD1 then a 16-bit big-endian length 0x0020 */
			if (!strcmp(probes[i].name, "imx-ivt") &&
			    (aim_pread_full(fd, b, 4, off) < 0 || b[1] != 0 || b[2] != 0x20))
				continue;
			if (!strcmp(probes[i].name, "mvebu-kwbimage"))
				continue; /* too weak alone; reported as data below */
			add_loader(ii, probes[i].name, off);
		}
	}
	/* Anything else: the first non-zero sector of the gap after the table. */
	if (ii->nloaders == 0 || (ii->nloaders == 1 && ii->loaders[0].offset == 0)) {
		for (uint64_t off = ALIGN_UP(ii->gap_start, 512); off + 512 <= ii->gap_end &&
								   off < 64 * MiB;
		     off += 512) {
			r = aim_pread_full(fd, b, 512, off);
			if (r < 0)
				return r;
			if (!all_zero(b, 512)) {
				add_loader(ii, "unknown-data", off);
				break;
			}
		}
	}
	return 0;
}

static void kv_get(const char *text, const char *key, char *out, size_t outlen)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (!strncmp(l, key, kl) && l[kl] == '=') {
			const char *v = l + kl + 1;
			size_t n = strcspn(v, "\n");
			if (n && v[0] == '"' && v[n - 1] == '"' && n >= 2) {
				v++;
				n -= 2;
			}
			snprintf(out, outlen, "%.*s", (int)n, v);
			for (char *c = out; *c; c++)
				if ((unsigned char)*c < 0x20)
					*c = '?';
			return;
		}
	}
}

static void elf_arch(const char *b, size_t len, char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)b;
	unsigned mach;

	if (len < 20 || memcmp(b, "\177ELF", 4))
		return;
	mach = u[5] == 2 ? (unsigned)(u[18] << 8 | u[19]) : aim_get_le16(u + 18);
	switch (mach) {
	case 183:
		snprintf(out, outlen, "arm64");
		break;
	case 40:
		snprintf(out, outlen, "armhf");
		break;
	case 62:
		snprintf(out, outlen, "amd64");
		break;
	case 243:
		snprintf(out, outlen, u[4] == 2 ? "riscv64" : "riscv32");
		break;
	case 3:
		snprintf(out, outlen, "i386");
		break;
	case 258:
		snprintf(out, outlen, "loong64");
		break;
	default:
		snprintf(out, outlen, "elf-%u", mach & 0xffff);
	}
}

static int count_acl(void *ud, struct aim_node *n)
{
	struct aim_image_info *ii = ud;

	for (size_t i = 0; i < n->nxattrs; i++)
		if (!strncmp(n->xattrs[i].name, "system.posix_acl_", 17)) {
			if (ii->acl_files++ == 0) {
				_cleanup_free_ char *p = aim_tree_path(n);
				snprintf(ii->acl_example, sizeof(ii->acl_example), "%s",
					 p ? p : "?");
			}
			break;
		}
	return 0;
}

/* /boot contents: kernel versions and initramfs files. */
static void list_boot(struct aim_image_info *ii, const struct aim_node *boot)
{
	for (const struct aim_node *c = boot ? boot->children : NULL; c; c = c->next) {
		const char *v = NULL;
		if (!strncmp(c->name, "vmlinuz-", 8))
			v = c->name + 8;
		else if (!strncmp(c->name, "vmlinux-", 8))
			v = c->name + 8;
		if (v && ii->nkernels < AIM_MAX_KERNELS)
			snprintf(ii->kernels[ii->nkernels++], sizeof(ii->kernels[0]), "%s", v);
		if ((!strncmp(c->name, "initrd.img", 10) || !strncmp(c->name, "uInitrd", 7) ||
		     !strncmp(c->name, "initramfs", 9)) &&
		    ii->ninitrds < AIM_MAX_KERNELS)
			snprintf(ii->initrds[ii->ninitrds++], sizeof(ii->initrds[0]), "%s", c->name);
	}
}

static int file_in_tree(const struct aim_tree *t, const char *path)
{
	return aim_tree_lookup(t, path) != NULL;
}

/* A file on the separate boot partition (ext* or FAT), at / or /boot/ prefix. */
static int boot_part_has(int fd, const char *path, const struct aim_image_info *ii,
			 const char *file)
{
	const struct aim_part *p;
	const char *t;
	char full[128];

	if (ii->boot < 0)
		return 0;
	p = &ii->pt.parts[ii->boot];
	t = ii->part[ii->boot].fstype;
	for (int pre = 0; pre < 2; pre++) {
		snprintf(full, sizeof(full), "%s%s", pre ? "/boot/" : "/", file);
		if (!strcmp(t, "vfat")) {
			if (aim_fat_exists(fd, p->start, p->size, full) > 0)
				return 1;
		} else if (is_ext(t)) {
			struct aim_ext4 *fs = NULL;
			_cleanup_free_ char *buf = NULL;
			int r = aim_ext4_open(path, p->start, p->size, &fs);
			if (r == 0) {
				r = aim_ext4_read_path(fs, full, 1 << 20, &buf, NULL);
				aim_ext4_free(fs);
				if (r == 0 || r == -EFBIG || r == -EISDIR)
					return 1;
			}
		}
	}
	return 0;
}

static int esp_has(int fd, const struct aim_image_info *ii, const char *file)
{
	const struct aim_part *p;

	if (ii->esp < 0 || strcmp(ii->part[ii->esp].fstype, "vfat"))
		return 0;
	p = &ii->pt.parts[ii->esp];
	return aim_fat_exists(fd, p->start, p->size, file) > 0;
}

static void detect_boot(int fd, const char *path, struct aim_image_info *ii,
			const struct aim_tree *t)
{
	struct {
		const char *file;
		enum aim_boot_method m;
	} tries[] = {
		{"extlinux/extlinux.conf", AIM_BOOT_EXTLINUX},
		{"boot.scr", AIM_BOOT_SCRIPT},
		{"boot.ini", AIM_BOOT_INI},
	};

	if (esp_has(fd, ii, "/config.txt") && esp_has(fd, ii, "/cmdline.txt")) {
		ii->boot_method = AIM_BOOT_RPI;
		snprintf(ii->boot_files, sizeof(ii->boot_files), "config.txt, cmdline.txt");
		return;
	}
	if (esp_has(fd, ii, "/EFI/BOOT/BOOTAA64.EFI") || esp_has(fd, ii, "/EFI/BOOT/BOOTX64.EFI") ||
	    esp_has(fd, ii, "/EFI/BOOT/BOOTARM.EFI") ||
	    esp_has(fd, ii, "/EFI/BOOT/BOOTRISCV64.EFI")) {
		ii->boot_method = AIM_BOOT_GRUB;
		snprintf(ii->boot_files, sizeof(ii->boot_files), "EFI/BOOT on the ESP%s",
			 file_in_tree(t, "/boot/grub/grub.cfg") ? ", /boot/grub/grub.cfg" : "");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
		char full[96];
		snprintf(full, sizeof(full), "/boot/%s", tries[i].file);
		if (ii->boot >= 0 ? boot_part_has(fd, path, ii, tries[i].file)
				  : file_in_tree(t, full)) {
			ii->boot_method = tries[i].m;
			snprintf(ii->boot_files, sizeof(ii->boot_files), "%s%s%s",
				 ii->boot >= 0 ? "boot partition: " : "/boot/", tries[i].file,
				 tries[i].m == AIM_BOOT_SCRIPT &&
						 (ii->boot >= 0
							  ? boot_part_has(fd, path, ii, "armbianEnv.txt")
							  : file_in_tree(t, "/boot/armbianEnv.txt"))
					 ? " + armbianEnv.txt"
					 : "");
			return;
		}
	}
	if (file_in_tree(t, "/boot/grub/grub.cfg")) {
		ii->boot_method = AIM_BOOT_GRUB;
		snprintf(ii->boot_files, sizeof(ii->boot_files), "/boot/grub/grub.cfg");
	}
}

static void classify(struct aim_image_info *ii)
{
	const struct aim_part *root = &ii->pt.parts[ii->root];
	int gpt = ii->pt.type == AIM_PTABLE_GPT;
	int has_bios = 0;
	const char *base;

	for (unsigned i = 0; i < ii->pt.nparts; i++)
		has_bios |= ii->part[i].role == AIM_ROLE_BIOS;
	ii->convertible = 1;
	if (has_bios && ii->esp >= 0) {
		snprintf(ii->shape, sizeof(ii->shape), "G");
		snprintf(ii->shape_detail, sizeof(ii->shape_detail), "GPT UEFI x86: BIOS boot + ESP + root");
	} else if (ii->boot_method == AIM_BOOT_RPI) {
		snprintf(ii->shape, sizeof(ii->shape), "E");
		snprintf(ii->shape_detail, sizeof(ii->shape_detail), "Raspberry Pi: FAT firmware partition + root");
	} else if (ii->esp >= 0 && (gpt || ii->boot_method == AIM_BOOT_GRUB)) {
		snprintf(ii->shape, sizeof(ii->shape), "F");
		snprintf(ii->shape_detail, sizeof(ii->shape_detail), "GPT UEFI: ESP + root");
	} else if (ii->boot >= 0 || ii->esp >= 0) {
		snprintf(ii->shape, sizeof(ii->shape), "D");
		snprintf(ii->shape_detail, sizeof(ii->shape_detail), "%s, separate /boot (%s) + root",
			 gpt ? "GPT" : "MBR", ii->part[ii->boot >= 0 ? ii->boot : ii->esp].fstype);
	} else {
		if (gpt)
			base = "C";
		else if (root->start >= 16 * MiB)
			base = "B";
		else if (ii->mbr_boot_code)
			base = "A'";
		else
			base = "A";
		for (unsigned i = 0; i < ii->nloaders; i++)
			if (!strncmp(ii->loaders[i].name, "rockchip", 8) && !gpt)
				base = "B";
		if (ii->boot_method == AIM_BOOT_EXTLINUX) {
			snprintf(ii->shape, sizeof(ii->shape), "H");
			snprintf(ii->shape_detail, sizeof(ii->shape_detail), "extlinux variant of %s",
				 base);
		} else {
			snprintf(ii->shape, sizeof(ii->shape), "%s", base);
			snprintf(ii->shape_detail, sizeof(ii->shape_detail), "%s, single root at %llu MiB",
				 gpt ? "GPT" : "MBR", (unsigned long long)(root->start / MiB));
		}
	}
	if (!is_ext(ii->root_fstype)) {
		ii->convertible = 0;
		snprintf(ii->reason, sizeof(ii->reason),
			 "the root filesystem is %s; only ext2/3/4 roots can be read",
			 ii->root_fstype);
	} else if (!strcmp(ii->shape, "E")) {
		/* Converted with the firmware's own A/B (docs/rpi.md). */
		snprintf(ii->reason, sizeof(ii->reason),
			 "unproven on hardware: the Raspberry Pi firmware's tryboot cannot run "
			 "under QEMU (file-level tests only); the output is for Pi 4, 400, CM4 "
			 "and 5, not Pi 3");
	} else if ((!strcmp(ii->shape, "F") || !strcmp(ii->shape, "G")) &&
		   (ii->boot_method != AIM_BOOT_GRUB || !aim_grub_platform(ii->arch))) {
		ii->convertible = 0;
		snprintf(ii->reason, sizeof(ii->reason), "%s",
			 ii->boot_method != AIM_BOOT_GRUB
				 ? "a UEFI image that does not boot through GRUB (no /EFI/BOOT "
				   "loader on the ESP): only GRUB is switched between slots"
				 : "GRUB on this architecture is not supported (arm64, armhf and "
				   "amd64 are)");
	} else if (!strcmp(ii->shape, "G")) {
		snprintf(ii->reason, sizeof(ii->reason),
			 "boots through UEFI only: the BIOS boot partition (legacy boot) is "
			 "dropped");
	} else if (ii->boot_method == AIM_BOOT_INI) {
		/* Converted, it would keep booting the old paths: U-Boot would find no kernel
		 * and switch no slots (issue 16). Refuse rather than write an image that stops
		 * at the U-Boot prompt. */
		ii->convertible = 0;
		snprintf(ii->reason, sizeof(ii->reason),
			 "%s boot is not switched between A/B slots yet and the converted image "
			 "would not boot; use an image of the board that boots through boot.scr "
			 "or extlinux", aim_boot_method_name(ii->boot_method));
	} else if (ii->boot_method == AIM_BOOT_UNKNOWN) {
		ii->convertible = 0;
		snprintf(ii->reason, sizeof(ii->reason),
			 "no boot method found (no boot.scr, boot.ini, extlinux.conf or grub.cfg)");
	}
}

int aim_image_open_root(const char *path, const struct aim_image_info *ii,
			struct aim_ext4 **ret_fs, struct aim_tree **ret_tree)
{
	const struct aim_part *p;
	struct aim_ext4 *fs = NULL;
	int r;

	if (ii->root < 0)
		return aim_error_set(-ENOENT, "the image has no Linux root filesystem");
	p = &ii->pt.parts[ii->root];
	r = aim_ext4_open(path, p->start, p->size, &fs);
	if (r < 0)
		return r;
	if (ret_tree) {
		r = aim_ext4_load_tree(fs, ret_tree);
		if (r < 0) {
			aim_ext4_free(fs);
			return r;
		}
	}
	*ret_fs = fs;
	return 0;
}

static int analyze_root(int fd, const char *path, struct aim_image_info *ii)
{
	struct aim_ext4 *fs = NULL;
	struct aim_tree *t = NULL;
	struct aim_ext4_info ei;
	char *buf = NULL;
	size_t len;
	int r;

	snprintf(ii->root_fstype, sizeof(ii->root_fstype), "%s", ii->part[ii->root].fstype);
	ii->root_size = ii->pt.parts[ii->root].size;
	if (!is_ext(ii->root_fstype))
		return 0;
	r = aim_image_open_root(path, ii, &fs, &t);
	if (r < 0)
		return r;
	if (aim_ext4_get_info(fs, &ei) == 0) {
		ii->root_used = ei.used_bytes;
		ii->root_size = (uint64_t)ei.blocks * ei.block_size;
	}
	if (aim_ext4_read_path(fs, "/etc/armbian-release", 64 << 10, &buf, &len) == 0) {
		kv_get(buf, "BOARD", ii->board, sizeof(ii->board));
		kv_get(buf, "BOARD_NAME", ii->board_name, sizeof(ii->board_name));
		kv_get(buf, "BOARDFAMILY", ii->family, sizeof(ii->family));
		kv_get(buf, "LINUXFAMILY", ii->linuxfamily, sizeof(ii->linuxfamily));
		kv_get(buf, "VERSION", ii->version, sizeof(ii->version));
		kv_get(buf, "ARCH", ii->release_arch, sizeof(ii->release_arch));
		free(buf);
		buf = NULL;
	}
	r = aim_ext4_read_path(fs, "/sbin/init", 64 << 20, &buf, &len);
	if (r == 0)
		elf_arch(buf, len, ii->arch, sizeof(ii->arch));
	free(buf);
	if (!ii->arch[0] && ii->release_arch[0])
		snprintf(ii->arch, sizeof(ii->arch), "%s", ii->release_arch);
	list_boot(ii, aim_tree_lookup(t, "/boot"));
	aim_tree_walk(t, count_acl, ii);
	detect_boot(fd, path, ii, t);
	r = aim_kernel_verity(fd, path, ii, t, ii->verity_note, sizeof(ii->verity_note));
	if (r < 0)
		snprintf(ii->verity_note, sizeof(ii->verity_note), "%s",
			 aim_error_detail() ? aim_error_detail() : strerror(-r));
	ii->verity_ok = r > 0;
	aim_tree_free(t);
	aim_ext4_free(fs);
	return 0;
}

int aim_image_analyze(int fd, const char *path, uint64_t size, struct aim_image_info *ii)
{
	int r;

	memset(ii, 0, sizeof(*ii));
	ii->root = ii->boot = ii->esp = -1;
	r = aim_ptable_read(fd, size, &ii->pt);
	if (r < 0)
		return r;
	/* The backup GPT would do, but a damaged image is no base for a product image. */
	if (ii->pt.type == AIM_PTABLE_GPT && !ii->pt.primary_ok)
		return aim_error_set(-EBADMSG, "the primary GPT is corrupt (header or entry CRC "
				     "mismatch); the backup GPT is intact: repair the image "
				     "(sgdisk -e IMAGE) and retry");
	for (unsigned i = 0; i < ii->pt.nparts; i++)
		probe_fs(fd, &ii->pt.parts[i], &ii->part[i]);
	assign_roles(ii);

	ii->gap_start = ii->pt.type == AIM_PTABLE_GPT
				? (ii->pt.entries_lba * ii->pt.sector_size +
				   (uint64_t)ii->pt.nentries * ii->pt.entry_size)
				: 512;
	ii->gap_end = size;
	for (unsigned i = 0; i < ii->pt.nparts; i++)
		ii->gap_end = MIN(ii->gap_end, ii->pt.parts[i].start);
	if (ii->gap_start > ii->gap_end)
		ii->gap_start = ii->gap_end;
	r = scan_gap(fd, ii);
	if (r < 0)
		return r;

	if (ii->root < 0) {
		/* A Linux partition without a recognisable filesystem: say what is wrong
		 * with it rather than "no root". */
		for (int i = (int)ii->pt.nparts - 1; i >= 0; i--) {
			const struct aim_part *p = &ii->pt.parts[i];
			struct aim_ext4 *fs = NULL;
			int linux_type = p->mbr_type == 0x83 ||
					 guid_is(p, "0FC63DAF-8483-4772-8E79-3D69D8477DE4") ||
					 (aim_ptable_type_name(p) &&
					  strstr(aim_ptable_type_name(p), "root"));
			if (!linux_type || ii->part[i].fstype[0])
				continue;
			r = aim_ext4_open(path, p->start, p->size, &fs);
			aim_ext4_free(fs);
			if (r < 0)
				return r;
		}
		ii->convertible = 0;
		snprintf(ii->reason, sizeof(ii->reason),
			 "no Linux root filesystem found (no armbi_root label and no partition "
			 "with a Linux filesystem)");
		return 0;
	}
	r = analyze_root(fd, path, ii);
	if (r < 0)
		return r;
	classify(ii);
	return 0;
}
