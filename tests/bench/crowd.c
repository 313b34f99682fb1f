/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * crowd - many hostile or idle clients at once (make bench).
 *
 *   crowd HOST PORT N idle       N connections that send nothing
 *   crowd HOST PORT N pipeline   N connections that send requests as fast
 *                                as the socket takes them, never reading
 *
 * Prints "ready N" (N = connections open) once all are connected and keeps
 * them until killed.  Socket buffers are the system's defaults: a flood
 * is what the kernel lets one client queue, megabytes per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	static const char req[] = "23:tlspolicy host1.example,";
	static char chunk[160 * (sizeof(req) - 1)];
	struct sockaddr_in sin;
	struct pollfd *pfd;
	size_t *pos;		/* where each stream is in its request */
	int n, i, open_ = 0, pipeline;

	if (argc != 5) {
		fprintf(stderr, "usage: crowd HOST PORT N idle|pipeline\n");
		return 2;
	}
	n = atoi(argv[3]);
	pipeline = strcmp(argv[4], "pipeline") == 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &sin.sin_addr);
	for (i = 0; i < 160; i++)
		memcpy(chunk + i * (sizeof(req) - 1), req, sizeof(req) - 1);
	pfd = calloc((size_t)n, sizeof(*pfd));
	pos = calloc((size_t)n, sizeof(*pos));
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0) {
			perror("crowd: socket");
			break;
		}
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
			perror("crowd: connect");
			close(fd);
			break;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		pfd[open_].fd = fd;
		pfd[open_].events = pipeline ? POLLOUT : 0;
		open_++;
	}
	printf("ready %d\n", open_);
	fflush(stdout);
	for (;;) {
		if (poll(pfd, (nfds_t)open_, -1) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < open_; i++) {
			/*
			 * The chunk repeats one request, so the stream goes
			 * on from wherever the last write stopped.
			 */
			if (pfd[i].revents & POLLOUT) {
				size_t rl = sizeof(req) - 1;
				ssize_t w = send(pfd[i].fd, chunk + pos[i],
				    sizeof(chunk) - pos[i], MSG_NOSIGNAL);

				if (w > 0)
					pos[i] = (pos[i] + (size_t)w) % rl;
				else if (errno != EAGAIN)
					pfd[i].events = 0;
			}
			if (pfd[i].revents & (POLLHUP | POLLERR))
				pfd[i].events = 0;
		}
	}
}
