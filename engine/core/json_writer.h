/* A growable text buffer for JSON replies, built on the control thread. */
#ifndef TOLK_JSON_WRITER_H
#define TOLK_JSON_WRITER_H

#include <stddef.h>

struct json_writer {
	char *buf;
	size_t len, cap;
	int failed; /* out of memory: the text is incomplete */
};

void jw_init(struct json_writer *w);
void jw_free(struct json_writer *w);
void jw_raw(struct json_writer *w, const char *text);
void jw_printf(struct json_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A quoted, escaped JSON string. */
void jw_string(struct json_writer *w, const char *s);
/* "key": prefixed by a comma unless first */
void jw_key(struct json_writer *w, const char *key, int first);

#endif
