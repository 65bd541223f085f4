/* The times a clip is asked for (tolkctl clip, the Archive view), as
 * samples since 1970 at the room's rate: UTC as "2026-12-02T11:42:00.250Z"
 * or "11:42:00.25" (that time of day on the meeting's day, or the next
 * one after it started), or an offset from the meeting's first sample as
 * "+90", "+1:30" or "+1:02:03.5". Pure: no clock is read. */
#ifndef TOLK_CLIP_TIME_H
#define TOLK_CLIP_TIME_H

/* "2026-12-02T11:42:00.250Z" (the Z optional, the fraction too) into ms
 * since 1970; -1 when it is not that. */
long long clip_iso_ms(const char *s);

/* The sample `when` names, given the meeting's first sample (samples since
 * 1970 at rate). 0, or -EINVAL when it is none of the forms above. */
int clip_parse_time(const char *when, long long first_sample, unsigned rate, long long *sample);

#endif
