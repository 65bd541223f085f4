#include "ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "touched_alloc.h"

static int is_power_of_two(uint32_t v)
{
	return v >= 2 && (v & (v - 1)) == 0;
}

int ring_init(struct ring *r, void *storage, uint32_t size)
{
	if (!r || !storage || !is_power_of_two(size) || size > (1u << 31))
		return -EINVAL;
	atomic_init(&r->write_index, 0);
	atomic_init(&r->read_index, 0);
	r->size = size;
	r->mask = size - 1;
	r->data = storage;
	r->owns_data = 0;
	return 0;
}

int ring_alloc(struct ring *r, uint32_t min_size)
{
	uint32_t size = 2;
	void *storage;
	int err;

	if (!r || min_size == 0 || min_size > (1u << 31))
		return -EINVAL;
	while (size < min_size)
		size <<= 1;
	/* Every page touched now: a first-touch page fault on the RT side is
	 * an unbounded wait. */
	storage = alloc_touched(size);
	if (!storage)
		return -ENOMEM;
	err = ring_init(r, storage, size);
	if (err < 0) {
		free(storage);
		return err;
	}
	r->owns_data = 1;
	return 0;
}

void ring_free(struct ring *r)
{
	if (!r)
		return;
	if (r->owns_data)
		free(r->data);
	r->data = NULL;
	r->owns_data = 0;
	r->size = r->mask = 0;
}

int32_t ring_fill(const struct ring *r)
{
	uint32_t w = atomic_load_explicit(&r->write_index, memory_order_acquire);
	uint32_t rd = atomic_load_explicit(&r->read_index, memory_order_acquire);
	return (int32_t)(w - rd);
}

uint32_t ring_read_space(const struct ring *r)
{
	uint32_t rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);
	uint32_t w = atomic_load_explicit(&r->write_index, memory_order_acquire);
	int32_t fill = (int32_t)(w - rd);
	if (fill < 0)
		return 0;
	return (uint32_t)fill > r->size ? r->size : (uint32_t)fill;
}

uint32_t ring_write_space(const struct ring *r)
{
	uint32_t w = atomic_load_explicit(&r->write_index, memory_order_relaxed);
	uint32_t rd = atomic_load_explicit(&r->read_index, memory_order_acquire);
	int32_t fill = (int32_t)(w - rd);
	if (fill < 0)
		return r->size;
	return (uint32_t)fill >= r->size ? 0 : r->size - (uint32_t)fill;
}

static uint32_t split(const struct ring *r, uint32_t index, uint32_t len, struct ring_vec vec[2])
{
	uint32_t off = index & r->mask;
	uint32_t first = r->size - off;

	if (len <= first) {
		vec[0] = (struct ring_vec){ r->data + off, len };
		vec[1] = (struct ring_vec){ r->data, 0 };
	} else {
		vec[0] = (struct ring_vec){ r->data + off, first };
		vec[1] = (struct ring_vec){ r->data, len - first };
	}
	return len;
}

uint32_t ring_read_vector(const struct ring *r, struct ring_vec vec[2])
{
	uint32_t n = ring_read_space(r);
	uint32_t rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);
	return split(r, rd, n, vec);
}

uint32_t ring_write_vector(const struct ring *r, struct ring_vec vec[2])
{
	uint32_t n = ring_write_space(r);
	uint32_t w = atomic_load_explicit(&r->write_index, memory_order_relaxed);
	return split(r, w, n, vec);
}

void ring_read_advance(struct ring *r, uint32_t n)
{
	uint32_t rd = atomic_load_explicit(&r->read_index, memory_order_relaxed);
	/* release: the writer may reuse these bytes only after we are done */
	atomic_store_explicit(&r->read_index, rd + n, memory_order_release);
}

void ring_write_advance(struct ring *r, uint32_t n)
{
	uint32_t w = atomic_load_explicit(&r->write_index, memory_order_relaxed);
	/* release: the reader must see the bytes before it sees the index */
	atomic_store_explicit(&r->write_index, w + n, memory_order_release);
}

uint32_t ring_write(struct ring *r, const void *src, uint32_t n)
{
	struct ring_vec vec[2];

	if (n == 0 || ring_write_vector(r, vec) < n)
		return 0;
	if (n <= vec[0].len) {
		memcpy(vec[0].buf, src, n);
	} else {
		memcpy(vec[0].buf, src, vec[0].len);
		memcpy(vec[1].buf, (const uint8_t *)src + vec[0].len, n - vec[0].len);
	}
	ring_write_advance(r, n);
	return n;
}

uint32_t ring_read(struct ring *r, void *dst, uint32_t n)
{
	struct ring_vec vec[2];

	if (n == 0 || ring_read_vector(r, vec) < n)
		return 0;
	if (n <= vec[0].len) {
		memcpy(dst, vec[0].buf, n);
	} else {
		memcpy(dst, vec[0].buf, vec[0].len);
		memcpy((uint8_t *)dst + vec[0].len, vec[1].buf, n - vec[0].len);
	}
	ring_read_advance(r, n);
	return n;
}

void ring_read_discard(struct ring *r)
{
	uint32_t n = ring_read_space(r);
	if (n)
		ring_read_advance(r, n);
}
