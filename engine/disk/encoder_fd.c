#include <errno.h>
#include <unistd.h>

#include "encoder.h"

int encoder_write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int encoder_finish_fd(int fd, int ret)
{
	if (fd < 0)
		return ret;
	/* EINVAL: a descriptor that cannot be synced (a pipe in a test) */
	if (fsync(fd) < 0 && errno != EINVAL && !ret)
		ret = -errno;
	if (close(fd) < 0 && !ret)
		ret = -errno;
	return ret;
}
