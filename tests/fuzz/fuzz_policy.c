/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_policy - libFuzzer harness for policy_parse().
 *
 * Input: byte 0 picks the Postfix version (3.7 ... 3.12) and the digest
 * length; the rest is split at the first NUL or newline into the level
 * column and the parameters column (which ends at the next NUL).
 *
 * Properties checked besides "never crashes":
 * - the problem is printable ASCII, set exactly when invalid or warned;
 * - an invalid policy leaves no text;
 * - a valid text is canonical: printable ASCII, a lowercase level, then
 *   " name=value" (no comma, brace or blank in the value) or, from 3.10,
 *   " { name = value }" with a value that has a space;
 * - parsing the canonical text again gives the same text, silently;
 * - what is valid for an older version is valid, unchanged, for 3.12.
 * (The version and digest names are parsed by config: fuzz_config.)
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
 *        src/policy.c src/hostname.c tests/fuzz/fuzz_policy.c
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: property failed: %s\n", \
		    __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

static const int compats[] = { 307, 308, 309, 310, 311, 312 };
static const size_t digest_lens[] = { 32, 20, 64 };
static const char *const levels[] = {
	"none", "may", "encrypt", "dane", "dane-only", "fingerprint",
	"verify", "secure", NULL
};

static bool
printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false;
	for (; *s != 0; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static bool
is_level(const char *s, size_t n)
{
	size_t i;

	for (i = 0; levels[i] != NULL; i++)
		if (strlen(levels[i]) == n && memcmp(levels[i], s, n) == 0)
			return true;
	return false;
}

/* A lowercase attribute name; returns the byte after it. */
static const char *
skip_name(const char *cp)
{
	const char *start = cp;

	while ((*cp >= 'a' && *cp <= 'z') || *cp == '_')
		cp++;
	CHECK(cp > start);
	return cp;
}

static void
check_canonical(const char *text, int compat)
{
	const char *cp = text + strcspn(text, " ");
	const char *end;

	CHECK(is_level(text, (size_t)(cp - text)));
	CHECK(strchr(text, ',') == NULL);
	while (*cp != 0) {
		CHECK(*cp++ == ' ');
		if (*cp == '{') {
			CHECK(compat >= 310);
			CHECK(strncmp(cp, "{ ", 2) == 0);
			cp = skip_name(cp + 2);
			CHECK(strncmp(cp, " = ", 3) == 0);
			cp += 3;
			end = strstr(cp, " }");
			CHECK(end != NULL && end > cp);
			CHECK(memchr(cp, '{', (size_t)(end - cp)) == NULL);
			CHECK(memchr(cp, ' ', (size_t)(end - cp)) != NULL);
			CHECK(cp[0] != ' ' && end[-1] != ' ');
			cp = end + 2;
			CHECK(*cp == 0 || *cp == ' ');
		} else {
			cp = skip_name(cp);
			CHECK(*cp++ == '=');
			end = cp + strcspn(cp, " ");
			CHECK(memchr(cp, '{', (size_t)(end - cp)) == NULL);
			CHECK(memchr(cp, '}', (size_t)(end - cp)) == NULL);
			cp = end;
		}
	}
}

/* Parse text as "<level> <params>" again. */
static enum policy_status
reparse(const struct policy_opts *opts, const char *text,
    struct policy_result *res)
{
	char level[32];
	size_t n = strcspn(text, " ");

	CHECK(n < sizeof(level));
	memcpy(level, text, n);
	level[n] = 0;
	return policy_parse(opts, level, text + n, res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_result res;
	static struct policy_result again;
	struct policy_opts opts;
	enum policy_status st;
	char *buf;
	char *level;
	char *params;
	size_t n;

	if (size < 1)
		return 0;
	policy_opts_init(&opts);
	opts.compat = compats[data[0] % 6];
	opts.fingerprint_len = digest_lens[(data[0] / 6) % 3];

	/* "level\0params" or "level\nparams"; params end at a NUL. */
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	level = buf;
	n = 0;
	while (n < size - 1 && buf[n] != 0 && buf[n] != '\n')
		n++;
	if (n < size - 1) {
		buf[n] = 0;
		params = buf + n + 1;
	} else {
		params = NULL;
	}

	st = policy_parse(&opts, level, params, &res);
	CHECK(printable(res.problem, sizeof(res.problem)));
	CHECK((res.problem[0] != 0) == (st != POLICY_OK || res.warned));
	if (st != POLICY_OK) {
		CHECK(res.text[0] == 0);
		free(buf);
		return 0;
	}
	CHECK(st == POLICY_OK);
	CHECK(printable(res.text, sizeof(res.text)));
	check_canonical(res.text, opts.compat);

	CHECK(reparse(&opts, res.text, &again) == POLICY_OK);
	CHECK(strcmp(again.text, res.text) == 0);
	CHECK(!again.warned);

	if (opts.compat < 310) {
		opts.compat = 312;
		CHECK(policy_parse(&opts, level, params, &again) == POLICY_OK);
		CHECK(strcmp(again.text, res.text) == 0);
		CHECK(again.warned == res.warned);
	}
	free(buf);
	return 0;
}
