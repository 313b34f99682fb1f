/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log - severity-graded logging to syslog (facility mail) or stderr.
 * Line shape: "severity: module: message".  Peer bytes go through
 * log_printable() first; the database password never reaches a log line.
 */
#ifndef TLSPOLICYD_LOG_H
#define TLSPOLICYD_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))

void log_open(const char *ident, bool to_stderr);
void log_set_level(enum log_level level);
/* "error", "warning", "info", "debug" -> level; -1 if unknown. */
int log_level_parse(const char *name);
bool log_enabled(enum log_level level);

void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warning(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug_(const char *fmt, ...) LOG_PRINTF(1, 2);
/* Log and exit(status). */
void log_fatal(int status, const char *fmt, ...) LOG_PRINTF(2, 3)
    __attribute__((noreturn));
/* A broken invariant: log and abort() for a core. */
void log_panic(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));

/* Debug lines cost nothing when disabled: the level is checked first. */
#define log_debug(...)                                                        \
	do {                                                                  \
		if (log_enabled(LOG_LEVEL_DEBUG))                             \
			log_debug_(__VA_ARGS__);                              \
	} while (0)

/*
 * Copy at most 200 bytes of untrusted data into buf (LOG_PRINTABLE_SIZE),
 * non-printables as '?', as Postfix's printable() does.  Returns buf.
 */
#define LOG_PRINTABLE_SIZE 208
const char *log_printable(const char *s, size_t len, char *buf);

#endif
