/* Floats carried in _Atomic uint32_t: meters and loudness values cross
 * threads this way, without locks. */
#ifndef TOLK_FLOAT_BITS_H
#define TOLK_FLOAT_BITS_H

#include <stdint.h>
#include <string.h>

static inline uint32_t float_to_bits(float f)
{
	uint32_t b;
	memcpy(&b, &f, sizeof b);
	return b;
}

static inline float bits_to_float(uint32_t b)
{
	float f;
	memcpy(&f, &b, sizeof f);
	return f;
}

static inline uint64_t double_to_bits(double d)
{
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	return b;
}

static inline double bits_to_double(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

#endif
