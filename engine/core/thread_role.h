/* Which architectural thread is running. Each kind of thread sets its
 * role at its entry; functions that belong to some threads only assert it
 * at theirs, so that a call from the wrong side fails loudly in tests
 * instead of racing in a meeting. README's Architecture has the table:
 * entry function, files, what each may touch, how it is woken.
 *
 * Roles are bits, so that a function shared by two kinds of thread (a
 * capture ring's reader: the disk thread and the loudness meter) names
 * both. */
#ifndef TOLK_THREAD_ROLE_H
#define TOLK_THREAD_ROLE_H

#include <stdatomic.h>

enum thread_role {
	THREAD_ANY = 0,              /* never declared: a unit test's main, a tool */
	THREAD_CONTROL = 1 << 0,     /* main: the conference state, every command */
	THREAD_RT = 1 << 1,          /* JACK's process callback */
	THREAD_JACK_NOTIFY = 1 << 2, /* JACK's other callbacks: latency, xrun, ports, shutdown */
	THREAD_DISK = 1 << 3,        /* the recorder: rings to files, manifest, timeline */
	THREAD_ENCODE = 1 << 4,      /* the encode pool's workers (Opus, FLAC) */
	THREAD_LOUDNESS = 1 << 5,    /* R128 loudness of the language channels */
	THREAD_STREAM = 1 << 6,      /* the listener streams' network sender */
	THREAD_RECOVERY = 1 << 7,    /* mends what an unclean stop left open, at start */
	THREAD_PREROLL = 1 << 8,     /* keeps the last minute of the distribution channels */
	THREAD_INCIDENT = 1 << 9,    /* finishes an incident's folder: audio, report, hook */
	THREAD_RTP = 1 << 10,        /* RTP Opus for the phones: encodes and sends each 20 ms */
};

extern _Thread_local enum thread_role tolk_thread_role;

static inline void thread_role_set(enum thread_role role)
{
	tolk_thread_role = role;
}

/* For callbacks on threads that are not ours (libjack's): take the role
 * unless the thread has one already, as when libjack calls back on the
 * control thread from inside a call the control thread made. */
static inline void thread_role_adopt(enum thread_role role)
{
	if (tolk_thread_role == THREAD_ANY)
		tolk_thread_role = role;
}

/* Calls from the wrong thread: how many, and the first one's function.
 * Strict (unit tests, and integration tests through TOLK_THREAD_STRICT=1):
 * the first one aborts, naming the function. Otherwise they are counted,
 * and the control thread logs them (a running meeting does not stop for
 * a bug that has not yet hurt it). */
extern _Atomic unsigned long tolk_thread_violations;
extern _Atomic(const char *) tolk_thread_first_violation;
extern int tolk_thread_strict;

void thread_role_violation(const char *func, unsigned have, unsigned want);

/* One role, or several or'ed, checked in every build: a thread-local read
 * and a compare. A thread that never declared a role passes. */
#define ASSERT_THREAD(roles)                                                                  \
	do {                                                                                  \
		if (tolk_thread_role != THREAD_ANY && !(tolk_thread_role & (roles)))          \
			thread_role_violation(__func__, (unsigned)tolk_thread_role, (roles)); \
	} while (0)

#endif
