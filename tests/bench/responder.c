/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * responder - the floor tlspolicyd is measured against (make bench): a
 * socketmap server with nothing but the protocol.  epoll, read, every
 * complete netstring answered from a hash table, one write per read.  No
 * key normalisation, no parent walk, no map check, no idle timeout, no
 * limits: what any server must at least do.
 *
 *   responder PORT TABLE       TABLE: "key<TAB>reply" lines
 */
#define _GNU_SOURCE	/* accept4 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define NBUCKET (1 << 16)
#define INBUF 16384

struct row {
	struct row *next;
	char *key;
	size_t klen;
	char *reply;		/* "OK ..." */
	size_t rlen;
};

struct client {
	int fd;
	size_t have;
	char in[INBUF];
};

static struct row *bucket[NBUCKET];

static uint32_t
hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static void
load(const char *path)
{
	char line[8192];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *tab = strchr(line, '\t');
		struct row *r;
		uint32_t h;

		if (tab == NULL)
			continue;
		line[strcspn(line, "\n")] = '\0';
		r = malloc(sizeof(*r));
		r->klen = (size_t)(tab - line);
		r->key = strndup(line, r->klen);
		r->rlen = strlen(tab + 1) + 3;
		r->reply = malloc(r->rlen + 1);
		snprintf(r->reply, r->rlen + 1, "OK %s", tab + 1);
		h = hash(r->key, r->klen) & (NBUCKET - 1);
		r->next = bucket[h];
		bucket[h] = r;
	}
	fclose(fp);
}

static size_t
answer(const char *req, size_t len, char *out)
{
	const char *sp = memchr(req, ' ', len);
	const char *key = sp ? sp + 1 : req + len;
	size_t klen = (size_t)(req + len - key);
	const struct row *r;
	const char *rep = "NOTFOUND ";
	size_t rlen = 9;
	int hl;

	for (r = bucket[hash(key, klen) & (NBUCKET - 1)]; r; r = r->next)
		if (r->klen == klen && memcmp(r->key, key, klen) == 0) {
			rep = r->reply;
			rlen = r->rlen;
			break;
		}
	hl = sprintf(out, "%zu:", rlen);
	memcpy(out + hl, rep, rlen);
	out[hl + rlen] = ',';
	return (size_t)hl + rlen + 1;
}

/* Answer every complete frame; -1 to close. */
static int
serve(struct client *c)
{
	char out[65536];
	size_t off = 0, olen = 0;
	ssize_t n = read(c->fd, c->in + c->have, sizeof(c->in) - c->have);

	if (n <= 0)
		return n < 0 && errno == EAGAIN ? 0 : -1;
	c->have += (size_t)n;
	for (;;) {
		char *colon = memchr(c->in + off, ':', c->have - off);
		size_t len;

		if (colon == NULL)
			break;
		len = strtoul(c->in + off, NULL, 10);
		if ((size_t)(colon - c->in) + 1 + len >= c->have)
			break;
		if (olen + 4200 > sizeof(out))
			break;
		olen += answer(colon + 1, len, out + olen);
		off = (size_t)(colon - c->in) + len + 2;
	}
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	return olen > 0 && write(c->fd, out, olen) != (ssize_t)olen ? -1 : 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct epoll_event ev, evs[256];
	int lfd, ep, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: responder PORT TABLE\n");
		return 2;
	}
	load(argv[2]);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(lfd, 1024) < 0) {
		perror("responder: listen");
		return 1;
	}
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int i, n = epoll_wait(ep, evs, 256, -1);

		for (i = 0; i < n; i++) {
			struct client *c = evs[i].data.ptr;

			if (c == NULL) {
				int fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK);

				if (fd < 0)
					continue;
				c = calloc(1, sizeof(*c));
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			} else if (serve(c) < 0) {
				close(c->fd);
				free(c);
			}
		}
	}
}
