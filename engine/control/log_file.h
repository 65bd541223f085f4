/* The engine's own append-only logs (audit.jsonl, exposure.jsonl): one
 * folder, made if missing (0750), each file 0640 whatever the umask,
 * opened for appending whole lines. */
#ifndef TOLK_LOG_FILE_H
#define TOLK_LOG_FILE_H

#include <stddef.h>

/* Opens DIR/NAME, writing its path to path. Returns the descriptor, or a
 * negative errno with a message in err. Thread: control. */
int log_file_open(const char *dir, const char *name, char *path, size_t pathlen, char *err, size_t errlen);

#endif
