/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable install: a signed bundle from a file, stdin or http(s) into the inactive
 * slot of the running device or of an image file (lib/install.h, lib/source.h). */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd-target.h"
#include "cli-opts.h"
#include "cmd.h"
#include "layer.h"
#include "delta.h"
#include "install.h"
#include "source.h"
#include "base/log.h"
#include "base/macro.h"
#include "base/parse.h"

#define MAX_KEYS 16
#define DEFAULT_KEYRING "/etc/armimmutable/keys"

enum prog_mode { PROG_BAR, PROG_JSON, PROG_NONE };

static const char *arg_source, *arg_image, *arg_keyring, *arg_cacert;
static const char *arg_pub[MAX_KEYS];
static unsigned arg_npub, arg_tries, arg_retries = 10;
static int arg_allow_downgrade, arg_insecure, arg_reboot, arg_full;
static struct aim_delta *delta; /* a delta install: for the progress lines */
static enum prog_mode arg_progress;

static void help(void)
{
	puts("Usage: armimmutable install SOURCE [OPTIONS]\n"
	     "Installs a signed bundle into the inactive slot and puts it on trial for the next\n"
	     "boot. SOURCE is a file, a block device, - (stdin) or an http:// or https:// URL\n"
	     "(an interrupted download resumes). The signature is checked before anything is\n"
	     "written; the payloads are hashed while they stream into the slot.\n"
	     "A source that can seek (a file, a device, a server that honours Range) is read\n"
	     "as a delta: only the pieces the running slot does not hold are fetched, each\n"
	     "checked against the bundle's signed block index; a rerun after a cut fetches\n"
	     "nothing twice (docs/delta.md).\n\n"
	     "  -p, --public FILE       trusted public key (repeatable)\n"
	     "      --keyring DIR       trust every *.pub in DIR (default " DEFAULT_KEYRING ")\n"
	     "  -i, --image IMG         install into an image file instead of this device\n"
	     "      --allow-downgrade   install an older version than the running one\n"
	     "      --tries N           trial boots before falling back (1-9, default 3)\n"
	     "      --progress=MODE     bar (default on a terminal), json (JSON lines on\n"
	     "                          stderr) or none\n"
	     "      --retries N         reconnects of an interrupted download (default 10)\n"
	     "      --cacert FILE       CA bundle for https (default: the system's)\n"
	     "      --insecure          do not verify the https server's certificate\n"
	     "      --full              read the whole bundle, no delta\n"
	     "      --reboot            reboot into the trial when installed (systemctl reboot;\n"
	     "                          on a Raspberry Pi: systemctl reboot '0 tryboot')\n"
	     "  -h, --help              this help\n\n"
	     "Exit status: 0 installed, 1 refused or failed (nothing bootable changed), 2 usage.");
}

enum { O_KEYRING = 256, O_DOWN, O_TRIES, O_PROGRESS, O_RETRIES, O_CACERT, O_INSECURE,
       O_REBOOT, O_FULL };

static const struct cli_option options[] = {
	{"public", 'p', required_argument},
	{"keyring", O_KEYRING, required_argument},
	{"image", 'i', required_argument},
	{"allow-downgrade", O_DOWN, no_argument},
	{"tries", O_TRIES, required_argument},
	{"progress", O_PROGRESS, required_argument},
	{"retries", O_RETRIES, required_argument},
	{"cacert", O_CACERT, required_argument},
	{"insecure", O_INSECURE, no_argument},
	{"reboot", O_REBOOT, no_argument},
	{"full", O_FULL, no_argument},
	{"help", 'h', no_argument},
	{0},
};

static int parse_argv(int argc, char **argv)
{
	static const struct cli_option *const tables[] = {options, NULL};
	struct cli_args a;
	const char *val;
	int c;

	arg_progress = PROG_BAR;
	cli_args_init(&a, "install", argc, argv, tables);
	while ((c = cli_args_next(&a, &val)) > 0) {
		switch (c) {
		case 'p':
			if (arg_npub >= MAX_KEYS)
				return usage_err("install", "at most %d public keys", MAX_KEYS);
			arg_pub[arg_npub++] = val;
			break;
		case O_KEYRING: arg_keyring = val; break;
		case 'i': arg_image = val; break;
		case O_DOWN: arg_allow_downgrade = 1; break;
		case O_TRIES:
			if (aim_parse_uint(val, 1, 9, &arg_tries) < 0)
				return usage_err("install", "--tries takes 1 to 9, not '%s'", val);
			break;
		case O_RETRIES:
			if (aim_parse_uint(val, 0, 1000, &arg_retries) < 0)
				return usage_err("install", "--retries takes 0 to 1000, not '%s'", val);
			break;
		case O_PROGRESS:
			if (!strcmp(val, "json"))
				arg_progress = PROG_JSON;
			else if (!strcmp(val, "bar"))
				arg_progress = PROG_BAR;
			else if (!strcmp(val, "none"))
				arg_progress = PROG_NONE;
			else
				return usage_err("install", "--progress is bar, json or none, not '%s'",
						 val);
			break;
		case O_CACERT: arg_cacert = val; break;
		case O_INSECURE: arg_insecure = 1; break;
		case O_REBOOT: arg_reboot = 1; break;
		case O_FULL: arg_full = 1; break;
		case 'h':
			help();
			return 1;
		}
	}
	if (c < 0)
		return c;
	if (a.noperands == 0)
		return usage_err("install", "needs a SOURCE (a bundle file, - or a URL)");
	if (arg_reboot && arg_image)
		return usage_err("install", "--reboot is for the running device, not --image");
	if (a.noperands > 1)
		return usage_err("install", "unexpected argument '%s'", a.operand[1]);
	arg_source = a.operand[0];
	if (arg_npub && arg_keyring)
		return usage_err("install", "-p and --keyring exclude each other");
	return 0;
}

static int ends_with_pub(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 4 && d->d_name[0] != '.' && !strcmp(d->d_name + n - 4, ".pub");
}

/* The trusted keys: -p files, or every *.pub of the keyring directory. */
static int load_keys(struct aim_pubkey *keys, size_t *ret_n)
{
	const char *dir = arg_keyring ? arg_keyring : DEFAULT_KEYRING;
	struct dirent **ents = NULL;
	char path[4096];
	size_t n = 0;
	int m, r = 0;

	for (unsigned i = 0; i < arg_npub; i++) {
		r = aim_pubkey_load(arg_pub[i], &keys[n++]);
		if (r < 0)
			return aim_err(r, "install: public key %s", arg_pub[i]);
	}
	if (arg_npub) {
		*ret_n = n;
		return 0;
	}
	m = scandir(dir, &ents, ends_with_pub, alphasort);
	if (m < 0)
		return aim_err(-errno, "install: no trusted keys: cannot read the keyring %s "
				       "(give -p PUBKEY or --keyring DIR)", dir);
	for (int i = 0; i < m; i++) {
		if (r >= 0 && n < MAX_KEYS) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			r = aim_pubkey_load(path, &keys[n++]);
			if (r < 0)
				aim_err(r, "install: public key %s", path);
		}
		free(ents[i]);
	}
	free(ents);
	if (r < 0)
		return r;
	if (!n) {
		aim_error_set(-ENOKEY, "no *.pub file in %s", dir);
		return aim_err(-ENOKEY, "install: no trusted keys");
	}
	*ret_n = n;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct prog {
	struct progress bar;
	const char *phase;
	double start, last;
	int last_pct;
};

/* JSON lines: one per phase change and per whole percent (at most 5 per second). */
static void on_progress(void *ud, const char *phase, uint64_t done, uint64_t total)
{
	struct prog *p = ud;
	double t = now_s();
	int pct = total ? (int)(100.0 * (double)done / (double)total) : 0;

	if (arg_progress == PROG_JSON) {
		if (phase == p->phase && (pct == p->last_pct || t - p->last < 0.2))
			return;
		fprintf(stderr,
			"{\"phase\":\"%s\",\"done\":%" PRIu64 ",\"total\":%" PRIu64
			",\"percent\":%d,\"elapsed\":%.2f",
			phase, done, total, pct, t - p->start);
		if (delta) {
			struct aim_delta_stats ds;

			aim_delta_get_stats(delta, &ds);
			fprintf(stderr, ",\"fetched\":%" PRIu64 ",\"local\":%" PRIu64
				",\"held\":%" PRIu64, ds.fetched, ds.local, ds.held);
		}
		fputs("}\n", stderr);
		fflush(stderr);
		p->phase = phase;
		p->last = t;
		p->last_pct = pct;
	} else if (arg_progress == PROG_BAR) {
		if (phase != p->phase) {
			progress_end(&p->bar);
			progress_begin(&p->bar, phase, total);
			p->phase = phase;
		}
		progress_update(&p->bar, done);
	}
}

/* The source behind the bundle reader; a read error's detail is kept, since it (a cut
 * download, a changed file on the server) is the cause the user needs to see. */
struct src {
	struct aim_source *s;
	int err;
	char detail[512];
};

static ssize_t source_read(void *ud, void *buf, size_t n)
{
	struct src *c = ud;
	ssize_t k = aim_source_read(c->s, buf, n);

	if (k < 0 && !c->err) {
		c->err = (int)k;
		snprintf(c->detail, sizeof(c->detail), "%s",
			 aim_error_text((int)k));
	}
	return k;
}

/* The same for a delta install: the detail of a piece that did not match is the cause. */
struct dsrc {
	struct aim_delta *d;
	int err;
	char detail[512];
};

static ssize_t delta_read(void *ud, void *buf, size_t n)
{
	struct dsrc *c = ud;
	ssize_t k = aim_delta_read(c->d, buf, n);

	if (k < 0 && !c->err) {
		c->err = (int)k;
		snprintf(c->detail, sizeof(c->detail), "%s", aim_error_text((int)k));
	}
	return k;
}

static void json_str(const char *key, const char *v)
{
	fprintf(stderr, ",\"%s\":\"", key);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fprintf(stderr, "\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			fprintf(stderr, "\\u%04x", *v);
		else
			fputc(*v, stderr);
	}
	fputc('"', stderr);
}

/* Reports r once; what (the source) is left out when the detail names it already. */
static int fail(int r, const char *what)
{
	const char *d = aim_error_detail_for(r);

	if (arg_progress == PROG_JSON) {
		fputs("{\"phase\":\"error\"", stderr);
		json_str("message", d ? d : aim_strerror(r));
		fputs("}\n", stderr);
	}
	if (d && !strncmp(d, what, strlen(what)))
		aim_err(r, "install");
	else
		aim_err(r, "install: %s", what);
	return r;
}

/* How the bundle was read, for the JSON "done" line. */
static void delta_json(struct aim_delta *d)
{
	struct aim_delta_stats ds;

	if (!d) {
		json_str("mode", "stream");
		return;
	}
	aim_delta_get_stats(d, &ds);
	json_str("mode", ds.planned ? "delta" : "full");
	if (!ds.planned)
		json_str("why", aim_delta_why(d));
	fprintf(stderr,
		",\"bundle_bytes\":%" PRIu64 ",\"fetched\":%" PRIu64 ",\"local\":%" PRIu64
		",\"held\":%" PRIu64 ",\"zero\":%" PRIu64 ",\"computed\":%" PRIu64
		",\"requests\":%u,\"refetched\":%u",
		ds.total, ds.fetched, ds.local, ds.held, ds.zero, ds.computed, ds.requests,
		ds.refetched);
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

static void delta_info(struct aim_delta *d, char from)
{
	struct aim_delta_stats ds;

	if (!d)
		return;
	aim_delta_get_stats(d, &ds);
	if (!ds.planned) {
		aim_info("read the whole bundle (%.1f MiB): %s", mib(ds.total), aim_delta_why(d));
		return;
	}
	aim_info("delta: fetched %.1f MiB of the %.1f MiB bundle (%.1f %%) in %u requests; "
		 "%.1f MiB copied from slot %c, %.1f MiB already in place",
		 mib(ds.fetched), mib(ds.total),
		 ds.total ? 100.0 * (double)ds.fetched / (double)ds.total : 0.0, ds.requests,
		 mib(ds.local), from, mib(ds.held));
}

/*
 * The bundle source: a delta (*ret_delta set) when it can seek, else a stream. A server
 * that ignores Range is opened again for a plain download, and the user is told.
 */
static int open_source(struct aim_source_opts *so, const struct aim_pubkey *keys, size_t nkeys,
		       struct aim_source **ret, struct aim_delta **ret_delta)
{
	const char *why = NULL;
	int r;

	*ret_delta = NULL;
	if (!arg_full && strcmp(arg_source, "-")) {
		so->random_access = 1;
		r = aim_source_open(arg_source, so, ret);
		if (r < 0)
			return fail(r, arg_source);
		if (aim_source_random_access(*ret, &why)) {
			r = aim_delta_open(*ret, keys, nkeys, ret_delta);
			if (r < 0)
				return fail(r, aim_source_name(*ret));
			return 0;
		}
		aim_info("%s: %s: reading the whole bundle", aim_source_name(*ret),
			 why ? why : "no random access");
		aim_source_close(*ret);
		*ret = NULL;
		so->random_access = 0;
	}
	r = aim_source_open(arg_source, so, ret);
	if (r < 0)
		return fail(r, arg_source);
	return 0;
}

int cmd_install(int argc, char **argv)
{
	_cleanup_(aim_target_freep) struct aim_target *t = NULL;
	_cleanup_(aim_source_closep) struct aim_source *src = NULL;
	struct aim_pubkey keys[MAX_KEYS];
	struct aim_source_opts so;
	_cleanup_(aim_delta_freep) struct aim_delta *dl = NULL;
	struct aim_install_result res;
	struct prog pr = {0};
	size_t nkeys = 0;
	int r;

	r = parse_argv(argc, argv);
	if (r != 0)
		return r < 0 ? r : 0;
	if (aim_log_level < AIM_LOG_NORMAL && arg_progress == PROG_BAR)
		arg_progress = PROG_NONE;
	if (load_keys(keys, &nkeys) < 0)
		return -1;
	if (cli_target_open("install", arg_image, 0, &t) < 0)
		return -1;
	aim_source_opts_init(&so);
	so.max_retries = arg_retries;
	so.ca_file = arg_cacert;
	so.insecure = arg_insecure;
	pr.start = now_s();
	pr.last_pct = -1;
	r = open_source(&so, keys, nkeys, &src, &dl);
	if (r < 0)
		return r;
	delta = dl;

	struct aim_install_opts io = {
		.keys = keys,
		.nkeys = nkeys,
		.allow_downgrade = arg_allow_downgrade,
		.tries = arg_tries,
		.progress = on_progress,
		.progress_ud = &pr,
		.delta = dl,
	};
	struct src sc = { .s = src };
	struct dsrc dc = { .d = dl };
	r = dl ? aim_install_run(t, delta_read, &dc, &io, &res)
	       : aim_install_run(t, source_read, &sc, &io, &res);
	if (arg_progress == PROG_BAR)
		progress_end(&pr.bar);
	if (r < 0 && sc.err)
		r = aim_error_set(sc.err, "%s", sc.detail);
	if (r < 0 && dc.err)
		r = aim_error_set(dc.err, "%s", dc.detail);
	if (r < 0)
		return fail(r, aim_source_name(src));
	if (arg_progress == PROG_JSON) {
		fprintf(stderr, "{\"phase\":\"done\",\"slot\":\"%c\"", res.slot);
		json_str("version", res.version);
		json_str("bundle", res.bundle_sha256);
		delta_json(dl);
		fprintf(stderr,
			",\"rootfs_bytes\":%" PRIu64 ",\"boot_files\":%u,\"tries\":%u,"
			"\"reconnects\":%u,\"elapsed\":%.2f}\n",
			res.rootfs_bytes, res.boot_files, res.tries, aim_source_reconnects(src),
			now_s() - pr.start);
	} else {
		delta_info(dl, res.from_slot);
		if (res.rpi)
			aim_info("installed %s into slot %c (was %s on slot %c), on trial for one "
				 "boot%s",
				 res.version, res.slot,
				 res.old_version[0] ? res.old_version : "unknown", res.from_slot,
				 arg_image ? "" : ": start it with reboot '0 tryboot' (a normal "
				 "reboot stays on the old slot and ends the trial)");
		else
			aim_info("installed %s into slot %c (was %s on slot %c), on trial for %u "
				 "boots%s",
				 res.version, res.slot,
				 res.old_version[0] ? res.old_version : "unknown", res.from_slot,
				 res.tries, arg_image ? "" : ": reboot to start it");
		if (!arg_image)
			cli_layer_carry_info(aim_target_boot_env(t, "mode"), res.from_slot, res.slot);
	}
	if (arg_reboot) {
		/* systemd hands the argument to reboot(2); the Raspberry Pi firmware driver sets
		 * the one-time tryboot flag from it (docs/rpi.md) */
		const char *cmd[] = {"systemctl", "reboot", res.rpi ? "0 tryboot" : NULL, NULL};
		aim_target_free(t);
		t = NULL;
		fflush(NULL);
		execvp(cmd[0], (char *const *)cmd);
		return fail(-errno, "cannot run systemctl reboot");
	}
	return 0;
}
