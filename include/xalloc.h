/* SPDX-License-Identifier: BSD-2-Clause */
/* xalloc - allocators that succeed or abort (Postfix mymalloc, OpenSMTPD xmalloc). */
#ifndef TLSPOLICYD_XALLOC_H
#define TLSPOLICYD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *ptr, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void xfree(void *ptr);

#endif
