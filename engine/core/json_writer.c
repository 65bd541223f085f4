#include "json_writer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
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

/* The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when
 * it is not one: a stray continuation byte, a sequence cut short, an
 * overlong form, a surrogate or a code point past U+10FFFF. */
static int utf8_length(const unsigned char *s)
{
	int n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the terminating NUL */
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string: what is not valid UTF-8 (a control line can hold any
 * bytes) becomes U+FFFD, so that every line Tolk writes stays JSON. */
void jw_string(struct json_writer *w, const char *s)
{
	jw_raw(w, "\"");
	while (*s) {
		unsigned char c = (unsigned char)*s;
		int n = utf8_length((const unsigned char *)s);
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
		else if (n == 0)
			jw_raw(w, "\\ufffd");
		else {
			char seq[5] = { 0 };
			memcpy(seq, s, (size_t)n);
			jw_raw(w, seq);
			s += n;
			continue;
		}
		s++;
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
