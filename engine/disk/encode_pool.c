#include "encode_pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../core/thread_role.h"

static void *worker(void *arg)
{
	struct encode_worker *s = arg;
	struct encode_pool *p = s->pool;
	unsigned long seen = 0;
	char name[16];

	thread_role_set(THREAD_ENCODE);
	/* Below the control thread: a saturated encoder never starves the
	 * control paths (socket, OSC, web). Batch work, as the scheduler
	 * knows it, and a nicer value; neither needs a privilege. */
	pthread_setschedparam(pthread_self(), SCHED_BATCH, &(struct sched_param){ .sched_priority = 0 });
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 5); /* lowering is never refused */
	snprintf(name, sizeof name, "tolk-opus-%d", s->index);
	pthread_setname_np(pthread_self(), name);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->quit && p->generation == seen)
			pthread_cond_wait(&p->go, &p->lock);
		if (p->quit)
			break;
		seen = p->generation;
		pthread_mutex_unlock(&p->lock);
		p->ret[s->index] = p->job(p->arg, s->index, p->n_workers);
		pthread_mutex_lock(&p->lock);
		if (--p->running == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int encode_pool_start(struct encode_pool *p, int n_workers)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i, ret;

	memset(p, 0, sizeof *p);
	if (n_workers <= 0)
		n_workers = cpus > 0 ? (int)cpus : 1;
	if (n_workers > ENCODE_POOL_MAX)
		n_workers = ENCODE_POOL_MAX;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (i = 0; i < n_workers; i++) {
		p->workers[i] = (struct encode_worker){ p, i };
		if ((ret = pthread_create(&p->threads[i], NULL, worker, &p->workers[i])) != 0) {
			p->n_workers = i;
			encode_pool_stop(p);
			return -ret;
		}
		p->n_workers = i + 1;
	}
	return 0;
}

void encode_pool_fork(struct encode_pool *p, encode_job job, void *arg)
{
	pthread_mutex_lock(&p->lock);
	p->job = job;
	p->arg = arg;
	p->running = p->n_workers;
	p->generation++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
}

int encode_pool_join(struct encode_pool *p)
{
	int i;

	pthread_mutex_lock(&p->lock);
	while (p->running > 0)
		pthread_cond_wait(&p->done, &p->lock);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n_workers; i++)
		if (p->ret[i] < 0)
			return p->ret[i];
	return 0;
}

void encode_pool_stop(struct encode_pool *p)
{
	int i;

	if (!p->n_workers)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; i < p->n_workers; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->lock);
	p->n_workers = 0;
}
