// SPDX-License-Identifier: LGPL-2.1-or-later
/* dm-verity hash trees with libcryptsetup (see verity.h and docs/verity.md). */
#include "verity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libcryptsetup.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/macro.h"
#include "util/sha256.h"

static const char salt_label[] = "armimmutable verity salt v1\n";

int aim_verity_salt(const uint8_t *pk, uint8_t salt[AIM_VERITY_HASH_BYTES])
{
	uint8_t buf[sizeof(salt_label) - 1 + 32];
	size_t n = sizeof(salt_label) - 1;

	memcpy(buf, salt_label, n);
	if (pk) {
		memcpy(buf + n, pk, 32);
		n += 32;
	}
	return aim_sha256_oneshot(buf, n, salt);
}

uint64_t aim_verity_tree_size(uint64_t data_blocks)
{
	const uint64_t per = AIM_VERITY_BLOCK / AIM_VERITY_HASH_BYTES;
	uint64_t total = 0, n = data_blocks;

	/* One level per pass, until one block is left: its hash is the root (a single data
	 * block has no tree at all). */
	while (n > 1) {
		n = (n + per - 1) / per;
		total += n;
	}
	return total * AIM_VERITY_BLOCK;
}

/* libcryptsetup's last error message, for the detail. */
static char crypt_msg[256];

static void log_cb(int level, const char *msg, void *ud)
{
	(void)ud;
	if (level != CRYPT_LOG_ERROR)
		return;
	snprintf(crypt_msg, sizeof(crypt_msg), "%s", msg);
	crypt_msg[strcspn(crypt_msg, "\n")] = 0;
}

static int crypt_fail(int r, const char *what, const char *path)
{
	return aim_error_set(r < 0 ? r : -EIO, "dm-verity %s of %s: %s", what, path,
			     crypt_msg[0] ? crypt_msg : strerror(r < 0 ? -r : EIO));
}

/* A verity context on path with the no-superblock layout of v; flags CREATE_HASH or
 * CHECK_HASH. */
static int verity_open(const char *path, const struct aim_verity *v, uint32_t flags,
		       struct crypt_device **ret)
{
	struct crypt_params_verity p = {
		.hash_name = "sha256",
		.data_device = path,
		.salt = (const char *)v->salt,
		.salt_size = AIM_VERITY_HASH_BYTES,
		.hash_type = 1,
		.data_block_size = AIM_VERITY_BLOCK,
		.hash_block_size = AIM_VERITY_BLOCK,
		.data_size = v->data_blocks,
		.hash_area_offset = v->hash_offset,
		.flags = CRYPT_VERITY_NO_HEADER | flags,
	};
	struct crypt_device *cd = NULL;
	int r;

	crypt_msg[0] = 0;
	crypt_set_log_callback(NULL, log_cb, NULL);
	r = crypt_init(&cd, path);
	if (r < 0)
		return crypt_fail(r, "open", path);
	crypt_set_log_callback(cd, log_cb, NULL);
	/* The root hash is made (CREATE_HASH) or checked at activation (CHECK_HASH). */
	r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, NULL, NULL, 0, &p);
	if (r < 0) {
		crypt_free(cd);
		return crypt_fail(r, "format", path);
	}
	*ret = cd;
	return 0;
}

int aim_verity_format(const char *path, uint64_t data_bytes,
		      const uint8_t salt[AIM_VERITY_HASH_BYTES], struct aim_verity *ret)
{
	struct aim_verity v = {0};
	struct crypt_device *cd = NULL;
	size_t len = AIM_VERITY_HASH_BYTES;
	struct stat st;
	int fd, r;

	if (data_bytes == 0)
		return aim_error_set(-EINVAL, "dm-verity of %s: no data", path);
	v.data_blocks = ALIGN_UP(data_bytes, (uint64_t)AIM_VERITY_BLOCK) / AIM_VERITY_BLOCK;
	v.hash_offset = v.data_blocks * AIM_VERITY_BLOCK;
	v.hash_size = aim_verity_tree_size(v.data_blocks);
	memcpy(v.salt, salt, AIM_VERITY_HASH_BYTES);
	/* The padding after the data is zero and the file is long enough for the tree. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return aim_error_set(-errno, "cannot open %s: %m", path);
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && (uint64_t)st.st_size < data_bytes)
		r = aim_error_set(-EINVAL, "%s is shorter than its %" PRIu64 " bytes of data", path,
				  data_bytes);
	if (r == 0 && ftruncate(fd, (off_t)data_bytes) < 0)
		r = -errno;
	if (r == 0 && ftruncate(fd, (off_t)MAX((uint64_t)st.st_size,
					       v.hash_offset + v.hash_size)) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return aim_error_set(r, "cannot size %s for its hash tree: %s", path, strerror(-r));
	r = verity_open(path, &v, CRYPT_VERITY_CREATE_HASH, &cd);
	if (r < 0)
		return r;
	r = crypt_volume_key_get(cd, CRYPT_ANY_SLOT, (char *)v.root, &len, NULL, 0);
	crypt_free(cd);
	if (r < 0 || len != AIM_VERITY_HASH_BYTES)
		return crypt_fail(r < 0 ? r : -EIO, "root hash", path);
	*ret = v;
	return 0;
}

int aim_verity_verify(const char *path, const struct aim_verity *v)
{
	struct crypt_device *cd = NULL;
	int r;

	r = verity_open(path, v, CRYPT_VERITY_CHECK_HASH, &cd);
	if (r < 0)
		return r;
	/* A NULL name: check only, nothing is activated. */
	r = crypt_activate_by_volume_key(cd, NULL, (const char *)v->root, AIM_VERITY_HASH_BYTES,
					 0);
	crypt_free(cd);
	if (r < 0)
		return aim_error_set(-EPERM, "dm-verity check of %s failed: %s", path,
				     crypt_msg[0] ? crypt_msg : strerror(-r));
	return 0;
}
