/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Little/big-endian field access for on-disk structures: never cast a buffer in place. */
#ifndef AIM_BASE_ENDIAN_H
#define AIM_BASE_ENDIAN_H

#include <stdint.h>

static inline uint16_t aim_get_le16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t aim_get_le32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t aim_get_le64(const void *p)
{
	return aim_get_le32(p) | (uint64_t)aim_get_le32((const uint8_t *)p + 4) << 32;
}

static inline uint32_t aim_get_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static inline void aim_put_le16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void aim_put_le32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static inline void aim_put_le64(void *p, uint64_t v)
{
	aim_put_le32(p, (uint32_t)v);
	aim_put_le32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

static inline void aim_put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (24 - 8 * i));
}

#endif
