// SPDX-License-Identifier: LGPL-2.1-or-later
/* UEFI images (docs/boot.md 4b): the default entry of the image's grub.cfg (kernel, initrd,
 * the command line without the ext4 root's arguments), the refusals, /boot cut down to
 * what GRUB loads, and the slot's grub.env block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "grubboot.h"
#include "tree.h"
#include "base/log.h"
#include "tap.h"

/* What update-grub writes on an Armbian uefi-arm64 image (shortened). */
static const char debian_cfg[] =
	"set default=\"0\"\n"
	"if [ x\"${feature_menuentry_id}\" = xy ]; then\n"
	"  menuentry_id_option=\"--id\"\n"
	"fi\n"
	"function load_video {\n"
	"  insmod all_video\n"
	"}\n"
	"### BEGIN /etc/grub.d/10_linux ###\n"
	"menuentry 'Armbian GNU/Linux' --class armbian $menuentry_id_option 'gnulinux-simple-6a1b' {\n"
	"\tload_video\n"
	"\tinsmod ext2\n"
	"\tsearch --no-floppy --fs-uuid --set=root 6a1b2c3d-1111\n"
	"\techo\t'Loading Linux 6.1.0-50-arm64 ...'\n"
	"\tlinux\t/boot/vmlinuz-6.1.0-50-arm64 root=UUID=6a1b2c3d-1111 ro  console=ttyAMA0 "
	"splash plymouth.ignore-serial-consoles\n"
	"\techo\t'Loading initial ramdisk ...'\n"
	"\tinitrd\t/boot/initrd.img-6.1.0-50-arm64\n"
	"}\n"
	"submenu 'Advanced options for Armbian GNU/Linux' $menuentry_id_option 'x' {\n"
	"\tmenuentry 'Armbian, with Linux 6.1.0-40-arm64' --class armbian {\n"
	"\t\tlinux\t/boot/vmlinuz-6.1.0-40-arm64 root=UUID=6a1b2c3d-1111 ro quiet\n"
	"\t\tinitrd\t/boot/initrd.img-6.1.0-40-arm64\n"
	"\t}\n"
	"}\n";

static void parse_ok(const char *cfg, const char *kernel, const char *initrd, const char *args,
		     const char *what)
{
	struct aim_grub_entry e;

	aim_error_clear();
	is_int(aim_grub_parse_cfg(cfg, &e), 0, "%s: parsed", what);
	is_str(e.kernel, kernel, "%s: kernel", what);
	is_str(e.initrd, initrd, "%s: initrd", what);
	is_str(e.args, args, "%s: arguments", what);
}

static void refuse(const char *cfg, const char *word, const char *what)
{
	struct aim_grub_entry e;
	const char *d;

	aim_error_clear();
	is_int(aim_grub_parse_cfg(cfg, &e), -EINVAL, "%s: refused", what);
	d = aim_error_detail();
	ok(d && strstr(d, word), "%s: the message says '%s' (%s)", what, word, d ? d : "");
}

static void test_parse(void)
{
	parse_ok(debian_cfg, "vmlinuz-6.1.0-50-arm64", "initrd.img-6.1.0-50-arm64",
		 "console=ttyAMA0 splash plymouth.ignore-serial-consoles", "update-grub default");
	/* default=1 is the submenu: its first entry */
	{
		char *c = strdup(debian_cfg);
		memcpy(strstr(c, "\"0\""), "\"1\"", 3);
		parse_ok(c, "vmlinuz-6.1.0-40-arm64", "initrd.img-6.1.0-40-arm64", "quiet",
			 "default=1 picks the submenu's first entry");
		free(c);
	}
	parse_ok("menuentry 'x' {\n linux (hd0,gpt2)/vmlinuz-6.12 root=/dev/sda2 rw rootflags=x "
		 "BOOT_IMAGE=/a quiet\n initrd /initrd.img-6.12\n}\n",
		 "vmlinuz-6.12", "initrd.img-6.12", "quiet", "separate /boot, a device prefix");
	parse_ok("menuentry 'Armbian' --class debian {\n\tlinux\t/boot/vmlinuz-6.1 root=UUID=4b8e ro  "
		 "console=tty1 console=ttyS2,1500000 $vt_handoff quiet\r\n}\n", "vmlinuz-6.1", "",
		 "console=tty1 console=ttyS2,1500000 quiet", "no GRUB variable, no CR");
	parse_ok("set default=saved\nmenuentry \"a { b\" {\n linux /boot/vmlinuz\n}\n", "vmlinuz",
		 "", "", "no initrd, a brace in the title, default=saved");
	parse_ok("set default=1\nmenuentry 'one' {\n  echo ${root}\n}\nmenuentry 'two' {\n linux "
		 "/boot/k2 a=1\n}\n", "k2", "", "a=1", "default=1, ${root} is no brace");
}

static void test_refusals(void)
{
	refuse("set default=0\n", "no menuentry", "no entry");
	refuse("menuentry 'a' {\n linux /boot/k dyndbg=\"file x.c\n}\n", "unterminated",
	       "an open quote");
	refuse("menuentry 'a' {\n echo hi\n}\n", "no menuentry", "an entry without linux");
	refuse("menuentry 'a' {\n linux /boot/efi/vmlinuz\n}\n", "top of /boot", "a subdirectory");
	refuse("menuentry 'a' {\n linux /boot/k\n initrd /boot/ucode.img /boot/initrd.img\n}\n",
	       "several initrd", "two initrd files");
}

static int add_file(struct aim_tree *t, const char *name, const char *text)
{
	struct aim_node *n;
	int r = aim_tree_add(t, t->root, name, S_IFREG | 0644, &n);

	return r < 0 ? r : aim_tree_set_mem(n, text, strlen(text));
}

static void test_prune(void)
{
	struct aim_tree *bt = NULL;
	struct aim_grub_entry e;
	struct aim_node *g;
	int r;

	r = aim_tree_new(&bt);
	if (r == 0)
		r = aim_tree_mkdir_p(bt, "/grub", &g);
	if (r == 0) {
		struct aim_node *n;
		r = aim_tree_add(bt, g, "grub.cfg", S_IFREG | 0644, &n);
		if (r == 0)
			r = aim_tree_set_mem(n, debian_cfg, strlen(debian_cfg));
	}
	const char *files[] = {"vmlinuz-6.1.0-50-arm64", "initrd.img-6.1.0-50-arm64",
			       "vmlinuz-6.1.0-40-arm64", "config-6.1.0-50-arm64",
			       "System.map-6.1.0-50-arm64"};
	for (size_t i = 0; r == 0 && i < sizeof(files) / sizeof(files[0]); i++)
		r = add_file(bt, files[i], files[i]);
	is_int(r, 0, "prune: a /boot tree");
	is_int(aim_grub_prune_boot(bt, &e), 0, "prune: done");
	ok(aim_tree_lookup(bt, "/vmlinuz-6.1.0-50-arm64") &&
		   aim_tree_lookup(bt, "/initrd.img-6.1.0-50-arm64"),
	   "prune: the default kernel and initrd stay");
	ok(!aim_tree_lookup(bt, "/grub") && !aim_tree_lookup(bt, "/vmlinuz-6.1.0-40-arm64") &&
		   !aim_tree_lookup(bt, "/config-6.1.0-50-arm64"),
	   "prune: GRUB's modules, other kernels, config and System.map go");
	aim_tree_remove(bt, aim_tree_lookup(bt, "/initrd.img-6.1.0-50-arm64"));
	aim_tree_free(bt);

	/* A grub.cfg naming a kernel that is not there. */
	r = aim_tree_new(&bt);
	if (r == 0)
		r = aim_tree_mkdir_p(bt, "/grub", &g);
	if (r == 0) {
		struct aim_node *n;
		const char *c = "menuentry 'a' {\n linux /boot/vmlinuz-9\n}\n";
		r = aim_tree_add(bt, g, "grub.cfg", S_IFREG | 0644, &n);
		if (r == 0)
			r = aim_tree_set_mem(n, c, strlen(c));
	}
	aim_error_clear();
	is_int(aim_grub_prune_boot(bt, &e), -ENOENT, "prune: a missing kernel is refused");
	ok(aim_error_detail() && strstr(aim_error_detail(), "vmlinuz-9"), "prune: it names it");
	aim_tree_free(bt);
}

static void test_env(void)
{
	struct aim_grub_entry e = {.kernel = "vmlinuz-6.1", .initrd = "initrd.img-6\\1",
				   .args = "console=ttyS0"};
	struct aim_buf b = {0};

	is_int(aim_grub_slot_env(&e, &b), 0, "grub.env: made");
	is_int(b.len, 1024, "grub.env: one 1024-byte block");
	ok(b.len >= 25 && !memcmp(b.p, "# GRUB Environment Block\n", 25), "grub.env: signature");
	ok(strstr((char *)b.p, "\naim_kernel=vmlinuz-6.1\naim_initrd=initrd.img-6\\\\1\n#") != NULL,
	   "grub.env: the names, a backslash escaped, then padding");
	ok(!strstr((char *)b.p, "console"), "grub.env: no arguments (grub.cfg has them)");
	aim_buf_free(&b);
	snprintf(e.kernel, sizeof(e.kernel), "a\nb");
	is_int(aim_grub_slot_env(&e, &b), -EINVAL, "grub.env: a newline is refused");
	aim_buf_free(&b);
	is_str(aim_grub_platform("arm64"), "arm64-efi", "platform arm64");
	is_str(aim_grub_efi_name("amd64"), "BOOTX64.EFI", "EFI name amd64");
	ok(!aim_grub_platform("riscv64"), "no platform for an unknown arch");
}

int main(void)
{
	test_parse();
	test_refusals();
	test_prune();
	test_env();
	return done_testing();
}
