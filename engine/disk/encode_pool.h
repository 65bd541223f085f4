/* Encoder threads for the disk side: the Opus encoders of a recording cost
 * far more than FLAC or WAV, so they are spread over one worker per core.
 * Fork and join per chunk: the disk thread hands every worker the same job
 * (each takes its own share of the files), writes the other formats itself
 * meanwhile, and waits. Every file gets the same frames in the same chunk,
 * so channels stay aligned and a segment rolls with every worker idle. */
#ifndef TOLK_ENCODE_POOL_H
#define TOLK_ENCODE_POOL_H

#include <pthread.h>

#define ENCODE_POOL_MAX 8

/* The job: worker w of n does its share; 0 or a negative errno. Thread: encode (each worker). */
typedef int (*encode_job)(void *arg, int worker, int n_workers);

struct encode_pool;

struct encode_worker {
	struct encode_pool *pool;
	int index;
};

struct encode_pool {
	int n_workers;
	struct encode_worker workers[ENCODE_POOL_MAX];
	pthread_t threads[ENCODE_POOL_MAX];
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned long generation; /* one per job */
	int running;              /* workers still on the current job */
	int quit;
	encode_job job;
	void *arg;
	int ret[ENCODE_POOL_MAX];
};

/* n_workers 0: one per online CPU (at most ENCODE_POOL_MAX). Returns 0 or
 * a negative errno. Thread: disk, or control before the disk thread runs. */
int encode_pool_start(struct encode_pool *p, int n_workers);

/* Starts a job on every worker and returns at once. Thread: disk (the pool's owner). */
void encode_pool_fork(struct encode_pool *p, encode_job job, void *arg);

/* Waits for the job; returns the first worker's error, or 0. Thread: disk (the pool's owner). */
int encode_pool_join(struct encode_pool *p);

/* Thread: control, after the disk thread has stopped. */
void encode_pool_stop(struct encode_pool *p);

#endif
