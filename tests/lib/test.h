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

#endif
