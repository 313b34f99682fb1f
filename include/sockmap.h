/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockmap - the socketmap request and reply payloads (Postfix's
 * dict_sockmap.c): "<map> <key>" in, "OK <data>" / "NOTFOUND " /
 * "TEMP <reason>" / "PERM <reason>" out.  Pure: no I/O, no allocation.
 */
#ifndef TLSPOLICYD_SOCKMAP_H
#define TLSPOLICYD_SOCKMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "netstring.h"

enum sockmap_status {
	SOCKMAP_OK,
	SOCKMAP_NOTFOUND,
	SOCKMAP_TEMP,
	SOCKMAP_PERM,
};

struct sockmap_request {
	const char *name;	/* borrowed from the payload */
	size_t namelen;
	const char *key;	/* borrowed; may contain spaces; may be empty */
	size_t keylen;
};

/*
 * Split a request payload at the first space (Postfix sends "%s %s").
 * A payload without a space is a map name with an empty key.
 */
void sockmap_parse_request(const char *payload, size_t len,
    struct sockmap_request *req);

/* Index of the map name in names[0..n), or -1 if it is not served. */
int sockmap_find_map(char *const *names, size_t n, const char *name,
    size_t len);

/* A whole reply frame: header, status word, space, data, ','. */
#define SOCKMAP_MAX_FRAME (NETSTRING_MAX_HEADER + SOCKMAP_MAX_REPLY + 1)

/*
 * Write one complete reply frame into out (SOCKMAP_MAX_FRAME bytes) and
 * return its length.  Data is made printable ASCII (anything else becomes
 * '?') and cut to fit SOCKMAP_MAX_REPLY.  An OK with empty data would mean
 * "not found" to Postfix 3.7 and an error to later versions: it is turned
 * into TEMP, never sent.
 */
size_t sockmap_format_reply(enum sockmap_status status, const char *data,
    size_t len, char *out);

#endif
