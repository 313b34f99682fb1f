/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockmap - request parsing and reply formatting.
 *
 * Postfix compares the status word with strcmp after splitting the reply at
 * the first space (dict_sockmap.c, dict_sockmap_lookup()), so the words are
 * upper case and followed by exactly one space.  "NOTFOUND " keeps the
 * trailing space: Postfix and Sendmail accept both spellings.
 *
 * Invariants: a reply is one netstring, never empty data after OK, only
 * printable ASCII (Postfix's UTF-8 layer defers non-UTF-8 values).
 * Limits: SOCKMAP_MAX_REPLY.
 */
#include <string.h>

#include "sockmap.h"

void
sockmap_parse_request(const char *payload, size_t len,
    struct sockmap_request *req)
{
	const char *sp = memchr(payload, ' ', len);

	req->name = payload;
	if (sp == NULL) {
		req->namelen = len;
		req->key = payload + len;
		req->keylen = 0;
	} else {
		req->namelen = (size_t)(sp - payload);
		req->key = sp + 1;
		req->keylen = len - req->namelen - 1;
	}
}

int
sockmap_find_map(char *const *names, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return (int)i;
	return -1;
}

size_t
sockmap_format_reply(enum sockmap_status status, const char *data,
    size_t len, char *out)
{
	static const char *const words[] = {
		[SOCKMAP_OK] = "OK ",
		[SOCKMAP_NOTFOUND] = "NOTFOUND ",
		[SOCKMAP_TEMP] = "TEMP ",
		[SOCKMAP_PERM] = "PERM ",
	};
	size_t wl, n, i, hl;
	char *p;

	if (status == SOCKMAP_OK && len == 0) {
		status = SOCKMAP_TEMP;
		data = "empty policy";
		len = strlen(data);
	}
	if (status == SOCKMAP_NOTFOUND)
		len = 0;
	wl = strlen(words[status]);
	n = len < SOCKMAP_MAX_REPLY - wl ? len : SOCKMAP_MAX_REPLY - wl;
	hl = netstring_header(wl + n, out);
	p = out + hl;
	memcpy(p, words[status], wl);
	p += wl;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];

		p[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	p[n] = ',';
	return hl + wl + n + 1;
}
