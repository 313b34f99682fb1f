/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_review - libFuzzer harness for what --review reads from others:
 * DNS answers (review_mx_parse: compression pointers, loops, truncation
 * are a resolver's hostile input) and posttls-finger's output, which
 * quotes whatever the remote server says (review_judge); and the
 * database's timestamp text (lifecycle_parse_epoch).
 *
 * Properties:
 *   - never reads past len (ASan: the input buffer has exactly size bytes);
 *   - review_mx_parse: n <= max on OK, each name NUL-terminated, at most
 *     HOSTNAME_MAX_LEN bytes, lowercase, no trailing dot;
 *   - review_judge: a known verdict, detail NUL-terminated and printable;
 *   - lifecycle_parse_epoch: a parsed time is a number (not NaN).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "lifecycle.h"
#include "review.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_review: %s:%d: %s\n",           \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

#define MAXMX 4

static void
mx(const uint8_t *data, size_t size)
{
	char hosts[MAXMX][HOSTNAME_MAX_LEN + 1];
	size_t i, n = 0;
	enum review_mx st;

	st = review_mx_parse(data, size, hosts, MAXMX, &n);
	CHECK(st == REVIEW_MX_OK || st == REVIEW_MX_NONE ||
	    st == REVIEW_MX_MALFORMED);
	if (st != REVIEW_MX_OK)
		return;
	CHECK(n <= MAXMX);
	for (i = 0; i < n; i++) {
		size_t len = strnlen(hosts[i], sizeof(hosts[i]));
		size_t k;

		CHECK(len < sizeof(hosts[i]));
		CHECK(len == 0 || hosts[i][len - 1] != '.');
		for (k = 0; k < len; k++)
			CHECK(hosts[i][k] < 'A' || hosts[i][k] > 'Z');
	}
}

static void
judge(const uint8_t *data, size_t size)
{
	char detail[REVIEW_MAX_DETAIL];
	enum review_verdict v;
	size_t k, len;

	if (size < 2)
		return;
	v = review_judge((enum policy_level)(data[0] % 8),
	    (enum policy_level)(data[1] % 8), (const char *)data + 2, size - 2,
	    detail, sizeof(detail));
	CHECK(v == REVIEW_REMOVABLE || v == REVIEW_NEEDED ||
	    v == REVIEW_UNCHECKED);
	len = strnlen(detail, sizeof(detail));
	CHECK(len < sizeof(detail));
	for (k = 0; k < len; k++)
		CHECK((unsigned char)detail[k] >= 0x20 &&
		    (unsigned char)detail[k] < 0x7f);
}

static void
epoch(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	double t;

	if (s == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (lifecycle_parse_epoch(s, &t))
		CHECK(!isnan(t));
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mx(data, size);
	judge(data, size);
	epoch(data, size);
	return 0;
}
