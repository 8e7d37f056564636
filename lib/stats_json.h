/*
 * stats_json.h - L5: the statistics as one JSON document
 * (uslub_stats_write_json, the "json" request of statsd.c,
 * USLUB_OPTIONS=stats=json).  The schema is doc/stats-json.md.
 */
#ifndef USLUB_STATS_JSON_H
#define USLUB_STATS_JSON_H

#define STATS_JSON_VERSION	1

/* The document and a newline; 0, or -1 with errno.  USLUB_OPTIONS=
 * stats=json's exit report (stats_exit_report) writes it. */
int stats_json_write(int fd);

#endif /* USLUB_STATS_JSON_H */
