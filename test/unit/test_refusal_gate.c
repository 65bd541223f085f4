/* Refusals from one source: a burst written in full each second, the rest
 * counted and told in one summary; sources apart; a full table makes room
 * without losing a count. */
#include "helpers.h"

#include "../../engine/core/refusal_gate.h"

struct told {
	char source[REFUSAL_KEY_MAX];
	uint32_t held, total, n;
};

static void summary(void *user, const char *source, uint32_t held, uint32_t total, int64_t since)
{
	struct told *t = user;
	(void)since;
	snprintf(t->source, sizeof t->source, "%s", source);
	t->held += held;
	t->total += total;
	t->n++;
}

static void test_burst_then_counted(void **unused)
{
	struct refusal_gate g;
	struct told t = { "", 0, 0, 0 };
	int i, written = 0;
	(void)unused;

	refusal_gate_init(&g);
	for (i = 0; i < 50000; i++)
		written += refusal_gate_admit(&g, "OSC 127.0.0.1", 1000 + i / 100, summary, &t);
	/* 50,000 in 500 ms: one window, a burst written, the rest held. */
	assert_int_equal(written, REFUSAL_BURST);
	assert_int_equal(t.n, 0);
	refusal_gate_flush(&g, 1999, summary, &t);
	assert_int_equal(t.n, 0); /* the second is not over */
	refusal_gate_flush(&g, 2000, summary, &t);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.source, "OSC 127.0.0.1");
	assert_int_equal(t.held, 50000 - REFUSAL_BURST);
	assert_int_equal(t.total, 50000);
	/* A new second: a new burst. */
	assert_int_equal(refusal_gate_admit(&g, "OSC 127.0.0.1", 2100, summary, &t), 1);
}

static void test_sources_apart(void **unused)
{
	struct refusal_gate g;
	struct told t = { "", 0, 0, 0 };
	int i;
	(void)unused;

	refusal_gate_init(&g);
	for (i = 0; i < 20; i++)
		refusal_gate_admit(&g, "OSC 10.0.0.9", 0, summary, &t);
	/* Another source still gets its burst in full. */
	for (i = 0; i < REFUSAL_BURST; i++)
		assert_int_equal(refusal_gate_admit(&g, "uid 1001", 10, summary, &t), 1);
	assert_int_equal(refusal_gate_admit(&g, "uid 1001", 10, summary, &t), 0);
	/* The next refusal after the window tells the old count first. */
	assert_int_equal(refusal_gate_admit(&g, "OSC 10.0.0.9", 1500, summary, &t), 1);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.held, 20 - REFUSAL_BURST);
}

static void test_full_table_tells_before_forgetting(void **unused)
{
	struct refusal_gate g;
	struct told t = { "", 0, 0, 0 };
	char key[32];
	int i, k;
	(void)unused;

	refusal_gate_init(&g);
	for (i = 0; i < 10; i++)
		refusal_gate_admit(&g, "first", 0, summary, &t);
	for (k = 0; k < REFUSAL_SOURCES; k++) {
		snprintf(key, sizeof key, "src %d", k);
		refusal_gate_admit(&g, key, 1 + k, summary, &t);
	}
	/* "first" made room for the last one, its 5 held told on the way. */
	assert_int_equal(t.n, 1);
	assert_string_equal(t.source, "first");
	assert_int_equal(t.held, 10 - REFUSAL_BURST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_counted),
		cmocka_unit_test(test_sources_apart),
		cmocka_unit_test(test_full_table_tells_before_forgetting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
