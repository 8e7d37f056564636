/*
 * stats_json.h - L5: the statistics as one JSON document
 * (uslub_stats_write_json, the "json" request of statsd.c,
 * USLUB_OPTIONS=stats=json).  The schema is doc/stats-json.md.
 */
#ifndef USLUB_STATS_JSON_H
#define USLUB_STATS_JSON_H

#define STATS_JSON_VERSION	1

/* The document and a newline; 0, or -1 with errno. */
int stats_json_write(int fd);
/* USLUB_OPTIONS=stats=json at exit: the document to stderr, or to
 * stats_file ("%p" becomes the pid). */
void stats_json_exit_report(void);

#endif /* USLUB_STATS_JSON_H */
