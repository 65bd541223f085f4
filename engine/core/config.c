#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "../../dsp/hearing_limits.h"

/* One load: the parsed document and where the first error goes. Only the
 * first error is reported, because later ones are usually its echoes. */
struct loader {
	yaml_document_t doc;
	const char *name;
	char *err;
	size_t errlen;
	struct config *cfg;
};

static int fail_at(struct loader *ld, size_t line, size_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail_at(struct loader *ld, size_t line, size_t col, const char *fmt, ...)
{
	char what[TOLK_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (ld->err && ld->errlen)
		snprintf(ld->err, ld->errlen, "%s:%zu:%zu: %s", ld->name, line, col, what);
	return -EINVAL;
}

/* libyaml marks are 0-based; people count from 1. */
#define fail(ld, node, ...) \
	fail_at((ld), (node)->start_mark.line + 1, (node)->start_mark.column + 1, __VA_ARGS__)

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return "a scalar";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

static yaml_node_t *node(struct loader *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static int expect(struct loader *ld, yaml_node_t *n, yaml_node_type_t type, const char *what)
{
	if (n->type == type)
		return 0;
	return fail(ld, n, "%s must be %s, not %s", what,
		    type == YAML_SCALAR_NODE ? "a scalar" :
		    type == YAML_SEQUENCE_NODE ? "a list" : "a mapping",
		    node_kind(n));
}

static int is_id(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	return 1;
}

static int copy_id(struct loader *ld, yaml_node_t *n, const char *what, char out[TOLK_ID_MAX])
{
	int err = expect(ld, n, YAML_SCALAR_NODE, what);
	if (err)
		return err;
	if (!is_id(scalar(n)))
		return fail(ld, n, "%s '%s' must match [a-z0-9-]+", what, scalar(n));
	if (strlen(scalar(n)) >= TOLK_ID_MAX)
		return fail(ld, n, "%s '%s' is longer than %d characters", what, scalar(n),
			    TOLK_ID_MAX - 1);
	strcpy(out, scalar(n));
	return 0;
}

/* A number in [min, max]. */
static int parse_number(struct loader *ld, yaml_node_t *n, const char *what, double min, double max,
			double *out)
{
	char *end;
	double v;
	int err = expect(ld, n, YAML_SCALAR_NODE, what);

	if (err)
		return err;
	errno = 0;
	v = strtod(scalar(n), &end);
	if (!*scalar(n) || *end || errno || v != v)
		return fail(ld, n, "%s '%s' is not a number", what, scalar(n));
	if (v < min || v > max)
		return fail(ld, n, "%s must be between %g and %g, not %s", what, min, max, scalar(n));
	*out = v;
	return 0;
}

/* One word out of a NULL-terminated list; *out gets its index. */
static int parse_choice(struct loader *ld, yaml_node_t *n, const char *what,
			const char *const *words, int *out)
{
	int err = expect(ld, n, YAML_SCALAR_NODE, what), i;

	if (err)
		return err;
	for (i = 0; words[i]; i++)
		if (!strcmp(scalar(n), words[i])) {
			*out = i;
			return 0;
		}
	{
		char list[256] = "";
		for (i = 0; words[i]; i++) {
			if (i)
				strncat(list, words[i + 1] ? ", " : " or ", sizeof list - strlen(list) - 1);
			strncat(list, words[i], sizeof list - strlen(list) - 1);
		}
		return fail(ld, n, "%s '%s' must be %s", what, scalar(n), list);
	}
}

/* ---- section tables --------------------------------------------------- */

/* A mapping's key and the function that takes its value. */
typedef int (*pair_fn)(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v,
		       void *base);

enum key_kind {
	KEY_NUMBER, /* double, in [min, max] */
	KEY_WHOLE,  /* int, a whole number in [min, max] */
	KEY_BOOL,   /* int: true, false, yes or no */
	KEY_TEXT,   /* char[size]: 1 to size - 1 bytes */
	KEY_CHOICE, /* int: the index of one of words (enum order) */
	KEY_OWN,    /* its own parser: lists, sub-mappings, cross-checks */
};

/* The reload diff compares every key but these: they apply at the next
 * start, and the diff says so on its own. */
#define KEY_AT_START 1u

/* One key of a section: how its value is read, where it goes (an offset
 * from the section's base), its range and its default. */
struct cfg_key {
	const char *key;
	enum key_kind kind;
	size_t offset;
	double min, max, def;        /* NUMBER, WHOLE; def also BOOL and CHOICE */
	size_t size;                 /* TEXT: the field's size */
	const char *text;            /* TEXT: the default */
	const char *const *words;    /* CHOICE */
	pair_fn parse;               /* OWN */
	/* OWN: equal for the reload diff (section bases); NULL compares
	 * `size` bytes at offset. */
	int (*equal)(const void *a, const void *b);
	unsigned flags;
	/* The top level: the section's table (its base at offset in struct
	 * config), and the stage it loads in (what it refers to comes first). */
	const struct cfg_table *sub;
	int stage;
};

/* A section of the config: its keys, in the order errors list them. */
struct cfg_table {
	const char *what;            /* as errors name it; NULL: the top level */
	const struct cfg_key *keys;
	size_t n;
};

#define TABLE(what, keys) { what, keys, sizeof keys / sizeof keys[0] }
#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)
#define NUMBER(k, type, field, lo, hi, d) { .key = k, .kind = KEY_NUMBER, .offset = offsetof(type, field), \
					    .min = lo, .max = hi, .def = d }
#define WHOLE(k, type, field, lo, hi, d) { .key = k, .kind = KEY_WHOLE, .offset = offsetof(type, field), \
					   .min = lo, .max = hi, .def = d }
#define BOOL(k, type, field, d) { .key = k, .kind = KEY_BOOL, .offset = offsetof(type, field), .def = d }
#define TEXT(k, type, field, d) { .key = k, .kind = KEY_TEXT, .offset = offsetof(type, field), \
				  .size = FIELD_SIZE(type, field), .text = d }
#define CHOICE(k, type, field, w, d) { .key = k, .kind = KEY_CHOICE, .offset = offsetof(type, field), \
				       .words = w, .def = d }
#define OWN(k, fn, eq) { .key = k, .kind = KEY_OWN, .parse = fn, .equal = eq }

static int parse_whole(struct loader *ld, yaml_node_t *n, const char *what, double min, double max, int *out)
{
	char *end;
	double v;
	int err = expect(ld, n, YAML_SCALAR_NODE, what);

	if (err)
		return err;
	errno = 0;
	v = strtod(scalar(n), &end);
	if (!*scalar(n) || *end || errno || v != v || v != (double)(long)v)
		return fail(ld, n, "%s '%s' is not a whole number", what, scalar(n));
	if (v < min || v > max)
		return fail(ld, n, "%s must be between %g and %g, not %s", what, min, max, scalar(n));
	*out = (int)v;
	return 0;
}

static int parse_bool(struct loader *ld, yaml_node_t *v, const char *what, int *out)
{
	static const char *const words[] = { "false", "true", "no", "yes", NULL };
	int err = parse_choice(ld, v, what, words, out);

	*out %= 2;
	return err;
}

static int scalar_into(struct loader *ld, yaml_node_t *v, const char *what, char *out, size_t len)
{
	int err;

	if ((err = expect(ld, v, YAML_SCALAR_NODE, what)))
		return err;
	if (!*scalar(v) || strlen(scalar(v)) >= len)
		return fail(ld, v, "%s must be 1 to %zu characters", what, len - 1);
	strcpy(out, scalar(v));
	return 0;
}

/* Every key's default into the section at base. */
static void table_defaults(const struct cfg_table *t, void *base)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct cfg_key *c = &t->keys[i];
		char *at = (char *)base + c->offset;
		switch (c->kind) {
		case KEY_NUMBER: *(double *)at = c->def; break;
		case KEY_WHOLE:
		case KEY_BOOL:
		case KEY_CHOICE: *(int *)at = (int)c->def; break;
		case KEY_TEXT: snprintf(at, c->size, "%s", c->text ? c->text : ""); break;
		case KEY_OWN: break;
		}
	}
}

/* One value into its field. */
static int table_value(struct loader *ld, const struct cfg_key *c, yaml_node_t *k, yaml_node_t *v, void *base)
{
	char *at = (char *)base + c->offset;

	switch (c->kind) {
	case KEY_NUMBER: return parse_number(ld, v, c->key, c->min, c->max, (double *)at);
	case KEY_WHOLE: return parse_whole(ld, v, c->key, c->min, c->max, (int *)at);
	case KEY_BOOL: return parse_bool(ld, v, c->key, (int *)at);
	case KEY_TEXT: return scalar_into(ld, v, c->key, at, c->size);
	case KEY_CHOICE: return parse_choice(ld, v, c->key, c->words, (int *)at);
	case KEY_OWN: return c->parse(ld, c->key, k, v, base);
	}
	return -EINVAL;
}

/* A mapping read through its table: a duplicate or unknown key is an
 * error at its place, naming the keys the section has. */
static int load_table(struct loader *ld, yaml_node_t *map, const struct cfg_table *t, void *base)
{
	yaml_node_pair_t *p, *q;
	int err = expect(ld, map, YAML_MAPPING_NODE, t->what ? t->what : "the configuration");

	if (err)
		return err;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		char list[512] = "";
		size_t i;

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a key")))
			return err;
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(ld, q->key)), scalar(k)))
				return fail(ld, k, "duplicate key '%s'%s%s", scalar(k), t->what ? " in " : "",
					    t->what ? t->what : "");
		for (i = 0; i < t->n && strcmp(t->keys[i].key, scalar(k)); i++)
			;
		if (i == t->n) {
			for (i = 0; i < t->n; i++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
					 t->keys[i].key);
			return fail(ld, k, "unknown key '%s'%s%s (expected one of: %s)", scalar(k),
				    t->what ? " in " : "", t->what ? t->what : "", list);
		}
		if (base && (err = table_value(ld, &t->keys[i], k, v, base)))
			return err;
	}
	return 0;
}

/* The same values in both sections, key by key (the reload diff). */
static int table_equal(const struct cfg_table *t, const void *a, const void *b)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct cfg_key *c = &t->keys[i];
		const char *x = (const char *)a + c->offset, *y = (const char *)b + c->offset;
		if (c->flags & KEY_AT_START)
			continue;
		switch (c->kind) {
		case KEY_NUMBER:
			if (*(const double *)x != *(const double *)y)
				return 0;
			break;
		case KEY_WHOLE:
		case KEY_BOOL:
		case KEY_CHOICE:
			if (*(const int *)x != *(const int *)y)
				return 0;
			break;
		case KEY_TEXT:
			if (strcmp(x, y))
				return 0;
			break;
		case KEY_OWN:
			if (c->equal ? !c->equal(a, b) : memcmp(x, y, c->size) != 0)
				return 0;
			break;
		}
	}
	return 1;
}

static yaml_node_t *find_key(struct loader *ld, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *p;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), key))
			return node(ld, p->value);
	}
	return NULL;
}

static int seq_len(const yaml_node_t *n)
{
	return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_at(struct loader *ld, yaml_node_t *n, int i)
{
	return node(ld, n->data.sequence.items.start[i]);
}

/* A list of ids, each unique within the list. */
static int load_id_list(struct loader *ld, yaml_node_t *n, const char *what, int min,
			char (**out)[TOLK_ID_MAX], int *count)
{
	int i, j, len, err;
	char (*ids)[TOLK_ID_MAX];

	if ((err = expect(ld, n, YAML_SEQUENCE_NODE, what)))
		return err;
	len = seq_len(n);
	if (len < min)
		return fail(ld, n, "%s needs at least %d entr%s", what, min, min == 1 ? "y" : "ies");
	ids = calloc(len ? (size_t)len : 1, sizeof *ids);
	if (!ids)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		yaml_node_t *item = seq_at(ld, n, i);
		if ((err = copy_id(ld, item, what, ids[i])))
			goto fail_free;
		for (j = 0; j < i; j++)
			if (!strcmp(ids[j], ids[i])) {
				err = fail(ld, item, "duplicate '%s' in %s", ids[i], what);
				goto fail_free;
			}
	}
	*out = ids;
	*count = len;
	return 0;

fail_free:
	free(ids);
	return err;
}

/* ---- inserts -------------------------------------------------------- */

static int is_plugin_word(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* An insert's name: commands address it, so it starts with a letter
 * (a number is a position) and has no spaces. */
static int is_insert_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z') || strlen(s) >= TOLK_ID_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return 0;
	return 1;
}

/* name: beside the plugin, unique among the chain's names so far. */
static int load_insert_name(struct loader *ld, yaml_node_t *v, struct cfg_chain *chain, struct cfg_insert *in)
{
	int err, i;

	if ((err = expect(ld, v, YAML_SCALAR_NODE, "an insert name")))
		return err;
	if (!is_insert_name(scalar(v)))
		return fail(ld, v, "insert name '%s' must match [a-z][a-z0-9_-]* (at most %d characters)", scalar(v),
			    TOLK_ID_MAX - 1);
	for (i = 0; chain->items + i != in; i++)
		if (!strcmp(chain->items[i].name, scalar(v)))
			return fail(ld, v, "insert name '%s' is taken in this chain (line %d)", scalar(v),
				    chain->items[i].line);
	strcpy(in->name, scalar(v));
	return 0;
}

static int is_param_word(const char *s)
{
	if (!*s || strlen(s) >= TOLK_PARAM_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

static int load_params(struct loader *ld, yaml_node_t *map, struct cfg_insert *in)
{
	yaml_node_pair_t *p, *q;
	int err;

	if (map->type == YAML_SCALAR_NODE && !*scalar(map))
		return 0; /* {gate: } or {gate: ~}: all defaults */
	if ((err = expect(ld, map, YAML_MAPPING_NODE, "plugin parameters")))
		return err;
	in->params = calloc((size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start) + 1,
			    sizeof *in->params);
	if (!in->params)
		return -ENOMEM;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		struct cfg_param *prm = &in->params[in->n_params];

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a parameter name")))
			return err;
		if (!is_param_word(scalar(k)))
			return fail(ld, k, "parameter name '%s' must match [A-Za-z0-9_]+", scalar(k));
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(ld, q->key)), scalar(k)))
				return fail(ld, k, "duplicate parameter '%s'", scalar(k));
		if ((err = parse_number(ld, v, scalar(k), -1e9, 1e9, &prm->value)))
			return err;
		strcpy(prm->name, scalar(k));
		prm->line = (int)k->start_mark.line + 1;
		prm->column = (int)k->start_mark.column + 1;
		in->n_params++;
	}
	return 0;
}

/* {lv2: {uri: "...", params: {...}}} */
static int load_lv2(struct loader *ld, yaml_node_t *v, struct cfg_insert *in)
{
	yaml_node_pair_t *p;
	int err, have_uri = 0;

	if ((err = expect(ld, v, YAML_MAPPING_NODE, "lv2")))
		return err;
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *val = node(ld, p->value);

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a key")))
			return err;
		if (!strcmp(scalar(k), "uri")) {
			if ((err = expect(ld, val, YAML_SCALAR_NODE, "uri")))
				return err;
			if (!strchr(scalar(val), ':'))
				return fail(ld, val, "lv2 uri '%s' is not a URI", scalar(val));
			free(in->uri);
			in->uri = strdup(scalar(val));
			if (!in->uri)
				return -ENOMEM;
			have_uri = 1;
		} else if (!strcmp(scalar(k), "params")) {
			if ((err = load_params(ld, val, in)))
				return err;
		} else {
			return fail(ld, k, "unknown key '%s' in lv2 (expected one of: uri, params)", scalar(k));
		}
	}
	if (!have_uri)
		return fail(ld, v, "lv2 needs a uri");
	return 0;
}

static int load_chain(struct loader *ld, yaml_node_t *n, const char *what, struct cfg_chain *chain)
{
	int i, err;

	if ((err = expect(ld, n, YAML_SEQUENCE_NODE, what)))
		return err;
	chain->set = 1;
	chain->items = calloc((size_t)seq_len(n) + 1, sizeof *chain->items);
	if (!chain->items)
		return -ENOMEM;
	for (i = 0; i < seq_len(n); i++) {
		yaml_node_t *item = seq_at(ld, n, i), *k, *v;
		struct cfg_insert *in = &chain->items[i];

		chain->n = i + 1;
		in->line = (int)item->start_mark.line + 1;
		in->column = (int)item->start_mark.column + 1;
		if (item->type == YAML_SCALAR_NODE && is_plugin_word(scalar(item))) {
			k = item; /* "- highpass": all defaults */
			v = NULL;
		} else {
			yaml_node_pair_t *p;

			if ((err = expect(ld, item, YAML_MAPPING_NODE, "an insert")))
				return err;
			/* {plugin: {parameters}}, and name: beside it if wanted */
			k = v = NULL;
			for (p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
				yaml_node_t *key = node(ld, p->key);
				if ((err = expect(ld, key, YAML_SCALAR_NODE, "a plugin name")))
					return err;
				if (!strcmp(scalar(key), "name")) {
					if ((err = load_insert_name(ld, node(ld, p->value), chain, in)))
						return err;
				} else if (k) {
					return fail(ld, key, "an insert is one plugin: {plugin: {parameters}, name: ...}");
				} else {
					k = key;
					v = node(ld, p->value);
				}
			}
			if (!k)
				return fail(ld, item, "an insert needs a plugin: {plugin: {parameters}, name: ...}");
		}
		if (!is_plugin_word(scalar(k)) || strlen(scalar(k)) >= TOLK_ID_MAX)
			return fail(ld, k, "plugin name '%s' must match [a-z0-9_]+", scalar(k));
		if (!strcmp(scalar(k), "hearing_limiter"))
			return fail(ld, k, "the hearing limiter is always last on every phones feed and cannot "
				    "be added or removed; set its levels under phones:");
		strcpy(in->plugin, scalar(k));
		if (!strcmp(in->plugin, "lv2")) {
			if (!v)
				return fail(ld, k, "lv2 needs a uri");
			if ((err = load_lv2(ld, v, in)))
				return err;
		} else if (v && (err = load_params(ld, v, in))) {
			return err;
		}
	}
	return 0;
}

/* Where a section's chains go: NULL where the section has none. */
struct chain_slots {
	struct cfg_chain *mics, *outputs, *phones;
};

static int inserts_chain(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct chain_slots *slots = base;
	struct cfg_chain *chain = !strcmp(key, "mics") ? slots->mics : !strcmp(key, "outputs") ? slots->outputs
											   : slots->phones;
	(void)k;
	return load_chain(ld, v, key, chain);
}

static const struct cfg_key room_insert_keys[] = {
	OWN("mics", inserts_chain, NULL), OWN("outputs", inserts_chain, NULL), OWN("phones", inserts_chain, NULL),
};
static const struct cfg_key booth_insert_keys[] = {
	OWN("mics", inserts_chain, NULL), OWN("phones", inserts_chain, NULL),
};
static const struct cfg_key language_insert_keys[] = { OWN("outputs", inserts_chain, NULL) };
static const struct cfg_table room_inserts = TABLE("inserts", room_insert_keys);
static const struct cfg_table booth_inserts = TABLE("booth inserts", booth_insert_keys);
static const struct cfg_table language_inserts = TABLE("language inserts", language_insert_keys);

static void free_chain(struct cfg_chain *c)
{
	int i;

	for (i = 0; c->items && i < c->n; i++) {
		free(c->items[i].uri);
		free(c->items[i].params);
	}
	free(c->items);
	memset(c, 0, sizeof *c);
}
const struct cfg_chain *config_mic_chain(const struct config *cfg, int booth)
{
	return cfg->booths[booth].mics.set ? &cfg->booths[booth].mics : &cfg->mic_inserts;
}
const struct cfg_chain *config_phones_chain(const struct config *cfg, int booth)
{
	return cfg->booths[booth].phones.set ? &cfg->booths[booth].phones : &cfg->phones_inserts;
}
const struct cfg_chain *config_output_chain(const struct config *cfg, int lang)
{
	return lang >= 0 && cfg->languages[lang].outputs.set ? &cfg->languages[lang].outputs : &cfg->output_inserts;
}

/* ---- floor ---------------------------------------------------------- */

static int floor_inputs(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;
	if (v->type == YAML_SEQUENCE_NODE && seq_len(v) > TOLK_FLOOR_INPUTS_MAX)
		return fail(ld, seq_at(ld, v, TOLK_FLOOR_INPUTS_MAX), "one floor input too many: at most %d",
			    TOLK_FLOOR_INPUTS_MAX);
	return load_id_list(ld, v, "floor inputs", 1, &cfg->floor_inputs, &cfg->n_floor_inputs);
}

static int floor_language(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;
	return copy_id(ld, v, "floor language", cfg->floor_language);
}

static const struct cfg_key floor_keys[] = {
	OWN("inputs", floor_inputs, NULL),
	OWN("language", floor_language, NULL),
};
static const struct cfg_table floor_table = TABLE("floor", floor_keys);

/* ---- languages ------------------------------------------------------ */

static int language_code(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_language *lang = base;
	int err;
	(void)key;
	(void)k;

	if ((err = copy_id(ld, v, "language code", lang->code)))
		return err;
	/* out_floor is taken by the original; a language may not shadow it */
	if (!strcmp(lang->code, "floor"))
		return fail(ld, v, "language code 'floor' is reserved for out_floor");
	return 0;
}

static int language_name(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_language *lang = base;
	int err;
	(void)k;

	if ((err = expect(ld, v, YAML_SCALAR_NODE, key)))
		return err;
	if (!*scalar(v))
		return fail(ld, v, "language name is empty");
	if (strlen(scalar(v)) >= TOLK_NAME_MAX)
		return fail(ld, v, "language name is longer than %d bytes", TOLK_NAME_MAX - 1);
	strcpy(lang->name, scalar(v));
	return 0;
}

static int language_inserts_of(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_language *lang = base;
	struct chain_slots slots = { .outputs = &lang->outputs };
	(void)key;
	(void)k;
	return load_table(ld, v, &language_inserts, &slots);
}

_Static_assert(sizeof(enum idle_policy) == sizeof(int) && sizeof(enum channel_mode) == sizeof(int) &&
	       sizeof(enum booth_mode) == sizeof(int), "a CHOICE key is stored as an int");
static const char *const idle_words[] = { "floor", "silence", "duck", NULL };      /* enum idle_policy */
static const char *const channel_mode_words[] = { "interlock", "override", NULL }; /* enum channel_mode */
static const char *const booth_mode_words[] = { "override", "interlock", NULL };   /* enum booth_mode */

static const struct cfg_key language_keys[] = {
	OWN("code", language_code, NULL),
	OWN("name", language_name, NULL),
	CHOICE("idle", struct cfg_language, idle, idle_words, IDLE_FLOOR),
	NUMBER("duck_db", struct cfg_language, duck_db, TOLK_GAIN_DB_MIN, 0.0, TOLK_DUCK_DB),
	CHOICE("channel_mode", struct cfg_language, channel_mode, channel_mode_words, CHANNEL_INTERLOCK),
	OWN("inserts", language_inserts_of, NULL),
};
static const struct cfg_table language_table = TABLE("language", language_keys);

static int load_languages(struct loader *ld, yaml_node_t *n)
{
	struct config *cfg = ld->cfg;
	int i, j, err;

	if ((err = expect(ld, n, YAML_SEQUENCE_NODE, "languages")))
		return err;
	if (seq_len(n) == 0)
		return fail(ld, n, "languages needs at least one entry");
	if (seq_len(n) > TOLK_LANGUAGES_MAX)
		return fail(ld, seq_at(ld, n, TOLK_LANGUAGES_MAX), "one language too many: a room has at most %d",
			    TOLK_LANGUAGES_MAX);
	cfg->languages = calloc((size_t)seq_len(n), sizeof *cfg->languages);
	if (!cfg->languages)
		return -ENOMEM;
	for (i = 0; i < seq_len(n); i++) {
		yaml_node_t *item = seq_at(ld, n, i);
		struct cfg_language *lang = &cfg->languages[i];

		cfg->n_languages = i + 1;
		table_defaults(&language_table, lang);
		if ((err = load_table(ld, item, &language_table, lang)))
			return err;
		if (!*lang->code)
			return fail(ld, item, "language has no code");
		if (!*lang->name)
			strcpy(lang->name, lang->code);
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->languages[j].code, lang->code))
				return fail(ld, find_key(ld, item, "code"), "duplicate language code '%s'",
					    lang->code);
	}
	return 0;
}

/* ---- booths --------------------------------------------------------- */

static int booth_id(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_booth *b = base;
	(void)key;
	(void)k;
	return copy_id(ld, v, "booth id", b->id);
}

static int booth_understands(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_booth *b = base;
	(void)key;
	(void)k;
	return load_id_list(ld, v, "understands", 0, &b->understands, &b->n_understands);
}

static int booth_inserts_of(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_booth *b = base;
	struct chain_slots slots = { .mics = &b->mics, .phones = &b->phones };
	(void)key;
	(void)k;
	return load_table(ld, v, &booth_inserts, &slots);
}

/* A, then B and C: languages of the room, each once. */
static int booth_outputs(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_booth *b = base;
	int i, j, err;
	(void)key;
	(void)k;

	if ((err = expect(ld, v, YAML_SEQUENCE_NODE, "outputs")))
		return err;
	if (seq_len(v) < 1 || seq_len(v) > TOLK_BOOTH_OUTPUTS)
		return fail(ld, v, "outputs needs 1 to %d languages (A, then B and C), not %d",
			    TOLK_BOOTH_OUTPUTS, seq_len(v));
	for (i = 0; i < seq_len(v); i++) {
		yaml_node_t *item = seq_at(ld, v, i);
		char code[TOLK_ID_MAX];
		int lang;

		if ((err = copy_id(ld, item, "booth output", code)))
			return err;
		lang = config_find_language(ld->cfg, code);
		if (lang < 0)
			return fail(ld, item, "booth output '%s' names no language", code);
		for (j = 0; j < i; j++)
			if (b->outputs[j] == lang)
				return fail(ld, item, "booth output '%s' is listed twice", code);
		b->outputs[i] = lang;
	}
	b->n_outputs = seq_len(v);
	return 0;
}

static const struct cfg_key booth_keys[] = {
	OWN("id", booth_id, NULL),
	OWN("outputs", booth_outputs, NULL),
	OWN("understands", booth_understands, NULL),
	WHOLE("consoles", struct cfg_booth, consoles, 1, TOLK_MAX_CONSOLES, 2),
	CHOICE("booth_mode", struct cfg_booth, booth_mode, booth_mode_words, BOOTH_OVERRIDE),
	OWN("inserts", booth_inserts_of, NULL),
};
static const struct cfg_table booth_table = TABLE("booth", booth_keys);


static int load_booths(struct loader *ld, yaml_node_t *n)
{
	struct config *cfg = ld->cfg;
	int i, j, err;

	if ((err = expect(ld, n, YAML_SEQUENCE_NODE, "booths")))
		return err;
	if (seq_len(n) > TOLK_BOOTHS_MAX)
		return fail(ld, seq_at(ld, n, TOLK_BOOTHS_MAX), "one booth too many: a room has at most %d",
			    TOLK_BOOTHS_MAX);
	cfg->booths = calloc(seq_len(n) ? (size_t)seq_len(n) : 1, sizeof *cfg->booths);
	if (!cfg->booths)
		return -ENOMEM;
	for (i = 0; i < seq_len(n); i++) {
		yaml_node_t *item = seq_at(ld, n, i);
		struct cfg_booth *b = &cfg->booths[i];

		cfg->n_booths = i + 1;
		table_defaults(&booth_table, b);
		if ((err = load_table(ld, item, &booth_table, b)))
			return err;
		if (!*b->id)
			return fail(ld, item, "booth has no id");
		if (!b->n_outputs)
			return fail(ld, item, "booth '%s' has no outputs", b->id);
		for (j = 0; j < i; j++)
			if (!strcmp(cfg->booths[j].id, b->id))
				return fail(ld, find_key(ld, item, "id"), "duplicate booth id '%s'", b->id);
		b->first_mic = cfg->n_mics;
		cfg->n_mics += b->consoles;
	}
	return 0;
}

/* ---- connect -------------------------------------------------------- */

static int add_connect(struct loader *ld, const char *port, yaml_node_t *other)
{
	struct config *cfg = ld->cfg;
	struct cfg_connect *c;
	int err;

	if ((err = expect(ld, other, YAML_SCALAR_NODE, "a connection target")))
		return err;
	if (!*scalar(other) || !strchr(scalar(other), ':'))
		return fail(ld, other, "connection target '%s' must be a full port name (client:port)",
			    scalar(other));
	c = realloc(cfg->connects, (size_t)(cfg->n_connects + 1) * sizeof *c);
	if (!c)
		return -ENOMEM;
	cfg->connects = c;
	c = &c[cfg->n_connects];
	memset(c, 0, sizeof *c);
	snprintf(c->port, sizeof c->port, "%s", port);
	c->other = strdup(scalar(other));
	if (!c->other)
		return -ENOMEM;
	c->line = (int)other->start_mark.line + 1;
	c->column = (int)other->start_mark.column + 1;
	cfg->n_connects++;
	return 0;
}
static int load_connect(struct loader *ld, yaml_node_t *n)
{
	yaml_node_pair_t *p, *q;
	int err, i, is_input, index;

	if ((err = expect(ld, n, YAML_MAPPING_NODE, "connect")))
		return err;
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a port name")))
			return err;
		for (q = n->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(ld, q->key)), scalar(k)))
				return fail(ld, k, "duplicate key '%s' in connect", scalar(k));
		if (config_find_port(ld->cfg, scalar(k), &is_input, &index) < 0)
			return fail(ld, k, "connect names '%s', which is not a tolk port", scalar(k));
		if (v->type == YAML_SEQUENCE_NODE) {
			for (i = 0; i < seq_len(v); i++)
				if ((err = add_connect(ld, scalar(k), seq_at(ld, v, i))))
					return err;
		} else if ((err = add_connect(ld, scalar(k), v))) {
			return err;
		}
	}
	return 0;
}

/* ---- phones --------------------------------------------------------- */

/* sidetone_db: a level, or off. */
static int phones_sidetone(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;

	if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "off")) {
		cfg->sidetone = 0;
		return 0;
	}
	cfg->sidetone = 1;
	return parse_number(ld, v, "sidetone_db", TOLK_GAIN_DB_MIN, 0.0, &cfg->sidetone_db);
}

static int sidetone_equal(const void *a, const void *b)
{
	const struct config *x = a, *y = b;
	return x->sidetone == y->sidetone && x->sidetone_db == y->sidetone_db;
}

/* The hearing limits are the hearing limiter's own parameters
 * (dsp/hearing_limits.h): the same names, ranges and defaults. */
#define HEARING_KEY(name, lo, hi, d, unit) NUMBER(#name, struct config, hearing.name, lo, hi, d),
static const struct cfg_key phones_keys[] = {
	OWN("sidetone_db", phones_sidetone, sidetone_equal),
	HEARING_LIMITS(HEARING_KEY)
};
static const struct cfg_table phones_table = TABLE("phones", phones_keys);

/* The levels must make sense together, or the protection is not what the
 * room believes it is. */
static int check_hearing(struct loader *ld, yaml_node_t *phones)
{
	const struct cfg_hearing *h = &ld->cfg->hearing;
	yaml_node_t *at = phones;

	if (h->ceiling_dbspl > h->dbspl_at_0dbfs)
		return fail(ld, at, "ceiling_dbspl %g is above dbspl_at_0dbfs %g: the headphones cannot play "
			    "that loud, so set the ceiling at or below the calibration", h->ceiling_dbspl,
			    h->dbspl_at_0dbfs);
	if (h->sustained_dbspl > h->ceiling_dbspl)
		return fail(ld, at, "sustained_dbspl %g is above ceiling_dbspl %g", h->sustained_dbspl,
			    h->ceiling_dbspl);
	if (h->average_dbspl > h->sustained_dbspl)
		return fail(ld, at, "average_dbspl %g is above sustained_dbspl %g", h->average_dbspl,
			    h->sustained_dbspl);
	if (h->warning_dbspl >= h->average_dbspl)
		return fail(ld, at, "warning_dbspl %g must be below average_dbspl %g", h->warning_dbspl,
			    h->average_dbspl);
	return 0;
}

/* ---- recording ------------------------------------------------------ */

/* channels: all, or a list of floor and language codes (recording and
 * stream alike). */
static int parse_channels(struct loader *ld, yaml_node_t *v, const char *what, int *all,
			  char (**list)[TOLK_ID_MAX], int *n)
{
	char label[40];
	int err, i, j;

	if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "all")) {
		*all = 1;
		return 0;
	}
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(ld, v, "channels must be all or a list of floor and language codes");
	*all = 0;
	snprintf(label, sizeof label, "%s channels", what);
	if ((err = load_id_list(ld, v, label, 1, list, n)))
		return err;
	for (i = 0; i < *n; i++)
		if (strcmp((*list)[i], "floor") && config_find_language(ld->cfg, (*list)[i]) < 0)
			for (j = 0; j < seq_len(v); j++)
				if (!strcmp(scalar(seq_at(ld, v, j)), (*list)[i]))
					return fail(ld, seq_at(ld, v, j), "%s channel '%s' is neither floor nor a language",
						    what, (*list)[i]);
	return 0;
}

static int recording_formats(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	static const char *const names[] = { "wav", "flac", "opus", NULL };
	struct cfg_recording *rec = base;
	int err, i;
	(void)key;
	(void)k;

	if ((err = expect(ld, v, YAML_SEQUENCE_NODE, "formats")))
		return err;
	if (seq_len(v) == 0)
		return fail(ld, v, "formats needs at least one of wav, flac, opus");
	rec->formats = 0;
	for (i = 0; i < seq_len(v); i++) {
		int f;
		if ((err = parse_choice(ld, seq_at(ld, v, i), "format", names, &f)))
			return err;
		if (rec->formats & (1u << f))
			return fail(ld, seq_at(ld, v, i), "format '%s' is listed twice", names[f]);
		rec->formats |= 1u << f;
	}
	return 0;
}

static int recording_channels(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_recording *rec = base;
	(void)key;
	(void)k;
	return parse_channels(ld, v, "recording", &rec->all_channels, &rec->channels, &rec->n_channels);
}

int config_ids_equal(const char (*a)[TOLK_ID_MAX], int na, const char (*b)[TOLK_ID_MAX], int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return 0;
	return 1;
}

static int recording_channels_equal(const void *a, const void *b)
{
	const struct cfg_recording *x = a, *y = b;
	return x->all_channels == y->all_channels && config_ids_equal((const char(*)[TOLK_ID_MAX])x->channels,
							       x->n_channels,
							       (const char(*)[TOLK_ID_MAX])y->channels, y->n_channels);
}

static const struct cfg_key recording_keys[] = {
	TEXT("dir", struct cfg_recording, dir, "recordings"),
	{ .key = "formats", .kind = KEY_OWN, .parse = recording_formats,
	  .offset = offsetof(struct cfg_recording, formats), .size = FIELD_SIZE(struct cfg_recording, formats) },
	WHOLE("opus_bitrate", struct cfg_recording, opus_bitrate, 6000, 256000, 32000),
	WHOLE("opus_complexity", struct cfg_recording, opus_complexity, 0, 10, RECORD_OPUS_COMPLEXITY),
	NUMBER("segment_minutes", struct cfg_recording, segment_minutes, 0.01, 24 * 60, 60),
	NUMBER("buffer_seconds", struct cfg_recording, buffer_seconds, 1, 120, 10),
	{ .key = "autostart", .kind = KEY_BOOL, .offset = offsetof(struct cfg_recording, autostart), .def = 1,
	  .flags = KEY_AT_START },
	OWN("channels", recording_channels, recording_channels_equal),
	BOOL("mics", struct cfg_recording, mics, 0),
	BOOL("loudness", struct cfg_recording, loudness, 1),
	{ .key = "signing_key", .kind = KEY_TEXT, .offset = offsetof(struct cfg_recording, signing_key),
	  .size = FIELD_SIZE(struct cfg_recording, signing_key), .text = "", .flags = KEY_AT_START },
};
static const struct cfg_table recording_table = TABLE("recording", recording_keys);

/* ---- stream (Icecast) -------------------------------------------------- */

static const struct cfg_key icecast_keys[] = {
	TEXT("host", struct cfg_stream, host, "127.0.0.1"),
	WHOLE("port", struct cfg_stream, port, 1, 65535, 8000),
	TEXT("user", struct cfg_stream, user, "source"),
	TEXT("password_file", struct cfg_stream, password_file, ""),
};
static const struct cfg_table icecast_table = TABLE("icecast", icecast_keys);

static int stream_icecast(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	(void)key;
	(void)k;
	return load_table(ld, v, &icecast_table, base);
}

static int icecast_equal(const void *a, const void *b)
{
	return table_equal(&icecast_table, a, b);
}

static int stream_mount_prefix(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_stream *st = base;
	const char *c;
	int err;
	(void)key;
	(void)k;

	if ((err = scalar_into(ld, v, "mount_prefix", st->mount_prefix, sizeof st->mount_prefix)))
		return err;
	for (c = st->mount_prefix; *c; c++)
		if (!(isalnum((unsigned char)*c) || strchr("/_-.", *c)))
			return fail(ld, v, "mount_prefix '%s' may hold only letters, digits, '/', '_', '-' and '.'",
				    st->mount_prefix);
	if (st->mount_prefix[0] != '/')
		return fail(ld, v, "mount_prefix '%s' must begin with '/'", st->mount_prefix);
	return 0;
}

/* enabled needs no key of its own in the diff: a stream section needs a
 * password_file, which the defaults (no stream) do not have. */
static int mount_prefix_equal(const void *a, const void *b)
{
	const struct cfg_stream *x = a, *y = b;
	return !strcmp(x->mount_prefix, y->mount_prefix);
}

static int stream_channels(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_stream *st = base;
	(void)key;
	(void)k;
	return parse_channels(ld, v, "stream", &st->all_channels, &st->channels, &st->n_channels);
}

static int stream_channels_equal(const void *a, const void *b)
{
	const struct cfg_stream *x = a, *y = b;
	return x->all_channels == y->all_channels && config_ids_equal((const char(*)[TOLK_ID_MAX])x->channels,
							       x->n_channels,
							       (const char(*)[TOLK_ID_MAX])y->channels, y->n_channels);
}

static const struct cfg_key stream_keys[] = {
	OWN("icecast", stream_icecast, icecast_equal),
	OWN("mount_prefix", stream_mount_prefix, mount_prefix_equal),
	OWN("channels", stream_channels, stream_channels_equal),
	WHOLE("bitrate", struct cfg_stream, bitrate, 6000, 256000, 32000),
	WHOLE("page_ms", struct cfg_stream, page_ms, 20, 1000, 100),
};
static const struct cfg_table stream_table = TABLE("stream", stream_keys);

/* ---- rtp (listening on phones, through Janus) ---------------------- */

static const struct cfg_key rtp_destination_keys[] = {
	TEXT("host", struct cfg_rtp_destination, host, ""),
	WHOLE("port_base", struct cfg_rtp_destination, port_base, 1024, 65534, 5002),
	WHOLE("ttl", struct cfg_rtp_destination, ttl, 1, 255, 1),
	TEXT("interface", struct cfg_rtp_destination, interface, ""),
};
static const struct cfg_table rtp_destination_table = TABLE("rtp destination", rtp_destination_keys);

/* A numeric address: the sender resolves nothing, so what the config says
 * is where the packets go, and a typo is caught here. */
static int rtp_host_ok(const char *h)
{
	int dots = 0, colons = 0;

	for (; *h; h++) {
		if (*h == '.')
			dots++;
		else if (*h == ':')
			colons++;
		else if (!isxdigit((unsigned char)*h))
			return 0;
	}
	return dots == 3 || colons >= 2;
}

static int rtp_destinations(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_rtp *r = base;
	int i, err;
	(void)key;
	(void)k;

	if ((err = expect(ld, v, YAML_SEQUENCE_NODE, "destinations")))
		return err;
	if (seq_len(v) < 1 || seq_len(v) > 16)
		return fail(ld, v, "destinations needs 1 to 16 entries ({ host, port_base })");
	free(r->destinations);
	r->destinations = calloc((size_t)seq_len(v), sizeof *r->destinations);
	if (!r->destinations)
		return -ENOMEM;
	for (i = 0; i < seq_len(v); i++) {
		yaml_node_t *d = seq_at(ld, v, i);
		struct cfg_rtp_destination *dst = &r->destinations[i];

		table_defaults(&rtp_destination_table, dst);
		r->n_destinations = i + 1;
		if ((err = load_table(ld, d, &rtp_destination_table, dst)))
			return err;
		if (!*dst->host)
			return fail(ld, d, "an rtp destination needs host (an IP address)");
		if (!rtp_host_ok(dst->host))
			return fail(ld, find_key(ld, d, "host"), "rtp host '%s' is not an IP address (names are not "
				    "resolved: the packets go exactly where the config says)", dst->host);
	}
	return 0;
}

static int rtp_destinations_equal(const void *a, const void *b)
{
	const struct cfg_rtp *x = a, *y = b;
	int i;

	if (x->n_destinations != y->n_destinations)
		return 0;
	for (i = 0; i < x->n_destinations; i++)
		if (!table_equal(&rtp_destination_table, &x->destinations[i], &y->destinations[i]))
			return 0;
	return 1;
}

static int rtp_channels(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_rtp *r = base;
	(void)key;
	(void)k;
	return parse_channels(ld, v, "rtp", &r->all_channels, &r->channels, &r->n_channels);
}

static int rtp_channels_equal(const void *a, const void *b)
{
	const struct cfg_rtp *x = a, *y = b;
	return x->all_channels == y->all_channels && config_ids_equal((const char(*)[TOLK_ID_MAX])x->channels,
							       x->n_channels,
							       (const char(*)[TOLK_ID_MAX])y->channels, y->n_channels);
}

static const struct cfg_key rtp_janus_keys[] = {
	WHOLE("id_base", struct cfg_rtp, janus_id_base, 1, 1000000000, 1),
	TEXT("url", struct cfg_rtp, janus_url, ""),
	TEXT("pin_file", struct cfg_rtp, janus_pin_file, ""),
	TEXT("secret_file", struct cfg_rtp, janus_secret_file, ""),
};
static const struct cfg_table rtp_janus_table = TABLE("janus", rtp_janus_keys);

static int rtp_janus(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_rtp *r = base;
	int err;
	(void)key;
	(void)k;

	if ((err = load_table(ld, v, &rtp_janus_table, base)))
		return err;
	if (*r->janus_url && strncmp(r->janus_url, "http://", 7) && strncmp(r->janus_url, "https://", 8) &&
	    strncmp(r->janus_url, "ws://", 5) && strncmp(r->janus_url, "wss://", 6) && r->janus_url[0] != '/')
		return fail(ld, find_key(ld, v, "url"), "janus url '%s' must begin with http://, https://, ws://, "
			    "wss:// or / (a path on this server's host)", r->janus_url);
	return 0;
}

static int rtp_janus_equal(const void *a, const void *b)
{
	return table_equal(&rtp_janus_table, a, b);
}

static const struct cfg_key rtp_keys[] = {
	OWN("destinations", rtp_destinations, rtp_destinations_equal),
	OWN("channels", rtp_channels, rtp_channels_equal),
	WHOLE("bitrate", struct cfg_rtp, bitrate, 6000, 256000, 48000),
	WHOLE("payload_type", struct cfg_rtp, payload_type, 96, 127, 111),
	OWN("janus", rtp_janus, rtp_janus_equal),
};
static const struct cfg_table rtp_table = TABLE("rtp", rtp_keys);

/* ---- control -------------------------------------------------------- */

static int control_list(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_control *c = base;
	struct cfg_principal **list = !strcmp(key, "technicians") ? &c->technicians : &c->observers;
	int *n = !strcmp(key, "technicians") ? &c->n_technicians : &c->n_observers;
	int i, err;
	(void)k;

	if ((err = expect(ld, v, YAML_SEQUENCE_NODE, key)))
		return err;
	*list = calloc(seq_len(v) ? (size_t)seq_len(v) : 1, sizeof **list);
	if (!*list)
		return -ENOMEM;
	for (i = 0; i < seq_len(v); i++) {
		yaml_node_t *item = seq_at(ld, v, i);
		struct cfg_principal *p = &(*list)[i];
		const char *name;

		if ((err = expect(ld, item, YAML_SCALAR_NODE, "a user or @group")))
			return err;
		name = scalar(item);
		p->is_group = name[0] == '@';
		name += p->is_group;
		if (!*name || strlen(name) >= sizeof p->name || strpbrk(name, " \t/:@"))
			return fail(ld, item, "'%s' is not a user name or @group", scalar(item));
		strcpy(p->name, name);
		p->line = (int)item->start_mark.line + 1;
		p->column = (int)item->start_mark.column + 1;
		*n = i + 1;
	}
	return 0;
}

static int principals_equal(const struct cfg_principal *a, int na, const struct cfg_principal *b, int nb)
{
	int i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].name, b[i].name) || a[i].is_group != b[i].is_group)
			return 0;
	return 1;
}

static int technicians_equal(const void *a, const void *b)
{
	const struct cfg_control *x = a, *y = b;
	return x->present == y->present &&
	       principals_equal(x->technicians, x->n_technicians, y->technicians, y->n_technicians);
}

static int observers_equal(const void *a, const void *b)
{
	const struct cfg_control *x = a, *y = b;
	return principals_equal(x->observers, x->n_observers, y->observers, y->n_observers);
}

static const struct cfg_key control_keys[] = {
	OWN("technicians", control_list, technicians_equal),
	OWN("observers", control_list, observers_equal),
};
static const struct cfg_table control_table = TABLE("control", control_keys);

/* ---- alarms --------------------------------------------------------- */

static const struct cfg_key alarm_keys[] = {
	NUMBER("live_silent_db", struct cfg_alarms, live_silent_db, -120, 0, -50),
	NUMBER("live_silent_seconds", struct cfg_alarms, live_silent_seconds, 0.1, 3600, 10),
	NUMBER("floor_silent_db", struct cfg_alarms, floor_silent_db, -120, 0, -50),
	NUMBER("floor_silent_seconds", struct cfg_alarms, floor_silent_seconds, 0.1, 3600, 30),
	NUMBER("clip_dbfs", struct cfg_alarms, clip_dbfs, -20, 0, -0.1),
	NUMBER("disk_low_minutes", struct cfg_alarms, disk_low_minutes, 0, 1e7, 10),
	NUMBER("clear_seconds", struct cfg_alarms, clear_seconds, 0.1, 600, 2),
	NUMBER("recording_behind_seconds", struct cfg_alarms, recording_behind_seconds, 0.2, 600, 3),
};
static const struct cfg_table alarms_table = TABLE("alarms", alarm_keys);

/* ---- osc ------------------------------------------------------------ */

static int osc_consoles(struct loader *ld, yaml_node_t *map)
{
	struct cfg_osc *o = &ld->cfg->osc;
	yaml_node_pair_t *p;
	int i, err;

	if ((err = expect(ld, map, YAML_MAPPING_NODE, "osc consoles")))
		return err;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		int b;

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a booth id")))
			return err;
		if ((b = config_find_booth(ld->cfg, scalar(k))) < 0)
			return fail(ld, k, "osc consoles names '%s', which is not a booth", scalar(k));
		if ((err = expect(ld, v, YAML_SEQUENCE_NODE, "the allowed addresses")))
			return err;
		for (i = 0; i < seq_len(v); i++) {
			yaml_node_t *a = seq_at(ld, v, i);
			struct cfg_osc_peer *more;
			if ((err = expect(ld, a, YAML_SCALAR_NODE, "an address")))
				return err;
			if (!*scalar(a) || strlen(scalar(a)) >= sizeof o->peers[0].address || strpbrk(scalar(a), " /"))
				return fail(ld, a, "'%s' is not a host address", scalar(a));
			more = realloc(o->peers, (size_t)(o->n_peers + 1) * sizeof *more);
			if (!more)
				return -ENOMEM;
			o->peers = more;
			o->peers[o->n_peers].booth = b;
			strcpy(o->peers[o->n_peers].address, scalar(a));
			o->n_peers++;
		}
	}
	return 0;
}
/* listen: "host:port" or "port"; the host defaults to loopback. */
static int parse_listen(struct loader *ld, yaml_node_t *v, char *host, size_t hostlen, char *port_out,
			size_t portlen)
{
	const char *colon, *port;
	char *end;
	long n;
	int err;

	if ((err = expect(ld, v, YAML_SCALAR_NODE, "listen")))
		return err;
	colon = strrchr(scalar(v), ':');
	port = colon ? colon + 1 : scalar(v);
	n = strtol(port, &end, 10);
	if (!*port || *end || n < 1 || n > 65535)
		return fail(ld, v, "listen '%s' must be host:port or a port (1-65535)", scalar(v));
	if (colon && ((size_t)(colon - scalar(v)) >= hostlen || colon == scalar(v)))
		return fail(ld, v, "listen '%s' has no usable host", scalar(v));
	snprintf(host, hostlen, "%.*s", colon ? (int)(colon - scalar(v)) : 9, colon ? scalar(v) : "127.0.0.1");
	snprintf(port_out, portlen, "%ld", n);
	return 0;
}

/* listen turns the section on: osc and web alike. */
static int listen_on(struct loader *ld, yaml_node_t *v, int *enabled, char *host, size_t hostlen, char *port,
		     size_t portlen)
{
	int err = parse_listen(ld, v, host, hostlen, port, portlen);

	*enabled = !err;
	return err;
}

static int osc_listen(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_osc *o = base;
	(void)key;
	(void)k;
	return listen_on(ld, v, &o->enabled, o->host, sizeof o->host, o->port, sizeof o->port);
}

static int osc_consoles_key(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	(void)key;
	(void)k;
	(void)base;
	return osc_consoles(ld, v);
}

/* The reload diff compares OSC with config_osc_equal: its peers are
 * booths, compared by id across the two rooms. */
static const struct cfg_key osc_keys[] = {
	OWN("listen", osc_listen, NULL),
	OWN("consoles", osc_consoles_key, NULL),
};
static const struct cfg_table osc_table = TABLE("osc", osc_keys);

/* ---- web ------------------------------------------------------------ */

static int web_token(struct loader *ld, yaml_node_t *v, const char *role, char *out, size_t len)
{
	const char *t;
	int err;

	if ((err = expect(ld, v, YAML_SCALAR_NODE, "a token")))
		return err;
	t = scalar(v);
	if (strlen(t) < 16 || strlen(t) >= len)
		return fail(ld, v, "the %s token must be 16 to %zu characters", role, len - 1);
	for (; *t; t++)
		if (*t <= ' ' || *t > '~' || *t == ';' || *t == ',' || *t == '"' || *t == '\\')
			return fail(ld, v, "the %s token may hold only printable ASCII, without spaces, ';', ',', "
				    "'\"' or '\\'", role);
	strcpy(out, scalar(v));
	return 0;
}

static int web_token_key(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_web *w = base;
	(void)k;
	if (!strcmp(key, "technician"))
		return web_token(ld, v, key, w->technician, sizeof w->technician);
	if (!strcmp(key, "metrics"))
		return web_token(ld, v, key, w->metrics, sizeof w->metrics);
	if (!strcmp(key, "listener"))
		return web_token(ld, v, key, w->listener, sizeof w->listener);
	return web_token(ld, v, key, w->observer, sizeof w->observer);
}

/* tokens.booths: { <booth>: <token> }: an interpreter's token, good for
 * its own booth's consoles only. */
static int web_booth_tokens(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_web *w = base;
	const struct config *cfg = ld->cfg;
	yaml_node_pair_t *p, *q;
	int err;
	(void)key;
	(void)k;

	if ((err = expect(ld, v, YAML_MAPPING_NODE, "booths")))
		return err;
	free(w->booth_tokens);
	w->booth_tokens = calloc((size_t)cfg->n_booths + 1, sizeof *w->booth_tokens);
	if (!w->booth_tokens)
		return -ENOMEM;
	w->n_booth_tokens = cfg->n_booths;
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		yaml_node_t *bk = node(ld, p->key), *bv = node(ld, p->value);
		char role[TOLK_ID_MAX + 16];
		int b;

		if ((err = expect(ld, bk, YAML_SCALAR_NODE, "a booth id")))
			return err;
		if ((b = config_find_booth(cfg, scalar(bk))) < 0)
			return fail(ld, bk, "tokens.booths names '%s', which is not a booth", scalar(bk));
		for (q = v->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(ld, q->key)), scalar(bk)))
				return fail(ld, bk, "duplicate key '%s' in tokens.booths", scalar(bk));
		snprintf(role, sizeof role, "booth %s", scalar(bk));
		if ((err = web_token(ld, bv, role, w->booth_tokens[b], sizeof w->booth_tokens[b])))
			return err;
	}
	return 0;
}

static int tokens_equal(const void *a, const void *b)
{
	const struct cfg_web *x = a, *y = b;
	int i;

	if (strcmp(x->technician, y->technician) || strcmp(x->observer, y->observer) ||
	    strcmp(x->metrics, y->metrics) || strcmp(x->listener, y->listener) || x->n_booth_tokens != y->n_booth_tokens)
		return 0;
	for (i = 0; i < x->n_booth_tokens; i++)
		if (strcmp(x->booth_tokens[i], y->booth_tokens[i]))
			return 0;
	return 1;
}

static const struct cfg_key token_keys[] = {
	OWN("technician", web_token_key, NULL),
	OWN("observer", web_token_key, NULL),
	OWN("metrics", web_token_key, NULL),
	OWN("listener", web_token_key, NULL),
	OWN("booths", web_booth_tokens, NULL),
};
static const struct cfg_table tokens_table = TABLE("tokens", token_keys);

static int web_listen(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_web *w = base;
	(void)key;
	(void)k;
	return listen_on(ld, v, &w->enabled, w->host, sizeof w->host, w->port, sizeof w->port);
}

static int listen_equal(const void *a, const void *b)
{
	const struct cfg_web *x = a, *y = b;
	return x->enabled == y->enabled && !strcmp(x->host, y->host) && !strcmp(x->port, y->port);
}

static int web_tokens(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	(void)key;
	(void)k;
	return load_table(ld, v, &tokens_table, base);
}

static const struct cfg_key tls_keys[] = {
	TEXT("cert_file", struct cfg_web, tls_cert_file, ""),
	TEXT("key_file", struct cfg_web, tls_key_file, ""),
};
static const struct cfg_table tls_table = TABLE("tls", tls_keys);

/* tls: { cert_file, key_file }: both, or no TLS. */
static int web_tls(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_web *w = base;
	int err;
	(void)key;
	(void)k;

	if ((err = load_table(ld, v, &tls_table, base)))
		return err;
	if (!*w->tls_cert_file || !*w->tls_key_file)
		return fail(ld, v, "tls needs both cert_file and key_file (PEM files)");
	return 0;
}

static int tls_equal(const void *a, const void *b)
{
	return table_equal(&tls_table, a, b);
}

/* listen_page: token (web.tokens.listener, or the control room's) or
 * open (anyone who reaches the server: the listener network's own page). */
static const char *const listen_page_words[] = { "token", "open", NULL };

static const struct cfg_key web_keys[] = {
	OWN("listen", web_listen, listen_equal),
	OWN("tokens", web_tokens, tokens_equal),
	OWN("tls", web_tls, tls_equal),
	CHOICE("listen_page", struct cfg_web, listen_open, listen_page_words, 0),
};
static const struct cfg_table web_table = TABLE("web", web_keys);

/* ---- consoles ------------------------------------------------------- */

static const struct cfg_key consoles_keys[] = {
	NUMBER("shift_minutes", struct cfg_consoles, shift_minutes, 1, 600, 30),
};
static const struct cfg_table consoles_table = TABLE("consoles", consoles_keys);

/* ---- incidents -------------------------------------------------------- */

const char *const config_alarm_kinds[] = { "jack-down", "live-silent", "both-open", "floor-silent", "clipping",
					   "no-pivot", "xrun", "recording-drop", "recording-failed",
					   "recording-behind", "disk-low", "stream-down", "rtp-send", NULL };

/* auto: [jack-down, recording-drop, ...]: each an alarm kind, once. */
static int incidents_auto(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_incidents *in = base;
	int err, i, j, kind;
	(void)key;
	(void)k;

	if ((err = expect(ld, v, YAML_SEQUENCE_NODE, "auto")))
		return err;
	if (seq_len(v) > INCIDENT_AUTO_MAX)
		return fail(ld, v, "auto lists at most %d alarm kinds", INCIDENT_AUTO_MAX);
	in->n_auto = 0;
	for (i = 0; i < seq_len(v); i++) {
		yaml_node_t *n = seq_at(ld, v, i);
		if ((err = parse_choice(ld, n, "alarm kind", config_alarm_kinds, &kind)))
			return err;
		for (j = 0; j < in->n_auto; j++)
			if (!strcmp(in->auto_kinds[j], config_alarm_kinds[kind]))
				return fail(ld, n, "alarm kind '%s' is listed twice", config_alarm_kinds[kind]);
		snprintf(in->auto_kinds[in->n_auto++], sizeof in->auto_kinds[0], "%s", config_alarm_kinds[kind]);
	}
	return 0;
}

static int incidents_auto_equal(const void *a, const void *b)
{
	const struct cfg_incidents *x = a, *y = b;
	int i;

	if (x->n_auto != y->n_auto)
		return 0;
	for (i = 0; i < x->n_auto; i++)
		if (strcmp(x->auto_kinds[i], y->auto_kinds[i]))
			return 0;
	return 1;
}

static const struct cfg_key incidents_keys[] = {
	NUMBER("pre_seconds", struct cfg_incidents, pre_seconds, 0, 120, 30),
	NUMBER("post_seconds", struct cfg_incidents, post_seconds, 0, 60, 10),
	BOOL("audio", struct cfg_incidents, audio, 1),
	TEXT("command", struct cfg_incidents, command, ""),
	OWN("auto", incidents_auto, incidents_auto_equal),
};
static const struct cfg_table incidents_table = TABLE("incidents", incidents_keys);

/* ---- midi ------------------------------------------------------------ */

/* consoles: all, or a list of "<booth>/<n>". */
static int midi_consoles(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	struct cfg_midi *m = base;
	const struct config *cfg = ld->cfg;
	int i, j, err;
	(void)key;
	(void)k;

	if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "all")) {
		m->all = 1;
		return 0;
	}
	if (v->type != YAML_SEQUENCE_NODE)
		return fail(ld, v, "midi consoles must be all or a list like [fr/1, fr/2]");
	m->all = 0;
	free(m->mics);
	m->mics = calloc((size_t)seq_len(v) + 1, sizeof *m->mics);
	if (!m->mics)
		return -ENOMEM;
	for (i = 0; i < seq_len(v); i++) {
		yaml_node_t *item = seq_at(ld, v, i);
		char booth[TOLK_ID_MAX];
		const char *slash;
		int b, n;

		if ((err = expect(ld, item, YAML_SCALAR_NODE, "a console (booth/n)")))
			return err;
		slash = strchr(scalar(item), '/');
		snprintf(booth, sizeof booth, "%.*s", slash ? (int)(slash - scalar(item)) : 0, scalar(item));
		b = slash ? config_find_booth(cfg, booth) : -1;
		n = slash ? atoi(slash + 1) : 0;
		if (b < 0 || n < 1 || n > cfg->booths[b].consoles)
			return fail(ld, item, "midi console '%s' is not a console of this room (booth/n)", scalar(item));
		m->mics[i] = cfg->booths[b].first_mic + n - 1;
		for (j = 0; j < i; j++)
			if (m->mics[j] == m->mics[i])
				return fail(ld, item, "midi console '%s' is listed twice", scalar(item));
		m->n_mics = i + 1;
	}
	return 0;
}

static int midi_consoles_equal(const void *a, const void *b)
{
	const struct cfg_midi *x = a, *y = b;
	return x->enabled == y->enabled && x->all == y->all && x->n_mics == y->n_mics &&
	       !memcmp(x->mics, y->mics, (size_t)x->n_mics * sizeof *x->mics);
}

static const struct cfg_key midi_map_keys[] = {
	WHOLE("mic", struct cfg_midi_map, mic, 0, 127, 60),
	WHOLE("cough", struct cfg_midi_map, cough, 0, 127, 61),
	WHOLE("output_a", struct cfg_midi_map, output_a, 0, 127, 62),
	WHOLE("output_b", struct cfg_midi_map, output_b, 0, 127, 63),
	WHOLE("output_c", struct cfg_midi_map, output_c, 0, 127, 64),
	WHOLE("handover", struct cfg_midi_map, handover, 0, 127, 65),
	WHOLE("slower", struct cfg_midi_map, slower, 0, 127, 66),
	WHOLE("help", struct cfg_midi_map, help, 0, 127, 67),
	WHOLE("problem", struct cfg_midi_map, problem, 0, 127, 68),
	WHOLE("volume_cc", struct cfg_midi_map, volume_cc, 0, 127, 7),
};
static const struct cfg_table midi_map_table = TABLE("midi map", midi_map_keys);

static int midi_map(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *base)
{
	(void)key;
	(void)k;
	return load_table(ld, v, &midi_map_table, &((struct cfg_midi *)base)->map);
}

static int midi_map_equal(const void *a, const void *b)
{
	return table_equal(&midi_map_table, &((const struct cfg_midi *)a)->map, &((const struct cfg_midi *)b)->map);
}

static const struct cfg_key midi_keys[] = {
	OWN("consoles", midi_consoles, midi_consoles_equal),
	OWN("map", midi_map, midi_map_equal),
};
static const struct cfg_table midi_table = TABLE("midi", midi_keys);

/* ---- top level ------------------------------------------------------ */

/* Each section's loader takes its node, or NULL when the room leaves the
 * section out (its defaults then stand). */

static int root_meeting(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	int err;
	(void)k;

	if (!n)
		return fail(ld, k, "missing key '%s'", key);
	if ((err = expect(ld, n, YAML_SCALAR_NODE, "meeting")))
		return err;
	if (!config_meeting_chars_ok(scalar(n)))
		return fail(ld, n, "meeting '%s' may hold only letters, digits, '-', '_' and '.' "
			    "(not first)", scalar(n));
	if (!config_meeting_ok(scalar(n)))
		return fail(ld, n, "meeting must be 1 to %zu characters", sizeof cfg->meeting - 1);
	strcpy(cfg->meeting, scalar(n));
	return 0;
}

/* room: the room's name for the metrics and the incidents. Without it,
 * the config file's name without its extension (council.yaml: council),
 * as systemd's tolk@council.service reads /etc/tolk/council.yaml. */
static int root_room(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	const char *slash = strrchr(ld->name, '/'), *file = slash ? slash + 1 : ld->name, *dot;
	int err;
	(void)key;
	(void)k;

	if (!n) {
		dot = strchr(file, '.');
		snprintf(cfg->room, sizeof cfg->room, "%.*s", (int)(dot ? dot - file : (ptrdiff_t)strlen(file)), file);
		if (!config_meeting_ok(cfg->room))
			snprintf(cfg->room, sizeof cfg->room, "tolk");
		return 0;
	}
	if ((err = expect(ld, n, YAML_SCALAR_NODE, "room")))
		return err;
	if (!config_meeting_ok(scalar(n)))
		return fail(ld, n, "room '%s' must be 1 to %zu letters, digits, '-', '_' and '.' (not first)",
			    scalar(n), sizeof cfg->room - 1);
	strcpy(cfg->room, scalar(n));
	return 0;
}

static int root_languages(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	(void)base;
	return n ? load_languages(ld, n) : fail(ld, k, "missing key '%s'", key);
}

static int root_floor(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	int err;

	if (!n)
		return fail(ld, k, "missing key '%s'", key);
	if ((err = load_table(ld, n, &floor_table, cfg)))
		return err;
	if (!cfg->n_floor_inputs)
		return fail(ld, n, "floor has no inputs");
	if (!*cfg->floor_language)
		strcpy(cfg->floor_language, cfg->languages[0].code);
	return 0;
}

static int root_booths(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	(void)key;
	(void)k;
	(void)base;
	return n ? load_booths(ld, n) : 0;
}

static int root_connect(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	(void)key;
	(void)k;
	(void)base;
	return n ? load_connect(ld, n) : 0;
}

static int root_inserts(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	struct chain_slots slots = { .mics = &cfg->mic_inserts, .outputs = &cfg->output_inserts,
				     .phones = &cfg->phones_inserts };
	(void)key;
	(void)k;
	return n ? load_table(ld, n, &room_inserts, &slots) : 0;
}

static int root_phones(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	int err;
	(void)key;
	(void)k;

	table_defaults(&phones_table, cfg);
	if (n && ((err = load_table(ld, n, &phones_table, cfg)) || (err = check_hearing(ld, n))))
		return err;
	return 0;
}

static int root_recording(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;

	/* The archive is on unless the room says otherwise: every channel, in
	 * FLAC and Opus. */
	cfg->recording.formats = RECORD_FLAC | RECORD_OPUS;
	cfg->recording.all_channels = 1;
	table_defaults(&recording_table, &cfg->recording);
	return n ? load_table(ld, n, &recording_table, &cfg->recording) : 0;
}

static int root_alarms(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;
	table_defaults(&alarms_table, &cfg->alarms);
	return n ? load_table(ld, n, &alarms_table, &cfg->alarms) : 0;
}

/* Streams are encoded from the recording's rings: every streamed channel
 * must be recorded. */
static int stream_is_recorded(struct loader *ld, yaml_node_t *n)
{
	const struct config *cfg = ld->cfg;
	const struct cfg_stream *st = &cfg->stream;
	int i, j, n_want = st->all_channels ? 1 + cfg->n_languages : st->n_channels;

	if (cfg->recording.all_channels)
		return 0;
	for (i = 0; i < n_want; i++) {
		const char *want = st->all_channels ? (i ? cfg->languages[i - 1].code : "floor") : st->channels[i];
		for (j = 0; j < cfg->recording.n_channels && strcmp(cfg->recording.channels[j], want); j++)
			;
		if (j == cfg->recording.n_channels)
			return fail(ld, n, "stream channel '%s' must be recorded too (recording.channels): "
				    "streams are encoded from the recording's buffers", want);
	}
	return 0;
}

static int root_stream(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct cfg_stream *st = &((struct config *)base)->stream;
	int err;
	(void)key;
	(void)k;

	st->all_channels = 1;
	table_defaults(&stream_table, st);
	table_defaults(&icecast_table, st);
	if (!n)
		return 0;
	if ((err = load_table(ld, n, &stream_table, st)))
		return err;
	if (!*st->password_file)
		return fail(ld, n, "stream needs icecast.password_file (the password is never written in "
			    "the config or on a command line)");
	if ((err = stream_is_recorded(ld, n)))
		return err;
	st->enabled = 1;
	return 0;
}

/* One token, one role: a token given twice would give its holder the
 * stronger role without anyone deciding it. */
static int web_tokens_distinct(struct loader *ld, yaml_node_t *n, const struct cfg_web *w)
{
	const char *all[4 + TOLK_BOOTHS_MAX];
	int i, j, k = 0;

	all[k++] = w->technician;
	all[k++] = w->observer;
	all[k++] = w->metrics;
	all[k++] = w->listener;
	for (i = 0; i < w->n_booth_tokens && k < (int)(sizeof all / sizeof all[0]); i++)
		all[k++] = w->booth_tokens[i];
	for (i = 0; i < k; i++)
		for (j = 0; j < i; j++)
			if (*all[i] && !strcmp(all[i], all[j]))
				return fail(ld, n, "web: the same token is given for two roles; each role (and each "
					    "booth) needs its own");
	return 0;
}

/* Channel k of the list on port_base + 2(k - 1): every port must exist. */
static int root_rtp(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	struct cfg_rtp *r = &cfg->rtp;
	int err, i, n_ch;
	(void)key;
	(void)k;

	r->all_channels = 1;
	table_defaults(&rtp_table, r);
	table_defaults(&rtp_janus_table, r);
	if (!n)
		return 0;
	if ((err = load_table(ld, n, &rtp_table, r)))
		return err;
	if (!r->n_destinations)
		return fail(ld, n, "rtp needs destinations: [{ host: 127.0.0.1, port_base: 5002 }]");
	n_ch = r->all_channels ? 1 + cfg->n_languages : r->n_channels;
	for (i = 0; i < r->n_destinations; i++)
		if (r->destinations[i].port_base + 2 * (n_ch - 1) > 65535)
			return fail(ld, find_key(ld, n, "destinations"), "rtp destination %d: port_base %d leaves no "
				    "port for channel %d (port_base + 2(k - 1) must stay below 65536)", i + 1,
				    r->destinations[i].port_base, n_ch);
	r->enabled = 1;
	return 0;
}

static int root_consoles(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;
	table_defaults(&consoles_table, &cfg->consoles);
	return n ? load_table(ld, n, &consoles_table, &cfg->consoles) : 0;
}

static int root_incidents(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	int err;
	(void)key;
	(void)k;

	table_defaults(&incidents_table, &cfg->incidents);
	if (!n)
		return 0;
	if ((err = load_table(ld, n, &incidents_table, &cfg->incidents)))
		return err;
	if (*cfg->incidents.command && cfg->incidents.command[0] != '/')
		return fail(ld, find_key(ld, n, "command"), "incidents.command must be an absolute path, not '%s'",
			    cfg->incidents.command);
	return 0;
}

static int root_midi(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct cfg_midi *m = &((struct config *)base)->midi;
	const struct cfg_midi_map *map = &m->map;
	size_t i, j;
	int err;
	(void)key;
	(void)k;

	table_defaults(&midi_map_table, &m->map);
	m->all = 1;
	if (!n)
		return 0;
	if ((err = load_table(ld, n, &midi_table, m)))
		return err;
	/* One note, one function: a button must not do two things. */
	const int notes[] = { map->mic, map->cough, map->output_a, map->output_b, map->output_c, map->handover,
			      map->slower, map->help, map->problem };
	for (i = 0; i < sizeof notes / sizeof notes[0]; i++)
		for (j = 0; j < i; j++)
			if (notes[i] == notes[j])
				return fail(ld, n, "midi map gives note %d two functions", notes[i]);
	m->enabled = 1;
	return 0;
}

static int root_web(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	int err;
	(void)key;
	(void)k;

	if (!n)
		return 0;
	if ((err = load_table(ld, n, &web_table, &cfg->web)))
		return err;
	if (!cfg->web.enabled)
		return fail(ld, n, "web needs listen (\"127.0.0.1:8080\", or a port)");
	return web_tokens_distinct(ld, n, &cfg->web);
}

static int root_osc(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;
	return n ? load_table(ld, n, &osc_table, &cfg->osc) : 0;
}

static int root_control(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *n, void *base)
{
	struct config *cfg = base;
	(void)key;
	(void)k;

	if (!n)
		return 0;
	cfg->control.present = 1;
	return load_table(ld, n, &control_table, &cfg->control);
}

/* The top level: every section in the order errors list them, with its
 * table (for the reload diff) and its stage: languages before the floor
 * and booths that name them, booths before connect and osc, recording
 * before the streams that ride on it. A new key is a row here (or in a
 * section's table) and its parser. */
#define SECTION(k, fn, table, field, st) { .key = k, .kind = KEY_OWN, .parse = fn, .sub = table, \
					   .offset = offsetof(struct config, field), .stage = st }
static const struct cfg_key root_keys[] = {
	{ .key = "meeting", .kind = KEY_OWN, .parse = root_meeting, .stage = 0 },
	{ .key = "room", .kind = KEY_OWN, .parse = root_room, .stage = 0 },
	{ .key = "floor", .kind = KEY_OWN, .parse = root_floor, .stage = 1 },
	{ .key = "languages", .kind = KEY_OWN, .parse = root_languages, .stage = 0 },
	{ .key = "booths", .kind = KEY_OWN, .parse = root_booths, .stage = 1 },
	{ .key = "connect", .kind = KEY_OWN, .parse = root_connect, .stage = 2 },
	/* The phones keys live across struct config (hearing, sidetone): base 0. */
	{ .key = "phones", .kind = KEY_OWN, .parse = root_phones, .sub = &phones_table, .offset = 0, .stage = 3 },
	{ .key = "inserts", .kind = KEY_OWN, .parse = root_inserts, .stage = 3 },
	SECTION("recording", root_recording, &recording_table, recording, 3),
	SECTION("control", root_control, &control_table, control, 3),
	SECTION("alarms", root_alarms, &alarms_table, alarms, 3),
	{ .key = "osc", .kind = KEY_OWN, .parse = root_osc, .stage = 3 }, /* compared by config_osc_equal */
	SECTION("web", root_web, &web_table, web, 3),
	SECTION("stream", root_stream, &stream_table, stream, 4),
	SECTION("rtp", root_rtp, &rtp_table, rtp, 3),
	SECTION("consoles", root_consoles, &consoles_table, consoles, 3),
	SECTION("midi", root_midi, &midi_table, midi, 3),
	SECTION("incidents", root_incidents, &incidents_table, incidents, 3),
};
static const struct cfg_table root_table = TABLE(NULL, root_keys);
#define ROOT_STAGES 5

static int load_root(struct loader *ld, yaml_node_t *root)
{
	size_t i;
	int stage, err;

	/* Every key first, so that a typo is reported as such. */
	if ((err = load_table(ld, root, &root_table, NULL)))
		return err;
	for (stage = 0; stage < ROOT_STAGES; stage++)
		for (i = 0; i < root_table.n; i++) {
			const struct cfg_key *row = &root_table.keys[i];
			if (row->stage == stage &&
			    (err = row->parse(ld, row->key, root, find_key(ld, root, row->key), ld->cfg)))
				return err;
		}
	return 0;
}

int config_section_equal(const struct config *a, const struct config *b, const char *section)
{
	size_t i;

	for (i = 0; i < root_table.n; i++) {
		const struct cfg_key *row = &root_table.keys[i];
		if (row->sub && !strcmp(row->key, section))
			return table_equal(row->sub, (const char *)a + row->offset, (const char *)b + row->offset);
	}
	return 0; /* no such table: never the same, so the diff says it changed */
}

/* Before the document is built: a file too big, or nested deeper than any
 * room needs, is refused at the place it goes too far. libyaml's loader
 * takes time and memory that grow faster than the nesting. */
static int check_shape(struct loader *ld, const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int depth = 0, ret = 0, done = 0, nodes = 0;

	if (len > TOLK_CONFIG_BYTES_MAX) {
		size_t line = 1, col = 1, i;
		for (i = 0; i < TOLK_CONFIG_BYTES_MAX; i++) {
			col = text[i] == '\n' ? 1 : col + 1;
			line += text[i] == '\n';
		}
		return fail_at(ld, line, col, "the file goes on past %d bytes: a room file is at most that",
			       TOLK_CONFIG_BYTES_MAX);
	}
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !ret && yaml_parser_parse(&parser, &ev)) {
		if ((ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
		     ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_ALIAS_EVENT) &&
		    ++nodes > TOLK_CONFIG_NODES_MAX) {
			ret = fail_at(ld, ev.start_mark.line + 1, ev.start_mark.column + 1,
				      "more than %d values: no room file needs that", TOLK_CONFIG_NODES_MAX);
		} else if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			if (++depth > TOLK_CONFIG_DEPTH_MAX)
				ret = fail_at(ld, ev.start_mark.line + 1, ev.start_mark.column + 1,
					      "nested deeper than %d levels: no room file needs that",
					      TOLK_CONFIG_DEPTH_MAX);
		} else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
			depth--;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	/* A syntax error is the loader's to report, with its own words. */
	yaml_parser_delete(&parser);
	return ret;
}

int config_load_string(struct config *cfg, const char *text, size_t len, const char *name,
		       char *err, size_t errlen)
{
	struct loader ld = { .name = name ? name : "config", .err = err, .errlen = errlen, .cfg = cfg };
	yaml_parser_t parser;
	yaml_node_t *root;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!cfg || !text)
		return -EINVAL;
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->source, sizeof cfg->source, "%s", ld.name);
	if ((ret = check_shape(&ld, text, len)) < 0)
		return ret;
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &ld.doc)) {
		yaml_mark_t m = parser.problem_mark;
		if (parser.error == YAML_MEMORY_ERROR)
			ret = -ENOMEM;
		else
			ret = fail_at(&ld, m.line + 1, m.column + 1, "malformed YAML: %s%s%s",
				      parser.problem ? parser.problem : "syntax error",
				      parser.context ? " " : "", parser.context ? parser.context : "");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&ld.doc);
	if (!root)
		ret = fail_at(&ld, 1, 1, "the configuration is empty");
	else
		ret = load_root(&ld, root);
	yaml_document_delete(&ld.doc);
out_parser:
	yaml_parser_delete(&parser);
	if (ret < 0)
		config_free(cfg);
	return ret;
}

int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int ret;

	if (!cfg || !path)
		return -EINVAL;
	memset(cfg, 0, sizeof *cfg);
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s:1:1: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	do {
		if (cap - len < 4096) {
			char *bigger = realloc(text, cap + 65536);
			if (!bigger) {
				ret = -ENOMEM;
				goto out_close;
			}
			text = bigger;
			cap += 65536;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= TOLK_CONFIG_BYTES_MAX); /* past the limit is refused: no need for all of it */
	if (ferror(f)) {
		ret = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s:1:1: cannot read: %s", path, strerror(EIO));
		goto out_close;
	}
	ret = config_load_string(cfg, text, len, path, err, errlen);
out_close:
	free(text);
	fclose(f);
	return ret;
}

void config_free(struct config *cfg)
{
	int i;
	if (!cfg)
		return;
	for (i = 0; i < cfg->n_booths; i++) {
		free(cfg->booths[i].understands);
		free_chain(&cfg->booths[i].mics);
		free_chain(&cfg->booths[i].phones);
	}
	for (i = 0; i < cfg->n_languages; i++)
		free_chain(&cfg->languages[i].outputs);
	free_chain(&cfg->mic_inserts);
	free_chain(&cfg->output_inserts);
	free_chain(&cfg->phones_inserts);
	for (i = 0; i < cfg->n_connects; i++)
		free(cfg->connects[i].other);
	free(cfg->recording.channels);
	free(cfg->stream.channels);
	free(cfg->rtp.channels);
	free(cfg->rtp.destinations);
	free(cfg->control.technicians);
	free(cfg->control.observers);
	free(cfg->osc.peers);
	free(cfg->web.booth_tokens);
	free(cfg->midi.mics);
	free(cfg->floor_inputs);
	free(cfg->languages);
	free(cfg->booths);
	free(cfg->connects);
	memset(cfg, 0, sizeof *cfg);
}

int config_find_language(const struct config *cfg, const char *code)
{
	int i;
	for (i = 0; i < cfg->n_languages; i++)
		if (!strcmp(cfg->languages[i].code, code))
			return i;
	return -ENOENT;
}

int config_find_booth(const struct config *cfg, const char *id)
{
	int i;
	for (i = 0; i < cfg->n_booths; i++)
		if (!strcmp(cfg->booths[i].id, id))
			return i;
	return -ENOENT;
}

int config_input_count(const struct config *cfg)
{
	return cfg->n_floor_inputs + cfg->n_mics;
}

int config_output_count(const struct config *cfg)
{
	return 1 + cfg->n_languages + cfg->n_mics;
}

int config_output_of_language(const struct config *cfg, int lang)
{
	(void)cfg;
	return 1 + lang;
}

int config_output_of_phones(const struct config *cfg, int mic)
{
	return 1 + cfg->n_languages + mic;
}

int config_input_of_mic(const struct config *cfg, int mic)
{
	return cfg->n_floor_inputs + mic;
}

/* Booth and console (1-based) of a mic index. */
static const struct cfg_booth *booth_of_mic(const struct config *cfg, int mic, int *n)
{
	int b;
	for (b = 0; b < cfg->n_booths; b++) {
		const struct cfg_booth *booth = &cfg->booths[b];
		if (mic >= booth->first_mic && mic < booth->first_mic + booth->consoles) {
			*n = mic - booth->first_mic + 1;
			return booth;
		}
	}
	return NULL;
}

int config_booth_of_mic(const struct config *cfg, int mic, int *n)
{
	const struct cfg_booth *b = mic >= 0 ? booth_of_mic(cfg, mic, n) : NULL;
	return b ? (int)(b - cfg->booths) : -1;
}

int config_midi_console(const struct config *cfg, int mic)
{
	int i;

	if (!cfg->midi.enabled || mic < 0 || mic >= cfg->n_mics)
		return 0;
	if (cfg->midi.all)
		return 1;
	for (i = 0; i < cfg->midi.n_mics; i++)
		if (cfg->midi.mics[i] == mic)
			return 1;
	return 0;
}

int config_console_name(const struct config *cfg, int mic, char *buf, size_t len)
{
	const struct cfg_booth *b;
	int n = 0;

	if (mic < 0 || !(b = booth_of_mic(cfg, mic, &n)))
		return -EINVAL;
	snprintf(buf, len, "%s/%d", b->id, n);
	return 0;
}

int config_input_name(const struct config *cfg, int index, char *buf, size_t len)
{
	const struct cfg_booth *b;
	int n = 0;

	if (index < 0 || index >= config_input_count(cfg))
		return -EINVAL;
	if (index < cfg->n_floor_inputs) {
		snprintf(buf, len, "floor_%s", cfg->floor_inputs[index]);
		return 0;
	}
	b = booth_of_mic(cfg, index - cfg->n_floor_inputs, &n);
	if (!b)
		return -EINVAL;
	snprintf(buf, len, "mic_%s_%d", b->id, n);
	return 0;
}

int config_output_name(const struct config *cfg, int index, char *buf, size_t len)
{
	const struct cfg_booth *b;
	int n = 0;

	if (index < 0 || index >= config_output_count(cfg))
		return -EINVAL;
	if (index == 0) {
		snprintf(buf, len, "out_floor");
		return 0;
	}
	if (index <= cfg->n_languages) {
		snprintf(buf, len, "out_%s", cfg->languages[index - 1].code);
		return 0;
	}
	b = booth_of_mic(cfg, index - 1 - cfg->n_languages, &n);
	if (!b)
		return -EINVAL;
	snprintf(buf, len, "phones_%s_%d", b->id, n);
	return 0;
}

int config_port_label(const struct config *cfg, enum port_label_kind kind, int index, char *pretty, size_t len,
		      int *order)
{
	/* Console m's ports sort after every floor input, out_floor and
	 * language, four places each. */
	static const char *const console_port[] = {
		[PORT_LABEL_INPUT] = "mic",
		[PORT_LABEL_OUTPUT] = "headphones",
		[PORT_LABEL_MIDI_IN] = "MIDI in",
		[PORT_LABEL_MIDI_OUT] = "MIDI out",
	};
	const int consoles_from = cfg ? cfg->n_floor_inputs + 1 + cfg->n_languages : 0;
	int mic = index, n = 0, b;

	if (!cfg || !pretty || !order || (unsigned)kind > PORT_LABEL_MIDI_OUT)
		return -EINVAL;
	if (kind == PORT_LABEL_INPUT) {
		if (index < 0 || index >= config_input_count(cfg))
			return -EINVAL;
		if (index < cfg->n_floor_inputs) {
			snprintf(pretty, len, "Floor: %s", cfg->floor_inputs[index]);
			*order = index;
			return 0;
		}
		mic = index - cfg->n_floor_inputs;
	} else if (kind == PORT_LABEL_OUTPUT) {
		if (index < 0 || index >= config_output_count(cfg))
			return -EINVAL;
		if (index <= cfg->n_languages) {
			snprintf(pretty, len, "%s (distribution)", index ? cfg->languages[index - 1].name : "Floor");
			*order = cfg->n_floor_inputs + index;
			return 0;
		}
		mic = index - 1 - cfg->n_languages;
	}
	if (mic < 0 || mic >= cfg->n_mics || (b = config_booth_of_mic(cfg, mic, &n)) < 0)
		return -EINVAL;
	snprintf(pretty, len, "%s booth %d %s", cfg->booths[b].id, n, console_port[kind]);
	*order = consoles_from + 4 * mic + (int)kind;
	return 0;
}

int config_find_port(const struct config *cfg, const char *name, int *is_input, int *index)
{
	char buf[TOLK_PORT_NAME_MAX];
	int i;

	for (i = 0; i < config_input_count(cfg); i++) {
		config_input_name(cfg, i, buf, sizeof buf);
		if (!strcmp(buf, name)) {
			*is_input = 1;
			*index = i;
			return 0;
		}
	}
	for (i = 0; i < config_output_count(cfg); i++) {
		config_output_name(cfg, i, buf, sizeof buf);
		if (!strcmp(buf, name)) {
			*is_input = 0;
			*index = i;
			return 0;
		}
	}
	return -ENOENT;
}

int config_meeting_chars_ok(const char *name)
{
	size_t i;
	for (i = 0; name[i]; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || (c == '.' && i > 0)))
			return 0;
	}
	return 1;
}

int config_meeting_ok(const char *name)
{
	return *name && strlen(name) < TOLK_MEETING_MAX && config_meeting_chars_ok(name);
}

const char *idle_policy_name(enum idle_policy p)
{
	switch (p) {
	case IDLE_SILENCE: return "silence";
	case IDLE_DUCK: return "duck";
	default: return "floor";
	}
}
