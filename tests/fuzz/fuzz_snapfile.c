/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_snapfile - libFuzzer harness for snapfile_decode(), the state file
 * read at start.
 *
 * Input: the file's bytes, decoded with the identity FUZZ_ID (the seed in
 * tests/fuzz/corpus/snapfile has it, so the fuzzer starts past the
 * checksum; -dict=tests/fuzz/dict/snapfile helps it keep one).
 *
 * Properties checked besides "never crashes, never reads past the input":
 * - a refusal hands out no snapshot; an acceptance one with meta.rows rows
 *   (conflicting rows each counted), every valid one a policy the parser
 *   gives back unchanged (snapfile_decode() checks it, with the default
 *   policy options);
 * - what was accepted encodes again, and that decodes to a snapshot that
 *   answers every key the same (snapshot_diff() is 0) with the same meta;
 * - the status name is never "?".
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
 *        src/snapfile.c src/snapshot.c src/target.c src/policy.c
 *        src/hostname.c src/xalloc.c tests/fuzz/fuzz_snapfile.c -lidn2
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "snapfile.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_ID "table=public.tls_policy\n"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", \
		    __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

struct buf {
	unsigned char *p;
	size_t len;
};

static int
to_buf(void *arg, const void *data, size_t len)
{
	struct buf *b = arg;

	b->p = realloc(b->p, b->len + len);
	CHECK(b->p != NULL);
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snapshot *s = NULL, *again = NULL;
	struct snapfile_meta m, m2;
	struct buf b = {NULL, 0};
	struct policy_opts opts;
	char detail[300];
	enum snapfile_status st;
	/* a copy of exactly size bytes: ASan sees any read past it */
	uint8_t *copy = malloc(size ? size : 1);

	CHECK(copy != NULL);
	memcpy(copy, data, size);
	policy_opts_init(&opts);
	st = snapfile_decode(copy, size, FUZZ_ID, &opts, &m, &s, detail,
	    sizeof(detail));
	CHECK(strcmp(snapfile_status_name(st), "?") != 0);
	CHECK(strlen(detail) < sizeof(detail));
	if (st != SNAPFILE_OK) {
		CHECK(s == NULL);
		free(copy);
		return 0;
	}
	CHECK(s != NULL);
	CHECK(snapshot_rows(s) == m.rows);
	CHECK(snapfile_encode(s, FUZZ_ID, &m, to_buf, &b) == 0);
	CHECK(snapfile_decode(b.p, b.len, FUZZ_ID, &opts, &m2, &again, NULL,
	    0) == SNAPFILE_OK);
	CHECK(m2.saved == m.saved && m2.generation == m.generation &&
	    m2.rows == m.rows);
	CHECK(snapshot_diff(s, again, NULL, NULL) == 0);
	snapshot_free(s);
	snapshot_free(again);
	free(b.p);
	free(copy);
	return 0;
}
