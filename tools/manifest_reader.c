#include "manifest_reader.h"

#include <stddef.h>

#include "../engine/core/json_reader.h"

int manifest_each(const char *text, void (*each)(void *user, const struct manifest_entry *e), void *user)
{
	struct jnode *root = json_parse(text), *files = member(root, "files"), *f;
	int n = 0;

	if (!root || !files || files->type != J_ARRAY) {
		jfree(root);
		return -1;
	}
	for (f = files->child; f; f = f->next) {
		struct manifest_entry e = {
			.file = text_of(member(f, "file")),
			.sha256 = text_of(member(f, "sha256")),
			.frames = text_of(member(f, "frames")),
			.bytes = text_of(member(f, "bytes")),
		};
		each(user, &e);
		n++;
	}
	jfree(root);
	return n;
}
