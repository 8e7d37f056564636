/*
 * client.h - the viewers' side of the statistics server of a process that
 * uses uslub (lib/statsd.c): connect to its socket "uslub/<pid>" in the
 * abstract Unix namespace, send one request line, read the reply.
 */
#ifndef USLUB_TOOLS_CLIENT_H
#define USLUB_TOOLS_CLIENT_H

#include <stddef.h>

/* The process id in s, or -1 after a one-line error naming prog. */
int client_parse_pid(const char *prog, const char *s);

/*
 * The reply of process pid to request, without its "ok" line, in a
 * malloc'd NUL-terminated buffer (length in *len if len is not NULL).
 * NULL after a one-line error on stderr naming prog: no such process, no
 * server in it, a socket not served by pid, the process's own error
 * ("permission denied"), or no reply within a few seconds.
 */
char *client_request(const char *prog, int pid, const char *request,
		     size_t *len);

#endif /* USLUB_TOOLS_CLIENT_H */
