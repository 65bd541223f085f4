/* LV2 plugins as Tolk inserts, through lilv: any installed mono plugin
 * (one audio input, one audio output) can sit in a chain. Everything here
 * runs off the realtime thread except the descriptor's run and set_param. */
#ifndef TOLK_LV2_HOST_H
#define TOLK_LV2_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../plugin.h"

struct lv2_host;

/* Load the world of installed plugins. NULL when out of memory. */
struct lv2_host *lv2_host_open(void);
/* Thread: control. */
void lv2_host_close(struct lv2_host *h);

/* Instantiate and activate the plugin of a chain entry with its
 * parameters, or explain (file:line:col) why not. On success *desc and
 * *instance run it, and params, n_params and values describe its controls
 * (the caller frees the parameter table with plugin_params_free, and the values). With
 * check_only nothing is instantiated. Thread: control. */
int lv2_host_instantiate(struct lv2_host *h, const char *source, const struct cfg_insert *in, double rate,
			 uint32_t max_frames, int check_only, const struct tolk_plugin_descriptor **desc,
			 void **instance, struct tolk_plugin_param **params, uint32_t *n_params, float **values,
			 char *name, size_t name_len, char *err, size_t errlen);

#endif
