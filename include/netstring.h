/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netstring - bounded netstring decoder and encoder over byte spans
 * ("<decimal length>:<payload>,"), as Postfix's netstring.c reads and
 * writes them.  Pure: no I/O, no allocation.
 */
#ifndef TLSPOLICYD_NETSTRING_H
#define TLSPOLICYD_NETSTRING_H

#include <stddef.h>

#include "bounds.h"

enum netstring_status {
	NETSTRING_NEED_MORE,	/* a valid prefix: read more bytes */
	NETSTRING_OK,		/* one frame decoded */
	NETSTRING_ERR_FORMAT,	/* not a netstring: close the connection */
	NETSTRING_ERR_SIZE,	/* length above the cap: close the connection */
};

/*
 * Decode the frame at the start of buf[0..len).  On NETSTRING_OK, *payload
 * points into buf (borrowed), *plen is its length and *consumed the bytes of
 * the whole frame.  Errors are reported as soon as the bytes prove them,
 * before the payload arrives: a bad length is never waited for.
 * Leading zeros are accepted (Postfix accepts them); an empty length, a
 * non-digit, a missing ':' or ',' are format errors; more than max payload
 * bytes, or more than NETSTRING_MAX_DIGITS digits, is a size error.
 */
enum netstring_status netstring_decode(const char *buf, size_t len, size_t max,
    const char **payload, size_t *plen, size_t *consumed);

/* Longest header netstring_header() writes: digits of SIZE_MAX and ':'. */
#define NETSTRING_MAX_HEADER 24

/*
 * Write the header "<len>:" (no leading zeros) into hdr, which has room for
 * NETSTRING_MAX_HEADER bytes.  Returns the header length.  The frame is the
 * header, the payload, and one ','.
 */
size_t netstring_header(size_t len, char *hdr);

#endif
