#include "sha256_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Through libcrypto rather than engine/core/sha256.c: it uses the CPU's
 * SHA instructions where there are any (about 5 times the portable code
 * here: 1.3 against 0.26 GB/s), and a segment's close hashes every file
 * of it, 0.5 GB a minute for 127 channels of FLAC. The core's digest stays
 * the reference the unit tests hold this one to. */
#define SHA256_FILE_CHUNK (1 << 20)

int sha256_file(const char *path, char hex[65])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	unsigned char *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	ssize_t n = 0;
	int fd, ret = 0;

	if (!path || !hex)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!(buf = malloc(SHA256_FILE_CHUNK)) || !(ctx = EVP_MD_CTX_new())) {
		ret = -ENOMEM;
		goto out;
	}
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		ret = -EIO;
		goto out;
	}
	while ((n = read(fd, buf, SHA256_FILE_CHUNK)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && !EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			ret = -EIO;
			goto out;
		}
	if (n < 0 || !EVP_DigestFinal_ex(ctx, digest, &len) || len != 32) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	close(fd);
	return ret;
}
