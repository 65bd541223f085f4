/* SHA-256 (FIPS 180-4), for the archive manifest and tolk-verify. */
#ifndef TOLK_SHA256_H
#define TOLK_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t length; /* bytes */
	uint8_t block[64];
	size_t used;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest[32]);
/* Lower-case hex, 64 characters and a NUL. */
void sha256_hex(const uint8_t digest[32], char out[65]);
/* The hex digest of len bytes at data, in one call. */
void sha256_hex_of(const void *data, size_t len, char out[65]);

#endif
