#include "json_writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(struct json_writer *w)
{
	memset(w, 0, sizeof *w);
}

void jw_free(struct json_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof *w);
}

static int reserve(struct json_writer *w, size_t more)
{
	size_t cap;
	char *b;

	if (w->failed)
		return -1;
	if (w->len + more + 1 <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + more + 1)
		cap *= 2;
	b = realloc(w->buf, cap);
	if (!b) {
		w->failed = 1;
		return -1;
	}
	w->buf = b;
	w->cap = cap;
	return 0;
}

void jw_raw(struct json_writer *w, const char *text)
{
	size_t n = strlen(text);
	if (reserve(w, n))
		return;
	memcpy(w->buf + w->len, text, n + 1);
	w->len += n;
}

void jw_printf(struct json_writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(w, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(w->buf + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
}

void jw_string(struct json_writer *w, const char *s)
{
	jw_raw(w, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"')
			jw_raw(w, "\\\"");
		else if (c == '\\')
			jw_raw(w, "\\\\");
		else if (c == '\n')
			jw_raw(w, "\\n");
		else if (c == '\t')
			jw_raw(w, "\\t");
		else if (c < 0x20 || c == 0x7f)
			jw_printf(w, "\\u%04x", c);
		else {
			char one[2] = { (char)c, 0 };
			jw_raw(w, one);
		}
	}
	jw_raw(w, "\"");
}

void jw_key(struct json_writer *w, const char *key, int first)
{
	if (!first)
		jw_raw(w, ",");
	jw_string(w, key);
	jw_raw(w, ":");
}
