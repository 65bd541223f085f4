/* Fuzz target: the manifest reader tolk-verify uses (and the JSON reader
 * under it, which also reads timeline lines). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/core/json_reader.h"
#include "../../tools/manifest_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(void *user, const struct manifest_entry *e)
{
	size_t *sum = user;
	*sum += strlen(e->file) + strlen(e->sha256) + strlen(e->frames);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	size_t sum = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	manifest_each(text, touch, &sum);
	jfree(json_parse(text));
	free(text);
	return 0;
}
