/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sdnotify - the systemd notification protocol without libsystemd.
 *
 * sd_notify(3) is one datagram of newline-separated KEY=VALUE pairs sent
 * to the unix socket named by $NOTIFY_SOCKET ("@" for the abstract
 * namespace); libsystemd's implementation does no more than that for our
 * messages, so a dependency on it would buy nothing but a tie to one init
 * system.  The socket is connected once, at start: a path socket checks
 * write permission at connect time, so the daemon keeps it after the
 * privilege drop; if the receiver went away, one reconnect is tried.
 *
 * STATUS= is sent from a timer only when its text changed, so a steady
 * daemon sends nothing; WATCHDOG=1 goes out from the event loop itself, so
 * a wedged loop stops the pings and systemd restarts the service.
 *
 * Invariants: nothing here blocks (a datagram to a full receiver is
 * dropped, MSG_DONTWAIT); a failure to notify is logged once per distinct
 * error and never stops the daemon.
 * Limits: SDNOTIFY_STATUS_MS, SDNOTIFY_MAX_MESSAGE.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "config.h"
#include "lifecycle.h"
#include "log.h"
#include "monotime.h"
#include "sdnotify.h"
#include "snapshot.h"
#include "xalloc.h"

struct sdnotify {
	struct daemon *d;
	int fd;
	struct sockaddr_un sun;
	socklen_t sunlen;
	int last_errno;		/* the last failure logged, 0 after success */
	struct event *ev_status;
	struct event *ev_watchdog;
	char status[SDNOTIFY_MAX_MESSAGE];	/* the STATUS= text last sent */
};

static int
sn_connect(struct sdnotify *sn)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sn->sun, sn->sunlen) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (sn->fd >= 0)
		close(sn->fd);
	sn->fd = fd;
	return 0;
}

struct sdnotify *
sdnotify_open(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sdnotify *sn;
	size_t len;

	if (path == NULL || path[0] == '\0')
		return NULL;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') ||
	    len >= sizeof(sn->sun.sun_path)) {
		log_warning("sdnotify: NOTIFY_SOCKET \"%s\" is not an absolute "
		    "path or @name: not notifying systemd", path);
		return NULL;
	}
	sn = xcalloc(1, sizeof(*sn));
	sn->fd = -1;
	sn->sun.sun_family = AF_UNIX;
	memcpy(sn->sun.sun_path, path, len);
	if (path[0] == '@')
		sn->sun.sun_path[0] = '\0';	/* abstract: no terminator */
	sn->sunlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
	    (path[0] == '/'));
	if (sn_connect(sn) < 0) {
		log_warning("sdnotify: NOTIFY_SOCKET %s: %s: not notifying "
		    "systemd", path, strerror(errno));
		xfree(sn);
		return NULL;
	}
	return sn;
}

void
sdnotify_free(struct sdnotify *sn)
{
	if (sn == NULL)
		return;
	if (sn->ev_status != NULL)
		event_free(sn->ev_status);
	if (sn->ev_watchdog != NULL)
		event_free(sn->ev_watchdog);
	if (sn->fd >= 0)
		close(sn->fd);
	xfree(sn);
}

void
sdnotify_send(struct sdnotify *sn, const char *msg)
{
	size_t len;
	ssize_t n;

	if (sn == NULL)
		return;
	len = strlen(msg);
	n = send(sn->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	/* systemd re-created its socket (daemon-reexec): connect again once */
	if (n < 0 && (errno == ECONNREFUSED || errno == ENOTCONN) &&
	    sn_connect(sn) == 0)
		n = send(sn->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != sn->last_errno)
			log_warning("sdnotify: cannot notify systemd: %s",
			    strerror(errno));
		sn->last_errno = errno;
		return;
	}
	sn->last_errno = 0;
}

void
sdnotify_status_text(const struct daemon *d, double now, char *out,
    size_t outsz)
{
	const char *db = d->db_connected ? "database connected" :
	    "database not connected";
	char when[32];

	if (d->snap == NULL) {
		snprintf(out, outsz, "no policy data yet%s%s: answering TEMP; "
		    "%s", d->why[0] ? ": " : "", d->why, db);
		return;
	}
	if (d->in_sync) {
		snprintf(out, outsz, "%zu rows, fresh; %s",
		    snapshot_rows(d->snap), db);
		return;
	}
	lifecycle_utc((double)d->current_at, when, sizeof(when));
	snprintf(out, outsz, "%zu rows, stale since %s%s; %s",
	    snapshot_rows(d->snap), when,
	    now - d->current_mono > (double)d->cfg->max_stale / 1000 ?
	    ", past max_stale: answering TEMP" : "", db);
}

void
sdnotify_update(struct sdnotify *sn)
{
	char line[sizeof(sn->status)], msg[sizeof(sn->status) + 8];

	if (sn == NULL)
		return;
	sdnotify_status_text(sn->d, monotime_sec(), line, sizeof(line));
	if (strcmp(line, sn->status) == 0)
		return;
	snprintf(msg, sizeof(msg), "STATUS=%s", line);
	sdnotify_send(sn, msg);
	memcpy(sn->status, line, sizeof(line));
}

static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sdnotify_update(arg);
}

static void
on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sdnotify_send(arg, "WATCHDOG=1");
}

uint64_t
sdnotify_watchdog_usec(const char *usec, const char *pid, long mypid)
{
	unsigned long long v;
	char *end;

	if (usec == NULL || usec[0] < '0' || usec[0] > '9')
		return 0;
	errno = 0;
	v = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return 0;
	if (pid != NULL && pid[0] != '\0') {
		long p;

		errno = 0;
		p = strtol(pid, &end, 10);
		if (errno != 0 || *end != '\0' || p != mypid)
			return 0;
	}
	return (uint64_t)v;
}

int
sdnotify_start(struct sdnotify *sn, struct daemon *d)
{
	struct timeval tv = {SDNOTIFY_STATUS_MS / 1000,
	    (SDNOTIFY_STATUS_MS % 1000) * 1000};
	uint64_t wd;

	if (sn == NULL)
		return 0;
	sn->d = d;
	sn->ev_status = event_new(d->base, -1, EV_PERSIST, on_status, sn);
	if (sn->ev_status == NULL || event_add(sn->ev_status, &tv) < 0)
		return -1;
	wd = sdnotify_watchdog_usec(getenv("WATCHDOG_USEC"),
	    getenv("WATCHDOG_PID"), (long)getpid());
	if (wd > 0) {
		/* half the interval, as sd_watchdog_enabled(3) advises */
		tv.tv_sec = (time_t)(wd / 2 / 1000000);
		tv.tv_usec = (suseconds_t)(wd / 2 % 1000000);
		sn->ev_watchdog = event_new(d->base, -1, EV_PERSIST,
		    on_watchdog, sn);
		if (sn->ev_watchdog == NULL ||
		    event_add(sn->ev_watchdog, &tv) < 0)
			return -1;
		log_info("sdnotify: pinging the systemd watchdog every %llu ms",
		    (unsigned long long)(wd / 2000));
	}
	return 0;
}
