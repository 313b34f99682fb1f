/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test.h - the only place that includes cmocka, in the order it needs.
 *
 * cmocka.h uses va_list, size_t, uintmax_t and jmp_buf without including
 * their headers; every unit test includes this file instead.
 */
#ifndef TLSPOLICYD_TEST_H
#define TLSPOLICYD_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

/* A string literal and its length, NUL bytes included. */
#define S(s) s, sizeof(s) - 1

/*
 * Table-driven tests: name the failing row before cmocka reports the
 * assertion, so a failure says which case broke.
 */
#define case_int_equal(label, got, want)                                      \
	do {                                                                  \
		long long got_ = (long long)(got);                            \
		long long want_ = (long long)(want);                          \
		if (got_ != want_)                                            \
			fprintf(stderr, "case \"%s\": %s is %lld, "          \
			    "want %lld\n", (label), #got, got_, want_);       \
		assert_int_equal(got_, want_);                                \
	} while (0)

#define case_mem_equal(label, got, gotlen, want, wantlen)                     \
	do {                                                                  \
		case_int_equal((label), (gotlen), (wantlen));                 \
		if (memcmp((got), (want), (wantlen)) != 0)                    \
			fprintf(stderr, "case \"%s\": got \"%.*s\", want "    \
			    "\"%.*s\"\n", (label), (int)(gotlen), (got),      \
			    (int)(wantlen), (want));                          \
		assert_memory_equal((got), (want), (wantlen));                \
	} while (0)

#endif
