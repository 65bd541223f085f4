/* The recording core: capture rings (all or nothing, drops counted and
 * placed) and SHA-256 against the FIPS 180-4 examples. */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>

#include "../../engine/core/capture.h"
#include "../../engine/core/sha256.h"

static void digest_of(const void *data, size_t len, char hex[65], size_t chunk)
{
	struct sha256 s;
	uint8_t d[32];
	size_t off;

	sha256_init(&s);
	for (off = 0; off < len; off += chunk)
		sha256_update(&s, (const uint8_t *)data + off, len - off < chunk ? len - off : chunk);
	sha256_final(&s, d);
	sha256_hex(d, hex);
}

static void test_sha256_known_answers(void **unused)
{
	static char million[1000000];
	char hex[65];
	(void)unused;

	digest_of("", 0, hex, 1);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	digest_of("abc", 3, hex, 1);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	digest_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex, 7);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof million);
	digest_of(million, sizeof million, hex, 4093); /* odd chunks cross block edges */
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_capture_waits_until_armed(void **unused)
{
	struct capture c;
	struct capture_block b;
	float x[64] = { 0 };
	const float *chans[2] = { x, x };
	(void)unused;

	assert_int_equal(capture_init(&c, 2, 1024), 0);
	capture_push(&c, chans, 64, 1000, 0);
	assert_int_equal(capture_next(&c, &b), -EAGAIN);
	assert_int_equal(atomic_load(&c.dropped_total), 0);
	capture_free(&c);
}

static void test_capture_blocks_in_order(void **unused)
{
	struct capture c;
	struct capture_block b;
	float a[100], z[100], out[100];
	const float *chans[2] = { a, z };
	int i;
	(void)unused;

	assert_int_equal(capture_init(&c, 2, 1024), 0);
	assert_int_equal(c.capacity, 1024);
	atomic_store(&c.armed, 1);
	for (i = 0; i < 100; i++) {
		a[i] = (float)i;
		z[i] = (float)-i;
	}
	capture_push(&c, chans, 100, 5000, 0);
	capture_push(&c, chans, 50, 5100, 0);
	assert_int_equal(capture_next(&c, &b), 0);
	assert_int_equal(b.frame, 5000);
	assert_int_equal(b.frames, 100);
	assert_int_equal(b.dropped, 0);
	capture_read(&c, 0, out, b.frames);
	assert_float_equal(out[99], 99.0f, 0.0f);
	capture_read(&c, 1, out, b.frames);
	assert_float_equal(out[99], -99.0f, 0.0f);
	capture_release_block(&c);
	assert_int_equal(capture_next(&c, &b), 0);
	assert_int_equal(b.frame, 5100);
	assert_int_equal(b.frames, 50);
	capture_free(&c);
}

static void test_capture_drops_all_channels_and_says_where(void **unused)
{
	struct capture c;
	struct capture_block b;
	static float big[4096], out[4096];
	const float *chans[3] = { big, big, big };
	int i;
	(void)unused;

	assert_int_equal(capture_init(&c, 3, 1024), 0);
	atomic_store(&c.armed, 1);
	for (i = 0; i < 4; i++)
		capture_push(&c, chans, 256, 256 * (uint64_t)i, 0); /* fills the 1024-frame rings */
	capture_push(&c, chans, 256, 1024, 0);                      /* no room: dropped */
	capture_push(&c, chans, 256, 1280, 0);                      /* dropped too */
	assert_int_equal(atomic_load(&c.dropped_total), 512);
	assert_int_equal(atomic_load(&c.high_water), 1024);
	for (i = 0; i < 4; i++) {
		assert_int_equal(capture_next(&c, &b), 0);
		assert_int_equal(b.dropped, 0);
		capture_read(&c, 0, out, b.frames);
		capture_read(&c, 1, out, b.frames);
		capture_read(&c, 2, out, b.frames);
		capture_release_block(&c);
	}
	/* Nothing half-written: every channel ring is empty again. */
	for (i = 0; i < 3; i++)
		assert_int_equal(ring_fill(&c.rings[i]), 0);
	capture_push(&c, chans, 256, 1536, 0);
	assert_int_equal(capture_next(&c, &b), 0);
	assert_int_equal(b.frame, 1536);
	assert_int_equal(b.dropped, 512); /* the silence goes just before it */
	capture_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_answers),
		cmocka_unit_test(test_capture_waits_until_armed),
		cmocka_unit_test(test_capture_blocks_in_order),
		cmocka_unit_test(test_capture_drops_all_channels_and_says_where),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
