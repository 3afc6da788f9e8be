/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable inspect IMG [--json]: what is inside a disk image. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-opts.h"
#include "cmd.h"
#include "fat.h"
#include "image.h"
#include "input.h"
#include "slotenv.h"
#include "base/json.h"
#include "base/log.h"
#include "base/macro.h"

static int arg_json;
static const char *arg_tmpdir;

static void help(void)
{
	puts("Usage: armimmutable inspect [OPTIONS] IMAGE\n"
	     "Show the partition table, bootloader region, image shape, boot method, board,\n"
	     "architecture, kernels and root filesystem of a disk image (.img, .img.xz,\n"
	     ".img.zst). Needs no root privileges; the image is only read.\n\n"
	     "  -j, --json        machine-readable output (docs/inspect-json.md)\n"
	     "      --tmpdir DIR  where a compressed image is decoded (default $TMPDIR or /var/tmp)\n"
	     "  -h, --help        this help\n\n"
	     "Exit status: 0 the image was read (convertible or not: see \"shape\"),\n"
	     "1 it could not be read or has no Linux root, 2 usage error.");
}

static void type_str(const struct aim_ptable *pt, const struct aim_part *p, char *buf, size_t n)
{
	if (pt->type == AIM_PTABLE_MBR)
		snprintf(buf, n, "%02x", p->mbr_type);
	else
		snprintf(buf, n, "%s", p->type_guid);
}

/* A converted image: /slot-X/slot.env on its FAT boot partition (docs/verity.md). */
struct conv_slots {
	int have[2], sig[2];
	struct aim_slot_info si[2];
};

static int read_slots(int fd, const struct aim_image_info *ii, struct conv_slots *cs)
{
	const struct aim_part *p;
	int any = 0;

	memset(cs, 0, sizeof(*cs));
	if (ii->boot < 0 || strcmp(ii->part[ii->boot].fstype, "vfat"))
		return 0;
	p = &ii->pt.parts[ii->boot];
	for (int s = 0; s < 2; s++) {
		_cleanup_free_ char *txt = NULL;
		char path[48];
		size_t n;

		snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV, 'a' + s);
		if (aim_fat_read(fd, p->start, p->size, path, 1 << 16, &txt, &n) < 0 ||
		    aim_slot_info_parse(txt, n, &cs->si[s]) < 0)
			continue;
		any = cs->have[s] = 1;
		snprintf(path, sizeof(path), "/slot-%c/" AIM_SLOT_ENV_SIG, 'a' + s);
		cs->sig[s] = aim_fat_exists(fd, p->start, p->size, path) > 0;
	}
	aim_error_clear();
	return any;
}

static void print_json(const char *path, const struct aim_input *in,
		       const struct aim_image_info *ii, const struct conv_slots *cs)
{
	const struct aim_ptable *pt = &ii->pt;
	struct aim_json j;
	char t[40];

	aim_json_init(&j, stdout, 1);
	aim_json_obj_begin(&j, NULL);
	aim_json_u64(&j, "format_version", 1);
	aim_json_obj_begin(&j, "image");
	aim_json_str(&j, "path", path);
	aim_json_str(&j, "compression", aim_input_format_name(aim_input_format(in)));
	aim_json_u64(&j, "size", aim_input_size(in));
	aim_json_obj_end(&j);

	aim_json_obj_begin(&j, "partition_table");
	aim_json_str(&j, "type", pt->type == AIM_PTABLE_GPT ? "gpt" : "mbr");
	aim_json_str(&j, "disk_id", pt->disk_id);
	aim_json_u64(&j, "sector_size", pt->sector_size);
	if (pt->type == AIM_PTABLE_GPT)
		aim_json_bool(&j, "backup_gpt_ok", pt->backup_ok);
	aim_json_arr_begin(&j, "partitions");
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];
		const struct aim_part_info *pi = &ii->part[i];
		type_str(pt, p, t, sizeof(t));
		aim_json_obj_begin(&j, NULL);
		aim_json_u64(&j, "number", p->num);
		aim_json_u64(&j, "start", p->start);
		aim_json_u64(&j, "size", p->size);
		aim_json_str(&j, "type", t);
		aim_json_str(&j, "type_name", aim_ptable_type_name(p));
		aim_json_str(&j, "partuuid", p->uuid);
		aim_json_str(&j, "name", pt->type == AIM_PTABLE_GPT ? p->name : NULL);
		aim_json_bool(&j, "bootable", p->bootable);
		aim_json_str(&j, "fstype", pi->fstype[0] ? pi->fstype : NULL);
		aim_json_str(&j, "uuid", pi->uuid[0] ? pi->uuid : NULL);
		aim_json_str(&j, "label", pi->label[0] ? pi->label : NULL);
		aim_json_str(&j, "role", aim_role_name(pi->role));
		aim_json_obj_end(&j);
	}
	aim_json_arr_end(&j);
	aim_json_obj_end(&j);

	aim_json_obj_begin(&j, "bootloader_region");
	aim_json_u64(&j, "start", ii->gap_start);
	aim_json_u64(&j, "end", ii->gap_end);
	aim_json_u64(&j, "size", ii->gap_end - ii->gap_start);
	aim_json_bool(&j, "mbr_boot_code", ii->mbr_boot_code);
	aim_json_arr_begin(&j, "signatures");
	for (unsigned i = 0; i < ii->nloaders; i++) {
		aim_json_obj_begin(&j, NULL);
		aim_json_str(&j, "name", ii->loaders[i].name);
		aim_json_u64(&j, "offset", ii->loaders[i].offset);
		aim_json_obj_end(&j);
	}
	aim_json_arr_end(&j);
	aim_json_obj_end(&j);

	aim_json_obj_begin(&j, "shape");
	aim_json_str(&j, "id", ii->shape[0] ? ii->shape : NULL);
	aim_json_str(&j, "description", ii->shape_detail[0] ? ii->shape_detail : NULL);
	aim_json_bool(&j, "convertible", ii->convertible);
	aim_json_str(&j, "reason", ii->reason[0] ? ii->reason : NULL);
	aim_json_obj_end(&j);

	aim_json_obj_begin(&j, "boot");
	aim_json_str(&j, "method", aim_boot_method_name(ii->boot_method));
	aim_json_str(&j, "files", ii->boot_files[0] ? ii->boot_files : NULL);
	aim_json_obj_end(&j);

	aim_json_obj_begin(&j, "armbian");
	aim_json_str(&j, "board", ii->board[0] ? ii->board : NULL);
	aim_json_str(&j, "board_name", ii->board_name[0] ? ii->board_name : NULL);
	aim_json_str(&j, "family", ii->family[0] ? ii->family : NULL);
	aim_json_str(&j, "linuxfamily", ii->linuxfamily[0] ? ii->linuxfamily : NULL);
	aim_json_str(&j, "version", ii->version[0] ? ii->version : NULL);
	aim_json_str(&j, "arch", ii->release_arch[0] ? ii->release_arch : NULL);
	aim_json_obj_end(&j);
	aim_json_str(&j, "arch", ii->arch[0] ? ii->arch : NULL);
	aim_json_arr_begin(&j, "kernels");
	for (unsigned i = 0; i < ii->nkernels; i++)
		aim_json_str(&j, NULL, ii->kernels[i]);
	aim_json_arr_end(&j);
	aim_json_arr_begin(&j, "initramfs");
	for (unsigned i = 0; i < ii->ninitrds; i++)
		aim_json_str(&j, NULL, ii->initrds[i]);
	aim_json_arr_end(&j);
	aim_json_obj_begin(&j, "verity");
	aim_json_bool(&j, "supported", ii->verity_ok);
	aim_json_str(&j, "reason", ii->verity_note);
	aim_json_obj_end(&j);
	aim_json_arr_begin(&j, "converted_slots");
	for (int s = 0; s < 2; s++) {
		const struct aim_slot_info *si = &cs->si[s];
		char n[2] = {(char)('a' + s), 0};
		if (!cs->have[s])
			continue;
		aim_json_obj_begin(&j, NULL);
		aim_json_str(&j, "slot", n);
		aim_json_str(&j, "version", si->version);
		aim_json_bool(&j, "slot_env_signed", cs->sig[s]);
		aim_json_bool(&j, "verity", si->verity);
		if (si->verity) {
			aim_json_str(&j, "verity_alg", si->verity_alg);
			aim_json_u64(&j, "verity_block", si->verity_block);
			aim_json_u64(&j, "verity_data_blocks", si->verity_data_blocks);
			aim_json_u64(&j, "verity_hash_offset", si->verity_hash_offset);
			aim_json_str(&j, "verity_salt", si->verity_salt);
			aim_json_str(&j, "verity_root", si->verity_root);
		}
		aim_json_obj_end(&j);
	}
	aim_json_arr_end(&j);

	aim_json_obj_begin(&j, "root");
	aim_json_u64(&j, "partition", pt->parts[ii->root].num);
	aim_json_str(&j, "fstype", ii->root_fstype);
	aim_json_u64(&j, "size", ii->root_size);
	aim_json_u64(&j, "used", ii->root_used);
	aim_json_u64(&j, "acl_files", ii->acl_files);
	aim_json_str(&j, "acl_example", ii->acl_files ? ii->acl_example : NULL);
	aim_json_obj_end(&j);
	aim_json_obj_end(&j);
	aim_json_end(&j);
}

static void print_text(const char *path, const struct aim_input *in,
		       const struct aim_image_info *ii, const struct conv_slots *cs)
{
	const struct aim_ptable *pt = &ii->pt;
	char t[40];

	printf("Image:       %s (%s, %llu MiB)\n", path,
	       aim_input_format_name(aim_input_format(in)),
	       (unsigned long long)(aim_input_size(in) >> 20));
	printf("Table:       %s, disk id %s%s\n", pt->type == AIM_PTABLE_GPT ? "GPT" : "MBR",
	       pt->disk_id,
	       pt->type == AIM_PTABLE_GPT && !pt->backup_ok ? " (backup GPT missing or bad)" : "");
	printf("  #  %12s %12s  %-10s %-6s %-16s %-10s %s\n", "start", "size", "type", "fs",
	       "label", "role", "partuuid");
	for (unsigned i = 0; i < pt->nparts; i++) {
		const struct aim_part *p = &pt->parts[i];
		const struct aim_part_info *pi = &ii->part[i];
		const char *tn = aim_ptable_type_name(p);
		type_str(pt, p, t, sizeof(t));
		printf("  %-2u %12llu %12llu  %-10s %-6s %-16s %-10s %s%s\n", p->num,
		       (unsigned long long)p->start, (unsigned long long)p->size,
		       tn ? tn : t, pi->fstype[0] ? pi->fstype : "-",
		       pi->label[0] ? pi->label : "-", aim_role_name(pi->role), p->uuid,
		       p->bootable ? " (bootable)" : "");
	}
	printf("Bootloader:  bytes %llu-%llu (%llu KiB)%s\n", (unsigned long long)ii->gap_start,
	       (unsigned long long)ii->gap_end,
	       (unsigned long long)((ii->gap_end - ii->gap_start) >> 10),
	       ii->mbr_boot_code ? ", boot code in the MBR" : "");
	for (unsigned i = 0; i < ii->nloaders; i++)
		printf("             %s at byte %llu\n", ii->loaders[i].name,
		       (unsigned long long)ii->loaders[i].offset);
	printf("Shape:       %s (%s)\n", ii->shape[0] ? ii->shape : "-",
	       ii->shape_detail[0] ? ii->shape_detail : "unknown");
	printf("Convertible: %s%s%s\n", ii->convertible ? "yes" : "no",
	       ii->reason[0] ? ": " : "", ii->reason);
	printf("Boot:        %s%s%s%s\n", aim_boot_method_name(ii->boot_method),
	       ii->boot_files[0] ? " (" : "", ii->boot_files, ii->boot_files[0] ? ")" : "");
	printf("Board:       %s%s%s%s, family %s, version %s\n", ii->board[0] ? ii->board : "-",
	       ii->board_name[0] ? " (" : "", ii->board_name, ii->board_name[0] ? ")" : "",
	       ii->family[0] ? ii->family : "-", ii->version[0] ? ii->version : "-");
	printf("Arch:        %s\n", ii->arch[0] ? ii->arch : "unknown");
	printf("Kernels:    ");
	for (unsigned i = 0; i < ii->nkernels; i++)
		printf(" %s", ii->kernels[i]);
	printf("%s\nInitramfs:  ", ii->nkernels ? "" : " none");
	for (unsigned i = 0; i < ii->ninitrds; i++)
		printf(" %s", ii->initrds[i]);
	printf("%s\n", ii->ninitrds ? "" : " none");
	printf("Verity:      %s: %s\n", ii->verity_ok ? "yes" : "no", ii->verity_note);
	for (int s = 0; s < 2; s++) {
		const struct aim_slot_info *si = &cs->si[s];
		if (!cs->have[s])
			continue;
		printf("Slot %c:      converted, %s; slot.env %s; verity %s\n", 'a' + s,
		       si->version[0] ? si->version : "?", cs->sig[s] ? "signed" : "unsigned",
		       si->verity ? "on" : "off");
		if (si->verity)
			printf("             %s, %u-byte blocks, %llu data blocks, hash offset %llu\n"
			       "             salt %s\n             root %s\n",
			       si->verity_alg, si->verity_block,
			       (unsigned long long)si->verity_data_blocks,
			       (unsigned long long)si->verity_hash_offset, si->verity_salt,
			       si->verity_root);
	}
	printf("Root:        partition %u, %s, %llu MiB used of %llu MiB\n",
	       pt->parts[ii->root].num, ii->root_fstype,
	       (unsigned long long)(ii->root_used >> 20), (unsigned long long)(ii->root_size >> 20));
	if (ii->acl_files)
		printf("ACLs:        %llu files have POSIX ACLs (e.g. %s); squashfs cannot keep "
		       "them\n",
		       (unsigned long long)ii->acl_files, ii->acl_example);
}

int cmd_inspect(int argc, char **argv)
{
	static const struct cli_option opts[] = {
		{"json", 'j', no_argument},
		{"tmpdir", 256, required_argument},
		{"help", 'h', no_argument},
		{0},
	};
	static const struct cli_option *const tables[] = {opts, NULL};
	struct cli_args a;
	const char *val, *path;
	struct aim_input *in = NULL;
	struct aim_image_info *ii = NULL;
	struct conv_slots cs;
	struct progress pr;
	int c, r;

	cli_args_init(&a, "inspect", argc, argv, tables);
	while ((c = cli_args_next(&a, &val)) > 0) {
		switch (c) {
		case 'j':
			arg_json = 1;
			break;
		case 256:
			arg_tmpdir = val;
			break;
		case 'h':
			help();
			return 0;
		}
	}
	if (c < 0)
		return c;
	if (a.noperands != 1)
		return usage_err("inspect", a.noperands == 0 ? "missing IMAGE argument"
							     : "too many arguments");
	path = a.operand[0];
	progress_begin(&pr, "decompress", 0);
	r = aim_input_open(path, arg_tmpdir, 0, progress_cb, &pr, &in);
	progress_end(&pr);
	if (r < 0)
		return aim_err(r, "%s", path);
	ii = calloc(1, sizeof(*ii));
	if (!ii) {
		aim_input_free(in);
		return aim_err(-ENOMEM, "%s", path);
	}
	r = aim_image_analyze(aim_input_fd(in), aim_input_path(in), aim_input_size(in), ii);
	if (r < 0)
		r = aim_err(r, "%s", path);
	else if (ii->root < 0)
		r = aim_err(aim_error_set(-ENOENT, "%s", ii->reason), "%s", path);
	else if (read_slots(aim_input_fd(in), ii, &cs), arg_json)
		print_json(path, in, ii, &cs);
	else
		print_text(path, in, ii, &cs);
	free(ii);
	aim_input_free(in);
	return r < 0 ? r : 0;
}
