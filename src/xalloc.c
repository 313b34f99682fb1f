/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * xalloc - allocation does not fail: out of memory aborts with a message.
 * Every other error path in tlspolicyd is real and handled.
 *
 * Under -DUNIT_TESTING the calls go to cmocka's test allocators, so unit
 * tests report leaks and overruns per test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef UNIT_TESTING
#include "test.h"	/* cmocka maps malloc & co to its test allocators */
#endif

#include "xalloc.h"

static void
oom(size_t size)
{
	fprintf(stderr, "tlspolicyd: fatal: out of memory (%zu bytes)\n", size);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		oom(size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void *p;

	if (size != 0 && nmemb > SIZE_MAX / size)
		oom(SIZE_MAX);
	p = realloc(ptr, nmemb * size != 0 ? nmemb * size : 1);
	if (p == NULL)
		oom(nmemb * size);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

void
xfree(void *ptr)
{
	free(ptr);
}
