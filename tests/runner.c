/*
 * runner.c - run every test of the suite as one cmocka group.
 *
 * Each tests/test_X.c defines X_tests[] and X_tests_count; the Makefile
 * lists them in suites.h.  KVMARM_TEST_FILTER (a cmocka glob such as
 * "*store*") selects tests by name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#define SUITE(x) \
	extern const struct CMUnitTest x##_tests[]; \
	extern const size_t x##_tests_count;
#include "suites.h"
#undef SUITE

int
main(void)
{
	struct CMUnitTest *all;
	size_t n = 0, i = 0;
	const char *filter = getenv("KVMARM_TEST_FILTER");
	int r;

#define SUITE(x) n += x##_tests_count;
#include "suites.h"
#undef SUITE
	all = calloc(n ? n : 1, sizeof(*all));
	if (!all)
		return 1;
#define SUITE(x) \
	memcpy(all + i, x##_tests, x##_tests_count * sizeof(*all)); \
	i += x##_tests_count;
#include "suites.h"
#undef SUITE
	if (filter && *filter)
		cmocka_set_test_filter(filter);
	r = _cmocka_run_group_tests("kvmarm-bot", all, n, NULL, NULL);
	free(all);
	return r;
}
