#include "thread_role.h"

_Thread_local enum thread_role tolk_thread_role = THREAD_ANY;
