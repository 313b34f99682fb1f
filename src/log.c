/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * log - the only place that writes log lines, and the two ways untrusted
 * bytes are shown: log_printable() for log lines (ASCII only, at most 200
 * bytes, as Postfix's printable()), log_quote() for what --check prints
 * (UTF-8 kept, the rest escaped, quoted when it must be).
 *
 * Invariants: a line is written whole with one write (stderr) or one
 * syslog() call; no global state except the sink choice and the level,
 * set once by main.  log_quote() output is valid UTF-8, and two
 * different strings that fit never print alike.
 *
 * Limits: LOG_QUOTE_SIZE (bounds.h).
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

/*
 * The UTF-8 sequence at s (n bytes left): its length, and the code point in
 * *cp; 0 if it is not valid (stray continuation byte, overlong form,
 * surrogate, beyond U+10FFFF, cut short).
 */
static size_t
utf8_char(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned long c, min;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Characters a reader could not see or could not tell from a space or
 * from nothing: controls (C0, DEL, C1), no-break and other spaces, soft
 * hyphen, zero-width and bidirectional formatting, tags.  A target with
 * one of these looks like another target when printed as it is.
 */
static bool
invisible(unsigned long c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad ||
	    c == 0x61c || c == 0x1680 || c == 0x180e ||
	    (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
	    (c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0xfeff ||
	    (c >= 0xfff9 && c <= 0xfffb) || (c >= 0xe0000 && c <= 0xe007f);
}

/*
 * One character of s (n > 0 bytes left) as log_quote() shows it, into out
 * (at least 11 bytes, not terminated): its length.  *used is the bytes of
 * s it stands for; *quote is set when the string must be shown quoted.
 */
static size_t
quote_char(const unsigned char *s, size_t n, char *out, size_t *used,
    bool *quote)
{
	unsigned long c;
	size_t len = utf8_char(s, n, &c);

	*used = len ? len : 1;
	if (len == 0) {
		*quote = true;
		return (size_t)snprintf(out, 11, "\\x%02x", s[0]);
	}
	switch (c) {
	case '"':
	case '\\':
		*quote = true;
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	case '\t':
	case '\n':
	case '\r':
		*quote = true;
		out[0] = '\\';
		out[1] = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		return 2;
	case ' ':
		*quote = true;
		break;
	default:
		if (!invisible(c))
			break;
		*quote = true;
		if (c < 0x80)
			return (size_t)snprintf(out, 11, "\\x%02lx", c);
		if (c > 0xffff)
			return (size_t)snprintf(out, 11, "\\U%08lx", c);
		return (size_t)snprintf(out, 11, "\\u%04lx", c);
	}
	memcpy(out, s, len);
	return len;
}

const char *
log_quote(const char *s, size_t len, char *buf)
{
	const unsigned char *u = (const unsigned char *)s;
	/* room kept for the closing quote, "..." and the NUL */
	const size_t room = LOG_QUOTE_SIZE - 5;
	char piece[11];
	size_t i, n, used, total = 0, o = 0;
	bool quote = len == 0, cut;

	for (i = 0; i < len; i += used)
		total += quote_char(u + i, len - i, piece, &used, &quote);
	cut = total > room - 1;
	if (cut || quote)
		buf[o++] = '"';
	for (i = 0; i < len; i += used) {
		n = quote_char(u + i, len - i, piece, &used, &quote);
		if (o + n > room)
			break;
		memcpy(buf + o, piece, n);
		o += n;
	}
	if (cut || quote)
		buf[o++] = '"';
	if (cut) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
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
