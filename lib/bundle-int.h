/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What bundle.c (header, writer, reader) and bundle-manifest.c (the manifest) share. */
#ifndef AIM_BUNDLE_INT_H
#define AIM_BUNDLE_INT_H

#include <stddef.h>

#define PAYLOAD_SIZE_MAX (1ULL << 44) /* 16 TiB: anything larger is a corrupt field */
#define VALUE_MAX 255

static const char manifest_magic[] = "armimmutable-bundle";

/* A payload name (why gets the reason when it is not) and kind as the manifest allows them. */
int aim_bundle_name_ok(const char *s, char *why, size_t whylen);
int aim_bundle_kind_ok(const char *s);

#endif
