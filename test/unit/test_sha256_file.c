/* The disk side's file digest (libcrypto) against the core's portable
 * SHA-256 and the FIPS 180-2 examples, across block and chunk edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <unistd.h>

#include "../../engine/core/sha256.h"
#include "../../engine/disk/sha256_file.h"

static void write_file(const char *path, const unsigned char *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_known_digests(void **state)
{
	char path[] = "/tmp/tolk-sha256-XXXXXX", hex[65];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, (const unsigned char *)"abc", 3);
	assert_int_equal(sha256_file(path, hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	write_file(path, (const unsigned char *)"", 0);
	assert_int_equal(sha256_file(path, hex), 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	unlink(path);
	assert_int_equal(sha256_file(path, hex), -ENOENT);
}

static void test_same_as_core(void **state)
{
	static const size_t sizes[] = { 1, 55, 56, 63, 64, 65, 4095, 65536, (1 << 20) - 1, (1 << 20) + 3, 3 << 20 };
	char path[] = "/tmp/tolk-sha256-XXXXXX", hex[65], want[65];
	unsigned char *data = malloc(3 << 20);
	int fd = mkstemp(path);
	size_t i, k;

	(void)state;
	assert_non_null(data);
	assert_true(fd >= 0);
	close(fd);
	for (k = 0; k < (size_t)(3 << 20); k++)
		data[k] = (unsigned char)(k * 2654435761u >> 13);
	for (i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		write_file(path, data, sizes[i]);
		sha256_hex_of(data, sizes[i], want);
		assert_int_equal(sha256_file(path, hex), 0);
		assert_string_equal(hex, want);
	}
	unlink(path);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_digests),
		cmocka_unit_test(test_same_as_core),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
