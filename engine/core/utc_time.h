/* Wall-clock time as the archive and the logs write it: UTC, milliseconds;
 * and the monotonic clock, for timeouts and intervals that a change of the
 * wall clock must not bend. */
#ifndef TOLK_UTC_TIME_H
#define TOLK_UTC_TIME_H

#include <stddef.h>
#include <stdint.h>

#define UTC_ISO_MAX 32

/* Milliseconds since the epoch. */
int64_t utc_now_ms(void);
/* CLOCK_MONOTONIC, in milliseconds and in microseconds. */
int64_t monotonic_ms(void);
int64_t monotonic_us(void);
/* "2026-11-22T20:20:00.123Z" */
void utc_iso_ms(int64_t ms, char buf[UTC_ISO_MAX]);
/* strftime of the UTC second of ms, with fmt. */
void utc_format(int64_t ms, const char *fmt, char *buf, size_t len);

#endif
