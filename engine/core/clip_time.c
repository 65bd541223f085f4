#include "clip_time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* "2026-12-02T11:42:00.250Z" into ms since 1970; -1 when it is not that. */
long long clip_iso_ms(const char *s)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec, n = 0;
	double frac = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.') {
		char *end;
		if (!isdigit((unsigned char)s[1]))
			return -1;
		frac = strtod(s, &end);
		s = end;
	}
	if (*s == 'Z')
		s++;
	if (*s || frac >= 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm = (struct tm){ .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec };
	return (long long)timegm(&tm) * 1000 + llround(frac * 1000);
}

/* "1:02:03.5", "2:03", "123.25" into seconds; -1 when it is not that. */
static double clock_seconds(const char *s)
{
	double part[3], v;
	int n = 0;
	char *end;

	while (n < 3) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = strtod(s, &end);
		part[n++] = v;
		s = end;
		if (*s != ':')
			break;
		if (v != floor(v))
			return -1; /* only the seconds have a fraction */
		s++;
	}
	if (*s)
		return -1;
	if (n == 1)
		return part[0];
	if (n == 2)
		return part[1] < 60 ? part[0] * 60 + part[1] : -1;
	return part[1] < 60 && part[2] < 60 ? part[0] * 3600 + part[1] * 60 + part[2] : -1;
}

int clip_parse_time(const char *when, long long first_sample, unsigned rate, long long *sample)
{
	const long long per_day = 86400LL * rate;
	long long ms, day, tod;
	double secs;

	if (!when || !*when || !rate)
		return -EINVAL;
	if (when[0] == '+') {
		if ((secs = clock_seconds(when + 1)) < 0)
			return -EINVAL;
		*sample = first_sample + llround(secs * rate);
		return 0;
	}
	if ((ms = clip_iso_ms(when)) >= 0) {
		/* Whole seconds exactly, the fraction rounded to a sample. */
		*sample = ms / 1000 * (long long)rate + llround((double)(ms % 1000) * rate / 1000.0);
		return 0;
	}
	/* A time of day has all three parts: "11:42" could be either. */
	if (!strchr(when, ':') || strchr(when, ':') == strrchr(when, ':') || (secs = clock_seconds(when)) < 0 ||
	    secs >= 86400)
		return -EINVAL;
	day = first_sample / per_day * per_day;
	tod = llround(secs * rate);
	*sample = day + tod < first_sample - (long long)rate ? day + per_day + tod : day + tod;
	return 0;
}
