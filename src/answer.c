/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * answer - the reply rules, in the order they are decided.
 *
 * The order matters: a key that can never match answers NOTFOUND before
 * the data checks, because no load can ever change that answer and Postfix
 * should not defer mail for it; everything else needs authoritative data,
 * so before the first load and past max_stale it answers TEMP and Postfix
 * defers rather than use a weaker policy.
 *
 * Invariants: exactly one reply frame per call; OK never without data
 * (sockmap_format_reply); the clock is the caller's, so a test can set it.
 * Limits: SOCKMAP_MAX_REPLY, SOCKMAP_MAX_NAME (echoed map names).
 */
#include <stdarg.h>
#include <stdio.h>

#include "answer.h"
#include "config.h"
#include "lifecycle.h"
#include "snapshot.h"
#include "target.h"

/* A reply frame from printf-style data: the rare replies only. */
static size_t
reply(char *out, enum sockmap_status *status, enum sockmap_status st,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static size_t
reply(char *out, enum sockmap_status *status, enum sockmap_status st,
    const char *fmt, ...)
{
	char msg[SOCKMAP_MAX_REPLY];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	*status = st;
	return sockmap_format_reply(st, msg,
	    (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, out);
}

size_t
answer_reply(const struct daemon *d, double now, const char *payload,
    size_t len, char *out, enum sockmap_status *status)
{
	const struct config *cfg = d->cfg;
	struct sockmap_request req;
	struct target key;
	const char *text;
	size_t tlen;

	sockmap_parse_request(payload, len, &req);
	if (sockmap_find_map(cfg->map, cfg->nmap, req.name, req.namelen) < 0)
		return reply(out, status, SOCKMAP_PERM, "unknown map %.*s",
		    (int)(req.namelen > SOCKMAP_MAX_NAME ? SOCKMAP_MAX_NAME :
		    req.namelen), req.name);

	/* Empty, overlong, non-UTF-8: no row can match, at any time. */
	if (target_canon(req.key, req.keylen, &key) != TARGET_OK) {
		*status = SOCKMAP_NOTFOUND;
		return sockmap_format_reply(SOCKMAP_NOTFOUND, "", 0, out);
	}

	if (d->snap == NULL)
		return reply(out, status, SOCKMAP_TEMP,
		    "no policy data loaded yet%s%s", d->why[0] ? ": " : "",
		    d->why);
	if (!d->in_sync &&
	    now - d->current_mono > (double)cfg->max_stale / 1000) {
		char when[32];

		lifecycle_utc((double)d->current_at, when, sizeof(when));
		return reply(out, status, SOCKMAP_TEMP,
		    "policy data stale since %s", when);
	}

	switch (snapshot_lookup(d->snap, &key, key.walk && cfg->parent_walk,
	    &text, &tlen)) {
	case SNAPSHOT_FOUND:
		*status = SOCKMAP_OK;
		return sockmap_format_reply(SOCKMAP_OK, text, tlen, out);
	case SNAPSHOT_INVALID:
		*status = SOCKMAP_TEMP;
		return sockmap_format_reply(SOCKMAP_TEMP, text, tlen, out);
	case SNAPSHOT_CONFLICT:
		return reply(out, status, SOCKMAP_TEMP,
		    "conflicting rows for %.*s", (int)tlen, text);
	case SNAPSHOT_NONE:
		break;
	}
	*status = SOCKMAP_NOTFOUND;
	return sockmap_format_reply(SOCKMAP_NOTFOUND, "", 0, out);
}
