/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockmap_bench - a socketmap load generator.
 *
 *   sockmap_bench HOST PORT CONNS SECONDS KEYFMT NKEYS [MAP]
 *
 * CONNS connections each send one request, wait for its reply, and send
 * the next (Postfix never pipelines), for SECONDS.  Keys are KEYFMT
 * formatted with a number below NKEYS ("host%d.example").  Prints
 * requests, requests/s, latency percentiles, the longest single wait
 * (the figure that shows a stall) and errors: replies other than OK and
 * NOTFOUND.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
	int fd;
	double sent;
	char buf[4200];
	size_t have;
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static void
send_req(struct client *c, const char *map, const char *fmt, int nkeys)
{
	char key[256], req[300], frame[320];
	int kl, n;

	snprintf(key, sizeof(key), fmt, rand() % nkeys);
	kl = snprintf(req, sizeof(req), "%s %s", map, key);
	n = snprintf(frame, sizeof(frame), "%d:%s,", kl, req);
	if (write(c->fd, frame, (size_t)n) != n) {
		perror("write");
		exit(1);
	}
	c->sent = now();
	c->have = 0;
}

/* A whole netstring in buf?  *ok: it is an OK or a NOTFOUND. */
static int
complete(const struct client *c, int *ok)
{
	char *colon = memchr(c->buf, ':', c->have);
	size_t len;

	if (colon == NULL)
		return 0;
	len = strtoul(c->buf, NULL, 10);
	*ok = strncmp(colon + 1, "OK ", 3) == 0 ||
	    strncmp(colon + 1, "NOTFOUND", 8) == 0;
	return c->have >= (size_t)(colon - c->buf) + 1 + len + 1;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct pollfd *pfd;
	struct client *cl;
	float *lat;
	size_t nlat = 0, cap = 1 << 20, errors = 0;
	int conns, nkeys, i;
	double secs, start, end;
	const char *map;

	if (argc < 7) {
		fprintf(stderr, "usage: sockmap_bench HOST PORT CONNS SECONDS "
		    "KEYFMT NKEYS [MAP]\n");
		return 2;
	}
	conns = atoi(argv[3]);
	secs = atof(argv[4]);
	nkeys = atoi(argv[6]);
	map = argc > 7 ? argv[7] : "tlspolicy";
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sin.sin_addr);
	pfd = calloc((size_t)conns, sizeof(*pfd));
	cl = calloc((size_t)conns, sizeof(*cl));
	lat = malloc(cap * sizeof(*lat));
	srand(1);
	for (i = 0; i < conns; i++) {
		int one = 1;

		cl[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(cl[i].fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			perror("connect");
			return 1;
		}
		setsockopt(cl[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pfd[i].fd = cl[i].fd;
		pfd[i].events = POLLIN;
	}
	start = now();
	end = start + secs;
	for (i = 0; i < conns; i++)
		send_req(&cl[i], map, argv[5], nkeys);
	while (now() < end) {
		if (poll(pfd, (nfds_t)conns, 1000) < 0) {
			perror("poll");
			return 1;
		}
		for (i = 0; i < conns; i++) {
			ssize_t n;
			int ok;

			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(cl[i].fd, cl[i].buf + cl[i].have,
			    sizeof(cl[i].buf) - cl[i].have);
			if (n <= 0) {
				fprintf(stderr, "connection %d closed\n", i);
				return 1;
			}
			cl[i].have += (size_t)n;
			if (!complete(&cl[i], &ok))
				continue;
			errors += !ok;
			if (nlat == cap) {
				cap *= 2;
				lat = realloc(lat, cap * sizeof(*lat));
			}
			lat[nlat++] = (float)((now() - cl[i].sent) * 1e6);
			send_req(&cl[i], map, argv[5], nkeys);
		}
	}
	secs = now() - start;
	qsort(lat, nlat, sizeof(*lat), cmp);
	printf("conns=%d requests=%zu rate=%.0f/s p50=%.0fus p99=%.0fus "
	    "max=%.0fus errors=%zu\n", conns, nlat, (double)nlat / secs,
	    nlat ? lat[nlat / 2] : 0.0, nlat ? lat[nlat * 99 / 100] : 0.0,
	    nlat ? lat[nlat - 1] : 0.0, errors);
	return 0;
}
