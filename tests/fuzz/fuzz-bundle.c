/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The streaming bundle reader (lib/bundle.c aim_bundle_open, _next, _read): the input is
 * a bundle stream, read in chunks whose size depends on the input length. Verified with
 * the seed key (tests/fuzz/seed.key signed the seeds), and once more without verification
 * so that mutated manifests and payloads get past the signature.
 */
#include "fuzz.h"

#include "bundle.h"

/* tests/fuzz/seed.pub */
static const char seed_pub[] = "untrusted comment: minisign public key C3E078501A52C990\n"
			       "RWSQyVIaUHjgw4vUpLlypdpABaDJeiFrjZjUwOJ5EhZnzlUJSMhVrt6q\n";

static void read_bundle(const uint8_t *data, size_t size, const struct aim_pubkey *key,
			unsigned flags)
{
	struct fuzz_stream s = {data, size, 0, size % 3 ? 1 + size % 5000 : 0};
	struct aim_bundle_reader *b = NULL;
	const struct aim_bundle_payload *p;
	uint8_t buf[4096];
	size_t len;
	int payloads = 0;

	if (aim_bundle_open(fuzz_stream_read, &s, key, key ? 1 : 0, flags, &b) < 0)
		return;
	if (!aim_bundle_get_manifest(b) || !aim_bundle_manifest_text(b, &len) ||
	    strlen(aim_bundle_manifest_sha256(b)) != 64)
		abort();
	while (aim_bundle_next(b, &p) > 0) {
		/* leave every other payload unread: next() must skip and check it */
		if (payloads++ % 2)
			continue;
		while (aim_bundle_read(b, buf, sizeof(buf)) > 0)
			;
	}
	if (aim_bundle_position(b) > size)
		abort();
	aim_bundle_total_size(b);
	aim_bundle_close(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct aim_pubkey key;
	static int have_key;

	if (!have_key) {
		if (aim_pubkey_parse(seed_pub, sizeof(seed_pub) - 1, &key) < 0)
			abort();
		have_key = 1;
	}
	read_bundle(data, size, &key, 0);
	read_bundle(data, size, NULL, AIM_BUNDLE_NO_VERIFY);
	return 0;
}
