// gbench.cc - the C API shim: registers every C workload (bench.h) x arg x
// thread count with Google Benchmark and times bench_run_batch().
//
//   uslub-bench [Google Benchmark flags] [--allocator=NAME]
//               [--threads=1,2,4] [--rss-trace=DIR] [--scale=F] [--live=N]
//
// The binary links no allocator: run it with LD_PRELOAD set to the one to
// measure (bench/suite.py does, for all five).  --allocator names the one
// expected, and the run stops if malloc comes from another library.
// Names: <workload>/<arg>/threads:<n>/<api>, api "malloc" or, for
// fixed-size workloads when uslub is preloaded, "cache" (uslub's cache API;
// label "uslub-cache").  Throughput is items_per_second; the memory
// workload reports its RSS figures as counters in MiB.  Fixed-work
// workloads (large.c) run once and report, as counters, the wall time and
// what getrusage saw of that run: wall_s, minflt, majflt, sys_s, user_s,
// and the peak RSS rss_peak_mib; --scale multiplies their operations and
// --live sets their live buffers.
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench.h"

namespace {

bench_ctx the_ctx;  // one benchmark runs at a time

double seconds(const timeval &tv)
{
	return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6;
}

// The whole process's faults and CPU time: the pool's threads are in it,
// and nothing else runs while a benchmark does.
void rusage_counters(benchmark::State &st, const rusage &a, const rusage &b,
                     double wall)
{
	st.counters["wall_s"] = wall;
	st.counters["minflt"] = static_cast<double>(b.ru_minflt - a.ru_minflt);
	st.counters["majflt"] = static_cast<double>(b.ru_majflt - a.ru_majflt);
	st.counters["sys_s"] = seconds(b.ru_stime) - seconds(a.ru_stime);
	st.counters["user_s"] = seconds(b.ru_utime) - seconds(a.ru_utime);
	st.counters["rss_peak_mib"] = bench_peak_rss_kib() / 1024.0;
}

void run_workload(benchmark::State &st, const bench_workload *wl,
                  const bench_allocator *a, int arg, int threads)
{
	uint64_t ops = 0;
	rusage ru0, ru1;

	if (bench_start(&the_ctx, wl, a, arg, threads) != 0) {
		st.SkipWithError("workload setup failed");
		return;
	}
	bench_reset_peak_rss();
	getrusage(RUSAGE_SELF, &ru0);
	auto t0 = std::chrono::steady_clock::now();
	for (auto _ : st)
		ops += bench_run_batch(&the_ctx);
	std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	if (wl->flags & WL_FIXED_WORK)
		rusage_counters(st, ru0, ru1, wall.count());
	for (int i = 0; i < the_ctx.ncounters; i++)
		st.counters[the_ctx.counter_name[i]] = the_ctx.counter_value[i];
	bench_stop(&the_ctx);
	st.SetItemsProcessed(static_cast<int64_t>(ops));
	st.SetLabel(a->name);
	st.counters["threads"] = threads;
}

std::vector<int> default_threads()
{
	std::vector<int> v;
	int n = bench_nproc();

	for (int t = 1; t < n; t *= 2)
		v.push_back(t);
	v.push_back(n);
	return v;
}

std::vector<int> parse_threads(const char *list)
{
	std::vector<int> v;

	for (const char *p = list; *p;) {
		char *end;
		long t = std::strtol(p, &end, 10);

		if (end == p || t < 1 || t > BENCH_MAX_THREADS)
			bench_fatal("--threads=%s: want numbers 1..%d, comma-separated",
				    list, BENCH_MAX_THREADS);
		v.push_back(static_cast<int>(t));
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			bench_fatal("--threads=%s: unexpected '%c'", list, *end);
	}
	return v;
}

double parse_number(const char *arg, const char *val, double lo, double hi)
{
	char *end;
	double v = std::strtod(val, &end);

	if (end == val || *end || !(v >= lo && v <= hi))
		bench_fatal("%s: want a number from %g to %g", arg, lo, hi);
	return v;
}

void register_one(const bench_workload *wl, const bench_allocator *a,
                  int arg, int threads, const char *api)
{
	std::string name = std::string(wl->name) + "/" + wl->args[arg] +
		"/threads:" + std::to_string(threads) + "/" + api;
	auto *b = benchmark::RegisterBenchmark(name.c_str(), run_workload,
					       wl, a, arg, threads);

	b->UseRealTime()->Unit(benchmark::kMicrosecond);
	if (wl->flags & (WL_ONE_THREAD | WL_FIXED_WORK))
		b->Iterations(1);
}

void register_all(const bench_allocator *m, const bench_allocator *c,
                  const std::vector<int> &threads)
{
	for (int w = 0; bench_workloads[w]; w++) {
		const bench_workload *wl = bench_workloads[w];

		for (int arg = 0; wl->args[arg]; arg++)
			for (int t : threads) {
				if ((wl->flags & WL_ONE_THREAD) && t != 1)
					continue;
				register_one(wl, m, arg, t, "malloc");
				if ((wl->flags & WL_FIXED_SIZE) && c)
					register_one(wl, c, arg, t, "cache");
			}
	}
}

}  // namespace

int main(int argc, char **argv)
{
	const char *expect = nullptr;
	std::vector<int> threads = default_threads();
	char err[512];

	benchmark::Initialize(&argc, argv);
	for (int i = 1; i < argc; i++) {
		if (!std::strncmp(argv[i], "--allocator=", 12))
			expect = argv[i] + 12;
		else if (!std::strncmp(argv[i], "--threads=", 10))
			threads = parse_threads(argv[i] + 10);
		else if (!std::strncmp(argv[i], "--rss-trace=", 12))
			bench_rss_trace_dir = argv[i] + 12;
		else if (!std::strncmp(argv[i], "--scale=", 8))
			bench_scale = parse_number(argv[i], argv[i] + 8, 1e-6, 1e6);
		else if (!std::strncmp(argv[i], "--live=", 7))
			bench_live = static_cast<int>(
				parse_number(argv[i], argv[i] + 7, 1, 1e6));
		else
			bench_fatal("unknown argument %s (see the top of bench/gbench.cc)", argv[i]);
	}
	const bench_allocator *m = bench_malloc_allocator(expect, err, sizeof(err));
	if (!m)
		bench_fatal("%s", err);
	register_all(m, bench_cache_allocator(), threads);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
