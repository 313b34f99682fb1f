/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config - table-driven configuration.
 *
 * One row per key: name, type, where it lives in struct config, bounds,
 * default, one line of help.  Parsing, defaults, --help and the
 * documentation check (make docs-check) all read this table, so a key
 * cannot exist in one place and not the others.
 *
 * Invariants: a value is checked completely before it is stored; an
 * unknown key or a bad value is an error naming the key.
 * Limits: CONFIG_MAX_LINE, CONFIG_MAX_LISTEN, CONFIG_MAX_MAPS.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "policy.h"
#include "xalloc.h"

enum type {
	T_STRING,
	T_LIST,
	T_BOOL,
	T_DURATION,
	T_DURATION_OFF,	/* 0 = off, else a duration within the bounds */
	T_UINT,
	T_LOGLEVEL,
	T_COMPAT,
	T_DIGEST,
	T_IDENT,	/* an SQL identifier, possibly empty */
	T_TABLE,	/* "name" or "schema.name" */
	T_LEVEL,	/* a Postfix security level, or empty */
	T_MODE,		/* octal permission bits, at most 0777 */
	T_PATH,		/* an absolute path, or empty for "none" */
	T_ENDPOINT,	/* inet:HOST:PORT, or empty for "off" */
};

struct key {
	const char *name;
	enum type type;
	enum config_reload reload;	/* what SIGHUP does with a change */
	size_t offset;
	unsigned long min;
	unsigned long max;
	const char *def;
	const char *help;
};

#define OFF(field) offsetof(struct config, field)
#define SEC 1000UL
#define DAY (24UL * 3600 * 1000)

/* The oldest Postfix whose policy grammar policy.c knows (3.7). */
#define COMPAT_OLDEST 307

static const struct key keys[] = {
	{"listen", T_LIST, RELOAD_RESTART, OFF(listen), 0, 0,
	    CONFIG_DEFAULT_LISTEN,
	    "endpoint inet:HOST:PORT or unix:PATH (repeatable)"},
	{"database", T_STRING, RELOAD_SESSION, OFF(database), 0, 0, "",
	    "libpq connection string or URI; PG* variables honoured"},
	{"map", T_LIST, RELOAD_RESTART, OFF(map), 0, 0, CONFIG_DEFAULT_MAP,
	    "socketmap name answered (repeatable)"},
	{"parent_walk", T_BOOL, RELOAD_LIVE, OFF(parent_walk), 0, 0, "yes",
	    "answer host names from the most specific .parent row"},
	{"poll_interval", T_DURATION, RELOAD_SESSION, OFF(poll_interval), 100,
	    DAY, "1s",
	    "generation poll (or full reload without triggers) interval"},
	{"max_stale", T_DURATION, RELOAD_LIVE, OFF(max_stale), 0, 365 * DAY,
	    "3600s",
	    "serve the last data this long after the database went away"},
	{"reconnect_max", T_DURATION, RELOAD_SESSION, OFF(reconnect_max), 100,
	    DAY, "5s", "cap of the reconnect backoff"},
	{"connect_timeout", T_DURATION, RELOAD_SESSION, OFF(connect_timeout),
	    SEC, 300 * SEC, "10s",
	    "how long connecting to the database may take"},
	{"statement_timeout", T_DURATION, RELOAD_SESSION,
	    OFF(statement_timeout), 0, DAY, "10s",
	    "PostgreSQL statement_timeout of the daemon's session"},
	{"reconcile_interval", T_DURATION_OFF, RELOAD_SESSION,
	    OFF(reconcile_interval), SEC, 30 * DAY, "1h",
	    "full reload compared with the incremental state (0: off)"},
	{"idle_timeout", T_DURATION, RELOAD_LIVE, OFF(idle_timeout), 1000, DAY,
	    "300s", "close a client connection idle this long"},
	{"max_connections", T_UINT, RELOAD_LIVE, OFF(max_connections), 1,
	    1000000, "16384", "client connections served at once"},
	{"table", T_TABLE, RELOAD_SESSION, OFF(table), 0, 0,
	    "public.tls_policy", "policy table, optionally schema-qualified"},
	{"column_target", T_IDENT, RELOAD_SESSION, OFF(column_target), 0, 0,
	    "target", "column holding the destination"},
	{"column_policy", T_IDENT, RELOAD_SESSION, OFF(column_policy), 0, 0,
	    "policy", "column holding the security level"},
	{"column_parameters", T_IDENT, RELOAD_SESSION, OFF(column_parameters),
	    0, 0, "parameters", "column holding the attributes (empty: none)"},
	{"column_active", T_IDENT, RELOAD_SESSION, OFF(column_active), 0, 0,
	    "active", "boolean column, false hides a row (empty: none)"},
	{"column_expires", T_IDENT, RELOAD_SESSION, OFF(column_expires), 0, 0,
	    "expires_at",
	    "timestamp column, a row is not served from then (empty: none)"},
	{"column_comment", T_IDENT, RELOAD_SESSION, OFF(column_comment), 0, 0,
	    "comment", "column saying why a row exists (empty: none)"},
	{"postfix_compat", T_COMPAT, RELOAD_LIVE, OFF(postfix_compat), 0, 0,
	    "3.7", "oldest Postfix version the answers must suit"},
	{"fingerprint_digest", T_DIGEST, RELOAD_LIVE, OFF(fingerprint_digest),
	    0, 0, "sha256", "Postfix smtp_tls_fingerprint_digest"},
	{"log_level", T_LOGLEVEL, RELOAD_LIVE, OFF(log_level), 0, 0, "info",
	    "error, warning, info or debug"},
	{"expiry_warning", T_DURATION, RELOAD_LIVE, OFF(expiry_warning), 0,
	    365 * DAY, "7d", "--check warns of rows expiring within this"},
	{"global_level", T_LEVEL, RELOAD_LIVE, OFF(global_level), 0, 0, "",
	    "--check: the level without an override (empty: postconf's)"},
	{"user", T_STRING, RELOAD_RESTART, OFF(user), 0, 0, "",
	    "started as root, run as this user and its group (empty: stay)"},
	{"listen_owner", T_STRING, RELOAD_RESTART, OFF(listen_owner), 0, 0, "",
	    "owner of unix: listen sockets (empty: the daemon's user)"},
	{"listen_group", T_STRING, RELOAD_RESTART, OFF(listen_group), 0, 0, "",
	    "group of unix: listen sockets (empty: the daemon's group)"},
	{"listen_mode", T_MODE, RELOAD_RESTART, OFF(listen_mode), 0, 0777,
	    "0660", "permissions of unix: listen sockets"},
	{"state_file", T_PATH, RELOAD_RESTART, OFF(state_file), 0, 0,
	    CONFIG_DEFAULT_STATE_FILE, "snapshot kept for a restart while the "
	    "database is down (empty: none)"},
	{"metrics_listen", T_ENDPOINT, RELOAD_RESTART, OFF(metrics_listen), 0,
	    0, "", "inet:HOST:PORT for /metrics and /health over HTTP "
	    "(empty: off)"},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= sizeof(((struct config *)0)->source),
    "struct config.source too small");
_Static_assert(sizeof(((struct config *)0)->listen) ==
    sizeof(((struct config *)0)->map), "config_swap_key: lists differ");

static const struct key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

bool
config_is_default(const struct config *cfg, const char *key)
{
	const struct key *k = find_key(key);

	return k == NULL || cfg->source[k - keys] == CONFIG_DEFAULT;
}

const char *
config_key_name(size_t i)
{
	return i < NKEYS ? keys[i].name : NULL;
}

enum config_reload
config_key_reload(size_t i)
{
	return i < NKEYS ? keys[i].reload : RELOAD_RESTART;
}

int
config_parse_duration(const char *s, unsigned long *ms)
{
	static const struct {
		const char *unit;
		unsigned long ms;
	} units[] = {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000},
	    {"h", 3600000}, {"d", 86400000}};
	unsigned long long v;
	char *end;
	size_t i;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			if (v > (unsigned long long)ULONG_MAX / units[i].ms)
				return -1;
			*ms = (unsigned long)v * units[i].ms;
			return 0;
		}
	}
	return -1;
}

/* One version component: 1-3 digits, no leading zero. */
static bool
compat_number(const char **sp, int *n)
{
	const char *s = *sp;
	int digits = 0;

	*n = 0;
	while (isdigit((unsigned char)*s) && digits < 4) {
		*n = *n * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0 || digits > 3 || (digits > 1 && **sp == '0'))
		return false;
	*sp = s;
	return true;
}

/*
 * A Postfix version as the policy module wants it, major * 100 + minor:
 * "3.7" -> 307, "3.7.11" (as postconf mail_version prints it) -> 307,
 * "3.10" -> 310.  -1 if malformed or older than 3.7, the oldest grammar
 * the policy module knows.
 */
static int
parse_compat(const char *s)
{
	int major;
	int minor;
	int patch;

	if (!compat_number(&s, &major) || *s++ != '.' ||
	    !compat_number(&s, &minor) || minor > 99)
		return -1;
	if (*s == '.') {
		s++;
		if (!compat_number(&s, &patch))
			return -1;
	}
	if (*s != '\0' || major * 100 + minor < COMPAT_OLDEST)
		return -1;
	return major * 100 + minor;
}

/*
 * The digest length in bytes of Postfix's smtp_tls_fingerprint_digest
 * names (any case); 0 if unknown.  The policy module checks each
 * fingerprint against this length.
 */
static size_t
digest_len(const char *name)
{
	static const struct {
		const char *name;
		size_t len;
	} digests[] = {{"md5", 16}, {"sha1", 20}, {"sha224", 28},
	    {"sha256", 32}, {"sha384", 48}, {"sha512", 64}};
	size_t i;

	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
		if (strcasecmp(name, digests[i].name) == 0)
			return digests[i].len;
	return 0;
}

static int
parse_bool(const char *s, bool *b)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*b = true;
	else if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*b = false;
	else
		return -1;
	return 0;
}

/*
 * One SQL name the daemon can put between double quotes as is: a letter or
 * '_', then letters, digits, '_' and '$'; at most 63 bytes, PostgreSQL's
 * NAMEDATALEN - 1 (a longer name would be truncated to another one).
 */
static bool
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 63 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '$')
			return false;
	return true;
}

/* A column: one name, or empty for "the table has no such column". */
static bool
valid_ident(const char *s)
{
	return s[0] == '\0' || valid_name(s, strlen(s));
}

/* The table: "name" or "schema.name", never empty. */
static bool
valid_table(const char *s)
{
	const char *dot = strchr(s, '.');

	if (dot == NULL)
		return valid_name(s, strlen(s));
	return valid_name(s, (size_t)(dot - s)) &&
	    valid_name(dot + 1, strlen(dot + 1));
}

/*
 * inet:HOST:PORT (HOST may be empty, [v6] or a name; PORT numeric) or
 * unix:PATH.  Checked here so a typo is a configuration error (exit 2),
 * not a failure to bind.
 */
static bool
valid_endpoint(const char *v)
{
	const char *port;

	if (strncmp(v, "unix:", 5) == 0)
		return v[5] != '\0' && strlen(v + 5) < 108;
	if (strncmp(v, "inet:", 5) != 0 ||
	    (port = strrchr(v + 5, ':')) == NULL)
		return false;
	port++;
	return port[0] != '\0' && strspn(port, "0123456789") ==
	    strlen(port) && strlen(port) <= 5 && atoi(port) <= 65535;
}

static int
set_value(struct config *cfg, const struct key *k, const char *v,
    bool append, char *err, size_t errsz)
{
	void *field = (char *)cfg + k->offset;
	unsigned long ul;
	char *end;
	int i;

	switch (k->type) {
	case T_LIST: {
		char **list = field;
		size_t *n = k->offset == OFF(listen) ? &cfg->nlisten :
		    &cfg->nmap;
		size_t cap = k->offset == OFF(listen) ? CONFIG_MAX_LISTEN :
		    CONFIG_MAX_MAPS;

		if (k->offset == OFF(map) && (v[0] == '\0' ||
		    strlen(v) > SOCKMAP_MAX_NAME || strpbrk(v, ": \t") != NULL)) {
			snprintf(err, errsz, "%s: \"%s\" is not a socketmap name "
			    "(1-%d bytes, no ':' or space)", k->name, v,
			    SOCKMAP_MAX_NAME);
			return -1;
		}
		if (k->offset == OFF(listen) && !valid_endpoint(v)) {
			snprintf(err, errsz, "%s: \"%s\" is not inet:HOST:PORT "
			    "or unix:PATH", k->name, v);
			return -1;
		}
		if (append && *n == cap) {
			snprintf(err, errsz, "%s: at most %zu values", k->name,
			    cap);
			return -1;
		}
		/* checked completely: only now replace an earlier source's list */
		if (!append) {
			while (*n > 0)
				xfree(list[--*n]);
		}
		list[(*n)++] = xstrdup(v);
		return 0;
	}
	case T_MODE:
		errno = 0;
		ul = strtoul(v, &end, 8);
		if (v[0] < '0' || v[0] > '7' || *end != '\0' || errno != 0 ||
		    ul > k->max) {
			snprintf(err, errsz, "%s: \"%s\" is not an octal mode "
			    "from 0 to 0777 (e.g. 0660)", k->name, v);
			return -1;
		}
		*(unsigned long *)field = ul;
		return 0;
	case T_PATH:
	case T_ENDPOINT:
	case T_STRING:
		if (k->type == T_PATH && v[0] != '\0' && v[0] != '/') {
			snprintf(err, errsz, "%s: \"%s\" is not an absolute path "
			    "or empty", k->name, v);
			return -1;
		}
		if (k->type == T_ENDPOINT && v[0] != '\0' &&
		    (strncmp(v, "inet:", 5) != 0 || !valid_endpoint(v))) {
			snprintf(err, errsz, "%s: \"%s\" is not inet:HOST:PORT "
			    "or empty", k->name, v);
			return -1;
		}
		xfree(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case T_IDENT:
	case T_TABLE:
		if (k->type == T_IDENT ? !valid_ident(v) : !valid_table(v)) {
			snprintf(err, errsz, "%s: \"%s\" is not an SQL "
			    "identifier%s", k->name, v, k->type == T_TABLE ?
			    " or schema.identifier" : "");
			return -1;
		}
		xfree(*(char **)field);
		*(char **)field = xstrdup(v);
		return 0;
	case T_BOOL:
		if (parse_bool(v, field) < 0) {
			snprintf(err, errsz, "%s: \"%s\" is not yes or no",
			    k->name, v);
			return -1;
		}
		return 0;
	case T_DURATION:
		if (config_parse_duration(v, &ul) < 0 || ul < k->min ||
		    ul > k->max) {
			snprintf(err, errsz, "%s: \"%s\" is not a duration "
			    "between %lums and %lus (e.g. 10s, 500ms, 5m)",
			    k->name, v, k->min, k->max / 1000);
			return -1;
		}
		*(unsigned long *)field = ul;
		return 0;
	case T_DURATION_OFF:
		if (config_parse_duration(v, &ul) < 0 || (ul != 0 &&
		    (ul < k->min || ul > k->max))) {
			snprintf(err, errsz, "%s: \"%s\" is not 0 (off) or a "
			    "duration between %lums and %lus (e.g. 1h, 30m)",
			    k->name, v, k->min, k->max / 1000);
			return -1;
		}
		*(unsigned long *)field = ul;
		return 0;
	case T_UINT:
		errno = 0;
		ul = strtoul(v, &end, 10);
		if (!isdigit((unsigned char)v[0]) || *end != '\0' ||
		    errno != 0 || ul < k->min || ul > k->max) {
			snprintf(err, errsz, "%s: \"%s\" is not a number "
			    "between %lu and %lu", k->name, v, k->min, k->max);
			return -1;
		}
		*(unsigned long *)field = ul;
		return 0;
	case T_LOGLEVEL:
		if ((i = log_level_parse(v)) < 0) {
			snprintf(err, errsz, "%s: \"%s\" is not error, warning, "
			    "info or debug", k->name, v);
			return -1;
		}
		*(int *)field = i;
		return 0;
	case T_COMPAT:
		if ((i = parse_compat(v)) < 0) {
			snprintf(err, errsz, "%s: \"%s\" is not a Postfix "
			    "version 3.7 or later (e.g. 3.7, 3.10)", k->name, v);
			return -1;
		}
		*(int *)field = i;
		return 0;
	case T_LEVEL:
		i = v[0] == '\0' ? 0 : policy_level(v);
		if (i < 0) {
			snprintf(err, errsz, "%s: \"%s\" is not a Postfix "
			    "security level (none, may, encrypt, dane, "
			    "dane-only, fingerprint, verify, secure) or empty",
			    k->name, v);
			return -1;
		}
		xfree(*(char **)field);
		*(char **)field = xstrdup(v[0] == '\0' ? "" :
		    policy_level_name((enum policy_level)i));
		return 0;
	case T_DIGEST:
		if ((ul = digest_len(v)) == 0) {
			snprintf(err, errsz, "%s: \"%s\" is not a digest "
			    "(md5, sha1, sha224, sha256, sha384, sha512)",
			    k->name, v);
			return -1;
		}
		xfree(cfg->fingerprint_digest);
		cfg->fingerprint_digest = xstrdup(v);
		cfg->fingerprint_len = ul;
		return 0;
	}
	return -1;
}

void
config_init(struct config *cfg)
{
	char err[256];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < NKEYS; i++)
		if (set_value(cfg, &keys[i], keys[i].def, false, err,
		    sizeof(err)) < 0)
			log_panic("config: bad default: %s", err);
}

void
config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		void *field = (char *)cfg + keys[i].offset;

		if (keys[i].type == T_LIST) {
			char **list = field;
			size_t n = keys[i].offset == OFF(listen) ?
			    cfg->nlisten : cfg->nmap;

			while (n > 0)
				xfree(list[--n]);
		} else if (keys[i].type == T_STRING ||
		    keys[i].type == T_PATH || keys[i].type == T_ENDPOINT ||
		    keys[i].type == T_IDENT || keys[i].type == T_TABLE ||
		    keys[i].type == T_DIGEST || keys[i].type == T_LEVEL) {
			xfree(*(char **)field);
		}
	}
	memset(cfg, 0, sizeof(*cfg));
}

int
config_set(struct config *cfg, const char *name, const char *value,
    enum config_source source, char *err, size_t errsz)
{
	const struct key *k = find_key(name);
	size_t idx;

	if (k == NULL) {
		snprintf(err, errsz, "unknown key \"%s\"", name);
		return -1;
	}
	idx = (size_t)(k - keys);
	if (cfg->source[idx] == source && k->type != T_LIST) {
		snprintf(err, errsz, "%s: set twice", name);
		return -1;
	}
	if (set_value(cfg, k, value, cfg->source[idx] == source, err,
	    errsz) < 0)
		return -1;
	cfg->source[idx] = (unsigned char)source;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int
config_load_file(struct config *cfg, const char *path, bool must_exist,
    char *err, size_t errsz)
{
	char line[CONFIG_MAX_LINE + 2];
	char msg[512];
	FILE *fp;
	int lineno = 0;
	int rc = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *s, *eq, *name, *value;

		lineno++;
		if (strcspn(line, "\n") > CONFIG_MAX_LINE) {
			snprintf(err, errsz, "%s:%d: line longer than %d bytes",
			    path, lineno, CONFIG_MAX_LINE);
			rc = -1;
			break;
		}
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errsz, "%s:%d: expected \"key = value\"",
			    path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		name = trim(s);
		value = trim(eq + 1);
		if (config_set(cfg, name, value, CONFIG_FILE, msg,
		    sizeof(msg)) < 0) {
			snprintf(err, errsz, "%s:%d: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(fp)) {
		snprintf(err, errsz, "%s: read error", path);
		rc = -1;
	}
	fclose(fp);
	return rc;
}

/* Is key k's value the same in a and b? */
static bool
same_value(const struct config *a, const struct config *b,
    const struct key *k)
{
	const void *fa = (const char *)a + k->offset;
	const void *fb = (const char *)b + k->offset;
	size_t i;

	switch (k->type) {
	case T_LIST: {
		char *const *la = fa;
		char *const *lb = fb;
		size_t na = k->offset == OFF(listen) ? a->nlisten : a->nmap;
		size_t nb = k->offset == OFF(listen) ? b->nlisten : b->nmap;

		if (na != nb)
			return false;
		for (i = 0; i < na; i++)
			if (strcmp(la[i], lb[i]) != 0)
				return false;
		return true;
	}
	case T_STRING:
	case T_PATH:
	case T_ENDPOINT:
	case T_IDENT:
	case T_TABLE:
	case T_LEVEL:
		return strcmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case T_DIGEST:
		/* names are case-insensitive: "SHA256" is no change */
		return strcasecmp(*(char *const *)fa, *(char *const *)fb) == 0;
	case T_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case T_LOGLEVEL:
	case T_COMPAT:
		return *(const int *)fa == *(const int *)fb;
	case T_DURATION:
	case T_DURATION_OFF:
	case T_UINT:
	case T_MODE:
		return *(const unsigned long *)fa == *(const unsigned long *)fb;
	}
	return false;
}

size_t
config_key_count(void)
{
	return NKEYS;
}

size_t
config_compare(const struct config *a, const struct config *b,
    bool *changed)
{
	size_t i, n = 0;

	for (i = 0; i < NKEYS; i++) {
		changed[i] = !same_value(a, b, &keys[i]);
		n += changed[i];
	}
	return n;
}

bool
config_key_revalidates(size_t i)
{
	return i < NKEYS && (keys[i].offset == OFF(postfix_compat) ||
	    keys[i].offset == OFF(fingerprint_digest));
}

void
config_swap_key(struct config *a, struct config *b, size_t i)
{
	const struct key *k;
	char *fa, *fb;
	size_t size;
	unsigned char src;

	if (i >= NKEYS)
		return;
	k = &keys[i];
	fa = (char *)a + k->offset;
	fb = (char *)b + k->offset;
	switch (k->type) {
	case T_LIST:
		size = sizeof(a->listen);	/* == sizeof(a->map) */
		if (k->offset == OFF(listen)) {
			size_t t = a->nlisten;

			a->nlisten = b->nlisten;
			b->nlisten = t;
		} else {
			size_t t = a->nmap;

			a->nmap = b->nmap;
			b->nmap = t;
		}
		break;
	case T_BOOL:
		size = sizeof(bool);
		break;
	case T_LOGLEVEL:
	case T_COMPAT:
		size = sizeof(int);
		break;
	case T_DIGEST: {
		size_t t = a->fingerprint_len;

		a->fingerprint_len = b->fingerprint_len;
		b->fingerprint_len = t;
		size = sizeof(char *);
		break;
	}
	case T_DURATION:
	case T_DURATION_OFF:
	case T_UINT:
	case T_MODE:
		size = sizeof(unsigned long);
		break;
	default:
		size = sizeof(char *);
		break;
	}
	{
		unsigned char tmp[sizeof(a->listen)];

		memcpy(tmp, fa, size);
		memcpy(fa, fb, size);
		memcpy(fb, tmp, size);
	}
	src = a->source[i];
	a->source[i] = b->source[i];
	b->source[i] = src;
}

void
config_print_keys(FILE *fp)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		char opt[64];
		size_t j;

		snprintf(opt, sizeof(opt), "--%s", keys[i].name);
		for (j = 0; opt[j] != '\0'; j++)
			if (opt[j] == '_')
				opt[j] = '-';
		fprintf(fp, "  %-22s %s (default: %s)\n", opt, keys[i].help,
		    keys[i].def[0] ? keys[i].def : "empty");
	}
}
