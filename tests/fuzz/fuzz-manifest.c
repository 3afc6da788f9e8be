/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bundle manifest parser (lib/bundle.c aim_bundle_manifest_parse, docs/ota.md §3). */
#include "fuzz.h"

#include "bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1); /* exactly size bytes: no NUL to lean on */
	struct aim_bundle_manifest *m = NULL;

	if (!text)
		abort();
	memcpy(text, data, size);
	if (aim_bundle_manifest_parse(text, size, &m) == 0) {
		const struct aim_bundle_payload *p = aim_bundle_manifest_find(m, "rootfs");

		if (p && strlen(p->sha256_hex) != 64)
			abort();
		aim_bundle_manifest_find(m, "boot");
		aim_bundle_manifest_free(m);
	}
	free(text);
	return 0;
}
