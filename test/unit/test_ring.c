#include "helpers.h"

#include <errno.h>
#include <stdlib.h>

#include "../../engine/core/ring.h"

static void test_init_rejects_bad_sizes(void **unused)
{
	struct ring r;
	char buf[64];
	(void)unused;

	assert_int_equal(ring_init(&r, buf, 0), -EINVAL);
	assert_int_equal(ring_init(&r, buf, 1), -EINVAL);
	assert_int_equal(ring_init(&r, buf, 48), -EINVAL);
	assert_int_equal(ring_init(NULL, buf, 64), -EINVAL);
	assert_int_equal(ring_init(&r, NULL, 64), -EINVAL);
	assert_int_equal(ring_init(&r, buf, 64), 0);
	assert_int_equal(r.size, 64);
	assert_int_equal(ring_alloc(&r, 0), -EINVAL);
}

static void test_alloc_rounds_up(void **unused)
{
	struct ring r;
	(void)unused;

	assert_int_equal(ring_alloc(&r, 1000), 0);
	assert_int_equal(r.size, 1024);
	assert_int_equal(ring_write_space(&r), 1024);
	assert_int_equal(ring_read_space(&r), 0);
	ring_free(&r);
}

static void test_all_or_nothing(void **unused)
{
	struct ring r;
	char buf[16], out[16];
	(void)unused;

	ring_init(&r, buf, sizeof buf);
	assert_int_equal(ring_write(&r, "0123456789", 10), 10);
	assert_int_equal(ring_write(&r, "abcdefgh", 8), 0); /* 6 free: nothing written */
	assert_int_equal(ring_fill(&r), 10);
	assert_int_equal(ring_read(&r, out, 11), 0);       /* 10 there: nothing read */
	assert_int_equal(ring_read(&r, out, 4), 4);
	assert_memory_equal(out, "0123", 4);
	assert_int_equal(ring_write_space(&r), 10);
}

static void test_wraps_with_two_vectors(void **unused)
{
	struct ring r;
	struct ring_vec v[2];
	char buf[8], out[8];
	(void)unused;

	ring_init(&r, buf, sizeof buf);
	ring_write(&r, "abcdef", 6);
	ring_read(&r, out, 6);
	/* Indices at 6: the next 8 bytes wrap after 2. */
	assert_int_equal(ring_write_vector(&r, v), 8);
	assert_int_equal(v[0].len, 2);
	assert_int_equal(v[1].len, 6);
	assert_ptr_equal(v[0].buf, buf + 6);
	assert_ptr_equal(v[1].buf, buf);
	memcpy(v[0].buf, "AB", 2);
	memcpy(v[1].buf, "CDEFGH", 6);
	ring_write_advance(&r, 8);
	assert_int_equal(ring_write_space(&r), 0);
	assert_int_equal(ring_read_vector(&r, v), 8);
	assert_int_equal(v[0].len, 2);
	assert_int_equal(ring_read(&r, out, 8), 8);
	assert_memory_equal(out, "ABCDEFGH", 8);
}

static void test_fill_level_shows_overrun_and_underrun(void **unused)
{
	struct ring r;
	char buf[8];
	(void)unused;

	ring_init(&r, buf, sizeof buf);
	/* A writer that ignored the free space... */
	ring_write_advance(&r, 12);
	assert_int_equal(ring_fill(&r), 12);
	assert_true(ring_fill(&r) > (int32_t)r.size);
	assert_int_equal(ring_write_space(&r), 0);
	assert_int_equal(ring_read_space(&r), 8);
	/* ...and a reader that ignored the data. */
	ring_read_advance(&r, 15);
	assert_int_equal(ring_fill(&r), -3);
	assert_int_equal(ring_read_space(&r), 0);
	assert_int_equal(ring_write_space(&r), 8);
}

static void test_indices_run_free_across_uint32_wrap(void **unused)
{
	struct ring r;
	char buf[8], out[4];
	(void)unused;

	ring_init(&r, buf, sizeof buf);
	atomic_store(&r.write_index, UINT32_MAX - 1);
	atomic_store(&r.read_index, UINT32_MAX - 1);
	assert_int_equal(ring_write(&r, "wxyz", 4), 4);
	assert_int_equal(ring_fill(&r), 4);
	assert_int_equal(ring_read(&r, out, 4), 4);
	assert_memory_equal(out, "wxyz", 4);
	assert_int_equal(atomic_load(&r.read_index), 2);
}

static void test_discard(void **unused)
{
	struct ring r;
	char buf[8];
	(void)unused;

	ring_init(&r, buf, sizeof buf);
	ring_write(&r, "abc", 3);
	ring_read_discard(&r);
	assert_int_equal(ring_fill(&r), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_sizes),
		cmocka_unit_test(test_alloc_rounds_up),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_wraps_with_two_vectors),
		cmocka_unit_test(test_fill_level_shows_overrun_and_underrun),
		cmocka_unit_test(test_indices_run_free_across_uint32_wrap),
		cmocka_unit_test(test_discard),
	};
	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
