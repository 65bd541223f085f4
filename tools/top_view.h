/* tolkctl top. */
#ifndef TOLK_TOP_VIEW_H
#define TOLK_TOP_VIEW_H

#include <sys/types.h>

/* Runs until q, SIGINT or the engine goes. Returns tolkctl's exit status. */
/* The engine must run as this user, root or engine_uid (see
 * control_connect). */
int top_run(const char *control_path, uid_t engine_uid);

#endif
