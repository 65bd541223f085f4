#include "lv2_host.h"

#include <ctype.h>
#include <errno.h>
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/urid/urid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/insert_rack.h"
#include "../core/touched_alloc.h"

#define ATOM_CAPACITY 8192

/* URIs to numbers, for the plugins that need urid:map. Plugins map at
 * instantiation, off the realtime thread, so a mutex is fine. */
struct urid_table {
	pthread_mutex_t lock;
	char **uris;
	uint32_t n;
};

struct lv2_host {
	LilvWorld *world;
	struct urid_table urids;
	LV2_URID_Map map;
	LV2_URID_Unmap unmap;
	LilvNode *audio, *control, *atom, *input, *output, *reports_latency, *latency_designation, *optional;
};

struct lv2_instance {
	LilvInstance *inst;
	uint32_t n_ports;
	float *port_values;        /* control ports, by port index */
	uint32_t *param_port;      /* Tolk parameter index -> port index */
	uint32_t n_params;
	uint32_t audio_in, audio_out;
	int latency_port;          /* -1: none */
	float *input;              /* [max_frames]: not every plugin runs in place */
	LV2_Atom_Sequence **atom_out;
	uint32_t n_atom_out;
	void **atom_buffers;
	uint32_t n_atom;
	LV2_URID chunk_urid;
	uint32_t latency;
	/* Kept alive for plugins that hold on to them. */
	LV2_Options_Option options[4];
	int32_t block_min, block_max;
	float rate;
	LV2_Feature f_map, f_unmap, f_options, f_bounded;
	const LV2_Feature *features[5];
};

static LV2_URID map_uri(LV2_URID_Map_Handle handle, const char *uri)
{
	struct urid_table *t = handle;
	LV2_URID id = 0;
	uint32_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->n; i++)
		if (!strcmp(t->uris[i], uri)) {
			id = i + 1;
			goto out;
		}
	{
		char **more = realloc(t->uris, (t->n + 1) * sizeof *more);
		if (more) {
			t->uris = more;
			t->uris[t->n] = strdup(uri);
			if (t->uris[t->n])
				id = ++t->n;
		}
	}
out:
	pthread_mutex_unlock(&t->lock);
	return id;
}

static const char *unmap_uri(LV2_URID_Unmap_Handle handle, LV2_URID urid)
{
	struct urid_table *t = handle;
	const char *uri = NULL;

	pthread_mutex_lock(&t->lock);
	if (urid >= 1 && urid <= t->n)
		uri = t->uris[urid - 1];
	pthread_mutex_unlock(&t->lock);
	return uri;
}

struct lv2_host *lv2_host_open(void)
{
	struct lv2_host *h = calloc(1, sizeof *h);

	if (!h)
		return NULL;
	h->world = lilv_world_new();
	if (!h->world) {
		free(h);
		return NULL;
	}
	lilv_world_load_all(h->world);
	pthread_mutex_init(&h->urids.lock, NULL);
	h->map = (LV2_URID_Map){ .handle = &h->urids, .map = map_uri };
	h->unmap = (LV2_URID_Unmap){ .handle = &h->urids, .unmap = unmap_uri };
	h->audio = lilv_new_uri(h->world, LV2_CORE__AudioPort);
	h->control = lilv_new_uri(h->world, LV2_CORE__ControlPort);
	h->atom = lilv_new_uri(h->world, LV2_ATOM__AtomPort);
	h->input = lilv_new_uri(h->world, LV2_CORE__InputPort);
	h->output = lilv_new_uri(h->world, LV2_CORE__OutputPort);
	h->reports_latency = lilv_new_uri(h->world, LV2_CORE__reportsLatency);
	h->latency_designation = lilv_new_uri(h->world, LV2_CORE__latency);
	h->optional = lilv_new_uri(h->world, LV2_CORE__connectionOptional);
	return h;
}

void lv2_host_close(struct lv2_host *h)
{
	uint32_t i;

	if (!h)
		return;
	lilv_node_free(h->audio);
	lilv_node_free(h->control);
	lilv_node_free(h->atom);
	lilv_node_free(h->input);
	lilv_node_free(h->output);
	lilv_node_free(h->reports_latency);
	lilv_node_free(h->latency_designation);
	lilv_node_free(h->optional);
	lilv_world_free(h->world);
	for (i = 0; i < h->urids.n; i++)
		free(h->urids.uris[i]);
	free(h->urids.uris);
	pthread_mutex_destroy(&h->urids.lock);
	free(h);
}

/* ---- the descriptor every LV2 instance runs through ---------------- */

static uint32_t lv2_latency(const void *instance)
{
	return ((const struct lv2_instance *)instance)->latency;
}

static void lv2_activate(void *instance)
{
	lilv_instance_activate(((struct lv2_instance *)instance)->inst);
}

static void lv2_set_param(void *instance, uint32_t index, float value)
{
	struct lv2_instance *li = instance;

	/* LV2 controls are read by the plugin at each run; smoothing them is
	 * the plugin's part of the contract (x42 and LSP do). */
	if (index < li->n_params)
		li->port_values[li->param_port[index]] = value;
}

static void lv2_run(void *instance, float *buf, uint32_t frames)
{
	struct lv2_instance *li = instance;
	uint32_t i;

	memcpy(li->input, buf, frames * sizeof *buf);
	lilv_instance_connect_port(li->inst, li->audio_in, li->input);
	lilv_instance_connect_port(li->inst, li->audio_out, buf);
	for (i = 0; i < li->n_atom_out; i++) {
		li->atom_out[i]->atom.size = ATOM_CAPACITY - sizeof(LV2_Atom);
		li->atom_out[i]->atom.type = li->chunk_urid;
	}
	lilv_instance_run(li->inst, frames);
}

static void lv2_deactivate(void *instance)
{
	lilv_instance_deactivate(((struct lv2_instance *)instance)->inst);
}

static void lv2_cleanup(void *instance)
{
	struct lv2_instance *li = instance;
	uint32_t i;

	if (!li)
		return;
	if (li->inst)
		lilv_instance_free(li->inst);
	for (i = 0; i < li->n_atom; i++)
		free(li->atom_buffers[i]);
	free(li->atom_buffers);
	free(li->atom_out);
	free(li->port_values);
	free(li->param_port);
	free(li->input);
	free(li);
}

static const struct tolk_plugin_descriptor lv2_insert_descriptor = {
	.abi_version = TOLK_PLUGIN_ABI_VERSION,
	.name = "lv2",
	.summary = "an LV2 plugin hosted through lilv",
	.latency = lv2_latency,
	.activate = lv2_activate,
	.set_param = lv2_set_param,
	.run = lv2_run,
	.deactivate = lv2_deactivate,
	.cleanup = lv2_cleanup,
};

/* ---- checking and instantiating ------------------------------------ */

static const char *const supported_features[] = {
	LV2_URID__map, LV2_URID__unmap, LV2_OPTIONS__options, LV2_BUF_SIZE__boundedBlockLength,
	LV2_CORE__hardRTCapable, LV2_CORE__inPlaceBroken, NULL,
};

static int feature_supported(const char *uri)
{
	int i;
	for (i = 0; supported_features[i]; i++)
		if (!strcmp(supported_features[i], uri))
			return 1;
	return 0;
}

/* Every feature the plugin requires is one Tolk provides. */
static int check_features(const LilvPlugin *plugin, const char *source, const struct cfg_insert *in, char *err,
			  size_t errlen)
{
	LilvNodes *required = lilv_plugin_get_required_features(plugin);
	int ret = 0;

	LILV_FOREACH (nodes, r, required) {
		const char *f = lilv_node_as_uri(lilv_nodes_get(required, r));
		if (!ret && !feature_supported(f)) {
			snprintf(err, errlen, "%s:%d:%d: LV2 plugin '%s' needs the feature %s, which Tolk does not "
				 "provide", source, in->line, in->column, in->uri, f);
			ret = -EINVAL;
		}
	}
	lilv_nodes_free(required);
	return ret;
}

/* The instance's buffers, sized for the plugin's ports. */
static struct lv2_instance *instance_new(uint32_t n_ports, uint32_t max_frames)
{
	/* What run reads and writes, every page touched now (touched_alloc.h). */
	struct lv2_instance *li = alloc_touched(sizeof *li);

	if (!li)
		return NULL;
	li->latency_port = -1;
	li->n_ports = n_ports;
	li->port_values = alloc_touched((n_ports + 1) * sizeof *li->port_values);
	li->param_port = alloc_touched((n_ports + 1) * sizeof *li->param_port);
	li->atom_buffers = alloc_touched((n_ports + 1) * sizeof *li->atom_buffers);
	li->atom_out = alloc_touched((n_ports + 1) * sizeof *li->atom_out);
	li->input = alloc_touched(max_frames * sizeof *li->input);
	if (!li->port_values || !li->param_port || !li->atom_buffers || !li->atom_out || !li->input) {
		lv2_cleanup(li);
		return NULL;
	}
	return li;
}

/* One control input port becomes a Tolk parameter with its range and
 * default. */
static int add_param(struct lv2_instance *li, struct tolk_plugin_param *params, uint32_t *n_params, uint32_t p,
		     const char *sym, float min, float max)
{
	struct tolk_plugin_param *q = &params[*n_params];

	q->name = strdup(sym);
	q->unit = strdup("");
	q->min = min == min ? min : -1e9f;
	q->max = max == max ? max : 1e9f;
	q->def = li->port_values[p];
	if (!q->name || !q->unit) {
		free((char *)q->name);
		free((char *)q->unit);
		q->name = q->unit = NULL;
		return -ENOMEM;
	}
	li->param_port[(*n_params)++] = p;
	return 0;
}

/* An atom port gets its buffer: inputs an empty sequence, outputs room. */
static int add_atom(struct lv2_host *h, struct lv2_instance *li, int is_in)
{
	LV2_Atom_Sequence *seq = alloc_touched(ATOM_CAPACITY);

	if (!seq)
		return -ENOMEM;
	li->atom_buffers[li->n_atom++] = seq;
	if (is_in) {
		seq->atom.size = sizeof(LV2_Atom_Sequence_Body);
		seq->atom.type = h->map.map(h->map.handle, LV2_ATOM__Sequence);
	} else {
		li->atom_out[li->n_atom_out++] = seq;
	}
	return 0;
}

/* Port by port: the one audio input and output, the controls (inputs are
 * the parameters, an output may report latency), atom buffers. A port of
 * another kind that is not optional refuses the plugin. */
static int read_ports(struct lv2_host *h, const LilvPlugin *plugin, struct lv2_instance *li,
		      struct tolk_plugin_param *params, uint32_t *n_params, const char *source,
		      const struct cfg_insert *in, char *err, size_t errlen)
{
	uint32_t p, n_audio_in = 0, n_audio_out = 0;
	float *mins = calloc(li->n_ports + 1, sizeof *mins), *maxs = calloc(li->n_ports + 1, sizeof *maxs);
	float *defs = calloc(li->n_ports + 1, sizeof *defs);
	int ret = 0;

	if (!mins || !maxs || !defs) {
		ret = -ENOMEM;
		goto out;
	}
	lilv_plugin_get_port_ranges_float(plugin, mins, maxs, defs);
	for (p = 0; p < li->n_ports && !ret; p++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(plugin, p);
		int is_in = lilv_port_is_a(plugin, port, h->input);
		const char *sym = lilv_node_as_string(lilv_port_get_symbol(plugin, port));

		if (lilv_port_is_a(plugin, port, h->audio) && is_in) {
			li->audio_in = p;
			n_audio_in++;
		} else if (lilv_port_is_a(plugin, port, h->audio)) {
			li->audio_out = p;
			n_audio_out++;
		} else if (lilv_port_is_a(plugin, port, h->control)) {
			li->port_values[p] = defs[p] == defs[p] ? defs[p] : 0.0f;
			if (is_in)
				ret = add_param(li, params, n_params, p, sym, mins[p], maxs[p]);
			else if (lilv_port_has_property(plugin, port, h->reports_latency))
				li->latency_port = (int)p;
		} else if (lilv_port_is_a(plugin, port, h->atom)) {
			ret = add_atom(h, li, is_in);
		} else if (!lilv_port_has_property(plugin, port, h->optional)) {
			snprintf(err, errlen, "%s:%d:%d: LV2 plugin '%s' has port '%s' of a kind Tolk cannot "
				 "connect (CV or event)", source, in->line, in->column, in->uri, sym);
			ret = -EINVAL;
		}
	}
	if (!ret && (n_audio_in != 1 || n_audio_out != 1)) {
		snprintf(err, errlen, "%s:%d:%d: LV2 plugin '%s' has %u audio input(s) and %u output(s); an "
			 "insert is mono (one and one): look for its #mono variant", source, in->line, in->column,
			 in->uri, n_audio_in, n_audio_out);
		ret = -EINVAL;
	}
	if (!ret) {
		/* The designated latency port, where the plugin says so that way. */
		const LilvPort *port = lilv_plugin_get_port_by_designation(plugin, h->output, h->latency_designation);
		if (port)
			li->latency_port = (int)lilv_port_get_index(plugin, port);
	}
out:
	if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(mins);
	free(maxs);
	free(defs);
	return ret;
}

/* The room's values, each checked against the plugin's own range. */
static int apply_room_values(struct lv2_instance *li, const struct tolk_plugin_param *params, uint32_t n_params,
			     const char *source, const struct cfg_insert *in, char *err, size_t errlen)
{
	int i;

	for (i = 0; i < in->n_params; i++) {
		const struct cfg_param *cp = &in->params[i];
		uint32_t k;
		for (k = 0; k < n_params; k++)
			if (!strcmp(params[k].name, cp->name))
				break;
		if (k == n_params) {
			char list[256] = "";
			for (k = 0; k < n_params; k++)
				snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
					 params[k].name);
			snprintf(err, errlen, "%s:%d:%d: LV2 plugin '%s' has no control '%s' (it has: %s)", source,
				 cp->line, cp->column, in->uri, cp->name, list);
			return -EINVAL;
		}
		if (cp->value < params[k].min || cp->value > params[k].max) {
			snprintf(err, errlen, "%s:%d:%d: %s must be between %g and %g for '%s', not %g", source,
				 cp->line, cp->column, cp->name, params[k].min, params[k].max, in->uri, cp->value);
			return -EINVAL;
		}
		li->port_values[li->param_port[k]] = (float)cp->value;
	}
	return 0;
}

/* The features a plugin may ask for, kept in the instance for plugins
 * that hold on to them. */
static void set_features(struct lv2_host *h, struct lv2_instance *li, double rate, uint32_t max_frames)
{
	const LV2_URID int_type = h->map.map(h->map.handle, LV2_ATOM__Int);

	li->rate = (float)rate;
	li->block_min = 1;
	li->block_max = (int32_t)max_frames;
	li->chunk_urid = h->map.map(h->map.handle, LV2_ATOM__Chunk);
	li->options[0] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0,
					       h->map.map(h->map.handle, LV2_BUF_SIZE__minBlockLength),
					       sizeof(int32_t), int_type, &li->block_min };
	li->options[1] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0,
					       h->map.map(h->map.handle, LV2_BUF_SIZE__maxBlockLength),
					       sizeof(int32_t), int_type, &li->block_max };
	li->options[2] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0,
					       h->map.map(h->map.handle, LV2_PARAMETERS__sampleRate),
					       sizeof(float), h->map.map(h->map.handle, LV2_ATOM__Float), &li->rate };
	li->options[3] = (LV2_Options_Option){ LV2_OPTIONS_INSTANCE, 0, 0, 0, 0, NULL };
	li->f_map = (LV2_Feature){ LV2_URID__map, &h->map };
	li->f_unmap = (LV2_Feature){ LV2_URID__unmap, &h->unmap };
	li->f_options = (LV2_Feature){ LV2_OPTIONS__options, li->options };
	li->f_bounded = (LV2_Feature){ LV2_BUF_SIZE__boundedBlockLength, NULL };
	li->features[0] = &li->f_map;
	li->features[1] = &li->f_unmap;
	li->features[2] = &li->f_options;
	li->features[3] = &li->f_bounded;
	li->features[4] = NULL;
}

/* Instantiated, its ports connected, activated, and one silent block run
 * (off the realtime thread) to read the latency it reports. */
static int start_instance(struct lv2_host *h, const LilvPlugin *plugin, struct lv2_instance *li, double rate,
			  uint32_t max_frames, const char *source, const struct cfg_insert *in, char *err,
			  size_t errlen)
{
	uint32_t p, a = 0;
	float *probe;

	set_features(h, li, rate, max_frames);
	li->inst = lilv_plugin_instantiate(plugin, rate, li->features);
	if (!li->inst) {
		snprintf(err, errlen, "%s:%d:%d: LV2 plugin '%s' failed to instantiate at %.0f Hz", source, in->line,
			 in->column, in->uri, rate);
		return -EIO;
	}
	for (p = 0; p < li->n_ports; p++) {
		const LilvPort *port = lilv_plugin_get_port_by_index(plugin, p);
		if (lilv_port_is_a(plugin, port, h->control))
			lilv_instance_connect_port(li->inst, p, &li->port_values[p]);
		else if (lilv_port_is_a(plugin, port, h->atom))
			lilv_instance_connect_port(li->inst, p, li->atom_buffers[a++]);
		else if (!lilv_port_is_a(plugin, port, h->audio))
			lilv_instance_connect_port(li->inst, p, NULL);
	}
	lilv_instance_activate(li->inst);
	memset(li->input, 0, max_frames * sizeof *li->input);
	probe = calloc(max_frames, sizeof *probe);
	if (probe) {
		lv2_run(li, probe, max_frames < 256 ? max_frames : 256);
		free(probe);
	}
	if (li->latency_port >= 0 && li->port_values[li->latency_port] > 0)
		li->latency = (uint32_t)(li->port_values[li->latency_port] + 0.5f);
	return 0;
}

/* The name commands address an LV2 insert by: the plugin's own short
 * name (lv2:shortName, else its name), lower-cased, spaces to '-', only
 * [a-z0-9_-] kept; the URI's last part when that leaves nothing. */
static void insert_name_of(struct lv2_host *h, const LilvPlugin *plugin, const char *uri, char *name,
			   size_t name_len)
{
	LilvNode *short_key = lilv_new_uri(h->world, LV2_CORE_PREFIX "shortName");
	LilvNode *short_name = short_key ? lilv_world_get(h->world, lilv_plugin_get_uri(plugin), short_key, NULL)
					 : NULL;
	LilvNode *full = short_name ? NULL : lilv_plugin_get_name(plugin);
	const char *text = short_name ? lilv_node_as_string(short_name) : full ? lilv_node_as_string(full) : "";
	const char *tail = strrchr(uri, '/');
	size_t at = 0;

	for (; text && *text && at + 1 < name_len; text++) {
		char c = (char)tolower((unsigned char)*text);
		if (isspace((unsigned char)c) || c == '-')
			c = at && name[at - 1] != '-' ? '-' : 0; /* one '-' for a run, none first */
		else if (!isalnum((unsigned char)c) && c != '_')
			c = 0;
		if (c)
			name[at++] = c;
	}
	while (at && name[at - 1] == '-')
		at--;
	name[at] = '\0';
	if (!at || !(name[0] >= 'a' && name[0] <= 'z'))
		snprintf(name, name_len, "lv2-%s", tail && tail[1] ? tail + 1 : uri);
	lilv_node_free(short_name);
	lilv_node_free(short_key);
	lilv_node_free(full);
}

int lv2_host_instantiate(struct lv2_host *h, const char *source, const struct cfg_insert *in, double rate,
			 uint32_t max_frames, int check_only, const struct tolk_plugin_descriptor **desc,
			 void **instance, struct tolk_plugin_param **params_out, uint32_t *n_params_out,
			 float **values_out, char *name, size_t name_len, char *err, size_t errlen)
{
	const LilvPlugins *all = lilv_world_get_all_plugins(h->world);
	LilvNode *uri = lilv_new_uri(h->world, in->uri);
	const LilvPlugin *plugin = uri ? lilv_plugins_get_by_uri(all, uri) : NULL;
	struct tolk_plugin_param *params = NULL;
	struct lv2_instance *li = NULL;
	uint32_t n_ports, p, n_params = 0;
	int ret;

	lilv_node_free(uri);
	if (!plugin) {
		snprintf(err, errlen, "%s:%d:%d: no LV2 plugin '%s' is installed (lv2ls lists them)", source,
			 in->line, in->column, in->uri);
		return -ENOENT;
	}
	insert_name_of(h, plugin, in->uri, name, name_len);
	if ((ret = check_features(plugin, source, in, err, errlen)) < 0)
		return ret;
	n_ports = lilv_plugin_get_num_ports(plugin);
	li = instance_new(n_ports, max_frames);
	params = calloc(n_ports + 1, sizeof *params);
	if (!li || !params) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto fail;
	}
	if ((ret = read_ports(h, plugin, li, params, &n_params, source, in, err, errlen)) < 0 ||
	    (ret = apply_room_values(li, params, n_params, source, in, err, errlen)) < 0 || check_only)
		goto fail; /* checked: nothing to keep */
	if ((ret = start_instance(h, plugin, li, rate, max_frames, source, in, err, errlen)) < 0)
		goto fail;
	li->n_params = n_params;
	*values_out = calloc(n_params + 1, sizeof **values_out);
	if (!*values_out) {
		ret = -ENOMEM;
		goto fail;
	}
	for (p = 0; p < n_params; p++)
		(*values_out)[p] = li->port_values[li->param_port[p]];
	*desc = &lv2_insert_descriptor;
	*instance = li;
	*params_out = params;
	*n_params_out = n_params;
	return 0;

fail:
	plugin_params_free(params, n_params);
	lv2_cleanup(li);
	return ret;
}
