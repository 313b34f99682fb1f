/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sockmap_probe - edit -> answer latency of tlspolicyd, for bench_edit.sh.
 *
 * Holds one persistent socketmap connection (as a Postfix smtp process
 * does) and one libpq connection.  For each of COUNT edits it runs, in
 * autocommit,
 *     UPDATE <table> SET policy = $1 WHERE target = $2
 * alternating the level between two values, and from the moment PQexec
 * returns (the COMMIT is acknowledged) asks the daemon for KEY in a tight
 * loop until the answer is "OK <level>".  It prints one line per edit:
 *     <edit µs> <visible µs> <polls>
 * where "edit" is the PQexec round trip and "visible" the time from its
 * return to the first right answer, including that poll's round trip (so
 * never below one loopback request/reply).
 * A line "timeout" is printed when the answer does not change within
 * --timeout-ms.
 *
 * Build: gcc -O2 -o sockmap_probe sockmap_probe.c -I$(pg_config --includedir)
 *        -L$(pg_config --libdir) -lpq
 *
 * Usage: sockmap_probe -p PORT -d CONNINFO -k KEY [-t TARGET] [-m MAP]
 *        [-n COUNT] [-a LEVEL] [-b LEVEL] [-T TABLE] [-w TIMEOUT_MS]
 *        [-i POLL_GAP_US]
 *
 * -i sleeps between polls (default 0: a tight loop).  On a machine with few
 * cores a tight loop competes with the daemon and the PostgreSQL backend
 * for CPU; compare both.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define PROBE_MAX_REPLY 8192

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sockmap_probe -p PORT -d CONNINFO -k KEY "
	    "[-t TARGET] [-m MAP] [-n COUNT] [-a LEVEL] [-b LEVEL] "
	    "[-T TABLE] [-w TIMEOUT_MS] [-i POLL_GAP_US]\n");
	exit(2);
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read one netstring reply into out (NUL-terminated).  Blocking reads with
 * a small stash for bytes beyond the frame (there are none in lock-step
 * use, but stay correct).
 */
static int
read_reply(int fd, char *out, size_t outsz)
{
	static char stash[PROBE_MAX_REPLY + 16];
	static size_t have;
	size_t need = 0, len = 0, hdr = 0, i;

	for (;;) {
		/* parse what we have */
		if (hdr == 0) {
			for (i = 0; i < have; i++) {
				if (stash[i] == ':') {
					hdr = i + 1;
					break;
				}
				if (stash[i] < '0' || stash[i] > '9' || i > 5)
					return -1;
				len = len * 10 + (size_t)(stash[i] - '0');
			}
			if (hdr == 0)
				len = 0;
			else {
				if (len + 1 > outsz || hdr + len + 1 > sizeof(stash))
					return -1;
				need = hdr + len + 1;
			}
		}
		if (hdr != 0 && have >= need) {
			if (stash[need - 1] != ',')
				return -1;
			memcpy(out, stash + hdr, len);
			out[len] = '\0';
			memmove(stash, stash + need, have - need);
			have -= need;
			return 0;
		}
		ssize_t n = read(fd, stash + have, sizeof(stash) - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
}

int
main(int argc, char **argv)
{
	const char *conninfo = NULL, *key = NULL, *target = NULL;
	const char *map = "tlspolicy", *table = "tls_policy";
	const char *level[2] = { "encrypt", "verify" };
	int port = 0, count = 50, timeout_ms = 5000, c, i, fd, one = 1;
	long gap_us = 0;
	int failures = 0;
	struct sockaddr_in sa;
	char req[2048], want[256], reply[PROBE_MAX_REPLY], sqlbuf[512];
	size_t reqlen;
	PGconn *pg;

	while ((c = getopt(argc, argv, "p:d:k:t:m:n:a:b:T:w:i:")) != -1) {
		switch (c) {
		case 'p': port = atoi(optarg); break;
		case 'd': conninfo = optarg; break;
		case 'k': key = optarg; break;
		case 't': target = optarg; break;
		case 'm': map = optarg; break;
		case 'n': count = atoi(optarg); break;
		case 'a': level[0] = optarg; break;
		case 'b': level[1] = optarg; break;
		case 'T': table = optarg; break;
		case 'w': timeout_ms = atoi(optarg); break;
		case 'i': gap_us = atol(optarg); break;
		default: usage();
		}
	}
	if (port <= 0 || conninfo == NULL || key == NULL || count <= 0)
		usage();
	if (target == NULL)
		target = key;

	{
		size_t plen = strlen(map) + 1 + strlen(key);
		int n = snprintf(req, sizeof(req), "%zu:%s %s,", plen, map, key);

		if (n < 0 || (size_t)n >= sizeof(req)) {
			fprintf(stderr, "sockmap_probe: key too long\n");
			return 2;
		}
		reqlen = (size_t)n;
	}

	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "sockmap_probe: %s", PQerrorMessage(pg));
		return 2;
	}
	snprintf(sqlbuf, sizeof(sqlbuf),
	    "UPDATE %s SET policy = $1 WHERE target = $2", table);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("sockmap_probe: connect");
		return 2;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	for (i = 0; i < count; i++) {
		const char *lv = level[i % 2];
		const char *params[2] = { lv, target };
		uint64_t t0, t1, t2;
		long polls = 0;
		PGresult *res;

		snprintf(want, sizeof(want), "OK %s", lv);
		t0 = now_us();
		res = PQexecParams(pg, sqlbuf, 2, NULL, params, NULL, NULL, 0);
		t1 = now_us();
		if (PQresultStatus(res) != PGRES_COMMAND_OK ||
		    strcmp(PQcmdTuples(res), "1") != 0) {
			fprintf(stderr, "sockmap_probe: UPDATE: %s (rows %s)\n",
			    PQresultErrorMessage(res), PQcmdTuples(res));
			PQclear(res);
			return 2;
		}
		PQclear(res);
		for (;;) {
			if (write_all(fd, req, reqlen) < 0 ||
			    read_reply(fd, reply, sizeof(reply)) < 0) {
				fprintf(stderr, "sockmap_probe: daemon "
				    "connection failed\n");
				return 2;
			}
			polls++;
			t2 = now_us();
			if (strcmp(reply, want) == 0) {
				/* includes the last poll's round trip */
				printf("%llu %llu %ld\n",
				    (unsigned long long)(t1 - t0),
				    (unsigned long long)(t2 - t1), polls);
				break;
			}
			if (t2 - t1 > (uint64_t)timeout_ms * 1000u) {
				printf("timeout (last reply \"%s\")\n", reply);
				failures++;
				break;
			}
			if (gap_us > 0) {
				struct timespec gap = { gap_us / 1000000,
				    (gap_us % 1000000) * 1000 };

				nanosleep(&gap, NULL);
			}
		}
		fflush(stdout);
	}
	close(fd);
	PQfinish(pg);
	return failures ? 1 : 0;
}
