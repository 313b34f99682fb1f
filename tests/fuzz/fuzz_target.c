/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_target - libFuzzer harness for key canonicalisation and the
 * parent walk.
 *
 * Properties:
 *   - empty or over TARGET_MAX_LEN is always TARGET_NEVER, and NEVER
 *     leaves len 0 and walk false;
 *   - the output is NUL-terminated, len bytes, at most TARGET_MAX_LEN,
 *     never empty, without ASCII upper case, and without a byte the
 *     input check refuses (controls, space, DEL, '*');
 *   - canon of canon is canon (idempotent), and a walked key stays walked;
 *   - ASCII case of the input does not matter;
 *   - a walked key holds only [a-z0-9._-], and a letter or '_' (Postfix's
 *     valid_hostname(): digits, hyphens and dots alone are numeric);
 *   - target_parent() moves strictly forward to a '.', and terminates;
 *   - target_wildcard() takes exactly "*." and a name that walks, gives
 *     that name's ".X" key, walked; and "*." before a walked key without
 *     a leading dot is always a wildcard for "." + that key.
 *
 * Build with -DFUZZ_TARGET_SKIP_KNOWN to skip the idempotence check for
 * non-ASCII input -- the known bug test_target.c fails on, where IDNA
 * mapping yields an IPv4 address ("\u00AD192.0.2.1" -> "192.0.2.1" ->
 * "[192.0.2.1]") -- and keep looking for others.  make fuzz builds the
 * strict harness.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_target: %s:%d: %s\n",           \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

/* Bytes target_canon() refuses as input never appear in its output. */
static bool
acceptable_output(const struct target *t)
{
	size_t i;

	for (i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->canon[i];

		if (c <= 0x20 || c == 0x7f || c == '*')
			return false;
	}
	return true;
}

#ifdef FUZZ_TARGET_SKIP_KNOWN
static bool
non_ascii(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}
#endif

static void
check_walk(const struct target *t)
{
	size_t off = 0, prev, steps = 0, i;

	if (t->walk) {
		for (i = 0; i < t->len; i++) {
			char c = t->canon[i];

			CHECK((c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
			    c == '-');
		}
		CHECK(strspn(t->canon, "0123456789-.") < t->len);
	}
	for (;;) {
		prev = off;
		if (!target_parent(t->canon, t->len, &off))
			break;
		CHECK(off > prev && off < t->len);
		CHECK(t->canon[off] == '.');
		/* Postfix's strchr(name + 1, '.'): no dot skipped */
		CHECK(memchr(t->canon + prev + 1, '.', off - prev - 1) ==
		    NULL);
		CHECK(++steps <= t->len);
	}
	CHECK(off == prev);
}

static void
check_wildcard(const char *in, size_t size)
{
	struct target w, plain;

	memset(&w, 0x5a, sizeof(w));
	if (!target_wildcard(in, size, &w)) {
		CHECK(w.len == 0 && !w.walk && w.canon[0] == '\0');
		return;
	}
	CHECK(size > 2 && in[0] == '*' && in[1] == '.');
	CHECK(w.walk && w.len > 1 && w.canon[0] == '.');
	CHECK(w.canon[w.len] == '\0' && strlen(w.canon) == w.len);
	CHECK(target_canon(in + 1, size - 1, &plain) == TARGET_OK);
	CHECK(plain.walk && plain.len == w.len &&
	    memcmp(plain.canon, w.canon, w.len) == 0);
	/* as a lookup key it never matches: Postfix never sends "*" */
	CHECK(target_canon(in, size, &plain) == TARGET_NEVER);
	check_walk(&w);
}

/* "*." + a walked key without a leading dot: the wildcard of that key. */
static void
check_as_wildcard(const char *in, size_t size, const struct target *t)
{
	struct target w;
	char *star;

	if (!t->walk || in[0] == '.' || size + 1 > TARGET_MAX_LEN)
		return;
	star = malloc(size + 2);
	CHECK(star != NULL);
	star[0] = '*';
	star[1] = '.';
	memcpy(star + 2, in, size);
	CHECK(target_wildcard(star, size + 2, &w));
	CHECK(w.len == t->len + 1 && w.canon[0] == '.' &&
	    memcmp(w.canon + 1, t->canon, t->len) == 0);
	free(star);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct target t, t2, t3;
	enum target_status st;
	char *flipped;
	size_t i;

	check_wildcard(in, size);
	st = target_canon(in, size, &t);
	if (size == 0 || size > TARGET_MAX_LEN)
		CHECK(st == TARGET_NEVER);
	if (st == TARGET_NEVER) {
		/* canon itself is unspecified after NEVER: "[" may be left */
		CHECK(t.len == 0 && !t.walk);
		return 0;
	}
	CHECK(st == TARGET_OK);
	CHECK(t.len > 0 && t.len <= TARGET_MAX_LEN);
	CHECK(t.canon[t.len] == '\0' && strlen(t.canon) == t.len);
	for (i = 0; i < t.len; i++)
		CHECK(!(t.canon[i] >= 'A' && t.canon[i] <= 'Z'));
	check_walk(&t);
	check_as_wildcard(in, size, &t);
	if (!acceptable_output(&t))
		fprintf(stderr, "fuzz_target: output \"%s\"\n", t.canon);
	CHECK(acceptable_output(&t));

	/* ASCII case does not matter */
	flipped = malloc(size);
	CHECK(flipped != NULL);
	for (i = 0; i < size; i++) {
		char c = in[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		flipped[i] = c;
	}
	CHECK(target_canon(flipped, size, &t3) == TARGET_OK);
	CHECK(t3.len == t.len && memcmp(t3.canon, t.canon, t.len) == 0);
	CHECK(t3.walk == t.walk);
	free(flipped);

	/* idempotent */
#ifdef FUZZ_TARGET_SKIP_KNOWN
	if (non_ascii(in, size))
		return 0;
#endif
	st = target_canon(t.canon, t.len, &t2);
	if (st != TARGET_OK || t2.len != t.len ||
	    memcmp(t2.canon, t.canon, t.len) != 0)
		fprintf(stderr, "fuzz_target: \"%s\" -> \"%s\"\n", t.canon,
		    t2.canon);
	CHECK(st == TARGET_OK);
	CHECK(t2.len == t.len && memcmp(t2.canon, t.canon, t.len) == 0);
	if (t.walk)
		CHECK(t2.walk);
	return 0;
}
