/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device build of the armimmutable CLI (make device: static, for arm64, armhf and
 * x86_64) leaves out what only a host needs: reading and converting disk images
 * (lib/input, lib/image, lib/convert and their libsquashfs, libext2fs, libblkid, liblzma
 * and libzstd). The verbs convert and inspect are not in its verb table (main.c under
 * AIM_DEVICE_BUILD); 'bundle create --from-image' reaches the functions below, which
 * refuse. The other bundle create form (a prepared squashfs plus boot files) works on a
 * device. Only this build links this file.
 */
#include <errno.h>

#include "convert.h"
#include "image.h"
#include "input.h"
#include "base/log.h"

int aim_input_open(const char *path, const char *tmpdir, unsigned threads, aim_progress_fn fn,
		   void *ud, struct aim_input **ret)
{
	(void)tmpdir, (void)threads, (void)fn, (void)ud;
	*ret = NULL;
	return aim_error_set(-EOPNOTSUPP,
			     "%s: this build of armimmutable (device build) cannot read disk "
			     "images; make the bundle on a host, or from a prepared squashfs with "
			     "--rootfs and --boot-dir",
			     path);
}

struct aim_input *aim_input_free(struct aim_input *in)
{
	(void)in;
	return NULL;
}

int aim_input_fd(const struct aim_input *in)
{
	(void)in;
	return -EBADF;
}

uint64_t aim_input_size(const struct aim_input *in)
{
	(void)in;
	return 0;
}

const char *aim_input_path(const struct aim_input *in)
{
	(void)in;
	return "";
}

int aim_image_analyze(int fd, const char *path, uint64_t size, struct aim_image_info *ret)
{
	(void)fd, (void)size, (void)ret;
	return aim_error_set(-EOPNOTSUPP, "%s: no image support in the device build", path);
}

int aim_convert_run(const char *in_path, int in_fd, const struct aim_image_info *ii,
		    const struct aim_convert_opts *o, int out_fd, aim_convert_progress_fn fn,
		    void *ud, struct aim_convert_plan *ret)
{
	(void)in_fd, (void)ii, (void)o, (void)out_fd, (void)fn, (void)ud, (void)ret;
	return aim_error_set(-EOPNOTSUPP, "%s: no convert in the device build", in_path);
}
