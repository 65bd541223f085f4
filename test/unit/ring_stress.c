/* Two threads through one ring, a counter sequence in uneven chunks via the
 * zero-copy vectors. Built with -fsanitize=thread: any missing
 * acquire/release pairing is a reported race, any lost or reordered byte a
 * wrong value. Prints a cmocka-style result line for test/run.sh. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../engine/core/ring.h"

#define TOTAL_WORDS (4u << 20)

static struct ring ring;
static uint32_t seed_w = 1, seed_r = 7;

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 16;
}

static void *writer(void *arg)
{
	uint32_t next = 0;
	(void)arg;
	while (next < TOTAL_WORDS) {
		struct ring_vec v[2];
		uint32_t space = ring_write_vector(&ring, v) / 4, want = 1 + next_rand(&seed_w) % 97, i;
		uint32_t *w;
		if (want > space)
			want = space;
		if (want > TOTAL_WORDS - next)
			want = TOTAL_WORDS - next;
		for (i = 0; i < want; i++) {
			uint32_t off = i * 4;
			w = off < v[0].len ? (uint32_t *)(v[0].buf + off) : (uint32_t *)(v[1].buf + off - v[0].len);
			*w = next + i;
		}
		if (want)
			ring_write_advance(&ring, want * 4);
		next += want;
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint32_t expect = 0, *bad = arg;
	while (expect < TOTAL_WORDS) {
		uint32_t chunk[128], want = 1 + next_rand(&seed_r) % 128, avail = ring_read_space(&ring) / 4, i;
		int32_t fill = ring_fill(&ring);
		if (fill < 0 || fill > (int32_t)ring.size)
			(*bad)++;
		if (want > avail)
			want = avail;
		if (!want)
			continue;
		if (ring_read(&ring, chunk, want * 4) != want * 4) {
			(*bad)++;
			return NULL;
		}
		for (i = 0; i < want; i++)
			if (chunk[i] != expect + i)
				(*bad)++;
		expect += want;
	}
	return NULL;
}

int main(void)
{
	pthread_t w, r;
	uint32_t bad = 0;

	if (ring_alloc(&ring, 4096) < 0)
		return 1;
	pthread_create(&r, NULL, reader, &bad);
	pthread_create(&w, NULL, writer, NULL);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	ring_free(&ring);
	if (bad) {
		printf("[  FAILED  ] ring_stress: %u wrong words or fill levels\n", bad);
		printf("[  FAILED  ] 1 test(s)\n");
		return 1;
	}
	printf("[       OK ] ring_stress: %u words through a %u-byte ring, two threads\n",
	       TOTAL_WORDS, 4096u);
	printf("[  PASSED  ] 1 test(s).\n");
	return 0;
}
