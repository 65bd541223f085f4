#include "thread_role.h"

#include <stdio.h>
#include <stdlib.h>

_Thread_local enum thread_role tolk_thread_role = THREAD_ANY;
_Atomic unsigned long tolk_thread_violations;
_Atomic(const char *) tolk_thread_first_violation;
#ifdef NDEBUG
int tolk_thread_strict = 0;
#else
int tolk_thread_strict = 1;
#endif

/* Not for the realtime thread in a meeting, but reached only when a call
 * already broke the rules: counting is lock-free, and only strict mode
 * (tests) writes and aborts. */
void thread_role_violation(const char *func, unsigned have, unsigned want)
{
	const char *none = NULL;

	atomic_fetch_add_explicit(&tolk_thread_violations, 1, memory_order_relaxed);
	atomic_compare_exchange_strong(&tolk_thread_first_violation, &none, func);
	if (tolk_thread_strict) {
		fprintf(stderr, "tolk: BUG: %s called on a thread of role 0x%x; it belongs to 0x%x\n", func, have,
			want);
		abort();
	}
}
