/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapfile - the state file's bytes.
 *
 * Layout, integers little-endian:
 *
 *   0  "TLSPSNAP"            magic
 *   8  u32 version           SNAPFILE_VERSION
 *  12  u32 identity length   at most SNAPFILE_MAX_IDENTITY
 *  16  u64 file length       every byte, the checksum included
 *  24  i64 saved             epoch seconds the rows were last current
 *  32  i64 generation
 *  40  u64 rows
 *  48  identity              "table=...\ncolumn_target=...\n..."
 *      rows, each:  u8 flags (1 invalid, 2 target differs from key,
 *                   4 expires, 8 comment), u16 key length, key,
 *                   [u16 length, target], u16 length, text,
 *                   [u64 IEEE-754 bits of expires], [u16 length, comment]
 *  end u32 CRC-32C of every byte before it
 *
 * What is stored is what the snapshot answers with, not the table's
 * columns: a row comes back answering exactly as it did (its canonical
 * policy, its reason if invalid, conflicts as the same rows twice).  The
 * identity therefore names everything that shaped those answers
 * (statefile.c builds it); a file with another one is refused, and so is
 * one of another version: there is no upgrade path, the next load from
 * the database replaces a refused file anyway.
 *
 * The checksum stops accidents, not forgery, and the identity is made of
 * configuration values anyone may read: so a valid row is taken only if
 * it is what snapshot_add_row() would store for it today, its target
 * spelling its key and its text parsed again with the daemon's policy
 * options giving the same text byte for byte, without a warning
 * (check_valid()).  Who may write the file is statefile.c's check.
 *
 * The encoder makes two passes over the rows, the first only counting,
 * so the header can carry the length: a truncated file is told from a
 * corrupt one.  Decoding checks, in order, the magic, the version, the
 * length, the checksum, the identity, then every row as check_valid()
 * and snapshot_add_stored() do; each failure is one status.
 *
 * Invariants: a decoded snapshot is handed out only whole; nothing is
 * read past len; no allocation is sized by the file before the checksum
 * held, and then by at most len.
 * Limits: SNAPFILE_MAX_IDENTITY, SNAPSHOT_MAX_STORED, SNAPSHOT_MAX_COMMENT,
 * TARGET_MAX_LEN, POLICY_MAX_TEXT.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "snapfile.h"
#include "target.h"

#define HEADER 48
#define TRAILER 4
#define MAGIC_LEN 8
#define MIN_ROW 7		/* flags, and two empty lengths */

enum {
	F_INVALID = 1,
	F_TARGET = 2,
	F_EXPIRES = 4,
	F_COMMENT = 8,
	F_ALL = 15,
};

/* CRC-32C, reflected polynomial 0x82f63b78 (RFC 3720, appendix B.4). */
static const uint32_t crc_table[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4,
	0xc79a971f, 0x35f1141c, 0x26a1e7e8, 0xd4ca64eb,
	0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24,
	0x105ec76f, 0xe235446c, 0xf165b798, 0x030e349b,
	0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54,
	0x5d1d08bf, 0xaf768bbc, 0xbc267848, 0x4e4dfb4b,
	0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35,
	0xaa64d611, 0x580f5512, 0x4b5fa6e6, 0xb93425e5,
	0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45,
	0xf779deae, 0x05125dad, 0x1642ae59, 0xe4292d5a,
	0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595,
	0x417b1dbc, 0xb3109ebf, 0xa0406d4b, 0x522bee48,
	0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687,
	0x0c38d26c, 0xfe53516f, 0xed03a29b, 0x1f682198,
	0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38,
	0xdbfc821c, 0x2997011f, 0x3ac7f2eb, 0xc8ac71e8,
	0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096,
	0xa65c047d, 0x5437877e, 0x4767748a, 0xb50cf789,
	0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46,
	0x7198540d, 0x83f3d70e, 0x90a324fa, 0x62c8a7f9,
	0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36,
	0x3cdb9bdd, 0xceb018de, 0xdde0eb2a, 0x2f8b6829,
	0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93,
	0x082f63b7, 0xfa44e0b4, 0xe9141340, 0x1b7f9043,
	0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3,
	0x55326b08, 0xa759e80b, 0xb4091bff, 0x466298fc,
	0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033,
	0xa24bb5a6, 0x502036a5, 0x4370c551, 0xb11b4652,
	0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d,
	0xef087a76, 0x1d63f975, 0x0e330a81, 0xfc588982,
	0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622,
	0x38cc2a06, 0xcaa7a905, 0xd9f75af1, 0x2b9cd9f2,
	0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530,
	0x0417b1db, 0xf67c32d8, 0xe52cc12c, 0x1747422f,
	0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0,
	0xd3d3e1ab, 0x21b862a8, 0x32e8915c, 0xc083125f,
	0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90,
	0x9e902e7b, 0x6cfbad78, 0x7fab5e8c, 0x8dc0dd8f,
	0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1,
	0x69e9f0d5, 0x9b8273d6, 0x88d28022, 0x7ab90321,
	0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81,
	0x34f4f86a, 0xc69f7b69, 0xd5cf889d, 0x27a40b9e,
	0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t
snapfile_crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	crc = ~crc;
	while (n-- > 0)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *
snapfile_status_name(enum snapfile_status st)
{
	switch (st) {
	case SNAPFILE_OK:
		return "ok";
	case SNAPFILE_ERR_MAGIC:
		return "not a tlspolicyd state file (bad magic)";
	case SNAPFILE_ERR_VERSION:
		return "unknown format version";
	case SNAPFILE_ERR_TRUNCATED:
		return "truncated";
	case SNAPFILE_ERR_CHECKSUM:
		return "checksum mismatch";
	case SNAPFILE_ERR_IDENTITY:
		return "saved for another source";
	case SNAPFILE_ERR_FORMAT:
		return "malformed";
	}
	return "?";
}

/* --- encoding */

struct enc {
	snapfile_sink *sink;
	void *arg;
	bool counting;		/* first pass: only count */
	bool failed;
	uint64_t bytes;
	uint64_t rows;
	uint32_t crc;
	size_t n;
	unsigned char buf[SNAPFILE_CHUNK];
};

static void
drain(struct enc *e)
{
	if (e->n > 0 && !e->failed) {
		e->crc = snapfile_crc32c(e->crc, e->buf, e->n);
		if (e->sink(e->arg, e->buf, e->n) < 0)
			e->failed = true;
	}
	e->n = 0;
}

static void
put(struct enc *e, const void *p, size_t n)
{
	const unsigned char *b = p;

	e->bytes += n;
	if (e->counting || e->failed)
		return;
	while (n > 0) {
		size_t k = sizeof(e->buf) - e->n;

		if (k > n)
			k = n;
		memcpy(e->buf + e->n, b, k);
		e->n += k;
		b += k;
		n -= k;
		if (e->n == sizeof(e->buf))
			drain(e);
	}
}

static void
put_u(struct enc *e, uint64_t v, size_t size)
{
	unsigned char b[8];
	size_t i;

	for (i = 0; i < size; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(e, b, size);
}

static void
put_str(struct enc *e, const char *s, size_t n)
{
	put_u(e, n, 2);
	put(e, s, n);
}

static void
put_row(void *arg, const struct snapshot_stored *r)
{
	struct enc *e = arg;
	unsigned flags = 0;
	uint64_t bits;
	bool target = r->targetlen != r->keylen ||
	    memcmp(r->target, r->key, r->keylen) != 0;
	bool expires = !(isinf(r->expires) && r->expires > 0);

	flags |= r->invalid ? F_INVALID : 0;
	flags |= target ? F_TARGET : 0;
	flags |= expires ? F_EXPIRES : 0;
	flags |= expires && r->comment != NULL ? F_COMMENT : 0;
	put_u(e, flags, 1);
	put_str(e, r->key, r->keylen);
	if (target)
		put_str(e, r->target, r->targetlen);
	put_str(e, r->text, r->textlen);
	if (expires) {
		memcpy(&bits, &r->expires, sizeof(bits));
		put_u(e, bits, 8);
	}
	if (flags & F_COMMENT)
		put_str(e, r->comment, strlen(r->comment));
	e->rows++;
}

int
snapfile_encode(const struct snapshot *s, const char *identity,
    const struct snapfile_meta *meta, snapfile_sink *sink, void *arg)
{
	/* static storage would be a global; a 64 KiB frame is cheap here */
	struct enc e;
	size_t idlen = strlen(identity);
	uint64_t total;
	unsigned char crc[4];

	if (idlen > SNAPFILE_MAX_IDENTITY)
		return -1;
	memset(&e, 0, offsetof(struct enc, buf));
	e.sink = sink;
	e.arg = arg;
	e.counting = true;
	snapshot_each_row(s, put_row, &e);
	total = HEADER + idlen + e.bytes + TRAILER;

	e.counting = false;
	e.bytes = 0;
	e.rows = 0;
	put(&e, SNAPFILE_MAGIC, MAGIC_LEN);
	put_u(&e, SNAPFILE_VERSION, 4);
	put_u(&e, idlen, 4);
	put_u(&e, total, 8);
	put_u(&e, (uint64_t)meta->saved, 8);
	put_u(&e, (uint64_t)meta->generation, 8);
	put_u(&e, snapshot_rows(s), 8);
	put(&e, identity, idlen);
	snapshot_each_row(s, put_row, &e);
	drain(&e);
	if (e.failed || e.bytes + TRAILER != total)
		return -1;
	crc[0] = (unsigned char)e.crc;
	crc[1] = (unsigned char)(e.crc >> 8);
	crc[2] = (unsigned char)(e.crc >> 16);
	crc[3] = (unsigned char)(e.crc >> 24);
	return sink(arg, crc, sizeof(crc));
}

/* --- decoding */

struct dec {
	const unsigned char *p;
	size_t left;
};

static uint64_t
get_u(const unsigned char *p, size_t size)
{
	uint64_t v = 0;

	while (size-- > 0)
		v = v << 8 | p[size];
	return v;
}

static bool
take(struct dec *d, size_t n, const unsigned char **out)
{
	if (d->left < n)
		return false;
	*out = d->p;
	d->p += n;
	d->left -= n;
	return true;
}

static bool
take_u(struct dec *d, size_t size, uint64_t *v)
{
	const unsigned char *p;

	if (!take(d, size, &p))
		return false;
	*v = get_u(p, size);
	return true;
}

static bool
take_str(struct dec *d, const char **s, size_t *n)
{
	uint64_t len;
	const unsigned char *p;

	if (!take_u(d, 2, &len) || !take(d, (size_t)len, &p))
		return false;
	*s = (const char *)p;
	*n = (size_t)len;
	return true;
}

/*
 * A valid row is what snapshot_add_row() would have stored for it today:
 * its target is its key's spelling, and its text, parsed again with the
 * daemon's policy options, is itself byte for byte and warns of nothing.
 * A static reason, or NULL.
 */
static const char *
check_valid(const struct policy_opts *opts, const struct snapshot_stored *r)
{
	struct policy_result res;
	struct target key;
	char text[POLICY_MAX_TEXT + 1];
	const char *sp;

	if (r->targetlen > TARGET_MAX_LEN ||
	    target_canon(r->target, r->targetlen, &key) != TARGET_OK ||
	    key.len != r->keylen || memcmp(key.canon, r->key, key.len) != 0)
		return "a valid row whose target is not its key";
	if (r->textlen == 0 || r->textlen > POLICY_MAX_TEXT ||
	    memchr(r->text, '\0', r->textlen) != NULL)
		return "a policy of a bad length or with a NUL";
	memcpy(text, r->text, r->textlen);
	text[r->textlen] = '\0';
	/* "<level>[ <name>=<value>]...": the level, then the attributes */
	sp = strchr(text, ' ');
	if (sp != NULL)
		text[sp - text] = '\0';
	if (policy_parse(opts, text, sp != NULL ? sp + 1 : NULL, &res) !=
	    POLICY_OK || res.warned || strlen(res.text) != r->textlen ||
	    memcmp(res.text, r->text, r->textlen) != 0)
		return "a policy that is not one this daemon would serve";
	return NULL;
}

/* One row into s; a static reason on failure. */
static const char *
take_row(struct dec *d, const struct policy_opts *opts, struct snapshot *s)
{
	struct snapshot_stored r;
	char comment[SNAPSHOT_MAX_COMMENT + 1];
	const char *c, *why;
	uint64_t flags, bits;
	size_t clen;

	memset(&r, 0, sizeof(r));
	r.expires = INFINITY;
	if (!take_u(d, 1, &flags) || !take_str(d, &r.key, &r.keylen))
		return "runs past the end";
	if ((flags & ~(uint64_t)F_ALL) != 0 ||
	    ((flags & F_COMMENT) && !(flags & F_EXPIRES)))
		return "unknown flags";
	r.invalid = (flags & F_INVALID) != 0;
	r.target = r.key;
	r.targetlen = r.keylen;
	if ((flags & F_TARGET) && !take_str(d, &r.target, &r.targetlen))
		return "runs past the end";
	if (!take_str(d, &r.text, &r.textlen))
		return "runs past the end";
	if (flags & F_EXPIRES) {
		if (!take_u(d, 8, &bits))
			return "runs past the end";
		memcpy(&r.expires, &bits, sizeof(bits));
		if (isinf(r.expires) && r.expires > 0)
			return "an expiry of never";
	}
	if (flags & F_COMMENT) {
		if (!take_str(d, &c, &clen))
			return "runs past the end";
		if (clen > SNAPSHOT_MAX_COMMENT || memchr(c, '\0', clen))
			return "a comment too long or with a NUL";
		memcpy(comment, c, clen);
		comment[clen] = '\0';
		r.comment = comment;
	}
	if (!r.invalid && (why = check_valid(opts, &r)) != NULL)
		return why;
	if (!snapshot_add_stored(s, &r))
		return "a row the table could not hold (key not canonical, "
		    "bad text or lengths)";
	return NULL;
}

/*
 * The first line of the file's identity that ours lacks, and ours in its
 * place, for the message.
 */
static void
identity_detail(const char *theirs, size_t tlen, const char *ours,
    char *detail, size_t sz)
{
	size_t at = 0, olen = strlen(ours);

	while (at < tlen) {
		const char *nl = memchr(theirs + at, '\n', tlen - at);
		size_t n = nl != NULL ? (size_t)(nl - (theirs + at)) : tlen - at;
		const char *eq, *o;
		size_t kl;

		eq = memchr(theirs + at, '=', n);
		kl = eq != NULL ? (size_t)(eq - (theirs + at)) + 1 : n;
		/* the same key's line in ours */
		for (o = ours; o < ours + olen; o += strcspn(o, "\n") + 1)
			if (strncmp(o, theirs + at, kl) == 0)
				break;
		if (o >= ours + olen || strcspn(o, "\n") != n ||
		    memcmp(o, theirs + at, n) != 0) {
			if (o < ours + olen)
				snprintf(detail, sz, "it has %.*s, this daemon "
				    "%.*s", (int)(n > 200 ? 200 : n),
				    theirs + at, (int)strcspn(o, "\n"), o);
			else
				snprintf(detail, sz, "it has %.*s, this daemon "
				    "no such setting", (int)(n > 200 ? 200 : n),
				    theirs + at);
			for (; *detail != '\0'; detail++)
				if (*detail < 0x20 || *detail > 0x7e)
					*detail = '?';
			return;
		}
		at += n + 1;
	}
	snprintf(detail, sz, "its identity differs");
}

enum snapfile_status
snapfile_decode(const void *buf, size_t len, const char *identity,
    const struct policy_opts *opts, struct snapfile_meta *meta,
    struct snapshot **out, char *detail, size_t detailsz)
{
	const unsigned char *b = buf;
	char dummy[1];
	uint64_t version, idlen, total, rows, i, hint;
	uint32_t crc;
	struct dec d;
	struct snapshot *s;
	const char *why;

	*out = NULL;
	memset(meta, 0, sizeof(*meta));
	if (detail == NULL) {
		detail = dummy;
		detailsz = sizeof(dummy);
	}
	detail[0] = '\0';
	if (memcmp(b, SNAPFILE_MAGIC, len < MAGIC_LEN ? len : MAGIC_LEN) != 0)
		return SNAPFILE_ERR_MAGIC;
	if (len < HEADER + TRAILER) {
		snprintf(detail, detailsz, "%zu bytes, not even a header",
		    len);
		return SNAPFILE_ERR_TRUNCATED;
	}
	version = get_u(b + 8, 4);
	if (version != SNAPFILE_VERSION) {
		snprintf(detail, detailsz, "version %llu, this daemon reads %d",
		    (unsigned long long)version, SNAPFILE_VERSION);
		return version > SNAPFILE_VERSION ? SNAPFILE_ERR_VERSION :
		    SNAPFILE_ERR_FORMAT;
	}
	total = get_u(b + 16, 8);
	if (len < total) {
		snprintf(detail, detailsz, "%zu of %llu bytes", len,
		    (unsigned long long)total);
		return SNAPFILE_ERR_TRUNCATED;
	}
	if (len > total || total < HEADER + TRAILER) {
		snprintf(detail, detailsz, "%zu bytes, the header says %llu",
		    len, (unsigned long long)total);
		return SNAPFILE_ERR_FORMAT;
	}
	crc = (uint32_t)get_u(b + len - TRAILER, 4);
	if (snapfile_crc32c(0, b, len - TRAILER) != crc)
		return SNAPFILE_ERR_CHECKSUM;

	idlen = get_u(b + 12, 4);
	if (idlen > SNAPFILE_MAX_IDENTITY || idlen > len - HEADER - TRAILER) {
		snprintf(detail, detailsz, "an identity of %llu bytes",
		    (unsigned long long)idlen);
		return SNAPFILE_ERR_FORMAT;
	}
	if (idlen != strlen(identity) ||
	    memcmp(b + HEADER, identity, (size_t)idlen) != 0) {
		identity_detail((const char *)b + HEADER, (size_t)idlen,
		    identity, detail, detailsz);
		return SNAPFILE_ERR_IDENTITY;
	}
	rows = get_u(b + 40, 8);
	d.p = b + HEADER + idlen;
	d.left = len - HEADER - (size_t)idlen - TRAILER;
	/* the rows claimed cannot size anything the bytes do not back */
	hint = rows < d.left / MIN_ROW ? rows : d.left / MIN_ROW;
	s = snapshot_new((size_t)hint);
	for (i = 0; i < rows; i++) {
		if ((why = take_row(&d, opts, s)) != NULL) {
			snprintf(detail, detailsz, "row %llu: %s",
			    (unsigned long long)i + 1, why);
			snapshot_free(s);
			return SNAPFILE_ERR_FORMAT;
		}
	}
	if (d.left != 0) {
		snprintf(detail, detailsz, "%zu bytes after the last of %llu "
		    "rows", d.left, (unsigned long long)rows);
		snapshot_free(s);
		return SNAPFILE_ERR_FORMAT;
	}
	meta->saved = (int64_t)get_u(b + 24, 8);
	meta->generation = (int64_t)get_u(b + 32, 8);
	meta->rows = rows;
	*out = s;
	return SNAPFILE_OK;
}
