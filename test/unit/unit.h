/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Shared scaffolding of the CUnit programs in test/unit: a main() that
 * runs the registered suites, sets the exit code from the failures
 * (CU_basic_run_tests() does not) and prints one result line that
 * scripts/test.sh adds up, and an EAL start for the suites that need
 * mbufs or rings.
 */
#ifndef UDPMIG_TEST_UNIT_H
#define UDPMIG_TEST_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <rte_eal.h>

/** Start EAL without hugepages, with a file prefix of its own. */
static inline int
unit_eal_init(const char *name, const char *lcores)
{
	static char args[9][64];
	char *argv[9];
	int argc = 0;

	snprintf(args[argc++], sizeof(args[0]), "%s", name);
	snprintf(args[argc++], sizeof(args[0]), "--no-huge");
	snprintf(args[argc++], sizeof(args[0]), "-m");
	snprintf(args[argc++], sizeof(args[0]), "256");
	snprintf(args[argc++], sizeof(args[0]), "--no-pci");
	snprintf(args[argc++], sizeof(args[0]), "--no-telemetry");
	snprintf(args[argc++], sizeof(args[0]), "--log-level=*:warning");
	snprintf(args[argc++], sizeof(args[0]), "--file-prefix=ut_%s_%d", name, (int)getpid());
	snprintf(args[argc++], sizeof(args[0]), "--lcores=%s", lcores);
	for (int i = 0; i < argc; i++)
		argv[i] = args[i];
	return rte_eal_init(argc, argv);
}

/**
 * main() of a unit program: @p register_fn adds the suites.
 * Prints "udpmig-result: P passed, F failed" (tests, not asserts).
 */
#define UNIT_MAIN(register_fn)                                                           \
	int main(int argc, char **argv)                                                  \
	{                                                                                \
		unsigned int ran, failed;                                                \
		int rc;                                                                  \
                                                                                         \
		if (CU_initialize_registry() != CUE_SUCCESS)                             \
			return 2;                                                        \
		if (register_fn(argc, argv) != 0) {                                      \
			CU_cleanup_registry();                                           \
			return 2;                                                        \
		}                                                                        \
		CU_basic_set_mode(CU_BRM_VERBOSE);                                       \
		CU_basic_run_tests();                                                    \
		ran = CU_get_number_of_tests_run();                                      \
		failed = CU_get_number_of_tests_failed();                                \
		rc = CU_get_number_of_failures() != 0 || CU_get_error() != CUE_SUCCESS;  \
		printf("\nudpmig-result: %u passed, %u failed\n", ran - failed, failed); \
		CU_cleanup_registry();                                                   \
		return rc;                                                               \
	}

#endif /* UDPMIG_TEST_UNIT_H */
