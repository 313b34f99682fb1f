/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main - command line, configuration, wiring, signals, the event loop.
 *
 * tlspolicyd never daemonises: systemd and other supervisors expect the
 * process they started to be the daemon (it tells systemd what it does,
 * sdnotify.h).  Started as root it binds its listeners, then runs as
 * `user` (privdrop.h) before it connects to the database.  Exit status: 0
 * after SIGTERM/SIGINT, 2 for a usage or configuration error (the message
 * names the option or key), 1 for any other fatal error.  --query, --check
 * and --review run the same loader once and exit.
 *
 * Signals: SIGTERM/SIGINT stop accepting, answer what the clients already
 * sent (for at most SERVICE_STOP_FLUSH_MS), then leave the loop.  SIGHUP
 * reads the same file and options again; each changed key is applied as
 * its config_key_reload() says, and the table is reloaded in full; once
 * stopping, SIGHUP is ignored.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#include "answer.h"
#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "pgsync.h"
#include "postconf.h"
#include "privdrop.h"
#include "review.h"
#include "sdnotify.h"
#include "server.h"
#include "snapshot.h"
#include "statefile.h"

#ifndef TLSPOLICYD_VERSION
#define TLSPOLICYD_VERSION "0.1.0"
#endif

#define EXIT_USAGE 2

enum {
	OPT_QUERY = 256,
	OPT_CHECK,
	OPT_HELP,
	OPT_VERSION,
	OPT_REVIEW,
	OPT_REVIEW_LEVEL,
	OPT_REVIEW_TIMEOUT,
	OPT_REVIEW_JOBS,
	OPT_FORMAT,
	OPT_KEY,		/* OPT_KEY + i: config key i */
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tlspolicyd [-f] [-c FILE] [--OPTION VALUE]...\n"
	    "       tlspolicyd [-c FILE] [--OPTION VALUE]... --query KEY\n"
	    "       tlspolicyd [-c FILE] [--OPTION VALUE]... --check\n"
	    "       tlspolicyd [-c FILE] [--OPTION VALUE]... --review "
	    "[--format json]\n"
	    "\n"
	    "Answers Postfix smtp_tls_policy_maps socketmap lookups from a\n"
	    "PostgreSQL table.\n"
	    "\n"
	    "  -c, --config FILE      config file (default %s if present)\n"
	    "  -f, --foreground       log to stderr instead of syslog\n"
	    "  --query KEY            load, print the reply to KEY, exit 0 OK,\n"
	    "                         1 NOTFOUND, 2 anything else\n"
	    "  --check                validate the config and every row; exit 0\n"
	    "                         clean, 1 errors, 2 could not check\n"
	    "  --review               ask posttls-finger whether each active\n"
	    "                         weakening override is still needed; exit\n"
	    "                         0 none removable, 1 some, 2 could not run\n"
	    "  --review-level LEVEL   default: postconf smtp_tls_security_level\n"
	    "  --review-timeout TIME  per target (default 60s)\n"
	    "  --review-jobs N        probes at a time (default 4), never two\n"
	    "                         on one MX host\n"
	    "  --format text|json     --review output (default text)\n"
	    "  --help, --version\n"
	    "\n"
	    "Every config key is also an option (--max-stale is max_stale):\n",
	    CONFIG_DEFAULT_FILE);
	config_print_keys(fp);
}


/* libpq's message is dropped: it may quote the string, password and all. */
static bool
conninfo_parses(const char *conninfo)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &err);

	PQfreemem(err);
	if (opts == NULL)
		return false;
	PQconninfoFree(opts);
	return true;
}

/* A config key given on the command line; applied after the file. */
struct setting {
	const char *key;
	const char *option;	/* as typed, with dashes */
	const char *value;
};

/*
 * What the signal handlers work on: the running pieces, and how the
 * configuration was put together, so SIGHUP can do it again.
 */
struct service {
	struct daemon *d;
	struct config *cfg;		/* the running configuration (d->cfg) */
	struct server *srv;
	struct pgsync *ps;
	struct sdnotify *sn;
	const char *config_file;	/* NULL: CONFIG_DEFAULT_FILE if any */
	bool file_required;	/* -c, or CONFIG_DEFAULT_FILE was there */
	bool stopping;		/* SIGTERM/SIGINT came: no more SIGHUP */
	const struct setting *sets;
	size_t nsets;
	struct event *stop_poll;	/* after SIGTERM: replies still owed */
	uint64_t stop_deadline;		/* monotime_ms() */
};

/*
 * Hundreds of idle Postfix connections are normal: allow what we may, and
 * keep a reserve of descriptors for the listeners and the database, so a
 * full house never costs the reconnect.
 */
#define FD_RESERVE 64

static size_t
connection_cap(unsigned long wanted)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return wanted;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warning("main: cannot raise RLIMIT_NOFILE: %s",
			    strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < wanted + FD_RESERVE) {
		size_t cap = rl.rlim_cur > 2 * FD_RESERVE ?
		    (size_t)rl.rlim_cur - FD_RESERVE : (size_t)rl.rlim_cur / 2;

		log_warning("main: RLIMIT_NOFILE is %llu: serving at most %zu "
		    "connections, not max_connections %lu",
		    (unsigned long long)rl.rlim_cur, cap, wanted);
		return cap;
	}
	return wanted;
}

/* After SIGTERM: leave the loop once every reply is out, or at the bound. */
static void
on_stop_poll(evutil_socket_t fd, short what, void *arg)
{
	struct service *sv = arg;

	(void)fd;
	(void)what;
	if (sv->d->nconns > 0 && monotime_ms() < sv->stop_deadline)
		return;
	if (sv->d->nconns > 0)
		log_warning("main: %zu connection(s) still had replies unsent "
		    "after %d ms: closing them", sv->d->nconns,
		    SERVICE_STOP_FLUSH_MS);
	event_base_loopexit(sv->d->base, NULL);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct service *sv = arg;
	struct timeval tv = {0, SERVICE_STOP_POLL_MS * 1000};

	(void)what;
	if (sv->stopping)
		return;		/* stopping already, within its bound */
	sv->stopping = true;
	log_info("main: signal %d, exiting", (int)sig);
	sdnotify_send(sv->sn, "STOPPING=1");
	server_stop_accepting(sv->srv);
	if (conn_shutdown(sv->d) == 0) {
		event_base_loopexit(sv->d->base, NULL);
		return;
	}
	sv->stop_deadline = monotime_ms() + SERVICE_STOP_FLUSH_MS;
	sv->stop_poll = event_new(sv->d->base, -1, EV_PERSIST, on_stop_poll,
	    sv);
	if (sv->stop_poll == NULL || event_add(sv->stop_poll, &tv) < 0)
		event_base_loopexit(sv->d->base, NULL);
}

/*
 * The configuration as at start: defaults, the file, then the options.
 * -1 with err naming the file, line and key (or the option) on error.
 */
static int
load_config(const struct service *sv, struct config *cfg, char *err,
    size_t errsz)
{
	char msg[400];
	size_t i;

	config_init(cfg);
	if (config_load_file(cfg, sv->config_file ? sv->config_file :
	    CONFIG_DEFAULT_FILE, sv->file_required, err, errsz) < 0)
		return -1;
	for (i = 0; i < sv->nsets; i++) {
		if (config_set(cfg, sv->sets[i].key, sv->sets[i].value,
		    CONFIG_ARGV, msg, sizeof(msg)) < 0) {
			snprintf(err, errsz, "option --%s: %s",
			    sv->sets[i].option, msg);
			return -1;
		}
	}
	if (!conninfo_parses(cfg->database)) {
		snprintf(err, errsz, "database: not a valid libpq connection "
		    "string");
		return -1;
	}
	return 0;
}

/*
 * SIGHUP.  pgsync and answer keep pointers into the running config, so
 * values move in with config_swap_key() (the struct itself never moves),
 * and the keys a session reads only after that session is freed.
 * postfix_compat and fingerprint_digest decide which rows are valid: they
 * take a new session too, whose full load validates every row again; until
 * it succeeds (the database may be down) the rows served stay as validated
 * with the old value, and the log says so.
 */
static void
reload(struct service *sv)
{
	struct config next;
	bool changed[sizeof(next.source)];
	char err[512], msg[64];
	bool session = false, cap = false, down = !sv->d->db_connected;
	size_t i, applied = 0, nkeys = config_key_count();

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)monotime_ms() * 1000);
	sdnotify_send(sv->sn, msg);
	if (load_config(sv, &next, err, sizeof(err)) < 0) {
		log_error("main: SIGHUP: %s: keeping the running configuration",
		    err);
		config_free(&next);
		log_info("main: SIGHUP, reloading the policy table");
		pgsync_resync(sv->ps);
		sdnotify_send(sv->sn, "READY=1");
		return;
	}
	config_compare(sv->cfg, &next, changed);
	for (i = 0; i < nkeys; i++) {
		if (!changed[i])
			continue;
		switch (config_key_reload(i)) {
		case RELOAD_RESTART:
			log_warning("main: SIGHUP: %s changed: needs a restart "
			    "(keeping the running value)", config_key_name(i));
			changed[i] = false;
			break;
		case RELOAD_SESSION:
			session = true;
			break;
		case RELOAD_LIVE:
			session = session || config_key_revalidates(i);
			cap = cap || strcmp(config_key_name(i),
			    "max_connections") == 0;
			break;
		}
	}
	if (session) {
		/* the data served stays; the new session replaces it */
		pgsync_free(sv->ps);
		sv->ps = NULL;
	}
	for (i = 0; i < nkeys; i++) {
		if (!changed[i])
			continue;
		config_swap_key(sv->cfg, &next, i);
		log_info("main: SIGHUP: %s changed", config_key_name(i));
		if (down && config_key_revalidates(i))
			log_warning("main: SIGHUP: %s: the database is not "
			    "connected: the rows served were validated with "
			    "the old value, the new one applies from the next "
			    "successful load", config_key_name(i));
		applied++;
	}
	config_free(&next);
	log_set_level((enum log_level)sv->cfg->log_level);
	if (cap)
		sv->d->max_conns = connection_cap(sv->cfg->max_connections);
	if (session) {
		log_info("main: SIGHUP: %zu key(s) changed: new database "
		    "session, full reload of the policy table", applied);
		sv->ps = pgsync_new(sv->d, NULL);
	} else {
		log_info("main: SIGHUP: %zu key(s) changed: reloading the "
		    "policy table", applied);
		pgsync_resync(sv->ps);
	}
	sdnotify_send(sv->sn, "READY=1");
	sdnotify_update(sv->sn);
}

/* A SIGHUP during the SIGTERM drain would tell systemd READY=1 again. */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct service *sv = arg;

	(void)sig;
	(void)what;
	if (sv->stopping) {
		log_info("main: SIGHUP while stopping: ignored");
		return;
	}
	reload(sv);
}

/* --query and --check: the loader runs once, then the loop stops. */
struct oneshot {
	struct daemon *d;
	bool finished;		/* done was called, maybe before the loop ran */
	bool ok;
	bool timed_out;
	bool errors;
	struct event *deadline;
	struct timeval window;	/* connect_timeout + statement_timeout */
	unsigned long rows;	/* rows loaded so far */
	unsigned long rows_then;	/* ... when the deadline last fired */
	struct review *review;	/* --review: collects the active rows */
	struct lifecycle_opts life;	/* --check: the hygiene warnings */
};

static void
oneshot_done(void *arg, bool ok, const char *why)
{
	struct oneshot *o = arg;

	(void)why;
	o->finished = true;
	o->ok = ok;
	event_base_loopbreak(o->d->base);
}

/*
 * Nothing may make --query or --check wait for ever: give up, unless rows
 * arrived since the last time.  The SELECT of a full load is exempt from
 * statement_timeout because a big table may take longer; such a load is
 * progress, not a hang, and gets another window.
 */
static void
oneshot_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct oneshot *o = arg;

	(void)fd;
	(void)what;
	if (o->rows != o->rows_then) {
		o->rows_then = o->rows;
		if (evtimer_add(o->deadline, &o->window) == 0)
			return;
	}
	o->timed_out = true;
	event_base_loopbreak(o->d->base);
}

static void
count_row(void *arg, const char *target, bool active,
    enum snapshot_row outcome, const struct policy_result *res)
{
	struct oneshot *o = arg;

	(void)target;
	(void)active;
	(void)outcome;
	(void)res;
	o->rows++;
}

/*
 * --check's hygiene: the level a destination gets without an override is
 * global_level, else postconf's smtp_tls_security_level, else (empty, or
 * no answer from postconf) dane: every level below dane weakens anyway
 * (lifecycle_weakens()).
 */
static void
check_opts(const struct config *cfg, struct lifecycle_opts *lo)
{
	char v[64];
	int l = -1;

	if (cfg->global_level[0] != '\0')
		l = policy_level(cfg->global_level);
	else if (postconf_get("smtp_tls_security_level", v, sizeof(v), NULL,
	    0))
		l = policy_level(v);
	lo->global = l < 0 ? POLICY_LEVEL_DANE : (enum policy_level)l;
	lo->warn_within = (double)cfg->expiry_warning / 1000;
}

/* A served row without expiry or comment, or expiring soon. */
static void
check_lifecycle(struct oneshot *o, const char *t,
    const struct policy_result *res, const struct pgsync_row_info *info)
{
	struct lifecycle_row r = {POLICY_LEVEL_NONE, info->expires,
	    info->comment};
	char level[16], line[POLICY_MAX_PROBLEM];
	int l;

	snprintf(level, sizeof(level), "%.*s", (int)strcspn(res->text, " "),
	    res->text);
	if ((l = policy_level(level)) < 0)
		return;
	r.level = (enum policy_level)l;
	o->life.expires_column = info->expires_column;
	o->life.comment_column = info->comment_column;
	lifecycle_describe(&o->life, &r, info->now, LIFECYCLE_NO_EXPIRY |
	    LIFECYCLE_NO_COMMENT, line, sizeof(line));
	if (line[0] != '\0')
		printf("%s: warning: %s\n", t, line);
	lifecycle_describe(&o->life, &r, info->now, LIFECYCLE_EXPIRING, line,
	    sizeof(line));
	if (line[0] != '\0')
		printf("%s: warning: %s\n", t, line);
}

static void
check_row(void *arg, const char *target, bool active,
    enum snapshot_row outcome, const struct policy_result *res,
    const struct pgsync_row_info *info)
{
	struct oneshot *o = arg;
	char pb[LOG_QUOTE_SIZE];
	const char *t = info->target_null ? "(null target)" :
	    log_quote(target, strlen(target), pb);
	const char *inactive = !active ? " (inactive row)" : info->expired ?
	    " (expired row)" : "";

	o->rows++;
	switch (outcome) {
	case SNAPSHOT_ROW_VALID:
		if (inactive[0] == '\0')
			check_lifecycle(o, t, res, info);
		break;
	case SNAPSHOT_ROW_WARNED:
		printf("%s: warning: %s%s -> %s\n", t, res->problem, inactive,
		    res->text);
		if (inactive[0] == '\0')
			check_lifecycle(o, t, res, info);
		break;
	case SNAPSHOT_ROW_INVALID:
	case SNAPSHOT_ROW_BAD_TARGET:
		printf("%s: error: %s%s\n", t, res->problem, inactive);
		o->errors = true;
		break;
	}
}

static void
review_row(void *arg, const char *target, bool active,
    enum snapshot_row outcome, const struct policy_result *res)
{
	struct oneshot *o = arg;

	o->rows++;
	if (active && (outcome == SNAPSHOT_ROW_VALID ||
	    outcome == SNAPSHOT_ROW_WARNED))
		review_add(o->review, target, res->text);
}

static void
check_conflict(void *arg, const char *key, const char *a, const char *b)
{
	struct oneshot *o = arg;
	char pa[LOG_PRINTABLE_SIZE], pb[LOG_PRINTABLE_SIZE];

	printf("%s: error: conflicting rows \"%s\" and \"%s\" (the key answers "
	    "TEMP)\n", key, log_printable(a, strlen(a), pa),
	    log_printable(b, strlen(b), pb));
	o->errors = true;
}

static int
run_oneshot(struct daemon *d, const char *query_key,
    const struct review_opts *review)
{
	unsigned long ms = d->cfg->connect_timeout + d->cfg->statement_timeout;
	struct oneshot o;
	struct pgsync_hooks hooks = {count_row, oneshot_done, &o, true, NULL};
	struct pgsync *ps;
	int rc;

	memset(&o, 0, sizeof(o));
	o.d = d;
	o.window.tv_sec = (time_t)(ms / 1000);
	o.window.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	if (review != NULL) {
		o.review = review_new();
		hooks.row = review_row;
	} else if (query_key == NULL) {
		hooks.row = NULL;
		hooks.row_info = check_row;
		check_opts(d->cfg, &o.life);
	}
	ps = pgsync_new(d, &hooks);
	/*
	 * A session that fails at once reports it from inside pgsync_new():
	 * its loopbreak came before the loop and is forgotten when the loop
	 * starts, so the loop must not start.  Otherwise the connect and the
	 * statements each have their own timeout; the deadline is their sum
	 * and catches whatever is stuck between them.
	 */
	if (!o.finished) {
		o.deadline = evtimer_new(d->base, oneshot_deadline, &o);
		if (o.deadline == NULL ||
		    evtimer_add(o.deadline, &o.window) < 0)
			log_fatal(1, "main: cannot arm the --query/--check "
			    "deadline");
		event_base_dispatch(d->base);
		event_free(o.deadline);
	}
	if (o.timed_out && d->snap == NULL)
		snprintf(d->why, sizeof(d->why), "timed out");

	if (query_key != NULL) {
		char payload[NETSTRING_MAX_PAYLOAD + 1];
		char frame[SOCKMAP_MAX_FRAME];
		enum sockmap_status st;
		size_t n, len;
		char *colon;
		int pl = snprintf(payload, sizeof(payload), "%s %s",
		    d->cfg->map[0], query_key);

		len = answer_reply(d, monotime_sec(), payload,
		    pl < (int)sizeof(payload) ? (size_t)pl : sizeof(payload) - 1,
		    frame, &st);
		/* print the payload: between the header's ':' and the ',' */
		colon = memchr(frame, ':', len);
		n = len - (size_t)(colon + 1 - frame) - 1;
		/* "NOTFOUND ", the empty reason's space is not printed */
		if (st == SOCKMAP_NOTFOUND && n == 9 &&
		    memcmp(colon + 1, "NOTFOUND ", 9) == 0)
			n--;
		printf("%.*s\n", (int)n, colon + 1);
		rc = st == SOCKMAP_OK ? 0 : st == SOCKMAP_NOTFOUND ? 1 : 2;
	} else if (review != NULL) {
		/* the probes take a while: no idle session meanwhile */
		pgsync_free(ps);
		ps = NULL;
		rc = !o.ok || !o.finished ? review_failed(review, stdout,
		    o.timed_out ? "database: timed out" : d->why) :
		    review_run(o.review, review, stdout);
		review_free(o.review);
	} else if (!o.ok || !o.finished) {
		printf("database: error: could not check: %s\n",
		    o.timed_out ? "timed out" : d->why);
		rc = 2;
	} else {
		snapshot_conflicts(d->snap, check_conflict, &o);
		rc = o.errors ? 1 : 0;
	}
	pgsync_free(ps);
	return rc;
}

/* --review-level, --review-timeout, --review-jobs, --format: -1 on error. */
static int
review_option(struct review_opts *ro, int c, const char *arg)
{
	int level;
	unsigned long v;
	char *end;

	switch (c) {
	case OPT_REVIEW_LEVEL:
		if ((level = policy_level(arg)) < 0 ||
		    level == POLICY_LEVEL_FINGERPRINT) {
			fprintf(stderr, "tlspolicyd: option --review-level: "
			    "\"%s\" is not none, may, encrypt, dane, "
			    "dane-only, verify or secure\n", arg);
			return -1;
		}
		ro->level = arg;
		return 0;
	case OPT_REVIEW_TIMEOUT:
		if (config_parse_duration(arg, &v) < 0 || v < 1000) {
			fprintf(stderr, "tlspolicyd: option --review-timeout: "
			    "\"%s\" is not a duration of at least 1s\n", arg);
			return -1;
		}
		ro->timeout_ms = v;
		return 0;
	case OPT_REVIEW_JOBS:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || v < 1 ||
		    v > REVIEW_MAX_JOBS) {
			fprintf(stderr, "tlspolicyd: option --review-jobs: "
			    "\"%s\" is not a number from 1 to %d\n", arg,
			    REVIEW_MAX_JOBS);
			return -1;
		}
		ro->jobs = v;
		return 0;
	default:
		if (strcmp(arg, "json") != 0 && strcmp(arg, "text") != 0) {
			fprintf(stderr, "tlspolicyd: option --format: \"%s\" "
			    "is not text or json\n", arg);
			return -1;
		}
		ro->format = strcmp(arg, "json") == 0 ? REVIEW_FORMAT_JSON :
		    REVIEW_FORMAT_TEXT;
		return 0;
	}
}

int
main(int argc, char **argv)
{
	struct option opts[64];
	char optnames[32][40];
	struct config cfg;
	struct daemon d;
	char err[512];
	const char *config_file = NULL;
	const char *query_key = NULL;
	bool foreground = false, check = false, review = false;
	struct review_opts ropts;
	struct server *srv;
	struct metrics *metrics;
	struct pgsync *ps;
	struct sdnotify *sdnotify;
	struct event *sigterm, *sigint, *sighup;
	size_t nopt = 0, i;
	int c, rc;
	/* options are applied after the file, so remember them */
	struct setting sets[256];
	struct service sv;
	enum privdrop_status pds;
	bool cfgerr;
	size_t nsets = 0;

	opts[nopt++] = (struct option){"config", required_argument, NULL, 'c'};
	opts[nopt++] = (struct option){"foreground", no_argument, NULL, 'f'};
	opts[nopt++] = (struct option){"query", required_argument, NULL,
	    OPT_QUERY};
	opts[nopt++] = (struct option){"check", no_argument, NULL, OPT_CHECK};
	opts[nopt++] = (struct option){"review", no_argument, NULL,
	    OPT_REVIEW};
	opts[nopt++] = (struct option){"review-level", required_argument,
	    NULL, OPT_REVIEW_LEVEL};
	opts[nopt++] = (struct option){"review-timeout", required_argument,
	    NULL, OPT_REVIEW_TIMEOUT};
	opts[nopt++] = (struct option){"review-jobs", required_argument,
	    NULL, OPT_REVIEW_JOBS};
	opts[nopt++] = (struct option){"format", required_argument, NULL,
	    OPT_FORMAT};
	opts[nopt++] = (struct option){"help", no_argument, NULL, OPT_HELP};
	opts[nopt++] = (struct option){"version", no_argument, NULL,
	    OPT_VERSION};
	for (i = 0; config_key_name(i) != NULL; i++) {
		char *p;

		snprintf(optnames[i], sizeof(optnames[i]), "%s",
		    config_key_name(i));
		for (p = optnames[i]; *p != '\0'; p++)
			if (*p == '_')
				*p = '-';
		opts[nopt++] = (struct option){optnames[i], required_argument,
		    NULL, OPT_KEY + (int)i};
	}
	opts[nopt] = (struct option){NULL, 0, NULL, 0};
	review_opts_init(&ropts);

	while ((c = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_file = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case OPT_QUERY:
			query_key = optarg;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_REVIEW:
			review = true;
			break;
		case OPT_REVIEW_LEVEL:
		case OPT_REVIEW_TIMEOUT:
		case OPT_REVIEW_JOBS:
		case OPT_FORMAT:
			if (review_option(&ropts, c, optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("tlspolicyd %s\n", TLSPOLICYD_VERSION);
			return 0;
		default:
			if (c >= OPT_KEY && nsets < sizeof(sets) /
			    sizeof(sets[0])) {
				sets[nsets].key = config_key_name(
				    (size_t)(c - OPT_KEY));
				sets[nsets].option = optnames[c - OPT_KEY];
				sets[nsets++].value = optarg;
				break;
			}
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tlspolicyd: unexpected argument \"%s\"\n"
		    "Try 'tlspolicyd --help'.\n", argv[optind]);
		return EXIT_USAGE;
	}
	if ((query_key != NULL) + check + review > 1) {
		fprintf(stderr, "tlspolicyd: --query, --check and --review "
		    "exclude each other\n");
		return EXIT_USAGE;
	}
	/* --query and --check print results on stdout, problems on stderr */
	log_open("tlspolicyd", foreground || query_key != NULL || check ||
	    review);
	config_init(&cfg);
	if (config_load_file(&cfg, config_file ? config_file :
	    CONFIG_DEFAULT_FILE, config_file != NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "tlspolicyd: config: %s\n", err);
		config_free(&cfg);
		return EXIT_USAGE;
	}
	for (i = 0; i < nsets; i++) {
		if (config_set(&cfg, sets[i].key, sets[i].value, CONFIG_ARGV,
		    err, sizeof(err)) < 0) {
			/* config_set says "max_stale: ...": name it once */
			size_t kl = strlen(sets[i].key);
			const char *why = err;

			if (strncmp(err, sets[i].key, kl) == 0 &&
			    strncmp(err + kl, ": ", 2) == 0)
				why = err + kl + 2;
			fprintf(stderr, "tlspolicyd: option --%s: %s\n",
			    sets[i].option, why);
			config_free(&cfg);
			return EXIT_USAGE;
		}
	}
	/*
	 * A string libpq cannot parse would fail every connect attempt for
	 * ever: a configuration error, said now.  Neither the string nor
	 * libpq's message is shown: both may contain the password.
	 */
	if (!conninfo_parses(cfg.database)) {
		fprintf(stderr, "tlspolicyd: config: database: not a valid "
		    "libpq connection string\n");
		config_free(&cfg);
		return EXIT_USAGE;
	}
	log_set_level((enum log_level)cfg.log_level);
	if (query_key != NULL || check || review)
		log_set_level(LOG_LEVEL_ERROR);

	memset(&d, 0, sizeof(d));
	d.cfg = &cfg;
	if ((d.base = event_base_new()) == NULL)
		log_fatal(1, "main: cannot create the event loop");
	signal(SIGPIPE, SIG_IGN);

	if (query_key != NULL || check || review) {
		rc = run_oneshot(&d, query_key, review ? &ropts : NULL);
		snapshot_free(d.snap);
		event_base_free(d.base);
		config_free(&cfg);
		return rc;
	}

	d.max_conns = connection_cap(cfg.max_connections);
	if ((srv = server_open(&d, &cfgerr, err, sizeof(err))) == NULL)
		log_fatal(cfgerr ? EXIT_USAGE : 1, "main: %s", err);
	if ((metrics = metrics_open(&d, err, sizeof(err))) == NULL)
		log_fatal(1, "main: %s", err);
	/*
	 * Everything that needs root is done above this line (listeners,
	 * the systemd socket): from here on, the configured user.  The
	 * database session starts after the drop, so peer authentication
	 * sees that user, and the state file is written as that user.
	 */
	sdnotify = sdnotify_open();
	if ((pds = privdrop_to(cfg.user, err, sizeof(err))) != PRIVDROP_OK)
		log_fatal(pds == PRIVDROP_CONFIG ? EXIT_USAGE : 1, "main: %s",
		    err);
	d.state = statefile_open(&d);
	ps = pgsync_new(&d, NULL);
	memset(&sv, 0, sizeof(sv));
	sv.d = &d;
	sv.cfg = &cfg;
	sv.srv = srv;
	sv.ps = ps;
	sv.sn = sdnotify;
	sv.config_file = config_file;
	/*
	 * Without -c, a default file that was read at start must be there
	 * at SIGHUP too: missing mid-edit, it would reset every key.
	 */
	sv.file_required = config_file != NULL ||
	    access(CONFIG_DEFAULT_FILE, F_OK) == 0;
	sv.sets = sets;
	sv.nsets = nsets;
	sigterm = evsignal_new(d.base, SIGTERM, on_stop, &sv);
	sigint = evsignal_new(d.base, SIGINT, on_stop, &sv);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	sighup = evsignal_new(d.base, SIGHUP, on_hup, &sv);
	event_add(sighup, NULL);
	log_info("main: tlspolicyd %s started, answering map %s%s",
	    TLSPOLICYD_VERSION, cfg.map[0], cfg.nmap > 1 ? " and others" : "");
	if (sdnotify_start(sdnotify, &d) < 0)
		log_fatal(1, "main: cannot arm the systemd status timers");
	sdnotify_send(sdnotify, "READY=1");
	sdnotify_update(sdnotify);

	event_base_dispatch(d.base);

	/*
	 * SIGTERM's last step: the state file is written here, after the
	 * clients were answered (statefile.h).
	 */
	statefile_close(d.state);
	ps = sv.ps;		/* SIGHUP may have started another session */
	pgsync_free(ps);
	server_free(srv);
	metrics_free(metrics);
	if (sv.stop_poll != NULL)
		event_free(sv.stop_poll);
	sdnotify_free(sdnotify);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	snapshot_free(d.snap);
	event_base_free(d.base);
	config_free(&cfg);
	return 0;
}
