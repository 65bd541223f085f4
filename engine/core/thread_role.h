/* Which architectural thread is running. Debug builds assert it at the
 * entry of functions that belong to one thread only, so that a call from
 * the wrong side fails loudly in tests instead of racing in a meeting. */
#ifndef TOLK_THREAD_ROLE_H
#define TOLK_THREAD_ROLE_H

#include <assert.h>

enum thread_role {
	THREAD_ANY = 0,
	THREAD_CONTROL,
	THREAD_RT,
	THREAD_DISK,
};

extern _Thread_local enum thread_role tolk_thread_role;

static inline void thread_role_set(enum thread_role role)
{
	tolk_thread_role = role;
}

/* A thread that never declared a role (a unit test's main, say) passes. */
#define ASSERT_THREAD(role) \
	assert(tolk_thread_role == THREAD_ANY || tolk_thread_role == (role))

#endif
