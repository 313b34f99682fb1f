/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy - validate and canonicalise one Postfix TLS policy.
 *
 * A row's level column and parameters column are checked the way
 * smtp_tls_policy.c (tls_policy_lookup_one) of the configured Postfix
 * version parses "OK <level> <attributes>", plus the value checks Postfix
 * only makes later, when a TLS session starts (cipher grade, protocol
 * names) or a certificate is matched (fingerprint syntax and length).  A
 * row Postfix would choke on must become TEMP, never text that defers the
 * mail or, at "may", silently falls back to plaintext (docs/architecture.md,
 * decision 3).
 *
 * What is unambiguous is normalised: runs of separators (also newlines,
 * as mailcow's UI stores them), the case of the level, of names and of
 * enumerated words, and a comma inside a list value (":" between items,
 * "|" between fingerprints).  Each correction is reported as a warning.
 *
 * Invariants:
 * - Pure: no I/O, no globals, no allocation.  Output goes only into the
 *   caller's struct policy_result.
 * - The canonical text is "<level>[ <name>=<value>]...", printable ASCII,
 *   single spaces, no comma anywhere, attributes in input order.  Braces
 *   appear only as "{ name = value }" (Postfix >= 3.10), and only for a
 *   policy_string value that contains spaces.
 * - Fingerprints are spelled as uppercase hex byte pairs joined by ':'
 *   ("AB:CD:..."), several joined by '|'.
 * - connection_reuse and enable_rpk appear once, at their first place,
 *   with the last value; repeated match and tafile stay separate.
 * - Parsing the canonical text again yields the same text, no warning.
 *
 * Limits:
 * - POLICY_MAX_TEXT bounds the canonical text (longer: invalid);
 *   POLICY_MAX_PROBLEM the problem, which quotes at most QUOTE_MAX bytes
 *   of input, non-printable bytes shown as '?'.
 * - Host names: Postfix's valid_hostname() limits (hostname.h).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hostname.h"
#include "policy.h"

/* Input bytes quoted in a problem. */
#define QUOTE_MAX	64

/* First versions with a feature (major * 100 + minor). */
#define COMPAT_MIN	307
#define COMPAT_RPK	309
#define COMPAT_TLSRPT	310	/* also "{ name = value }" */

/* tls/tls_level.c; "halfdane" is internal and rejected as input. */
static const char *const level_names[POLICY_LEVEL_COUNT + 1] = {
	[POLICY_LEVEL_NONE] = "none",
	[POLICY_LEVEL_MAY] = "may",
	[POLICY_LEVEL_ENCRYPT] = "encrypt",
	[POLICY_LEVEL_DANE] = "dane",
	[POLICY_LEVEL_DANE_ONLY] = "dane-only",
	[POLICY_LEVEL_FINGERPRINT] = "fingerprint",
	[POLICY_LEVEL_VERIFY] = "verify",
	[POLICY_LEVEL_SECURE] = "secure",
};

#define AT(l)		(1u << (l))
#define AT_TLS		(AT(POLICY_LEVEL_MAY) | AT(POLICY_LEVEL_ENCRYPT) | \
			 AT(POLICY_LEVEL_DANE) | AT(POLICY_LEVEL_DANE_ONLY) | \
			 AT(POLICY_LEVEL_FINGERPRINT) | \
			 AT(POLICY_LEVEL_VERIFY) | AT(POLICY_LEVEL_SECURE))
#define AT_MATCH	(AT(POLICY_LEVEL_FINGERPRINT) | \
			 AT(POLICY_LEVEL_VERIFY) | AT(POLICY_LEVEL_SECURE))
#define AT_PKIX		(AT(POLICY_LEVEL_VERIFY) | AT(POLICY_LEVEL_SECURE))

enum kind {
	KIND_WORD,		/* one of rule->words, any case */
	KIND_PROTOCOLS,		/* ':' list of protocol names or bounds */
	KIND_CIPHERS,		/* ':' list of OpenSSL cipher names */
	KIND_MATCH,		/* names (':') or fingerprints ('|') */
	KIND_SNI,		/* hostname, or "hostname" / "nexthop" */
	KIND_PATH,		/* a file name, non-empty */
	KIND_HOSTNAME,		/* a hostname */
	KIND_MX_PATTERN,	/* a hostname, optionally "*." first */
	KIND_TEXT,		/* free text, spaces only inside braces */
	KIND_DIGITS		/* a decimal int */
};

#define RULE_ONCE	0x01	/* a second one is invalid */
#define RULE_LAST	0x02	/* the last one wins; emitted once */
#define RULE_LIST	0x04	/* a comma continues the value */
#define RULE_TLSRPT	0x08	/* needs policy_type (3.10) */

struct rule {
	const char *name;
	int since;		/* first Postfix version that knows it */
	unsigned levels;	/* AT() mask where it is valid */
	unsigned flags;		/* RULE_* */
	enum kind kind;
	const char *const *words;	/* KIND_WORD: NULL-terminated */
};

/* tls/tls_misc.c, tls_cipher_grade_table. */
static const char *const grade_words[] = {
	"high", "medium", "low", "export", "null", NULL
};
static const char *const bool_words[] = { "yes", "no", NULL };
/* tls/tlsrpt_wrapper.c. */
static const char *const policy_type_words[] = {
	"sts", "no-policy-found", NULL
};
static const char *const policy_failure_words[] = {
	"sts-policy-fetch-error", "sts-policy-invalid",
	"sts-webpki-invalid", "validation-failure", NULL
};

/* smtp/smtp_tls_policy.c, tls_policy_lookup_one(), one row per name. */
static const struct rule rules[] = {
	{ "ciphers", COMPAT_MIN, AT_TLS, RULE_ONCE, KIND_WORD, grade_words },
	{ "protocols", COMPAT_MIN, AT_TLS, RULE_ONCE | RULE_LIST,
	    KIND_PROTOCOLS, NULL },
	{ "exclude", COMPAT_MIN, AT_TLS, RULE_ONCE | RULE_LIST,
	    KIND_CIPHERS, NULL },
	{ "servername", COMPAT_MIN, AT_TLS, RULE_ONCE, KIND_SNI, NULL },
	{ "match", COMPAT_MIN, AT_MATCH, RULE_LIST, KIND_MATCH, NULL },
	{ "tafile", COMPAT_MIN, AT_PKIX, 0, KIND_PATH, NULL },
	{ "connection_reuse", COMPAT_MIN, AT_TLS, RULE_LAST, KIND_WORD,
	    bool_words },
	{ "enable_rpk", COMPAT_RPK, AT_TLS, RULE_LAST, KIND_WORD, bool_words },
	{ "policy_type", COMPAT_TLSRPT, AT_TLS, RULE_ONCE, KIND_WORD,
	    policy_type_words },
	{ "policy_domain", COMPAT_TLSRPT, AT_TLS, RULE_ONCE | RULE_TLSRPT,
	    KIND_HOSTNAME, NULL },
	{ "policy_string", COMPAT_TLSRPT, AT_TLS, RULE_TLSRPT, KIND_TEXT, NULL },
	{ "mx_host_pattern", COMPAT_TLSRPT, AT_TLS, RULE_TLSRPT,
	    KIND_MX_PATTERN, NULL },
	{ "policy_failure", COMPAT_TLSRPT, AT_TLS, RULE_ONCE | RULE_TLSRPT,
	    KIND_WORD, policy_failure_words },
	{ "policy_ttl", COMPAT_TLSRPT, AT_TLS, RULE_ONCE | RULE_TLSRPT,
	    KIND_DIGITS, NULL },
};

#define NRULES		(sizeof(rules) / sizeof(rules[0]))

/* tls/tls_misc.c: protocol_table ("!name", "name"), tls_version_table. */
static const char *const protocol_words[] = {
	"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL
};
static const char *const version_words[] = {
	"None", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL
};

/* tls_verify.c, tls_client.c: special match patterns, any case. */
static const char *const match_words[] = {
	"hostname", "nexthop", "dot-nexthop", NULL
};

/* A byte range of the input, not NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

/* The canonical text being written; overflow is sticky. */
struct text {
	char *buf;
	size_t len;
	size_t cap;
	bool full;
};

struct quoted {
	char s[QUOTE_MAX + 4];
};

struct parse {
	const struct policy_opts *opts;
	struct policy_result *res;
	enum policy_level level;
	bool final;		/* second pass: emit RULE_LAST values */
	struct text out;
	unsigned seen[NRULES];	/* occurrences so far */
	int last_word[NRULES];	/* RULE_LAST: winning word, from pass 1 */
	const struct rule *open;	/* the list a comma may continue */
	size_t open_items;	/* items in the last list so far */
	size_t match_items;	/* match items in the whole policy */
};

/*
 * Character classes, ASCII only and independent of the locale.
 */

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
to_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* Postfix CHARS_COMMA_SP: the separators between level and attributes. */
static bool
is_sep(int c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Whitespace that may appear inside "{ name = value }". */
static bool
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* isspace() in the C locale: what may surround the level. */
static bool
is_space(int c)
{
	return is_blank(c) || c == '\v' || c == '\f';
}

/* Printable ASCII other than space. */
static bool
is_graph(int c)
{
	return c > 0x20 && c < 0x7f;
}

/*
 * Spans.
 */

static struct span
span_of(const char *p, size_t n)
{
	struct span s = { p, n };

	return s;
}

static bool
span_has(struct span s, int c)
{
	return s.n > 0 && memchr(s.p, c, s.n) != NULL;
}

static bool
span_has_blank(struct span s)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (is_blank((unsigned char)s.p[i]))
			return true;
	return false;
}

static bool
span_eq_nocase(struct span s, const char *word)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (word[i] == 0 || to_lower((unsigned char)s.p[i]) !=
		    to_lower((unsigned char)word[i]))
			return false;
	return word[i] == 0;
}

/* Index of s in the NULL-terminated words, case-insensitively, or -1. */
static int
word_index(const char *const *words, struct span s)
{
	int i;

	for (i = 0; words[i] != NULL; i++)
		if (span_eq_nocase(s, words[i]))
			return i;
	return -1;
}

static struct span
span_trim(struct span s, bool (*space)(int))
{
	while (s.n > 0 && space((unsigned char)s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && space((unsigned char)s.p[s.n - 1]))
		s.n--;
	return s;
}

/*
 * Output text.
 */

static void
text_init(struct text *t, char *buf, size_t cap)
{
	t->buf = buf;
	t->cap = cap;
	t->len = 0;
	t->full = false;
	buf[0] = 0;
}

static void
text_put(struct text *t, const char *s, size_t n)
{
	if (t->full || n >= t->cap - t->len) {
		t->full = true;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = 0;
}

static void
text_puts(struct text *t, const char *s)
{
	text_put(t, s, strlen(s));
}

static void
text_putc(struct text *t, int c)
{
	char ch = (char)c;

	text_put(t, &ch, 1);
}

/*
 * Problems.  Input is quoted through quote(), so a problem is always
 * printable ASCII and fits POLICY_MAX_PROBLEM.
 */

static const char *
quote(struct quoted *q, struct span in)
{
	size_t n = in.n > QUOTE_MAX ? QUOTE_MAX : in.n;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in.p[i];

		q->s[i] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
	}
	if (n < in.n) {
		memcpy(q->s + n, "...", 3);
		n += 3;
	}
	q->s[n] = 0;
	return q->s;
}

static bool invalid(struct parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void warn(struct parse *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Record why the policy is invalid; always false, for "return invalid()". */
static bool
invalid(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->res->problem, sizeof(p->res->problem), fmt, ap);
	va_end(ap);
	return false;
}

/* Record a correction; the first one is the one reported. */
static void
warn(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->res->warned)
		return;
	p->res->warned = true;
	va_start(ap, fmt);
	vsnprintf(p->res->problem, sizeof(p->res->problem), fmt, ap);
	va_end(ap);
}

/*
 * Value syntax.
 */

/* tls_misc.c, parse_tls_version(): a version name or a hex number. */
static bool
tls_version_valid(struct span s)
{
	unsigned long v = 0;
	size_t i = 0;

	if (word_index(version_words, s) >= 0)
		return true;
	if (s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X'))
		i = 2;
	if (i == s.n)
		return false;
	for (; i < s.n; i++) {
		int c = (unsigned char)s.p[i];

		if (!is_xdigit(c))
			return false;
		v = v * 16 + (unsigned long)(is_digit(c) ? c - '0' :
		    to_lower(c) - 'a' + 10);
		if (v > 0x7fffffffUL)
			return false;
	}
	return true;
}

/* tls_misc.c, tls_proto_mask_lims(): one item of a protocols list. */
static bool
protocol_valid(struct span s)
{
	if (s.n >= 2 && (memcmp(s.p, ">=", 2) == 0 ||
	    memcmp(s.p, "<=", 2) == 0))
		return tls_version_valid(span_of(s.p + 2, s.n - 2));
	if (s.n >= 1 && s.p[0] == '!')
		s = span_of(s.p + 1, s.n - 1);
	return word_index(protocol_words, s) >= 0;
}

/*
 * The lexer: mystrtokq(&cp, CHARS_COMMA_SP, "{}") in Postfix >= 3.10,
 * mystrtok(&cp, CHARS_COMMA_SP) before.  It also tells whether the
 * separators before a token held a comma.
 */

struct lexer {
	const char *cp;
	bool braces;
};

static bool
lex_next(struct lexer *lx, struct span *tok, bool *after_comma)
{
	const char *cp = lx->cp;
	size_t depth = 0;

	*after_comma = false;
	for (; *cp != 0 && is_sep((unsigned char)*cp); cp++)
		if (*cp == ',')
			*after_comma = true;
	if (*cp == 0) {
		lx->cp = cp;
		return false;
	}
	tok->p = cp;
	for (; *cp != 0; cp++) {
		if (lx->braces && *cp == '{')
			depth++;
		else if (depth > 0 && *cp == '}')
			depth--;
		else if (depth == 0 && is_sep((unsigned char)*cp))
			break;
	}
	tok->n = (size_t)(cp - tok->p);
	lx->cp = cp;
	return true;
}

/*
 * Emitting values.  Every put_* function validates one value (or list
 * item) and appends its canonical spelling.
 */

static void
put_name(struct parse *p, const struct rule *r, bool braced)
{
	text_puts(&p->out, braced ? " { " : " ");
	text_puts(&p->out, r->name);
	text_puts(&p->out, braced ? " = " : "=");
}

static bool
put_word(struct parse *p, const struct rule *r, struct span v)
{
	struct quoted q;
	int i;

	if (v.n == 0)
		return invalid(p, "attribute \"%s\" has empty value", r->name);
	if ((i = word_index(r->words, v)) < 0)
		return invalid(p, "attribute \"%s\" has bad value \"%s\"",
		    r->name, quote(&q, v));
	put_name(p, r, false);
	text_puts(&p->out, r->words[i]);
	return true;
}

/* Last one wins (connection_reuse, enable_rpk): emit once, at the first. */
static bool
put_last_word(struct parse *p, const struct rule *r, struct span v)
{
	size_t k = (size_t)(r - rules);
	struct quoted q;
	int i;

	if ((i = word_index(r->words, v)) < 0)
		return invalid(p, "attribute \"%s\" has bad value \"%s\"",
		    r->name, quote(&q, v));
	if (!p->final) {
		p->last_word[k] = i;
		if (p->seen[k] > 1)
			warn(p, "attribute \"%s\" repeated, the last one wins",
			    r->name);
	} else if (p->seen[k] == 1) {
		put_name(p, r, false);
		text_puts(&p->out, r->words[p->last_word[k]]);
	}
	return true;
}

static bool
put_verbatim(struct parse *p, const struct rule *r, struct span v)
{
	put_name(p, r, false);
	text_put(&p->out, v.p, v.n);
	return true;
}

static bool
put_sni(struct parse *p, const struct rule *r, struct span v)
{
	struct quoted q;

	/*
	 * "hostname" and "nexthop" are valid hostnames too.  Postfix compares
	 * them case-sensitively (tls_client.c), so the case is kept.
	 */
	if (!hostname_valid(v.p, v.n))
		return invalid(p, "\"%s=%s\" specifies an invalid hostname",
		    r->name, quote(&q, v));
	return put_verbatim(p, r, v);
}

static bool
put_path(struct parse *p, const struct rule *r, struct span v)
{
	if (v.n == 0)
		return invalid(p, "attribute \"%s\" has empty value", r->name);
	return put_verbatim(p, r, v);
}

static bool
put_hostname(struct parse *p, const struct rule *r, struct span v)
{
	struct quoted q;
	struct span h = v;

	if (r->kind == KIND_MX_PATTERN && h.n > 2 && memcmp(h.p, "*.", 2) == 0)
		h = span_of(h.p + 2, h.n - 2);
	if (!hostname_valid(h.p, h.n))
		return invalid(p, "attribute \"%s\" has a malformed value "
		    "\"%s\"", r->name, quote(&q, v));
	return put_verbatim(p, r, v);
}

static bool
put_digits(struct parse *p, const struct rule *r, struct span v)
{
	struct quoted q;
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < v.n && is_digit((unsigned char)v.p[i]); i++)
		if ((n = n * 10 + (unsigned long)(v.p[i] - '0')) > 0x7fffffffUL)
			break;
	if (v.n == 0 || i < v.n)
		return invalid(p, "attribute \"%s\" has a malformed value "
		    "\"%s\"", r->name, quote(&q, v));
	return put_verbatim(p, r, v);
}

/* Free text; inside braces (3.10) it may hold blanks, emitted as spaces. */
static bool
put_text(struct parse *p, const struct rule *r, struct span v)
{
	bool braced = span_has_blank(v);
	size_t i;

	put_name(p, r, braced);
	for (i = 0; i < v.n; i++)
		text_putc(&p->out, is_blank((unsigned char)v.p[i]) ?
		    ' ' : v.p[i]);
	if (braced)
		text_puts(&p->out, " }");
	return true;
}

/*
 * List items.  Canonical spellings: protocols and exclude items as given,
 * match names in lowercase, fingerprints as "AB:CD:...".
 */

/* tls_dane.c, hex_decode_opt(HEX_DECODE_FLAG_ALLOW_COLON). */
static bool
put_digest(struct parse *p, struct span s)
{
	struct quoted q;
	size_t bytes = 0;
	size_t i = 0;

	while (i < s.n) {
		if (bytes > 0 && s.p[i] == ':')
			i++;
		if (i + 2 > s.n || !is_xdigit((unsigned char)s.p[i]) ||
		    !is_xdigit((unsigned char)s.p[i + 1]))
			return invalid(p, "malformed fingerprint \"%s\" in "
			    "\"match\" value", quote(&q, s));
		if (bytes++ > 0)
			text_putc(&p->out, ':');
		text_putc(&p->out, to_upper((unsigned char)s.p[i]));
		text_putc(&p->out, to_upper((unsigned char)s.p[i + 1]));
		i += 2;
	}
	if (bytes != p->opts->fingerprint_len)
		return invalid(p, "fingerprint \"%s\" has %zu bytes, not %zu",
		    quote(&q, s), bytes, p->opts->fingerprint_len);
	return true;
}

static bool
put_item(struct parse *p, const struct rule *r, struct span s)
{
	struct quoted q;
	size_t i;

	switch (r->kind) {
	case KIND_PROTOCOLS:
		if (!protocol_valid(s))
			return invalid(p, "invalid protocol \"%s\" in \"%s\" "
			    "value", quote(&q, s), r->name);
		text_put(&p->out, s.p, s.n);
		return true;
	case KIND_MATCH:
		if (p->level == POLICY_LEVEL_FINGERPRINT)
			return put_digest(p, s);
		if (word_index(match_words, s) < 0 &&
		    !(s.p[0] == '.' ? hostname_valid(s.p + 1, s.n - 1) :
		    hostname_valid(s.p, s.n)))
			return invalid(p, "invalid pattern \"%s\" in \"%s\" "
			    "value", quote(&q, s), r->name);
		for (i = 0; i < s.n; i++)
			text_putc(&p->out, to_lower((unsigned char)s.p[i]));
		return true;
	default:
		text_put(&p->out, s.p, s.n);
		return true;
	}
}

/* Fingerprints are separated by '|', everything else by ':'. */
static int
list_sep(const struct parse *p, const struct rule *r)
{
	return r->kind == KIND_MATCH && p->level == POLICY_LEVEL_FINGERPRINT ?
	    '|' : ':';
}

/* Append the items of one piece of a list: its value, or a token after it. */
static bool
put_items(struct parse *p, const struct rule *r, struct span piece)
{
	int sep = list_sep(p, r);
	const char *cp = piece.p;
	const char *end = piece.p + piece.n;
	const char *ep;

	if (piece.n == 0)
		return true;
	for (;;) {
		if ((ep = memchr(cp, sep, (size_t)(end - cp))) == NULL)
			ep = end;
		if (ep == cp) {
			warn(p, "empty item dropped from \"%s\" value",
			    r->name);
		} else {
			if (p->open_items > 0)
				text_putc(&p->out, sep);
			if (!put_item(p, r, span_of(cp, (size_t)(ep - cp))))
				return false;
			p->open_items++;
			if (r->kind == KIND_MATCH)
				p->match_items++;
		}
		if (ep == end)
			return true;
		cp = ep + 1;
	}
}

static bool
put_list(struct parse *p, const struct rule *r, struct span v)
{
	put_name(p, r, false);
	p->open_items = 0;
	if (!put_items(p, r, v))
		return false;
	if (r->kind == KIND_MATCH && p->open_items == 0)
		return invalid(p, "attribute \"%s\" has empty value", r->name);
	return true;
}

static bool
put_value(struct parse *p, const struct rule *r, struct span v)
{
	if (r->flags & RULE_LAST)
		return put_last_word(p, r, v);
	switch (r->kind) {
	case KIND_WORD:
		return put_word(p, r, v);
	case KIND_PROTOCOLS:
	case KIND_CIPHERS:
	case KIND_MATCH:
		return put_list(p, r, v);
	case KIND_SNI:
		return put_sni(p, r, v);
	case KIND_PATH:
		return put_path(p, r, v);
	case KIND_HOSTNAME:
	case KIND_MX_PATTERN:
		return put_hostname(p, r, v);
	case KIND_TEXT:
		return put_text(p, r, v);
	case KIND_DIGITS:
		return put_digits(p, r, v);
	}
	return false;
}

/*
 * Attributes.
 */

static const struct rule *
rule_lookup(struct span name)
{
	size_t i;

	for (i = 0; i < NRULES; i++)
		if (span_eq_nocase(name, rules[i].name))
			return &rules[i];
	return NULL;
}

static bool
attribute(struct parse *p, struct span name, struct span value)
{
	const struct rule *r = rule_lookup(name);
	struct quoted q;

	p->open = NULL;
	if (r == NULL)
		return invalid(p, "invalid attribute name \"%s\"",
		    quote(&q, name));
	if (r->since > p->opts->compat)
		return invalid(p, "invalid attribute name \"%s\" before "
		    "Postfix %d.%d", r->name, r->since / 100, r->since % 100);
	if ((r->levels & AT(p->level)) == 0)
		return invalid(p, "attribute \"%s\" invalid at security level "
		    "\"%s\"", r->name, level_names[p->level]);
	if (++p->seen[r - rules] > 1 && (r->flags & RULE_ONCE))
		return invalid(p, "duplicate attribute \"%s\"", r->name);
	/* Only "{ name = value }" can get here with these. */
	if (span_has(value, ','))
		return invalid(p, "comma inside \"%s\" value", r->name);
	if (r->kind != KIND_TEXT && span_has_blank(value))
		return invalid(p, "whitespace inside \"%s\" value", r->name);
	if (!put_value(p, r, value))
		return false;
	if (r->flags & RULE_LIST)
		p->open = r;
	return true;
}

/* util/split_nameval.c, for a token without separators. */
static bool
split_pair(struct parse *p, struct span tok, struct span *name,
    struct span *value)
{
	const char *eq = memchr(tok.p, '=', tok.n);
	struct quoted q;

	if (eq == NULL)
		return invalid(p, "malformed attribute/value pair \"%s\": "
		    "missing '=' after attribute name", quote(&q, tok));
	if (eq == tok.p)
		return invalid(p, "malformed attribute/value pair \"%s\": "
		    "missing attribute name", quote(&q, tok));
	*name = span_of(tok.p, (size_t)(eq - tok.p));
	*value = span_of(eq + 1, tok.n - (size_t)(eq + 1 - tok.p));
	return true;
}

/* util/extpar.c (EXTPAR_FLAG_STRIP), then split_nameval(), for "{...}". */
static bool
split_braced(struct parse *p, struct span tok, struct span *name,
    struct span *value)
{
	struct quoted q;
	struct span in;
	size_t depth = 0;
	size_t i;
	size_t n;

	for (i = 0; i < tok.n; i++) {
		if (tok.p[i] == '{')
			depth++;
		else if (tok.p[i] == '}' && --depth == 0)
			break;
	}
	if (i == tok.n)
		return invalid(p, "malformed attribute \"%s\": missing '}'",
		    quote(&q, tok));
	if (i + 1 < tok.n)
		return invalid(p, "malformed attribute \"%s\": syntax error "
		    "after '}'", quote(&q, tok));
	in = span_trim(span_of(tok.p + 1, i - 1), is_blank);
	if (span_has(in, '{') || span_has(in, '}'))
		return invalid(p, "malformed attribute \"%s\": nested braces",
		    quote(&q, tok));
	for (n = 0; n < in.n && in.p[n] != '=' &&
	    !is_blank((unsigned char)in.p[n]); n++)
		;
	if (n == 0)
		return invalid(p, "malformed attribute/value pair \"%s\": "
		    "missing attribute name", quote(&q, tok));
	*name = span_of(in.p, n);
	while (n < in.n && is_blank((unsigned char)in.p[n]))
		n++;
	if (n == in.n || in.p[n] != '=')
		return invalid(p, "malformed attribute/value pair \"%s\": "
		    "missing '=' after attribute name", quote(&q, tok));
	*value = span_trim(span_of(in.p + n + 1, in.n - n - 1), is_blank);
	return true;
}

/* "name=..." with a plausible name starts an attribute, even after a comma. */
static bool
starts_attribute(struct span tok)
{
	size_t i;

	for (i = 0; i < tok.n && tok.p[i] != '='; i++) {
		int c = (unsigned char)tok.p[i];

		if (!is_alpha(c) && !is_digit(c) && c != '_' && c != '-')
			return false;
	}
	return i > 0 && i < tok.n;
}

/* Bytes that may never reach Postfix: controls, DEL, non-ASCII. */
static bool
token_printable(struct span tok, bool braced)
{
	size_t i;

	for (i = 0; i < tok.n; i++) {
		int c = (unsigned char)tok.p[i];

		if (!is_graph(c) && !(braced && is_blank(c)))
			return false;
	}
	return true;
}

static bool
parse_token(struct parse *p, struct span tok, bool after_comma)
{
	bool braced = p->opts->compat >= COMPAT_TLSRPT && tok.p[0] == '{';
	struct span name;
	struct span value;
	struct quoted q;

	if (!token_printable(tok, braced))
		return invalid(p, "control or non-ASCII byte in \"%s\"",
		    quote(&q, tok));
	if (braced)
		return split_braced(p, tok, &name, &value) &&
		    attribute(p, name, value);
	if (span_has(tok, '{') || span_has(tok, '}')) {
		if (p->opts->compat < COMPAT_TLSRPT)
			return invalid(p, "malformed attribute/value pair "
			    "\"%s\": braces need Postfix 3.10",
			    quote(&q, tok));
		return invalid(p, "malformed attribute \"%s\": brace inside "
		    "a value", quote(&q, tok));
	}
	/*
	 * Postfix splits "protocols=!SSLv2,!SSLv3" at the comma and defers on
	 * "!SSLv3" (smtp_tls_policy.c); the upstream docs show exactly
	 * that.  Join it.
	 */
	if (p->open != NULL && after_comma && !starts_attribute(tok)) {
		warn(p, "comma inside \"%s\" value", p->open->name);
		return put_items(p, p->open, tok);
	}
	return split_pair(p, tok, &name, &value) && attribute(p, name, value);
}

/*
 * A whole policy.
 */

static bool
parse_level(struct parse *p, const char *s)
{
	struct span lv = span_trim(span_of(s, s == NULL ? 0 : strlen(s)),
	    is_space);
	struct quoted q;
	int i;

	if (lv.n == 0)
		return invalid(p, "empty security level");
	if ((i = word_index(level_names, lv)) < 0)
		return invalid(p, "invalid security level \"%s\"",
		    quote(&q, lv));
	p->level = (enum policy_level)i;
	return true;
}

int
policy_level(const char *word)
{
	return word_index(level_names, span_of(word, strlen(word)));
}

const char *
policy_level_name(enum policy_level level)
{
	return (unsigned)level < POLICY_LEVEL_COUNT ? level_names[level] : "?";
}

/* Postfix ignores every attribute at "none", warning about each. */
static void
drop_attributes(struct parse *p, const char *params)
{
	struct lexer lx = { params, p->opts->compat >= COMPAT_TLSRPT };
	struct span tok;
	struct quoted q;
	bool comma;

	if (lex_next(&lx, &tok, &comma))
		warn(p, "ignoring attribute \"%s\" with TLS disabled",
		    quote(&q, tok));
}

static bool
parse_attributes(struct parse *p, const char *params)
{
	struct lexer lx = { params, p->opts->compat >= COMPAT_TLSRPT };
	struct span tok;
	bool comma;

	text_init(&p->out, p->res->text, sizeof(p->res->text));
	text_puts(&p->out, level_names[p->level]);
	memset(p->seen, 0, sizeof(p->seen));
	p->open = NULL;
	p->match_items = 0;
	while (lex_next(&lx, &tok, &comma))
		if (!parse_token(p, tok, comma))
			return false;
	return true;
}

static unsigned
seen(const struct parse *p, const char *name)
{
	return p->seen[rule_lookup(span_of(name, strlen(name))) - rules];
}

/* Rules about the policy as a whole. */
static bool
check_policy(struct parse *p)
{
	bool typed = seen(p, "policy_type") > 0;
	size_t i;

	if (p->level == POLICY_LEVEL_FINGERPRINT && p->match_items == 0)
		return invalid(p, "security level \"fingerprint\" without "
		    "\"match\" fingerprints");
	/* smtp_tls_policy.c: "built-in policy has unexpected attribute". */
	for (i = 0; i < NRULES; i++)
		if ((rules[i].flags & RULE_TLSRPT) && p->seen[i] > 0 && !typed)
			return invalid(p, "attribute \"%s\" without "
			    "\"policy_type\"", rules[i].name);
	return true;
}

void
policy_opts_init(struct policy_opts *opts)
{
	opts->compat = POLICY_COMPAT_DEFAULT;
	opts->fingerprint_len = 32;
}

enum policy_status
policy_parse(const struct policy_opts *opts, const char *level,
    const char *params, struct policy_result *res)
{
	struct parse p;

	memset(&p, 0, sizeof(p));
	p.opts = opts;
	p.res = res;
	res->text[0] = 0;
	res->problem[0] = 0;
	res->warned = false;
	if (params == NULL)
		params = "";

	if (!parse_level(&p, level))
		goto invalid;
	if (p.level == POLICY_LEVEL_NONE) {
		drop_attributes(&p, params);
		text_init(&p.out, res->text, sizeof(res->text));
		text_puts(&p.out, level_names[POLICY_LEVEL_NONE]);
		return POLICY_OK;
	}
	/*
	 * Pass 1 validates and learns the winners of RULE_LAST attributes;
	 * pass 2 writes the text with each of them once, at its first place.
	 */
	if (!parse_attributes(&p, params) || !check_policy(&p))
		goto invalid;
	p.final = true;
	if (!parse_attributes(&p, params))
		goto invalid;
	if (p.out.full) {
		invalid(&p, "policy too long");
		goto invalid;
	}
	return POLICY_OK;

invalid:
	res->text[0] = 0;
	res->warned = false;
	return POLICY_INVALID;
}
