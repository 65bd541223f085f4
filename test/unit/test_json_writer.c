/* JSON strings stay JSON whatever bytes they are given: control lines can
 * hold anything, and their echo goes into replies and the audit. */
#include "helpers.h"

#include "../../engine/core/json_writer.h"

static const char *quoted(struct json_writer *w, const char *s)
{
	w->len = 0;
	w->failed = 0;
	jw_string(w, s);
	return w->buf;
}

static void test_invalid_utf8_replaced(void **unused)
{
	struct json_writer w;
	(void)unused;

	jw_init(&w);
	assert_string_equal(quoted(&w, "mic fr 1 on"), "\"mic fr 1 on\"");
	assert_string_equal(quoted(&w, "Fran\xc3\xa7" "ais \xe2\x82\xac \xf0\x9f\x8e\xa7"),
			    "\"Fran\xc3\xa7" "ais \xe2\x82\xac \xf0\x9f\x8e\xa7\"");
	assert_string_equal(quoted(&w, "a\xff" "b"), "\"a\\ufffdb\"");          /* never a UTF-8 byte */
	assert_string_equal(quoted(&w, "\x80x"), "\"\\ufffdx\"");              /* stray continuation */
	assert_string_equal(quoted(&w, "\xc3"), "\"\\ufffd\"");                /* cut short at the end */
	assert_string_equal(quoted(&w, "\xc0\xaf"), "\"\\ufffd\\ufffd\"");     /* overlong '/' */
	assert_string_equal(quoted(&w, "\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""); /* a surrogate */
	assert_string_equal(quoted(&w, "\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""); /* past U+10FFFF */
	assert_string_equal(quoted(&w, "q\"\\\n\x01"), "\"q\\\"\\\\\\n\\u0001\"");
	jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_utf8_replaced),
	};
	return cmocka_run_group_tests_name("json_writer", tests, NULL, NULL);
}
