/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_review - the pure half of --review: the level it probes at, what a
 * target names for posttls-finger, what its output means at each review
 * level (fixtures are real Postfix 3.7 posttls-finger output, shortened
 * to the lines that matter plus some chat), the MX answer reader and the
 * JSON string writer.
 */
#include "test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "review.h"

/*
 * Levels and which overrides weaken which level are policy's and
 * lifecycle's (test_policy.c, test_lifecycle.c); the review adds the
 * level it probes at.
 */
static void
test_review_probe_level(void **state)
{
	(void)state;
	/* dane is probed as dane-only: it names missing TLSA records */
	assert_int_equal(review_probe_level(POLICY_LEVEL_DANE),
	    POLICY_LEVEL_DANE_ONLY);
	assert_int_equal(review_probe_level(POLICY_LEVEL_DANE_ONLY),
	    POLICY_LEVEL_DANE_ONLY);
	assert_int_equal(review_probe_level(POLICY_LEVEL_SECURE),
	    POLICY_LEVEL_SECURE);
	assert_int_equal(review_probe_level(POLICY_LEVEL_MAY),
	    POLICY_LEVEL_MAY);
}

static void
test_review_destination(void **state)
{
	static const struct {
		const char *canon;
		enum review_dest want;
		const char *host;
	} cases[] = {
		{"example.com", REVIEW_DEST_DOMAIN, "example.com"},
		{"example.com:587", REVIEW_DEST_DOMAIN, "example.com"},
		{"[mx.example.com]", REVIEW_DEST_HOST, "mx.example.com"},
		{"[mx.example.com]:587", REVIEW_DEST_HOST, "mx.example.com"},
		{"[192.0.2.1]", REVIEW_DEST_HOST, "192.0.2.1"},
		{"[ipv6:2001:db8::1]:25", REVIEW_DEST_HOST, "ipv6:2001:db8::1"},
		{".example.com", REVIEW_DEST_PATTERN, ""},
		{"/var/spool/lmtp", REVIEW_DEST_OTHER, ""},
		{"unix:/run/lmtp", REVIEW_DEST_OTHER, ""},
		{"[mx.example.com", REVIEW_DEST_OTHER, ""},
		{"[mx.example.com]x", REVIEW_DEST_OTHER, ""},
		{"[]", REVIEW_DEST_OTHER, ""},
		{"", REVIEW_DEST_OTHER, ""},
	};
	size_t i;
	char host[HOSTNAME_MAX_LEN + 1];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		case_int_equal(cases[i].canon, review_destination(
		    cases[i].canon, host, sizeof(host)), cases[i].want);
		case_mem_equal(cases[i].canon, host, strlen(host),
		    cases[i].host, strlen(cases[i].host));
	}
	/* a name that does not fit is no destination */
	assert_int_equal(review_destination("example.com", host, 5),
	    REVIEW_DEST_OTHER);
}

/* posttls-finger's output, one message per P(). */
#define P(s) "posttls-finger: " s "\n"

#define CHAT_EHLO \
	P("< 220 mx.example.test ESMTP Postfix") \
	P("> EHLO client.example.test") \
	P("< 250-mx.example.test") \
	P("< 250-PIPELINING")

#define STARTTLS \
	P("< 250-STARTTLS") \
	P("< 250 CHUNKING") \
	P("> STARTTLS") \
	P("< 220 2.0.0 Ready to start TLS")

#define QUIT \
	P("> EHLO client.example.test") \
	P("< 250 CHUNKING") \
	P("> QUIT") \
	P("< 221 2.0.0 Bye")

#define CERT(host) \
	P(host "[127.0.0.1]:25: subject_CN=" host ", issuer_CN=test-ca, " \
	    "fingerprint=E5:0D, pkey_fingerprint=5B:03")

#define SUMMARY(kind, host) \
	P(kind " TLS connection established to " host "[127.0.0.1]:25: " \
	    "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) " \
	    "key-exchange X25519 server-signature ECDSA (prime256v1) " \
	    "server-digest SHA256")

static const char dane_verified[] =
	P("Connected to mx.a.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("mx.a.test[127.0.0.1]:25: Matched DANE EE certificate at depth 0: "
	    "3 1 1 5B03063E60B0D2EB2C743D23B392F1B98ADD87AE523D057E0CFE8BE30C"
	    "2B0370")
	CERT("mx.a.test")
	SUMMARY("Verified", "mx.a.test")
	QUIT;

static const char dane_wrong[] =
	P("Connected to mx.b.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("server certificate verification failed for mx.b.test[127.0.0.1]:25: "
	    "num=65:no matching DANE TLSA records")
	CERT("mx.b.test")
	SUMMARY("Untrusted", "mx.b.test")
	QUIT;

static const char no_tlsa[] =
	P("no TLSA records found, resorting to \"secure\"")
	P("Connected to mx.c.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("certificate verification failed for mx.c.test[127.0.0.1]:25: "
	    "untrusted issuer /CN=test-ca")
	CERT("mx.c.test")
	SUMMARY("Untrusted", "mx.c.test")
	QUIT;

static const char no_usable_tlsa[] =
	P("no usable TLSA records found, resorting to \"secure\"")
	P("Connected to mx.c.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("certificate verification failed for mx.c.test[127.0.0.1]:25: "
	    "untrusted issuer /CN=test-ca")
	CERT("mx.c.test")
	SUMMARY("Untrusted", "mx.c.test")
	QUIT;

static const char no_tlsa_no_starttls[] =
	P("no TLSA records found, resorting to \"secure\"")
	P("Connected to mx.p.test[127.0.0.1]:25")
	CHAT_EHLO
	P("< 250 CHUNKING")
	P("> QUIT")
	P("< 221 2.0.0 Bye");

/* the first MX had no TLSA and refused; the second has DANE and fails */
static const char second_mx[] =
	P("no TLSA records found, resorting to \"secure\"")
	P("Failed to establish session to b.test via mx1.b.test: connect to "
	    "mx1.b.test[127.0.0.3]:25: Connection refused")
	P("Connected to mx.b.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("server certificate verification failed for mx.b.test[127.0.0.1]:25: "
	    "num=65:no matching DANE TLSA records")
	SUMMARY("Untrusted", "mx.b.test")
	QUIT;

static const char secure_verified[] =
	P("Connected to mx.a.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("mx.a.test[127.0.0.1]:25: matched peername: a.test")
	CERT("mx.a.test")
	SUMMARY("Verified", "mx.a.test")
	QUIT;

static const char secure_untrusted[] =
	P("Connected to mx.c.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("certificate verification failed for mx.c.test[127.0.0.1]:25: "
	    "untrusted issuer /CN=test-ca")
	CERT("mx.c.test")
	SUMMARY("Untrusted", "mx.c.test")
	QUIT;

static const char no_starttls[] =
	P("Connected to mx.p.test[127.0.0.1]:25")
	CHAT_EHLO
	P("< 250 CHUNKING")
	P("> QUIT")
	P("< 221 2.0.0 Bye");

static const char starttls_refused[] =
	P("Connected to mx.r.test[127.0.0.1]:25")
	CHAT_EHLO STARTTLS
	P("STARTTLS rejected: 454 4.7.0 TLS not available due to local "
	    "problem");

static const char nxdomain[] =
	P("Destination address lookup failed: Host or domain name not found. "
	    "Name service error for name=nx.test type=A: Host not found");

static const char refused[] =
	P("no TLSA records found, resorting to \"secure\"")
	P("Failed to establish session to d.test via mx.d.test: connect to "
	    "mx.d.test[127.0.0.3]:25: Connection refused");

static const char banner_421[] =
	P("Connected to mx.q.test[127.0.0.1]:25")
	P("< 421 4.3.2 Service shutting down")
	P("SMTP service not available: 421 4.3.2 Service shutting down");

/*
 * A hostile server puts posttls-finger's words into its own: chat lines
 * and lines that quote it never decide anything.
 */
static const char hostile_chat[] =
	P("Connected to mx.h.test[127.0.0.1]:25")
	P("< 220 mx.h.test ESMTP")
	P("> EHLO client.example.test")
	P("< 250-mx.h.test: Matched DANE EE certificate at depth 0: 3 1 1 AA")
	P("< 250-Verified TLS connection established to mx.h.test[127.0.0.1]:25")
	P("< 250-STARTTLS")
	P("> STARTTLS")
	P("STARTTLS rejected: 454 Verified TLS connection established to x: "
	    "Matched DANE x");

static const char hostile_quote[] =
	P("Connected to mx.h.test[127.0.0.1]:25")
	P("STARTTLS rejected: 454 mx.h.test[127.0.0.1]:25: Matched DANE EE");

static void
test_review_judge(void **state)
{
	static const struct {
		const char *label;
		enum policy_level override, level;
		const char *out;
		enum review_verdict want;
		const char *detail;	/* must start with this */
	} cases[] = {
		{"dane verified: may removable", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, dane_verified, REVIEW_REMOVABLE,
		    "dane verified (Verified TLS connection established to "
		    "mx.a.test[127.0.0.1]:25: TLSv1.3 with cipher "
		    "TLS_AES_256_GCM_SHA384 (256/256 bits))"},
		{"dane verified: encrypt removable", POLICY_LEVEL_ENCRYPT,
		    POLICY_LEVEL_DANE, dane_verified, REVIEW_REMOVABLE,
		    "dane verified"},
		{"dane verified, review at dane-only", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE_ONLY, dane_verified, REVIEW_REMOVABLE,
		    "dane verified"},
		{"wrong TLSA: still needed", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, dane_wrong, REVIEW_NEEDED,
		    "server certificate verification failed for "
		    "mx.b.test[127.0.0.1]:25: num=65:no matching DANE TLSA "
		    "records"},
		{"no TLSA: dane is may, may removable", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, no_tlsa, REVIEW_REMOVABLE,
		    "no TLSA records, so dane means may there (Untrusted TLS "
		    "connection established to mx.c.test[127.0.0.1]:25"},
		{"no TLSA: none removable", POLICY_LEVEL_NONE,
		    POLICY_LEVEL_DANE, no_tlsa, REVIEW_REMOVABLE,
		    "no TLSA records, so dane means may there"},
		{"no TLSA: encrypt is stricter than may", POLICY_LEVEL_ENCRYPT,
		    POLICY_LEVEL_DANE, no_tlsa, REVIEW_NEEDED,
		    "no TLSA records for mx.c.test[127.0.0.1]:25, so dane "
		    "means may there, weaker than this override"},
		{"no TLSA, no STARTTLS: may removable", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, no_tlsa_no_starttls, REVIEW_REMOVABLE,
		    "no TLSA records, so dane means may there (Connected to "
		    "mx.p.test[127.0.0.1]:25)"},
		{"no usable TLSA: dane is encrypt", POLICY_LEVEL_ENCRYPT,
		    POLICY_LEVEL_DANE, no_usable_tlsa, REVIEW_REMOVABLE,
		    "no usable TLSA records, so dane means encrypt there"},
		{"no TLSA at dane-only: needed", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE_ONLY, no_tlsa, REVIEW_NEEDED,
		    "mx.c.test[127.0.0.1]:25: no TLSA records found"},
		{"no TLSA for a refused first MX is moot", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, second_mx, REVIEW_NEEDED,
		    "server certificate verification failed for mx.b.test"},
		{"secure verified", POLICY_LEVEL_ENCRYPT, POLICY_LEVEL_SECURE,
		    secure_verified, REVIEW_REMOVABLE, "secure verified ("
		    "Verified TLS connection established to mx.a.test"},
		{"verify verified", POLICY_LEVEL_DANE, POLICY_LEVEL_VERIFY,
		    secure_verified, REVIEW_REMOVABLE, "verify verified"},
		{"secure untrusted", POLICY_LEVEL_ENCRYPT, POLICY_LEVEL_SECURE,
		    secure_untrusted, REVIEW_NEEDED,
		    "certificate verification failed for "
		    "mx.c.test[127.0.0.1]:25: untrusted issuer /CN=test-ca"},
		{"encrypt with any TLS", POLICY_LEVEL_MAY, POLICY_LEVEL_ENCRYPT,
		    secure_untrusted, REVIEW_REMOVABLE, "encrypt succeeded "
		    "(Untrusted TLS connection established to mx.c.test"},
		{"encrypt without STARTTLS", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_ENCRYPT, no_starttls, REVIEW_NEEDED,
		    "mx.p.test[127.0.0.1]:25 does not offer STARTTLS"},
		{"dane without STARTTLS or TLSA lines", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, no_starttls, REVIEW_NEEDED,
		    "mx.p.test[127.0.0.1]:25 does not offer STARTTLS"},
		{"STARTTLS refused", POLICY_LEVEL_MAY, POLICY_LEVEL_ENCRYPT,
		    starttls_refused, REVIEW_NEEDED, "STARTTLS rejected: 454 "
		    "4.7.0 TLS not available due to local problem"},
		{"may: a connection is enough", POLICY_LEVEL_NONE,
		    POLICY_LEVEL_MAY, no_starttls, REVIEW_REMOVABLE,
		    "may succeeded (Connected to mx.p.test[127.0.0.1]:25)"},
		{"may override at may", POLICY_LEVEL_MAY, POLICY_LEVEL_MAY,
		    secure_untrusted, REVIEW_REMOVABLE, "may succeeded "
		    "(Untrusted TLS connection established to mx.c.test"},
		{"encrypt override at may: stricter", POLICY_LEVEL_ENCRYPT,
		    POLICY_LEVEL_MAY, secure_untrusted, REVIEW_NEEDED,
		    "stricter than may, the review level: only a review at a "
		    "stricter level can tell"},
		{"stricter, nothing probed", POLICY_LEVEL_ENCRYPT,
		    POLICY_LEVEL_NONE, "", REVIEW_NEEDED, "stricter than none"},
		{"lookup failed", POLICY_LEVEL_MAY, POLICY_LEVEL_DANE, nxdomain,
		    REVIEW_UNCHECKED, "Destination address lookup failed: Host "
		    "or domain name not found. Name service error for "
		    "name=nx.test type=A: Host not found"},
		{"connection refused", POLICY_LEVEL_MAY, POLICY_LEVEL_DANE,
		    refused, REVIEW_UNCHECKED, "Failed to establish session to "
		    "d.test via mx.d.test: connect to mx.d.test[127.0.0.3]:25: "
		    "Connection refused"},
		{"421 banner", POLICY_LEVEL_MAY, POLICY_LEVEL_DANE, banner_421,
		    REVIEW_UNCHECKED, "SMTP service not available: 421"},
		{"nothing said", POLICY_LEVEL_MAY, POLICY_LEVEL_DANE, "",
		    REVIEW_UNCHECKED, "posttls-finger said nothing"},
		{"no prefix, not a finger", POLICY_LEVEL_MAY, POLICY_LEVEL_DANE,
		    "usage: posttls-finger [-acCfSvw] ...\n", REVIEW_UNCHECKED,
		    "usage: posttls-finger"},
		{"hostile chat decides nothing", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, hostile_chat, REVIEW_NEEDED,
		    "STARTTLS rejected: 454 Verified"},
		{"hostile chat at encrypt", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_ENCRYPT, hostile_chat, REVIEW_NEEDED,
		    "STARTTLS rejected"},
		{"a quoted peer is no peer", POLICY_LEVEL_MAY,
		    POLICY_LEVEL_DANE, hostile_quote, REVIEW_UNCHECKED,
		    "STARTTLS rejected: 454 mx.h.test"},
	};
	size_t i;
	char detail[REVIEW_MAX_DETAIL];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum review_verdict v = review_judge(cases[i].override,
		    cases[i].level, cases[i].out, strlen(cases[i].out),
		    detail, sizeof(detail));
		size_t n = strlen(cases[i].detail);

		if (v != cases[i].want || strncmp(detail, cases[i].detail,
		    n) != 0)
			fprintf(stderr, "case \"%s\": detail \"%s\"\n",
			    cases[i].label, detail);
		case_int_equal(cases[i].label, v, cases[i].want);
		case_mem_equal(cases[i].label, detail, n < strlen(detail) ?
		    n : strlen(detail), cases[i].detail, n);
	}
}

/* The detail is printable ASCII, bounded, and never reads past len. */
static void
test_review_judge_bounds(void **state)
{
	static const char nasty[] =
	    "posttls-finger: Connected to mx\x01.test[127.0.0.1]:25\n"
	    "posttls-finger: > STARTTLS\n"
	    "posttls-finger: STARTTLS rejected: 454 \xff\x1b[31m red\r\n";
	char detail[24], big[REVIEW_MAX_DETAIL];
	enum review_verdict v;

	(void)state;
	v = review_judge(POLICY_LEVEL_MAY, POLICY_LEVEL_ENCRYPT, nasty,
	    sizeof(nasty) - 1, big, sizeof(big));
	assert_int_equal(v, REVIEW_NEEDED);
	assert_string_equal(big, "STARTTLS rejected: 454 ??[31m red");

	v = review_judge(POLICY_LEVEL_MAY, POLICY_LEVEL_DANE, dane_verified,
	    sizeof(dane_verified) - 1, detail, sizeof(detail));
	assert_int_equal(v, REVIEW_REMOVABLE);
	assert_int_equal(strlen(detail), sizeof(detail) - 1);

	/* only len bytes count: the summary line is cut off */
	v = review_judge(POLICY_LEVEL_MAY, POLICY_LEVEL_DANE, dane_verified,
	    (size_t)(strstr(dane_verified, "Verified TLS") - dane_verified),
	    big, sizeof(big));
	assert_int_equal(v, REVIEW_NEEDED);
}

/* A DNS answer: header, one question, answers as given. */
static size_t
dns_answer(unsigned char *buf, unsigned rcode, const unsigned char *an,
    size_t anlen, unsigned ancount)
{
	static const unsigned char q[] = {
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0,
		0, 15, 0, 1,
	};
	unsigned char h[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};

	h[3] = (unsigned char)(0x80 | rcode);
	h[7] = (unsigned char)ancount;
	memcpy(buf, h, 12);
	memcpy(buf + 12, q, sizeof(q));
	if (anlen > 0)
		memcpy(buf + 12 + sizeof(q), an, anlen);
	return 12 + sizeof(q) + anlen;
}

static void
test_review_mx_parse(void **state)
{
	/* example.test MX 20 MX2.example.test (compressed), MX 10 mx1.other */
	static const unsigned char two[] = {
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 8,
		0, 20, 3, 'M', 'X', '2', 0xc0, 12,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 15,
		0, 10, 3, 'm', 'x', '1', 5, 'o', 't', 'h', 'e', 'r', 0, 0, 0,
	};
	/* a CNAME first, then a null MX ("."), then one MX */
	static const unsigned char mixed[] = {
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 3, 0, 0, 0,
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 5, 0, 10, 1, 'm', 0,
	};
	static const unsigned char nullmx[] = {
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 3, 0, 0, 0,
	};
	/* a pointer to itself: a loop */
	static const unsigned char loop[] = {
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 10, 0xc0, 44,
	};
	/* rdlength past the end */
	static const unsigned char runs_off[] = {
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 40, 0, 10, 1, 'm', 0,
	};
	/* a label with a dot in it */
	static const unsigned char dotted[] = {
		0xc0, 12, 0, 15, 0, 1, 0, 0, 0, 60, 0, 7, 0, 10, 3, 'a', '.',
		'b', 0,
	};
	unsigned char buf[512];
	char hosts[REVIEW_MAX_MX][HOSTNAME_MAX_LEN + 1];
	size_t len, n;

	(void)state;
	len = dns_answer(buf, 0, two, sizeof(two), 2);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_OK);
	assert_int_equal(n, 2);
	assert_string_equal(hosts[0], "mx2.example.test");
	assert_string_equal(hosts[1], "mx1.other");
	/* max bounds what is written */
	assert_int_equal(review_mx_parse(buf, len, hosts, 1, &n), REVIEW_MX_OK);
	assert_int_equal(n, 1);

	len = dns_answer(buf, 0, mixed, sizeof(mixed), 3);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_OK);
	assert_int_equal(n, 1);
	assert_string_equal(hosts[0], "m");

	len = dns_answer(buf, 0, nullmx, sizeof(nullmx), 1);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_NONE);
	len = dns_answer(buf, 0, NULL, 0, 0);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_NONE);
	len = dns_answer(buf, 3, NULL, 0, 0);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_NONE);
	len = dns_answer(buf, 2, NULL, 0, 0);	/* SERVFAIL */
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_MALFORMED);

	len = dns_answer(buf, 0, loop, sizeof(loop), 1);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_MALFORMED);
	len = dns_answer(buf, 0, runs_off, sizeof(runs_off), 1);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_MALFORMED);
	len = dns_answer(buf, 0, dotted, sizeof(dotted), 1);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_MALFORMED);
	/* more answers announced than present */
	len = dns_answer(buf, 0, two, sizeof(two), 3);
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_MALFORMED);
	/* every truncation of a good answer is read safely */
	len = dns_answer(buf, 0, two, sizeof(two), 2);
	for (size_t cut = 0; cut < len; cut++)
		(void)review_mx_parse(buf, cut, hosts, REVIEW_MAX_MX, &n);
	/* a query is not an answer */
	buf[2] = 0x01;
	assert_int_equal(review_mx_parse(buf, len, hosts, REVIEW_MAX_MX, &n),
	    REVIEW_MX_MALFORMED);
}

static void
test_review_json_string(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"example.com", "example.com"},
		{"a\"b\\c", "a\\\"b\\\\c"},
		{"tab\there\n", "tab\\u0009here\\u000a"},
		{"b\xc3\xbc" "cher.example", "b\xc3\xbc" "cher.example"},
		{"bad \xff byte", "bad \\ufffd byte"},
		{"short \xc3", "short \\ufffd"},
		{"overlong \xc0\xaf", "overlong \\ufffd\\ufffd"},
		{"surrogate \xed\xa0\x80", "surrogate \\ufffd\\ufffd\\ufffd"},
		{"del\x7f", "del\\u007f"},
		{"", ""},
	};
	char out[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = review_json_string(out, sizeof(out), cases[i].in);
		case_mem_equal(cases[i].in, out, n, cases[i].want,
		    strlen(cases[i].want));
		assert_int_equal(out[n], '\0');
	}
	/* short buffer: truncated, terminated, full length returned */
	n = review_json_string(out, 4, "a\"bcdef");
	assert_int_equal(n, 8);
	assert_string_equal(out, "a\\\"");
	assert_int_equal(review_json_string(NULL, 0, "\"\""), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_review_probe_level),
		cmocka_unit_test(test_review_destination),
		cmocka_unit_test(test_review_judge),
		cmocka_unit_test(test_review_judge_bounds),
		cmocka_unit_test(test_review_mx_parse),
		cmocka_unit_test(test_review_json_string),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
