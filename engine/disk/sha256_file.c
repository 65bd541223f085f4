#include "sha256_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "../core/sha256.h"

int sha256_file(const char *path, char hex[65])
{
	uint8_t buf[65536], digest[32];
	struct sha256 s;
	ssize_t n;
	int fd;

	if (!path || !hex)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	sha256_init(&s);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sha256_update(&s, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -EIO;
	sha256_final(&s, digest);
	sha256_hex(digest, hex);
	return 0;
}
