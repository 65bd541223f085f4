/* rtguard: an LD_PRELOAD library that catches a JACK process callback
 * doing what a realtime thread must not. It wraps the callback given to
 * jack_set_process_callback so that the thread knows, for the length of
 * each call, that it is realtime; while it is, every call to one of the
 * functions below is a violation: counted, and reported once per calling
 * place with its function name and a backtrace.
 *
 *   LD_PRELOAD=build/test/rtguard.so RTGUARD_LOG=FILE tolk ...
 *
 * The report goes to RTGUARD_LOG (default stderr), written with raw
 * system calls so that reporting never trips the guard; at exit a last
 * line says "rtguard: N violation(s) in M process cycle(s)". */
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <jack/jack.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RTGUARD_PLACES 64
#define RTGUARD_DEPTH 24

static __thread int in_rt;       /* inside the process callback */
static __thread int reporting;   /* inside our own report */
static atomic_ulong violations, cycles;
static int log_fd = 2;
static JackProcessCallback user_process;
static void *places[RTGUARD_PLACES]; /* return addresses already reported */
static atomic_int n_places;

static void raw_write(const char *s, size_t n)
{
	while (n > 0) {
		long w = syscall(SYS_write, log_fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void raw_puts(const char *s)
{
	raw_write(s, strlen(s));
}

/* Called at the top of every guarded function. Reports the first call
 * from each place; counts them all. Returns nothing: the call goes on, so
 * that the program behaves as it would without the guard. */
static void violation(const char *fn, void *caller)
{
	void *frames[RTGUARD_DEPTH];
	char line[160];
	int i, n, known = 0;

	if (!in_rt || reporting)
		return;
	reporting = 1;
	atomic_fetch_add(&violations, 1);
	n = atomic_load(&n_places);
	for (i = 0; i < n && i < RTGUARD_PLACES; i++)
		known |= places[i] == caller;
	if (!known && n < RTGUARD_PLACES) {
		places[atomic_fetch_add(&n_places, 1) % RTGUARD_PLACES] = caller;
		snprintf(line, sizeof line, "rtguard: VIOLATION: %s() called from the JACK process thread\n", fn);
		raw_puts(line);
		n = backtrace(frames, RTGUARD_DEPTH);
		backtrace_symbols_fd(frames, n, log_fd);
		raw_puts("rtguard: end of backtrace\n");
	}
	reporting = 0;
}

#define GUARD(name) violation(name, __builtin_return_address(0))

static int guarded_process(jack_nframes_t frames, void *arg)
{
	int ret;

	in_rt = 1;
	ret = user_process(frames, arg);
	in_rt = 0;
	atomic_fetch_add_explicit(&cycles, 1, memory_order_relaxed);
	return ret;
}

int jack_set_process_callback(jack_client_t *client, JackProcessCallback cb, void *arg)
{
	static int (*next)(jack_client_t *, JackProcessCallback, void *);

	if (!next)
		next = (int (*)(jack_client_t *, JackProcessCallback, void *))dlsym(RTLD_NEXT,
										  "jack_set_process_callback");
	user_process = cb;
	return next(client, guarded_process, arg);
}

/* ---- the guarded functions ------------------------------------------- */

/* dlsym may itself allocate before the real allocator is known: a little
 * static arena serves those calls. */
static char bootstrap[8192];
static size_t bootstrap_used;

static int from_bootstrap(const void *p)
{
	return (const char *)p >= bootstrap && (const char *)p < bootstrap + sizeof bootstrap;
}

static void *bootstrap_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (bootstrap_used + n > sizeof bootstrap)
		return NULL;
	p = bootstrap + bootstrap_used;
	bootstrap_used += n;
	return p;
}

#define NEXT(name) \
	static __typeof__(&name) next_##name; \
	if (!next_##name) \
		next_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static int resolving;

void *malloc(size_t n)
{
	static void *(*next)(size_t);

	GUARD("malloc");
	if (!next) {
		if (resolving)
			return bootstrap_alloc(n);
		resolving = 1;
		next = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
		resolving = 0;
	}
	return next(n);
}

void *calloc(size_t n, size_t size)
{
	static void *(*next)(size_t, size_t);

	GUARD("calloc");
	if (!next) {
		if (resolving)
			return bootstrap_alloc(n * size); /* the arena is zeroed */
		resolving = 1;
		next = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
		resolving = 0;
	}
	return next(n, size);
}

void *realloc(void *p, size_t n)
{
	NEXT(realloc);
	GUARD("realloc");
	if (from_bootstrap(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < 256 ? n : 256);
		return q;
	}
	return next_realloc(p, n);
}

void free(void *p)
{
	NEXT(free);
	GUARD("free");
	if (!p || from_bootstrap(p))
		return;
	next_free(p);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	NEXT(pthread_mutex_lock);
	GUARD("pthread_mutex_lock");
	return next_pthread_mutex_lock(m);
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	NEXT(pthread_cond_wait);
	GUARD("pthread_cond_wait");
	return next_pthread_cond_wait(c, m);
}

int sem_wait(sem_t *s)
{
	NEXT(sem_wait);
	GUARD("sem_wait");
	return next_sem_wait(s);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	NEXT(write);
	GUARD("write");
	return next_write(fd, buf, n);
}

ssize_t read(int fd, void *buf, size_t n)
{
	NEXT(read);
	GUARD("read");
	return next_read(fd, buf, n);
}

int fsync(int fd)
{
	NEXT(fsync);
	GUARD("fsync");
	return next_fsync(fd);
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	NEXT(open);
	GUARD("open");
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return next_open(path, flags, mode);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
	NEXT(sendto);
	GUARD("sendto");
	return next_sendto(fd, buf, n, flags, to, tolen);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
	NEXT(recvfrom);
	GUARD("recvfrom");
	return next_recvfrom(fd, buf, n, flags, from, fromlen);
}

int usleep(useconds_t us)
{
	NEXT(usleep);
	GUARD("usleep");
	return next_usleep(us);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	NEXT(nanosleep);
	GUARD("nanosleep");
	return next_nanosleep(req, rem);
}

/* printf family: each is reported, then does its work through the v-form. */
int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	NEXT(vfprintf);
	GUARD("vfprintf");
	return next_vfprintf(f, fmt, ap);
}

int vprintf(const char *fmt, va_list ap)
{
	NEXT(vfprintf);
	GUARD("vprintf");
	return next_vfprintf(stdout, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	NEXT(vfprintf);
	GUARD("printf");
	va_start(ap, fmt);
	n = next_vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}

int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	NEXT(vfprintf);
	GUARD("fprintf");
	va_start(ap, fmt);
	n = next_vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int vdprintf(int fd, const char *fmt, va_list ap)
{
	NEXT(vdprintf);
	GUARD("vdprintf");
	return next_vdprintf(fd, fmt, ap);
}

int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int n;

	NEXT(vdprintf);
	GUARD("dprintf");
	va_start(ap, fmt);
	n = next_vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	NEXT(puts);
	GUARD("puts");
	return next_puts(s);
}

/* The fortified forms a -O2 -D_FORTIFY_SOURCE build calls instead. */
int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)flag;
	NEXT(vfprintf);
	GUARD("printf");
	va_start(ap, fmt);
	n = next_vfprintf(stdout, fmt, ap);
	va_end(ap);
	return n;
}

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int n;

	(void)flag;
	NEXT(vfprintf);
	GUARD("fprintf");
	va_start(ap, fmt);
	n = next_vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- start and end --------------------------------------------------- */

__attribute__((constructor)) static void rtguard_start(void)
{
	const char *path = getenv("RTGUARD_LOG");
	void *warm[2];

	if (path && *path) {
		int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			log_fd = fd;
	}
	/* backtrace loads libgcc on its first call, which allocates: do that
	 * now, not in the middle of a report. */
	backtrace(warm, 2);
	raw_puts("rtguard: watching the JACK process callback\n");
}

__attribute__((destructor)) static void rtguard_end(void)
{
	char line[128];

	snprintf(line, sizeof line, "rtguard: %lu violation(s) in %lu process cycle(s)\n",
		 (unsigned long)atomic_load(&violations), (unsigned long)atomic_load(&cycles));
	raw_puts(line);
}
