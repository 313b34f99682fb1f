/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * review - tlspolicyd --review (include/review.h).
 *
 * The pure half comes first: it decides.  The shell half asks postconf(1)
 * (postconf_get) for the sending side's settings, looks up each
 * destination's MX hosts (only to keep two probes off one host), runs
 * posttls-finger(1) per override within the bounds, and prints what the
 * pure half made of the output.
 *
 * Why posttls-finger: it is Postfix's own TLS client code with Postfix's
 * own reading of DNS (it trusts the resolver's AD bit, as smtp(8) does,
 * and reads main.cf through MAIL_CONFIG), so "would delivery succeed at
 * dane" is answered the way smtp(8) would answer it, not by a second
 * implementation of DANE.  It exits 0 whatever happened, so the verdict
 * comes from what it printed; that text is read defensively: lines the
 * remote server controls (the SMTP chat, "< ...") never decide anything.
 */
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle.h"
#include "log.h"
#include "monotime.h"
#include "policy.h"
#include "postconf.h"
#include "review.h"
#include "target.h"
#include "xalloc.h"

/* ============================================================ pure */

/* A probe at level cannot tell whether a stricter override is needed. */
static bool
stricter(enum policy_level override, enum policy_level level)
{
	return lifecycle_rank(override) > lifecycle_rank(level);
}

enum policy_level
review_probe_level(enum policy_level level)
{
	return level == POLICY_LEVEL_DANE ? POLICY_LEVEL_DANE_ONLY : level;
}

static bool
put_host(const char *s, size_t n, char *host, size_t hostsz)
{
	size_t i;

	if (n == 0 || n > HOSTNAME_MAX_LEN || n >= hostsz)
		return false;
	for (i = 0; i < n; i++)
		host[i] = (char)tolower((unsigned char)s[i]);
	host[n] = '\0';
	return true;
}

enum review_dest
review_destination(const char *canon, char *host, size_t hostsz)
{
	const char *end;
	size_t n;

	if (hostsz > 0)
		host[0] = '\0';
	if (canon[0] == '\0' || strchr(canon, '/') != NULL)
		return REVIEW_DEST_OTHER;
	if (canon[0] == '.')
		return REVIEW_DEST_PATTERN;
	if (canon[0] == '[') {
		if ((end = strchr(canon, ']')) == NULL ||
		    (end[1] != '\0' && end[1] != ':'))
			return REVIEW_DEST_OTHER;
		return put_host(canon + 1, (size_t)(end - canon - 1), host,
		    hostsz) ? REVIEW_DEST_HOST : REVIEW_DEST_OTHER;
	}
	n = strcspn(canon, ":");
	return put_host(canon, n, host, hostsz) ? REVIEW_DEST_DOMAIN :
	    REVIEW_DEST_OTHER;
}

/* One line of posttls-finger's output: start and length. */
struct line {
	const char *s;
	size_t n;
};

static bool
starts(const struct line *l, const char *prefix)
{
	size_t n = strlen(prefix);

	return l->n >= n && memcmp(l->s, prefix, n) == 0;
}

static bool
contains(const struct line *l, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= l->n; i++)
		if (memcmp(l->s + i, needle, n) == 0)
			return true;
	return false;
}

/*
 * What posttls-finger said, by kind.  Only its own messages count: the
 * SMTP chat it logs ("< " server lines, "> " client lines) is the remote
 * server's to choose, except that "> STARTTLS" tells the server offered it.
 */
struct said {
	struct line connected;	/* "Connected to host[addr]:port" */
	struct line established;	/* "<Kind> TLS connection established ..." */
	struct line verify_failed;	/* "... certificate verification failed ..." */
	struct line no_tlsa;	/* "no [usable ]TLSA records found, ..." */
	struct line lookup_failed;	/* "Destination address lookup failed: ..." */
	struct line session_failed;	/* "Failed to establish session ..." */
	struct line refused;	/* greeting, EHLO or STARTTLS refused */
	struct line tls_error;	/* handshake or TLS library trouble */
	struct line last;	/* the last message of its own */
	bool offered;		/* we sent STARTTLS: the server offered it */
	bool dane_matched;	/* "Matched DANE ..." */
	bool usable_missing;	/* no_tlsa says "no usable TLSA records" */
};

/*
 * "<host>[<addr>]:<port>: <what>...": the peer is one token, so a line
 * that quotes the server ("STARTTLS rejected: 454 ...") never passes.
 */
static bool
peer_says(const struct line *l, const char *what)
{
	size_t i, n = strlen(what);

	for (i = 0; i < l->n && l->s[i] != ' '; i++)
		if (i > 0 && l->s[i] == ':' && i + 1 < l->n &&
		    l->s[i + 1] == ' ')
			return l->n - i - 2 >= n &&
			    memcmp(l->s + i + 2, what, n) == 0;
	return false;
}

/* "Verified TLS connection established to ..." and its siblings. */
static bool
tls_summary(const struct line *l)
{
	static const char *const kinds[] = {"Verified", "Trusted",
	    "Untrusted", "Anonymous"};
	static const char rest[] = " TLS connection established to ";
	size_t i, k;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		k = strlen(kinds[i]);
		if (l->n > k + sizeof(rest) - 1 &&
		    memcmp(l->s, kinds[i], k) == 0 &&
		    memcmp(l->s + k, rest, sizeof(rest) - 1) == 0)
			return true;
	}
	return false;
}

static void
first(struct line *slot, const struct line *l)
{
	if (slot->s == NULL)
		*slot = *l;
}

static void
read_output(const char *out, size_t len, struct said *w)
{
	static const char prefix[] = "posttls-finger: ";
	const char *p = out, *end = out + len, *nl;
	struct line l;

	memset(w, 0, sizeof(*w));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		l.s = p;
		l.n = (size_t)((nl != NULL ? nl : end) - p);
		p = nl != NULL ? nl + 1 : end;
		if (l.n > 0 && l.s[l.n - 1] == '\r')
			l.n--;
		if (starts(&l, prefix)) {
			l.s += sizeof(prefix) - 1;
			l.n -= sizeof(prefix) - 1;
		}
		if (l.n == 0)
			continue;
		if (starts(&l, "> STARTTLS") && l.n == 10) {
			w->offered = true;
			continue;
		}
		if (starts(&l, "< ") || starts(&l, "> "))
			continue;
		w->last = l;
		/* lines that quote the server first: they decide nothing */
		if (starts(&l, "STARTTLS rejected: ") ||
		    starts(&l, "SMTP service not available: ") ||
		    starts(&l, "EHLO rejected: ") ||
		    contains(&l, " while reading server greeting") ||
		    contains(&l, " while sending EHLO"))
			first(&w->refused, &l);
		else if (starts(&l, "Connected to "))
			first(&w->connected, &l);
		else if (tls_summary(&l))
			first(&w->established, &l);
		else if (starts(&l, "certificate verification failed for ") ||
		    starts(&l, "server certificate verification failed for "))
			first(&w->verify_failed, &l);
		else if (peer_says(&l, "Matched DANE "))
			w->dane_matched = true;
		else if (starts(&l, "no TLSA records found"))
			first(&w->no_tlsa, &l);
		else if (starts(&l, "no usable TLSA records found")) {
			first(&w->no_tlsa, &l);
			w->usable_missing = true;
		} else if (starts(&l, "Destination address lookup failed: "))
			first(&w->lookup_failed, &l);
		else if (starts(&l, "Failed to establish session to ")) {
			/* what was said about that address is moot */
			w->session_failed = l;	/* the last one says most */
			w->no_tlsa.s = NULL;
			w->usable_missing = false;
		}
		else if (contains(&l, "SSL_connect error") ||
		    contains(&l, "TLS library problem") ||
		    contains(&l, "handshake"))
			first(&w->tls_error, &l);
	}
}

/* printf into detail, then make it printable ASCII. */
static void
say(char *detail, size_t detailsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(char *detail, size_t detailsz, const char *fmt, ...)
{
	va_list ap;
	char *c;

	if (detailsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, detailsz, fmt, ap);
	va_end(ap);
	for (c = detail; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
}

/*
 * The summary line without its key-exchange and signature details: the
 * part that says who was verified and with what protocol and cipher.
 */
static int
summary_len(const struct line *l)
{
	size_t i;
	static const char cut[] = " key-exchange ";

	for (i = 0; i + sizeof(cut) - 1 <= l->n; i++)
		if (memcmp(l->s + i, cut, sizeof(cut) - 1) == 0)
			return (int)i;
	return (int)l->n;
}

/* "Connected to mx.example.com[192.0.2.1]:25" -> "mx.example.com[...]:25" */
static struct line
peer(const struct said *w)
{
	struct line p = w->connected;

	if (p.s != NULL) {
		p.s += sizeof("Connected to ") - 1;
		p.n -= sizeof("Connected to ") - 1;
	}
	return p;
}

/* Why no TLS connection suitable for encrypt came about. */
static void
why_no_tls(const struct said *w, char *detail, size_t detailsz)
{
	struct line p = peer(w);

	if (w->refused.s != NULL)
		say(detail, detailsz, "%.*s", (int)w->refused.n, w->refused.s);
	else if (!w->offered)
		say(detail, detailsz, "%.*s does not offer STARTTLS",
		    (int)p.n, p.s);
	else if (w->tls_error.s != NULL)
		say(detail, detailsz, "%.*s", (int)w->tls_error.n,
		    w->tls_error.s);
	else
		say(detail, detailsz, "no TLS connection established with "
		    "%.*s", (int)p.n, p.s);
}

/* Why the server was not verified (a TLS connection may exist). */
static void
why_unverified(const struct said *w, char *detail, size_t detailsz)
{
	if (w->verify_failed.s != NULL)
		say(detail, detailsz, "%.*s", (int)w->verify_failed.n,
		    w->verify_failed.s);
	else if (w->established.s != NULL)
		say(detail, detailsz, "not verified (%.*s)",
		    summary_len(&w->established), w->established.s);
	else
		why_no_tls(w, detail, detailsz);
}

/* Does what was seen meet Postfix's rule for level? */
static bool
met(const struct said *w, enum policy_level level)
{
	switch (level) {
	case POLICY_LEVEL_NONE:
	case POLICY_LEVEL_MAY:
		return true;	/* connected; a failed handshake retries plain */
	case POLICY_LEVEL_ENCRYPT:
		return w->established.s != NULL;
	case POLICY_LEVEL_DANE:
	case POLICY_LEVEL_DANE_ONLY:
		return w->established.s != NULL && w->dane_matched &&
		    w->verify_failed.s == NULL;
	case POLICY_LEVEL_FINGERPRINT:
	case POLICY_LEVEL_VERIFY:
	case POLICY_LEVEL_SECURE:
	case POLICY_LEVEL_COUNT:
		break;
	}
	return w->established.s != NULL && w->verify_failed.s == NULL &&
	    starts(&w->established, "Verified ");
}

enum review_verdict
review_judge(enum policy_level override, enum policy_level level,
    const char *out, size_t len, char *detail, size_t detailsz)
{
	struct said w;
	enum policy_level eff = level;
	const char *fallback = NULL;
	struct line p, e;

	if (stricter(override, level)) {
		say(detail, detailsz, "stricter than %s, the review level: "
		    "only a review at a stricter level can tell",
		    policy_level_name(level));
		return REVIEW_NEEDED;
	}
	read_output(out, len, &w);
	if (w.connected.s == NULL) {
		if (w.lookup_failed.s != NULL)
			e = w.lookup_failed;
		else if (w.session_failed.s != NULL)
			e = w.session_failed;
		else
			e = w.last;
		if (e.s != NULL)
			say(detail, detailsz, "%.*s", (int)e.n, e.s);
		else
			say(detail, detailsz, "posttls-finger said nothing");
		return REVIEW_UNCHECKED;
	}
	if (w.refused.s != NULL && w.established.s == NULL && !w.offered) {
		/* the server would not talk to us: nothing learned */
		say(detail, detailsz, "%.*s", (int)w.refused.n, w.refused.s);
		return REVIEW_UNCHECKED;
	}
	p = peer(&w);

	/*
	 * dane without usable TLSA records is may (none at all) or encrypt
	 * (only unusable ones) in smtp(8); dane-only defers.
	 */
	if ((level == POLICY_LEVEL_DANE || level == POLICY_LEVEL_DANE_ONLY) &&
	    !w.dane_matched && w.no_tlsa.s != NULL) {
		if (level == POLICY_LEVEL_DANE_ONLY) {
			say(detail, detailsz, "%.*s: %.*s", (int)p.n, p.s,
			    (int)w.no_tlsa.n, w.no_tlsa.s);
			return REVIEW_NEEDED;
		}
		eff = w.usable_missing ? POLICY_LEVEL_ENCRYPT :
		    POLICY_LEVEL_MAY;
		fallback = w.usable_missing ? "no usable TLSA records" :
		    "no TLSA records";
		if (lifecycle_rank(eff) < lifecycle_rank(override)) {
			say(detail, detailsz, "%s for %.*s, so dane means %s "
			    "there, weaker than this override", fallback,
			    (int)p.n, p.s, policy_level_name(eff));
			return REVIEW_NEEDED;
		}
	}

	if (!met(&w, eff)) {
		if (eff == POLICY_LEVEL_ENCRYPT)
			why_no_tls(&w, detail, detailsz);
		else
			why_unverified(&w, detail, detailsz);
		return REVIEW_NEEDED;
	}
	e = w.established.s != NULL ? w.established : w.connected;
	if (fallback != NULL)
		say(detail, detailsz, "%s, so dane means %s there (%.*s)",
		    fallback, policy_level_name(eff), summary_len(&e), e.s);
	else if (eff == POLICY_LEVEL_MAY || eff == POLICY_LEVEL_ENCRYPT ||
	    eff == POLICY_LEVEL_NONE)
		say(detail, detailsz, "%s succeeded (%.*s)",
		    policy_level_name(eff), summary_len(&e), e.s);
	else
		say(detail, detailsz, "%s verified (%.*s)",
		    policy_level_name(eff == POLICY_LEVEL_DANE_ONLY ?
		    POLICY_LEVEL_DANE : eff), summary_len(&e), e.s);
	return REVIEW_REMOVABLE;
}

/* Skip a possibly compressed name at *pos; false if it runs off the end. */
static bool
skip_name(const unsigned char *msg, size_t len, size_t *pos)
{
	size_t p = *pos;

	while (p < len) {
		unsigned c = msg[p];

		if (c == 0) {
			*pos = p + 1;
			return true;
		}
		if ((c & 0xc0) == 0xc0) {
			if (p + 2 > len)
				return false;
			*pos = p + 2;
			return true;
		}
		if ((c & 0xc0) != 0)
			return false;
		p += 1 + c;
	}
	return false;
}

/* Expand the name at pos into out (lowercase, no trailing dot). */
static bool
expand_name(const unsigned char *msg, size_t len, size_t pos, char *out,
    size_t outsz)
{
	size_t o = 0, hops = 0;

	for (;;) {
		unsigned c;

		if (pos >= len)
			return false;
		c = msg[pos];
		if (c == 0)
			break;
		if ((c & 0xc0) == 0xc0) {
			if (pos + 2 > len || ++hops > 64)
				return false;
			pos = ((size_t)(c & 0x3f) << 8) | msg[pos + 1];
			continue;
		}
		if ((c & 0xc0) != 0 || pos + 1 + c > len)
			return false;
		if (o + (o > 0) + c > HOSTNAME_MAX_LEN || o + (o > 0) + c >=
		    outsz)
			return false;
		if (o > 0)
			out[o++] = '.';
		for (size_t i = 0; i < c; i++) {
			unsigned char b = msg[pos + 1 + i];

			if (b == '.' || b <= 0x20 || b >= 0x7f)
				return false;
			out[o++] = (char)tolower(b);
		}
		pos += 1 + c;
	}
	if (outsz == 0)
		return false;
	out[o] = '\0';
	return true;
}

enum review_mx
review_mx_parse(const unsigned char *msg, size_t len,
    char (*hosts)[HOSTNAME_MAX_LEN + 1], size_t max, size_t *n)
{
	size_t pos = 12, qd, an, i;
	unsigned flags;

	*n = 0;
	if (len < 12)
		return REVIEW_MX_MALFORMED;
	flags = (unsigned)msg[2] << 8 | msg[3];
	qd = (size_t)msg[4] << 8 | msg[5];
	an = (size_t)msg[6] << 8 | msg[7];
	if ((flags & 0x8000) == 0)
		return REVIEW_MX_MALFORMED;	/* a query, not an answer */
	if ((flags & 0x000f) == 3)
		return REVIEW_MX_NONE;		/* NXDOMAIN */
	if ((flags & 0x000f) != 0)
		return REVIEW_MX_MALFORMED;
	for (i = 0; i < qd; i++) {
		if (!skip_name(msg, len, &pos) || pos + 4 > len)
			return REVIEW_MX_MALFORMED;
		pos += 4;
	}
	for (i = 0; i < an; i++) {
		unsigned type, class;
		size_t rdlen;

		if (!skip_name(msg, len, &pos) || pos + 10 > len)
			return REVIEW_MX_MALFORMED;
		type = (unsigned)msg[pos] << 8 | msg[pos + 1];
		class = (unsigned)msg[pos + 2] << 8 | msg[pos + 3];
		rdlen = (size_t)msg[pos + 8] << 8 | msg[pos + 9];
		pos += 10;
		if (pos + rdlen > len)
			return REVIEW_MX_MALFORMED;
		if (type == 15 && class == 1) {
			char name[HOSTNAME_MAX_LEN + 1];

			if (rdlen < 3 || !expand_name(msg, len, pos + 2, name,
			    sizeof(name)))
				return REVIEW_MX_MALFORMED;
			if (name[0] != '\0' && *n < max)
				memcpy(hosts[(*n)++], name, strlen(name) + 1);
		}
		pos += rdlen;
	}
	return *n > 0 ? REVIEW_MX_OK : REVIEW_MX_NONE;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t
review_json_string(char *out, size_t outsz, const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	char esc[8];

	while (*s != '\0') {
		const char *piece = esc;
		size_t n, k;

		if (*s == '"' || *s == '\\') {
			esc[0] = '\\', esc[1] = (char)*s, n = 2;
			s++;
		} else if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			n = 6;
			s++;
		} else if ((k = utf8_len(s)) == 0) {
			piece = "\\ufffd";
			n = 6;
			s++;
		} else {
			piece = (const char *)s;
			n = k;
			s += k;
		}
		for (k = 0; k < n; k++, o++)
			if (o + 1 < outsz)
				out[o] = piece[k];
	}
	if (outsz > 0)
		out[o < outsz ? o : outsz - 1] = '\0';
	return o;
}

/* ============================================================ shell */

struct item {
	char *target;		/* as stored */
	char *policy;		/* canonical policy text */
	enum policy_level override;
	char dest[TARGET_MAX_LEN + 1];	/* canonical: what we probe */
	char (*hosts)[HOSTNAME_MAX_LEN + 1];	/* MX hosts (lock keys) */
	size_t nhosts;
	bool done;
	enum review_verdict verdict;
	char detail[REVIEW_MAX_DETAIL];
};

struct review {
	struct item *items;
	size_t n, cap;
};

/* What postconf said about the sending side. */
struct mta {
	enum policy_level level;
	char ca_file[1024];
	char ca_path[1024];
	char insecure_mx[32];
};

struct probe {
	struct item *it;
	pid_t pid;
	int fd;			/* -1 once EOF was read */
	char *buf;
	size_t len;
	uint64_t deadline;	/* monotonic ms */
};

void
review_opts_init(struct review_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->format = REVIEW_FORMAT_TEXT;
	opts->timeout_ms = REVIEW_DEFAULT_TIMEOUT_MS;
	opts->jobs = REVIEW_DEFAULT_JOBS;
}

struct review *
review_new(void)
{
	return xcalloc(1, sizeof(struct review));
}

void
review_free(struct review *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		xfree(r->items[i].target);
		xfree(r->items[i].policy);
		xfree(r->items[i].hosts);
	}
	xfree(r->items);
	xfree(r);
}

void
review_add(struct review *r, const char *target, const char *policy)
{
	char word[16];
	int level;
	struct item *it;

	snprintf(word, sizeof(word), "%.*s", (int)strcspn(policy, " "),
	    policy);
	/* only a level that weakens even secure can weaken anything */
	if ((level = policy_level(word)) < 0 ||
	    !lifecycle_weakens((enum policy_level)level, POLICY_LEVEL_SECURE))
		return;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->items = xreallocarray(r->items, r->cap, sizeof(*r->items));
	}
	it = &r->items[r->n++];
	memset(it, 0, sizeof(*it));
	it->target = xstrdup(target);
	it->policy = xstrdup(policy);
	it->override = (enum policy_level)level;
}

/* Is file an executable in $PATH (or a path to one)? */
static bool
in_path(const char *file)
{
	const char *path = getenv("PATH"), *p, *e;
	char buf[4096];

	if (strchr(file, '/') != NULL)
		return access(file, X_OK) == 0;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p),
		    e > p ? p : ".", file) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		if (*e == '\0')
			return false;
	}
}

/*
 * Start argv with stdout and stderr on a non-blocking pipe.  stdin is
 * /dev/null.  Returns the pid, or -1 with errno.
 */
static pid_t
spawn(char *const argv[], int *fd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	/* no other child may hold a pipe open: its EOF would never come */
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		errno = e;
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execvp(argv[0], argv);
		dprintf(1, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	*fd = p[0];
	return pid;
}

/* Read what is there; keep at most REVIEW_MAX_OUTPUT bytes.  false: EOF. */
static bool
drain(int fd, char **buf, size_t *len)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n > 0) {
			size_t keep = (size_t)n;

			if (*len + keep > REVIEW_MAX_OUTPUT)
				keep = REVIEW_MAX_OUTPUT - *len;
			if (keep > 0) {
				*buf = xreallocarray(*buf, *len + keep + 1, 1);
				memcpy(*buf + *len, chunk, keep);
				*len += keep;
				(*buf)[*len] = '\0';
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		return false;	/* EOF or a read error: done */
	}
}

/*
 * What Postfix's sending side is configured with, through postconf_get()
 * (its timeout, POSTCONF_TIMEOUT_MS, bounds each question), and the level
 * to review at: --review-level, else smtp_tls_security_level, where ""
 * (the default) is none, as Postfix reads it.
 */
static bool
ask_postconf(const struct review_opts *opts, struct mta *m, char *why,
    size_t whysz)
{
	char level[64];
	int l;

	if (!postconf_get("smtp_tls_security_level", level, sizeof(level),
	    why, whysz) ||
	    !postconf_get("smtp_tls_CAfile", m->ca_file, sizeof(m->ca_file),
	    why, whysz) ||
	    !postconf_get("smtp_tls_CApath", m->ca_path, sizeof(m->ca_path),
	    why, whysz) ||
	    !postconf_get("smtp_tls_dane_insecure_mx_policy", m->insecure_mx,
	    sizeof(m->insecure_mx), why, whysz))
		return false;
	if (opts->level != NULL)
		snprintf(level, sizeof(level), "%s", opts->level);
	l = level[0] == '\0' ? (int)POLICY_LEVEL_NONE : policy_level(level);
	if (l < 0) {
		snprintf(why, whysz, "\"%s\" is not a TLS security level%s",
		    level, opts->level != NULL ? "" :
		    " (smtp_tls_security_level)");
		return false;
	}
	m->level = (enum policy_level)l;
	if (m->level == POLICY_LEVEL_FINGERPRINT) {
		snprintf(why, whysz, "cannot review at level fingerprint: it "
		    "needs each destination's fingerprints; use dane, verify "
		    "or secure");
		return false;
	}
	return true;
}

/* The hosts that key the one-probe-per-host rule for it. */
static void
find_hosts(struct item *it, const char *host, enum review_dest kind)
{
	unsigned char answer[4096];
	struct __res_state rs;
	enum review_mx st = REVIEW_MX_NONE;
	int len;

	it->hosts = xcalloc(REVIEW_MAX_MX, sizeof(*it->hosts));
	if (kind == REVIEW_DEST_DOMAIN) {
		memset(&rs, 0, sizeof(rs));
		if (res_ninit(&rs) == 0) {
			rs.retrans = REVIEW_DNS_TIMEOUT_S;
			rs.retry = 2;
			len = res_nquery(&rs, host, C_IN, T_MX, answer,
			    sizeof(answer));
			if (len > 0)
				st = review_mx_parse(answer, (size_t)len >
				    sizeof(answer) ? sizeof(answer) :
				    (size_t)len, it->hosts, REVIEW_MAX_MX,
				    &it->nhosts);
			res_nclose(&rs);
		}
	}
	if (st != REVIEW_MX_OK) {
		/* no MX: posttls-finger connects to the name itself */
		snprintf(it->hosts[0], sizeof(it->hosts[0]), "%s", host);
		it->nhosts = 1;
	}
}

static bool
host_busy(const struct item *it, const struct probe *run, size_t nrun)
{
	size_t i, j, k;

	for (i = 0; i < nrun; i++)
		for (j = 0; j < run[i].it->nhosts; j++)
			for (k = 0; k < it->nhosts; k++)
				if (strcmp(run[i].it->hosts[j],
				    it->hosts[k]) == 0)
					return true;
	return false;
}

static bool
start_probe(struct item *it, const struct mta *m,
    const struct review_opts *opts, struct probe *pr)
{
	char tmo[24];
	char *argv[20];
	size_t a = 0;
	unsigned long s = opts->timeout_ms / 3000;

	snprintf(tmo, sizeof(tmo), "%lu", s > 0 ? s : 1);
	argv[a++] = "posttls-finger";
	argv[a++] = "-l";
	argv[a++] = (char *)policy_level_name(review_probe_level(m->level));
	argv[a++] = "-t";
	argv[a++] = tmo;
	argv[a++] = "-T";
	argv[a++] = tmo;
	if (m->ca_file[0] != '\0') {
		argv[a++] = "-F";
		argv[a++] = (char *)m->ca_file;
	}
	if (m->ca_path[0] != '\0') {
		argv[a++] = "-P";
		argv[a++] = (char *)m->ca_path;
	}
	if (strcmp(m->insecure_mx, "dane") == 0 ||
	    strcmp(m->insecure_mx, "encrypt") == 0 ||
	    strcmp(m->insecure_mx, "may") == 0) {
		argv[a++] = "-M";
		argv[a++] = (char *)m->insecure_mx;
	}
	argv[a++] = "--";
	argv[a++] = it->dest;
	argv[a] = NULL;

	memset(pr, 0, sizeof(*pr));
	pr->it = it;
	pr->deadline = monotime_ms() + opts->timeout_ms;
	if ((pr->pid = spawn(argv, &pr->fd)) < 0) {
		it->done = true;
		it->verdict = REVIEW_UNCHECKED;
		say(it->detail, sizeof(it->detail), "cannot run "
		    "posttls-finger: %s", strerror(errno));
		return false;
	}
	return true;
}

static void
finish_probe(struct probe *pr, int status, bool killed,
    const struct mta *m, const struct review_opts *opts)
{
	struct item *it = pr->it;

	it->done = true;
	if (killed) {
		it->verdict = REVIEW_UNCHECKED;
		say(it->detail, sizeof(it->detail), "no answer within %lu s "
		    "(posttls-finger stopped)", opts->timeout_ms / 1000);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 &&
	    pr->len > 0 && strncmp(pr->buf, "cannot run ", 11) == 0) {
		it->verdict = REVIEW_UNCHECKED;
		say(it->detail, sizeof(it->detail), "%.*s",
		    (int)strcspn(pr->buf, "\n"), pr->buf);
	} else {
		it->verdict = review_judge(it->override, m->level,
		    pr->buf != NULL ? pr->buf : "", pr->len, it->detail,
		    sizeof(it->detail));
	}
	if (pr->fd >= 0)
		close(pr->fd);
	xfree(pr->buf);
	pr->buf = NULL;
}

/* Every probe, at most jobs at a time and one per MX host. */
static void
run_probes(struct item **todo, size_t n, const struct mta *m,
    const struct review_opts *opts)
{
	struct probe run[REVIEW_MAX_JOBS];
	struct pollfd pfd[REVIEW_MAX_JOBS];
	size_t nrun = 0, next = 0, i, j, np;
	size_t jobs = opts->jobs > REVIEW_MAX_JOBS ? REVIEW_MAX_JOBS :
	    opts->jobs > 0 ? opts->jobs : 1;

	for (;;) {
		uint64_t t, soonest = UINT64_MAX;
		int status;

		/* start what may start, earliest target first */
		for (i = next; i < n && nrun < jobs; i++) {
			if (todo[i]->done || host_busy(todo[i], run, nrun))
				continue;
			if (start_probe(todo[i], m, opts, &run[nrun]))
				nrun++;
		}
		while (next < n && todo[next]->done)
			next++;
		if (nrun == 0)
			break;	/* all done: a pending one always can start */

		t = monotime_ms();
		for (i = 0, np = 0; i < nrun; i++) {
			if (run[i].deadline < soonest)
				soonest = run[i].deadline;
			if (run[i].fd >= 0) {
				pfd[np].fd = run[i].fd;
				pfd[np].events = POLLIN;
				pfd[np].revents = 0;
				np++;
			} else if (soonest > t + 20) {
				soonest = t + 20;	/* EOF: reap soon */
			}
		}
		if (poll(pfd, np, soonest > t ? (int)(soonest - t) : 0) < 0 &&
		    errno != EINTR)
			log_fatal(1, "review: poll: %s", strerror(errno));

		t = monotime_ms();
		for (i = 0; i < nrun; ) {
			struct probe *pr = &run[i];
			bool gone = false, killed = false;

			if (pr->fd >= 0 && !drain(pr->fd, &pr->buf, &pr->len)) {
				close(pr->fd);
				pr->fd = -1;
			}
			if (pr->fd < 0 &&
			    waitpid(pr->pid, &status, WNOHANG) == pr->pid)
				gone = true;
			else if (t >= pr->deadline) {
				kill(pr->pid, SIGKILL);
				while (waitpid(pr->pid, &status, 0) < 0 &&
				    errno == EINTR)
					;
				gone = killed = true;
			}
			if (!gone) {
				i++;
				continue;
			}
			finish_probe(pr, status, killed, m, opts);
			for (j = i; j + 1 < nrun; j++)
				run[j] = run[j + 1];
			nrun--;
		}
	}
}

static int
by_target(const void *a, const void *b)
{
	const struct item *x = *(const struct item *const *)a;
	const struct item *y = *(const struct item *const *)b;

	return strcmp(x->target, y->target);
}

static void
print_json_string(FILE *out, const char *s)
{
	size_t need = review_json_string(NULL, 0, s) + 1;
	char *buf = xmalloc(need);

	review_json_string(buf, need, s);
	fprintf(out, "\"%s\"", buf);
	xfree(buf);
}

static const char *const verdict_json[] = {
	[REVIEW_REMOVABLE] = "removable",
	[REVIEW_NEEDED] = "needed",
	[REVIEW_UNCHECKED] = "unchecked",
};

static void
print_results(FILE *out, const struct review_opts *opts,
    const struct mta *m, struct item **todo, size_t n, size_t count[3])
{
	char pb[LOG_PRINTABLE_SIZE];
	size_t i;

	if (opts->format == REVIEW_FORMAT_JSON) {
		fprintf(out, "{\"level\":\"%s\",\"removable\":%zu,"
		    "\"needed\":%zu,\"unchecked\":%zu,\"overrides\":[",
		    policy_level_name(m->level), count[REVIEW_REMOVABLE],
		    count[REVIEW_NEEDED], count[REVIEW_UNCHECKED]);
		for (i = 0; i < n; i++) {
			fprintf(out, "%s{\"target\":", i ? "," : "");
			print_json_string(out, todo[i]->target);
			fprintf(out, ",\"level\":\"%s\",\"policy\":",
			    policy_level_name(todo[i]->override));
			print_json_string(out, todo[i]->policy);
			fprintf(out, ",\"verdict\":\"%s\",\"detail\":",
			    verdict_json[todo[i]->verdict]);
			print_json_string(out, todo[i]->detail);
			fputc('}', out);
		}
		fprintf(out, "]}\n");
		return;
	}
	for (i = 0; i < n; i++) {
		const struct item *it = todo[i];
		const char *t = log_printable(it->target, strlen(it->target),
		    pb);

		switch (it->verdict) {
		case REVIEW_REMOVABLE:
			fprintf(out, "%s: %s override no longer needed: %s\n",
			    t, policy_level_name(it->override), it->detail);
			break;
		case REVIEW_NEEDED:
			fprintf(out, "%s: %s override still needed: %s\n", t,
			    policy_level_name(it->override), it->detail);
			break;
		case REVIEW_UNCHECKED:
			fprintf(out, "%s: could not check: %s\n", t,
			    it->detail);
			break;
		}
	}
}

int
review_failed(const struct review_opts *opts, FILE *out, const char *why)
{
	if (opts->format == REVIEW_FORMAT_JSON) {
		fprintf(out, "{\"error\":");
		print_json_string(out, why);
		fprintf(out, "}\n");
	} else {
		fprintf(out, "review: error: could not run: %s\n", why);
	}
	fflush(out);
	return 2;
}

int
review_run(struct review *r, const struct review_opts *opts, FILE *out)
{
	struct mta m;
	struct item **todo;
	size_t n = 0, i, count[3] = {0, 0, 0};
	char why[512];

	memset(&m, 0, sizeof(m));
	if (!ask_postconf(opts, &m, why, sizeof(why)))
		return review_failed(opts, out, why);
	if (!in_path("posttls-finger"))
		return review_failed(opts, out, "posttls-finger not found in "
		    "PATH (it comes with Postfix)");

	todo = xcalloc(r->n + 1, sizeof(*todo));
	for (i = 0; i < r->n; i++) {
		struct item *it = &r->items[i];
		struct target canon;
		char host[HOSTNAME_MAX_LEN + 1];
		enum review_dest kind;

		if (!lifecycle_weakens(it->override, m.level))
			continue;
		todo[n++] = it;
		if (target_canon(it->target, strlen(it->target), &canon) !=
		    TARGET_OK) {
			kind = REVIEW_DEST_OTHER;
		} else {
			memcpy(it->dest, canon.canon, canon.len + 1);
			kind = review_destination(it->dest, host,
			    sizeof(host));
		}
		if (stricter(it->override, m.level) &&
		    (kind == REVIEW_DEST_DOMAIN || kind == REVIEW_DEST_HOST)) {
			/* a probe at a weaker level cannot tell: no probe */
			it->done = true;
			it->verdict = review_judge(it->override, m.level, "", 0,
			    it->detail, sizeof(it->detail));
			continue;
		}
		switch (kind) {
		case REVIEW_DEST_DOMAIN:
		case REVIEW_DEST_HOST:
			find_hosts(it, host, kind);
			break;
		case REVIEW_DEST_PATTERN:
			it->done = true;
			it->verdict = REVIEW_UNCHECKED;
			say(it->detail, sizeof(it->detail), "a .domain pattern "
			    "names no single destination to probe");
			break;
		case REVIEW_DEST_OTHER:
			it->done = true;
			it->verdict = REVIEW_UNCHECKED;
			say(it->detail, sizeof(it->detail), "not an SMTP "
			    "destination posttls-finger can probe");
			break;
		}
	}
	qsort(todo, n, sizeof(*todo), by_target);
	fflush(out);
	run_probes(todo, n, &m, opts);

	for (i = 0; i < n; i++)
		count[todo[i]->verdict]++;
	print_results(out, opts, &m, todo, n, count);
	if (opts->format == REVIEW_FORMAT_TEXT)
		fprintf(stderr, "tlspolicyd: review at level %s: %zu "
		    "override(s) no longer needed, %zu still needed, %zu not "
		    "checked\n", policy_level_name(m.level),
		    count[REVIEW_REMOVABLE], count[REVIEW_NEEDED],
		    count[REVIEW_UNCHECKED]);
	fflush(out);
	xfree(todo);
	return count[REVIEW_REMOVABLE] > 0 ? 1 : 0;
}
