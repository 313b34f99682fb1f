/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * framing - black-box tests of the daemon's socketmap framing, no database
 * needed: before its first load the daemon answers every well-formed key
 * "TEMP no policy data loaded yet", which is all a framing test needs.
 *
 *   framing PORT
 *   framing PORT cap N     N connections are served, more are closed
 *   framing PORT evict N   the daemon runs with --max-connections N: a new
 *                          client closes the longest-idle connection
 *   framing PORT backpressure
 *                          clients that pipeline and never read stall
 *                          nobody, and get every reply once they read
 *
 * Each check prints "ok N - ..." or "not ok N - ..."; the last line is
 * "N passed, M failed".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

/*
 * Connect; with bufsz > 0, with socket buffers that small (set before the
 * handshake: a window shrunk after it stalls TCP on its persist timer).
 */
static int
dial_buf(int bufsz)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && bufsz > 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	}
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

static int
dial(void)
{
	return dial_buf(0);
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

/*
 * More frames in one write than the daemon answers per turn: the rest
 * must be answered on later turns with no new byte to wake it.
 */
static void
test_pipelined_many(void)
{
	static char req[100 * 25];
	char reply[4200] = "";
	size_t len = 0;
	int i, fd = dial(), in_order = 0;

	for (i = 0; i < 100; i++) {
		memcpy(req + len, i % 10 == 9 ? "21:tlspolicX example.com," :
		    "21:tlspolicy example.com,", 25);
		len += 25;
	}
	send_all(fd, req, len);
	for (i = 0; i < 100; i++) {
		if (!read_reply(fd, reply, sizeof(reply)))
			break;
		if (i % 10 == 9 ? strcmp(reply, "PERM unknown map tlspolicX") ==
		    0 : is_temp(reply))
			in_order++;
	}
	check(in_order == 100, "100 pipelined requests in one write -> 100 "
	    "replies in order (%d)", in_order);
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

/* A request, its reply: is the connection served? */
static bool
served(int fd)
{
	char reply[4200] = "";

	send_all(fd, "21:tlspolicy example.com,", 25);
	return read_reply(fd, reply, sizeof(reply)) && is_temp(reply);
}

static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Clients that fill every slot and keep each one busy with a byte of a
 * frame that never ends: bytes that answer nothing are no progress, so a
 * newcomer (Postfix) still gets its answer.
 */
static void
test_evict_trickle(int cap)
{
	static const char frame[] = "10100:tlspolicy ";
	int fds[64];
	int i, round, fresh;

	for (i = 0; i < cap; i++)
		fds[i] = dial();
	/* one byte per client every 300 ms: active by bytes, never idle 1 s */
	for (round = 0; round < 8; round++) {
		for (i = 0; i < cap; i++)
			send_all(fds[i], frame + round % (sizeof(frame) - 1), 1);
		pause_ms(300);
	}
	fresh = dial();
	check(served(fresh), "trickling clients in every slot: a new client "
	    "still gets its answer");
	close(fresh);
	for (i = 0; i < cap; i++)
		close(fds[i]);
}

/*
 * The daemon runs with --max-connections cap.  Idle clients fill every
 * slot; a new client still gets its answer, and the connection closed for
 * it is the one idle longest.  Once no connection has been idle a second,
 * nothing is closed for a newcomer: it is refused instead.
 */
static void
test_evict(int cap)
{
	int fds[64];
	int i, n = 0, fresh, extra;
	char c;
	bool eof;

	if (cap < 2 || cap > 64) {
		check(false, "evict: a cap from 2 to 64 (got %d)", cap);
		return;
	}
	for (i = 0; i < cap; i++) {
		fds[i] = dial();
		n += served(fds[i]);
	}
	check(n == cap, "%d idle clients, the limit, are all served (%d)",
	    cap, n);
	/* past the 1 s idle floor, then all but the first are active again */
	pause_ms(2000);
	for (i = 1, n = 0; i < cap; i++)
		n += served(fds[i]);
	fresh = dial();
	check(served(fresh), "at max_connections a new client still gets its "
	    "answer");
	check(closed_silently(fds[0], 2000), "the longest-idle connection "
	    "was closed to make room");
	for (i = 1; i < cap; i++)
		n += served(fds[i]);
	check(n == 2 * (cap - 1), "the other %d connections still answer "
	    "(%d of %d)", cap - 1, n, 2 * (cap - 1));
	/* every slot was active within the floor: nothing to close */
	extra = dial();
	send_all(extra, "21:tlspolicy example.com,", 25);
	check(read_for(extra, &c, 1, 2000, &eof) == 0 && eof, "with no "
	    "connection idle, a new one is refused (closed at once)");
	check(served(fresh), "... and the served ones are kept");
	close(extra);
	close(fresh);
	for (i = 0; i < cap; i++)
		close(fds[i]);
	test_evict_trickle(cap);
}

/*
 * Clients that pipeline requests and never read their replies: the daemon
 * stops reading them once their replies back up (their writes block), a
 * normal client is answered meanwhile, and each of them gets every reply,
 * in order, once it reads, and is read again after.
 */
/*
 * Read replies until want arrived, each "TEMP no policy data loaded yet",
 * in big reads: there are tens of thousands.  Returns how many did.
 */
static long
count_replies(int fd, long want)
{
	static char buf[65536];
	size_t have = 0, off;
	long got = 0;

	while (got < want) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 5000) <= 0 ||
		    (n = read(fd, buf + have, sizeof(buf) - have)) <= 0)
			break;
		have += (size_t)n;
		for (off = 0; got < want;) {
			char *colon = memchr(buf + off, ':', have - off);
			size_t len, end;

			if (colon == NULL)
				break;
			len = strtoul(buf + off, NULL, 10);
			end = (size_t)(colon - buf) + 1 + len;
			if (end >= have)
				break;
			if (buf[end] != ',' || !is_temp(colon + 1))
				return got;
			got++;
			off = end + 1;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	return got;
}

#define PIPERS 8
#define PIPER_MAX_BYTES (64L * 1024 * 1024)

static void
test_backpressure(void)
{
	static const char req[] = "21:tlspolicy example.com,";
	static char chunk[160 * 25];
	int fds[PIPERS];
	long sent[PIPERS];
	int i, pushed_back = 0, complete = 0, resumed = 0;
	int normal, big = 256 * 1024;

	for (i = 0; i < 160; i++)
		memcpy(chunk + i * 25, req, 25);
	for (i = 0; i < PIPERS; i++) {
		/* small buffers: the daemon, not the kernel, must push back */
		fds[i] = dial_buf(4096);
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		sent[i] = 0;
	}
	/* write until the daemon stops taking bytes, never reading */
	for (i = 0; i < PIPERS; i++) {
		while (sent[i] < PIPER_MAX_BYTES) {
			size_t off = (size_t)(sent[i] % (long)sizeof(chunk));
			ssize_t w = write(fds[i], chunk + off,
			    sizeof(chunk) - off);
			struct pollfd p = {fds[i], POLLOUT, 0};

			if (w > 0) {
				sent[i] += w;
				continue;
			}
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			/* full: still full after a while means pushed back */
			if (poll(&p, 1, 300) == 0) {
				pushed_back++;
				break;
			}
		}
	}
	check(pushed_back == PIPERS, "%d clients pipelining without reading "
	    "are pushed back, not buffered without bound (%d)", PIPERS,
	    pushed_back);

	normal = dial();
	check(served(normal), "a normal client is answered while they wait");
	close(normal);

	for (i = 0; i < PIPERS; i++) {
		long want = sent[i] / 25, got = 0;
		char reply[4200];

		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) & ~O_NONBLOCK);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		got = count_replies(fds[i], want);
		/* a frame the write cut: its rest, once the daemon reads */
		if (got == want && sent[i] % 25 != 0) {
			send_all(fds[i], req + sent[i] % 25,
			    (size_t)(25 - sent[i] % 25));
			if (read_reply(fds[i], reply, sizeof(reply)) &&
			    is_temp(reply))
				got++;
			want++;
		}
		if (got == want)
			complete++;
		else
			fprintf(stderr, "framing: client %d: %ld of %ld "
			    "replies\n", i, got, want);
		resumed += served(fds[i]);
		close(fds[i]);
	}
	check(complete == PIPERS, "once they read, each gets every reply in "
	    "order (%d of %d)", complete, PIPERS);
	check(resumed == PIPERS, "and each is read and answered again after "
	    "(%d of %d)", resumed, PIPERS);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[2], "evict") == 0) {
		port = atoi(argv[1]);
		test_evict(atoi(argv[3]));
		printf("%d passed, %d failed\n", passed, failed);
		return failed != 0;
	}
	if (argc == 3 && strcmp(argv[2], "backpressure") == 0) {
		port = atoi(argv[1]);
		test_backpressure();
		printf("%d passed, %d failed\n", passed, failed);
		return failed != 0;
	}
	if (argc == 4 && strcmp(argv[2], "cap") == 0) {
		port = atoi(argv[1]);
		test_cap(atoi(argv[3]));
		printf("%d passed, %d failed\n", passed, failed);
		return failed != 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: framing PORT [cap N | evict N | "
		    "backpressure]\n");
		return 2;
	}
	port = atoi(argv[1]);
	test_one_request();
	test_pipelined();
	test_pipelined_many();
	test_byte_by_byte();
	test_limits();
	test_malformed();
	test_idle();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
