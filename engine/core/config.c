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

/* Walks a mapping, refusing duplicate keys and keys not in `allowed`
 * (a NULL-terminated list). Calls back once per pair. */
typedef int (*pair_fn)(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v,
		       void *user);

static int each_pair(struct loader *ld, yaml_node_t *map, const char *what,
		     const char *const *allowed, pair_fn fn, void *user)
{
	yaml_node_pair_t *p, *q;
	int err = expect(ld, map, YAML_MAPPING_NODE, what);
	if (err)
		return err;
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key), *v = node(ld, p->value);
		const char *const *a;
		char list[256] = "";

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a key")))
			return err;
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(ld, q->key)), scalar(k)))
				return fail(ld, k, "duplicate key '%s' in %s", scalar(k), what);
		for (a = allowed; *a; a++)
			if (!strcmp(*a, scalar(k)))
				break;
		if (!*a) {
			for (a = allowed; *a; a++) {
				strncat(list, *a, sizeof list - strlen(list) - 1);
				if (a[1])
					strncat(list, ", ", sizeof list - strlen(list) - 1);
			}
			return fail(ld, k, "unknown key '%s' in %s (expected one of: %s)", scalar(k),
				    what, list);
		}
		if ((err = fn(ld, scalar(k), k, v, user)))
			return err;
	}
	return 0;
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
			if ((err = expect(ld, item, YAML_MAPPING_NODE, "an insert")))
				return err;
			if (item->data.mapping.pairs.top - item->data.mapping.pairs.start != 1)
				return fail(ld, item, "an insert is one plugin: {name: {parameters}}");
			k = node(ld, item->data.mapping.pairs.start->key);
			v = node(ld, item->data.mapping.pairs.start->value);
			if ((err = expect(ld, k, YAML_SCALAR_NODE, "a plugin name")))
				return err;
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

struct chain_slots {
	struct cfg_chain *mics, *outputs, *phones; /* NULL: not allowed here */
};

static int inserts_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct chain_slots *slots = user;
	struct cfg_chain *chain = !strcmp(key, "mics") ? slots->mics : !strcmp(key, "outputs") ? slots->outputs
										       : slots->phones;
	(void)k;
	return load_chain(ld, v, key, chain);
}

static int load_inserts(struct loader *ld, yaml_node_t *n, struct chain_slots slots, const char *what)
{
	const char *keys[4];
	int i = 0;

	if (slots.mics)
		keys[i++] = "mics";
	if (slots.outputs)
		keys[i++] = "outputs";
	if (slots.phones)
		keys[i++] = "phones";
	keys[i] = NULL;
	return each_pair(ld, n, what, keys, inserts_pair, &slots);
}

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

static int floor_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct config *cfg = ld->cfg;
	(void)k;
	(void)user;
	if (!strcmp(key, "inputs")) {
		if (v->type == YAML_SEQUENCE_NODE && seq_len(v) > TOLK_FLOOR_INPUTS_MAX)
			return fail(ld, seq_at(ld, v, TOLK_FLOOR_INPUTS_MAX), "one floor input too many: at most %d",
				    TOLK_FLOOR_INPUTS_MAX);
		return load_id_list(ld, v, "floor inputs", 1, &cfg->floor_inputs, &cfg->n_floor_inputs);
	}
	return copy_id(ld, v, "floor language", cfg->floor_language);
}

/* ---- languages ------------------------------------------------------ */

static int language_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v,
			 void *user)
{
	struct cfg_language *lang = user;
	int err;
	(void)k;

	if (!strcmp(key, "code")) {
		if ((err = copy_id(ld, v, "language code", lang->code)))
			return err;
		/* out_floor is taken by the original; a language may not shadow it */
		if (!strcmp(lang->code, "floor"))
			return fail(ld, v, "language code 'floor' is reserved for out_floor");
		return 0;
	}
	if (!strcmp(key, "duck_db"))
		return parse_number(ld, v, "duck_db", TOLK_GAIN_DB_MIN, 0.0, &lang->duck_db);
	if (!strcmp(key, "inserts"))
		return load_inserts(ld, v, (struct chain_slots){ .outputs = &lang->outputs }, "language inserts");
	if (!strcmp(key, "channel_mode")) {
		static const char *const modes[] = { "interlock", "override", NULL }; /* enum order */
		int mode;
		if ((err = parse_choice(ld, v, "channel_mode", modes, &mode)))
			return err;
		lang->channel_mode = (enum channel_mode)mode;
		return 0;
	}
	if (!strcmp(key, "idle")) {
		static const char *const policies[] = { "floor", "silence", "duck", NULL }; /* enum order */
		int idle;
		if ((err = parse_choice(ld, v, "idle", policies, &idle)))
			return err;
		lang->idle = (enum idle_policy)idle;
		return 0;
	}
	/* name */
	if ((err = expect(ld, v, YAML_SCALAR_NODE, key)))
		return err;
	if (!*scalar(v))
		return fail(ld, v, "language name is empty");
	if (strlen(scalar(v)) >= TOLK_NAME_MAX)
		return fail(ld, v, "language name is longer than %d bytes", TOLK_NAME_MAX - 1);
	strcpy(lang->name, scalar(v));
	return 0;
}

static int load_languages(struct loader *ld, yaml_node_t *n)
{
	static const char *const keys[] = { "code", "name", "idle", "duck_db", "channel_mode", "inserts", NULL };
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
		lang->duck_db = TOLK_DUCK_DB;
		if ((err = each_pair(ld, item, "language", keys, language_pair, lang)))
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

static int booth_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct cfg_booth *b = user;
	struct config *cfg = ld->cfg;
	int i, j, err;
	(void)k;

	if (!strcmp(key, "id"))
		return copy_id(ld, v, "booth id", b->id);
	if (!strcmp(key, "understands"))
		return load_id_list(ld, v, "understands", 0, &b->understands, &b->n_understands);
	if (!strcmp(key, "inserts"))
		return load_inserts(ld, v, (struct chain_slots){ .mics = &b->mics, .phones = &b->phones },
				    "booth inserts");
	if (!strcmp(key, "booth_mode")) {
		static const char *const modes[] = { "override", "interlock", NULL }; /* enum order */
		int mode;
		if ((err = parse_choice(ld, v, "booth_mode", modes, &mode)))
			return err;
		b->booth_mode = (enum booth_mode)mode;
		return 0;
	}
	if (!strcmp(key, "consoles")) {
		char *end;
		long c;
		if ((err = expect(ld, v, YAML_SCALAR_NODE, "consoles")))
			return err;
		errno = 0;
		c = strtol(scalar(v), &end, 10);
		if (!*scalar(v) || *end || errno)
			return fail(ld, v, "consoles '%s' is not a whole number", scalar(v));
		if (c < 1 || c > TOLK_MAX_CONSOLES)
			return fail(ld, v, "consoles must be between 1 and %d, not %ld", TOLK_MAX_CONSOLES, c);
		b->consoles = (int)c;
		return 0;
	}
	/* outputs */
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
		lang = config_find_language(cfg, code);
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

static int load_booths(struct loader *ld, yaml_node_t *n)
{
	static const char *const keys[] = { "id", "outputs", "understands", "consoles", "booth_mode",
					    "inserts", NULL };
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
		b->consoles = 2;
		if ((err = each_pair(ld, item, "booth", keys, booth_pair, b)))
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

static int phones_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v,
		       void *user)
{
	static const struct {
		const char *key;
		double min, max;
		size_t offset;
	} levels[] = {
		{ "dbspl_at_0dbfs", 70, 140, offsetof(struct cfg_hearing, dbspl_at_0dbfs) },
		{ "ceiling_dbspl", 60, 130, offsetof(struct cfg_hearing, ceiling_dbspl) },
		{ "sustained_dbspl", 60, 130, offsetof(struct cfg_hearing, sustained_dbspl) },
		{ "sustained_ms", 10, 2000, offsetof(struct cfg_hearing, sustained_ms) },
		{ "average_dbspl", 60, 110, offsetof(struct cfg_hearing, average_dbspl) },
		{ "warning_dbspl", 30, 100, offsetof(struct cfg_hearing, warning_dbspl) },
		{ "backoff_db", 0, 30, offsetof(struct cfg_hearing, backoff_db) },
		{ "backoff_minutes", 0.1, 240, offsetof(struct cfg_hearing, backoff_minutes) },
	};
	struct config *cfg = ld->cfg;
	size_t i;
	(void)k;
	(void)user;

	for (i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (!strcmp(key, levels[i].key))
			return parse_number(ld, v, key, levels[i].min, levels[i].max,
					    (double *)((char *)&cfg->hearing + levels[i].offset));
	/* sidetone_db */
	if (v->type == YAML_SCALAR_NODE && !strcmp(scalar(v), "off")) {
		cfg->sidetone = 0;
		return 0;
	}
	cfg->sidetone = 1;
	return parse_number(ld, v, "sidetone_db", TOLK_GAIN_DB_MIN, 0.0, &cfg->sidetone_db);
}

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

static int parse_bool(struct loader *ld, yaml_node_t *v, const char *what, int *out)
{
	static const char *const words[] = { "false", "true", "no", "yes", NULL };
	int err = parse_choice(ld, v, what, words, out);

	*out %= 2;
	return err;
}

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

static int recording_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v,
			  void *user)
{
	struct cfg_recording *rec = &ld->cfg->recording;
	double num;
	int err, i;
	(void)k;
	(void)user;

	if (!strcmp(key, "dir")) {
		if ((err = expect(ld, v, YAML_SCALAR_NODE, "dir")))
			return err;
		if (!*scalar(v) || strlen(scalar(v)) >= sizeof rec->dir)
			return fail(ld, v, "dir must be a path of 1 to %zu bytes", sizeof rec->dir - 1);
		strcpy(rec->dir, scalar(v));
		return 0;
	}
	if (!strcmp(key, "formats")) {
		static const char *const names[] = { "wav", "flac", "opus", NULL };
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
	if (!strcmp(key, "opus_bitrate")) {
		if ((err = parse_number(ld, v, "opus_bitrate", 6000, 256000, &num)))
			return err;
		rec->opus_bitrate = (int)num;
		return 0;
	}
	if (!strcmp(key, "opus_complexity")) {
		if ((err = parse_number(ld, v, "opus_complexity", 0, 10, &num)))
			return err;
		if (num != (int)num)
			return fail(ld, v, "opus_complexity must be a whole number, not %s", scalar(v));
		rec->opus_complexity = (int)num;
		return 0;
	}
	if (!strcmp(key, "segment_minutes"))
		return parse_number(ld, v, "segment_minutes", 0.01, 24 * 60, &rec->segment_minutes);
	if (!strcmp(key, "buffer_seconds"))
		return parse_number(ld, v, "buffer_seconds", 1, 120, &rec->buffer_seconds);
	if (!strcmp(key, "autostart"))
		return parse_bool(ld, v, "autostart", &rec->autostart);
	if (!strcmp(key, "mics"))
		return parse_bool(ld, v, "mics", &rec->mics);
	return parse_channels(ld, v, "recording", &rec->all_channels, &rec->channels, &rec->n_channels);
}

/* ---- stream (Icecast) -------------------------------------------------- */

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

static int icecast_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct cfg_stream *st = &ld->cfg->stream;
	double num;
	int err;
	(void)k;
	(void)user;

	if (!strcmp(key, "host"))
		return scalar_into(ld, v, "host", st->host, sizeof st->host);
	if (!strcmp(key, "user"))
		return scalar_into(ld, v, "user", st->user, sizeof st->user);
	if (!strcmp(key, "password_file"))
		return scalar_into(ld, v, "password_file", st->password_file, sizeof st->password_file);
	if ((err = parse_number(ld, v, "port", 1, 65535, &num)))
		return err;
	st->port = (int)num;
	return 0;
}

static int stream_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	static const char *const icecast_keys[] = { "host", "port", "user", "password_file", NULL };
	struct cfg_stream *st = &ld->cfg->stream;
	const char *c;
	double num;
	int err;
	(void)k;
	(void)user;

	if (!strcmp(key, "icecast"))
		return each_pair(ld, v, "icecast", icecast_keys, icecast_pair, NULL);
	if (!strcmp(key, "bitrate")) {
		if ((err = parse_number(ld, v, "bitrate", 6000, 256000, &num)))
			return err;
		st->bitrate = (int)num;
		return 0;
	}
	if (!strcmp(key, "mount_prefix")) {
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
	return parse_channels(ld, v, "stream", &st->all_channels, &st->channels, &st->n_channels);
}

/* ---- control -------------------------------------------------------- */

static int control_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct cfg_control *c = &ld->cfg->control;
	struct cfg_principal **list = !strcmp(key, "technicians") ? &c->technicians : &c->observers;
	int *n = !strcmp(key, "technicians") ? &c->n_technicians : &c->n_observers;
	int i, err;
	(void)k;
	(void)user;

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

/* ---- alarms --------------------------------------------------------- */

static int alarms_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct cfg_alarms *a = &ld->cfg->alarms;
	(void)k;
	(void)user;
	if (!strcmp(key, "live_silent_db"))
		return parse_number(ld, v, key, -120, 0, &a->live_silent_db);
	if (!strcmp(key, "live_silent_seconds"))
		return parse_number(ld, v, key, 0.1, 3600, &a->live_silent_seconds);
	if (!strcmp(key, "floor_silent_db"))
		return parse_number(ld, v, key, -120, 0, &a->floor_silent_db);
	if (!strcmp(key, "floor_silent_seconds"))
		return parse_number(ld, v, key, 0.1, 3600, &a->floor_silent_seconds);
	if (!strcmp(key, "clip_dbfs"))
		return parse_number(ld, v, key, -20, 0, &a->clip_dbfs);
	if (!strcmp(key, "disk_low_minutes"))
		return parse_number(ld, v, key, 0, 1e7, &a->disk_low_minutes);
	return parse_number(ld, v, key, 0.1, 600, &a->clear_seconds);
}

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

static int osc_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct cfg_osc *o = &ld->cfg->osc;
	int err;
	(void)k;
	(void)user;

	if (!strcmp(key, "consoles"))
		return osc_consoles(ld, v);
	if ((err = parse_listen(ld, v, o->host, sizeof o->host, o->port, sizeof o->port)))
		return err;
	o->enabled = 1;
	return 0;
}

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

static int web_tokens_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	struct cfg_web *w = &ld->cfg->web;
	(void)k;
	(void)user;

	if (!strcmp(key, "technician"))
		return web_token(ld, v, "technician", w->technician, sizeof w->technician);
	return web_token(ld, v, "observer", w->observer, sizeof w->observer);
}

static int web_pair(struct loader *ld, const char *key, yaml_node_t *k, yaml_node_t *v, void *user)
{
	static const char *const token_keys[] = { "technician", "observer", NULL };
	struct cfg_web *w = &ld->cfg->web;
	int err;
	(void)k;
	(void)user;

	if (!strcmp(key, "tokens"))
		return each_pair(ld, v, "tokens", token_keys, web_tokens_pair, NULL);
	if ((err = parse_listen(ld, v, w->host, sizeof w->host, w->port, sizeof w->port)))
		return err;
	w->enabled = 1;
	return 0;
}

/* ---- top level ------------------------------------------------------ */

static int load_root(struct loader *ld, yaml_node_t *root)
{
	static const char *const keys[] = { "meeting", "floor", "languages", "booths", "connect",
					    "phones", "inserts", "recording", "control", "alarms", "osc", "web", "stream", NULL };
	static const char *const stream_keys[] = { "icecast", "mount_prefix", "channels", "bitrate", NULL };
	static const char *const osc_keys[] = { "listen", "consoles", NULL };
	static const char *const web_keys[] = { "listen", "tokens", NULL };
	static const char *const alarm_keys[] = { "live_silent_db", "live_silent_seconds", "floor_silent_db",
						  "floor_silent_seconds", "clip_dbfs", "disk_low_minutes",
						  "clear_seconds", NULL };
	static const char *const control_keys[] = { "technicians", "observers", NULL };
	static const char *const recording_keys[] = { "dir", "formats", "opus_bitrate", "opus_complexity", "segment_minutes",
						      "buffer_seconds", "autostart", "channels", "mics",
						      NULL };
	static const char *const floor_keys[] = { "inputs", "language", NULL };
	static const char *const phones_keys[] = { "sidetone_db", "dbspl_at_0dbfs", "ceiling_dbspl",
						   "sustained_dbspl", "sustained_ms", "average_dbspl",
						   "warning_dbspl", "backoff_db", "backoff_minutes", NULL };
	struct config *cfg = ld->cfg;
	yaml_node_pair_t *p;
	yaml_node_t *n;
	int err;

	if ((err = expect(ld, root, YAML_MAPPING_NODE, "the configuration")))
		return err;
	/* Check every key first so that a typo is reported as such, then load
	 * in dependency order: booths and connect refer to languages. */
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(ld, p->key);
		yaml_node_pair_t *q;
		const char *const *a;

		if ((err = expect(ld, k, YAML_SCALAR_NODE, "a key")))
			return err;
		for (a = keys; *a && strcmp(*a, scalar(k)); a++)
			;
		if (!*a)
			return fail(ld, k, "unknown key '%s' (expected one of: meeting, floor, languages, "
				    "booths, connect, phones, inserts, recording, control, alarms, osc, web, stream)", scalar(k));
		for (q = root->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(ld, q->key)), scalar(k)))
				return fail(ld, k, "duplicate key '%s'", scalar(k));
	}

	if (!(n = find_key(ld, root, "meeting")))
		return fail(ld, root, "missing key 'meeting'");
	if ((err = expect(ld, n, YAML_SCALAR_NODE, "meeting")))
		return err;
	if (!config_meeting_chars_ok(scalar(n)))
		return fail(ld, n, "meeting '%s' may hold only letters, digits, '-', '_' and '.' "
			    "(not first)", scalar(n));
	if (!config_meeting_ok(scalar(n)))
		return fail(ld, n, "meeting must be 1 to %zu characters", sizeof cfg->meeting - 1);
	strcpy(cfg->meeting, scalar(n));

	if (!(n = find_key(ld, root, "languages")))
		return fail(ld, root, "missing key 'languages'");
	if ((err = load_languages(ld, n)))
		return err;

	if (!(n = find_key(ld, root, "floor")))
		return fail(ld, root, "missing key 'floor'");
	if ((err = each_pair(ld, n, "floor", floor_keys, floor_pair, NULL)))
		return err;
	if (!cfg->n_floor_inputs)
		return fail(ld, n, "floor has no inputs");
	if (!*cfg->floor_language)
		strcpy(cfg->floor_language, cfg->languages[0].code);

	if ((n = find_key(ld, root, "booths")) && (err = load_booths(ld, n)))
		return err;
	if ((n = find_key(ld, root, "connect")) && (err = load_connect(ld, n)))
		return err;
	/* Lingua ID's published behaviour, and a typical headset's calibration. */
	cfg->hearing = (struct cfg_hearing){ .dbspl_at_0dbfs = 110, .ceiling_dbspl = 100, .sustained_dbspl = 94,
					     .sustained_ms = 100, .average_dbspl = 80, .warning_dbspl = 70,
					     .backoff_db = 6, .backoff_minutes = 30 };
	if ((n = find_key(ld, root, "phones")) &&
	    ((err = each_pair(ld, n, "phones", phones_keys, phones_pair, NULL)) || (err = check_hearing(ld, n))))
		return err;
	if ((n = find_key(ld, root, "inserts")) &&
	    (err = load_inserts(ld, n,
				(struct chain_slots){ .mics = &cfg->mic_inserts, .outputs = &cfg->output_inserts,
						      .phones = &cfg->phones_inserts },
				"inserts")))
		return err;
	/* Recording defaults: the archive is on unless the room says otherwise. */
	strcpy(cfg->recording.dir, "recordings");
	cfg->recording.formats = RECORD_FLAC | RECORD_OPUS;
	cfg->recording.opus_bitrate = 32000;
	cfg->recording.opus_complexity = RECORD_OPUS_COMPLEXITY;
	cfg->recording.segment_minutes = 60;
	cfg->recording.buffer_seconds = 10;
	cfg->recording.autostart = 1;
	cfg->recording.all_channels = 1;
	if ((n = find_key(ld, root, "recording")) &&
	    (err = each_pair(ld, n, "recording", recording_keys, recording_pair, NULL)))
		return err;
	cfg->alarms = (struct cfg_alarms){ .live_silent_db = -50, .live_silent_seconds = 10, .floor_silent_db = -50,
					   .floor_silent_seconds = 30, .clip_dbfs = -0.1, .disk_low_minutes = 10,
					   .clear_seconds = 2 };
	if ((n = find_key(ld, root, "alarms")) &&
	    (err = each_pair(ld, n, "alarms", alarm_keys, alarms_pair, NULL)))
		return err;
	cfg->stream.bitrate = 32000;
	cfg->stream.all_channels = 1;
	cfg->stream.port = 8000;
	strcpy(cfg->stream.host, "127.0.0.1");
	strcpy(cfg->stream.user, "source");
	if ((n = find_key(ld, root, "stream"))) {
		if ((err = each_pair(ld, n, "stream", stream_keys, stream_pair, NULL)))
			return err;
		if (!*cfg->stream.password_file)
			return fail(ld, n, "stream needs icecast.password_file (the password is never written in "
				    "the config or on a command line)");
		/* Streams are encoded from the recording's rings: one path. */
		if (!cfg->recording.all_channels) {
			const struct cfg_stream *st = &cfg->stream;
			int i, j, n_want = st->all_channels ? 1 + cfg->n_languages : st->n_channels;
			for (i = 0; i < n_want; i++) {
				const char *want = st->all_channels ? (i ? cfg->languages[i - 1].code : "floor")
								    : st->channels[i];
				for (j = 0; j < cfg->recording.n_channels && strcmp(cfg->recording.channels[j], want); j++)
					;
				if (j == cfg->recording.n_channels)
					return fail(ld, n, "stream channel '%s' must be recorded too (recording.channels): "
						    "streams are encoded from the recording's buffers", want);
			}
		}
		cfg->stream.enabled = 1;
	}
	if ((n = find_key(ld, root, "web")) && (err = each_pair(ld, n, "web", web_keys, web_pair, NULL)))
		return err;
	if (n && !cfg->web.enabled)
		return fail(ld, n, "web needs listen (\"127.0.0.1:8080\", or a port)");
	if ((n = find_key(ld, root, "osc")) && (err = each_pair(ld, n, "osc", osc_keys, osc_pair, NULL)))
		return err;
	if ((n = find_key(ld, root, "control"))) {
		cfg->control.present = 1;
		if ((err = each_pair(ld, n, "control", control_keys, control_pair, NULL)))
			return err;
	}
	return 0;
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
	free(cfg->control.technicians);
	free(cfg->control.observers);
	free(cfg->osc.peers);
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
