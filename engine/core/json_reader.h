/* A small JSON reader (tolkctl, tolk-verify, the clip cutter): enough for the
 * engine's replies and the archive manifest. */
#ifndef TOLK_JSON_READER_H
#define TOLK_JSON_READER_H

enum jtype { J_NULL, J_BOOL, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT };

struct jnode {
	enum jtype type;
	char *text;            /* string value, number text, or "true"/"false" */
	char *key;             /* member name inside an object */
	struct jnode *child;   /* first element or member */
	struct jnode *next;
};

/* The whole text as one value, or NULL when it is not JSON. */
struct jnode *json_parse(const char *text);
void jfree(struct jnode *n);
struct jnode *member(const struct jnode *obj, const char *key);
/* A scalar's text; "-" for null or a missing node. */
const char *text_of(const struct jnode *n);
/* A JSON true (a missing node is not). */
int json_is_true(const struct jnode *n);

#endif
