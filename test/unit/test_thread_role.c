/* Thread roles: a function owned by some threads counts (or, strict,
 * aborts on) a call from another; a thread without a role passes. */
#include "helpers.h"

#include "../../engine/core/thread_role.h"

static void control_only(void)
{
	ASSERT_THREAD(THREAD_CONTROL);
}

static void capture_reader(void)
{
	ASSERT_THREAD(THREAD_DISK | THREAD_LOUDNESS);
}

static void test_wrong_thread_is_counted_and_named(void **unused)
{
	(void)unused;
	tolk_thread_strict = 0;
	atomic_store(&tolk_thread_violations, 0);
	atomic_store(&tolk_thread_first_violation, NULL);

	thread_role_set(THREAD_ANY);
	control_only(); /* no role declared: passes */
	thread_role_set(THREAD_CONTROL);
	control_only();
	thread_role_set(THREAD_LOUDNESS);
	capture_reader(); /* one of two owners */
	assert_int_equal(atomic_load(&tolk_thread_violations), 0);

	thread_role_set(THREAD_DISK);
	control_only();
	control_only();
	thread_role_set(THREAD_RT);
	capture_reader();
	assert_int_equal(atomic_load(&tolk_thread_violations), 3);
	assert_string_equal(atomic_load(&tolk_thread_first_violation), "control_only");
	thread_role_set(THREAD_ANY);
	tolk_thread_strict = 1;
}

static void test_adopt_keeps_a_declared_role(void **unused)
{
	(void)unused;
	thread_role_set(THREAD_CONTROL);
	thread_role_adopt(THREAD_JACK_NOTIFY); /* libjack calling back inside a control-thread call */
	assert_int_equal(tolk_thread_role, THREAD_CONTROL);
	thread_role_set(THREAD_ANY);
	thread_role_adopt(THREAD_JACK_NOTIFY);
	assert_int_equal(tolk_thread_role, THREAD_JACK_NOTIFY);
	thread_role_set(THREAD_ANY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrong_thread_is_counted_and_named),
		cmocka_unit_test(test_adopt_keeps_a_declared_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
