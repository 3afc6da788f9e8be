// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * aim-boot: the initramfs helper (docs/boot.md). Static, libc only.
 *
 *   aim-boot overlay NEWROOT   initramfs-tools local-bottom: the slot squashfs is already
 *                              mounted at NEWROOT; count the trial, move it to
 *                              /run/aim/lower, mount data + overlay at NEWROOT
 *   aim-boot mount NEWROOT     the same when nothing is mounted yet: mounts the root=
 *                              partition (by /dev/disk/by-partuuid) read-only first
 *   aim-boot plan [--cmdline FILE] [--state-dir DIR] [--sysfs DIR] [--root-dev NAME]
 *                 [--commit]   prints the decision as key=value lines, mounts nothing;
 *                              --commit writes the new state to DIR
 *
 * Every failure is printed to stderr and /dev/kmsg and exits non-zero, so the calling
 * script drops to a shell instead of continuing into a broken root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "device/slotstate.h"
#include "device/slotstate_io.h"

#define RUN_AIM "/run/aim"
#define LOWER RUN_AIM "/lower"
#define DATA RUN_AIM "/data"
#define BOOTMNT RUN_AIM "/boot"
#define TMPFS RUN_AIM "/tmpfs"
#define BOOT_ENV_DIR "/run/armimmutable"
#define MAX_PERSIST 32

struct plan {
	char cmdline_slot; /* armimmutable.slot= */
	char root_partuuid[64];
	int overlay_tmpfs; /* from conf, overridden by the cmdline */
	int overlay_cmdline; /* -1 none, 0 persistent, 1 tmpfs */
	char persist[MAX_PERSIST][256];
	int npersist;
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
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "aim-boot: %s\n", msg);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		dprintf(fd, "<3>aim-boot: %s\n", msg);
		close(fd);
	}
}

#define fail(...) (say(__VA_ARGS__), 1)

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < cap - 1 && (n = read(fd, buf + got, cap - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return got;
}

/* Kernel command line words: armimmutable.slot=, armimmutable.overlay=, root=. */
static int parse_cmdline(const char *path, struct plan *p)
{
	char buf[4096], *save = NULL, *w;

	if (read_file(path, buf, sizeof(buf)) < 0)
		return fail("cannot read %s: %s", path, strerror(errno));
	for (w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		if (!strncmp(w, "armimmutable.slot=", 18)) {
			if ((w[18] != 'a' && w[18] != 'b') || w[19])
				return fail("bad %s on the kernel command line", w);
			p->cmdline_slot = w[18];
		} else if (!strncmp(w, "armimmutable.overlay=", 21)) {
			if (!strcmp(w + 21, "tmpfs"))
				p->overlay_cmdline = 1;
			else if (!strcmp(w + 21, "persistent"))
				p->overlay_cmdline = 0;
			else
				return fail("bad %s on the kernel command line", w);
		} else if (!strncmp(w, "root=PARTUUID=", 14)) {
			snprintf(p->root_partuuid, sizeof(p->root_partuuid), "%s", w + 14);
		}
	}
	return 0;
}

/* /etc/armimmutable/armimmutable.conf: OVERLAY=persistent|tmpfs, PERSIST="a b". */
static int parse_conf(const char *path, struct plan *p)
{
	char buf[8192], *save = NULL, *line;

	if (read_file(path, buf, sizeof(buf)) < 0) {
		say("no %s: persistent overlay, nothing persisted", path);
		return 0;
	}
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "OVERLAY=", 8)) {
			if (!strcmp(line + 8, "tmpfs"))
				p->overlay_tmpfs = 1;
			else if (!strcmp(line + 8, "persistent"))
				p->overlay_tmpfs = 0;
			else
				return fail("%s: bad %s", path, line);
		} else if (!strncmp(line, "PERSIST=", 8)) {
			char *v = line + 8, *s2 = NULL, *w;
			size_t n = strlen(v);

			if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
				v[n - 1] = 0;
				v++;
			}
			for (w = strtok_r(v, " ", &s2); w; w = strtok_r(NULL, " ", &s2)) {
				if (w[0] != '/' || strstr(w, "..") || strlen(w) >= 200)
					return fail("%s: bad persistent path '%s'", path, w);
				if (p->npersist == MAX_PERSIST)
					return fail("%s: more than %d persistent paths", path,
						    MAX_PERSIST);
				snprintf(p->persist[p->npersist++], sizeof(p->persist[0]), "%s", w);
			}
		}
	}
	return 0;
}

/* Copies a name; -ENAMETOOLONG when it does not fit (never truncates silently). */
static int copy_name(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

/* The block device name and partition number of sysfs entry name, and its disk. */
static int part_info(const char *sysfs, const char *name, int *ret_partn, char *disk,
		     size_t disksz)
{
	char path[PATH_MAX], real[PATH_MAX], buf[32], *slash;

	snprintf(path, sizeof(path), "%s/class/block/%s/partition", sysfs, name);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	*ret_partn = atoi(buf);
	snprintf(path, sizeof(path), "%s/class/block/%s", sysfs, name);
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	slash = strrchr(real, '/');
	return copy_name(disk, disksz, slash ? slash + 1 : real);
}

/* Partition partn of disk, by scanning <sysfs>/class/block/. */
static int find_part(const char *sysfs, const char *disk, int partn, char *ret, size_t retsz)
{
	char path[PATH_MAX], d[64];
	struct dirent *de;
	DIR *dir;
	int n, found = 0;

	snprintf(path, sizeof(path), "%s/class/block", sysfs);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while (!found && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (part_info(sysfs, de->d_name, &n, d, sizeof(d)) == 0 && n == partn &&
		    !strcmp(d, disk) && copy_name(ret, retsz, de->d_name) == 0)
			found = 1;
	}
	closedir(dir);
	return found ? 0 : -ENOENT;
}

/* A device node for sysfs block name: /dev/<name>, or one made under /run/aim. */
static int dev_node(const char *sysfs, const char *name, char *ret, size_t retsz)
{
	char path[PATH_MAX], buf[32];
	unsigned ma, mi;

	snprintf(ret, retsz, "/dev/%s", name);
	if (access(ret, F_OK) == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/class/block/%s/dev", sysfs, name);
	if (read_file(path, buf, sizeof(buf)) <= 0 || sscanf(buf, "%u:%u", &ma, &mi) != 2)
		return -ENOENT;
	mkdir(RUN_AIM, 0755);
	snprintf(ret, retsz, RUN_AIM "/dev-%s", name);
	if (mknod(ret, S_IFBLK | 0600, makedev(ma, mi)) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The sysfs name of the block device st_dev. */
static int name_of_dev(const char *sysfs, dev_t dev, char *ret, size_t retsz)
{
	char path[PATH_MAX], real[PATH_MAX], *slash;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u", sysfs, major(dev), minor(dev));
	if (!realpath(path, real))
		return -errno;
	slash = strrchr(real, '/');
	return copy_name(ret, retsz, slash ? slash + 1 : real);
}

static int resolve_devices(const char *sysfs, struct plan *p)
{
	if (part_info(sysfs, p->root_dev, &p->root_partn, p->disk, sizeof(p->disk)) < 0)
		return fail("root device %s is not a partition", p->root_dev);
	if (p->root_partn != 2 && p->root_partn != 3)
		return fail("root device %s is partition %d, not a slot (2 or 3)", p->root_dev,
			    p->root_partn);
	if (find_part(sysfs, p->disk, 1, p->boot_dev, sizeof(p->boot_dev)) < 0)
		return fail("no partition 1 (boot) on %s", p->disk);
	if (find_part(sysfs, p->disk, 4, p->data_dev, sizeof(p->data_dev)) < 0)
		return fail("no partition 4 (data) on %s", p->disk);
	return 0;
}

/* Reads the state from dir and decides; the slot mounted wins over the state (it is the
 * slot whose kernel is running), a disagreement is recorded in reason. */
static void decide(const char *dir, struct plan *p)
{
	char mounted = p->root_partn == 3 ? 'b' : p->root_partn == 2 ? 'a' : 0;
	int r = aim_slotstate_load(dir, &p->st, &p->copy);

	p->reason[0] = 0;
	if (r < 0) {
		snprintf(p->reason, sizeof(p->reason), "no valid slot state (%s): %s",
			 r == -ENOENT ? p->st.reason : strerror(-r),
			 r == -ENOENT ? "writing a fresh one" : "not counting");
		p->have_state = 0;
		aim_slotstate_init(&p->st);
		if (r == -ENOENT) {
			p->state_changed = 1;
			p->copy = 2; /* writes copy 1 */
		}
		p->slot = mounted ? mounted : p->cmdline_slot ? p->cmdline_slot : 'a';
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
		r = aim_slotstate_choose(&p->st, &p->slot, &p->trial);
		if (r < 0) {
			snprintf(p->reason, sizeof(p->reason), "inconsistent slot state");
			p->slot = mounted ? mounted : 'a';
		} else {
			p->state_changed = r > 0;
			if (!p->trial && p->st.reason[0] && r > 0)
				snprintf(p->reason, sizeof(p->reason), "%s", p->st.reason);
		}
	}
	if (p->cmdline_slot && mounted && p->cmdline_slot != mounted) {
		size_t n = strlen(p->reason);
		snprintf(p->reason + n, sizeof(p->reason) - n,
			 "%scommand line says slot %c but slot %c is mounted", n ? "; " : "",
			 p->cmdline_slot, mounted);
	}
	if (mounted && p->slot != mounted) {
		size_t n = strlen(p->reason);
		snprintf(p->reason + n, sizeof(p->reason) - n,
			 "%sstate chose slot %c, U-Boot booted %c: keeping %c", n ? "; " : "",
			 p->slot, mounted, mounted);
		p->slot = mounted;
		p->trial = p->st.try_slot == mounted;
	}
}

static void print_plan(FILE *f, const struct plan *p)
{
	fprintf(f, "slot=%c\ntrial=%d\nmode=%s\n", p->slot, p->trial,
		p->overlay_tmpfs ? "tmpfs" : "persistent");
	fprintf(f, "reason=%s\n", p->reason);
	fprintf(f, "cmdline_slot=%c\n", p->cmdline_slot ? p->cmdline_slot : '-');
	if (p->root_dev[0])
		fprintf(f, "disk=%s\nroot_dev=%s\nboot_dev=%s\ndata_dev=%s\n", p->disk, p->root_dev,
			p->boot_dev, p->data_dev);
	fprintf(f, "state_seq=%u\nstate_write=%s\n", (unsigned)p->st.seq,
		p->state_changed ? (p->copy == 1 ? "state-2.txt" : "state-1.txt") : "none");
	for (int i = 0; i < p->npersist; i++)
		fprintf(f, "persist=%s\n", p->persist[i]);
}

static int commit_state(const char *dir, struct plan *p)
{
	int r;

	if (!p->state_changed)
		return 0;
	r = aim_slotstate_store(dir, &p->st, 3 - p->copy);
	if (r < 0)
		say("cannot write the slot state to %s: %s (this trial boot is not counted)", dir,
		    strerror(-r));
	return r;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_boot_env(const struct plan *p)
{
	FILE *f;

	mkdir_p(BOOT_ENV_DIR, 0755);
	f = fopen(BOOT_ENV_DIR "/boot.env", "we");
	if (!f)
		return fail("cannot write " BOOT_ENV_DIR "/boot.env: %s", strerror(errno));
	print_plan(f, p);
	return fclose(f) ? fail("cannot write " BOOT_ENV_DIR "/boot.env") : 0;
}

/* Is file system type fs known to the kernel (/proc/filesystems)? */
static int have_fs(const char *fs)
{
	char buf[4096], *save = NULL, *line;

	if (read_file("/proc/filesystems", buf, sizeof(buf)) < 0)
		return 1; /* cannot tell: let mount(2) decide */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *t = strrchr(line, '\t');

		if (!strcmp(t ? t + 1 : line, fs))
			return 1;
	}
	return 0;
}

/*
 * When fs is missing (a module the initramfs lacks, e.g. overlay on boards with
 * MODULES=list), loads the modules from the slot's own squashfs: same kernel, same slot.
 * paths: module files relative to /lib/modules/<release>/kernel/, in load order.
 */
static void load_fs_modules(const char *fs, const char *const *paths)
{
	static const char *const sfx[] = {"", ".xz", ".zst", ".gz"};
	struct utsname u;

	if (have_fs(fs) || uname(&u) < 0)
		return;
	for (; *paths; paths++) {
		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			char path[PATH_MAX];
			int fd;
			long r;

			snprintf(path, sizeof(path), LOWER "/lib/modules/%s/kernel/%s%s", u.release,
				 *paths, sfx[i]);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd < 0)
				continue;
			/* MODULE_INIT_COMPRESSED_FILE (4): the kernel decompresses */
			r = syscall(SYS_finit_module, fd, "", i ? 4 : 0);
			if (r < 0 && errno != EEXIST)
				say("cannot load %s: %s", path, strerror(errno));
			close(fd);
			break;
		}
	}
}

static const char *const vfat_mods[] = {"fs/fat/fat.ko", "fs/fat/vfat.ko", "fs/nls/nls_cp437.ko",
					"fs/nls/nls_iso8859-1.ko", NULL};
static const char *const overlay_mods[] = {"fs/overlayfs/overlay.ko", NULL};
static const char *const ext4_mods[] = {"lib/crc16.ko", "fs/mbcache.ko", "fs/jbd2/jbd2.ko",
					"fs/ext4/ext4.ko", NULL};

/* Mounts the boot partition, counts the trial, unmounts. Failure to write is loud but
 * not fatal: the slot booting now is the one whose kernel runs. */
static void count_boot(const char *sysfs, struct plan *p)
{
	char node[PATH_MAX];

	load_fs_modules("vfat", vfat_mods);
	if (dev_node(sysfs, p->boot_dev, node, sizeof(node)) < 0 || mkdir_p(BOOTMNT, 0755) < 0 ||
	    mount(node, BOOTMNT, "vfat", MS_NOSUID | MS_NODEV | MS_NOEXEC, "") < 0) {
		say("cannot mount the boot partition %s: %s; slot state not read", p->boot_dev,
		    strerror(errno));
		p->slot = p->root_partn == 3 ? 'b' : 'a';
		snprintf(p->reason, sizeof(p->reason), "boot partition not mountable");
		return;
	}
	decide(BOOTMNT, p);
	commit_state(BOOTMNT, p);
	if (umount(BOOTMNT) < 0)
		say("cannot unmount %s: %s", BOOTMNT, strerror(errno));
}

static int setup_root(const char *newroot, const char *sysfs, struct plan *p)
{
	char node[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], opts[PATH_MAX * 3];

	if (parse_conf(LOWER "/etc/armimmutable/armimmutable.conf", p))
		return 1;
	if (p->overlay_cmdline >= 0)
		p->overlay_tmpfs = p->overlay_cmdline;
	if (mkdir_p(DATA, 0755) < 0)
		return fail("cannot create " DATA ": %s", strerror(errno));
	if (dev_node(sysfs, p->data_dev, node, sizeof(node)) < 0)
		return fail("no device node for the data partition %s", p->data_dev);
	load_fs_modules("ext4", ext4_mods);
	load_fs_modules("overlay", overlay_mods);
	if (mount(node, DATA, "ext4", MS_NOATIME, "") < 0) {
		if (!p->overlay_tmpfs || p->npersist)
			return fail("cannot mount the data partition %s on " DATA ": %s", node,
				    strerror(errno));
		say("data partition %s not mountable (%s): tmpfs overlay only", node,
		    strerror(errno));
	}
	if (p->overlay_tmpfs) {
		if (mkdir_p(TMPFS, 0755) < 0 ||
		    mount("aim-overlay", TMPFS, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
			return fail("cannot mount tmpfs on " TMPFS ": %s", strerror(errno));
		snprintf(upper, sizeof(upper), TMPFS "/upper");
		snprintf(work, sizeof(work), TMPFS "/work");
	} else {
		snprintf(upper, sizeof(upper), DATA "/overlay/%c/upper", p->slot);
		snprintf(work, sizeof(work), DATA "/overlay/%c/work", p->slot);
	}
	if (mkdir_p(upper, 0755) < 0 || mkdir_p(work, 0755) < 0)
		return fail("cannot create the overlay directories %s: %s", upper, strerror(errno));
	snprintf(opts, sizeof(opts), "lowerdir=" LOWER ",upperdir=%s,workdir=%s", upper, work);
	if (mount("overlay", newroot, "overlay", 0, opts) < 0)
		return fail("cannot mount the overlay on %s (%s): %s", newroot, opts,
			    strerror(errno));
	for (int i = 0; i < p->npersist; i++) {
		char src[PATH_MAX], dst[PATH_MAX];

		snprintf(src, sizeof(src), DATA "/persist%s", p->persist[i]);
		snprintf(dst, sizeof(dst), "%s%s", newroot, p->persist[i]);
		if (mkdir_p(src, 0755) < 0 || mkdir_p(dst, 0755) < 0 ||
		    mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return fail("cannot bind %s on %s: %s", src, dst, strerror(errno));
	}
	return write_boot_env(p);
}

/* NEWROOT holds the slot squashfs (mounted by initramfs-tools): move it aside. */
static int cmd_overlay(const char *newroot, int mount_it)
{
	struct plan p = {.overlay_cmdline = -1};
	const char *sysfs = "/sys";
	struct stat s;

	if (parse_cmdline("/proc/cmdline", &p))
		return 1;
	if (mkdir_p(LOWER, 0755) < 0)
		return fail("cannot create " LOWER ": %s", strerror(errno));
	if (mount_it) {
		char dev[PATH_MAX];

		if (!p.root_partuuid[0])
			return fail("no root=PARTUUID= on the kernel command line");
		snprintf(dev, sizeof(dev), "/dev/disk/by-partuuid/%s", p.root_partuuid);
		if (mount(dev, LOWER, "squashfs", MS_RDONLY, "") < 0)
			return fail("cannot mount the root slot %s: %s", dev, strerror(errno));
	} else if (mount(newroot, LOWER, NULL, MS_MOVE, NULL) < 0) {
		return fail("cannot move the root %s to " LOWER ": %s", newroot, strerror(errno));
	}
	if (stat(LOWER, &s) < 0 || name_of_dev(sysfs, s.st_dev, p.root_dev, sizeof(p.root_dev)))
		return fail("cannot tell which block device is mounted on " LOWER);
	if (resolve_devices(sysfs, &p))
		return 1;
	count_boot(sysfs, &p);
	if (p.reason[0])
		say("%s", p.reason);
	return setup_root(newroot, sysfs, &p);
}

static int cmd_plan(int argc, char **argv)
{
	const char *cmdline = "/proc/cmdline", *dir = NULL, *sysfs = NULL, *rootdev = NULL;
	const char *conf = NULL;
	struct plan p = {.overlay_cmdline = -1};
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
		else
			return fail("plan: unknown option %s", a);
	}
	if (!dir)
		return fail("plan: --state-dir DIR is required");
	if (parse_cmdline(cmdline, &p))
		return 1;
	if (conf && parse_conf(conf, &p))
		return 1;
	if (p.overlay_cmdline >= 0)
		p.overlay_tmpfs = p.overlay_cmdline;
	if (rootdev) {
		if (copy_name(p.root_dev, sizeof(p.root_dev), rootdev) < 0)
			return fail("plan: root device name too long");
		if (resolve_devices(sysfs ? sysfs : "/sys", &p))
			return 1;
	}
	decide(dir, &p);
	print_plan(stdout, &p);
	if (commit && commit_state(dir, &p) < 0)
		return 1;
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: aim-boot overlay NEWROOT | mount NEWROOT |\n"
	      "       aim-boot plan --state-dir DIR [--cmdline FILE] [--conf FILE]\n"
	      "                     [--sysfs DIR --root-dev NAME] [--commit]\n",
	      f);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "plan"))
		return cmd_plan(argc, argv);
	if (argc == 3 && !strcmp(argv[1], "overlay"))
		return cmd_overlay(argv[2], 0);
	if (argc == 3 && !strcmp(argv[1], "mount"))
		return cmd_overlay(argv[2], 1);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
