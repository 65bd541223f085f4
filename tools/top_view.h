/* tolkctl top. */
#ifndef TOLK_TOP_VIEW_H
#define TOLK_TOP_VIEW_H

/* Runs until q, SIGINT or the engine goes. Returns tolkctl's exit status. */
int top_run(const char *control_path);

#endif
