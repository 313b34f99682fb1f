/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * netstring - the socketmap framing.
 *
 * The decoder is stateless: it looks at the bytes buffered so far and says
 * whether they hold a frame, a valid prefix of one, or garbage.  Re-parsing
 * the at most NETSTRING_MAX_DIGITS + 1 header bytes on every call is
 * cheaper than carrying a state machine across reads.
 *
 * Invariants: never reads beyond buf[len); never waits for bytes once the
 * header has proven the frame bad.
 * Limits: NETSTRING_MAX_DIGITS, and the caller's max (NETSTRING_MAX_PAYLOAD).
 */
#include "netstring.h"

enum netstring_status
netstring_decode(const char *buf, size_t len, size_t max, const char **payload,
    size_t *plen, size_t *consumed)
{
	size_t n = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == ':')
			break;
		if (c < '0' || c > '9')
			return NETSTRING_ERR_FORMAT;
		if (i == NETSTRING_MAX_DIGITS)
			return NETSTRING_ERR_SIZE;
		n = n * 10 + (size_t)(c - '0');
		if (n > max)
			return NETSTRING_ERR_SIZE;	/* before the ':' */
	}
	if (i == len)
		return NETSTRING_NEED_MORE;
	if (i == 0)
		return NETSTRING_ERR_FORMAT;	/* empty length */
	/* i indexes the ':'; payload is buf[i + 1 .. i + 1 + n), then ',' */
	if (len - i - 1 < n + 1)
		return NETSTRING_NEED_MORE;
	if (buf[i + 1 + n] != ',')
		return NETSTRING_ERR_FORMAT;
	*payload = buf + i + 1;
	*plen = n;
	*consumed = i + 1 + n + 1;
	return NETSTRING_OK;
}

/*
 * Every reply passes through here: digits by hand, not snprintf(), which
 * costs a format parse and a locale look-up per call.
 */
size_t
netstring_header(size_t len, char *hdr)
{
	char digits[NETSTRING_MAX_HEADER];
	size_t n = 0, i;

	do {
		digits[n++] = (char)('0' + len % 10);
		len /= 10;
	} while (len != 0);
	for (i = 0; i < n; i++)
		hdr[i] = digits[n - 1 - i];
	hdr[n] = ':';
	return n + 1;
}
