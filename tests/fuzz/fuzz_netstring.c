/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_netstring - libFuzzer harness for the socketmap framing.
 *
 * Properties, for several caps:
 *   - never reads past len (libFuzzer's input buffer has exactly size
 *     bytes, so ASan reports any read beyond it);
 *   - on OK: consumed <= len, the payload lies inside the frame between
 *     the ':' and the ',', its length is within the cap, and
 *     header + payload + ',' decodes to the same payload;
 *   - a decoder without state: the frame alone decodes the same, every
 *     shorter prefix of it is NEED_MORE;
 *   - an error is final: more bytes never turn it into something else.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_netstring: %s:%d: %s\n",        \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

/* Decode buf[0..len) from a heap copy of exactly len bytes. */
static enum netstring_status
decode_copy(const char *buf, size_t len, size_t max, size_t *plen,
    size_t *consumed, char **payload_copy)
{
	char *copy = malloc(len ? len : 1);
	const char *payload = NULL;
	enum netstring_status st;

	CHECK(copy != NULL);
	if (len > 0)
		memcpy(copy, buf, len);
	st = netstring_decode(copy, len, max, &payload, plen, consumed);
	*payload_copy = NULL;
	if (st == NETSTRING_OK) {
		CHECK(payload >= copy && payload + *plen <= copy + len);
		*payload_copy = malloc(*plen ? *plen : 1);
		CHECK(*payload_copy != NULL);
		memcpy(*payload_copy, payload, *plen);
	}
	free(copy);
	return st;
}

static void
check_ok(const char *buf, size_t len, size_t max, const char *payload,
    size_t plen, size_t consumed)
{
	char hdr[NETSTRING_MAX_HEADER];
	size_t hl, hdrlen, plen2, consumed2;
	char *frame, *p2;

	CHECK(consumed <= len);
	CHECK(plen <= max);
	CHECK(payload > buf && payload + plen + 1 == buf + consumed);
	CHECK(payload[-1] == ':');
	CHECK(buf[consumed - 1] == ',');
	hdrlen = (size_t)(payload - buf);	/* digits and ':' */
	CHECK(hdrlen >= 2 && hdrlen <= NETSTRING_MAX_DIGITS + 1);

	/* the frame alone: same answer; every shorter prefix: NEED_MORE */
	CHECK(decode_copy(buf, consumed, max, &plen2, &consumed2, &p2) ==
	    NETSTRING_OK);
	CHECK(plen2 == plen && consumed2 == consumed);
	CHECK(memcmp(p2, payload, plen) == 0);
	free(p2);
	CHECK(decode_copy(buf, consumed - 1, max, &plen2, &consumed2, &p2) ==
	    NETSTRING_NEED_MORE);
	CHECK(decode_copy(buf, hdrlen, max, &plen2, &consumed2, &p2) ==
	    NETSTRING_NEED_MORE);

	/* re-encode without leading zeros: the same payload comes back */
	hl = netstring_header(plen, hdr);
	CHECK(hl >= 2 && hl < NETSTRING_MAX_HEADER && hdr[hl - 1] == ':');
	CHECK(hl <= hdrlen);
	frame = malloc(hl + plen + 1);
	CHECK(frame != NULL);
	memcpy(frame, hdr, hl);
	memcpy(frame + hl, payload, plen);
	frame[hl + plen] = ',';
	CHECK(decode_copy(frame, hl + plen + 1, max, &plen2, &consumed2,
	    &p2) == NETSTRING_OK);
	CHECK(plen2 == plen && consumed2 == hl + plen + 1);
	CHECK(memcmp(p2, payload, plen) == 0);
	free(p2);
	free(frame);
}

/* An error stays the same error whatever follows. */
static void
check_final(const char *buf, size_t len, size_t max,
    enum netstring_status st)
{
	static const char tails[][4] = {",", ":", "0", "0:,"};
	size_t i, plen, consumed;
	char *ext, *p;

	ext = malloc(len + 4);
	CHECK(ext != NULL);
	if (len > 0)
		memcpy(ext, buf, len);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		size_t tl = strlen(tails[i]);

		memcpy(ext + len, tails[i], tl);
		CHECK(decode_copy(ext, len + tl, max, &plen, &consumed, &p) ==
		    st);
	}
	free(ext);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = {NETSTRING_MAX_PAYLOAD, 0, 7,
	    SOCKMAP_MAX_REPLY, 99999};
	const char *buf = (const char *)data;
	size_t i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		const char *payload = NULL;
		size_t plen = 0, consumed = 0, plen2, consumed2;
		enum netstring_status st;
		char *p2;

		st = netstring_decode(buf, size, caps[i], &payload, &plen,
		    &consumed);
		switch (st) {
		case NETSTRING_OK:
			check_ok(buf, size, caps[i], payload, plen, consumed);
			break;
		case NETSTRING_NEED_MORE:
			/* a valid prefix has valid prefixes */
			if (size > 0)
				CHECK(decode_copy(buf, size - 1, caps[i],
				    &plen2, &consumed2, &p2) ==
				    NETSTRING_NEED_MORE);
			break;
		case NETSTRING_ERR_FORMAT:
		case NETSTRING_ERR_SIZE:
			CHECK(size > 0);
			check_final(buf, size, caps[i], st);
			break;
		default:
			CHECK(!"unknown status");
		}
	}
	return 0;
}
