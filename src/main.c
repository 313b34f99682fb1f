/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * main - command line, configuration, wiring, signals, the event loop.
 *
 * tlspolicyd never forks: systemd and other supervisors expect the process
 * they started to be the daemon.  Exit status: 0 after SIGTERM/SIGINT, 2
 * for a usage or configuration error (the message names the option or
 * key), 1 for any other fatal error.  --query, --check and --review run
 * the same loader once and exit.
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
#include "daemon.h"
#include "lifecycle.h"
#include "log.h"
#include "monotime.h"
#include "pgsync.h"
#include "postconf.h"
#include "review.h"
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

/* Tell systemd (Type=notify) we serve; a no-op outside systemd. */
static void
sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    strlen(path))) < 0)
		log_warning("main: sd_notify: %s", strerror(errno));
	close(fd);
}

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

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("main: signal %d, exiting", (int)sig);
	event_base_loopexit(d->base, NULL);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_info("main: SIGHUP, reloading the policy table");
	pgsync_resync(arg);
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
	struct pgsync *ps;
	struct event *sigterm, *sigint, *sighup;
	size_t nopt = 0, i;
	int c, rc;
	/* options are applied after the file, so remember them */
	struct {
		const char *key;
		const char *option;	/* as typed, with dashes */
		const char *value;
	} sets[256];
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
	if ((srv = server_open(&d, err, sizeof(err))) == NULL)
		log_fatal(1, "main: %s", err);
	d.state = statefile_open(&d);
	ps = pgsync_new(&d, NULL);
	sigterm = evsignal_new(d.base, SIGTERM, on_stop, &d);
	sigint = evsignal_new(d.base, SIGINT, on_stop, &d);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	sighup = evsignal_new(d.base, SIGHUP, on_hup, ps);
	event_add(sighup, NULL);
	log_info("main: tlspolicyd %s started, answering map %s%s",
	    TLSPOLICYD_VERSION, cfg.map[0], cfg.nmap > 1 ? " and others" : "");
	sd_notify_ready();

	event_base_dispatch(d.base);

	/* after the loop: what is new goes to the state file (statefile.h) */
	statefile_close(d.state);
	pgsync_free(ps);
	server_free(srv);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	snapshot_free(d.snap);
	event_base_free(d.base);
	config_free(&cfg);
	return 0;
}
