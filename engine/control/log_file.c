#include "log_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int log_file_open(const char *dir, const char *name, char *path, size_t pathlen, char *err, size_t errlen)
{
	int fd, ret;

	snprintf(path, pathlen, "%s/%s", dir, name);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "cannot make %s: %s", dir, strerror(-ret));
		return ret;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	fchmod(fd, 0640);
	return fd;
}
