/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_metrics - libFuzzer harness for metrics_parse_request(), the
 * parser of what a metrics_listen client sends.
 *
 * The input is the bytes read so far, in a buffer of exactly that size
 * (ASan reports any read past it).  Properties:
 *   - the verdict is 0 or one of 200 400 404 405 431 505; 0 only below
 *     METRICS_MAX_HEADERS bytes; 431 only at or past it;
 *   - nothing past METRICS_MAX_HEADERS is looked at;
 *   - a verdict, once given, stands: the input one byte shorter gives the
 *     same verdict or 0 (more bytes never change an answer);
 *   - 200, 404, 405: the head ends with an empty line within the input,
 *     and the head alone gives the same verdict (a body is not looked at),
 *     one byte less gives 0;
 *   - 200 is GET or HEAD of /metrics or /health; HEAD is flagged only
 *     for a request line starting "HEAD ".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_metrics: %s:%d: %s\n",          \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

static bool
starts(const char *p, size_t n, const char *s)
{
	size_t l = strlen(s);

	return n >= l && memcmp(p, s, l) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size > 0 ? size : 1);
	struct metrics_request r, r2;
	size_t cap = size < METRICS_MAX_HEADERS ? size : METRICS_MAX_HEADERS;
	int v, v2;

	CHECK(buf != NULL);
	memcpy(buf, data, size);
	v = metrics_parse_request(buf, size, &r);
	CHECK(v == 0 || v == 200 || v == 400 || v == 404 || v == 405 ||
	    v == 431 || v == 505);
	CHECK(v != 0 || size < METRICS_MAX_HEADERS);
	CHECK(v != 431 || size >= METRICS_MAX_HEADERS);
	if (size > METRICS_MAX_HEADERS) {
		v2 = metrics_parse_request(buf, METRICS_MAX_HEADERS, &r2);
		CHECK(v2 == v && memcmp(&r, &r2, sizeof(r)) == 0);
	}
	if (size > 0) {
		v2 = metrics_parse_request(buf, size - 1, &r2);
		CHECK(v2 == 0 || v2 == v);
	}
	if (r.head)
		CHECK(starts(buf, cap, "HEAD "));
	if (v == 200 || v == 404 || v == 405) {
		CHECK(r.len >= 4 && r.len <= cap);
		CHECK(buf[r.len - 1] == '\n');
		CHECK(buf[r.len - 2] == '\n' || (buf[r.len - 2] == '\r' &&
		    buf[r.len - 3] == '\n'));
		CHECK(memchr(buf, '\0', r.len) == NULL);
		v2 = metrics_parse_request(buf, r.len, &r2);
		CHECK(v2 == v && memcmp(&r, &r2, sizeof(r)) == 0);
		CHECK(metrics_parse_request(buf, r.len - 1, &r2) == 0);
	} else
		CHECK(r.len == 0);
	if (v == 200) {
		CHECK(starts(buf, cap, r.head ? "HEAD " : "GET "));
		CHECK(starts(buf + (r.head ? 5 : 4), cap - (r.head ? 5 : 4),
		    r.health ? "/health" : "/metrics"));
	}
	free(buf);
	return 0;
}
