/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* armimmutable: global options and the verb table. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#if defined(AIM_DEVICE_BUILD) && defined(AIM_WITH_CURL) && AIM_WITH_CURL
#include <nss.h>
#define AIM_STATIC_HTTP 1
#endif

#include "cmd.h"
#include "base/log.h"

static const struct verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} verbs[] = {
#ifndef AIM_DEVICE_BUILD
	/* Not in the static device build (make device): no image libraries there. */
	{"convert", cmd_convert, "convert an Armbian image into the A/B immutable layout"},
	{"inspect", cmd_inspect, "show what is inside a disk image"},
#endif
	{"keygen", cmd_keygen, "make an ed25519 signing key pair (minisign format)"},
	{"bundle", cmd_bundle, "create, inspect or verify a signed update bundle"},
	{"install", cmd_install, "install an update bundle into the inactive slot"},
	{"status", cmd_status, "show the slots, their versions and the boot state"},
	{"mark-good", cmd_mark_good, "keep the booted slot (end its trial)"},
	{"mark-bad", cmd_mark_bad, "give up a slot: the next boot falls back"},
	{"rollback", cmd_rollback, "boot the other slot from the next boot on"},
	{"reset", cmd_reset, "factory reset at the next boot (empty the writable layer)"},
};

static void help(FILE *f)
{
	fputs("Usage: armimmutable [-q|-v] VERB [OPTIONS] ARGS...\n"
#if defined(AIM_STATIC_HTTP)
	      "Update and manage an immutable A/B Armbian system (device build: no\n"
	      "convert, inspect or 'bundle create --from-image').\n\n"
#elif defined(AIM_DEVICE_BUILD)
	      "Update and manage an immutable A/B Armbian system (device build: no\n"
	      "convert, inspect, 'bundle create --from-image' or http(s) sources).\n\n"
#else
	      "Turn Armbian disk images into immutable A/B systems.\n\n"
#endif
	      "Verbs:\n",
	      f);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].help);
	fputs("\nGlobal options:\n"
	      "  -q, --quiet     only errors\n"
	      "  -v, --verbose   debug messages (also AIM_DEBUG=1)\n"
	      "  -h, --help      this help; VERB --help for a verb's options\n"
	      "      --version   print the version\n\n"
	      "Exit status: 0 success, 1 failure, 2 usage error.\n",
	      f);
}

int usage_err(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "armimmutable %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'armimmutable %s --help')\n", verb);
	return -AIM_E_USAGE;
}

int main(int argc, char **argv)
{
	int i = 1, r;

#ifdef AIM_STATIC_HTTP
	/* Host names of http(s) sources: in this static program glibc would dlopen the
	 * device's NSS modules for any source but files and dns (Ubuntu's mdns4_minimal,
	 * resolve, myhostname), shared objects of another glibc. files and dns are built into
	 * glibc (2.34 on): /etc/hosts, then the resolvers of /etc/resolv.conf (on Ubuntu the
	 * systemd-resolved stub). docs/device-build.md */
	__nss_configure_lookup("hosts", "files dns");
#endif
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			aim_log_level = AIM_LOG_QUIET;
		else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			aim_log_level = AIM_LOG_VERBOSE;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			help(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
#ifdef AIM_DEVICE_BUILD
			printf("armimmutable %s (device build)\n", AIM_VERSION);
#else
			printf("armimmutable %s\n", AIM_VERSION);
#endif
			return 0;
		} else {
			fprintf(stderr, "armimmutable: unknown option %s (see --help)\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		help(stderr);
		return 2;
	}
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++)
		if (!strcmp(argv[i], verbs[v].name)) {
			r = verbs[v].fn(argc - i, argv + i);
			return r == -AIM_E_USAGE ? 2 : r < 0 ? 1 : 0;
		}
#ifdef AIM_DEVICE_BUILD
	if (!strcmp(argv[i], "convert") || !strcmp(argv[i], "inspect")) {
		fprintf(stderr, "armimmutable: '%s' is not in this build (the static device build "
			"has no disk image support); run it on a host\n", argv[i]);
		return 2;
	}
#endif
	fprintf(stderr, "armimmutable: unknown verb '%s' (see --help)\n", argv[i]);
	return 2;
}
