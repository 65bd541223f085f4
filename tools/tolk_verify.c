/* tolk-verify DIR: checks an archive against its manifest. DIR is a
 * meeting folder (holding manifest.json) or a recordings folder whose
 * meeting folders hold one each. Every listed file is re-hashed (SHA-256)
 * and compared; one line per file. Exit status: 0 when every file is
 * there and matches, 1 on any mismatch or missing file, 2 when there is
 * no manifest to read. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/core/sha256.h"
#include "../engine/disk/sha256_file.h"
#include "manifest_reader.h"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)len + 1)) && fread(text, 1, (size_t)len, f) == (size_t)len)
		text[len] = '\0';
	else {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

struct tally {
	int ok, bad, manifests;
	const char *dir;
};

static void check_file(void *user, const struct manifest_entry *e)
{
	struct tally *t = user;
	char path[8192], hex[65];
	int ret;

	if (strchr(e->file, '/')) { /* a manifest names files in its own folder only */
		printf("BAD       %s/%s (not a plain file name)\n", t->dir, e->file);
		t->bad++;
		return;
	}
	snprintf(path, sizeof path, "%s/%s", t->dir, e->file);
	ret = sha256_file(path, hex);
	if (ret == -ENOENT) {
		printf("MISSING   %s\n", path);
		t->bad++;
	} else if (ret < 0) {
		printf("UNREADABLE %s: %s\n", path, strerror(-ret));
		t->bad++;
	} else if (strcmp(hex, e->sha256)) {
		printf("MISMATCH  %s (sha256 %s, manifest %s)\n", path, hex, e->sha256);
		t->bad++;
	} else {
		printf("OK        %s %s %s frames\n", path, hex, e->frames);
		t->ok++;
	}
}

/* Checks one meeting folder. Returns -1 when its manifest is unreadable. */
static int verify_meeting(const char *dir, struct tally *t)
{
	char path[8192];
	char *text;
	int n;

	snprintf(path, sizeof path, "%s/manifest.json", dir);
	text = read_all(path);
	if (!text)
		return -1;
	t->dir = dir;
	n = manifest_each(text, check_file, t);
	free(text);
	if (n < 0) {
		fprintf(stderr, "tolk-verify: %s: not a Tolk manifest\n", path);
		t->bad++;
		return 0;
	}
	t->manifests++;
	return 0;
}

int main(int argc, char **argv)
{
	struct tally t = { 0, 0, 0, NULL };
	struct dirent *d;
	DIR *dir;

	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: tolk-verify DIR\n"
			"Checks every file of a Tolk archive against its manifest.json (SHA-256).\n"
			"DIR is a meeting folder, or a recordings folder of meeting folders.\n"
			"Exit status: 0 all good, 1 a file is missing or differs, 2 no manifest.\n");
		return argc == 2 ? 0 : 2;
	}
	if (verify_meeting(argv[1], &t) < 0) {
		dir = opendir(argv[1]);
		if (!dir) {
			fprintf(stderr, "tolk-verify: %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
		while ((d = readdir(dir))) {
			char sub[4096];
			struct stat st;
			if (d->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof sub, "%s/%s", argv[1], d->d_name);
			if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				verify_meeting(sub, &t);
		}
		closedir(dir);
	}
	if (!t.manifests) {
		fprintf(stderr, "tolk-verify: no manifest.json in %s\n", argv[1]);
		return 2;
	}
	printf("%d file(s) good, %d bad\n", t.ok, t.bad);
	return t.bad ? 1 : 0;
}
