/* Lock-free byte ring buffer: one reader, one writer.
 *
 * Exactly one thread may write and exactly one (other) thread may read.
 * The indices run free over the whole uint32_t range and are only masked
 * when storage is touched, so a fill level of `size` means full, not empty,
 * and the signed difference write - read makes an overrun (> size) or an
 * underrun (< 0) visible instead of silently wrapping.
 *
 * The writer publishes with a release store of the write index after the
 * data is in place; the reader observes it with an acquire load, and the
 * same pairing holds the other way for the read index. Storage is separate
 * from the control block so that it can be allocated, locked and touched
 * before the realtime thread starts.
 */
#ifndef TOLK_RING_H
#define TOLK_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	_Atomic uint32_t write_index; /* written by the writer only */
	char pad_[64 - sizeof(uint32_t)]; /* keep the two indices on separate cache lines */
	_Atomic uint32_t read_index;  /* written by the reader only */
	uint32_t size;                /* bytes, a power of two */
	uint32_t mask;
	uint8_t *data;                /* not owned unless ring_alloc made it */
	int owns_data;
};

/* A region of the ring as up to two contiguous pieces (the second is used
 * when the region wraps around the end of storage). */
struct ring_vec {
	uint8_t *buf;
	uint32_t len;
};

/* Attach caller-owned storage. size must be a power of two, 2..2^31.
 * Returns 0 or -EINVAL. */
int ring_init(struct ring *r, void *storage, uint32_t size);

/* Allocate storage of at least min_size bytes (rounded up to a power of
 * two), touch every page so that the realtime side never faults on it.
 * Returns 0, -EINVAL or -ENOMEM. */
int ring_alloc(struct ring *r, uint32_t min_size);
void ring_free(struct ring *r);

/* Bytes written and not yet read. Signed: > size is an overrun and < 0 an
 * underrun, both of which mean a caller broke the contract. Either side. */
int32_t ring_fill(const struct ring *r);

uint32_t ring_read_space(const struct ring *r);  /* reader side */
uint32_t ring_write_space(const struct ring *r); /* writer side */

/* Zero-copy access: fill vec[0..1] with the readable (or writable) region,
 * return its total length. Nothing is consumed until *_advance. */
uint32_t ring_read_vector(const struct ring *r, struct ring_vec vec[2]);
uint32_t ring_write_vector(const struct ring *r, struct ring_vec vec[2]);
void ring_read_advance(struct ring *r, uint32_t n);
void ring_write_advance(struct ring *r, uint32_t n);

/* Copying helpers, all or nothing: they move exactly n bytes and return n,
 * or move nothing and return 0 when there is not enough data or space. */
uint32_t ring_write(struct ring *r, const void *src, uint32_t n);
uint32_t ring_read(struct ring *r, void *dst, uint32_t n);

/* Reader side: drop everything currently readable. */
void ring_read_discard(struct ring *r);

#endif
