#include "utc_time.h"

#include <stdio.h>
#include <time.h>

int64_t utc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t monotonic_ms(void)
{
	return monotonic_us() / 1000;
}

void utc_format(int64_t ms, const char *fmt, char *buf, size_t len)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, fmt, &tm);
}

void utc_iso_ms(int64_t ms, char buf[UTC_ISO_MAX])
{
	char base[24];

	utc_format(ms, "%Y-%m-%dT%H:%M:%S", base, sizeof base);
	snprintf(buf, UTC_ISO_MAX, "%.19s.%03dZ", base, (int)(ms % 1000 + 1000) % 1000);
}
