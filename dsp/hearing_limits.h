/* The hearing limiter's safety limits: name, range, default and unit, in
 * one table that both the plugin (its parameters, plugins/hearing_limiter.c)
 * and the room's config (the phones section, engine/core/config.c) are
 * made from. Safety values live in one place: a room cannot ask for a limit
 * the limiter would clamp, and the defaults cannot drift apart.
 *
 * X(name, min, max, default, unit), in the plugin's parameter order. The
 * defaults are Lingua ID's published behaviour and a typical headset's
 * calibration. */
#ifndef TOLK_DSP_HEARING_LIMITS_H
#define TOLK_DSP_HEARING_LIMITS_H

#define HEARING_LIMITS(X)                                  \
	X(dbspl_at_0dbfs, 70, 140, 110, "dB SPL")          \
	X(ceiling_dbspl, 60, 130, 100, "dB SPL")           \
	X(sustained_dbspl, 60, 130, 94, "dB SPL")          \
	X(sustained_ms, 10, 2000, 100, "ms")               \
	X(average_dbspl, 60, 110, 80, "dB SPL")            \
	X(warning_dbspl, 30, 100, 70, "dB SPL")            \
	X(backoff_db, 0, 30, 6, "dB")                      \
	X(backoff_minutes, 0.1, 240, 30, "min")

#endif
