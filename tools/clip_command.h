/* tolkctl clip MEETING CHANNEL FROM TO [--format wav|flac|opus] [--out FILE]
 * [--dir RECORDINGS]: a sample-exact clip (engine/disk/clip.h), cut here
 * from the files; the recordings folder is the engine's (record status)
 * unless --dir names one. */
#ifndef TOLK_CLIP_COMMAND_H
#define TOLK_CLIP_COMMAND_H

#include <stddef.h>

/* Asks the engine for its recordings folder into dir: 0, or -1 when it
 * cannot be reached (said on stderr). */
typedef int (*clip_ask_dir)(void *user, char *dir, size_t len);

/* argv[0] is "clip". Returns tolkctl's exit status. */
int clip_command(int argc, char **argv, clip_ask_dir ask, void *user);

#endif
