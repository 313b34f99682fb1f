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
 *
 * Invariants: listeners never block; a unix socket path is removed only if
 * it is a socket; a unix socket never accepts with wider permissions than
 * listen_mode; no directory is created.
 * Limits: CONFIG_MAX_LISTEN, max_connections, CONN_EVICT_IDLE_MS,
 * SERVER_ACCEPT_BACKOFF_MS, SERVER_EVICT_LOG_MS, SERVER_BACKLOG.
 */
#include <errno.h>
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

static struct evconnlistener *
bind_inet(struct daemon *d, struct listener *l, const char *spec, char *err,
    size_t errsz)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res, *ai;
	struct evconnlistener *lev = NULL;
	size_t hl;
	int rc;

	/* HOST:PORT, [HOST]:PORT, [IPV6]:PORT; the port after the last ':' */
	port = strrchr(spec, ':');
	if (port == NULL || port == spec) {
		snprintf(err, errsz, "listen: \"inet:%s\" is not inet:HOST:PORT",
		    spec);
		return NULL;
	}
	hl = (size_t)(port - spec);
	if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errsz, "listen: host name too long");
		return NULL;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	port++;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errsz, "listen: inet:%s: %s", spec,
		    gai_strerror(rc));
		return NULL;
	}
	for (ai = res; ai != NULL && lev == NULL; ai = ai->ai_next)
		lev = evconnlistener_new_bind(d->base, on_accept, l,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
		    LEV_OPT_REUSEABLE, SERVER_BACKLOG, ai->ai_addr,
		    (int)ai->ai_addrlen);
	if (lev == NULL)
		snprintf(err, errsz, "listen: inet:%s: %s", l->endpoint + 5,
		    strerror(errno));
	freeaddrinfo(res);
	return lev;
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
 * The directory must exist: the daemon creates none (systemd's
 * RuntimeDirectory= does, or the package), and bind()'s ENOENT would not
 * say which part is missing.
 */
static int
check_parent(const char *path, char *err, size_t errsz)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct stat st;

	if (slash == NULL || slash == path)
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) < 0) {
		snprintf(err, errsz, "listen: unix:%s: directory %s: %s%s",
		    path, dir, strerror(errno), errno == ENOENT ?
		    " (tlspolicyd creates no directories: create it, e.g. "
		    "with systemd's RuntimeDirectory=)" : "");
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz, "listen: unix:%s: %s is not a directory",
		    path, dir);
		return -1;
	}
	return 0;
}

/*
 * bind() under umask 0177, so the socket is born owner-only; then chown
 * and chmod to listen_owner, listen_group and listen_mode; only then
 * listen().  No moment exists where the socket accepts connections with
 * wider permissions than configured (and before listen() nobody can
 * connect at all).
 */
static int
bind_unix_fd(struct daemon *d, const struct sockaddr_un *sun, char *err,
    size_t errsz)
{
	const struct config *cfg = d->cfg;
	const char *path = sun->sun_path;
	uid_t uid;
	gid_t gid;
	mode_t old;
	int fd, rc;

	if (socket_owner(cfg, &uid, &gid, err, errsz) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errsz, "listen: unix:%s: socket: %s", path,
		    strerror(errno));
		return -1;
	}
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)sun, (socklen_t)sizeof(*sun));
	umask(old);
	if (rc < 0) {
		snprintf(err, errsz, "listen: unix:%s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(path, uid, gid) < 0) {
		snprintf(err, errsz, "%s: unix:%s: chown to %ld:%ld: %s",
		    cfg->listen_group[0] != '\0' ? "listen_group" :
		    cfg->listen_owner[0] != '\0' ? "listen_owner" : "user",
		    path, uid == (uid_t)-1 ? -1L : (long)uid,
		    gid == (gid_t)-1 ? -1L : (long)gid, strerror(errno));
		goto fail;
	}
	if (chmod(path, (mode_t)cfg->listen_mode) < 0) {
		snprintf(err, errsz, "listen_mode: unix:%s: chmod %04lo: %s",
		    path, cfg->listen_mode, strerror(errno));
		goto fail;
	}
	if (listen(fd, SERVER_BACKLOG) < 0) {
		snprintf(err, errsz, "listen: unix:%s: listen: %s", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	unlink(path);
	close(fd);
	return -1;
}

static struct evconnlistener *
bind_unix(struct daemon *d, struct listener *l, const char *path, char *err,
    size_t errsz)
{
	struct sockaddr_un sun;
	struct evconnlistener *lev;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path) || path[0] == '\0') {
		snprintf(err, errsz, "listen: unix:%s: bad socket path", path);
		return NULL;
	}
	if (check_parent(path, err, errsz) < 0)
		return NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	/*
	 * A stale socket from an earlier run is removed; a live one belongs
	 * to a running instance and is left alone; nothing else is removed.
	 */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		int cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = cfd >= 0 && connect(cfd, (struct sockaddr *)&sun,
		    (socklen_t)sizeof(sun)) == 0;

		if (cfd >= 0)
			close(cfd);
		if (live) {
			snprintf(err, errsz, "listen: unix:%s: another process "
			    "is listening on it", path);
			return NULL;
		}
		unlink(path);
	}
	if ((fd = bind_unix_fd(d, &sun, err, errsz)) < 0)
		return NULL;
	/* backlog 0: already listening */
	lev = evconnlistener_new(d->base, on_accept, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (lev == NULL) {
		snprintf(err, errsz, "listen: unix:%s: %s", path,
		    strerror(errno));
		unlink(path);
		close(fd);
		return NULL;
	}
	l->path = xstrdup(path);
	return lev;
}

struct server *
server_open(struct daemon *d, char *err, size_t errsz)
{
	struct server *s = xcalloc(1, sizeof(*s));
	size_t i;

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
			l->lev = bind_inet(d, l, ep + 5, err, errsz);
		else
			l->lev = bind_unix(d, l, ep + 5, err, errsz);
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
