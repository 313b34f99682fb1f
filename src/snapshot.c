/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapshot - canonical key -> policy, in memory.
 *
 * A chained hash table of rows.  Each row is one arena allocation holding
 * its canonical key, its target as the table spells it (omitted when the
 * two are equal, the common case) and the text it answers with.
 *
 * Rows that expire are also in a binary min-heap on their expiry, which
 * is all snapshot_expire() and snapshot_next_expiry() look at.  A row
 * removed by snapshot_remove_target() stays in the heap, flagged, until
 * it reaches the top: its memory lives as long as the arena does.
 *
 * Invariants: only active rows with a usable target are stored (a target
 * "*.X" is stored as invalid under ".X", see row_key()); a stored text is
 * printable ASCII (policy_parse() guarantees it for policies, the reply
 * formatter for reasons); lookups never modify the table; every stored
 * row with an expiry has exactly one heap entry, and is flagged so.
 * snapshot_each_row() and snapshot_add_stored() carry a snapshot through
 * the state file (snapfile.c) row for row, the same invariants checked on
 * the way in.
 * Limits: TARGET_MAX_LEN per key, POLICY_MAX_TEXT per text,
 * SNAPSHOT_MAX_COMMENT per comment.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"
#include "xalloc.h"

#define ARENA_CHUNK (1024 * 1024)

enum {
	ROW_VALID = 0,
	ROW_INVALID = 1,
	ROW_RAW_SAME = 2,	/* the target column equals the key */
	ROW_REMOVED = 4,	/* no longer in the table (heap entries) */
	ROW_EXPIRES = 8,	/* has a heap entry */
};
/* A valid row's level (enum policy_level) in flags, for the counts. */
#define ROW_LEVEL_SHIFT 4

struct row {
	struct row *next;	/* hash chain */
	uint32_t hash;
	uint16_t keylen;
	uint16_t rawlen;
	uint16_t textlen;
	uint8_t flags;
	char data[];		/* key NUL [raw NUL] text NUL */
};

struct chunk {
	struct chunk *next;
	size_t used;
	size_t size;
	char mem[];
};

/* A row that expires, in the heap. */
struct expiry {
	double at;
	struct row *row;
	const char *comment;	/* in the arena, or NULL */
};

struct snapshot {
	struct row **buckets;
	size_t mask;		/* buckets - 1, a power of two minus one */
	size_t rows;
	struct snapshot_counts counts;	/* kept by count() */
	struct chunk *chunks;
	size_t bytes;
	size_t waste;
	struct expiry *heap;	/* min-heap on at */
	size_t nheap;
	size_t heap_cap;
};

static uint32_t
hash_key(const char *s, size_t n)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static void *
arena_alloc(struct snapshot *s, size_t n)
{
	struct chunk *c = s->chunks;

	n = (n + 7) & ~(size_t)7;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = xmalloc(sizeof(*c) + size);
		c->next = s->chunks;
		c->used = 0;
		c->size = size;
		s->chunks = c;
	}
	c->used += n;
	s->bytes += n;
	return c->mem + c->used - n;
}

static size_t
row_size(const struct row *r)
{
	size_t n = sizeof(*r) + r->keylen + 1 + r->textlen + 1;

	if (!(r->flags & ROW_RAW_SAME))
		n += r->rawlen + 1;
	return (n + 7) & ~(size_t)7;
}

static const char *
row_raw(const struct row *r)
{
	return (r->flags & ROW_RAW_SAME) ? r->data : r->data + r->keylen + 1;
}

static const char *
row_text(const struct row *r)
{
	return row_raw(r) + (r->flags & ROW_RAW_SAME ? r->keylen : r->rawlen) +
	    1;
}

static size_t
pow2_at_least(size_t n)
{
	size_t p = 64;

	while (p < n)
		p <<= 1;
	return p;
}

struct snapshot *
snapshot_new(size_t hint)
{
	struct snapshot *s = xcalloc(1, sizeof(*s));
	size_t nb = pow2_at_least(hint + hint / 4);

	s->buckets = xcalloc(nb, sizeof(*s->buckets));
	s->mask = nb - 1;
	return s;
}

void
snapshot_free(struct snapshot *s)
{
	struct chunk *c;

	if (s == NULL)
		return;
	while ((c = s->chunks) != NULL) {
		s->chunks = c->next;
		xfree(c);
	}
	xfree(s->buckets);
	xfree(s->heap);
	xfree(s);
}

size_t
snapshot_rows(const struct snapshot *s)
{
	return s->rows;
}

void
snapshot_counts(const struct snapshot *s, struct snapshot_counts *c)
{
	*c = s->counts;
	c->rows = s->rows;
}

size_t
snapshot_bytes(const struct snapshot *s)
{
	return s->bytes + (s->mask + 1) * sizeof(*s->buckets) +
	    s->heap_cap * sizeof(*s->heap);
}

size_t
snapshot_waste(const struct snapshot *s)
{
	return s->waste;
}

static void
grow(struct snapshot *s)
{
	size_t nb = (s->mask + 1) * 2;
	struct row **b = xcalloc(nb, sizeof(*b));
	size_t i;

	for (i = 0; i <= s->mask; i++) {
		struct row *r = s->buckets[i];

		while (r != NULL) {
			struct row *next = r->next;

			r->next = b[r->hash & (nb - 1)];
			b[r->hash & (nb - 1)] = r;
			r = next;
		}
	}
	xfree(s->buckets);
	s->buckets = b;
	s->mask = nb - 1;
}

/* The level a canonical policy text starts with. */
static enum policy_level
text_level(const char *text, size_t len)
{
	size_t n = 0;
	int l;

	while (n < len && text[n] != ' ')
		n++;
	for (l = 0; l < POLICY_LEVEL_COUNT; l++) {
		const char *name = policy_level_name((enum policy_level)l);

		if (strncmp(name, text, n) == 0 && name[n] == '\0')
			return (enum policy_level)l;
	}
	return POLICY_LEVEL_NONE;	/* not reached: texts are canonical */
}

/* Rows in r's chain with r's key, r included if linked. */
static size_t
same_key(const struct snapshot *s, const struct row *r)
{
	const struct row *q;
	size_t n = 0;

	for (q = s->buckets[r->hash & s->mask]; q != NULL; q = q->next)
		if (q->hash == r->hash && q->keylen == r->keylen &&
		    memcmp(q->data, r->data, r->keylen) == 0)
			n++;
	return n;
}

/*
 * Keep snapshot_counts() true: r was just linked (delta 1) or unlinked
 * (-1).  A key with two rows became, or stopped being, a conflict.
 */
static void
count(struct snapshot *s, const struct row *r, int delta)
{
	struct snapshot_counts *c = &s->counts;
	unsigned l = r->flags >> ROW_LEVEL_SHIFT;

	if (same_key(s, r) == (delta > 0 ? 2u : 1u))
		c->conflicts += (size_t)delta;
	if (r->flags & ROW_INVALID) {
		c->invalid += (size_t)delta;
		return;
	}
	c->valid[l] += (size_t)delta;
	if (!(r->flags & ROW_EXPIRES))
		c->lasting[l] += (size_t)delta;
}

static struct row *
insert(struct snapshot *s, const struct target *key, const char *raw,
    size_t rawlen, const char *text, size_t textlen, uint8_t flags)
{
	struct row *r;
	char *p;

	if (rawlen == key->len && memcmp(raw, key->canon, rawlen) == 0)
		flags |= ROW_RAW_SAME;
	r = arena_alloc(s, sizeof(*r) + key->len + 1 + textlen + 1 +
	    (flags & ROW_RAW_SAME ? 0 : rawlen + 1));
	r->hash = hash_key(key->canon, key->len);
	r->keylen = (uint16_t)key->len;
	r->rawlen = (uint16_t)rawlen;
	r->textlen = (uint16_t)textlen;
	r->flags = flags;
	p = r->data;
	memcpy(p, key->canon, key->len + 1);
	p += key->len + 1;
	if (!(flags & ROW_RAW_SAME)) {
		memcpy(p, raw, rawlen);
		p[rawlen] = '\0';
		p += rawlen + 1;
	}
	memcpy(p, text, textlen);
	p[textlen] = '\0';

	if (!(flags & ROW_INVALID))
		r->flags |= (uint8_t)(text_level(text, textlen) <<
		    ROW_LEVEL_SHIFT);
	if (s->rows >= s->mask + 1)
		grow(s);
	r->next = s->buckets[r->hash & s->mask];
	s->buckets[r->hash & s->mask] = r;
	s->rows++;
	count(s, r, 1);
	return r;
}

/* Whitespace around a target: a typo, never part of a destination. */
static size_t
trim_span(const char *s, size_t len, size_t *start)
{
	size_t a = 0;

	while (a < len && (s[a] == ' ' || s[a] == '\t' || s[a] == '\r' ||
	    s[a] == '\n'))
		a++;
	while (len > a && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
	    s[len - 1] == '\r' || s[len - 1] == '\n'))
		len--;
	*start = a;
	return len - a;
}

/*
 * The key a table target (already trimmed) is stored under: its canonical
 * form, or for "*.X" the ".X" the row was meant for (*wildcard set), so
 * that row answers TEMP for the names it was meant to cover instead of
 * silently matching none.  false: no key can ever match the target.
 */
static bool
row_key(const char *target, size_t n, struct target *key, bool *wildcard)
{
	*wildcard = false;
	if (target_canon(target, n, key) == TARGET_OK)
		return true;
	*wildcard = target_wildcard(target, n, key);
	return *wildcard;
}

/* Say what to write instead of "*.X": the corrected spelling comes first. */
static void
wildcard_problem(struct policy_result *res, const char *target, size_t n)
{
	size_t sz = sizeof(res->problem);

	if ((size_t)snprintf(res->problem, sz, "target \"%.*s\" is not a "
	    "Postfix pattern: write \"%.*s\"", (int)n, target, (int)n - 1,
	    target + 1) >= sz)
		snprintf(res->problem, sz, "a target \"*.\" is not a Postfix "
		    "pattern: write \"%.*s\"", (int)n - 1, target + 1);
}

/* snapshot_add_row(); *stored is the row stored, or NULL. */
static enum snapshot_row
add_row(struct snapshot *s, const struct policy_opts *opts,
    const char *target, const char *policy, const char *params, bool active,
    struct policy_result *res, struct row **stored)
{
	struct target key;
	enum snapshot_row outcome;
	char why[POLICY_MAX_PROBLEM + TARGET_MAX_LEN + 32];
	size_t tlen = strlen(target);
	size_t start, n = trim_span(target, tlen, &start);
	bool wildcard;

	*stored = NULL;
	if (policy_parse(opts, policy, params, res) == POLICY_OK)
		outcome = res->warned ? SNAPSHOT_ROW_WARNED : SNAPSHOT_ROW_VALID;
	else
		outcome = SNAPSHOT_ROW_INVALID;

	if (!row_key(target + start, n, &key, &wildcard)) {
		snprintf(res->problem, sizeof(res->problem),
		    "target can never match a lookup key (empty, over %d bytes, "
		    "'*', whitespace or not UTF-8)", TARGET_MAX_LEN);
		return SNAPSHOT_ROW_BAD_TARGET;
	}
	/*
	 * "example.com " is meant for example.com, "*.example.com" for
	 * .example.com: skipping the row would silently drop a strict
	 * override, so the names it was meant for answer TEMP instead.  The
	 * wildcard's correction also drops the whitespace.
	 */
	if (wildcard) {
		wildcard_problem(res, target + start, n);
		outcome = SNAPSHOT_ROW_INVALID;
	} else if (n != tlen) {
		snprintf(res->problem, sizeof(res->problem), "target has "
		    "whitespace around it; its key answers TEMP until fixed");
		outcome = SNAPSHOT_ROW_INVALID;
	}
	if (!active)
		return outcome;
	if (outcome == SNAPSHOT_ROW_INVALID) {
		int m = snprintf(why, sizeof(why), "invalid policy for %s: %s",
		    target, res->problem);

		*stored = insert(s, &key, target, tlen, why,
		    (size_t)m < sizeof(why) ? (size_t)m : sizeof(why) - 1,
		    ROW_INVALID);
	} else {
		*stored = insert(s, &key, target, tlen, res->text,
		    strlen(res->text), ROW_VALID);
	}
	return outcome;
}

enum snapshot_row
snapshot_add_row(struct snapshot *s, const struct policy_opts *opts,
    const char *target, const char *policy, const char *params, bool active,
    struct policy_result *res)
{
	struct row *r;

	return add_row(s, opts, target, policy, params, active, res, &r);
}

/* --- the expiry heap */

static void
heap_swap(struct expiry *h, size_t a, size_t b)
{
	struct expiry t = h[a];

	h[a] = h[b];
	h[b] = t;
}

static void
heap_push(struct snapshot *s, struct expiry e)
{
	size_t i = s->nheap++;

	if (s->nheap > s->heap_cap) {
		s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 16;
		s->heap = xreallocarray(s->heap, s->heap_cap,
		    sizeof(*s->heap));
	}
	s->heap[i] = e;
	while (i > 0 && s->heap[(i - 1) / 2].at > s->heap[i].at) {
		heap_swap(s->heap, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct expiry
heap_pop(struct snapshot *s)
{
	struct expiry top = s->heap[0];
	size_t i = 0;

	s->heap[0] = s->heap[--s->nheap];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < s->nheap && s->heap[l].at < s->heap[m].at)
			m = l;
		if (l + 1 < s->nheap && s->heap[l + 1].at < s->heap[m].at)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(s->heap, i, m);
		i = m;
	}
	return top;
}

static size_t
comment_size(const char *comment)
{
	return comment == NULL ? 0 : (strlen(comment) + 1 + 7) & ~(size_t)7;
}

/* Give row r its expiry, unless never (INFINITY). */
static void
add_expiry(struct snapshot *s, struct row *r, double expires,
    const char *comment, size_t n)
{
	struct expiry e = {expires, r, NULL};

	if (isinf(expires) && expires > 0)
		return;
	if (comment != NULL) {
		char *c = arena_alloc(s, n + 1);

		memcpy(c, comment, n);
		c[n] = '\0';
		e.comment = c;
	}
	r->flags |= ROW_EXPIRES;
	if (!(r->flags & ROW_INVALID))
		s->counts.lasting[r->flags >> ROW_LEVEL_SHIFT]--;
	heap_push(s, e);
}

enum snapshot_row
snapshot_add_row_until(struct snapshot *s, const struct policy_opts *opts,
    const char *target, const char *policy, const char *params, bool active,
    double expires, const char *comment, struct policy_result *res)
{
	struct row *r;
	enum snapshot_row outcome = add_row(s, opts, target, policy, params,
	    active, res, &r);

	if (r != NULL)
		add_expiry(s, r, expires, comment, comment == NULL ? 0 :
		    strnlen(comment, SNAPSHOT_MAX_COMMENT));
	return outcome;
}

void
snapshot_remove_target(struct snapshot *s, const char *raw_target)
{
	size_t start, n = trim_span(raw_target, strlen(raw_target), &start);
	struct target key;
	struct row **pp;
	uint32_t h;
	bool wildcard;

	if (!row_key(raw_target + start, n, &key, &wildcard))
		return;
	h = hash_key(key.canon, key.len);
	pp = &s->buckets[h & s->mask];
	while (*pp != NULL) {
		struct row *r = *pp;

		if (r->hash == h && r->keylen == key.len &&
		    memcmp(r->data, key.canon, key.len) == 0 &&
		    strcmp(row_raw(r), raw_target) == 0) {
			*pp = r->next;
			r->flags |= ROW_REMOVED;
			s->rows--;
			count(s, r, -1);
			s->waste += row_size(r);
		} else {
			pp = &r->next;
		}
	}
}

/* Drop heap entries of removed rows from the top. */
static void
heap_settle(struct snapshot *s)
{
	while (s->nheap > 0 && (s->heap[0].row->flags & ROW_REMOVED)) {
		struct expiry e = heap_pop(s);

		s->waste += comment_size(e.comment);
	}
}

double
snapshot_next_expiry(struct snapshot *s)
{
	heap_settle(s);
	return s->nheap > 0 ? s->heap[0].at : INFINITY;
}

size_t
snapshot_expire(struct snapshot *s, double now,
    void (*cb)(void *arg, const char *target, const char *comment,
    double expires), void *arg)
{
	size_t n = 0;

	for (heap_settle(s); s->nheap > 0 && s->heap[0].at <= now;
	    heap_settle(s)) {
		struct expiry e = heap_pop(s);
		struct row **pp = &s->buckets[e.row->hash & s->mask];

		while (*pp != e.row)
			pp = &(*pp)->next;
		*pp = e.row->next;
		e.row->flags |= ROW_REMOVED;
		s->rows--;
		count(s, e.row, -1);
		s->waste += row_size(e.row) + comment_size(e.comment);
		n++;
		if (cb != NULL)
			cb(arg, row_raw(e.row), e.comment, e.at);
	}
	return n;
}

/* Exact lookup of canon[0..len). */
static enum snapshot_result
lookup_one(const struct snapshot *s, const char *canon, size_t len,
    const struct row **found)
{
	uint32_t h = hash_key(canon, len);
	const struct row *r;

	*found = NULL;
	for (r = s->buckets[h & s->mask]; r != NULL; r = r->next) {
		if (r->hash != h || r->keylen != len ||
		    memcmp(r->data, canon, len) != 0)
			continue;
		if (*found != NULL)
			return SNAPSHOT_CONFLICT;
		*found = r;
	}
	if (*found == NULL)
		return SNAPSHOT_NONE;
	return ((*found)->flags & ROW_INVALID) ? SNAPSHOT_INVALID :
	    SNAPSHOT_FOUND;
}

enum snapshot_result
snapshot_lookup(const struct snapshot *s, const struct target *key, bool walk,
    const char **text, size_t *len)
{
	size_t off = 0;
	const struct row *r;
	enum snapshot_result res;

	do {
		res = lookup_one(s, key->canon + off, key->len - off, &r);
		switch (res) {
		case SNAPSHOT_NONE:
			break;
		case SNAPSHOT_CONFLICT:
			*text = r->data;
			*len = r->keylen;
			return res;
		case SNAPSHOT_FOUND:
		case SNAPSHOT_INVALID:
			*text = row_text(r);
			*len = r->textlen;
			return res;
		}
	} while (walk && target_parent(key->canon, key->len, &off));
	*text = "";
	*len = 0;
	return SNAPSHOT_NONE;
}

void
snapshot_conflicts(const struct snapshot *s,
    void (*cb)(void *arg, const char *key, const char *target_a,
    const char *target_b), void *arg)
{
	size_t i;

	for (i = 0; i <= s->mask; i++) {
		const struct row *a, *b;

		for (a = s->buckets[i]; a != NULL; a = a->next)
			for (b = a->next; b != NULL; b = b->next)
				if (a->hash == b->hash &&
				    a->keylen == b->keylen &&
				    memcmp(a->data, b->data, a->keylen) == 0)
					cb(arg, a->data, row_raw(a),
					    row_raw(b));
	}
}

/* The first row of r's key in its chain: conflicts are counted once. */
static bool
first_of_key(const struct snapshot *s, const struct row *r)
{
	const struct row *q;

	for (q = s->buckets[r->hash & s->mask]; q != r; q = q->next)
		if (q->hash == r->hash && q->keylen == r->keylen &&
		    memcmp(q->data, r->data, r->keylen) == 0)
			return false;
	return true;
}

/* Does r's key answer the same in a and b (exact, no walk)? */
static bool
same_answer(const struct snapshot *a, const struct snapshot *b,
    const struct row *r)
{
	const struct row *ra, *rb;
	enum snapshot_result x = lookup_one(a, r->data, r->keylen, &ra);
	enum snapshot_result y = lookup_one(b, r->data, r->keylen, &rb);

	if (x != y)
		return false;
	if (x == SNAPSHOT_NONE || x == SNAPSHOT_CONFLICT)
		return true;
	return ra->textlen == rb->textlen &&
	    memcmp(row_text(ra), row_text(rb), ra->textlen) == 0;
}

size_t
snapshot_diff(const struct snapshot *a, const struct snapshot *b,
    void (*cb)(void *arg, const char *key), void *arg)
{
	const struct row *r;
	size_t i, n = 0;

	for (i = 0; i <= a->mask; i++)
		for (r = a->buckets[i]; r != NULL; r = r->next)
			if (first_of_key(a, r) && !same_answer(a, b, r)) {
				n++;
				if (cb != NULL)
					cb(arg, r->data);
			}
	/* keys only b has; keys in both were compared above */
	for (i = 0; i <= b->mask; i++)
		for (r = b->buckets[i]; r != NULL; r = r->next) {
			const struct row *ra;

			if (first_of_key(b, r) && lookup_one(a, r->data,
			    r->keylen, &ra) == SNAPSHOT_NONE) {
				n++;
				if (cb != NULL)
					cb(arg, r->data);
			}
		}
	return n;
}

/* --- rows out and back in (the state file) */

static void
stored_of(const struct row *r, struct snapshot_stored *out)
{
	out->key = r->data;
	out->keylen = r->keylen;
	out->target = row_raw(r);
	out->targetlen = r->flags & ROW_RAW_SAME ? r->keylen : r->rawlen;
	out->text = row_text(r);
	out->textlen = r->textlen;
	out->invalid = (r->flags & ROW_INVALID) != 0;
	out->expires = INFINITY;
	out->comment = NULL;
}

size_t
snapshot_each_row(const struct snapshot *s,
    void (*cb)(void *arg, const struct snapshot_stored *row), void *arg)
{
	struct snapshot_stored st;
	const struct row *r;
	size_t i, n = 0;

	/* rows without an expiry from the table, the others from the heap */
	for (i = 0; i <= s->mask; i++)
		for (r = s->buckets[i]; r != NULL; r = r->next)
			if (!(r->flags & ROW_EXPIRES)) {
				stored_of(r, &st);
				cb(arg, &st);
				n++;
			}
	for (i = 0; i < s->nheap; i++) {
		if (s->heap[i].row->flags & ROW_REMOVED)
			continue;
		stored_of(s->heap[i].row, &st);
		st.expires = s->heap[i].at;
		st.comment = s->heap[i].comment;
		cb(arg, &st);
		n++;
	}
	return n;
}

static bool
printable_ascii(const char *p, size_t n)
{
	while (n-- > 0) {
		if (*p < 0x20 || *p > 0x7e)
			return false;
		p++;
	}
	return true;
}

bool
snapshot_add_stored(struct snapshot *s, const struct snapshot_stored *row)
{
	struct target key;
	struct row *r;

	if (row->keylen == 0 || row->keylen > TARGET_MAX_LEN ||
	    target_canon(row->key, row->keylen, &key) != TARGET_OK ||
	    key.len != row->keylen ||
	    memcmp(key.canon, row->key, row->keylen) != 0)
		return false;
	if (row->targetlen == 0 || row->targetlen > SNAPSHOT_MAX_STORED ||
	    memchr(row->target, '\0', row->targetlen) != NULL)
		return false;
	if (row->textlen == 0 || memchr(row->text, '\0', row->textlen) !=
	    NULL)
		return false;
	/* a policy is canonical printable text; a reason quotes the target */
	if (row->invalid ? row->textlen > SNAPSHOT_MAX_STORED :
	    row->textlen > POLICY_MAX_TEXT ||
	    !printable_ascii(row->text, row->textlen))
		return false;
	if (isnan(row->expires))
		return false;
	if (row->comment != NULL && (isinf(row->expires) &&
	    row->expires > 0))
		return false;
	if (row->comment != NULL &&
	    strnlen(row->comment, SNAPSHOT_MAX_COMMENT + 1) >
	    SNAPSHOT_MAX_COMMENT)
		return false;
	r = insert(s, &key, row->target, row->targetlen, row->text,
	    row->textlen, row->invalid ? ROW_INVALID : ROW_VALID);
	add_expiry(s, r, row->expires, row->comment, row->comment == NULL ?
	    0 : strlen(row->comment));
	return true;
}
