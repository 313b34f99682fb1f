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

#include "bounds.h"

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

/*
 * A string from the table (a target) for a person to read, as --check
 * prints it, into buf (LOG_QUOTE_SIZE bytes).  Valid UTF-8 is kept as it
 * is, so "b\xc3\xbccher.example" shows as itself, not as "b??cher".  The
 * string is shown in double quotes, with C-style escapes inside, when it
 * is empty or holds a space, a quote or a backslash (\" \\), a control
 * character (\t \n \r, else \xHH), a byte that is not UTF-8 (\xHH), or a
 * character one cannot see or tell from a space (\uXXXX: C1 controls,
 * no-break and other spaces, zero-width and bidirectional formatting); so
 * two different strings never print alike.  A string that does not fit is
 * cut at a character and shown quoted, followed by "...".  Returns buf.
 */
const char *log_quote(const char *s, size_t len, char *buf);

#endif
