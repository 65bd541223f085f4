#include "insert_host.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/thread_role.h"
#include "lv2_host.h"

void insert_host_init(struct insert_host *h, const char *dir)
{
	char exe[PATH_MAX];
	ssize_t n;

	memset(h, 0, sizeof *h);
	if (!dir)
		dir = getenv("TOLK_PLUGIN_DIR");
	if (dir && *dir) {
		snprintf(h->dir, sizeof h->dir, "%s", dir);
		return;
	}
	/* A build tree (build/tolk next to build/plugins/), or an installed
	 * tree moved as a whole (bin/tolk and lib/tolk/plugins/). */
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		static const char *const beside[] = { "plugins", "../lib/tolk/plugins" };
		char *slash;
		size_t i;

		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			for (i = 0; i < sizeof beside / sizeof beside[0]; i++) {
				snprintf(h->dir, sizeof h->dir, "%.4000s/%s", exe, beside[i]);
				if (access(h->dir, R_OK | X_OK) == 0)
					return;
			}
		}
	}
	snprintf(h->dir, sizeof h->dir, "%s", TOLK_PLUGINDIR);
}

static const struct tolk_plugin_descriptor *load_builtin(struct insert_host *h, const char *name, char *why,
							 size_t whylen)
{
	char path[sizeof h->dir + TOLK_ID_MAX + 8];
	tolk_plugin_entry_fn entry;
	const struct tolk_plugin_descriptor *d;
	void *handle;
	int i;

	for (i = 0; i < h->n_loaded; i++)
		if (!strcmp(h->loaded[i].name, name))
			return h->loaded[i].desc;
	if (h->n_loaded == INSERT_HOST_PLUGINS_MAX) {
		snprintf(why, whylen, "too many different plugins (at most %d)", INSERT_HOST_PLUGINS_MAX);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/%s.so", h->dir, name);
	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		snprintf(why, whylen, "no plugin '%s' (%s)", name, dlerror());
		return NULL;
	}
	entry = (tolk_plugin_entry_fn)dlsym(handle, TOLK_PLUGIN_ENTRY);
	d = entry ? entry() : NULL;
	if (!d || d->abi_version != TOLK_PLUGIN_ABI_VERSION || !d->name || strcmp(d->name, name) ||
	    !d->instantiate || !d->set_param || !d->run || !d->cleanup || (d->n_params && !d->params)) {
		snprintf(why, whylen, "%s is not a Tolk plugin of ABI %d named '%s'", path, TOLK_PLUGIN_ABI_VERSION,
			 name);
		dlclose(handle);
		return NULL;
	}
	snprintf(h->loaded[h->n_loaded].name, sizeof h->loaded[0].name, "%s", name);
	h->loaded[h->n_loaded].handle = handle;
	h->loaded[h->n_loaded].desc = d;
	h->n_loaded++;
	return d;
}

/* The room's values for a built-in, checked: values[] gets every param. */
static int builtin_values(const struct config *cfg, const struct cfg_insert *in,
			  const struct tolk_plugin_descriptor *d, float *values, char *err, size_t errlen)
{
	uint32_t k;
	int i;

	for (k = 0; k < d->n_params; k++)
		values[k] = d->params[k].def;
	for (i = 0; i < in->n_params; i++) {
		const struct cfg_param *cp = &in->params[i];
		for (k = 0; k < d->n_params; k++)
			if (!strcmp(d->params[k].name, cp->name))
				break;
		if (k == d->n_params) {
			char list[256] = "";
			for (k = 0; k < d->n_params; k++) {
				strncat(list, d->params[k].name, sizeof list - strlen(list) - 1);
				if (k + 1 < d->n_params)
					strncat(list, ", ", sizeof list - strlen(list) - 1);
			}
			snprintf(err, errlen, "%s:%d:%d: %s has no parameter '%s' (it has: %s)", cfg->source, cp->line,
				 cp->column, d->name, cp->name, list);
			return -EINVAL;
		}
		if (cp->value < d->params[k].min || cp->value > d->params[k].max) {
			snprintf(err, errlen, "%s:%d:%d: %s %s must be between %g and %g, not %g", cfg->source, cp->line,
				 cp->column, d->name, cp->name, d->params[k].min, d->params[k].max, cp->value);
			return -EINVAL;
		}
		values[k] = (float)cp->value;
	}
	return 0;
}

/* The hearing limiter's values come from phones:. */
static void hearing_values(const struct config *cfg, const struct tolk_plugin_descriptor *d, float *values)
{
	const struct cfg_hearing *hr = &cfg->hearing;
	const struct {
		const char *name;
		double value;
	} from_config[] = {
		{ "dbspl_at_0dbfs", hr->dbspl_at_0dbfs }, { "ceiling_dbspl", hr->ceiling_dbspl },
		{ "sustained_dbspl", hr->sustained_dbspl }, { "sustained_ms", hr->sustained_ms },
		{ "average_dbspl", hr->average_dbspl }, { "warning_dbspl", hr->warning_dbspl },
		{ "backoff_db", hr->backoff_db }, { "backoff_minutes", hr->backoff_minutes },
	};
	uint32_t k;
	size_t i;

	for (k = 0; k < d->n_params; k++) {
		values[k] = d->params[k].def;
		for (i = 0; i < sizeof from_config / sizeof from_config[0]; i++)
			if (!strcmp(d->params[k].name, from_config[i].name))
				values[k] = (float)from_config[i].value;
	}
}

/* One chain entry: checked, and with a rack, instantiated into chain.
 * The hearing limiter is the mandatory one, with its levels from phones:. */
static int add_entry(struct insert_host *h, const struct config *cfg, const struct cfg_insert *in,
		     struct insert_rack *rack, int chain, int mandatory, char *err, size_t errlen)
{
	const struct tolk_plugin_descriptor *d;
	float values[64];
	char why[sizeof h->dir + 256];
	void *inst;
	uint32_t k;
	int ret;

	if (!strcmp(in->plugin, "lv2")) {
		struct tolk_plugin_param *params = NULL;
		uint32_t n = 0;
		float *vals = NULL;
		char name[64];

		if (!h->lv2 && !(h->lv2 = lv2_host_open())) {
			snprintf(err, errlen, "cannot start the LV2 host: out of memory");
			return -ENOMEM;
		}
		ret = lv2_host_instantiate(h->lv2, cfg->source, in, rack ? rack->rate : 48000,
					   rack ? rack->max_frames : 1024, !rack, &d, &inst, &params, &n, &vals,
					   name, sizeof name, err, errlen);
		if (ret < 0 || !rack)
			return ret;
		ret = rack_add(rack, chain, d, inst, in->name[0] ? in->name : name, in->uri, params, n, vals, 0);
		plugin_params_free(params, n);
		free(vals);
		if (ret < 0) {
			snprintf(err, errlen, "cannot add %s: %s", name, strerror(-ret));
			return ret;
		}
		return 0;
	}
	d = load_builtin(h, in->plugin, why, sizeof why);
	if (!d && mandatory) {
		snprintf(err, errlen, "the hearing limiter is missing: %s; Tolk will not run headphone feeds "
			 "without it", why);
		return -ENOENT;
	}
	if (!d) {
		snprintf(err, errlen, "%s:%d:%d: %s", cfg->source, in->line, in->column, why);
		return -EINVAL;
	}
	if (d->n_params > sizeof values / sizeof values[0]) {
		snprintf(err, errlen, "plugin %s has too many parameters", d->name);
		return -EINVAL;
	}
	if (mandatory)
		hearing_values(cfg, d, values);
	else if ((ret = builtin_values(cfg, in, d, values, err, errlen)) < 0)
		return ret;
	if (!rack)
		return 0;
	inst = d->instantiate(rack->rate, rack->max_frames);
	if (!inst) {
		snprintf(err, errlen, "%s:%d:%d: %s failed to instantiate at %.0f Hz", cfg->source, in->line,
			 in->column, d->name, rack->rate);
		return -EIO;
	}
	for (k = 0; k < d->n_params; k++)
		d->set_param(inst, k, values[k]);
	if (d->activate)
		d->activate(inst);
	ret = rack_add(rack, chain, d, inst, in->name[0] ? in->name : d->name, d->name, d->params, d->n_params, values,
		       mandatory);
	if (ret < 0) {
		if (d->deactivate)
			d->deactivate(inst);
		d->cleanup(inst);
		snprintf(err, errlen, "cannot add %s: %s", d->name, strerror(-ret));
		return ret;
	}
	return 0;
}

static int add_chain(struct insert_host *h, const struct config *cfg, const struct cfg_chain *c,
		     struct insert_rack *rack, int chain, char *err, size_t errlen)
{
	int i, ret;

	for (i = 0; i < c->n; i++)
		if ((ret = add_entry(h, cfg, &c->items[i], rack, chain, 0, err, errlen)) < 0)
			return ret;
	return 0;
}

/* Chains in the rack's order: mics, outputs (out_floor first), phones;
 * each phones chain ends with the hearing limiter. Without a rack, only
 * checks. */
static int walk(struct insert_host *h, const struct config *cfg, struct insert_rack *rack, char *err,
		size_t errlen)
{
	static const struct cfg_insert limiter = { .plugin = "hearing_limiter" };
	int b, n, lang, ret, mic;

	ASSERT_THREAD(THREAD_CONTROL);
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 0; n < cfg->booths[b].consoles; n++) {
			mic = cfg->booths[b].first_mic + n;
			if ((ret = add_chain(h, cfg, config_mic_chain(cfg, b), rack,
					     rack ? rack_chain_index(rack, CHAIN_MIC, mic) : 0, err, errlen)) < 0)
				return ret;
			if (!rack)
				break; /* one console checks the booth */
		}
	for (lang = -1; lang < cfg->n_languages; lang++)
		if ((ret = add_chain(h, cfg, config_output_chain(cfg, lang), rack,
				     rack ? rack_chain_index(rack, CHAIN_OUTPUT, lang + 1) : 0, err, errlen)) < 0)
			return ret;
	for (b = 0; b < cfg->n_booths; b++)
		for (n = 0; n < cfg->booths[b].consoles; n++) {
			int chain;
			mic = cfg->booths[b].first_mic + n;
			chain = rack ? rack_chain_index(rack, CHAIN_PHONES, mic) : 0;
			if ((ret = add_chain(h, cfg, config_phones_chain(cfg, b), rack, chain, err, errlen)) < 0 ||
			    (ret = add_entry(h, cfg, &limiter, rack, chain, 1, err, errlen)) < 0)
				return ret;
			if (!rack)
				break;
		}
	return 0;
}

int insert_host_check(struct insert_host *h, const struct config *cfg, char *err, size_t errlen)
{
	return walk(h, cfg, NULL, err, errlen);
}

int insert_host_build(struct insert_host *h, const struct config *cfg, struct insert_rack *rack, char *err,
		      size_t errlen)
{
	int ret = walk(h, cfg, rack, err, errlen);

	if (ret < 0)
		return ret;
	if ((ret = rack_prepare(rack)) < 0)
		snprintf(err, errlen, "cannot prepare the inserts: out of memory");
	return ret;
}

void insert_host_close(struct insert_host *h)
{
	int i;

	for (i = 0; i < h->n_loaded; i++)
		dlclose(h->loaded[i].handle);
	h->n_loaded = 0;
	lv2_host_close(h->lv2);
	h->lv2 = NULL;
}
