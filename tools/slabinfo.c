/*
 * slabinfo.c - uslub-slabinfo: the /proc/slabinfo of a running process
 * that uses uslub, once, exactly as uslub_slabinfo_write writes it; with
 * --json the statistics as JSON (uslub_stats_write_json).  Reads the
 * process's statistics server (client.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static const char *prog = "uslub-slabinfo";

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s -p PID [--json | --meminfo | --stats | --prof | --request NAME]\n"
"Print the slabinfo (version 2.1) of process PID, which uses uslub.\n"
"\n"
"  -p, --pid PID        the process to read\n"
"  -j, --json           the statistics as JSON (doc/stats-json.md)\n"
"  -m, --meminfo        the Slab, SReclaimable and SUnreclaim lines\n"
"  -s, --stats          SLUB event counters, sheaf and barn occupancy\n"
"  -P, --prof           the heap profile now (the process runs with prof=1),\n"
"                       for google-pprof --text PROGRAM FILE\n"
"  -r, --request NAME   any request of the server (\"help\" lists them)\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "meminfo", no_argument, NULL, 'm' },
		{ "stats", no_argument, NULL, 's' },
		{ "prof", no_argument, NULL, 'P' },
		{ "request", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *request = "slabinfo";
	size_t len;
	char *reply;
	int c, pid = 0;

	while ((c = getopt_long(argc, argv, "p:jmsPr:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid = client_parse_pid(prog, optarg);
			if (pid < 0)
				return 2;
			break;
		case 'j': request = "json"; break;
		case 'm': request = "meminfo"; break;
		case 's': request = "stats"; break;
		case 'P': request = "prof"; break;
		case 'r': request = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("%s (uslub) %s\n", prog, PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", prog,
			argv[optind]);
		return 2;
	}
	if (!pid) {
		fprintf(stderr, "%s: which process? (-p PID)\n", prog);
		return 2;
	}
	reply = client_request(prog, pid, request, &len);
	if (!reply)
		return 1;
	if (fwrite(reply, 1, len, stdout) != len || fflush(stdout)) {
		perror(prog);
		free(reply);
		return 1;
	}
	free(reply);
	return 0;
}
