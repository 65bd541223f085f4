/* What every file of the archive says of itself, in one place: the Vorbis
 * comments of FLAC and Opus come from here, and the recorder fills the
 * same facts into WAV's bext and iXML. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "encoder.h"

int encoder_tags(const struct encoder_info *info, struct encoder_tag *tags, char *buf, size_t buflen)
{
	int n = 0;

	tags[n++] = (struct encoder_tag){ "TITLE", info->title };
	tags[n++] = (struct encoder_tag){ "DATE", info->date };
	if (info->language && *info->language)
		tags[n++] = (struct encoder_tag){ "LANGUAGE", info->language };
	if (info->meeting)
		tags[n++] = (struct encoder_tag){ "MEETING", info->meeting };
	if (info->channel)
		tags[n++] = (struct encoder_tag){ "CHANNEL", info->channel };
	if (info->has_time_reference && buflen > 0) {
		/* The same sample count as WAV's bext TimeReference: equal in
		 * every file of one segment. */
		snprintf(buf, buflen, "%llu", (unsigned long long)info->time_reference);
		tags[n++] = (struct encoder_tag){ "TIME_REFERENCE", buf };
	}
	return n;
}

int encoder_r128_gain(const struct segment_loudness *l, int *gain)
{
	double g;

	if (!l || !isfinite(l->integrated))
		return 0;
	g = round((-23.0 - l->integrated) * 256.0);
	*gain = g > 32767 ? 32767 : g < -32768 ? -32768 : (int)g;
	return 1;
}
