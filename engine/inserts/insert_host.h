/* Builds the insert rack the room asks for: built-in plugins loaded from
 * <plugin dir>/<name>.so with dlopen, LV2 plugins through lilv, the hearing
 * limiter appended to every headphone feed. All before activation, never
 * on the realtime thread. Errors name the file, line and column of the
 * chain entry or parameter at fault. */
#ifndef TOLK_INSERT_HOST_H
#define TOLK_INSERT_HOST_H

#include <stddef.h>

#include "../core/config.h"
#include "../core/insert_rack.h"

#define INSERT_HOST_PLUGINS_MAX 32

struct insert_host {
	char dir[4096];
	struct {
		char name[TOLK_ID_MAX];
		void *handle;
		const struct tolk_plugin_descriptor *desc;
	} loaded[INSERT_HOST_PLUGINS_MAX];
	int n_loaded;
	struct lv2_host *lv2;
};

/* dir: --plugin-dir, or NULL for $TOLK_PLUGIN_DIR, else plugins/ next to
 * the executable (a build tree), else ../lib/tolk/plugins from it (an
 * installed tree), else the directory given at build time. Thread: control. */
void insert_host_init(struct insert_host *h, const char *dir);

/* Check every chain against the plugins (names, parameters, ranges). Thread: control. */
int insert_host_check(struct insert_host *h, const struct config *cfg, char *err, size_t errlen);

/* Instantiate and activate everything into rack (rack_init done), then
 * rack_prepare. Thread: control. */
int insert_host_build(struct insert_host *h, const struct config *cfg, struct insert_rack *rack, char *err,
		      size_t errlen);

/* After rack_free: unload. Thread: control. */
void insert_host_close(struct insert_host *h);

#endif
