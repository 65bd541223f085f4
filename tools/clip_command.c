#include "clip_command.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../engine/disk/clip.h"

#ifndef TOLK_VERSION
#define TOLK_VERSION "0.1.0"
#endif

enum { CLIP_OK = 0, CLIP_REFUSED = 1, CLIP_USAGE = 2, CLIP_UNREACHABLE = 3 };

static int plain(const char *s)
{
	return *s && *s != '.' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(s);
}

int clip_command(int argc, char **argv, clip_ask_dir ask, void *user)
{
	static const struct option longs[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "wav", *out = NULL, *dir = NULL;
	char engine_dir[4096], meeting_dir[4400], name[512], why[1024];
	struct clip_request rq;
	int c, i;

	optind = 0; /* GNU getopt starts over: options may follow the names */
	while ((c = getopt_long(argc, argv, "f:o:d:", longs, NULL)) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': out = optarg; break;
		case 'd': dir = optarg; break;
		default: goto usage;
		}
	}
	if (argc - optind != 4)
		goto usage;
	if (strcmp(format, "wav") && strcmp(format, "flac") && strcmp(format, "opus")) {
		fprintf(stderr, "tolkctl clip: --format %s: wav, flac or opus\n", format);
		return CLIP_USAGE;
	}
	if (!plain(argv[optind]) || !plain(argv[optind + 1])) {
		fprintf(stderr, "tolkctl clip: the meeting and the channel are plain names (%s, %s)\n", argv[optind],
			argv[optind + 1]);
		return CLIP_USAGE;
	}
	if (!dir) {
		if (ask(user, engine_dir, sizeof engine_dir) < 0)
			return CLIP_UNREACHABLE;
		dir = engine_dir;
	}
	snprintf(meeting_dir, sizeof meeting_dir, "%s/%s", dir, argv[optind]);
	if (!out) {
		/* <meeting>_<channel>_<from>.<format>, the time without colons. */
		size_t at = (size_t)snprintf(name, sizeof name, "%s_%s_", argv[optind], argv[optind + 1]);
		for (i = 0; argv[optind + 2][i] && at + 8 < sizeof name; i++)
			if (argv[optind + 2][i] != ':')
				name[at++] = argv[optind + 2][i] == '+' ? 'p' : argv[optind + 2][i];
		snprintf(name + at, sizeof name - at, ".%s", format);
		out = name;
	}
	rq = (struct clip_request){ .meeting_dir = meeting_dir, .channel = argv[optind + 1], .from = argv[optind + 2],
				    .to = argv[optind + 3], .format = format, .software = "tolkctl " TOLK_VERSION };
	if (clip_cut(&rq, out, why, sizeof why) < 0) {
		fprintf(stderr, "tolkctl clip: %s\n", why);
		return CLIP_REFUSED;
	}
	printf("wrote %s and %s.provenance.json\n", out, out);
	return CLIP_OK;
usage:
	fprintf(stderr, "usage: tolkctl clip MEETING CHANNEL FROM TO [--format wav|flac|opus] [--out FILE]\n"
			"                    [--dir RECORDINGS]\n"
			"  FROM, TO: UTC (2026-12-02T11:42:00.25Z, or 11:42:00.25 on the meeting's day)\n"
			"            or offsets from the meeting's first sample (+90, +1:30, +1:02:03.5)\n");
	return CLIP_USAGE;
}
