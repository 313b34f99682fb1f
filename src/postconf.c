/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * postconf - ask the local Postfix through postconf(1).
 *
 * No shell: the program is found on PATH and gets a fixed argument
 * vector.  Its standard error goes to /dev/null (without a main.cf it
 * says so there and exits 1: not ours to show); what it prints is read
 * up to outsz bytes and within POSTCONF_TIMEOUT_MS, then it is reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "monotime.h"
#include "postconf.h"

/* Read what the child prints, until EOF, a full buffer or the deadline. */
static size_t
read_output(int fd, char *out, size_t outsz, bool *timed_out)
{
	uint64_t deadline = monotime_ms() + POSTCONF_TIMEOUT_MS;
	size_t n = 0;

	*timed_out = false;
	while (n + 1 < outsz) {
		struct pollfd p = {fd, POLLIN, 0};
		long left = (long)(deadline - monotime_ms());
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			*timed_out = true;
			break;
		}
		r = read(fd, out + n, outsz - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	return n;
}

/* "postconf -xh NAME: <what>" in why, if the caller wants to know. */
static void
failed(char *why, size_t whysz, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
failed(char *why, size_t whysz, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (why == NULL || whysz == 0)
		return;
	n = snprintf(why, whysz, "postconf -xh %s: ", name);
	if (n < 0 || (size_t)n >= whysz)
		return;
	va_start(ap, fmt);
	vsnprintf(why + n, whysz - (size_t)n, fmt, ap);
	va_end(ap);
}

bool
postconf_get(const char *name, char *out, size_t outsz, char *why,
    size_t whysz)
{
	int fds[2], status;
	pid_t pid;
	size_t n, start = 0;
	bool timed_out;

	out[0] = '\0';
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (outsz < 2) {
		failed(why, whysz, name, "no room for the value");
		return false;
	}
	if (pipe(fds) < 0) {
		failed(why, whysz, name, "cannot run: %s", strerror(errno));
		return false;
	}
	if ((pid = fork()) < 0) {
		failed(why, whysz, name, "cannot run: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(fds[1], STDOUT_FILENO);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDERR_FILENO);
		}
		close(fds[0]);
		close(fds[1]);
		execlp("postconf", "postconf", "-xh", name, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read_output(fds[0], out, outsz, &timed_out);
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
	while (out[start] == ' ' || out[start] == '\t')
		start++;
	memmove(out, out + start, strlen(out + start) + 1);
	n = strlen(out);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t' ||
	    out[n - 1] == '\r'))
		out[--n] = '\0';
	if (timed_out)
		failed(why, whysz, name, "no answer within %d ms",
		    POSTCONF_TIMEOUT_MS);
	else if (WIFSIGNALED(status))
		failed(why, whysz, name, "killed by signal %d",
		    WTERMSIG(status));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		failed(why, whysz, name, "not found in PATH (it comes with "
		    "Postfix) or could not be run");
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failed(why, whysz, name, "exited with status %d (no main.cf?)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	else
		return true;
	out[0] = '\0';
	return false;
}
