/*
 * client.c - requests to a process's statistics server (client.h).
 *
 * The server's reply is "ok\n" and the text, or one line "error: ...",
 * then the end of the stream.  The socket's name can be bound by anyone
 * who guesses the pid first, so the server's credentials are checked:
 * the socket must be served by the process asked for.
 */
#define _GNU_SOURCE			/* struct ucred */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

#define CLIENT_TIMEOUT_S	5

int client_parse_pid(const char *prog, const char *s)
{
	char *end;
	long pid;

	errno = 0;
	pid = strtol(s, &end, 10);
	if (errno || end == s || *end || pid <= 0 || pid > 0x3fffffff) {
		fprintf(stderr, "%s: not a process id: '%s'\n", prog, s);
		return -1;
	}
	return (int)pid;
}

/* A connected socket to pid's server, checked to be pid's; -1 after an
 * error message. */
static int connect_server(const char *prog, int pid)
{
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	int fd, n;

	if (kill(pid, 0) && errno == ESRCH) {
		fprintf(stderr, "%s: no process %d: %s\n", prog, pid,
			strerror(errno));
		return -1;
	}
	n = snprintf(addr.sun_path + 1, sizeof(addr.sun_path) - 1,
		     "uslub/%d", pid);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		goto fail;
	}
	if (connect(fd, (struct sockaddr *)&addr,
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				(size_t)n))) {
		fprintf(stderr, "%s: no uslub statistics server in process "
			"%d: %s\n", prog, pid, strerror(errno));
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		fprintf(stderr, "%s: process %d: %s\n", prog, pid,
			strerror(errno));
		goto fail;
	}
	if (cred.pid != pid) {
		fprintf(stderr, "%s: the statistics socket of process %d is "
			"served by process %d (uid %u): not reading it\n", prog,
			pid, (int)cred.pid, (unsigned int)cred.uid);
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The whole stream; NULL after an error message. */
static char *read_all(const char *prog, int pid, int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap), *bigger;
	ssize_t got;

	while (buf) {
		if (n + 1 == cap) {
			bigger = realloc(buf, cap * 2);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		got = recv(fd, buf + n, cap - 1 - n, 0);
		if (got == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		if (got > 0) {
			n += (size_t)got;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			fprintf(stderr, "%s: process %d: no reply within %d s\n",
				prog, pid, CLIENT_TIMEOUT_S);
		else
			fprintf(stderr, "%s: process %d: reading the reply: "
				"%s\n", prog, pid, strerror(errno));
		free(buf);
		return NULL;
	}
	fprintf(stderr, "%s: %s\n", prog, strerror(ENOMEM));
	free(buf);
	return NULL;
}

char *client_request(const char *prog, int pid, const char *request,
		     size_t *len)
{
	size_t n, rlen = strlen(request);
	char *reply, line[128];
	int fd;

	if (rlen + 2 > sizeof(line)) {
		fprintf(stderr, "%s: request too long: '%s'\n", prog, request);
		return NULL;
	}
	fd = connect_server(prog, pid);
	if (fd < 0)
		return NULL;
	memcpy(line, request, rlen);
	line[rlen] = '\n';
	/* Read even when this fails: the process may have said why. */
	send(fd, line, rlen + 1, MSG_NOSIGNAL);
	reply = read_all(prog, pid, fd, &n);
	close(fd);
	if (!reply)
		return NULL;
	if (strncmp(reply, "ok\n", 3) == 0) {
		memmove(reply, reply + 3, n - 2);	/* the NUL too */
		if (len)
			*len = n - 3;
		return reply;
	}
	if (strncmp(reply, "error: ", 7) == 0)
		fprintf(stderr, "%s: process %d: %.*s\n", prog, pid,
			(int)strcspn(reply + 7, "\n"), reply + 7);
	else
		fprintf(stderr, "%s: process %d: %s\n", prog, pid,
			n ? "not a uslub statistics reply" :
			    "closed the connection without a reply");
	free(reply);
	return NULL;
}
