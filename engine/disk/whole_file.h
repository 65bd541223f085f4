/* A small file read whole (a manifest, a timeline line's worth), as a
 * NUL-terminated string. Thread: any but the realtime one. */
#ifndef TOLK_WHOLE_FILE_H
#define TOLK_WHOLE_FILE_H

/* The file's bytes and a NUL, or NULL (errno says why). Free it. */
char *whole_file_read(const char *path);

#endif
