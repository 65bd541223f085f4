/* The 24-bit samples the lossless formats share (encoder.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "encoder.h"

int encoder_s24(const float *pcm, uint32_t n, unsigned shift, int32_t **buf, uint32_t *cap)
{
	const float full = 8388608.0f; /* 2^23 */
	uint32_t i;

	if (n > *cap) {
		int32_t *more = realloc(*buf, n * sizeof *more);
		if (!more)
			return -ENOMEM;
		*buf = more;
		*cap = n;
	}
	for (i = 0; i < n; i++) {
		float v = pcm[i] * full;
		int32_t s;
		if (v >= full - 1.0f)
			s = 8388607;
		else if (v <= -full)
			s = -8388608;
		else
			s = v == v ? (int32_t)lrintf(v) : 0;
		(*buf)[i] = (int32_t)((uint32_t)s << shift);
	}
	return 0;
}
