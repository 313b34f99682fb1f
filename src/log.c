/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log - the only place that writes log lines.
 *
 * Invariants: a line is written whole with one write (stderr) or one
 * syslog() call; no global state except the sink choice and the level,
 * set once by main.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static bool log_stderr = true;
static enum log_level log_threshold = LOG_LEVEL_INFO;
static const char *log_ident = "tlspolicyd";

void
log_open(const char *ident, bool to_stderr)
{
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_level_parse(const char *name)
{
	static const char *const names[] = {"error", "warning", "info",
	    "debug"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

static void
log_write(enum log_level level, const char *sev, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char line[2048];
	int n;

	if (!log_enabled(level))
		return;
	n = snprintf(line, sizeof(line), "%s: ", sev);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (log_stderr) {
		char out[2200];
		int m = snprintf(out, sizeof(out), "%s[%ld]: %s\n", log_ident,
		    (long)getpid(), line);

		if (m > (int)sizeof(out) - 1)
			m = (int)sizeof(out) - 1;
		/* one write per line, so concurrent writers never interleave */
		if (write(STDERR_FILENO, out, (size_t)m) < 0) {
			/* nowhere left to report it */
		}
	} else {
		syslog(prio[level], "%s", line);
	}
}

#define LOG_FN(name, level, sev)                                              \
	void name(const char *fmt, ...)                                       \
	{                                                                     \
		va_list ap;                                                   \
		va_start(ap, fmt);                                            \
		log_write(level, sev, fmt, ap);                               \
		va_end(ap);                                                   \
	}

LOG_FN(log_error, LOG_LEVEL_ERROR, "error")
LOG_FN(log_warning, LOG_LEVEL_WARNING, "warning")
LOG_FN(log_info, LOG_LEVEL_INFO, "info")
LOG_FN(log_debug_, LOG_LEVEL_DEBUG, "debug")

void
log_fatal(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, "fatal", fmt, ap);
	va_end(ap);
	exit(status);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, "panic", fmt, ap);
	va_end(ap);
	abort();
}

const char *
log_printable(const char *s, size_t len, char *buf)
{
	size_t i;
	size_t n = len > 200 ? 200 : len;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (len > n) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}
