/* Runs a fuzz target's entry point on files and folders of inputs, without
 * libFuzzer: how make test replays the seed corpus and every crash ever
 * found (test/fuzz/regressions/), under ASan and UBSan with any compiler.
 * Prints cmocka-style lines: one per folder, and the summary. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(buf = malloc((size_t)len + 1)) || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int i, passed = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		int n = 0, bad = 0;

		if (stat(argv[i], &st) < 0) {
			continue; /* a folder with nothing in it yet is not there */
		} else if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			while (d && (e = readdir(d))) {
				char path[4096];
				if (e->d_name[0] == '.')
					continue;
				snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
				if (run_file(path) < 0)
					bad++;
				n++;
			}
			if (d)
				closedir(d);
		} else {
			bad += run_file(argv[i]) < 0;
			n++;
		}
		/* A crash never gets here: the sanitizer ends the run, and the
		 * suite counts the missing summary as a failure. */
		if (bad) {
			printf("[  FAILED  ] %s: %d of %d input(s) unreadable\n", argv[i], bad, n);
			failed++;
		} else {
			printf("[       OK ] %s: %d input(s)\n", argv[i], n);
			passed++;
		}
	}
	printf("[  PASSED  ] %d test(s).\n", passed);
	if (failed)
		printf("[  FAILED  ] %d test(s)\n", failed);
	return failed != 0;
}
