/* The archive manifest (manifest.json) as tolk-verify reads it: the files
 * it lists, each with its SHA-256 and frame count. */
#ifndef TOLK_MANIFEST_READER_H
#define TOLK_MANIFEST_READER_H

struct manifest_entry {
	const char *file;   /* as written: a plain name in the meeting folder, or not */
	const char *sha256; /* "-" when missing */
	const char *frames; /* "-" when missing */
	const char *bytes;  /* the file's length; "-" in manifests older than it */
};

/* Calls each() for every file listed in text. Returns the number of files,
 * or -1 when text is not a Tolk manifest. */
int manifest_each(const char *text, void (*each)(void *user, const struct manifest_entry *e), void *user);

#endif
