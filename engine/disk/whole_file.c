#include "whole_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

char *whole_file_read(const char *path)
{
	FILE *f = fopen(path, "rbe");
	char *text = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)len + 1)) && fread(text, 1, (size_t)len, f) == (size_t)len) {
		text[len] = '\0';
	} else {
		free(text);
		text = NULL;
		errno = errno ? errno : EIO;
	}
	fclose(f);
	return text;
}
