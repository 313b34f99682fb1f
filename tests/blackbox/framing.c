/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * framing - black-box tests of the daemon's socketmap framing, no database
 * needed: before its first load the daemon answers every well-formed key
 * "TEMP no policy data loaded yet", which is all a framing test needs.
 *
 *   framing PORT
 *   framing PORT cap N     N connections are served, more are closed
 *
 * Each check prints "ok N - ..." or "not ok N - ..."; the last line is
 * "N passed, M failed".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;
static int passed, failed;

static void
check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", ok ? "ok" : "not ok", passed + failed + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

static int
dial(void)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("framing: connect");
		exit(2);
	}
	return fd;
}

static void
send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return;		/* the daemon closed: checked by the caller */
			perror("framing: write");
			exit(2);
		}
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Read until want bytes arrived, EOF, or ms passed.  Returns the bytes
 * read; *eof tells whether the peer closed.
 */
static size_t
read_for(int fd, char *buf, size_t want, int ms, bool *eof)
{
	size_t have = 0;
	struct timespec t0, t;

	*eof = false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (have < want) {
		struct pollfd p = {fd, POLLIN, 0};
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000 +
		    (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		n = read(fd, buf + have, want - have);
		if (n <= 0) {
			*eof = true;
			break;
		}
		have += (size_t)n;
	}
	return have;
}

/* One netstring reply; its payload NUL-terminated in out. */
static bool
read_reply(int fd, char *out, size_t outsz)
{
	char buf[8192];
	size_t have = 0, len, hl;
	bool eof;
	char *colon;

	for (;;) {
		have += read_for(fd, buf + have, 1, 2000, &eof);
		if (eof || have == 0 || have >= sizeof(buf))
			return false;
		if ((colon = memchr(buf, ':', have)) != NULL)
			break;
	}
	len = strtoul(buf, NULL, 10);
	hl = (size_t)(colon - buf) + 1;
	if (hl + len + 1 > sizeof(buf))
		return false;
	while (have < hl + len + 1) {
		size_t n = read_for(fd, buf + have, hl + len + 1 - have, 2000,
		    &eof);

		if (n == 0)
			return false;
		have += n;
	}
	if (buf[hl + len] != ',' || len >= outsz)
		return false;
	memcpy(out, buf + hl, len);
	out[len] = '\0';
	return true;
}

/* Closed with no byte sent back? */
static bool
closed_silently(int fd, int ms)
{
	char c;
	bool eof;

	return read_for(fd, &c, 1, ms, &eof) == 0 && eof;
}

static bool
is_temp(const char *reply)
{
	return strncmp(reply, "TEMP no policy data loaded yet", 30) == 0;
}

static void
test_one_request(void)
{
	char reply[4200];
	int fd = dial();

	send_all(fd, "21:tlspolicy example.com,", 25);
	check(read_reply(fd, reply, sizeof(reply)) && is_temp(reply),
	    "a request before the first load -> \"TEMP no policy data loaded "
	    "yet\" (got \"%s\")", reply);
	close(fd);
}

static void
test_pipelined(void)
{
	const char req[] = "21:tlspolicy example.com,17:other example.com,"
	    "10:tlspolicy ,";
	char r1[4200] = "", r2[4200] = "", r3[4200] = "";
	int fd = dial();

	send_all(fd, req, sizeof(req) - 1);
	check(read_reply(fd, r1, sizeof(r1)) && is_temp(r1) &&
	    read_reply(fd, r2, sizeof(r2)) &&
	    strcmp(r2, "PERM unknown map other") == 0 &&
	    read_reply(fd, r3, sizeof(r3)) && strcmp(r3, "NOTFOUND ") == 0,
	    "three pipelined requests in one write -> three replies in order "
	    "(TEMP, PERM, NOTFOUND for the empty key)");
	close(fd);
}

static void
test_byte_by_byte(void)
{
	const char req[] = "0021:tlspolicy example.com,";
	char reply[4200] = "";
	size_t i;
	int fd = dial();

	for (i = 0; i < sizeof(req) - 1; i++) {
		struct timespec ts = {0, 2000000};

		send_all(fd, req + i, 1);
		nanosleep(&ts, NULL);
	}
	check(read_reply(fd, reply, sizeof(reply)) && is_temp(reply),
	    "a request split byte by byte, leading zeros in the length -> "
	    "one reply");
	close(fd);
}

static void
test_limits(void)
{
	static char req[10200];
	char reply[4200] = "";
	size_t plen = 10100, hl;
	int fd = dial();

	/* exact fit: "tlspolicy " + a 10090-byte key: over 1000 -> NOTFOUND */
	hl = (size_t)snprintf(req, sizeof(req), "%zu:tlspolicy ", plen);
	memset(req + hl, 'a', plen - 10);
	req[hl + plen - 10] = ',';
	send_all(fd, req, hl + plen - 10 + 1);
	check(read_reply(fd, reply, sizeof(reply)) &&
	    strcmp(reply, "NOTFOUND ") == 0,
	    "a 10100-byte frame (the cap) is answered: NOTFOUND for an "
	    "overlong key");
	close(fd);
}

struct bad {
	const char *label;
	const char *bytes;
};

static void
test_malformed(void)
{
	static const struct bad bad[] = {
		{"an empty length", ":abc,"},
		{"a non-digit in the length", "2x:tlspolicy a,"},
		{"a space before the length", " 3:abc,"},
		{"a missing ','", "3:abcX"},
		{"a length over 10100", "10101:"},
		{"a sixth length digit", "000001:"},
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int other = dial(), fd = dial();
		char reply[4200] = "";

		send_all(fd, bad[i].bytes, strlen(bad[i].bytes));
		check(closed_silently(fd, 2000), "%s: the connection is closed "
		    "at once, with no reply", bad[i].label);
		send_all(other, "21:tlspolicy example.com,", 25);
		check(read_reply(other, reply, sizeof(reply)) && is_temp(reply),
		    "%s: another connection still answers", bad[i].label);
		close(fd);
		close(other);
	}
}

static void
test_idle(void)
{
	int fd = dial();

	/* the daemon runs with --idle-timeout 1s */
	check(closed_silently(fd, 3000), "an idle connection is closed after "
	    "idle_timeout");
	close(fd);
}

/*
 * The daemon under a small RLIMIT_NOFILE: it serves at most cap
 * connections at once and closes the ones over it at once, instead of
 * running out of descriptors for its database session.
 */
static void
test_cap(int cap)
{
	int fds[512];
	int i, n = cap + 10, served = 0, refused = 0;

	for (i = 0; i < n && i < 512; i++)
		fds[i] = dial();
	for (i = 0; i < n && i < 512; i++) {
		char reply[4200] = "";

		send_all(fds[i], "21:tlspolicy example.com,", 25);
		if (read_reply(fds[i], reply, sizeof(reply)) && is_temp(reply))
			served++;
		else
			refused++;
	}
	check(served == cap && refused == n - cap, "%d connections at once "
	    "under the descriptor cap %d: %d served, %d closed at once", n,
	    cap, served, refused);
	for (i = 0; i < n && i < 512; i++)
		close(fds[i]);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[2], "cap") == 0) {
		port = atoi(argv[1]);
		test_cap(atoi(argv[3]));
		printf("%d passed, %d failed\n", passed, failed);
		return failed != 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: framing PORT [cap N]\n");
		return 2;
	}
	port = atoi(argv[1]);
	test_one_request();
	test_pipelined();
	test_byte_by_byte();
	test_limits();
	test_malformed();
	test_idle();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
