// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * aim-boot: the initramfs helper (docs/boot.md). Static, libc only.
 *
 *   aim-boot overlay NEWROOT   initramfs-tools local-bottom: the slot squashfs is already
 *                              mounted at NEWROOT; count the trial, move it to
 *                              /run/aim/lower, mount data + overlay at NEWROOT
 *   aim-boot mount NEWROOT     the same when nothing is mounted yet: mounts the root=
 *                              partition (by /dev/disk/by-partuuid) read-only first
 *   aim-boot mark-good         after boot-complete.target: the slot named by
 *                              /run/armimmutable/boot.env is good (state record)
 *   aim-boot trial-watch       userspace of a trial boot: reboot when the slot is not
 *                              marked good within TRIAL_TIMEOUT seconds
 *   aim-boot grow-table IMG [SECTOR_SIZE]  grows partition 4 of a disk image file to
 *                              its end, as the first boot does on the medium (tests)
 *   aim-boot plan [--cmdline FILE] [--state-dir DIR] [--sysfs DIR] [--root-dev NAME]
 *                 [--keys DIR] [--commit]   prints the decision as key=value lines, mounts
 *                              nothing; DIR/slot-X/slot.env is checked against the keys
 *                              of --keys; --commit writes the new state to DIR
 *   aim-boot verity-table      the live dm table of this boot's root (as dmsetup table)
 *
 * Every failure is printed to stderr and /dev/kmsg and exits non-zero, so the calling
 * script drops to a shell instead of continuing into a broken root.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/autoboot.h"
#include "base/bootcfg.h"
#include "base/bootenv.h"
#include "base/carry.h"
#include "base/dm.h"
#include "base/fileio.h"
#include "base/kmod.h"
#include "base/log.h"
#include "base/persist.h"
#include "base/ptgrow.h"
#include "base/slotstate.h"
#include "base/slotstate_io.h"
#include "base/sysblock.h"
#include "sig/slotcheck.h"

#define RUN_AIM "/run/aim"
#define LOWER RUN_AIM "/lower"
#define DATA RUN_AIM "/data"
#define BOOTMNT RUN_AIM "/boot"
#define TMPFS RUN_AIM "/tmpfs"
#define RESET_FLAG "factory-reset" /* on the boot partition: wipe the writable layer */
#define TRASH DATA "/.aim-trash"  /* what a factory reset removes, until it is gone */
#define KEYS_DIR "/etc/armimmutable/keys" /* in the initramfs: trusted minisign keys */
#define MAPPER "/dev/mapper"
#define MAX_KEYS 16

struct plan {
	struct aim_bootcfg cfg; /* kernel command line and armimmutable.conf */
	/* devices */
	char disk[64];     /* e.g. mmcblk0 */
	char root_dev[64]; /* the partition mounted as root, e.g. mmcblk0p2 */
	int root_partn;
	char boot_dev[64], data_dev[64];
	/* decision */
	struct aim_slotstate st;
	int have_state, state_changed, copy;
	char slot;
	int trial;
	char reason[256];
	char grow[160]; /* first-boot growth of the data partition, for boot.env */
	int reset_pending; /* /factory-reset found on the boot partition */
	char reset[96];    /* for boot.env: done, failed:... */
	char ident[2][160]; /* each slot's payload identity (slot.env), "" unknown */
	/* dm-verity: the booted slot's /slot-X/slot.env and its signature (NULL: none) */
	char *senv, *ssig;
	size_t senv_len, ssig_len;
	int verity; /* 1: mapped (or to be mapped) through dm-verity */
	struct aim_verity ver;
	char signer[17]; /* key id that signed slot.env, "" unsigned */
	char refused[200]; /* why the slot is not booted ("": it is) */
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
#ifdef AIM_BOOT_FUZZ
	/* tests/fuzz: the parsers' messages are formatted but go nowhere */
	(void)fd;
	return;
#endif
	fprintf(stderr, "aim-boot: %s\n", msg);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "<3>aim-boot: %s\n", msg);
		close(fd);
	}
}

#define fail(...) (say(__VA_ARGS__), 1)

/* tests/fuzz/fuzz-aimboot.c includes this file with -DAIM_BOOT_FUZZ to reach the static
 * parsers (kernel command line, armimmutable.conf, boot.env): its own main() is renamed. */
#ifdef AIM_BOOT_FUZZ
#define main aim_boot_main
int aim_boot_main(int argc, char **argv);
#endif

static int parse_cmdline(const char *path, struct plan *p)
{
	char err[600];

	return aim_bootcfg_cmdline(path, &p->cfg, err, sizeof(err)) < 0 ? fail("%s", err) : 0;
}

/* A missing armimmutable.conf is said, not fatal. */
static int parse_conf(const char *path, struct plan *p)
{
	char err[600];
	int r = aim_bootcfg_conf(path, &p->cfg, err, sizeof(err));

	if (r == -ENOENT)
		say("%s", err);
	return r < 0 && r != -ENOENT ? fail("%s", err) : 0;
}

static int resolve_devices(const char *sysfs, struct plan *p)
{
	if (aim_sysblock_part_info(sysfs, p->root_dev, &p->root_partn, p->disk,
				   sizeof(p->disk)) < 0)
		return fail("root device %s is not a partition", p->root_dev);
	if (p->root_partn != 2 && p->root_partn != 3)
		return fail("root device %s is partition %d, not a slot (2 or 3)", p->root_dev,
			    p->root_partn);
	if (aim_sysblock_find_part(sysfs, p->disk, 1, p->boot_dev, sizeof(p->boot_dev)) < 0)
		return fail("no partition 1 (boot) on %s", p->disk);
	if (aim_sysblock_find_part(sysfs, p->disk, 4, p->data_dev, sizeof(p->data_dev)) < 0)
		return fail("no partition 4 (data) on %s", p->disk);
	return 0;
}

/* Reads the state from dir and decides; the slot mounted wins over the state (it is the
 * slot whose kernel is running), a disagreement is recorded in reason. */
static void decide(const char *dir, struct plan *p)
{
	char mounted = p->root_partn == 3 ? 'b' : p->root_partn == 2 ? 'a' : 0;
	int r = aim_slotstate_load(dir, &p->st, &p->copy), grubenv;

	p->reason[0] = 0;
	if (r < 0) {
		snprintf(p->reason, sizeof(p->reason), "no valid slot state (%s): %s",
			 r == -ENOENT ? p->st.reason : strerror(-r),
			 r == -ENOENT ? "writing a fresh one" : "not counting");
		p->have_state = 0;
		grubenv = p->st.grubenv;
		aim_slotstate_init(&p->st);
		p->st.grubenv = grubenv; /* a GRUB image's fresh state stays readable by GRUB */
		if (r == -ENOENT) {
			p->state_changed = 1;
			p->copy = 2; /* writes copy 1 */
		}
		p->slot = mounted ? mounted : p->cfg.cmdline_slot ? p->cfg.cmdline_slot : 'a';
		if (p->slot == 'b') {
			p->st.active = 'b';
			p->st.good[0] = 0;
			p->st.good[1] = 1;
		}
	} else {
		p->have_state = 1;
		/* U-Boot boots the trial slot while it has tries left; the active slot
		 * mounted means U-Boot's count used them up: cancel the trial, with reason. */
		if (mounted && p->st.try_slot && mounted != p->st.try_slot &&
		    mounted == p->st.active)
			p->st.tries[p->st.try_slot - 'a'] = 0;
		/* U-Boot gave up on the good active slot (the corruption rule) */
		int failed = aim_slotstate_active_failed(&p->st, mounted, AIM_SLOTSTATE_ACTIVE_FAILS);
		r = aim_slotstate_choose(&p->st, &p->slot, &p->trial);
		if (r < 0) {
			snprintf(p->reason, sizeof(p->reason), "inconsistent slot state");
			p->slot = mounted ? mounted : 'a';
		} else {
			p->state_changed = r > 0 || failed > 0;
			if (failed > 0)
				snprintf(p->reason, sizeof(p->reason), "%s", p->st.reason);
			if (!p->trial && p->st.reason[0] && r > 0)
				snprintf(p->reason, sizeof(p->reason), "%s", p->st.reason);
		}
	}
	if (p->cfg.cmdline_slot && mounted && p->cfg.cmdline_slot != mounted) {
		size_t n = strlen(p->reason);
		snprintf(p->reason + n, sizeof(p->reason) - n,
			 "%scommand line says slot %c but slot %c is mounted", n ? "; " : "",
			 p->cfg.cmdline_slot, mounted);
	}
	if (mounted && p->slot != mounted) {
		size_t n = strlen(p->reason);
		snprintf(p->reason + n, sizeof(p->reason) - n,
			 "%sstate chose slot %c, the boot loader booted %c: keeping %c", n ? "; " : "",
			 p->slot, mounted, mounted);
		p->slot = mounted;
		p->trial = p->st.try_slot == mounted;
	}
}

/* The boot.env record of the plan; persist: room for AIM_BOOTCFG_MAX_PERSIST pointers. */
static struct aim_bootenv_rec plan_record(const struct plan *p, const char **persist)
{
	for (int i = 0; i < p->cfg.npersist; i++)
		persist[i] = p->cfg.persist[i];
	return (struct aim_bootenv_rec){
		.slot = p->slot, .trial = p->trial, .reason = p->reason,
		.mode = p->cfg.overlay_tmpfs ? "tmpfs" : "persistent",
		.cmdline_slot = p->cfg.cmdline_slot,
		.disk = p->disk, .root_dev = p->root_dev, .boot_dev = p->boot_dev,
		.data_dev = p->data_dev, .state_seq = (unsigned)p->st.seq,
		.state_write = p->state_changed ? (p->copy == 1 ? "state-2.txt" : "state-1.txt")
						: "none",
		.persist = persist, .npersist = p->cfg.npersist, .grow = p->grow,
		.factory_reset = p->reset, .trial_timeout = p->cfg.trial_timeout,
		.verity = p->verity, .verity_root = p->ver.root, .verity_signed = p->signer};
}

static void print_plan(FILE *f, const struct plan *p)
{
	const char *persist[AIM_BOOTCFG_MAX_PERSIST];
	struct aim_bootenv_rec r = plan_record(p, persist);

	aim_bootenv_format(f, &r);
}

static int write_boot_env(const struct plan *p)
{
	const char *persist[AIM_BOOTCFG_MAX_PERSIST];
	struct aim_bootenv_rec rec = plan_record(p, persist);
	int r = aim_bootenv_write(AIM_RUN_DIR, &rec);

	return r < 0 ? fail("cannot write " AIM_BOOT_ENV ": %s", strerror(-r)) : 0;
}

static int commit_state(const char *dir, struct plan *p)
{
	int r;

	/* Raspberry Pi: autoboot.txt left behind by a cut after the last state write is
	 * brought in line on the next boot */
	if (!p->state_changed && (r = aim_rpi_autoboot_store(dir, &p->st)) < 0)
		say("cannot write autoboot.txt to %s: %s", dir, strerror(-r));
	if (!p->state_changed)
		return 0;
	r = aim_slotstate_store(dir, &p->st, 3 - p->copy);
	if (r < 0)
		say("cannot write the slot state to %s: %s (this trial boot is not counted)", dir,
		    strerror(-r));
	/* Raspberry Pi: autoboot.txt follows the state, after it (docs/rpi.md) */
	if (r == 0 && (r = aim_rpi_autoboot_store(dir, &p->st)) < 0)
		say("cannot write autoboot.txt to %s: %s", dir, strerror(-r));
	return r < 0 ? r : 0;
}

/*
 * When fs is missing (a module the initramfs lacks, e.g. overlay on boards with
 * MODULES=list), loads the modules from the slot's own squashfs: same kernel, same slot.
 * paths: module files relative to /lib/modules/<release>/kernel/, in load order.
 */
static void load_fs_modules(const char *fs, const char *const *paths)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct utsname u;

	if (aim_kmod_have_fs(fs) || uname(&u) < 0)
		return;
	snprintf(dir, sizeof(dir), LOWER "/lib/modules/%s/kernel", u.release);
	for (; *paths; paths++) {
		int r = aim_kmod_load(dir, *paths, path, sizeof(path));

		if (r < 0 && r != -ENOENT)
			say("cannot load %s: %s", path, strerror(-r));
	}
}

static const char *const vfat_mods[] = {"fs/fat/fat.ko", "fs/fat/vfat.ko", "fs/nls/nls_cp437.ko",
					"fs/nls/nls_iso8859-1.ko", "fs/nls/nls_ascii.ko", NULL};
static const char *const overlay_mods[] = {"fs/overlayfs/overlay.ko", NULL};
static const char *const ext4_mods[] = {"lib/crc16.ko", "fs/mbcache.ko", "fs/jbd2/jbd2.ko",
					"fs/ext4/ext4.ko", NULL};

/* ---- dm-verity: slot.env, its signature, the mapping ---- */

/* Whether the slot is mapped through dm-verity, or refused (lib/sig/slotcheck.h). */
static int slot_policy(const char *keydir, struct plan *p)
{
	int r = aim_slot_check(keydir, p->slot, p->senv, p->senv_len, p->ssig, p->ssig_len,
			       &p->ver, p->signer, p->refused, sizeof(p->refused));

	p->verity = r > 0;
	return r;
}

/* The slot is given up in the state (aim_slotstate_refuse), this boot fails. */
static void refuse_slot(struct plan *p)
{
	say("slot %c refused: %s", p->slot, p->refused);
	if ((p->have_state || p->state_changed) &&
	    aim_slotstate_refuse(&p->st, p->slot, p->refused) > 0)
		p->state_changed = 1;
}

static const char *const dm_mods[] = {"drivers/md/dm-mod.ko", "drivers/md/dm-bufio.ko",
				      "lib/reed_solomon/reed_solomon.ko",
				      "drivers/md/dm-verity.ko", NULL};

/* Replaces the squashfs mounted raw at LOWER by the same partition through dm-verity. */
static int map_verity(struct plan *p)
{
	char dir[PATH_MAX], path[PATH_MAX], node[PATH_MAX], err[1200], name[32];
	struct utsname u;
	int r;

	if (uname(&u) == 0) {
		/* from the initramfs (the appended cpio carries them), not from the slot */
		snprintf(dir, sizeof(dir), "/lib/modules/%s/kernel", u.release);
		for (const char *const *m = dm_mods; *m; m++)
			if ((r = aim_kmod_load(dir, *m, path, sizeof(path))) < 0 && r != -ENOENT)
				say("cannot load %s: %s", path, strerror(-r));
	}
	snprintf(name, sizeof(name), "aim-root-%c", p->slot);
	if (aim_verity_remount(&p->ver, LOWER, name, MAPPER, node, sizeof(node), err,
			       sizeof(err)) < 0)
		return fail("dm-verity for slot %c: %s", p->slot, err);
	say("slot %c: / is verified by dm-verity (%s, root hash %.16s..., %s)", p->slot, node,
	    p->ver.root, p->signer[0] ? "signed slot.env" : "unsigned slot.env");
	return 0;
}

/* Mounts the boot partition, counts the trial, unmounts. Failure to write is loud but
 * not fatal: the slot booting now is the one whose kernel runs. */
static void count_boot(const char *sysfs, struct plan *p)
{
	char node[PATH_MAX];

	load_fs_modules("vfat", vfat_mods);
	if (aim_sysblock_dev_node(sysfs, p->boot_dev, RUN_AIM, node, sizeof(node)) < 0 ||
	    aim_mkdir_p(BOOTMNT, 0755) < 0 ||
	    mount(node, BOOTMNT, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, "") < 0) {
		say("cannot mount the boot partition %s: %s; slot state not read", p->boot_dev,
		    strerror(errno));
		p->slot = p->root_partn == 3 ? 'b' : 'a';
		snprintf(p->reason, sizeof(p->reason), "boot partition not mountable");
		slot_policy(KEYS_DIR, p); /* no slot.env: refused when the device has keys */
		return;
	}
	decide(BOOTMNT, p);
	aim_slot_read(BOOTMNT, p->slot, &p->senv, &p->senv_len, &p->ssig, &p->ssig_len);
	if (slot_policy(KEYS_DIR, p) < 0)
		refuse_slot(p);
	commit_state(BOOTMNT, p);
	/* GRUB images: a bootcount.txt GRUB's save_env cannot rewrite (torn, cut short)
	 * would leave every later boot uncounted: written whole again (docs/boot.md 4b). */
	if (p->st.grubenv) {
		int r = aim_slotstate_grub_bootcount_repair(BOOTMNT);
		if (r < 0)
			say("cannot repair bootcount.txt: %s", strerror(-r));
	}
	p->reset_pending = access(BOOTMNT "/" RESET_FLAG, F_OK) == 0;
	for (int i = 0; i < 2; i++) {
		char env[64];

		snprintf(env, sizeof(env), BOOTMNT "/slot-%c/slot.env", 'a' + i);
		aim_carry_slot_ident(env, p->ident[i], sizeof(p->ident[i]));
	}
	if (umount(BOOTMNT) < 0)
		say("cannot unmount %s: %s", BOOTMNT, strerror(errno));
}

/* ---- first boot: the data partition grows to the end of the medium ---- */

/* Before the data partition is mounted: grow its table entry, tell the kernel (BLKPG:
 * BLKRRPART fails while the slot is mounted). The file system grows later, online
 * (armimmutable-grow-data.service). Never fatal: the boot goes on with the old size. */
static void grow_data(const char *sysfs, struct plan *p)
{
	struct aim_grow g = {.partn = 4};
	char node[PATH_MAX];
	int fd, r;

	if (aim_sysblock_dev_node(sysfs, p->disk, RUN_AIM, node, sizeof(node)) < 0) {
		snprintf(p->grow, sizeof(p->grow), "failed:no device node for %s", p->disk);
		say("%s", p->grow);
		return;
	}
	fd = open(node, O_RDWR | O_CLOEXEC);
	r = fd < 0 ? -errno : aim_blockdev_geometry(fd, &g.lbs, &g.disk_lbas);
	if (r < 0) {
		snprintf(p->grow, sizeof(p->grow), "failed:/dev/%s: %s", p->disk, strerror(-r));
		say("cannot grow the data partition: %s", p->grow + 7);
		if (fd >= 0)
			close(fd);
		return;
	}
	r = aim_ptable_grow(fd, &g);
	if (r > 0) {
		int k = aim_blockdev_resize_part(fd, g.partn, g.start * g.lbs, g.new_len * g.lbs);

		if (k < 0) {
			say("data partition entry grown, but the kernel refused the new size (%s): "
			    "it takes effect at the next boot", strerror(-k));
			strncat(g.msg, " (next boot)", sizeof(g.msg) - strlen(g.msg) - 1);
		}
	}
	if (r != 0)
		say("data partition: %s", g.msg);
	close(fd);
	snprintf(p->grow, sizeof(p->grow), "%s", g.msg);
}

/* aim-boot grow-table FILE [SECTOR_SIZE]: the same on a disk image file (tests). */
static int cmd_grow_table(int argc, char **argv)
{
	struct aim_grow g = {.partn = 4, .lbs = argc > 3 ? (unsigned)atoi(argv[3]) : 512};
	struct stat s;
	int fd, r;

	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &s) < 0)
		return fail("grow-table: cannot open %s: %s", argv[2], strerror(errno));
	g.disk_lbas = g.lbs ? (uint64_t)s.st_size / g.lbs : 0;
	r = aim_ptable_grow(fd, &g);
	close(fd);
	printf("grow=%s\n", g.msg);
	return r < 0;
}

/* ---- factory reset: the writable layer goes, the slots stay ---- */

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		say("factory reset: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

/*
 * Power-safe order: (1) the overlay uppers and persistent directories are renamed into
 * TRASH (each rename atomic; fsync of the data root), (2) the flag is removed from the
 * boot partition, (3) TRASH is deleted. A cut before (2) repeats the reset (renaming
 * the fresh, empty directories again is harmless); a cut during (3) leaves TRASH, which
 * every boot deletes before the overlay is mounted.
 */
static void factory_reset(const char *sysfs, struct plan *p, int data_mounted)
{
	static const char *const what[] = {"overlay", "persist", "persist-work"};
	char node[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
	int moved = 0;

	if (data_mounted) {
		if (aim_mkdir_p(TRASH, 0700) < 0) {
			snprintf(p->reset, sizeof(p->reset), "failed: cannot create " TRASH);
			say("factory reset failed: cannot create " TRASH ": %s", strerror(errno));
			return;
		}
		for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++) {
			snprintf(src, sizeof(src), DATA "/%s", what[i]);
			snprintf(dst, sizeof(dst), TRASH "/%s.%u", what[i], (unsigned)p->st.seq);
			if (rename(src, dst) == 0)
				moved += i < 2; /* persist-work: overlayfs' scratch, not counted */
			else if (errno != ENOENT) {
				snprintf(p->reset, sizeof(p->reset), "failed: rename %s: %s", what[i],
					 strerror(errno));
				say("factory reset failed: cannot move %s: %s", src, strerror(errno));
				return;
			}
		}
		aim_fsync_dir(TRASH);
		aim_fsync_dir(DATA);
	}
	if (aim_sysblock_dev_node(sysfs, p->boot_dev, RUN_AIM, node, sizeof(node)) < 0 ||
	    mount(node, BOOTMNT, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, "") < 0) {
		say("factory reset: cannot mount the boot partition to remove its flag: %s",
		    strerror(errno));
	} else {
		if (unlink(BOOTMNT "/" RESET_FLAG) < 0 && errno != ENOENT)
			say("factory reset: cannot remove the flag: %s", strerror(errno));
		aim_fsync_dir(BOOTMNT);
		umount(BOOTMNT);
	}
	snprintf(p->reset, sizeof(p->reset), "done:%d", moved);
	say("factory reset: the writable layer was emptied (%d director%s)", moved,
	    moved == 1 ? "y" : "ies");
}

/* ---- the state carry (docs/state.md): a slot's first boot with a new payload ---- */

#define OTHER RUN_AIM "/other" /* the other slot's root, read-only, during the carry */

static int carry_layer(const char *sysfs, struct plan *p)
{
	struct aim_carry_layer c = {.overlay = DATA "/overlay", .slot = p->slot,
				    .ident = p->ident[p->slot - 'a'], .new_lower = LOWER,
				    .trash = TRASH};
	struct aim_carry_stats st = {0};
	char dev[64], node[PATH_MAX], err[400];
	int r, other_mounted = 0;

	if (!c.ident[0]) {
		say("slot %c has no payload identity (slot.env): its layer is used as it is",
		    p->slot);
		return 0;
	}
	if (aim_sysblock_find_part(sysfs, p->disk, p->root_partn == 2 ? 3 : 2, dev,
				   sizeof(dev)) == 0 &&
	    aim_sysblock_dev_node(sysfs, dev, RUN_AIM, node, sizeof(node)) == 0 &&
	    aim_mkdir_p(OTHER, 0755) == 0 && mount(node, OTHER, "squashfs", MS_RDONLY, "") == 0)
		other_mounted = 1;
	c.old_lower = other_mounted ? OTHER : NULL;
	aim_mkdir_p(AIM_RUN_DIR, 0755);
	c.log = fopen(AIM_RUN_DIR "/carry.log", "ae");
	r = aim_carry_layer_run(&c, &st, err, sizeof(err));
	if (c.log)
		fclose(c.log);
	if (other_mounted)
		umount(OTHER);
	if (r < 0)
		return fail("carrying the state into slot %c failed: %s", p->slot, err);
	if (r > 0 && !st.from)
		say("slot %c: new system, a fresh writable layer (nothing to carry)", p->slot);
	else if (r > 0)
		say("slot %c: new system, state carried from slot %c's layer%s: %u kept, %u merged, "
		    "%u conflicts (FILE.aim-new), %u dropped (" AIM_RUN_DIR "/carry.log)",
		    p->slot, st.from, other_mounted ? "" : " (old root unreadable)", st.kept,
		    st.merged, st.conflicts, st.dropped);
	return 0;
}

static int setup_root(const char *newroot, const char *sysfs, struct plan *p)
{
	int data_mounted = 0;

	char node[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], opts[PATH_MAX * 3];

	if (parse_conf(LOWER "/etc/armimmutable/armimmutable.conf", p))
		return 1;
	if (p->cfg.overlay_cmdline >= 0)
		p->cfg.overlay_tmpfs = p->cfg.overlay_cmdline;
	if (aim_mkdir_p(DATA, 0755) < 0)
		return fail("cannot create " DATA ": %s", strerror(errno));
	if (aim_sysblock_dev_node(sysfs, p->data_dev, RUN_AIM, node, sizeof(node)) < 0)
		return fail("no device node for the data partition %s", p->data_dev);
	load_fs_modules("ext4", ext4_mods);
	load_fs_modules("overlay", overlay_mods);
	if (mount(node, DATA, "ext4", MS_NOATIME, "") < 0) {
		if (!p->cfg.overlay_tmpfs || p->cfg.npersist)
			return fail("cannot mount the data partition %s on " DATA ": %s", node,
				    strerror(errno));
		say("data partition %s not mountable (%s): tmpfs overlay only", node,
		    strerror(errno));
	} else {
		data_mounted = 1;
	}
	if (p->reset_pending)
		factory_reset(sysfs, p, data_mounted);
	if (data_mounted && !p->cfg.overlay_tmpfs && carry_layer(sysfs, p))
		return 1;
	if (data_mounted && access(TRASH, F_OK) == 0) {
		nftw(TRASH, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		aim_fsync_dir(DATA);
	}
	if (p->cfg.overlay_tmpfs) {
		if (aim_mkdir_p(TMPFS, 0755) < 0 ||
		    mount("aim-overlay", TMPFS, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
			return fail("cannot mount tmpfs on " TMPFS ": %s", strerror(errno));
		snprintf(upper, sizeof(upper), TMPFS "/upper");
		snprintf(work, sizeof(work), TMPFS "/work");
	} else {
		snprintf(upper, sizeof(upper), DATA "/overlay/%c/upper", p->slot);
		snprintf(work, sizeof(work), DATA "/overlay/%c/work", p->slot);
	}
	if (aim_mkdir_p(upper, 0755) < 0 || aim_mkdir_p(work, 0755) < 0)
		return fail("cannot create the overlay directories %s: %s", upper, strerror(errno));
	snprintf(opts, sizeof(opts), "lowerdir=" LOWER ",upperdir=%s,workdir=%s", upper, work);
	if (mount("overlay", newroot, "overlay", 0, opts) < 0)
		return fail("cannot mount the overlay on %s (%s): %s", newroot, opts,
			    strerror(errno));
	/* kiosk mode keeps the machine's identity (KEEP_IDENTITY=no: it does not) */
	for (int i = 0; data_mounted && p->cfg.overlay_tmpfs && !p->cfg.no_identity &&
			aim_persist_identity[i]; i++) {
		int have = 0;

		for (int k = 0; k < p->cfg.npersist; k++)
			have |= !strcmp(p->cfg.persist[k], aim_persist_identity[i]);
		if (!have && p->cfg.npersist < AIM_BOOTCFG_MAX_PERSIST)
			snprintf(p->cfg.persist[p->cfg.npersist++], sizeof(p->cfg.persist[0]), "%s",
				 aim_persist_identity[i]);
	}
	for (int i = 0; i < p->cfg.npersist; i++) {
		char err[PATH_MAX * 2];

		if (aim_persist_mount(LOWER, DATA, newroot, p->cfg.persist[i], err, sizeof(err)) < 0)
			return fail("persistent path %s: %s", p->cfg.persist[i], err);
	}
	return write_boot_env(p);
}

/* NEWROOT holds the slot squashfs (mounted by initramfs-tools): move it aside. */
static int cmd_overlay(const char *newroot, int mount_it)
{
	struct plan p = {.cfg = AIM_BOOTCFG_INIT};
	const char *sysfs = "/sys";
	struct stat s;

	if (parse_cmdline("/proc/cmdline", &p))
		return 1;
	if (aim_mkdir_p(LOWER, 0755) < 0)
		return fail("cannot create " LOWER ": %s", strerror(errno));
	if (mount_it) {
		char dev[PATH_MAX];

		if (!p.cfg.root_partuuid[0])
			return fail("no root=PARTUUID= on the kernel command line");
		snprintf(dev, sizeof(dev), "/dev/disk/by-partuuid/%s", p.cfg.root_partuuid);
		if (mount(dev, LOWER, "squashfs", MS_RDONLY, "") < 0)
			return fail("cannot mount the root slot %s: %s", dev, strerror(errno));
	} else if (mount(newroot, LOWER, NULL, MS_MOVE, NULL) < 0) {
		return fail("cannot move the root %s to " LOWER ": %s", newroot, strerror(errno));
	}
	if (stat(LOWER, &s) < 0 ||
	    aim_sysblock_name_of_dev(sysfs, s.st_dev, p.root_dev, sizeof(p.root_dev)))
		return fail("cannot tell which block device is mounted on " LOWER);
	if (resolve_devices(sysfs, &p))
		return 1;
	count_boot(sysfs, &p);
	if (p.refused[0])
		return fail("slot %c is not booted: %s", p.slot, p.refused);
	if (p.verity && map_verity(&p))
		return 1;
	grow_data(sysfs, &p);
	if (p.reason[0])
		say("%s", p.reason);
	return setup_root(newroot, sysfs, &p);
}

/* ---- after boot-complete.target: the booted slot is good ---- */

/* aim-boot mark-good: boot.env names the slot and the boot partition; the state record
 * gets good[slot]=1, active=slot, no trial, written to the older copy with seq+1. Nothing
 * is written when the state already says so. */
static int cmd_mark_good(void)
{
	char env[4096], slot[8], boot[64], node[PATH_MAX], why[160];
	struct aim_slotstate st;
	struct stat sm, sp;
	int copy, r, mounted = 0, ret = 1;

	if (aim_read_text(AIM_BOOT_ENV, env, sizeof(env)) < 0)
		return fail("mark-good: cannot read " AIM_BOOT_ENV ": %s", strerror(errno));
	if (aim_bootenv_get(env, AIM_BOOTENV_SLOT, slot, sizeof(slot)) < 0 ||
	    (strcmp(slot, "a") && strcmp(slot, "b")))
		return fail("mark-good: no slot=a|b in " AIM_BOOT_ENV);
	if (aim_bootenv_get(env, AIM_BOOTENV_BOOT_DEV, boot, sizeof(boot)) < 0 || !boot[0] ||
	    strchr(boot, '/'))
		return fail("mark-good: no boot_dev= in " AIM_BOOT_ENV);
	if (aim_sysblock_dev_node("/sys", boot, RUN_AIM, node, sizeof(node)) < 0)
		return fail("mark-good: no device node for the boot partition %s", boot);
	if (aim_mkdir_p(BOOTMNT, 0755) < 0)
		return fail("mark-good: cannot create " BOOTMNT ": %s", strerror(errno));
	load_fs_modules("vfat", vfat_mods);
	if (mount(node, BOOTMNT, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, "") == 0) {
		mounted = 1;
	} else if (stat(BOOTMNT, &sm) < 0 || stat(RUN_AIM, &sp) < 0 || sm.st_dev == sp.st_dev) {
		return fail("mark-good: cannot mount the boot partition %s on " BOOTMNT ": %s",
			    node, strerror(errno));
	}
	r = aim_slotstate_load(BOOTMNT, &st, &copy);
	if (r == -ENOENT) {
		int grubenv = st.grubenv;

		say("mark-good: no valid slot state (%s): writing a fresh one", st.reason);
		aim_slotstate_init(&st);
		st.grubenv = grubenv;
		copy = 2;
		st.good[0] = st.good[1] = 0;
	} else if (r < 0) {
		say("mark-good: cannot read the slot state in " BOOTMNT ": %s", strerror(-r));
		goto out;
	}
	r = aim_slotstate_mark_good(&st, slot[0], why, sizeof(why));
	if (r < 0) {
		say("mark-good: %s", why);
		goto out;
	}
	if (r == 0 && st.uboot_count) {
		/* U-Boot counts every boot of the active slot (the corruption rule): a new
		 * seq makes its count stale, i.e. zero */
		st.seq++;
		r = 1;
	}
	if (r == 0) {
		printf("slot %c already good (state seq %u)\n", slot[0], (unsigned)st.seq);
		ret = 0;
		if ((r = aim_rpi_autoboot_store(BOOTMNT, &st)) < 0) /* cut before it last time */
			say("mark-good: cannot write autoboot.txt: %s", strerror(-r));
		aim_bootenv_note_good(AIM_RUN_DIR, slot[0]);
		goto out;
	}
	r = aim_slotstate_store(BOOTMNT, &st, 3 - copy);
	if (r < 0) {
		say("mark-good: cannot write the slot state: %s", strerror(-r));
		goto out;
	}
	/* Raspberry Pi: only now does a normal boot take the slot (docs/rpi.md) */
	r = aim_rpi_autoboot_store(BOOTMNT, &st);
	if (r < 0) {
		say("mark-good: cannot write autoboot.txt: %s", strerror(-r));
		goto out;
	}
	printf("slot %c marked good (state seq %u, state-%d.txt)\n", slot[0], (unsigned)st.seq,
	       3 - copy);
	ret = 0;
	aim_bootenv_note_good(AIM_RUN_DIR, slot[0]);
out:
	if (mounted && umount(BOOTMNT) < 0) {
		say("mark-good: cannot unmount " BOOTMNT ": %s", strerror(errno));
		ret = 1;
	}
	return ret;
}

static int cmd_plan(int argc, char **argv)
{
	const char *cmdline = "/proc/cmdline", *dir = NULL, *sysfs = NULL, *rootdev = NULL;
	const char *conf = NULL, *keys = "";
	struct plan p = {.cfg = AIM_BOOTCFG_INIT};
	int commit = 0;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--commit")) {
			commit = 1;
			continue;
		}
		if (i + 1 >= argc)
			return fail("plan: %s needs an argument", a);
		if (!strcmp(a, "--cmdline"))
			cmdline = argv[++i];
		else if (!strcmp(a, "--state-dir"))
			dir = argv[++i];
		else if (!strcmp(a, "--sysfs"))
			sysfs = argv[++i];
		else if (!strcmp(a, "--root-dev"))
			rootdev = argv[++i];
		else if (!strcmp(a, "--conf"))
			conf = argv[++i];
		else if (!strcmp(a, "--keys"))
			keys = argv[++i];
		else
			return fail("plan: unknown option %s", a);
	}
	if (!dir)
		return fail("plan: --state-dir DIR is required");
	if (parse_cmdline(cmdline, &p))
		return 1;
	if (conf && parse_conf(conf, &p))
		return 1;
	if (p.cfg.overlay_cmdline >= 0)
		p.cfg.overlay_tmpfs = p.cfg.overlay_cmdline;
	if (rootdev) {
		if (aim_copy_name(p.root_dev, sizeof(p.root_dev), rootdev) < 0)
			return fail("plan: root device name too long");
		if (resolve_devices(sysfs ? sysfs : "/sys", &p))
			return 1;
	}
	decide(dir, &p);
	aim_slot_read(dir, p.slot, &p.senv, &p.senv_len, &p.ssig, &p.ssig_len);
	if (slot_policy(keys, &p) < 0)
		refuse_slot(&p);
	print_plan(stdout, &p);
	if (p.refused[0])
		printf("refused=%s\n", p.refused);
	if (commit && commit_state(dir, &p) < 0)
		return 1;
	return 0;
}

/* aim-boot verity-table: "aim-root-X: <start> <len> verity <params>" (dmsetup table). */
static int cmd_verity_table(void)
{
	char t[1024], name[16] = "aim-root-?";
	int r = -ENOENT;

	for (name[9] = 'a'; name[9] <= 'b'; name[9]++)
		if ((r = aim_dm_table_get(name, t, sizeof(t))) == 0)
			return printf("%s: %s\n", name, t) < 0;
	return fail("verity-table: no aim-root-a or aim-root-b: %s", strerror(-r));
}

static void usage(FILE *f)
{
	fputs("usage: aim-boot overlay NEWROOT | mount NEWROOT | mark-good | trial-watch |\n"
	      "       aim-boot grow-table IMAGE [SECTOR_SIZE] |\n"
	      "       aim-boot plan --state-dir DIR [--cmdline FILE] [--conf FILE] [--keys DIR]\n"
	      "                     [--sysfs DIR --root-dev NAME] [--commit] | verity-table\n",
	      f);
}

/*
 * The userspace half of the trial: a slot on trial whose userspace never reaches
 * boot-complete (and so is never marked good) must still be rebooted, or its remaining
 * tries are never used and the fallback never comes. Started early by
 * armimmutable-trial-watch.service; does nothing unless boot.env says trial=1. After
 * trial_timeout seconds without /run/armimmutable/good: a clean reboot, and if that
 * has not happened 120 s later, a forced one (sync first).
 */
static int cmd_trial_watch(void)
{
	char env[4096], v[32];
	unsigned timeout;

	if (aim_read_text(AIM_BOOT_ENV, env, sizeof(env)) < 0)
		return fail("trial-watch: cannot read " AIM_BOOT_ENV ": %s",
			    strerror(errno));
	if (aim_bootenv_get(env, AIM_BOOTENV_TRIAL, v, sizeof(v)) < 0 || strcmp(v, "1")) {
		printf("not a trial boot: nothing to watch\n");
		return 0;
	}
	timeout = AIM_TRIAL_TIMEOUT_DEFAULT;
	if (aim_bootenv_get(env, AIM_BOOTENV_TRIAL_TIMEOUT, v, sizeof(v)) == 0 && v[0])
		timeout = (unsigned)strtoul(v, NULL, 10);
	if (!timeout) {
		printf("trial boot, watchdog disabled (trial_timeout=0)\n");
		return 0;
	}
	printf("trial boot: rebooting unless the slot is marked good within %u s\n", timeout);
	fflush(stdout);
	for (unsigned t = 0; t < timeout; t++) {
		if (access(AIM_BOOT_GOOD, F_OK) == 0) {
			printf("slot marked good after %u s\n", t);
			return 0;
		}
		sleep(1);
	}
	if (access(AIM_BOOT_GOOD, F_OK) == 0)
		return 0;
	say("trial boot not marked good within %u s: rebooting (the next boot counts a try)",
	    timeout);
	{
		/* on the console too: kmsg errors may be filtered there (quiet) */
		int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);

		if (fd >= 0) {
			dprintf(fd, "\r\narmimmutable: trial boot not marked good within %u s: "
				    "rebooting\r\n", timeout);
			close(fd);
		}
	}
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/systemctl", "systemctl", "reboot", (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	sleep(120);
	say("clean reboot did not happen within 120 s: forcing it");
	sync();
	reboot(RB_AUTOBOOT);
	return fail("reboot failed: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "plan"))
		return cmd_plan(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "overlay"))
		return cmd_overlay(argv[2], 0);
	if (argc == 2 && !strcmp(argv[1], "mark-good"))
		return cmd_mark_good();
	if (argc == 2 && !strcmp(argv[1], "trial-watch"))
		return cmd_trial_watch();
	if (argc == 2 && !strcmp(argv[1], "verity-table"))
		return cmd_verity_table();
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "grow-table"))
		return cmd_grow_table(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "mount"))
		return cmd_overlay(argv[2], 1);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
