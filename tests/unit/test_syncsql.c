/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_syncsql - the statements the daemon sends (docs/architecture.md,
 * decision 7):
 * every function and table schema-qualified, every operator
 * OPERATOR(pg_catalog.x), the search_path pinned, the only parameter the
 * applied generation.  A planted public.unnest(text[]) or a schema named
 * like the daemon's role must have nothing to hijack.
 */
#include "test.h"

#include <ctype.h>
#include <stdbool.h>

#include "syncsql.h"
#include "xalloc.h"

static const struct syncsql_names names = {
	"tls_policy", "target", "policy", "parameters", "active", 10000,
	"expires_at", "comment", true, true,
};

/* Every statement, with a name for messages. */
static size_t
statements(const struct syncsql *q, const char *text[], const char *name[])
{
	size_t n = 0;

#define ADD(f) (text[n] = (f), name[n++] = #f)
	ADD(q->setup);
	ADD(q->check[0]);
	ADD(q->check[1]);
	ADD(q->load[0]);
	ADD(q->load[1]);
	ADD(q->changes);
	ADD(q->refresh);
	ADD(q->rows);
#undef ADD
	return n;
}

/* Drop '...' literals so their contents are not read as SQL. */
static char *
without_literals(const char *s)
{
	char *out = xstrdup(s), *o = out;
	bool in = false;

	for (; *s != '\0'; s++) {
		if (*s == '\'')
			in = !in;
		else if (!in)
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Words that are syntax, not functions, when followed by '('. */
static bool
keyword(const char *w, size_t n)
{
	static const char *const kw[] = {"ARRAY", "ANY", "COALESCE", "EXISTS",
	    "IN", "OPERATOR", NULL};
	size_t i;

	for (i = 0; kw[i] != NULL; i++)
		if (strlen(kw[i]) == n && strncmp(kw[i], w, n) == 0)
			return true;
	return false;
}

static void
test_syncsql_functions_qualified(void **state)
{
	struct syncsql q;
	const char *text[16], *name[16];
	size_t i, n;

	(void)state;
	syncsql_build(&q, &names);
	n = statements(&q, text, name);
	for (i = 0; i < n; i++) {
		char *s = without_literals(text[i]);
		const char *p = s;

		while (*p != '\0') {
			const char *w = p;
			size_t len;

			if (!isalpha((unsigned char)*p) && *p != '_') {
				p++;
				continue;
			}
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			len = (size_t)(p - w);
			if (*p != '(' || keyword(w, len))
				continue;
			/* a call: its schema must be written before it */
			if (!(w >= s + 11 && strncmp(w - 11, "pg_catalog.",
			    11) == 0) && !(w >= s + 7 && strncmp(w - 7,
			    "public.", 7) == 0)) {
				fprintf(stderr, "%s: unqualified call %.*s(\n",
				    name[i], (int)len, w);
				fail();
			}
		}
		xfree(s);
	}
	syncsql_free(&q);
}

/* After OPERATOR(pg_catalog.x) and SET statements, no operator is left. */
static void
test_syncsql_operators_qualified(void **state)
{
	struct syncsql q;
	const char *text[16], *name[16];
	size_t i, n;

	(void)state;
	syncsql_build(&q, &names);
	n = statements(&q, text, name);
	for (i = 0; i < n; i++) {
		char *s = without_literals(text[i]), *p;

		while ((p = strstr(s, "OPERATOR(pg_catalog.")) != NULL) {
			char *end = strchr(p, ')');

			assert_non_null(end);
			memmove(p, end + 1, strlen(end + 1) + 1);
		}
		while ((p = strstr(s, "SET ")) != NULL) {
			char *end = strchr(p, ';');

			memmove(p, end ? end + 1 : p + strlen(p),
			    strlen(end ? end + 1 : p + strlen(p)) + 1);
		}
		if (strpbrk(s, "=<>~!|+-") != NULL) {
			fprintf(stderr, "%s: bare operator in \"%s\"\n",
			    name[i], s);
			fail();
		}
		xfree(s);
	}
	syncsql_free(&q);
}

static void
test_syncsql_search_path_pinned(void **state)
{
	struct syncsql q;
	int i;

	(void)state;
	syncsql_build(&q, &names);
	assert_non_null(strstr(q.setup, "SET search_path = pg_catalog, "
	    "pg_temp;"));
	assert_ptr_equal(strstr(q.setup, "SET search_path"), q.setup);
	for (i = 0; i < 2; i++) {
		/* each transaction pins it again: poolers lose session SETs */
		assert_non_null(strstr(q.check[i], "SET LOCAL search_path = "
		    "pg_catalog, pg_temp;"));
		assert_non_null(strstr(q.load[i], "SET LOCAL search_path = "
		    "pg_catalog, pg_temp;"));
		/* and locks out TRUNCATE before the snapshot is taken */
		assert_true(strstr(q.check[i], "LOCK TABLE") <
		    strstr(q.check[i], "SELECT"));
		assert_non_null(strstr(q.load[i], "REPEATABLE READ"));
	}
	/* the state is read only when it may be */
	assert_null(strstr(q.check[0], "FROM public.tlspolicyd_state"));
	assert_non_null(strstr(q.check[1], "FROM public.tlspolicyd_state"));
	syncsql_free(&q);
}

static void
test_syncsql_tables(void **state)
{
	static const struct {
		const char *table;
		const char *quoted;
	} cases[] = {
		{"tls_policy", "\"public\".\"tls_policy\""},
		{"mail.tls_policy_override", "\"mail\".\"tls_policy_override\""},
		{"public.tlspolicies", "\"public\".\"tlspolicies\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct syncsql_names nm = names;
		struct syncsql q;
		char *t = syncsql_table(cases[i].table);
		char from[200];

		assert_string_equal(t, cases[i].quoted);
		nm.table = cases[i].table;
		syncsql_build(&q, &nm);
		snprintf(from, sizeof(from), "FROM %s t", cases[i].quoted);
		assert_non_null(strstr(q.rows, from));
		assert_non_null(strstr(q.refresh, from));
		xfree(t);
		syncsql_free(&q);
	}
}

static void
test_syncsql_columns(void **state)
{
	struct syncsql_names nm = names;
	struct syncsql q;

	(void)state;
	nm.target = "domain";
	nm.parameters = "params";
	nm.active = "";
	nm.has_expires = nm.has_comment = false;
	syncsql_build(&q, &nm);
	assert_ptr_equal(strstr(q.rows, "SELECT t.\"domain\"::pg_catalog.text, "
	    "t.\"policy\"::pg_catalog.text, t.\"params\"::pg_catalog.text, "
	    "NULL, NULL, NULL FROM"), q.rows);
	/* refreshed by any spelling of the logged target */
	assert_non_null(strstr(q.refresh, "WHERE pg_catalog.lower(t.\"domain\""
	    "::pg_catalog.text) OPERATOR(pg_catalog.=) ANY"));
	syncsql_free(&q);
}

/*
 * The optional columns: the expiry is read as epoch seconds (Infinity for
 * 'infinity'), on the database's clock, which every check and load read
 * too; setup and every check ask whether the table has them.
 */
static void
test_syncsql_lifecycle_columns(void **state)
{
	static const char probe[] = "EXISTS (SELECT 1 FROM "
	    "pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) "
	    "pg_catalog.to_regclass('\"public\".\"tls_policy\"') AND a.attname "
	    "OPERATOR(pg_catalog.=) 'expires_at' AND a.attnum "
	    "OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped)";
	struct syncsql_names nm = names;
	struct syncsql q;
	int i;

	(void)state;
	syncsql_build(&q, &nm);
	assert_non_null(strstr(q.rows, ", pg_catalog.date_part('epoch', "
	    "t.\"expires_at\"::pg_catalog.timestamptz), "
	    "t.\"comment\"::pg_catalog.text FROM"));
	assert_non_null(strstr(q.refresh, "t.\"comment\"::pg_catalog.text "
	    "FROM"));
	assert_non_null(strstr(q.setup, probe));
	for (i = 0; i < 2; i++) {
		assert_non_null(strstr(q.check[i], probe));
		assert_non_null(strstr(q.load[i], probe));
		/* the clock comes before the probes, the count after them */
		assert_non_null(strstr(q.check[i], "'SELECT'), false), "
		    "pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()"
		    "), EXISTS"));
		assert_true(strstr(q.load[i], "pg_catalog.count(*)") >
		    strstr(q.load[i], "'comment'"));
	}
	syncsql_free(&q);

	/* probed but not read: the table lacks them (so far) */
	nm.has_expires = false;
	syncsql_build(&q, &nm);
	assert_non_null(strstr(q.rows, "::pg_catalog.text, NULL, "
	    "t.\"comment\"::pg_catalog.text FROM"));
	assert_non_null(strstr(q.setup, probe));
	syncsql_free(&q);

	/* not configured: neither probed nor read */
	nm.expires = "";
	nm.comment = NULL;
	nm.has_comment = true;
	syncsql_build(&q, &nm);
	assert_non_null(strstr(q.rows, "::pg_catalog.text, NULL, NULL FROM"));
	assert_null(strstr(q.setup, "attname"));
	assert_non_null(strstr(q.check[1], "clock_timestamp()), false, "
	    "false"));
	syncsql_free(&q);
}

/* The only parameter is the applied generation, typed. */
static void
test_syncsql_parameters(void **state)
{
	struct syncsql q;
	const char *text[16], *name[16];
	size_t i, n;

	(void)state;
	syncsql_build(&q, &names);
	n = statements(&q, text, name);
	for (i = 0; i < n; i++) {
		const char *p = strchr(text[i], '$');
		bool takes = text[i] == q.changes || text[i] == q.refresh;

		if (!takes) {
			assert_null(p);
			continue;
		}
		for (; p != NULL; p = strchr(p + 1, '$'))
			assert_int_equal(strncmp(p, "$1::pg_catalog.int8", 19),
			    0);
	}
	assert_non_null(strstr(q.changes, "NULLS FIRST LIMIT 1001"));
	syncsql_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syncsql_functions_qualified),
		cmocka_unit_test(test_syncsql_operators_qualified),
		cmocka_unit_test(test_syncsql_search_path_pinned),
		cmocka_unit_test(test_syncsql_tables),
		cmocka_unit_test(test_syncsql_columns),
		cmocka_unit_test(test_syncsql_lifecycle_columns),
		cmocka_unit_test(test_syncsql_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
