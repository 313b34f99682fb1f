/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_policy - the policy module against Postfix's policy grammar
 * (smtp_tls_policy.c):
 * levels, separators and comma lists, attribute names per version and
 * level, once-only attributes, value syntax, fingerprints, and the
 * canonical text (parsing it again changes nothing).
 *
 * Each table row is one policy row of the database; a failing row is
 * reported by its label.
 */

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "test.h"

#include "policy.h"

#define OK		POLICY_OK
#define BAD		POLICY_INVALID

/* sha256("abc"), sha256(""), sha1("abc"). */
#define FP1	"BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:" \
		"B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
#define FP1_HEX	"ba7816bf8f01cfea414140de5dae2223" \
		"b00361a396177a9cb410ff61f20015ad"
#define FP2	"E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:" \
		"27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55"
#define FP_SHA1	"A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D"
/* FP1 without its last byte. */
#define FP1_31	"BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:" \
		"B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15"

#define LABEL63	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"

struct test_case {
	const char *label;
	int compat;			/* 0: the default, 3.7 */
	const char *level;
	const char *params;
	enum policy_status want_status;
	const char *want_text;		/* "" when invalid */
	bool want_warned;
	const char *want_problem;	/* a substring, or NULL: not checked */
	size_t fingerprint_len;		/* 0: the default, sha256 */
};

static const struct test_case level_cases[] = {
	{ "none", 0, "none", "", OK, "none", false, NULL, 0 },
	{ "may", 0, "may", "", OK, "may", false, NULL, 0 },
	{ "upper case", 0, "MAY", NULL, OK, "may", false, NULL, 0 },
	{ "mixed case and blanks", 0, " \tEncrypt\r\n", "", OK, "encrypt",
	    false, NULL, 0 },
	{ "dane", 0, "dane", "", OK, "dane", false, NULL, 0 },
	{ "dane-only", 0, "DANE-ONLY", "", OK, "dane-only", false, NULL, 0 },
	{ "verify", 0, "verify", "", OK, "verify", false, NULL, 0 },
	{ "secure", 0, "Secure", "", OK, "secure", false, NULL, 0 },
	{ "unknown level", 0, "bogus", "", BAD, "", false,
	    "invalid security level \"bogus\"", 0 },
	{ "export is a grade", 0, "export", "", BAD, "", false,
	    "invalid security level \"export\"", 0 },
	{ "halfdane is internal", 0, "halfdane", "", BAD, "", false,
	    "invalid security level", 0 },
	{ "empty level", 0, "", "", BAD, "", false, "empty security level",
	    0 },
	{ "blank level", 0, " \n ", "ciphers=high", BAD, "", false,
	    "empty security level", 0 },
	{ "NULL level", 0, NULL, "", BAD, "", false, NULL, 0 },
	{ "attributes in the level column", 0, "may ciphers=high", "", BAD,
	    "", false, "invalid security level", 0 },
	{ "trailing comma in level", 0, "may,", "", BAD, "", false, NULL, 0 },
	{ "non-ASCII level", 0, "m\xc3\xa4y", "", BAD, "", false,
	    "invalid security level \"m??y\"", 0 },
	{ "none drops attributes", 0, "none", "ciphers=high", OK, "none",
	    true, "ignoring attribute \"ciphers=high\" with TLS disabled", 0 },
	{ "none drops garbage", 0, "NONE", "{ bogus \xff", OK, "none", true,
	    NULL, 0 },
	{ "none with only separators", 0, "none", " ,\n", OK, "none", false,
	    NULL, 0 },
	{ "fingerprint needs match", 0, "fingerprint", "", BAD, "", false,
	    "fingerprint", 0 },
};

static const struct test_case separator_cases[] = {
	{ "two attributes", 0, "may", "ciphers=high protocols=>=TLSv1.2",
	    OK, "may ciphers=high protocols=>=TLSv1.2", false, NULL, 0 },
	{ "newlines (mailcow UI)", 0, "encrypt",
	    "  ciphers=high\r\n\r\nprotocols=>=TLSv1.2\n\texclude=aNULL\n",
	    OK, "encrypt ciphers=high protocols=>=TLSv1.2 exclude=aNULL",
	    false, NULL, 0 },
	{ "comma between attributes", 0, "may",
	    "ciphers=high,protocols=>=TLSv1.2", OK,
	    "may ciphers=high protocols=>=TLSv1.2", false, NULL, 0 },
	{ "comma inside protocols (upstream docs)", 0, "encrypt",
	    "protocols=!SSLv2,!SSLv3", OK, "encrypt protocols=!SSLv2:!SSLv3",
	    true, "comma inside \"protocols\" value", 0 },
	{ "comma and space inside protocols", 0, "encrypt",
	    "protocols=!SSLv2, !SSLv3, !TLSv1 ciphers=high", OK,
	    "encrypt protocols=!SSLv2:!SSLv3:!TLSv1 ciphers=high", true,
	    NULL, 0 },
	{ "comma list then attribute", 0, "may",
	    "exclude=aNULL,eNULL,ciphers=medium", OK,
	    "may exclude=aNULL:eNULL ciphers=medium", true,
	    "comma inside \"exclude\" value", 0 },
	{ "comma between bounds", 0, "may", "protocols=>=TLSv1.2,<=TLSv1.3",
	    OK, "may protocols=>=TLSv1.2:<=TLSv1.3", true, NULL, 0 },
	{ "comma after empty protocols", 0, "may", "protocols=,!SSLv2", OK,
	    "may protocols=!SSLv2", true, NULL, 0 },
	{ "space is no list separator", 0, "may", "protocols=!SSLv2 !SSLv3",
	    BAD, "", false,
	    "malformed attribute/value pair \"!SSLv3\": missing '='", 0 },
	{ "ciphers is not a list", 0, "may", "ciphers=high,medium", BAD, "",
	    false, "malformed attribute/value pair \"medium\"", 0 },
	{ "comma after non-list", 0, "may", "ciphers=high,foo", BAD, "",
	    false, NULL, 0 },
	{ "unknown name after comma", 0, "may", "protocols=TLSv1.2,foo=bar",
	    BAD, "", false, "invalid attribute name \"foo\"", 0 },
	{ "spaces around =", 0, "may", "ciphers = high", BAD, "", false,
	    "malformed attribute/value pair \"ciphers\": missing '='", 0 },
	{ "missing name", 0, "may", "=high", BAD, "", false,
	    "missing attribute name", 0 },
	{ "names in upper case", 0, "may", "CIPHERS=HIGH Protocols=>=TLSv1.2",
	    OK, "may ciphers=high protocols=>=TLSv1.2", false, NULL, 0 },
	{ "empty params", 0, "secure", " \n,\t", OK, "secure", false, NULL,
	    0 },
	{ "brace before 3.10", 0, "may", "{ ciphers = high }", BAD, "",
	    false, "braces need Postfix 3.10", 0 },
	{ "brace in value before 3.10", 309, "may", "exclude=}", BAD, "",
	    false, NULL, 0 },
};

static const struct test_case version_cases[] = {
	{ "unknown attribute", 0, "may", "foo=bar", BAD, "", false,
	    "invalid attribute name \"foo\"", 0 },
	{ "enable_rpk in 3.7", 307, "may", "enable_rpk=yes", BAD, "", false,
	    "invalid attribute name \"enable_rpk\"", 0 },
	{ "enable_rpk in 3.8", 308, "may", "enable_rpk=yes", BAD, "", false,
	    NULL, 0 },
	{ "enable_rpk in 3.9", 309, "may", "enable_rpk=YES", OK,
	    "may enable_rpk=yes", false, NULL, 0 },
	{ "enable_rpk bad value", 309, "may", "enable_rpk=on", BAD, "", false,
	    "attribute \"enable_rpk\" has bad value \"on\"", 0 },
	{ "policy_type in 3.9", 309, "may", "policy_type=sts", BAD, "", false,
	    "invalid attribute name \"policy_type\"", 0 },
	{ "TLSRPT in 3.10", 310, "secure",
	    "policy_type=STS policy_domain=example.com "
	    "mx_host_pattern=*.example.net policy_ttl=86400", OK,
	    "secure policy_type=sts policy_domain=example.com "
	    "mx_host_pattern=*.example.net policy_ttl=86400", false, NULL, 0 },
	{ "TLSRPT without policy_type", 310, "may",
	    "policy_domain=example.com", BAD, "", false,
	    "\"policy_domain\" without \"policy_type\"", 0 },
	{ "policy_failure", 312, "may",
	    "policy_type=no-policy-found policy_failure=STS-POLICY-INVALID",
	    OK, "may policy_type=no-policy-found "
	    "policy_failure=sts-policy-invalid", false, NULL, 0 },
	{ "bad policy_type", 310, "may", "policy_type=dane", BAD, "", false,
	    NULL, 0 },
	{ "bad policy_ttl", 310, "may", "policy_type=sts policy_ttl=1d", BAD,
	    "", false, "\"policy_ttl\" has a malformed value", 0 },
	{ "policy_ttl overflow", 310, "may",
	    "policy_type=sts policy_ttl=2147483648", BAD, "", false, NULL, 0 },
	{ "duplicate policy_type", 310, "may",
	    "policy_type=sts policy_type=sts", BAD, "", false,
	    "duplicate attribute \"policy_type\"", 0 },
	{ "braces in 3.10", 310, "may", "{ ciphers = high }", OK,
	    "may ciphers=high", false, NULL, 0 },
	{ "braces with newlines in 3.10", 310, "secure",
	    "{ policy_type = sts }\n{ policy_string = version: STSv1 }\n"
	    "{ policy_string =\tmode:  enforce }", OK,
	    "secure policy_type=sts { policy_string = version: STSv1 } "
	    "{ policy_string = mode:  enforce }", false, NULL, 0 },
	{ "unclosed brace", 310, "may", "{ ciphers = high", BAD, "", false,
	    "missing '}'", 0 },
	{ "text after brace", 310, "may", "{ciphers=high}x", BAD, "", false,
	    "syntax error after '}'", 0 },
	{ "brace inside value", 310, "may", "protocols={a,b}", BAD, "", false,
	    NULL, 0 },
	{ "spaces inside braced non-text", 310, "may",
	    "{ exclude = aNULL eNULL }", BAD, "", false,
	    "whitespace inside \"exclude\" value", 0 },
	{ "comma inside braces", 310, "may",
	    "policy_type=sts { policy_string = a, b }", BAD, "", false,
	    "comma inside \"policy_string\" value", 0 },
	{ "braced name without =", 310, "may", "{ ciphers }", BAD, "", false,
	    "missing '='", 0 },
};

static const struct test_case attribute_cases[] = {
	{ "match at may", 0, "may", "match=hostname", BAD, "", false,
	    "attribute \"match\" invalid at security level \"may\"", 0 },
	{ "match at dane", 0, "dane", "match=nexthop", BAD, "", false,
	    "invalid at security level \"dane\"", 0 },
	{ "match at dane-only", 0, "dane-only", "match=nexthop", BAD, "",
	    false, NULL, 0 },
	{ "tafile at encrypt", 0, "encrypt", "tafile=/etc/ta.pem", BAD, "",
	    false, "attribute \"tafile\" invalid at security level", 0 },
	{ "tafile at fingerprint", 0, "fingerprint",
	    "match=" FP1 " tafile=ta.pem", BAD, "", false, NULL, 0 },
	{ "tafile at verify", 0, "verify",
	    "tafile=/etc/postfix/ta.pem tafile=ta2.pem", OK,
	    "verify tafile=/etc/postfix/ta.pem tafile=ta2.pem", false, NULL,
	    0 },
	{ "empty tafile", 0, "secure", "tafile=", BAD, "", false,
	    "\"tafile\" has empty value", 0 },
	{ "secure match", 0, "secure", "match=nexthop:dot-nexthop", OK,
	    "secure match=nexthop:dot-nexthop", false, NULL, 0 },
	{ "match patterns lowercased", 0, "secure",
	    "MATCH=NEXTHOP:.Example.COM", OK,
	    "secure match=nexthop:.example.com", false, NULL, 0 },
	{ "comma inside match", 0, "verify", "match=hostname,nexthop", OK,
	    "verify match=hostname:nexthop", true,
	    "comma inside \"match\" value", 0 },
	{ "repeated match stays", 0, "verify",
	    "match=hostname match=example.com", OK,
	    "verify match=hostname match=example.com", false, NULL, 0 },
	{ "empty match", 0, "verify", "match=", BAD, "", false,
	    "\"match\" has empty value", 0 },
	{ "only separators in match", 0, "secure", "match=:", BAD, "", false,
	    NULL, 0 },
	{ "empty match item dropped", 0, "secure", "match=nexthop::hostname",
	    OK, "secure match=nexthop:hostname", true, "empty item", 0 },
	{ "bad match pattern", 0, "verify", "match=exa_mple..com", BAD, "",
	    false, "invalid pattern \"exa_mple..com\"", 0 },
	{ "lone dot pattern", 0, "verify", "match=.", BAD, "", false, NULL,
	    0 },
	/* Postfix's valid_hostname(): a hyphen is no letter, "1-2.3" numeric */
	{ "digits and hyphens pattern", 0, "secure", "match=1-2.3", BAD, "",
	    false, "invalid pattern \"1-2.3\"", 0 },
	{ "digits and hyphens parent pattern", 0, "verify", "match=.1-2.3",
	    BAD, "", false, "invalid pattern \".1-2.3\"", 0 },
	{ "a letter after a hyphen pattern", 0, "secure", "match=1-a.2", OK,
	    "secure match=1-a.2", false, NULL, 0 },
	{ "underscore pattern", 0, "secure", "match=1_2.3", OK,
	    "secure match=1_2.3", false, NULL, 0 },
	{ "duplicate ciphers", 0, "may", "ciphers=high ciphers=medium", BAD,
	    "", false, "duplicate attribute \"ciphers\"", 0 },
	{ "duplicate empty protocols", 0, "may", "protocols= PROTOCOLS=", BAD,
	    "", false, "duplicate attribute \"protocols\"", 0 },
	{ "duplicate exclude", 0, "may", "exclude=a,exclude=b", BAD, "",
	    false, "duplicate attribute \"exclude\"", 0 },
	{ "duplicate servername", 0, "may",
	    "servername=a.example servername=b.example", BAD, "", false,
	    "duplicate attribute \"servername\"", 0 },
	{ "connection_reuse last wins", 0, "may",
	    "connection_reuse=yes ciphers=high connection_reuse=NO", OK,
	    "may connection_reuse=no ciphers=high", true,
	    "\"connection_reuse\" repeated", 0 },
	{ "connection_reuse bad", 0, "may", "connection_reuse=maybe", BAD,
	    "", false, "\"connection_reuse\" has bad value \"maybe\"", 0 },
	{ "empty ciphers", 0, "may", "ciphers=", BAD, "", false,
	    "\"ciphers\" has empty value", 0 },
	{ "unknown grade", 0, "encrypt", "ciphers=super", BAD, "", false,
	    "\"ciphers\" has bad value \"super\"", 0 },
	{ "grades lowercased", 0, "may", "ciphers=EXPORT", OK,
	    "may ciphers=export", false, NULL, 0 },
	{ "null grade", 0, "encrypt", "ciphers=null", OK,
	    "encrypt ciphers=null", false, NULL, 0 },
	{ "empty protocols", 0, "may", "protocols=", OK, "may protocols=",
	    false, NULL, 0 },
	{ "unknown protocol", 0, "may", "protocols=TLSv1.4", BAD, "", false,
	    "invalid protocol \"TLSv1.4\"", 0 },
	{ "hex protocol bound", 0, "may", "protocols=>=0x0303:<=TLSv1.3", OK,
	    "may protocols=>=0x0303:<=TLSv1.3", false, NULL, 0 },
	{ "empty exclude", 0, "may", "exclude=", OK, "may exclude=", false,
	    NULL, 0 },
	{ "servername hostname", 0, "may", "servername=hostname", OK,
	    "may servername=hostname", false, NULL, 0 },
	{ "servername kept verbatim", 0, "secure",
	    "servername=MX1.Example.com", OK,
	    "secure servername=MX1.Example.com", false, NULL, 0 },
	{ "servername leading hyphen", 0, "may", "servername=-bad.example",
	    BAD, "", false, "specifies an invalid hostname", 0 },
	{ "servername digits and hyphens", 0, "may", "servername=1-2.3", BAD,
	    "", false, "invalid hostname", 0 },
	{ "servername all numeric", 0, "may", "servername=192.0.2.1", BAD,
	    "", false, NULL, 0 },
	{ "servername empty", 0, "may", "servername=", BAD, "", false, NULL,
	    0 },
	{ "servername empty label", 0, "may", "servername=a..b", BAD, "",
	    false, NULL, 0 },
	{ "servername label 63", 0, "may", "servername=" LABEL63 ".example",
	    OK, "may servername=" LABEL63 ".example", false, NULL, 0 },
	{ "servername label 64", 0, "may",
	    "servername=" LABEL63 "x.example", BAD, "", false, NULL, 0 },
	{ "non-ASCII value", 0, "may", "ciphers=h\xc3\xa9", BAD, "", false,
	    "control or non-ASCII byte in \"ciphers=h??\"", 0 },
	{ "control byte", 0, "may", "ciphers=high\x01", BAD, "", false,
	    "control or non-ASCII", 0 },
	{ "vertical tab", 0, "may", "exclude=a\vb", BAD, "", false, NULL, 0 },
	{ "DEL", 0, "may", "tafile=\x7f", BAD, "", false, NULL, 0 },
};

static const struct test_case fingerprint_cases[] = {
	{ "sha256 with colons", 0, "fingerprint", "match=" FP1, OK,
	    "fingerprint match=" FP1, false, NULL, 0 },
	{ "sha256 without colons, lower case", 0, "fingerprint",
	    "match=" FP1_HEX, OK, "fingerprint match=" FP1, false, NULL, 0 },
	{ "two digests", 0, "fingerprint", "match=" FP1 "|" FP2, OK,
	    "fingerprint match=" FP1 "|" FP2, false, NULL, 0 },
	{ "comma between digests", 0, "fingerprint",
	    "match=" FP1 "," FP2, OK, "fingerprint match=" FP1 "|" FP2, true,
	    "comma inside \"match\" value", 0 },
	{ "newline between digests", 0, "Fingerprint",
	    "match=" FP1 "\nmatch=" FP2, OK,
	    "fingerprint match=" FP1 " match=" FP2, false, NULL, 0 },
	{ "trailing bar", 0, "fingerprint", "match=" FP1 "|", OK,
	    "fingerprint match=" FP1, true, "empty item", 0 },
	{ "31 bytes", 0, "fingerprint", "match=" FP1_31, BAD, "", false,
	    "has 31 bytes, not 32", 0 },
	{ "33 bytes", 0, "fingerprint", "match=" FP1 ":00", BAD, "", false,
	    "has 33 bytes", 0 },
	{ "non-hex", 0, "fingerprint",
	    "match=GA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
	    "B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", BAD, "", false,
	    "malformed fingerprint", 0 },
	{ "trailing colon", 0, "fingerprint", "match=" FP1 ":", BAD, "",
	    false, "malformed fingerprint", 0 },
	{ "double colon", 0, "fingerprint",
	    "match=BA::78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:"
	    "B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD", BAD, "", false,
	    NULL, 0 },
	{ "odd digit count", 0, "fingerprint", "match=" FP1_HEX "0", BAD, "",
	    false, NULL, 0 },
	{ "name at fingerprint", 0, "fingerprint", "match=hostname", BAD, "",
	    false, "malformed fingerprint \"hostname\"", 0 },
	{ "one bad digest of two", 0, "fingerprint",
	    "match=" FP1 "|" FP1_31, BAD, "", false, NULL, 0 },
	{ "sha1 digest", 0, "fingerprint", "match=a9993e364706816aba3e25717850c26c9cd0d89d",
	    OK, "fingerprint match=" FP_SHA1, false, NULL, 20 },
	{ "sha256 digest with sha1 configured", 0, "fingerprint",
	    "match=" FP1, BAD, "", false, "has 32 bytes, not 20", 20 },
	{ "fingerprint with other attributes", 0, "fingerprint",
	    "match=" FP1 ", ciphers=high, connection_reuse=yes", OK,
	    "fingerprint match=" FP1 " ciphers=high connection_reuse=yes",
	    false, NULL, 0 },
};

/* Every table, for the idempotence test. */
static const struct {
	const struct test_case *cases;
	size_t count;
} tables[] = {
#define TABLE(t)	{ t, sizeof(t) / sizeof(t[0]) }
	TABLE(level_cases),
	TABLE(separator_cases),
	TABLE(version_cases),
	TABLE(attribute_cases),
	TABLE(fingerprint_cases),
#undef TABLE
};

static void
opts_for(const struct test_case *c, struct policy_opts *opts)
{
	policy_opts_init(opts);
	if (c->compat != 0)
		opts->compat = c->compat;
	if (c->fingerprint_len != 0)
		opts->fingerprint_len = c->fingerprint_len;
}

static bool
printable(const char *s)
{
	for (; *s != 0; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* Compare "label: what" strings, so a failure names its row. */
static void
assert_row(const char *label, const char *got, const char *want)
{
	char g[POLICY_MAX_TEXT + POLICY_MAX_PROBLEM + 256];
	char w[POLICY_MAX_TEXT + POLICY_MAX_PROBLEM + 256];

	snprintf(g, sizeof(g), "%s: %s", label, got);
	snprintf(w, sizeof(w), "%s: %s", label, want);
	assert_string_equal(g, w);
}

static void
check_case(const struct test_case *c)
{
	struct policy_opts opts;
	struct policy_result res;
	enum policy_status st;
	char got[POLICY_MAX_TEXT + 64];
	char want[POLICY_MAX_TEXT + 64];

	opts_for(c, &opts);
	memset(&res, 0xa5, sizeof(res));
	st = policy_parse(&opts, c->level, c->params, &res);
	snprintf(got, sizeof(got), "%s \"%s\" warned=%d",
	    st == POLICY_OK ? "OK" : "INVALID", res.text, res.warned);
	snprintf(want, sizeof(want), "%s \"%s\" warned=%d",
	    c->want_status == POLICY_OK ? "OK" : "INVALID", c->want_text,
	    c->want_warned);
	assert_row(c->label, got, want);

	/* A problem exactly when there is something to tell. */
	assert_row(c->label, printable(res.problem) ? "printable problem" :
	    res.problem, "printable problem");
	assert_row(c->label, res.problem[0] != 0 ? "problem" : "no problem",
	    st != POLICY_OK || res.warned ? "problem" : "no problem");
	if (c->want_problem != NULL && strstr(res.problem,
	    c->want_problem) == NULL)
		assert_row(c->label, res.problem, c->want_problem);
}

static void
run_table(const struct test_case *cases, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		check_case(&cases[i]);
}

static void
test_policy_levels(void **state)
{
	(void)state;
	run_table(level_cases, sizeof(level_cases) / sizeof(level_cases[0]));
}

static void
test_policy_separators(void **state)
{
	(void)state;
	run_table(separator_cases,
	    sizeof(separator_cases) / sizeof(separator_cases[0]));
}

static void
test_policy_version_gates(void **state)
{
	(void)state;
	run_table(version_cases,
	    sizeof(version_cases) / sizeof(version_cases[0]));
}

static void
test_policy_attributes(void **state)
{
	(void)state;
	run_table(attribute_cases,
	    sizeof(attribute_cases) / sizeof(attribute_cases[0]));
}

static void
test_policy_fingerprints(void **state)
{
	(void)state;
	run_table(fingerprint_cases,
	    sizeof(fingerprint_cases) / sizeof(fingerprint_cases[0]));
}

/* The canonical text of every valid row parses to itself, silently. */
static void
test_policy_canonical_is_idempotent(void **state)
{
	struct policy_opts opts;
	struct policy_result first;
	struct policy_result again;
	char level[32];
	const char *sp;
	size_t t;
	size_t i;

	(void)state;
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (i = 0; i < tables[t].count; i++) {
			const struct test_case *c = &tables[t].cases[i];

			opts_for(c, &opts);
			if (policy_parse(&opts, c->level, c->params, &first) !=
			    POLICY_OK)
				continue;
			sp = strchr(first.text, ' ');
			if (sp == NULL)
				sp = first.text + strlen(first.text);
			assert_true((size_t)(sp - first.text) < sizeof(level));
			memcpy(level, first.text, (size_t)(sp - first.text));
			level[sp - first.text] = 0;
			assert_int_equal(policy_parse(&opts, level, sp, &again),
			    POLICY_OK);
			assert_row(c->label, again.text, first.text);
			assert_row(c->label, again.warned ? "warned" : "silent",
			    "silent");
		}
	}
}

static void
test_policy_null_params_is_empty(void **state)
{
	struct policy_opts opts;
	struct policy_result res;

	(void)state;
	policy_opts_init(&opts);
	assert_int_equal(policy_parse(&opts, "verify", NULL, &res), POLICY_OK);
	assert_string_equal(res.text, "verify");
	assert_false(res.warned);
	assert_string_equal(res.problem, "");
}

/* "may exclude=" plus one item: exactly POLICY_MAX_TEXT - 1 fits. */
static void
test_policy_rejects_text_one_over_limit(void **state)
{
	static char params[POLICY_MAX_TEXT + 16];
	struct policy_opts opts;
	struct policy_result res;
	size_t prefix = strlen("exclude=");
	size_t item = POLICY_MAX_TEXT - 1 - strlen("may exclude=");

	(void)state;
	policy_opts_init(&opts);
	memcpy(params, "exclude=", prefix);
	memset(params + prefix, 'A', item);
	params[prefix + item] = 0;
	assert_int_equal(policy_parse(&opts, "may", params, &res), POLICY_OK);
	assert_int_equal(strlen(res.text), POLICY_MAX_TEXT - 1);

	params[prefix + item] = 'A';
	params[prefix + item + 1] = 0;
	assert_int_equal(policy_parse(&opts, "may", params, &res),
	    POLICY_INVALID);
	assert_string_equal(res.problem, "policy too long");
	assert_string_equal(res.text, "");
}

/* Long hostile input: the problem stays short and printable. */
static void
test_policy_problem_is_bounded(void **state)
{
	static char params[20000];
	struct policy_opts opts;
	struct policy_result res;

	(void)state;
	policy_opts_init(&opts);
	memset(params, '\xff', sizeof(params) - 1);
	params[sizeof(params) - 1] = 0;
	assert_int_equal(policy_parse(&opts, "may", params, &res),
	    POLICY_INVALID);
	assert_true(strlen(res.problem) < 128);
	assert_true(printable(res.problem));

	assert_int_equal(policy_parse(&opts, params, "", &res),
	    POLICY_INVALID);
	assert_true(strlen(res.problem) < 128);
	assert_true(printable(res.problem));
}

static void
test_policy_opts_init_defaults(void **state)
{
	struct policy_opts opts;

	(void)state;
	memset(&opts, 0xff, sizeof(opts));
	policy_opts_init(&opts);
	assert_int_equal(opts.compat, 307);
	assert_int_equal(opts.fingerprint_len, 32);
}

/* The level words, as config and lifecycle take them (any case, exact). */
static void
test_policy_level_words(void **state)
{
	static const struct {
		const char *word;
		int want;
	} cases[] = {
		{"none", POLICY_LEVEL_NONE}, {"MAY", POLICY_LEVEL_MAY},
		{"Encrypt", POLICY_LEVEL_ENCRYPT}, {"dane", POLICY_LEVEL_DANE},
		{"dane-only", POLICY_LEVEL_DANE_ONLY},
		{"fingerprint", POLICY_LEVEL_FINGERPRINT},
		{"verify", POLICY_LEVEL_VERIFY}, {"secure", POLICY_LEVEL_SECURE},
		{"halfdane", -1}, {"", -1}, {" may", -1}, {"may ", -1},
		{"maybe", -1}, {"dane_only", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int l = policy_level(cases[i].word);

		case_int_equal(cases[i].word, l, cases[i].want);
		if (l >= 0)
			assert_int_equal(strcasecmp(policy_level_name(
			    (enum policy_level)l), cases[i].word), 0);
	}
	assert_string_equal(policy_level_name(POLICY_LEVEL_COUNT), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_levels),
		cmocka_unit_test(test_policy_separators),
		cmocka_unit_test(test_policy_version_gates),
		cmocka_unit_test(test_policy_attributes),
		cmocka_unit_test(test_policy_fingerprints),
		cmocka_unit_test(test_policy_canonical_is_idempotent),
		cmocka_unit_test(test_policy_null_params_is_empty),
		cmocka_unit_test(test_policy_rejects_text_one_over_limit),
		cmocka_unit_test(test_policy_problem_is_bounded),
		cmocka_unit_test(test_policy_opts_init_defaults),
		cmocka_unit_test(test_policy_level_words),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
