#include "json_reader.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


struct jparser {
	const char *p;
	int depth;
};

void jfree(struct jnode *n)
{
	while (n) {
		struct jnode *next = n->next;
		jfree(n->child);
		free(n->text);
		free(n->key);
		free(n);
		n = next;
	}
}

static void skip_ws(struct jparser *jp)
{
	while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\r' || *jp->p == '\n')
		jp->p++;
}

static char *parse_string(struct jparser *jp)
{
	size_t cap = 64, len = 0;
	char *out = malloc(cap);

	if (!out || *jp->p != '"')
		goto fail;
	jp->p++;
	while (*jp->p && *jp->p != '"') {
		char c = *jp->p++;
		if (len + 8 >= cap) {
			char *bigger = realloc(out, cap *= 2);
			if (!bigger)
				goto fail;
			out = bigger;
		}
		if (c == '\\') {
			char e = *jp->p++;
			switch (e) {
			case 'n': out[len++] = '\n'; break;
			case 't': out[len++] = '\t'; break;
			case 'r': out[len++] = '\r'; break;
			case 'b': out[len++] = '\b'; break;
			case 'f': out[len++] = '\f'; break;
			case 'u': {
				unsigned v;
				if (!isxdigit((unsigned char)jp->p[0]) || !isxdigit((unsigned char)jp->p[1]) ||
				    !isxdigit((unsigned char)jp->p[2]) || !isxdigit((unsigned char)jp->p[3]) ||
				    sscanf(jp->p, "%4x", &v) != 1)
					goto fail;
				jp->p += 4;
				/* The engine escapes only control characters this way. */
				out[len++] = v < 0x80 ? (char)v : '?';
				break;
			}
			case '\0': goto fail;
			default: out[len++] = e; break;
			}
		} else {
			out[len++] = c;
		}
	}
	if (*jp->p != '"')
		goto fail;
	jp->p++;
	out[len] = '\0';
	return out;
fail:
	free(out);
	return NULL;
}

static struct jnode *parse_value(struct jparser *jp);

static struct jnode *parse_container(struct jparser *jp, struct jnode *n, char close)
{
	struct jnode **tail = &n->child;

	jp->p++;
	skip_ws(jp);
	if (*jp->p == close) {
		jp->p++;
		return n;
	}
	for (;;) {
		char *key = NULL;
		struct jnode *item;

		skip_ws(jp);
		if (close == '}') {
			if (!(key = parse_string(jp)))
				goto fail;
			skip_ws(jp);
			if (*jp->p != ':') { /* never step over the end */
				free(key);
				goto fail;
			}
			jp->p++;
		}
		if (!(item = parse_value(jp))) {
			free(key);
			goto fail;
		}
		item->key = key;
		*tail = item;
		tail = &item->next;
		skip_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			return n;
		}
		goto fail;
	}
fail:
	jfree(n);
	return NULL;
}

static struct jnode *parse_value(struct jparser *jp)
{
	struct jnode *n;

	if (++jp->depth > 32)
		return NULL;
	skip_ws(jp);
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	if (*jp->p == '{') {
		n->type = J_OBJECT;
		n = parse_container(jp, n, '}');
	} else if (*jp->p == '[') {
		n->type = J_ARRAY;
		n = parse_container(jp, n, ']');
	} else if (*jp->p == '"') {
		n->type = J_STRING;
		if (!(n->text = parse_string(jp))) {
			free(n);
			n = NULL;
		}
	} else if (!strncmp(jp->p, "true", 4) || !strncmp(jp->p, "false", 5)) {
		n->type = J_BOOL;
		n->text = strdup(*jp->p == 't' ? "true" : "false");
		jp->p += *jp->p == 't' ? 4 : 5;
	} else if (!strncmp(jp->p, "null", 4)) {
		n->type = J_NULL;
		jp->p += 4;
	} else if (*jp->p == '-' || (*jp->p >= '0' && *jp->p <= '9')) {
		const char *start = jp->p;
		while (*jp->p && strchr("+-0123456789.eE", *jp->p))
			jp->p++;
		n->type = J_NUMBER;
		n->text = strndup(start, (size_t)(jp->p - start));
	} else {
		free(n);
		n = NULL;
	}
	jp->depth--;
	return n;
}

struct jnode *member(const struct jnode *obj, const char *key)
{
	struct jnode *m;
	if (!obj || obj->type != J_OBJECT)
		return NULL;
	for (m = obj->child; m; m = m->next)
		if (m->key && !strcmp(m->key, key))
			return m;
	return NULL;
}

const char *text_of(const struct jnode *n)
{
	if (!n)
		return "-";
	if (n->type == J_NULL)
		return "-";
	return n->text ? n->text : "";
}

int json_is_true(const struct jnode *n)
{
	return n && n->type == J_BOOL && !strcmp(n->text, "true");
}

struct jnode *json_parse(const char *text)
{
	struct jparser jp = { .p = text };
	struct jnode *root = parse_value(&jp);

	if (!root)
		return NULL;
	skip_ws(&jp);
	if (*jp.p) { /* trailing garbage */
		jfree(root);
		return NULL;
	}
	return root;
}
