/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bench_snapshot - what a lookup costs inside the daemon, without the
 * network: canonicalising the key plus the snapshot lookup (with the
 * parent walk), on tables of 100 000 and 1 000 000 rows.  Prints ns/op;
 * asserts nothing (make bench).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "snapshot.h"
#include "target.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
run(size_t rows)
{
	struct policy_opts opts;
	struct policy_result res;
	struct snapshot *s = snapshot_new(rows);
	char key[64];
	size_t i, n = 2000000, found = 0;
	double t0, t1;

	policy_opts_init(&opts);
	t0 = now();
	for (i = 0; i < rows; i++) {
		snprintf(key, sizeof(key), "host%zu.example", i);
		snapshot_add_row(s, &opts, key, i % 2 ? "encrypt" : "secure",
		    i % 2 ? "" : "match=nexthop:dot-nexthop", true, &res);
	}
	t1 = now();
	printf("%zu rows: built in %.0f ms (%.0f ns/row), %zu KiB\n", rows,
	    (t1 - t0) * 1e3, (t1 - t0) * 1e9 / (double)rows,
	    snapshot_bytes(s) / 1024);

	for (int miss = 0; miss < 2; miss++) {
		t0 = now();
		for (i = 0; i < n; i++) {
			struct target t;
			const char *text;
			size_t len;
			int kl = snprintf(key, sizeof(key), miss ?
			    "MX%zu.Nowhere.Example" : "Host%zu.Example",
			    (i * 7919) % rows);

			if (target_canon(key, (size_t)kl, &t) == TARGET_OK &&
			    snapshot_lookup(s, &t, t.walk, &text, &len) ==
			    SNAPSHOT_FOUND)
				found++;
		}
		t1 = now();
		printf("  %s: %.0f ns/lookup (canonical key + lookup%s), "
		    "%.1f M lookups/s\n", miss ? "miss" : "hit ",
		    (t1 - t0) * 1e9 / (double)n, miss ? " + 3 parents" : "",
		    (double)n / (t1 - t0) / 1e6);
	}
	if (found != n)
		printf("  (found %zu of %zu hits)\n", found, n);
	snapshot_free(s);
}

int
main(void)
{
	run(100000);
	run(1000000);
	return 0;
}
