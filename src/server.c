/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * server - listeners.
 *
 * At max_connections a new connection closes the longest-idle one, if
 * that has been idle CONN_EVICT_IDLE_MS: otherwise one local user holding
 * every slot with idle connections would stop all mail, and Postfix
 * reconnects without a word after a close between requests.  Only when
 * every connection is busy is the new one accepted and closed at once
 * (counted): the peer learns immediately instead of sitting in the
 * backlog, and Postfix reports a lookup error rather than a 100 s timeout.
 * Evictions come in floods, so the first is logged, then a count at most
 * every SERVER_EVICT_LOG_MS.  On EMFILE/ENFILE the listener pauses
 * SERVER_ACCEPT_BACKOFF_MS instead of spinning on an accept() that cannot
 * succeed (PgBouncer pool_accept).
 *
 * A unix socket gets listen_owner, listen_group and listen_mode (by
 * default the daemon's user and group, mode 0660) between bind() and
 * listen(), so Postfix's smtp(8) can be let in by group and nobody else.
 * This runs as root when the daemon starts as root, so it never follows
 * a link: the mode comes from the umask at bind(), the owner from
 * fchownat(AT_SYMLINK_NOFOLLOW) relative to the opened directory, and the
 * directory must let nobody but root and the daemon's own user replace
 * the socket (dir_safe()), or startup stops with a configuration error.
 *
 * Invariants: listeners never block; a unix socket path is removed only if
 * it is a socket; a unix socket never accepts with wider permissions than
 * listen_mode; no chown or chmod follows a link; a socket is bound only in
 * a directory that root and the effective uid alone may change (or a
 * sticky one); no directory is created.
 * Limits: CONFIG_MAX_LISTEN, max_connections, CONN_EVICT_IDLE_MS,
 * SERVER_ACCEPT_BACKOFF_MS, SERVER_EVICT_LOG_MS, SERVER_BACKLOG.
 */
#define _GNU_SOURCE		/* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "bounds.h"
#include "config.h"
#include "conn.h"
#include "inetlisten.h"
#include "log.h"
#include "server.h"
#include "xalloc.h"

struct listener {
	struct server *srv;
	struct evconnlistener *lev;
	struct event *resume;
	char *path;		/* unix socket to unlink at exit, or NULL */
	const char *endpoint;
};

struct server {
	struct daemon *d;
	struct listener l[CONFIG_MAX_LISTEN];
	size_t n;
};

/* One line for the first eviction, then one count per interval at most. */
static void
log_eviction(struct daemon *d)
{
	uint64_t n = ++d->conns_evicted;

	if (n == 1) {
		log_warning("server: %zu connections, the limit: closing the "
		    "longest-idle connection for each new one (counted, not "
		    "logged one by one)", d->max_conns);
		d->conns_evicted_logged = n;
		d->conns_evicted_at = d->conn_now;
	} else if (d->conn_now - d->conns_evicted_at >= SERVER_EVICT_LOG_MS) {
		log_warning("server: closed %llu idle connections for new ones "
		    "since the last count (%llu in all)",
		    (unsigned long long)(n - d->conns_evicted_logged),
		    (unsigned long long)n);
		d->conns_evicted_logged = n;
		d->conns_evicted_at = d->conn_now;
	}
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct daemon *d = l->srv->d;

	(void)lev;
	(void)sa;
	(void)salen;
	if (d->nconns >= d->max_conns) {
		if (!conn_evict(d)) {
			if (d->conns_refused++ % 1000 == 0)
				log_warning("server: %zu connections, the "
				    "limit, none idle: refusing more",
				    d->max_conns);
			evutil_closesocket(fd);
			return;
		}
		log_eviction(d);
	}
	conn_new(d, fd);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {SERVER_ACCEPT_BACKOFF_MS / 1000,
	    (SERVER_ACCEPT_BACKOFF_MS % 1000) * 1000};

	log_warning("server: %s: accept: %s; pausing this listener",
	    l->endpoint, evutil_socket_error_to_string(err));
	evconnlistener_disable(lev);
	event_add(l->resume, &tv);
}

/*
 * Who the socket file belongs to: listen_owner / listen_group by name,
 * else the user the daemon runs as (and its group) when `user` is set,
 * else as created (-1: leave).  -1 with err set when a name is unknown.
 */
static int
socket_owner(const struct config *cfg, uid_t *uid, gid_t *gid, char *err,
    size_t errsz)
{
	struct passwd *pw = NULL;
	struct group *gr;

	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (cfg->user[0] != '\0' && (pw = getpwnam(cfg->user)) != NULL) {
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	}
	if (cfg->listen_owner[0] != '\0') {
		if ((pw = getpwnam(cfg->listen_owner)) == NULL) {
			snprintf(err, errsz, "listen_owner: no such user "
			    "\"%s\"", cfg->listen_owner);
			return -1;
		}
		*uid = pw->pw_uid;
	}
	if (cfg->listen_group[0] != '\0') {
		if ((gr = getgrnam(cfg->listen_group)) == NULL) {
			snprintf(err, errsz, "listen_group: no such group "
			    "\"%s\"", cfg->listen_group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

/*
 * Open the socket's directory: every later step works relative to this
 * descriptor, so no path is resolved again once the directory passed
 * dir_safe().  The directory must exist: the daemon creates none
 * (systemd's RuntimeDirectory= does, or the package), and bind()'s ENOENT
 * would not say which part is missing.
 */
static int
open_dir(const char *path, const char *dir, char *err, size_t errsz)
{
	int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0)
		snprintf(err, errsz, "listen: unix:%s: directory %s: %s%s",
		    path, dir, errno == ENOTDIR ? "not a directory" :
		    strerror(errno), errno == ENOENT ?
		    " (tlspolicyd creates no directories: create it, e.g. "
		    "with systemd's RuntimeDirectory=)" : "");
	return dfd;
}

/*
 * Nobody but root and the daemon's own (effective) user may be able to
 * replace the socket between bind() and the chown, or afterwards: the
 * directory belongs to one of them, and is writable by its group or
 * others only with the sticky bit (then only a file's owner, the
 * directory's owner and root may rename or remove the file).  Started as
 * root, that means a directory of root's: one of `user`'s would let that
 * user (any process of the --review service, say) swap the socket for a
 * link and have root give it any file.  0 if safe, else -1 with err.
 */
static int
dir_safe(int dfd, const char *path, const char *dir, char *err,
    size_t errsz)
{
	uid_t me = geteuid();
	struct stat st;

	if (fstat(dfd, &st) < 0) {
		snprintf(err, errsz, "listen: unix:%s: directory %s: %s",
		    path, dir, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != me) {
		if (me == 0)
			snprintf(err, errsz, "listen: unix:%s: directory %s "
			    "belongs to uid %ld: started as root, tlspolicyd "
			    "needs the socket's directory to belong to root "
			    "(e.g. install -d -o root -g postfix -m 0750), or "
			    "its owner could have root chown another file",
			    path, dir, (long)st.st_uid);
		else
			snprintf(err, errsz, "listen: unix:%s: directory %s "
			    "belongs to uid %ld, neither root nor the uid "
			    "tlspolicyd runs as (%ld): its owner could replace "
			    "the socket", path, dir, (long)st.st_uid,
			    (long)me);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
	    (st.st_mode & S_ISVTX) == 0) {
		snprintf(err, errsz, "listen: unix:%s: directory %s is "
		    "writable by its %s (mode %04o) without the sticky bit: "
		    "anyone who may write there could replace the socket",
		    path, dir, (st.st_mode & S_IWOTH) != 0 ? "others" :
		    "group", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * Within the socket's directory (the current directory): remove a stale
 * socket from an earlier run; a live one belongs to a running instance and
 * is left alone, and so is anything that is not a socket (bind() then
 * fails with EADDRINUSE: a link planted there is never followed).
 */
static int
remove_stale(const char *path, const char *name, char *err, size_t errsz)
{
	struct sockaddr_un sun;
	struct stat st;
	bool live;
	int cfd;

	if (lstat(name, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	/* non-blocking: a live listener with a full backlog says EAGAIN */
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	live = cfd >= 0 && (connect(cfd, (struct sockaddr *)&sun,
	    (socklen_t)sizeof(sun)) == 0 || errno == EAGAIN);
	if (cfd >= 0)
		close(cfd);
	if (live) {
		snprintf(err, errsz, "listen: unix:%s: another process is "
		    "listening on it", path);
		return -1;
	}
	unlink(name);
	return 0;
}

/*
 * Within the socket's directory (the current directory, dfd): bind()
 * under umask ~listen_mode, so the socket is born with listen_mode and
 * never passes through a wider one; give it listen_owner/listen_group
 * with fchownat(AT_SYMLINK_NOFOLLOW), and only if it still is the socket
 * just bound; check type, inode, owner, group and mode once more (a
 * default ACL on the directory would override the umask); only then
 * listen().  No call that follows a link is made on the path, and before
 * listen() nobody can connect at all.
 */
static int
bind_unix_fd(struct daemon *d, int dfd, const char *path, const char *name,
    uid_t uid, gid_t gid, char *err, size_t errsz)
{
	const struct config *cfg = d->cfg;
	mode_t mode = (mode_t)cfg->listen_mode & 0777;
	struct sockaddr_un sun;
	struct stat st, st2;
	mode_t old;
	int fd, rc;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsz, "listen: unix:%s: socket: %s", path,
		    strerror(errno));
		return -1;
	}
	old = umask(~mode & 0777);
	rc = bind(fd, (const struct sockaddr *)&sun, (socklen_t)sizeof(sun));
	umask(old);
	if (rc < 0) {
		snprintf(err, errsz, "listen: unix:%s: %s", path,
		    errno == EADDRINUSE ? "something that is not a socket is "
		    "in the way (not removed)" : strerror(errno));
		close(fd);
		return -1;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISSOCK(st.st_mode)) {
		snprintf(err, errsz, "listen: unix:%s: replaced right after "
		    "bind()", path);
		close(fd);
		return -1;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
		snprintf(err, errsz, "%s: unix:%s: chown to %ld:%ld: %s",
		    cfg->listen_group[0] != '\0' ? "listen_group" :
		    cfg->listen_owner[0] != '\0' ? "listen_owner" : "user",
		    path, uid == (uid_t)-1 ? -1L : (long)uid,
		    gid == (gid_t)-1 ? -1L : (long)gid, strerror(errno));
		goto fail;
	}
	if (fstatat(dfd, name, &st2, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISSOCK(st2.st_mode) || st2.st_ino != st.st_ino ||
	    st2.st_dev != st.st_dev) {
		snprintf(err, errsz, "listen: unix:%s: replaced while its "
		    "owner was set", path);
		close(fd);
		return -1;
	}
	if ((uid != (uid_t)-1 && st2.st_uid != uid) ||
	    (gid != (gid_t)-1 && st2.st_gid != gid)) {
		snprintf(err, errsz, "listen: unix:%s: owner %ld:%ld after "
		    "chown, not %ld:%ld", path, (long)st2.st_uid,
		    (long)st2.st_gid, uid == (uid_t)-1 ? -1L : (long)uid,
		    gid == (gid_t)-1 ? -1L : (long)gid);
		goto fail;
	}
	if ((st2.st_mode & 07777) != mode) {
		snprintf(err, errsz, "listen_mode: unix:%s: created with mode "
		    "%04o, not %04o (a default ACL on its directory?)", path,
		    (unsigned)(st2.st_mode & 07777), (unsigned)mode);
		goto fail;
	}
	if (listen(fd, SERVER_BACKLOG) < 0) {
		snprintf(err, errsz, "listen: unix:%s: listen: %s", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	/* ours, checked above: the directory lets nobody else swap it */
	unlinkat(dfd, name, 0);
	close(fd);
	return -1;
}

/*
 * unix:PATH.  The directory is opened once and made the current
 * directory while the socket is bound, so bind(), the owner change and
 * the checks all name the entry in that very directory (cwd is restored
 * before returning).  *cfgerr is set when the directory breaks the rule
 * of dir_safe(): a configuration error.
 */
static struct evconnlistener *
bind_unix(struct daemon *d, struct listener *l, const char *path, uid_t uid,
    gid_t gid, bool *cfgerr, char *err, size_t errsz)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	const char *name = slash == NULL ? path : slash + 1;
	struct evconnlistener *lev;
	int dfd, cwd, fd = -1;

	if (strlen(path) >= sizeof(dir) || *name == '\0') {
		snprintf(err, errsz, "listen: unix:%s: bad socket path", path);
		return NULL;
	}
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((dfd = open_dir(path, dir, err, errsz)) < 0)
		return NULL;
	if (dir_safe(dfd, path, dir, err, errsz) < 0) {
		*cfgerr = true;
		close(dfd);
		return NULL;
	}
	if ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fchdir(dfd) < 0) {
		snprintf(err, errsz, "listen: unix:%s: cannot enter %s: %s",
		    path, dir, strerror(errno));
		if (cwd >= 0)
			close(cwd);
		close(dfd);
		return NULL;
	}
	if (remove_stale(path, name, err, errsz) == 0)
		fd = bind_unix_fd(d, dfd, path, name, uid, gid, err, errsz);
	if (fchdir(cwd) < 0)
		log_fatal(1, "server: cannot return to the working directory: "
		    "%s", strerror(errno));
	close(cwd);
	if (fd < 0) {
		close(dfd);
		return NULL;
	}
	/* backlog 0: already listening */
	lev = evconnlistener_new(d->base, on_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		snprintf(err, errsz, "listen: unix:%s: %s", path,
		    strerror(errno));
		unlinkat(dfd, name, 0);
		close(dfd);
		close(fd);
		return NULL;
	}
	close(dfd);
	l->path = xstrdup(path);
	return lev;
}

struct server *
server_open(struct daemon *d, bool *cfgerr, char *err, size_t errsz)
{
	struct server *s;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	size_t i;

	*cfgerr = false;
	/*
	 * The names first, whatever the listeners: an unknown one is a
	 * configuration error even where no unix: socket uses it yet.
	 */
	if (socket_owner(d->cfg, &uid, &gid, err, errsz) < 0) {
		*cfgerr = true;
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->d = d;
	if (conn_start(d) < 0) {
		snprintf(err, errsz, "cannot arm the connections' idle timer");
		xfree(s);
		return NULL;
	}
	for (i = 0; i < d->cfg->nlisten; i++) {
		const char *ep = d->cfg->listen[i];
		struct listener *l = &s->l[i];

		l->srv = s;
		l->endpoint = ep;
		if (strncmp(ep, "inet:", 5) == 0)
			l->lev = inetlisten(d->base, ep + 5, on_accept, l,
			    SERVER_BACKLOG, "listen", err, errsz);
		else
			l->lev = bind_unix(d, l, ep + 5, uid, gid, cfgerr,
			    err, errsz);
		if (l->lev == NULL) {
			server_free(s);
			return NULL;
		}
		s->n = i + 1;
		evconnlistener_set_error_cb(l->lev, on_accept_error);
		l->resume = evtimer_new(d->base, on_resume, l);
		log_info("server: listening on %s", ep);
	}
	return s;
}

/* Close one listener; its unix socket file goes with it. */
static void
close_listener(struct listener *l)
{
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->resume != NULL)
		event_free(l->resume);
	if (l->path != NULL) {
		/* may fail after the privilege drop: next start removes it */
		unlink(l->path);
		xfree(l->path);
	}
	l->lev = NULL;
	l->resume = NULL;
	l->path = NULL;
}

void
server_stop_accepting(struct server *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		close_listener(&s->l[i]);
}

void
server_free(struct server *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		close_listener(&s->l[i]);
	conn_stop(s->d);
	xfree(s);
}
