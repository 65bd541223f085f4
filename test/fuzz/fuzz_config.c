/* Fuzz target: the channels.yaml loader, on any bytes. */
#include <stddef.h>
#include <stdint.h>

#include "../../engine/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[TOLK_ERROR_MAX];

	if (config_load_string(&cfg, (const char *)data, size, "fuzz.yaml", err, sizeof err) == 0)
		config_free(&cfg);
	return 0;
}
