/* Every built-in plugin, loaded as the engine loads it, runs 30 s of audio
 * without one call to the allocator: run() is realtime code. Built without
 * sanitizers, because it puts its own malloc in front of libc's.
 *   plugin_no_alloc PLUGIN.so... */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../engine/plugin.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);

static int counting, count;

void *malloc(size_t n)
{
	count += counting;
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	count += counting;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	count += counting;
	return __libc_realloc(p, n);
}

int main(int argc, char **argv)
{
	static float buf[1024];
	int a, ok = 0, bad = 0;

	for (a = 1; a < argc; a++) {
		void *h = dlopen(argv[a], RTLD_NOW | RTLD_LOCAL);
		tolk_plugin_entry_fn entry = h ? (tolk_plugin_entry_fn)dlsym(h, TOLK_PLUGIN_ENTRY) : NULL;
		const struct tolk_plugin_descriptor *d = entry ? entry() : NULL;
		void *inst;
		int k, j;

		if (!d || !(inst = d->instantiate(48000, 1024))) {
			printf("[  FAILED  ] %s: cannot load (%s)\n", argv[a], dlerror());
			bad++;
			continue;
		}
		if (d->activate)
			d->activate(inst);
		count = 0;
		counting = 1;
		for (k = 0; k < 48000 * 30 / 1024; k++) {
			for (j = 0; j < 1024; j++) /* loud and quiet, so every stage acts */
				buf[j] = (k / 50 % 2 ? 0.9f : 0.001f) * (float)((k * 1024 + j) % 97 - 48) / 48.0f;
			if (k % 100 == 0)
				d->set_param(inst, 0, d->params[0].def);
			d->run(inst, buf, 1024);
		}
		counting = 0;
		if (count) {
			printf("[  FAILED  ] %s: %d allocation(s) in run()\n", d->name, count);
			bad++;
		} else {
			printf("[       OK ] %s: no allocation in 30 s of run()\n", d->name);
			ok++;
		}
		if (d->deactivate)
			d->deactivate(inst);
		d->cleanup(inst);
	}
	printf("[  PASSED  ] %d test(s).\n", ok);
	if (bad)
		printf("[  FAILED  ] %d test(s)\n", bad);
	return bad != 0;
}
