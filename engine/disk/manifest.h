/* A meeting folder's manifest: manifest.jsonl grows a line per finished
 * file; manifest.json is rebuilt from it and put in place by rename, so a
 * reader never sees half of it. The recorder and the recovery of an
 * unclean segment both write it, each under an exclusive flock on
 * manifest.jsonl. Nothing here follows a link left in the folder.
 *
 * Thread: disk (the recorder's thread, or the recovery helper). */
#ifndef TOLK_MANIFEST_H
#define TOLK_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

struct segment_loudness;

/* What one manifest line says of one file. */
struct manifest_entry {
	const char *path;      /* the file; its base name goes in the line */
	const char *channel;
	const char *format;    /* wav, flac, opus */
	int segment;
	uint64_t first_frame;
	uint64_t frames;
	uint32_t rate;
	int recovered;         /* found after an unclean stop */
	const char *sha256;    /* its hex digest when already known, else NULL: hashed here */
	/* What the file says of itself, when known (a recovered file may not). */
	const char *reference;         /* bext OriginatorReference, or NULL */
	const char *language;          /* as its tags say, or NULL */
	int has_time_reference;
	uint64_t time_reference;       /* samples since 00:00 UTC of its first sample */
	const char *first_sample;      /* its UTC, ISO 8601, or NULL */
	const struct segment_loudness *loudness; /* or NULL: not measured */
};

/* Hashes the file (unless m->sha256 says) and appends its line to
 * dir/manifest.jsonl. Returns 0 or a negative errno with the reason in why. */
int manifest_append(const char *dir, const struct manifest_entry *m, char *why, size_t len);

/* The same for n files at once: one write and one fsync for all their
 * lines (a segment of 254 files closes in one). */
int manifest_append_all(const char *dir, const struct manifest_entry *m, int n, char *why, size_t len);

/* Rebuilds dir/manifest.json from its lines, and signs it
 * (manifest.json.sig) when a signing key is set. Returns 0 or a negative
 * errno. */
int manifest_rewrite(const char *dir, const char *meeting, uint32_t rate);

/* dir/manifest.jsonl as one string (read under the lock; "" when there is
 * none), or NULL when out of memory. Free it. */
char *manifest_lines(const char *dir);
/* 1 when those lines list a file of this base name. */
int manifest_has(const char *lines, const char *base);

#endif
