/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config - the configuration as a table: each key has a type, bounds and a
 * default (tlspolicyd.conf(5) documents each).  The same table serves the
 * config file ("key = value", '#' comments) and the long options (--max-stale
 * is max_stale).  No globals: main owns one struct config and passes it down as
 * const.
 */
#ifndef TLSPOLICYD_CONFIG_H
#define TLSPOLICYD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "bounds.h"

struct config {
	char *listen[CONFIG_MAX_LISTEN];
	size_t nlisten;
	char *database;
	char *map[CONFIG_MAX_MAPS];
	size_t nmap;
	bool parent_walk;
	unsigned long poll_interval;	/* all durations in milliseconds */
	unsigned long max_stale;
	unsigned long reconnect_max;
	unsigned long connect_timeout;
	unsigned long statement_timeout;
	unsigned long reconcile_interval;	/* 0 = off */
	unsigned long idle_timeout;
	unsigned long max_connections;
	char *table;		/* "name" or "schema.name" */
	char *column_target;
	char *column_policy;
	char *column_parameters;
	char *column_active;	/* "" = the table has no such column */
	/*
	 * "" = none.  At their defaults these two are used only if the table
	 * has them (pgsync asks at setup); set, they must exist.
	 */
	char *column_expires;
	char *column_comment;
	int postfix_compat;	/* 307 = Postfix 3.7 */
	char *fingerprint_digest;
	size_t fingerprint_len;	/* derived from fingerprint_digest */
	int log_level;
	unsigned long expiry_warning;	/* --check: expiring this soon */
	char *global_level;	/* --check: "" = ask postconf, else a level */
	char *user;		/* "" = do not change user */
	char *listen_owner;	/* unix: sockets; "" = as created */
	char *listen_group;
	unsigned long listen_mode;
	char *state_file;	/* "" = none */
	char *metrics_listen;	/* "" = off, else inet:HOST:PORT */

	/* where each key was last set: 0 default, then config_set's source */
	unsigned char source[48];
};

/*
 * What SIGHUP does when a key's value changed in the file: applies it at
 * once, applies it by starting a new database session (the data served
 * meanwhile stays), or keeps the running value and logs "needs a restart".
 */
enum config_reload {
	RELOAD_LIVE,
	RELOAD_SESSION,
	RELOAD_RESTART,
};

/* Sources, in the order they override each other. */
enum config_source {
	CONFIG_DEFAULT,
	CONFIG_FILE,
	CONFIG_ARGV,
};

/* Fill in every default.  Free with config_free(). */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/*
 * Set key to value from source.  A list key (listen, map) may repeat
 * within one source; its first occurrence in a source replaces the values
 * of an earlier source.  Any other repeat within one source is an error.
 * On error returns -1 with a message naming the key in err.
 */
int config_set(struct config *cfg, const char *key, const char *value,
    enum config_source source, char *err, size_t errsz);

/*
 * Read a config file.  A missing file is an error only if must_exist.
 * Errors name the file, the line and the key.
 */
int config_load_file(struct config *cfg, const char *path, bool must_exist,
    char *err, size_t errsz);

/* Is key still at its default (set neither in the file nor as option)? */
bool config_is_default(const struct config *cfg, const char *key);

/* The i-th key name, NULL past the last (for option tables and docs). */
const char *config_key_name(size_t i);

/* The i-th key's SIGHUP behaviour. */
enum config_reload config_key_reload(size_t i);

/* How many keys the table has (config_key_name(i) for i below it). */
size_t config_key_count(void);

/*
 * For SIGHUP: changed[i] tells whether key i differs between a and b
 * (changed has config_key_count() entries); returns how many differ.
 * Pure: compares values, not where they were set.
 */
size_t config_compare(const struct config *a, const struct config *b,
    bool *changed);

/*
 * Does a change of key i need every row validated again (postfix_compat,
 * fingerprint_digest: they decide which policies are valid)?
 */
bool config_key_revalidates(size_t i);

/*
 * Exchange key i's value (with what derives from it, and its source)
 * between a and b: the running configuration takes the new value and b
 * keeps the old one for config_free().  Strings move, never copy, so a
 * pointer into a to an unchanged key stays valid.
 */
void config_swap_key(struct config *a, struct config *b, size_t i);

/* Print every key, its default and a one-line description. */
void config_print_keys(FILE *fp);

/* Parse "10", "10s", "500ms", "5m", "1h", "7d" into milliseconds. */
int config_parse_duration(const char *s, unsigned long *ms);

#endif
