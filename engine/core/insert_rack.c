#include "insert_rack.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread_role.h"
#include "touched_alloc.h"

struct rack_message {
	uint32_t insert;
	uint32_t param; /* or RACK_PARAM_BYPASS */
	float value;
	uint32_t unused;
};

void delay_line_run(struct delay_line *d, float *x, uint32_t n)
{
	float *buf = d->buf;
	const uint32_t len = d->len;
	uint32_t pos = d->pos, i;

	if (!len)
		return;
	for (i = 0; i < n; i++) {
		float t = buf[pos];
		buf[pos] = x[i];
		x[i] = t;
		if (++pos == len)
			pos = 0;
	}
	d->pos = pos;
}

/* Written now so that the realtime side never takes a first-touch fault. */
static int delay_line_alloc(struct delay_line *d, uint32_t len)
{
	d->len = len;
	d->pos = 0;
	if (!len)
		return 0;
	d->buf = alloc_touched(len * sizeof *d->buf); /* malloc + memset would leave it unfaulted */
	return d->buf ? 0 : -ENOMEM;
}

int rack_init(struct insert_rack *k, int n_mics, int n_outputs, float rate, uint32_t max_frames)
{
	int ret;

	if (!k || n_mics < 0 || n_outputs < 1 || rate <= 0 || max_frames == 0)
		return -EINVAL;
	memset(k, 0, sizeof *k);
	k->n_mics = n_mics;
	k->n_outputs = n_outputs;
	k->n_chains = 2 * n_mics + n_outputs;
	k->rate = rate;
	k->max_frames = max_frames;
	k->chains = alloc_touched((size_t)k->n_chains * sizeof *k->chains);
	k->scratch = alloc_touched(max_frames * sizeof *k->scratch);
	if (!k->chains || !k->scratch) {
		ret = -ENOMEM;
		goto fail;
	}
	memset(k->scratch, 0, max_frames * sizeof *k->scratch);
	if ((ret = ring_alloc(&k->queue, RACK_QUEUE_MESSAGES * sizeof(struct rack_message))) < 0)
		goto fail;
	return 0;

fail:
	free(k->chains);
	free(k->scratch);
	memset(k, 0, sizeof *k);
	return ret;
}

int rack_chain_index(const struct insert_rack *k, enum chain_kind kind, int index)
{
	switch (kind) {
	case CHAIN_MIC: return index;
	case CHAIN_OUTPUT: return k->n_mics + index;
	default: return k->n_mics + k->n_outputs + index;
	}
}

enum chain_kind rack_chain_kind(const struct insert_rack *k, int chain, int *index)
{
	if (chain < k->n_mics) {
		*index = chain;
		return CHAIN_MIC;
	}
	if (chain < k->n_mics + k->n_outputs) {
		*index = chain - k->n_mics;
		return CHAIN_OUTPUT;
	}
	*index = chain - k->n_mics - k->n_outputs;
	return CHAIN_PHONES;
}

void plugin_params_free(struct tolk_plugin_param *params, uint32_t n)
{
	uint32_t i;

	for (i = 0; params && i < n; i++) {
		free((char *)params[i].name); /* NULL if never copied */
		free((char *)params[i].unit);
	}
	free(params);
}

static void free_params(struct insert *in)
{
	plugin_params_free((struct tolk_plugin_param *)in->params, in->n_params);
	free(in->values);
	in->params = NULL;
	in->values = NULL;
}

static int copy_params(struct insert *in, const struct tolk_plugin_param *params, uint32_t n,
		       const float *values)
{
	struct tolk_plugin_param *p = calloc(n ? n : 1, sizeof *p);
	uint32_t i;

	in->params = p;
	in->values = alloc_touched((n ? n : 1) * sizeof *in->values);
	in->n_params = n;
	if (!p || !in->values)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		p[i] = params[i];
		p[i].name = strdup(params[i].name);
		p[i].unit = strdup(params[i].unit ? params[i].unit : "");
		if (!p[i].name || !p[i].unit)
			return -ENOMEM;
		in->values[i] = values ? values[i] : params[i].def;
	}
	return 0;
}

/* Is this name taken in chain c (its first `count` inserts)? */
static int name_taken(const struct insert_rack *k, const struct insert_chain *c, const char *name)
{
	int i;

	for (i = 0; i < c->count; i++)
		if (!strcmp(k->inserts[c->first + i].name, name))
			return 1;
	return 0;
}

int rack_add(struct insert_rack *k, int chain, const struct tolk_plugin_descriptor *desc, void *instance,
	     const char *name, const char *plugin, const struct tolk_plugin_param *params, uint32_t n_params,
	     const float *values, int mandatory)
{
	struct insert_chain *c;
	struct insert *in;
	char unique[sizeof in->name];
	int first, n;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!k || !desc || !instance || !name || !*name || !plugin || chain < 0 || chain >= k->n_chains ||
	    k->prepared)
		return -EINVAL;
	snprintf(unique, sizeof unique, "%s", name);
	for (n = 2; name_taken(k, &k->chains[chain], unique); n++)
		snprintf(unique, sizeof unique, "%.50s-%d", name, n);
	c = &k->chains[chain];
	/* Chains are contiguous ranges: fill them in order. */
	first = c->count ? c->first : k->n_inserts;
	if (first + c->count != k->n_inserts)
		return -EINVAL;
	if (k->n_inserts == k->cap) {
		int cap = k->cap ? 2 * k->cap : 16;
		struct insert *more = realloc(k->inserts, (size_t)cap * sizeof *more);
		if (!more)
			return -ENOMEM;
		k->inserts = more;
		k->cap = cap;
	}
	in = &k->inserts[k->n_inserts];
	memset(in, 0, sizeof *in);
	if (copy_params(in, params, n_params, values) < 0) {
		free_params(in); /* the instance stays the caller's */
		return -ENOMEM;
	}
	in->desc = desc;
	in->instance = instance;
	in->mandatory = mandatory;
	snprintf(in->name, sizeof in->name, "%s", unique);
	snprintf(in->plugin, sizeof in->plugin, "%s", plugin);
	in->latency = desc->latency ? desc->latency(instance) : 0;
	in->wet = in->wet_target = 1.0f;
	c->first = first;
	k->n_inserts++;
	c->count++;
	return k->n_inserts - 1;
}

int rack_prepare(struct insert_rack *k)
{
	int c, i;

	ASSERT_THREAD(THREAD_CONTROL);
	k->mic_latency = k->output_latency = 0;
	for (c = 0; c < k->n_chains; c++) {
		struct insert_chain *ch = &k->chains[c];
		int index;
		enum chain_kind kind = rack_chain_kind(k, c, &index);

		ch->latency = 0;
		for (i = 0; i < ch->count; i++)
			ch->latency += k->inserts[ch->first + i].latency;
		if (kind == CHAIN_MIC && ch->latency > k->mic_latency)
			k->mic_latency = ch->latency;
		if (kind == CHAIN_OUTPUT && ch->latency > k->output_latency)
			k->output_latency = ch->latency;
	}
	for (c = 0; c < k->n_chains; c++) {
		struct insert_chain *ch = &k->chains[c];
		int index;
		enum chain_kind kind = rack_chain_kind(k, c, &index);
		uint32_t pad = kind == CHAIN_MIC ? k->mic_latency - ch->latency
			     : kind == CHAIN_OUTPUT ? k->output_latency - ch->latency : 0;
		if (delay_line_alloc(&ch->align, pad) < 0)
			return -ENOMEM;
	}
	for (i = 0; i < k->n_inserts; i++)
		if (delay_line_alloc(&k->inserts[i].dry, k->inserts[i].latency) < 0)
			return -ENOMEM;
	if (delay_line_alloc(&k->floor_align, k->mic_latency) < 0)
		return -ENOMEM;
	k->prepared = 1;
	return 0;
}

void rack_free(struct insert_rack *k)
{
	int i;

	if (!k)
		return;
	for (i = 0; i < k->n_inserts; i++) {
		struct insert *in = &k->inserts[i];
		if (!in->donated) {
			if (in->desc->deactivate)
				in->desc->deactivate(in->instance);
			in->desc->cleanup(in->instance);
			free(in->dry.buf);
		}
		free_params(in);
	}
	for (i = 0; k->chains && i < k->n_chains; i++)
		if (!k->chains[i].align_donated)
			free(k->chains[i].align.buf);
	if (!k->floor_donated)
		free(k->floor_align.buf);
	free(k->adopt_insert);
	free(k->adopt_chain);
	free(k->inserts);
	free(k->chains);
	free(k->scratch);
	ring_free(&k->queue);
	memset(k, 0, sizeof *k);
}

int rack_send(struct insert_rack *k, int insert, uint32_t param, float value)
{
	struct rack_message m = { .insert = (uint32_t)insert, .param = param, .value = value };
	struct insert *in;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!k || insert < 0 || insert >= k->n_inserts || !isfinite(value))
		return -EINVAL;
	in = &k->inserts[insert];
	if (param != RACK_PARAM_BYPASS && param >= in->n_params)
		return -EINVAL;
	if (ring_write(&k->queue, &m, sizeof m) != sizeof m) {
		k->dropped_messages++;
		return -EAGAIN;
	}
	if (param == RACK_PARAM_BYPASS)
		in->bypassed = value != 0.0f;
	else
		in->values[param] = value;
	return 0;
}

static int adopt_maps(struct insert_rack *k)
{
	int i;

	if (k->adopt_insert)
		return 0;
	k->adopt_insert = malloc((size_t)(k->n_inserts ? k->n_inserts : 1) * sizeof *k->adopt_insert);
	k->adopt_chain = malloc((size_t)k->n_chains * sizeof *k->adopt_chain);
	if (!k->adopt_insert || !k->adopt_chain)
		return -ENOMEM;
	for (i = 0; i < k->n_inserts; i++)
		k->adopt_insert[i] = -1;
	for (i = 0; i < k->n_chains; i++)
		k->adopt_chain[i] = -1;
	return 0;
}

int rack_adopt_chain(struct insert_rack *k, int chain, struct insert_rack *old, int old_chain)
{
	struct insert_chain *c, *oc;
	int i;

	ASSERT_THREAD(THREAD_CONTROL);
	if (!k || !old || !k->prepared || chain < 0 || chain >= k->n_chains || old_chain < 0 ||
	    old_chain >= old->n_chains || (old->adopt && old->adopt != k))
		return -EINVAL;
	c = &k->chains[chain];
	oc = &old->chains[old_chain];
	if (c->count != oc->count)
		return -EINVAL;
	for (i = 0; i < c->count; i++) {
		const struct insert *in = &k->inserts[c->first + i], *was = &old->inserts[oc->first + i];
		if (in->desc != was->desc || in->latency != was->latency || in->n_params != was->n_params ||
		    strcmp(in->name, was->name) || was->donated)
			return -EINVAL;
	}
	if (adopt_maps(k) < 0)
		return -ENOMEM;
	for (i = 0; i < c->count; i++) {
		struct insert *in = &k->inserts[c->first + i], *was = &old->inserts[oc->first + i];
		if (in->desc->deactivate)
			in->desc->deactivate(in->instance);
		in->desc->cleanup(in->instance);
		free(in->dry.buf);
		in->instance = was->instance;
		in->dry.buf = was->dry.buf;
		in->bypassed = was->bypassed;
		if (in->n_params)
			memcpy(in->values, was->values, in->n_params * sizeof *in->values);
		was->donated = 1;
		k->adopt_insert[c->first + i] = oc->first + i;
	}
	if (c->align.len == oc->align.len && !oc->align_donated) {
		free(c->align.buf);
		c->align.buf = oc->align.buf;
		oc->align_donated = 1;
		k->adopt_chain[chain] = old_chain;
	}
	k->adopt = old;
	return 0;
}

void rack_adopt_floor(struct insert_rack *k, struct insert_rack *old)
{
	ASSERT_THREAD(THREAD_CONTROL);
	if (!k || !old || k->floor_align.len != old->floor_align.len || old->floor_donated)
		return;
	free(k->floor_align.buf);
	k->floor_align.buf = old->floor_align.buf;
	old->floor_donated = 1;
	k->floor_donated = -1; /* RT takes the position; then it is k's own */
	k->adopt = old;
}

/* RT, first cycle after a reload: the running state of what was moved. */
static void take_over(struct insert_rack *k)
{
	const struct insert_rack *old = k->adopt;
	int i;

	for (i = 0; k->adopt_insert && i < k->n_inserts; i++)
		if (k->adopt_insert[i] >= 0) {
			const struct insert *was = &old->inserts[k->adopt_insert[i]];
			k->inserts[i].wet = was->wet;
			k->inserts[i].wet_target = was->wet_target;
			k->inserts[i].dry.pos = was->dry.pos;
		}
	for (i = 0; k->adopt_chain && i < k->n_chains; i++)
		if (k->adopt_chain[i] >= 0)
			k->chains[i].align.pos = old->chains[k->adopt_chain[i]].align.pos;
	if (k->floor_donated == -1) {
		k->floor_align.pos = old->floor_align.pos;
		k->floor_donated = 0;
	}
	k->adopt = NULL;
}

void rack_apply(struct insert_rack *k)
{
	struct rack_message m;
	int budget = RACK_QUEUE_MESSAGES; /* bounded: what was there when we came */

	ASSERT_THREAD(THREAD_RT);
	if (k->adopt)
		take_over(k);
	while (budget-- > 0 && ring_read(&k->queue, &m, sizeof m) == sizeof m) {
		struct insert *in;
		if (m.insert >= (uint32_t)k->n_inserts)
			continue;
		in = &k->inserts[m.insert];
		if (m.param == RACK_PARAM_BYPASS)
			in->wet_target = m.value != 0.0f ? 0.0f : 1.0f;
		else
			in->desc->set_param(in->instance, m.param, m.value);
	}
}

static void run_insert(struct insert_rack *k, struct insert *in, float *buf, uint32_t n)
{
	const int fading = in->wet != 1.0f || in->wet_target != 1.0f;
	float *dry = k->scratch;
	uint32_t i;

	/* The dry path runs whenever it may be heard, and always when the
	 * insert has latency and may be bypassed, so that its delay line is
	 * current when a bypass begins. */
	if (fading || (in->latency && !in->mandatory)) {
		memcpy(dry, buf, n * sizeof *dry);
		delay_line_run(&in->dry, dry, n);
	}
	in->desc->run(in->instance, buf, n);
	if (fading) {
		const float step = 1.0f / (float)(RACK_BYPASS_MS / 1000.0 * k->rate);
		float w = in->wet;
		for (i = 0; i < n; i++) {
			if (w != in->wet_target)
				w = w < in->wet_target ? fminf(w + step, in->wet_target) : fmaxf(w - step, in->wet_target);
			buf[i] = dry[i] + w * (buf[i] - dry[i]);
		}
		in->wet = w;
	}
}

void rack_run(struct insert_rack *k, int chain, float *buf, uint32_t n)
{
	struct insert_chain *ch = &k->chains[chain];
	int i;

	ASSERT_THREAD(THREAD_RT);
	for (i = 0; i < ch->count; i++)
		run_insert(k, &k->inserts[ch->first + i], buf, n);
	delay_line_run(&ch->align, buf, n);
}

void rack_align_floor(struct insert_rack *k, float *buf, uint32_t n)
{
	delay_line_run(&k->floor_align, buf, n);
}

uint32_t rack_chain_delay(const struct insert_rack *k, int chain)
{
	return k->chains[chain].latency + k->chains[chain].align.len;
}

float rack_last_monitor(const struct insert_rack *k, int chain, const char *name)
{
	const struct insert_chain *c;

	if (!k || chain < 0 || chain >= k->n_chains)
		return 0.0f;
	c = &k->chains[chain];
	return c->count ? rack_monitor(k, c->first + c->count - 1, name) : 0.0f;
}

int rack_each_memory(const struct insert_rack *k, int (*fn)(void *addr, size_t len, void *user), void *user)
{
	int i, ret;

	if ((ret = fn(k->inserts, (size_t)k->n_inserts * sizeof *k->inserts, user)) ||
	    (ret = fn(k->chains, (size_t)k->n_chains * sizeof *k->chains, user)) ||
	    (ret = fn(k->scratch, k->max_frames * sizeof *k->scratch, user)) ||
	    (ret = fn(k->queue.data, k->queue.size, user)) ||
	    (ret = fn(k->floor_align.buf, k->floor_align.len * sizeof(float), user)))
		return ret;
	for (i = 0; i < k->n_inserts; i++)
		if ((ret = fn(k->inserts[i].dry.buf, k->inserts[i].dry.len * sizeof(float), user)))
			return ret;
	for (i = 0; i < k->n_chains; i++)
		if ((ret = fn(k->chains[i].align.buf, k->chains[i].align.len * sizeof(float), user)))
			return ret;
	return 0;
}

float rack_monitor(const struct insert_rack *k, int insert, const char *name)
{
	const struct insert *in;
	uint32_t i;

	if (!k || insert < 0 || insert >= k->n_inserts)
		return 0.0f;
	in = &k->inserts[insert];
	for (i = 0; in->desc->monitor && i < in->desc->n_monitors; i++)
		if (!strcmp(in->desc->monitors[i].name, name))
			return in->desc->monitor(in->instance, i);
	return 0.0f;
}
