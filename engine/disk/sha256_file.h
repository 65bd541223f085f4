/* The SHA-256 of a whole file, for the manifest and tolk-verify: the file
 * side of engine/core/sha256.c, which stays pure. */
#ifndef TOLK_SHA256_FILE_H
#define TOLK_SHA256_FILE_H

/* The hex digest of a whole file. Returns 0 or a negative errno.
 * Thread: disk, recovery, or a tool's own. */
int sha256_file(const char *path, char hex[65]);

#endif
