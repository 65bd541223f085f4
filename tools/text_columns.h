/* Columns for the tools' readable output: padded by characters, not
 * bytes, so that "Français" lines up with "English". */
#ifndef TOLK_TEXT_COLUMNS_H
#define TOLK_TEXT_COLUMNS_H

#include <stdio.h>

static inline void print_padded(const char *s, int width)
{
	int chars = 0;
	const char *p;

	for (p = s; *p; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			chars++;
	printf("%s%*s", s, width > chars ? width - chars : 0, "");
}

#endif
