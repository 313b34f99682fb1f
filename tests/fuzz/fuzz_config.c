/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_config - libFuzzer harness for the configuration reader.
 *
 * Each input is used twice:
 *   1. written to a temp file and read with config_load_file();
 *   2. split into lines, each line split at its first '=' and given to
 *      config_set() ("key=value"; a line "--" switches the source from
 *      the file to the command line, so the override rules are run too).
 * Properties: never crashes or leaks (ASan/LSan); every error comes with
 * a non-empty, NUL-terminated message; a successful set leaves every key
 * inside its bounds; config_free() after anything.  The raw bytes as a
 * postfix_compat value are refused or a version >= 3.7 that prints back as
 * a prefix of them and parses again to itself; as a fingerprint_digest,
 * refused or a known digest length.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "fuzz_config: %s:%d: %s\n",           \
			    __FILE__, __LINE__, #cond);                       \
			abort();                                              \
		}                                                             \
	} while (0)

#define DAY (86400UL * 1000)

static char path[64];
static int fd = -1;

static void
remove_temp(void)
{
	if (fd >= 0)
		unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/tmp/fuzz_config.XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	atexit(remove_temp);
	return 0;
}

/* Bounds every key keeps, whatever was accepted. */
static void
check_bounds(const struct config *cfg, bool lists_set)
{
	size_t i;

	CHECK(cfg->nlisten <= CONFIG_MAX_LISTEN);
	CHECK(cfg->nmap <= CONFIG_MAX_MAPS);
	if (lists_set)
		CHECK(cfg->nlisten >= 1 && cfg->nmap >= 1);
	for (i = 0; i < cfg->nlisten; i++)
		CHECK(strncmp(cfg->listen[i], "inet:", 5) == 0 ||
		    strncmp(cfg->listen[i], "unix:", 5) == 0);
	for (i = 0; i < cfg->nmap; i++) {
		size_t n = strlen(cfg->map[i]);

		CHECK(n >= 1 && n <= SOCKMAP_MAX_NAME);
		CHECK(strpbrk(cfg->map[i], ": \t") == NULL);
	}
	CHECK(cfg->poll_interval >= 100 && cfg->poll_interval <= DAY);
	CHECK(cfg->max_stale <= 365 * DAY);
	CHECK(cfg->reconnect_max >= 100 && cfg->reconnect_max <= DAY);
	CHECK(cfg->connect_timeout >= 1000 && cfg->connect_timeout <= 300000);
	CHECK(cfg->statement_timeout <= DAY);
	CHECK(cfg->reconcile_interval == 0 ||
	    (cfg->reconcile_interval >= 1000 &&
	    cfg->reconcile_interval <= 30 * DAY));
	CHECK(cfg->idle_timeout >= 1000 && cfg->idle_timeout <= DAY);
	CHECK(cfg->max_connections >= 1 && cfg->max_connections <= 1000000);
	CHECK(cfg->postfix_compat >= 307);
	CHECK(cfg->fingerprint_len >= 16 && cfg->fingerprint_len <= 64);
	CHECK(cfg->log_level >= 0 && cfg->log_level <= 3);
	CHECK(cfg->table != NULL && cfg->table[0] != '\0' &&
	    strchr(cfg->table, '.') == strrchr(cfg->table, '.'));
	CHECK(cfg->database != NULL && cfg->table != NULL &&
	    cfg->column_target != NULL && cfg->column_policy != NULL &&
	    cfg->column_parameters != NULL && cfg->column_active != NULL &&
	    cfg->fingerprint_digest != NULL);
}

static void
check_error(int rc, const char *err, size_t errsz)
{
	CHECK(rc == 0 || rc == -1);
	if (rc < 0) {
		CHECK(err[0] != '\0');
		CHECK(memchr(err, '\0', errsz) != NULL);
	}
}

static void
run_file(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	int rc;

	CHECK(ftruncate(fd, 0) == 0);
	CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);
	config_init(&cfg);
	err[0] = '\0';
	rc = config_load_file(&cfg, path, true, err, sizeof(err));
	check_error(rc, err, sizeof(err));
	/* reading stops at the first error, so nothing was half-set */
	check_bounds(&cfg, rc == 0);
	config_free(&cfg);
}

static void
run_lines(const uint8_t *data, size_t size)
{
	enum config_source source = CONFIG_FILE;
	struct config cfg;
	bool failed = false;
	char *text = malloc(size + 1);
	char *line, *next;

	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	config_init(&cfg);
	for (line = text; line != NULL; line = next) {
		char err[256];
		char *eq;
		int rc;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (strcmp(line, "--") == 0) {
			source = CONFIG_ARGV;
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		err[0] = '\0';
		rc = config_set(&cfg, line, eq + 1, source, err, sizeof(err));
		check_error(rc, err, sizeof(err));
		if (rc < 0)
			failed = true;
		check_bounds(&cfg, !failed);
	}
	config_free(&cfg);
	free(text);
}

static void
check_compat_digest(const char *s)
{
	struct config cfg;
	char err[256], again[16];
	int v;

	config_init(&cfg);
	if (config_set(&cfg, "postfix_compat", s, CONFIG_FILE, err,
	    sizeof(err)) == 0) {
		v = cfg.postfix_compat;
		CHECK(v >= 307);
		snprintf(again, sizeof(again), "%d.%d", v / 100, v % 100);
		CHECK(strncmp(s, again, strlen(again)) == 0);
		CHECK(config_set(&cfg, "postfix_compat", again, CONFIG_ARGV,
		    err, sizeof(err)) == 0);
		CHECK(cfg.postfix_compat == v);
	} else {
		CHECK(cfg.postfix_compat == 307);
	}
	if (config_set(&cfg, "fingerprint_digest", s, CONFIG_FILE, err,
	    sizeof(err)) == 0) {
		size_t n = cfg.fingerprint_len;

		CHECK(n == 16 || n == 20 || n == 28 || n == 32 || n == 48 ||
		    n == 64);
		CHECK(strcmp(cfg.fingerprint_digest, s) == 0);
	} else {
		CHECK(cfg.fingerprint_len == 32);
	}
	config_free(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	unsigned long ms = 0;

	if (size > 64 * 1024)
		return 0;
	run_file(data, size);
	run_lines(data, size);

	/* the duration parser on the raw bytes */
	s = malloc(size + 1);
	CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	if (config_parse_duration(s, &ms) == 0)
		CHECK(s[0] >= '0' && s[0] <= '9');
	check_compat_digest(s);
	free(s);
	return 0;
}
