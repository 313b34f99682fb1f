/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_sockmap - libFuzzer harness for request parsing and reply
 * formatting.
 *
 * The first input byte picks a status, the rest is a request payload.
 * Properties:
 *   - parsing splits at the first space and stays inside the payload;
 *   - a reply formatted from any bytes (the key, the name, the payload)
 *     fits SOCKMAP_MAX_FRAME (the output buffer has exactly that size,
 *     so ASan reports any overflow) and decodes as exactly one netstring
 *     whose payload is printable ASCII: a status word from OK, NOTFOUND,
 *     TEMP, PERM, one space, then the data, made printable and capped;
 *   - never "OK " with empty data: that becomes TEMP.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"
#include "sockmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_sockmap: %s:%d: %s\n",          \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

static const char *const words[] = {
	[SOCKMAP_OK] = "OK",
	[SOCKMAP_NOTFOUND] = "NOTFOUND",
	[SOCKMAP_TEMP] = "TEMP",
	[SOCKMAP_PERM] = "PERM",
};

static void
check_reply(enum sockmap_status st, const char *data, size_t len)
{
	char *out = malloc(SOCKMAP_MAX_FRAME);
	const char *payload, *sp, *word, *rest;
	size_t n, plen, consumed, wordlen, restlen, i, wl, want;
	enum sockmap_status want_st = st;

	CHECK(out != NULL);
	n = sockmap_format_reply(st, data, len, out);
	CHECK(n >= 4 && n <= SOCKMAP_MAX_FRAME);
	CHECK(netstring_decode(out, n, SOCKMAP_MAX_REPLY, &payload, &plen,
	    &consumed) == NETSTRING_OK);
	CHECK(consumed == n);
	CHECK(plen <= SOCKMAP_MAX_REPLY);
	for (i = 0; i < plen; i++)
		CHECK(payload[i] >= 0x20 && payload[i] < 0x7f);

	/* Postfix's split_at(buf, ' ') */
	sp = memchr(payload, ' ', plen);
	CHECK(sp != NULL);
	word = payload;
	wordlen = (size_t)(sp - payload);
	rest = sp + 1;
	restlen = plen - wordlen - 1;
	if (st == SOCKMAP_OK && len == 0)
		want_st = SOCKMAP_TEMP;
	CHECK(wordlen == strlen(words[want_st]));
	CHECK(memcmp(word, words[want_st], wordlen) == 0);
	if (want_st == SOCKMAP_OK)
		CHECK(restlen > 0);
	if (want_st == SOCKMAP_NOTFOUND)
		CHECK(restlen == 0);

	/* the data, made printable, cut to the cap */
	if (want_st == st && st != SOCKMAP_NOTFOUND) {
		wl = wordlen + 1;
		want = len < SOCKMAP_MAX_REPLY - wl ? len :
		    SOCKMAP_MAX_REPLY - wl;
		CHECK(restlen == want);
		for (i = 0; i < restlen; i++) {
			unsigned char c = (unsigned char)data[i];

			CHECK(rest[i] == ((c >= 0x20 && c < 0x7f) ? (char)c :
			    '?'));
		}
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char map0[] = "tlspolicy";
	char map1[] = "lmtp";
	char *const names[] = {map0, map1};
	struct sockmap_request req;
	const char *p;
	size_t n;
	int idx, st;

	if (size == 0)
		return 0;
	st = data[0] % 4;
	p = (const char *)data + 1;
	n = size - 1;

	sockmap_parse_request(p, n, &req);
	CHECK(req.name == p);
	CHECK(req.namelen <= n);
	CHECK(memchr(req.name, ' ', req.namelen) == NULL);
	if (req.namelen == n) {
		CHECK(req.keylen == 0);
	} else {
		CHECK(p[req.namelen] == ' ');
		CHECK(req.key == p + req.namelen + 1);
		CHECK(req.namelen + 1 + req.keylen == n);
	}

	idx = sockmap_find_map(names, 2, req.name, req.namelen);
	CHECK(idx >= -1 && idx <= 1);
	if (idx >= 0)
		CHECK(strlen(names[idx]) == req.namelen &&
		    memcmp(names[idx], req.name, req.namelen) == 0);
	else
		CHECK(!(req.namelen == 9 && memcmp(req.name, map0, 9) == 0) &&
		    !(req.namelen == 4 && memcmp(req.name, map1, 4) == 0));

	check_reply((enum sockmap_status)st, req.key, req.keylen);
	check_reply((enum sockmap_status)st, req.name, req.namelen);
	check_reply((enum sockmap_status)st, p, n);
	return 0;
}
