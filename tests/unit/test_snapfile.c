/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_snapfile - the state file's format: a snapshot goes out and comes
 * back answering every key as before (valid, corrected, invalid rows,
 * conflicts, the parent walk, expiries and their comments); a file that is
 * cut short, changed in any byte, of another magic, version or identity is
 * refused whole with its own status; so is one whose checksum holds but
 * whose valid rows are not what the policy parser makes of them with the
 * daemon's options (a forgery); CRC-32C is the standard one.
 */
#include <stdlib.h>	/* before cmocka.h, which redefines malloc */

#include "test.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "policy.h"
#include "snapfile.h"
#include "snapshot.h"
#include "target.h"

#define ID "table=public.tls_policy\npostfix_compat=307\n"

struct buf {
	unsigned char *p;
	size_t len;
	size_t cap;
	int fail_after;		/* calls; -1: never */
};

static int
to_buf(void *arg, const void *data, size_t len)
{
	struct buf *b = arg;

	if (b->fail_after == 0)
		return -1;
	if (b->fail_after > 0)
		b->fail_after--;
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static struct snapshot *
sample(void)
{
	struct snapshot *s = snapshot_new(4);
	struct policy_opts o;
	struct policy_result r;

	policy_opts_init(&o);
	snapshot_add_row(s, &o, "ok.example", "secure", NULL, true, &r);
	snapshot_add_row(s, &o, "Mixed.Example.", "verify", NULL, true, &r);
	snapshot_add_row(s, &o, "proto.example", "encrypt",
	    "protocols=!SSLv2,!SSLv3", true, &r);
	snapshot_add_row(s, &o, "bad.example", "bogus", NULL, true, &r);
	snapshot_add_row(s, &o, "dup.example", "may", NULL, true, &r);
	snapshot_add_row(s, &o, "dup.example.", "encrypt", NULL, true, &r);
	snapshot_add_row(s, &o, ".parent.example", "dane", NULL, true, &r);
	snapshot_add_row(s, &o, "*.wild.example", "secure", NULL, true, &r);
	snapshot_add_row(s, &o, "b\xc3\xbc" "cher.example", "may", NULL, true,
	    &r);
	snapshot_add_row_until(s, &o, "soon.example", "none", NULL, true,
	    1000.5, "ticket 42", &r);
	snapshot_add_row_until(s, &o, "later.example", "may", NULL, true,
	    2000, NULL, &r);
	return s;
}

static void
encode(const struct snapshot *s, const char *id, struct buf *b)
{
	struct snapfile_meta m = {1700000000, 77, 0};

	memset(b, 0, sizeof(*b));
	b->fail_after = -1;
	assert_int_equal(snapfile_encode(s, id, &m, to_buf, b), 0);
}

static enum snapshot_result
look(const struct snapshot *s, const char *key, char *out, size_t outsz)
{
	struct target t;
	const char *text;
	size_t len;
	enum snapshot_result r;

	assert_int_equal(target_canon(key, strlen(key), &t), TARGET_OK);
	r = snapshot_lookup(s, &t, t.walk, &text, &len);
	snprintf(out, outsz, "%.*s", (int)len, text);
	return r;
}

struct expired {
	char seen[256];
};

static void
on_expired(void *arg, const char *target, const char *comment, double at)
{
	struct expired *e = arg;
	size_t n = strlen(e->seen);

	snprintf(e->seen + n, sizeof(e->seen) - n, "%s/%s/%.1f;", target,
	    comment != NULL ? comment : "-", at);
}

static void
test_snapfile_crc32c(void **state)
{
	(void)state;
	/* the check value of CRC-32C (RFC 3720, B.4; "123456789") */
	assert_int_equal(snapfile_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(snapfile_crc32c(snapfile_crc32c(0, "1234", 4),
	    "56789", 5), 0xe3069283u);
	assert_int_equal(snapfile_crc32c(0, "", 0), 0);
}

static void
test_snapfile_round_trip(void **state)
{
	static const char *const keys[] = {
		"ok.example", "mixed.example", "proto.example", "bad.example",
		"dup.example", "parent.example", "mx.parent.example",
		"a.wild.example", "xn--bcher-kva.example", "soon.example",
		"later.example", "absent.example", "example",
	};
	struct snapshot *a = sample(), *b = NULL;
	struct snapfile_meta m;
	struct buf buf;
	char ta[512], tb[512], detail[200];
	struct expired ea, eb;
	struct policy_opts opts;
	size_t i;

	(void)state;
	policy_opts_init(&opts);
	encode(a, ID, &buf);
	assert_int_equal(snapfile_decode(buf.p, buf.len, ID, &opts, &m, &b,
	    detail, sizeof(detail)), SNAPFILE_OK);
	assert_non_null(b);
	assert_int_equal(m.saved, 1700000000);
	assert_int_equal(m.generation, 77);
	assert_int_equal(m.rows, snapshot_rows(a));
	assert_int_equal(snapshot_rows(b), snapshot_rows(a));
	assert_int_equal(snapshot_diff(a, b, NULL, NULL), 0);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		enum snapshot_result ra = look(a, keys[i], ta, sizeof(ta));
		enum snapshot_result rb = look(b, keys[i], tb, sizeof(tb));

		if (ra != rb || strcmp(ta, tb) != 0)
			fprintf(stderr, "key %s: %d \"%s\" became %d \"%s\"\n",
			    keys[i], ra, ta, rb, tb);
		assert_int_equal(ra, rb);
		assert_string_equal(ta, tb);
	}
	/* a conflict and an invalid row are still what they were */
	assert_int_equal(look(b, "dup.example", tb, sizeof(tb)),
	    SNAPSHOT_CONFLICT);
	assert_int_equal(look(b, "bad.example", tb, sizeof(tb)),
	    SNAPSHOT_INVALID);
	assert_int_equal(look(b, "a.wild.example", tb, sizeof(tb)),
	    SNAPSHOT_INVALID);
	/* the expiries, their order, targets and comments */
	assert_true(snapshot_next_expiry(b) == 1000.5);
	memset(&ea, 0, sizeof(ea));
	memset(&eb, 0, sizeof(eb));
	assert_int_equal(snapshot_expire(a, 5000, on_expired, &ea), 2);
	assert_int_equal(snapshot_expire(b, 5000, on_expired, &eb), 2);
	assert_string_equal(eb.seen,
	    "soon.example/ticket 42/1000.5;later.example/-/2000.0;");
	assert_string_equal(ea.seen, eb.seen);
	assert_int_equal(snapshot_diff(a, b, NULL, NULL), 0);
	snapshot_free(a);
	snapshot_free(b);
	free(buf.p);
}

static void
test_snapfile_empty_snapshot(void **state)
{
	struct snapshot *a = snapshot_new(0), *b = NULL;
	struct snapfile_meta m;
	struct policy_opts opts;
	struct buf buf;

	(void)state;
	policy_opts_init(&opts);
	encode(a, ID, &buf);
	assert_int_equal(snapfile_decode(buf.p, buf.len, ID, &opts, &m, &b,
	    NULL, 0),
	    SNAPFILE_OK);
	assert_int_equal(snapshot_rows(b), 0);
	snapshot_free(a);
	snapshot_free(b);
	free(buf.p);
}

/* Every refusal leaves *out NULL and frees what it built. */
static enum snapfile_status
decode_status(const unsigned char *p, size_t len, const char *id,
    char *detail, size_t sz)
{
	struct snapfile_meta m;
	struct snapshot *s = (struct snapshot *)1;
	struct policy_opts opts;
	enum snapfile_status st;

	policy_opts_init(&opts);
	st = snapfile_decode(p, len, id, &opts, &m, &s, detail, sz);

	if (st != SNAPFILE_OK)
		assert_null(s);
	snapshot_free(s);
	return st;
}

static void
test_snapfile_refusals(void **state)
{
	struct snapshot *a = sample();
	struct buf buf;
	unsigned char *c;
	char detail[200];
	size_t i;

	(void)state;
	encode(a, ID, &buf);
	c = malloc(buf.len + 1);
	assert_non_null(c);

	memcpy(c, buf.p, buf.len);
	c[0] = 'X';
	assert_int_equal(decode_status(c, buf.len, ID, NULL, 0),
	    SNAPFILE_ERR_MAGIC);
	memcpy(c, buf.p, buf.len);
	c[8] = 2;
	assert_int_equal(decode_status(c, buf.len, ID, detail,
	    sizeof(detail)), SNAPFILE_ERR_VERSION);
	assert_string_equal(detail, "version 2, this daemon reads 1");
	c[8] = 0;
	assert_int_equal(decode_status(c, buf.len, ID, NULL, 0),
	    SNAPFILE_ERR_FORMAT);
	assert_int_equal(decode_status(buf.p, buf.len,
	    "table=public.other\npostfix_compat=307\n", detail,
	    sizeof(detail)), SNAPFILE_ERR_IDENTITY);
	assert_string_equal(detail, "it has table=public.tls_policy, this "
	    "daemon table=public.other");
	assert_int_equal(decode_status(buf.p, buf.len,
	    "table=public.tls_policy\npostfix_compat=310\n", detail,
	    sizeof(detail)), SNAPFILE_ERR_IDENTITY);
	assert_string_equal(detail, "it has postfix_compat=307, this daemon "
	    "postfix_compat=310");
	/* one more byte at the end */
	memcpy(c, buf.p, buf.len);
	c[buf.len] = 0;
	assert_int_equal(decode_status(c, buf.len + 1, ID, NULL, 0),
	    SNAPFILE_ERR_FORMAT);

	/* cut anywhere: truncated (or, in the magic, not ours) */
	for (i = 0; i < buf.len; i++) {
		enum snapfile_status st = decode_status(buf.p, i, ID, NULL, 0);

		if (st != SNAPFILE_ERR_TRUNCATED)
			fprintf(stderr, "cut at %zu: status %d\n", i, st);
		assert_int_equal(st, SNAPFILE_ERR_TRUNCATED);
	}
	/* any byte changed: refused, whatever the byte */
	for (i = 0; i < buf.len; i++) {
		memcpy(c, buf.p, buf.len);
		c[i] ^= 0x01;
		if (decode_status(c, buf.len, ID, NULL, 0) == SNAPFILE_OK)
			fail_msg("a flipped bit at byte %zu went unnoticed", i);
		c[i] ^= 0xff;
		if (decode_status(c, buf.len, ID, NULL, 0) == SNAPFILE_OK)
			fail_msg("a flipped byte at %zu went unnoticed", i);
	}
	/* the middle of the rows: the checksum says so */
	memcpy(c, buf.p, buf.len);
	c[buf.len / 2] ^= 0xff;
	assert_int_equal(decode_status(c, buf.len, ID, NULL, 0),
	    SNAPFILE_ERR_CHECKSUM);
	assert_string_equal(snapfile_status_name(SNAPFILE_ERR_CHECKSUM),
	    "checksum mismatch");
	free(c);
	free(buf.p);
	snapshot_free(a);
}

/* A file of one row, stored as given: what a forger could write. */
static enum snapfile_status
forged(const char *key, const char *target, const char *text,
    const struct policy_opts *opts, char *detail, size_t sz)
{
	struct snapshot *a = snapshot_new(1), *b = (struct snapshot *)1;
	struct snapshot_stored r;
	struct snapfile_meta m;
	struct buf buf;
	enum snapfile_status st;

	memset(&r, 0, sizeof(r));
	r.key = key;
	r.keylen = strlen(key);
	r.target = target;
	r.targetlen = strlen(target);
	r.text = text;
	r.textlen = strlen(text);
	r.expires = INFINITY;
	assert_true(snapshot_add_stored(a, &r));
	encode(a, ID, &buf);
	st = snapfile_decode(buf.p, buf.len, ID, opts, &m, &b, detail, sz);
	if (st != SNAPFILE_OK)
		assert_null(b);
	snapshot_free(a);
	snapshot_free(b);
	free(buf.p);
	return st;
}

static void
test_snapfile_forged_rows(void **state)
{
	static const char *const bad[] = {
		"bogus",		/* not a level */
		"SECURE",		/* parses, to another text */
		"secure  match=nexthop",	/* two spaces */
		"none match=nexthop",	/* none drops its attributes */
		"encrypt protocols=!SSLv2,!SSLv3",	/* corrected */
		"secure foo=bar",	/* no such attribute */
		"may ",
		"encrypt tafile=/etc/x",	/* no such attribute there */
	};
	struct policy_opts opts, sha1;
	struct policy_result r;
	char detail[200];
	size_t i;

	(void)state;
	policy_opts_init(&opts);
	/* what the table would have stored is taken */
	assert_int_equal(forged("ok.example", "ok.example", "secure", &opts,
	    detail, sizeof(detail)), SNAPFILE_OK);
	assert_int_equal(forged("ok.example", "OK.Example.", "secure "
	    "match=nexthop:dot-nexthop", &opts, detail, sizeof(detail)),
	    SNAPFILE_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (forged("ok.example", "ok.example", bad[i], &opts, detail,
		    sizeof(detail)) != SNAPFILE_ERR_FORMAT)
			fail_msg("\"%s\" was taken", bad[i]);
		assert_string_equal(detail, "row 1: a policy that is not one "
		    "this daemon would serve");
	}
	/* a valid row under another key than its target's */
	assert_int_equal(forged("gmail.com", "example.org", "none", &opts,
	    detail, sizeof(detail)), SNAPFILE_ERR_FORMAT);
	assert_string_equal(detail, "row 1: a valid row whose target is not "
	    "its key");
	/* valid for one fingerprint_digest, not for the one configured */
	assert_int_equal(policy_parse(&opts, "fingerprint", "match="
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", &r), POLICY_OK);
	assert_int_equal(forged("fp.example", "fp.example", r.text, &opts,
	    detail, sizeof(detail)), SNAPFILE_OK);
	sha1 = opts;
	sha1.fingerprint_len = 20;
	assert_int_equal(forged("fp.example", "fp.example", r.text, &sha1,
	    detail, sizeof(detail)), SNAPFILE_ERR_FORMAT);
	/* an invalid row's reason is not a policy: kept as it is */
	{
		struct snapshot *a = snapshot_new(1), *b = NULL;
		struct snapshot_stored st;
		struct snapfile_meta m;
		struct buf buf;

		memset(&st, 0, sizeof(st));
		st.key = st.target = "bad.example";
		st.keylen = st.targetlen = strlen(st.key);
		st.text = "invalid policy for bad.example: bogus";
		st.textlen = strlen(st.text);
		st.invalid = true;
		st.expires = INFINITY;
		assert_true(snapshot_add_stored(a, &st));
		encode(a, ID, &buf);
		assert_int_equal(snapfile_decode(buf.p, buf.len, ID, &opts,
		    &m, &b, NULL, 0), SNAPFILE_OK);
		snapshot_free(a);
		snapshot_free(b);
		free(buf.p);
	}
}

static void
test_snapfile_sink_failure(void **state)
{
	struct snapshot *a = sample();
	struct snapfile_meta m = {1, 2, 0};
	struct buf buf;
	char id[SNAPFILE_MAX_IDENTITY + 2];

	(void)state;
	memset(&buf, 0, sizeof(buf));
	buf.fail_after = 0;
	assert_int_equal(snapfile_encode(a, ID, &m, to_buf, &buf), -1);
	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	buf.fail_after = -1;
	assert_int_equal(snapfile_encode(a, id, &m, to_buf, &buf), -1);
	assert_int_equal(buf.len, 0);
	free(buf.p);
	snapshot_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapfile_crc32c),
		cmocka_unit_test(test_snapfile_round_trip),
		cmocka_unit_test(test_snapfile_empty_snapshot),
		cmocka_unit_test(test_snapfile_refusals),
		cmocka_unit_test(test_snapfile_forged_rows),
		cmocka_unit_test(test_snapfile_sink_failure),
	};

	return cmocka_run_group_tests_name("snapfile", tests, NULL, NULL);
}
