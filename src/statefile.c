/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * statefile - the snapshot kept on disk, for a restart while the database
 * is down (state_file).
 *
 * Writing.  A change (statefile_changed(), from pgsync) is written once
 * the table has been quiet for STATEFILE_QUIET_MS, but no later than
 * STATEFILE_MAX_DELAY_MS after it, and writes start at least
 * STATEFILE_MIN_INTERVAL_MS apart: a burst of edits is one write.  With
 * nothing changed the file is written again every STATEFILE_REFRESH_MS
 * or a quarter of max_stale, whichever is shorter, if the data was
 * confirmed current since (its saved time moves on), so a crash leaves a
 * file at most that much older than the data it holds.  At the way out
 * (statefile_flush()) the file is written once more, in this process, if
 * the rows changed since the last write started or the file's saved time
 * is a refresh interval old: rows unchanged in a younger file are not
 * written again (a million of them take about 350 ms), so a file served
 * after a restart may say the data was current up to that interval
 * earlier than it was, and max_stale runs out that much sooner.
 *
 * What the rows were made from (the identity: the database as libpq
 * resolves the connection string, the table, its columns and the two
 * settings that decide a row's validity) is taken when the data is made:
 * by statefile_changed(), with the configuration of the session that
 * loaded it, and by statefile_serve().  A SIGHUP that points the daemon
 * elsewhere keeps serving the old rows until the new session loads, and
 * they are written with the identity they were made with.
 *
 * The writer is a child process.  fork() gives it the snapshot as it is
 * at that moment, copy-on-write, for the price of copying the page tables
 * (measured in docs/benchmarks.md: a few milliseconds at 1 000 000 rows);
 * it encodes (snapfile.c), writes "FILE.tmp", fsyncs it, renames it over
 * FILE, fsyncs the directory, reports one line on a pipe and _exit()s.
 * The loop sees the pipe's end as a read event and reaps the child with
 * waitpid().  So lookups never wait for the encoding, the disk or fsync,
 * and the snapshot needs no locking or copying; a writer thread would
 * need both, and slicing the encoding over loop turns would need a
 * snapshot that does not change between slices.  Every signal is blocked
 * across fork(): the child resets the handlers to their defaults before
 * it unblocks them, so no signal runs libevent's handler in the child and
 * reaches the parent's loop through the signal socketpair they share.
 * The child closes every descriptor but the pipe (clients, listeners, the
 * libpq socket), opens its own file, and never returns into the loop.
 * FILE.tmp is unlinked and created anew with O_EXCL, never opened as
 * found: a FIFO or another user's file there cannot block or receive the
 * write.  At the way out a writer is waited for at most
 * STATEFILE_STOP_WAIT_MS, then killed.
 *
 * Reading.  Only while no load has succeeded, when pgsync fails or
 * STATEFILE_SERVE_GRACE_MS after it started (statefile_serve()), once.
 * The file is opened without following a symbolic link and without
 * blocking (a FIFO there must not wedge the loop), and refused unless it
 * is a regular file owned by the daemon's effective uid and writable by
 * no one else, in a directory others cannot write (or sticky); the
 * checksum stops accidents, these stop another user's forgery.  It is
 * mapped, decoded into a new snapshot (every valid row's policy parsed
 * again, snapfile.c) and set as d->snap only if it checked out whole and
 * its saved time is not ahead of the clock by more than
 * STATEFILE_AHEAD_MS.  Its saved time becomes d->current_at, so
 * answer.c's max_stale rule applies to it as to data the daemon loaded
 * itself.
 *
 * Invariants: one writer at a time (a change meanwhile marks the data
 * dirty for the next write); FILE is only ever replaced by rename(), so a
 * reader sees the old file or the new one, never a mix; the file is
 * created with the process's own identity, after any privilege drop; one
 * log line per refused file, one warning for a missing directory, write
 * failures at most once per STATEFILE_WARN_MS unless their text changes.
 * Limits: STATEFILE_* in bounds.h; the file's own in snapfile.c.
 */
#define _GNU_SOURCE		/* close_range() */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "monotime.h"
#include "snapfile.h"
#include "snapshot.h"
#include "statefile.h"
#include "xalloc.h"

#define MSG_SIZE 512

struct statefile {
	struct daemon *d;
	char *path;
	char *tmp;		/* path.tmp */
	char *dir;		/* its directory, for stat and fsync */
	struct event *ev_timer;	/* the next write, or the next refresh */
	struct event *ev_pipe;	/* the running writer's report */

	pid_t writer;		/* 0: none running */
	int pipe_fd;
	char msg[MSG_SIZE];	/* what the writer said */
	size_t msglen;
	double fork_ms;
	time_t writing_at;	/* d->current_at the writer saves */
	size_t writing_rows;

	bool dirty;		/* changed since the last write started */
	uint64_t first_dirty;	/* monotime_ms of the oldest unsaved change */
	uint64_t last_change;
	uint64_t started;	/* the last write started; 0: none yet */
	uint64_t checked;	/* the last refresh found nothing new */
	uint64_t retry_after;	/* after a failure */
	int64_t generation;
	char ident[SNAPFILE_MAX_IDENTITY + 1];	/* of d->snap: identity() */
	char *db_conninfo;	/* what db_ident was resolved from */
	char db_ident[SNAPFILE_MAX_IDENTITY + 1];
	time_t saved_at;	/* in the file now; 0: none */

	bool tried_serve;
	bool dir_warned;
	bool failing;
	char last_warning[MSG_SIZE + 200];
	uint64_t last_warning_at;
};

static void schedule(struct statefile *st);

/* Write failures: once per STATEFILE_WARN_MS, or when the text changes. */
static void
warn_write(struct statefile *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
warn_write(struct statefile *st, const char *fmt, ...)
{
	char line[sizeof(st->last_warning)];
	uint64_t now = monotime_ms();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	st->failing = true;
	if (strcmp(line, st->last_warning) == 0 &&
	    now - st->last_warning_at < STATEFILE_WARN_MS) {
		log_debug("%s", line);
		return;
	}
	log_warning("%s", line);
	snprintf(st->last_warning, sizeof(st->last_warning), "%s", line);
	st->last_warning_at = now;
}

/* false, and one warning in the process's life, if the directory is gone */
static bool
dir_exists(struct statefile *st)
{
	struct stat sb;

	if (stat(st->dir, &sb) == 0 || errno != ENOENT)
		return true;
	if (!st->dir_warned)
		log_warning("statefile: directory %s does not exist: the policy "
		    "data is not kept for a restart during a database outage "
		    "(create it, e.g. with systemd's StateDirectory=, or set "
		    "state_file = to turn this off)", st->dir);
	st->dir_warned = true;
	return false;
}

/* A value of a connection string: the string's, else libpq's default. */
static const char *
conn_value(const PQconninfoOption *given, const PQconninfoOption *defs,
    const char *key)
{
	const PQconninfoOption *o;

	for (o = given; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL &&
		    o->val[0] != '\0')
			return o->val;
	for (o = defs; o != NULL && o->keyword != NULL; o++)
		if (strcmp(o->keyword, key) == 0 && o->val != NULL)
			return o->val;
	return "";
}

/*
 * The database the connection string names: host, hostaddr, port and
 * dbname as libpq takes them (the string, else the PG* variables and its
 * built-in defaults; dbname, else the user name, as libpq does).  Never
 * the password or any other key.  Kept for the string it was made from.
 */
static const char *
db_identity(struct statefile *st, const char *conninfo)
{
	static const char *const keys[] = {"host", "hostaddr", "port",
	    "dbname"};
	PQconninfoOption *given, *defs;
	char *err = NULL, *p;
	size_t i, used = 0;

	if (st->db_conninfo != NULL && strcmp(st->db_conninfo, conninfo) == 0)
		return st->db_ident;
	xfree(st->db_conninfo);
	st->db_conninfo = xstrdup(conninfo);
	given = PQconninfoParse(conninfo, &err);	/* main checked it */
	PQfreemem(err);
	defs = PQconndefaults();
	st->db_ident[0] = '\0';
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = conn_value(given, defs, keys[i]);

		if (v[0] == '\0' && strcmp(keys[i], "dbname") == 0)
			v = conn_value(given, defs, "user");
		used += (size_t)snprintf(st->db_ident + used,
		    sizeof(st->db_ident) - used, "%s=%s\n", keys[i], v);
		if (used >= sizeof(st->db_ident))
			break;
	}
	/* one line per key, whatever the values hold */
	for (p = st->db_ident; *p != '\0'; p++)
		if ((*p < 0x20 && *p != '\n') || *p > 0x7e)
			*p = '?';
	PQconninfoFree(given);
	PQconninfoFree(defs);
	return st->db_ident;
}

/*
 * What the rows were made from, by the configuration c: a file with
 * another identity would answer as another database or configuration
 * did (snapfile.c).
 */
static void
identity(struct statefile *st, const struct config *c, char *buf,
    size_t sz)
{
	/* cut at SNAPFILE_MAX_IDENTITY: the same cut written and read */
	if (snprintf(buf, sz, "%stable=%s\ncolumn_target=%s\n"
	    "column_policy=%s\ncolumn_parameters=%s\ncolumn_active=%s\n"
	    "column_expires=%s\n"
	    "column_comment=%s\npostfix_compat=%d\nfingerprint_digest=%s\n",
	    db_identity(st, c->database), c->table, c->column_target,
	    c->column_policy, c->column_parameters, c->column_active,
	    c->column_expires, c->column_comment, c->postfix_compat,
	    c->fingerprint_digest) < 0)
		buf[0] = '\0';
}

static unsigned long
refresh_ms(const struct statefile *st)
{
	unsigned long ms = st->d->cfg->max_stale / 4;

	if (ms > STATEFILE_REFRESH_MS)
		ms = STATEFILE_REFRESH_MS;
	return ms < STATEFILE_MIN_INTERVAL_MS ? STATEFILE_MIN_INTERVAL_MS : ms;
}

/* Something in d->snap is not in the file yet. */
static bool
has_news(const struct statefile *st)
{
	return st->d->snap != NULL &&
	    (st->dirty || st->d->current_at > st->saved_at);
}

/*
 * Worth a write at the way out, in the daemon (see the top of this
 * file): rows changed, or the file's saved time a refresh interval old.
 */
static bool
has_news_at_exit(const struct statefile *st)
{
	return st->d->snap != NULL && (st->dirty ||
	    (double)st->d->current_at - (double)st->saved_at >=
	    (double)refresh_ms(st) / 1000);
}

/* --- the write itself: in the child, or in the daemon at the way out */

struct sink {
	int fd;
	int err;
	uint64_t bytes;
};

static int
sink_write(void *arg, const void *buf, size_t len)
{
	struct sink *k = arg;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(k->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			k->err = n < 0 ? errno : EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		k->bytes += (uint64_t)n;
	}
	return 0;
}

/*
 * Encode snap into st->tmp, fsync, rename over st->path, fsync the
 * directory.  0, or -1 with the reason in msg.  Logs nothing: the child
 * must not write into the daemon's log stream.
 */
static int
write_file(const struct statefile *st, const struct snapshot *snap,
    const struct snapfile_meta *meta, uint64_t *bytes, char *msg,
    size_t msgsz)
{
	struct sink k = {-1, 0, 0};
	const char *step;
	int dfd;

	/*
	 * Never open what is there: a FIFO would block, a file be shared.
	 * What cannot be removed makes O_EXCL fail, and open says why.
	 */
	(void)unlink(st->tmp);
	k.fd = open(st->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (k.fd < 0) {
		snprintf(msg, msgsz, "open %s: %s", st->tmp, strerror(errno));
		return -1;
	}
	step = "write";
	if (snapfile_encode(snap, st->ident, meta, sink_write, &k) < 0)
		goto fail;
	step = "fsync";
	if (fsync(k.fd) < 0) {
		k.err = errno;
		goto fail;
	}
	step = "close";
	if (close(k.fd) < 0) {
		k.fd = -1;
		k.err = errno;
		goto fail;
	}
	k.fd = -1;
	if (rename(st->tmp, st->path) < 0) {
		snprintf(msg, msgsz, "rename %s to %s: %s", st->tmp, st->path,
		    strerror(errno));
		unlink(st->tmp);
		return -1;
	}
	/* the rename itself must survive a power cut */
	if ((dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(dfd) < 0 && errno != EINVAL) {
			snprintf(msg, msgsz, "fsync %s: %s", st->dir,
			    strerror(errno));
			close(dfd);
			return -1;
		}
		close(dfd);
	}
	*bytes = k.bytes;
	return 0;
fail:
	snprintf(msg, msgsz, "%s %s: %s", step, st->tmp,
	    k.err != 0 ? strerror(k.err) : "encoding failed");
	if (k.fd >= 0)
		close(k.fd);
	unlink(st->tmp);
	return -1;
}

/* --- the writer process */

/*
 * The child, with every signal blocked: the handlers the daemon installed
 * are not for it.
 */
static void
child_signals(void)
{
	struct sigaction sa, old;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP ||
		    sigaction(sig, NULL, &old) < 0)
			continue;
		if (!(old.sa_flags & SA_SIGINFO) &&
		    (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN))
			continue;
		sigaction(sig, &sa, NULL);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The child: no descriptor of the daemon's but the pipe fd stays open. */
static void
close_others(int fd)
{
	long max;
	int i;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
	if ((fd <= 3 || close_range(3, (unsigned)fd - 1, 0) == 0) &&
	    close_range((unsigned)fd + 1, ~0U, 0) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > INT_MAX)
		max = 65536;
	for (i = 3; i < max; i++)
		if (i != fd)
			(void)close(i);
}

static void
child_main(struct statefile *st, int fd, const struct snapfile_meta *meta)
{
	char msg[MSG_SIZE];
	uint64_t bytes = 0;
	double t0 = monotime_sec();
	int n, rc;

	child_signals();
	close_others(fd);
	rc = write_file(st, st->d->snap, meta, &bytes, msg, sizeof(msg));
	if (rc == 0)
		n = snprintf(msg, sizeof(msg), "ok %" PRIu64 " %.0f", bytes,
		    (monotime_sec() - t0) * 1000);
	else
		n = (int)strlen(msg);
	if (n > 0)
		(void)!write(fd, msg, (size_t)n < sizeof(msg) ? (size_t)n :
		    sizeof(msg) - 1);
	_exit(rc == 0 ? 0 : 1);
}

/*
 * The writer's pipe reached its end: reap it (unless wait_writer() did,
 * or gave up), take its word.
 */
static void
writer_done(struct statefile *st, bool reap)
{
	int status = 0;
	pid_t r = -1;
	uint64_t bytes;
	double ms;

	event_free(st->ev_pipe);
	st->ev_pipe = NULL;
	close(st->pipe_fd);
	st->pipe_fd = -1;
	/* its end of the pipe closes as it exits: this wait is short */
	while (reap && (r = waitpid(st->writer, &status, 0)) < 0 &&
	    errno == EINTR)
		;
	st->writer = 0;
	st->msg[st->msglen] = '\0';
	if (sscanf(st->msg, "ok %" SCNu64 " %lf", &bytes, &ms) == 2 &&
	    (r < 0 || (WIFEXITED(status) && WEXITSTATUS(status) == 0))) {
		st->saved_at = st->writing_at;
		st->d->stats.state_saved_at = (double)st->saved_at;
		log_debug("statefile: wrote %s: %zu rows, %" PRIu64 " KiB, "
		    "generation %" PRId64 ", in %.0f ms (fork %.1f ms)",
		    st->path, st->writing_rows, bytes / 1024, st->generation,
		    ms, st->fork_ms);
		if (st->failing)
			log_info("statefile: %s written again", st->path);
		st->failing = false;
		st->dir_warned = false;
	} else {
		if (st->msglen == 0 && WIFSIGNALED(status))
			snprintf(st->msg, sizeof(st->msg), "the writer process "
			    "was killed by signal %d", WTERMSIG(status));
		else if (st->msglen == 0)
			snprintf(st->msg, sizeof(st->msg), "the writer process "
			    "ended without a word");
		warn_write(st, "statefile: cannot save the policy data to %s: "
		    "%s", st->path, st->msg);
		/* try again later, with whatever is current then */
		st->dirty = true;
		if (st->first_dirty == 0)
			st->first_dirty = monotime_ms();
		st->retry_after = monotime_ms() + STATEFILE_RETRY_MS;
	}
}

static void
on_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct statefile *st = arg;
	ssize_t n;

	(void)what;
	n = read(fd, st->msg + st->msglen, sizeof(st->msg) - 1 - st->msglen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		st->msglen += (size_t)n;
		if (st->msglen < sizeof(st->msg) - 1)
			return;
	}
	writer_done(st, true);
	schedule(st);
}

static void
start_writer(struct statefile *st)
{
	struct daemon *d = st->d;
	struct snapfile_meta meta = {d->current_at, st->generation, 0};
	sigset_t all, old;
	int pfd[2];
	double t0;
	pid_t pid;

	if (!dir_exists(st)) {
		st->retry_after = monotime_ms() + STATEFILE_RETRY_MS;
		return;
	}
	if (pipe(pfd) < 0) {
		warn_write(st, "statefile: cannot save the policy data to %s: "
		    "pipe: %s", st->path, strerror(errno));
		st->retry_after = monotime_ms() + STATEFILE_RETRY_MS;
		return;
	}
	/* no handler may run in the child before it resets them */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	t0 = monotime_sec();
	pid = fork();
	if (pid == 0)
		child_main(st, pfd[1], &meta);
	st->fork_ms = (monotime_sec() - t0) * 1000;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pfd[1]);
	if (pid < 0) {
		warn_write(st, "statefile: cannot save the policy data to %s: "
		    "fork: %s", st->path, strerror(errno));
		close(pfd[0]);
		st->retry_after = monotime_ms() + STATEFILE_RETRY_MS;
		return;
	}
	fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	st->writer = pid;
	st->pipe_fd = pfd[0];
	st->msglen = 0;
	st->ev_pipe = event_new(d->base, pfd[0], EV_READ | EV_PERSIST, on_pipe,
	    st);
	if (st->ev_pipe == NULL || event_add(st->ev_pipe, NULL) < 0)
		log_panic("statefile: cannot watch the writer's pipe");
	st->writing_at = d->current_at;
	st->writing_rows = snapshot_rows(d->snap);
	st->started = monotime_ms();
	st->dirty = false;
	st->first_dirty = 0;
}

/* --- timing */

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct statefile *st = arg;

	(void)fd;
	(void)what;
	if (st->writer != 0)
		return;		/* writer_done() schedules */
	if (has_news(st))
		start_writer(st);
	else
		st->checked = monotime_ms();
	schedule(st);
}

/* Arm the timer for the next write (see the top of this file). */
static void
schedule(struct statefile *st)
{
	uint64_t now = monotime_ms(), at, floor;
	struct timeval tv;

	if (st->writer != 0 || st->d->snap == NULL)
		return;
	if (st->dirty) {
		at = st->last_change + STATEFILE_QUIET_MS;
		if (st->first_dirty != 0 &&
		    at > st->first_dirty + STATEFILE_MAX_DELAY_MS)
			at = st->first_dirty + STATEFILE_MAX_DELAY_MS;
	} else {
		at = (st->started > st->checked ? st->started : st->checked) +
		    refresh_ms(st);
	}
	floor = st->started != 0 ? st->started + STATEFILE_MIN_INTERVAL_MS : 0;
	if (floor < st->retry_after)
		floor = st->retry_after;
	if (at < floor)
		at = floor;
	at = at > now ? at - now : 0;
	tv.tv_sec = (time_t)(at / 1000);
	tv.tv_usec = (suseconds_t)(at % 1000) * 1000;
	event_add(st->ev_timer, &tv);
}

void
statefile_changed(struct statefile *st, const struct config *cfg,
    int64_t generation)
{
	uint64_t now;

	if (st == NULL)
		return;
	now = monotime_ms();
	identity(st, cfg, st->ident, sizeof(st->ident));
	st->dirty = true;
	st->generation = generation;
	st->last_change = now;
	if (st->first_dirty == 0)
		st->first_dirty = now;
	schedule(st);
}

/* --- start and stop */

struct statefile *
statefile_open(struct daemon *d)
{
	const char *path = d->cfg->state_file;
	struct statefile *st;
	const char *slash;
	size_t n;

	if (path == NULL || path[0] == '\0')
		return NULL;
	st = xcalloc(1, sizeof(*st));
	st->d = d;
	st->path = xstrdup(path);
	n = strlen(path);
	st->tmp = xmalloc(n + sizeof(".tmp"));
	memcpy(st->tmp, path, n);
	memcpy(st->tmp + n, ".tmp", sizeof(".tmp"));
	slash = strrchr(path, '/');	/* config: an absolute path */
	n = slash == NULL || slash == path ? 1 : (size_t)(slash - path);
	st->dir = xmalloc(n + 1);
	memcpy(st->dir, slash == NULL ? "/" : path, n);
	st->dir[n] = '\0';
	st->pipe_fd = -1;
	st->generation = -1;
	if ((st->ev_timer = evtimer_new(d->base, on_timer, st)) == NULL)
		log_fatal(1, "statefile: cannot create a timer");
	(void)dir_exists(st);
	return st;
}

/*
 * Wait for a writer under way, as the loop would have, for at most
 * STATEFILE_STOP_WAIT_MS; then kill it (writer_done() takes that as a
 * failed write, so the data counts as unsaved).
 */
static void
wait_writer(struct statefile *st)
{
	uint64_t deadline = monotime_ms() + STATEFILE_STOP_WAIT_MS, now;
	struct timespec nap = {0, 5000000};
	struct pollfd p;
	int i;

	if (st->writer == 0)
		return;
	while ((now = monotime_ms()) < deadline) {
		ssize_t n;

		p.fd = st->pipe_fd;
		p.events = POLLIN;
		p.revents = 0;
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;	/* EINTR, or the deadline */
		n = read(st->pipe_fd, st->msg + st->msglen,
		    sizeof(st->msg) - 1 - st->msglen);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		st->msglen += (size_t)n;
		if (st->msglen >= sizeof(st->msg) - 1)
			break;
	}
	if (now >= deadline) {
		kill(st->writer, SIGKILL);
		st->msglen = (size_t)snprintf(st->msg, sizeof(st->msg),
		    "the writer process did not finish within %d ms at the "
		    "way out: killed", STATEFILE_STOP_WAIT_MS);
		/* stuck in the kernel it may not die at once: left */
		for (i = 0; i < 20; i++) {
			if (waitpid(st->writer, NULL, WNOHANG) != 0)
				break;
			nanosleep(&nap, NULL);
		}
		writer_done(st, false);
		return;
	}
	writer_done(st, true);
}

void
statefile_flush(struct statefile *st)
{
	struct daemon *d;
	struct snapfile_meta meta;
	char msg[MSG_SIZE];
	uint64_t bytes;
	double t0;

	if (st == NULL)
		return;
	d = st->d;
	wait_writer(st);
	if (!has_news_at_exit(st)) {
		if (has_news(st)) {
			char when[32];

			lifecycle_utc((double)st->saved_at, when, sizeof(when));
			log_debug("statefile: %s not written at the way out: "
			    "the rows are as saved at %s, less than %lu s ago",
			    st->path, when, refresh_ms(st) / 1000);
		}
		return;
	}
	if (!dir_exists(st))
		return;
	meta.saved = d->current_at;
	meta.generation = st->generation;
	meta.rows = 0;
	t0 = monotime_sec();
	if (write_file(st, d->snap, &meta, &bytes, msg, sizeof(msg)) < 0) {
		warn_write(st, "statefile: cannot save the policy data to %s: "
		    "%s", st->path, msg);
		return;
	}
	st->saved_at = d->current_at;
	st->d->stats.state_saved_at = (double)st->saved_at;
	st->dirty = false;
	log_info("statefile: saved %zu rows to %s in %.0f ms",
	    snapshot_rows(d->snap), st->path, (monotime_sec() - t0) * 1000);
}

void
statefile_close(struct statefile *st)
{
	if (st == NULL)
		return;
	statefile_flush(st);
	event_free(st->ev_timer);
	xfree(st->db_conninfo);
	xfree(st->path);
	xfree(st->tmp);
	xfree(st->dir);
	xfree(st);
}

time_t
statefile_saved_at(const struct statefile *st)
{
	return st != NULL ? st->saved_at : 0;
}

/* --- serving the file */

/*
 * Why the open file sb may have been written by someone else than this
 * daemon (into why), or false.
 */
static bool
not_ours(const struct statefile *st, const struct stat *sb, char *why,
    size_t sz)
{
	struct stat ds;

	if (!S_ISREG(sb->st_mode))
		snprintf(why, sz, "not a regular file");
	else if (sb->st_uid != geteuid())
		snprintf(why, sz, "owned by uid %lu, not by the daemon's "
		    "user (uid %lu)", (unsigned long)sb->st_uid,
		    (unsigned long)geteuid());
	else if (sb->st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, sz, "writable by its group or by others "
		    "(mode %04o)", (unsigned)(sb->st_mode & 07777));
	else if (stat(st->dir, &ds) == 0 && (ds.st_mode & S_IWOTH) &&
	    !(ds.st_mode & S_ISVTX))
		snprintf(why, sz, "its directory %s is writable by others "
		    "and not sticky (mode %04o)", st->dir,
		    (unsigned)(ds.st_mode & 07777));
	else
		return false;
	return true;
}

bool
statefile_serve(struct statefile *st)
{
	struct daemon *d;
	char id[SNAPFILE_MAX_IDENTITY + 1], detail[300], when[32];
	struct snapfile_meta meta;
	struct policy_opts opts;
	struct snapshot *s = NULL;
	enum snapfile_status rc;
	struct stat sb;
	void *map = NULL;
	size_t expired;
	time_t now;
	double age;
	int fd, fl;

	if (st == NULL || st->tried_serve || st->d->snap != NULL)
		return false;
	st->tried_serve = true;
	d = st->d;
	/* a FIFO must not block the loop, a link not lead elsewhere */
	if ((fd = open(st->path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			log_info("statefile: no %s: no policy data to serve "
			    "while the database is unreachable", st->path);
		else if (errno == ELOOP)
			log_warning("statefile: %s refused: a symbolic link",
			    st->path);
		else
			log_warning("statefile: cannot read %s: %s", st->path,
			    strerror(errno));
		return false;
	}
	if (fstat(fd, &sb) < 0) {
		log_warning("statefile: cannot read %s: fstat: %s", st->path,
		    strerror(errno));
		close(fd);
		return false;
	}
	if (not_ours(st, &sb, detail, sizeof(detail))) {
		log_warning("statefile: %s refused: %s; not served", st->path,
		    detail);
		close(fd);
		return false;
	}
	if ((fl = fcntl(fd, F_GETFL)) >= 0)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	if (sb.st_size > 0 && (map = mmap(NULL, (size_t)sb.st_size, PROT_READ,
	    MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		log_warning("statefile: cannot read %s: mmap: %s", st->path,
		    strerror(errno));
		close(fd);
		return false;
	}
	close(fd);
	identity(st, d->cfg, id, sizeof(id));
	policy_opts_init(&opts);
	opts.compat = d->cfg->postfix_compat;
	opts.fingerprint_len = d->cfg->fingerprint_len;
	rc = snapfile_decode(map != NULL ? map : "", (size_t)sb.st_size, id,
	    &opts, &meta, &s, detail, sizeof(detail));
	if (map != NULL)
		munmap(map, (size_t)sb.st_size);
	if (rc != SNAPFILE_OK) {
		log_warning("statefile: %s refused: %s%s%s%s; not served",
		    st->path, snapfile_status_name(rc), detail[0] ? " (" : "",
		    detail, detail[0] ? ")" : "");
		return false;
	}
	now = time(NULL);
	if (meta.saved > (int64_t)now + STATEFILE_AHEAD_MS / 1000) {
		lifecycle_utc((double)meta.saved, when, sizeof(when));
		log_warning("statefile: %s refused: saved later than now "
		    "(at %s; the clock went back?); not served", st->path,
		    when);
		snapshot_free(s);
		return false;
	}

	/* the clock that judged the expiries is gone: the local one */
	expired = snapshot_expire(s, (double)now, NULL, NULL);
	age = (double)now - (double)meta.saved;
	if (age < 0)
		age = 0;	/* within STATEFILE_AHEAD_MS: not older */
	d->snap = s;
	d->current_at = meta.saved < (int64_t)now ? (time_t)meta.saved : now;
	d->current_mono = monotime_sec() - age;
	d->in_sync = false;
	st->saved_at = (time_t)meta.saved;
	st->d->stats.state_saved_at = (double)st->saved_at;
	st->generation = meta.generation;
	snprintf(st->ident, sizeof(st->ident), "%s", id);
	lifecycle_utc((double)meta.saved, when, sizeof(when));
	if (age > (double)d->cfg->max_stale / 1000)
		log_warning("statefile: %s saved at %s (%zu rows) is older "
		    "than max_stale: answering TEMP until the database is "
		    "back", st->path, when, snapshot_rows(s));
	else
		log_info("statefile: serving %zu rows from %s saved at %s "
		    "(generation %" PRId64 ", %zu expired since) while the "
		    "database is unreachable", snapshot_rows(s), st->path,
		    when, meta.generation, expired);
	return true;
}
