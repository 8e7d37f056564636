#!/usr/bin/env python3
"""suite.py - bench/uslub-bench under five allocators, interleaved.

Usage: bench/suite.py [--preset quick|full|large] [--threads LIST]
         [--allocators glibc,uslub,jemalloc,tcmalloc,mimalloc] [--filter REGEX]
         [--rounds N] [--min-time S] [--scale F] [--live N] [--out DIR]
         [--build DIR] [--bench PATH] [--preload PATH] [--peers-dir DIR]
         [--callgrind | --no-callgrind] [--no-plots] [--timeout S]

For each workload of the Google Benchmark program uslub-bench, in a fixed
order, and each round, the binary runs once per allocator in a process of
its own, the allocator through LD_PRELOAD (glibc: none); round r starts at
allocator r mod n, so drift in machine load hits all alike.  The binary
checks that malloc comes from the allocator it was told.  Rows of uslub's
own cache API (api `cache') are reported as the allocator row uslub-cache.
Throughput is the median items_per_second over the rounds (higher is
better); the memory workload reports median RSS counters in MiB (lower is
better).  Each row is compared with the best peer (glibc, jemalloc,
tcmalloc, mimalloc).

The large-block workloads (malloc_large, malloc_medium, realloc_grow) do a
fixed amount of work once, each arg and thread count in a fresh process:
their tables give the wall time, minor and major page faults, system and
user time (getrusage) and peak RSS per allocator, with the ratio of time and
of faults to the best peer (lower is better).

  presets    quick (default): rounds 1, min-time 0.1 s, no callgrind
             full: rounds 3, min-time 0.5 s, callgrind
             both leave out the large-block workloads unless --filter
             names them
             large: only the large-block workloads, rounds 3, scale 0.25,
             no callgrind (about 90 s a round at threads 1,2 on 2 cores)
             all: threads 1, 2, 4, ... up to nproc, and nproc
             explicit options override the preset
  --scale    a factor on the large-block workloads' operations; 1 is
             mimalloc-bench's malloc-large (2000 replacements), 0.25 the
             large preset's, 1 otherwise
  --live     live buffers of malloc_large and malloc_medium (20, 64)
  --filter   regex on workload names (hot_pair|ring), matched whole;
             with a filter, callgrind runs only when asked (--callgrind)
  --build    default: the first of build/dev and . (from the repository
             root) holding bench/uslub-bench
  --bench    default: BUILD/bench/.libs/uslub-bench (libtool), else
             BUILD/bench/uslub-bench
  --preload  default: $USLUB_PRELOAD, else
             BUILD/preload/.libs/libuslub-preload.so
  --peers-dir  where libjemalloc.so.2, libtcmalloc_minimal.so.4 and
             libmimalloc.so.2 are; default /usr/lib/x86_64-linux-gnu, else
             .peers/; an allocator whose library is missing is skipped.
             That folder (and .peers/) also goes on LD_LIBRARY_PATH, so a
             machine without packages can run a copied build with
             libbenchmark.so.1debian copied there too
  --timeout  seconds per benchmark process (600)

Output (--out, default bench/results/<YYYY-MM-DD>-<host>/, files overwritten):
  README.md             machine, commit, command, settings, every table, plots
  summary.json          medians per benchmark (name without /api) and row
  gbench/<alloc>.json   Google Benchmark JSON per allocator: the context of
                        its first run, every entry with "round" (1-based)
  tables/<workload>.md  ops/s per arg / threads; uslub ÷ best peer (the
                        large-block ones: time, faults, sys time per
                        allocator; ÷ best peer)
  tables/callgrind.md   instructions per malloc+free; callgrind.txt verbatim
  rss/rss-<alloc>.csv   RSS trace of the memory workload (from the binary)
  plots/<workload>.png .svg, plots/rss.png .svg (gnuplot); plots/data/ holds
                        the data and scripts: cd plots/data && gnuplot X.gp

Exit status 0; 1 when a benchmark process failed or timed out (its results
are left out, the suite goes on); 2 on a usage error.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOCATORS = ["glibc", "uslub", "jemalloc", "tcmalloc", "mimalloc"]
ROWS = ["glibc", "uslub", "uslub-cache", "jemalloc", "tcmalloc", "mimalloc"]
PEERS = ["glibc", "jemalloc", "tcmalloc", "mimalloc"]
PEER_LIBS = {"jemalloc": "libjemalloc.so.2",
             "tcmalloc": "libtcmalloc_minimal.so.4",
             "mimalloc": "libmimalloc.so.2"}
DEBIAN_LIBDIR = "/usr/lib/x86_64-linux-gnu"
COLORS = {"glibc": "#777777", "uslub": "#d62728", "uslub-cache": "#ff9896",
          "jemalloc": "#1f77b4", "tcmalloc": "#2ca02c", "mimalloc": "#9467bd"}

WORKLOADS = {
    "hot_pair": "malloc and free of one size (the arg, bytes) in a loop.",
    "batch": "allocate 1000 blocks of mixed small sizes (8–512 B), then "
             "free them all.",
    "ring": "each thread keeps a ring of live blocks and replaces a random "
            "one per op; sizes 8 B–1 KiB (1k) or 8 B–32 KiB (32k).",
    "realloc": "grow a buffer by doubling up to 1 MiB (double), or in "
               "16-byte steps up to 64 KiB (step).",
    "prodcons": "pairs of threads, one allocates and the other frees: every "
                "block crosses threads.",
    "larson": "each thread owns a set of blocks and frees and reallocates "
              "random ones; at intervals its set passes to a new thread.",
    "xmalloc": "half the threads only allocate, half only free, through a "
               "shared queue of batches.",
    "false_sharing": "threads allocate small objects and write them in a "
                     "tight loop (active), or free objects handed out by the "
                     "main thread and allocate new ones (passive); an "
                     "allocator that gives two threads one cache line loses.",
    "churn": "threads created and joined continuously, each doing a little "
             "allocation; ops are threads.",
    "fixed": "64- and 200-byte objects through malloc, and through uslub's "
             "cache API (row uslub-cache).",
    "tree": "a tree's nodes: 2000 (2k) or 20000 (20k) blocks of 80 B "
            "allocated in order and freed in a shuffled order, as clearing "
            "a std::map whose keys came in random order does; 50k-mixed: "
            "50000 blocks of 16 B–1 KiB (26 MB) the same way.",
    "malloc_large": "like mimalloc-bench's malloc-large: 20 live buffers "
                    "(--live), shared out between the threads; 2000 times "
                    "(× --scale) a random one is replaced by a new one of "
                    "5–25 MiB, written whole before the old one is freed.",
    "malloc_medium": "the same with 64 live buffers of 64 KiB–4 MiB and "
                     "20000 replacements (× --scale).",
    "realloc_grow": "several buffers grown in turn by realloc, each step "
                    "writing the bytes it adds: 8 buffers doubling from "
                    "16 B to 1 MiB, 2000 rounds (double); 8 buffers in "
                    "4 KiB steps to 1 MiB, 400 rounds (step); 4 buffers "
                    "doubling from 1 to 64 MiB, 10 rounds (huge); rounds "
                    "× --scale, shared out between the threads.",
    "memory": "on a fresh heap, first 16384 pairs of 64 B and 16 KiB "
              "blocks, alternating, whose large blocks are freed "
              "(fragmentation RSS: what stays above the start, after 1 s "
              "idle; fragmentation live: the 1 MiB still allocated); then "
              "build a 1 GiB heap of mixed sizes (every byte written) and "
              "free it in a shuffled order: peak RSS, RSS after the frees, "
              "after 1 s idle and one malloc/free, after malloc_trim(0) "
              "where the allocator defines it.  MiB, lower is better.",
}
CALLGRIND_DESC = ("instructions per malloc+free on the fast paths, counted "
                  "by callgrind (bench/callgrind.sh --peers); lower is "
                  "better.  uslub calls its API directly, uslub-ld is uslub "
                  "as the preloaded malloc, like the peers.")
MEMORY_ROWS = [("peak", "peak", "peak_mib"),
               ("after free", "free", "free_mib"),
               ("after idle", "idle", "idle_mib"),
               ("after trim", "trim", "trim_mib"),
               ("fragmentation RSS", "frag", "frag_mib"),
               ("fragmentation live", "live", "frag_live_mib")]
NOT_COUNTERS = {"family_index", "per_family_instance_index", "repetitions",
                "repetition_index", "threads", "iterations", "round"}
GB_NAME_KEYS = ("min_time:", "min_warmup_time:", "iterations:", "repeats:")
GB_NAME_WORDS = ("real_time", "manual_time", "process_time")
# Fixed work, run once per arg and thread count in a process of its own.
FIXED_WORK = ("malloc_large", "malloc_medium", "realloc_grow")


def note(msg):
    print(f"note: {msg}", flush=True)


def warn(msg):
    print(f"suite.py: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- settings

def nproc():
    return len(os.sched_getaffinity(0))


def default_threads():
    n, t, out = nproc(), 1, []
    while t <= n:
        out.append(t)
        t *= 2
    return out if n in out else out + [n]


def parse_args(argv):
    parts = __doc__.split("\n\n")
    p = argparse.ArgumentParser(
        usage=parts[1].removeprefix("Usage: "), description=parts[2],
        epilog="\n\n".join(parts[3:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=("quick", "full", "large"),
                   default="quick")
    p.add_argument("--threads", metavar="LIST", help="e.g. 1,2,4")
    p.add_argument("--allocators", metavar="LIST",
                   default=",".join(ALLOCATORS))
    p.add_argument("--filter", metavar="REGEX", help="workload names")
    p.add_argument("--rounds", metavar="N", type=int)
    p.add_argument("--min-time", metavar="S", type=float,
                   help="seconds per benchmark")
    p.add_argument("--scale", metavar="F", type=float,
                   help="factor on the large-block workloads' operations")
    p.add_argument("--live", metavar="N", type=int,
                   help="live buffers of malloc_large, malloc_medium")
    p.add_argument("--out", metavar="DIR")
    p.add_argument("--build", metavar="DIR")
    p.add_argument("--bench", metavar="PATH")
    p.add_argument("--preload", metavar="PATH")
    p.add_argument("--peers-dir", metavar="DIR")
    p.add_argument("--callgrind", dest="callgrind", action="store_true",
                   default=None)
    p.add_argument("--no-callgrind", dest="callgrind", action="store_false")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--timeout", metavar="S", type=float, default=600,
                   help="per benchmark process")
    a = p.parse_args(argv)
    full = a.preset == "full"
    large = a.preset == "large"
    a.rounds = a.rounds or (3 if full or large else 1)
    a.min_time = a.min_time or (0.5 if full else 0.1)
    a.scale = a.scale or (0.25 if large else 1.0)
    if a.callgrind is None:
        a.callgrind = full and not a.filter
    try:
        a.threads = ([int(t) for t in a.threads.split(",")] if a.threads
                     else default_threads())
        a.allocators = a.allocators.split(",")
        if a.filter:
            re.compile(a.filter)
    except (ValueError, re.error) as e:
        p.error(str(e))
    bad = [x for x in a.allocators if x not in ALLOCATORS]
    if bad or min(a.threads) < 1 or a.rounds < 1 or a.scale <= 0 or \
            (a.live is not None and a.live < 1):
        p.error(f"bad allocators {bad}, threads, rounds, scale or live")
    return a


def find_locations(a):
    """Fill in build, bench, out; exits 2 when the binary is missing."""
    if not a.build:
        a.build = next((d for d in ("build/dev", ".") if os.path.exists(
            os.path.join(REPO, d, "bench", "uslub-bench"))), "build/dev")
        a.build = os.path.normpath(os.path.join(REPO, a.build))
    a.build = os.path.abspath(a.build)
    if not a.bench:
        real = os.path.join(a.build, "bench", ".libs", "uslub-bench")
        a.bench = real if os.path.exists(real) else os.path.join(
            a.build, "bench", "uslub-bench")
    a.bench = os.path.abspath(a.bench)
    if not os.access(a.bench, os.X_OK):
        warn(f"{a.bench} not found: build it first (make)")
        sys.exit(2)
    if not a.out:
        day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        host = socket.gethostname().split(".")[0]
        a.out = os.path.join(REPO, "bench", "results", f"{day}-{host}")
    a.out = os.path.abspath(a.out)


def find_libs(a):
    """allocator -> library to preload ('' for glibc); skips missing ones."""
    libs = {"glibc": ""}
    libs["uslub"] = a.preload or os.environ.get("USLUB_PRELOAD") or \
        os.path.join(a.build, "preload", ".libs", "libuslub-preload.so")
    dirs = [a.peers_dir] if a.peers_dir else \
        [DEBIAN_LIBDIR, os.path.join(REPO, ".peers")]
    LIB_DIRS[:] = [os.path.abspath(d) for d in dirs
                   if d != DEBIAN_LIBDIR and os.path.isdir(d)]
    for name, lib in PEER_LIBS.items():
        libs[name] = next((os.path.join(d, lib) for d in dirs
                           if os.path.exists(os.path.join(d, lib))),
                          os.path.join(dirs[0], lib))
    found = {}
    for name in a.allocators:
        lib = os.path.abspath(libs[name]) if libs[name] else ""
        if lib and not os.path.exists(lib):
            note(f"{name} skipped: {lib} not found")
        else:
            found[name] = lib
    return found


# ---------------------------------------------------------------- running

def run_cmd(cmd, env=None, timeout=600, cwd=None):
    """(status, stdout, stderr); status None when it ran past timeout."""
    p = subprocess.Popen(cmd, env=env, cwd=cwd, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except BaseException as e:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        if not isinstance(e, subprocess.TimeoutExpired):
            raise
        return None, out, err


# Folders of copied libraries (.peers/, --peers-dir) also serve the
# binary's own: on a machine without packages, libbenchmark.so.1debian is
# copied there beside the peers.
LIB_DIRS = []


def bench_env(lib):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib:
        env["LD_PRELOAD"] = lib
    if LIB_DIRS:
        env["LD_LIBRARY_PATH"] = ":".join(
            LIB_DIRS + [d for d in [env.get("LD_LIBRARY_PATH")] if d])
    return env


def list_workloads(a):
    """Workloads in suite order: the known ones the binary lists, then any
    new ones; the known list when listing fails."""
    cmd = [a.bench, "--allocator=glibc",
           "--threads=" + ",".join(map(str, a.threads)),
           "--benchmark_list_tests=true"]
    status, out, err = run_cmd(cmd, bench_env(""), 60)
    a.listed = [line for line in out.split() if "/" in line]
    listed = list(dict.fromkeys(line.split("/")[0] for line in a.listed))
    if status != 0 or not listed:
        note(f"--benchmark_list_tests failed ({tail(err, 1)}); "
             "using the known workloads")
        listed = list(WORKLOADS)
    for w in WORKLOADS:
        if w not in listed:
            note(f"workload {w} not in the binary, skipped")
    ws = [w for w in WORKLOADS if w in listed] + \
        [w for w in listed if w not in WORKLOADS]
    if a.filter:
        ws = [w for w in ws if re.fullmatch(a.filter, w)]
    elif a.preset == "large":
        ws = [w for w in ws if w in FIXED_WORK]
    else:
        ws = [w for w in ws if w not in FIXED_WORK]
    return ws


def units(a, workloads):
    """(label, benchmark name prefix) per process to run: a workload, or
    for fixed work each arg and thread count on a fresh heap."""
    out = []
    for w in workloads:
        if w not in FIXED_WORK:
            out.append((w, w + "/"))
            continue
        prefixes = [n.split("/threads:")[0] + "/threads:" +
                    n.split("/threads:")[1].split("/")[0] + "/"
                    for n in getattr(a, "listed", []) if n.startswith(w + "/")
                    and "/threads:" in n]
        out += [(p.rstrip("/"), p) for p in dict.fromkeys(prefixes)] or \
            [(w, w + "/")]
    return out


def tail(text, n=10):
    lines = (text or "").strip().splitlines()
    return "\n".join(lines[-n:]) if lines else "(no stderr)"


def run_one(a, res, alloc, prefix, rnd, tmp):
    """One process for the benchmarks whose names start with prefix; its
    entries go into res. Returns an error or None."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", prefix.rstrip("/"))
    out_json = os.path.join(tmp, f"{name}-{alloc}-{rnd}.json")
    cmd = [a.bench, f"--allocator={alloc}",
           "--threads=" + ",".join(map(str, a.threads)),
           f"--benchmark_filter=^{prefix}",
           f"--benchmark_min_time={a.min_time:g}",
           f"--scale={a.scale:g}"] + \
        ([f"--live={a.live}"] if a.live else []) + [
           f"--benchmark_out={out_json}", "--benchmark_out_format=json",
           "--rss-trace=" + os.path.join(a.out, "rss")]
    status, _, err = run_cmd(cmd, bench_env(a.libs[alloc]), a.timeout)
    if status is None:
        return f"timed out after {a.timeout:g} s\n{tail(err)}"
    if status != 0:
        return f"exit status {status}\n{tail(err)}"
    try:
        with open(out_json) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return f"no JSON results: {e}\n{tail(err)}"
    if not doc.get("benchmarks"):
        return "no benchmarks ran"
    return res.add(alloc, rnd, doc)


def rotate(items, r):
    k = r % len(items)
    return items[k:] + items[:k]


def run_suite(a, res, workloads):
    todo = units(a, workloads)
    with tempfile.TemporaryDirectory(prefix="uslub-suite-") as tmp:
        for i, (w, prefix) in enumerate(todo, 1):
            for r in range(a.rounds):
                print(f"[{i}/{len(todo)}] {w} round {r + 1}/{a.rounds}:",
                      end="", flush=True)
                errors = []
                for alloc in rotate(list(a.libs), r):
                    print(f" {alloc}", end="", flush=True)
                    err = run_one(a, res, alloc, prefix, r + 1, tmp)
                    if err:
                        print(" (FAILED)", end="", flush=True)
                        errors.append(f"{w} round {r + 1} {alloc}: {err}")
                print(flush=True)
                for e in errors:
                    warn(e)
                res.failures += errors


# ---------------------------------------------------------------- results

def parse_name(entry):
    """(workload, arg, threads, api) of a Google Benchmark entry."""
    parts = [p for p in entry["name"].split("/")
             if not p.startswith(GB_NAME_KEYS) and p not in GB_NAME_WORDS]
    api = parts.pop() if parts[-1] in ("malloc", "cache") else "malloc"
    threads, args = int(entry.get("threads", 1)), []
    for p in parts[1:]:
        if p.startswith("threads:"):
            threads = int(p[len("threads:"):])
        else:
            args.append(p)
    return parts[0], "/".join(args), threads, api


class Results:
    def __init__(self):
        self.runs = {}      # allocator -> Google Benchmark document
        self.samples = {}   # (bench, row) -> [entry per round]
        self.benches = {}   # bench -> (workload, arg, threads), as seen
        self.failures = []

    def add(self, alloc, rnd, doc):
        run = self.runs.setdefault(alloc, {"context": doc.get("context", {}),
                                           "benchmarks": []})
        errors = []
        for e in doc["benchmarks"]:
            if e.get("run_type") == "aggregate":
                continue
            e = dict(e, round=rnd)
            run["benchmarks"].append(e)
            if e.get("error_occurred"):
                errors.append(f"{e['name']}: {e.get('error_message')}")
                continue
            w, arg, threads, api = parse_name(e)
            bench = "/".join([w] + ([arg] if arg else []) +
                             [f"threads:{threads}"])
            self.benches.setdefault(bench, (w, arg, threads))
            row = alloc if api == "malloc" else f"{alloc}-{api}"
            self.samples.setdefault((bench, row), []).append(e)
        return "\n".join(errors) or None

    def summary(self):
        """bench -> row -> medians of the numeric fields, and rounds."""
        out = {}
        for (bench, row), entries in self.samples.items():
            keys = [k for k, v in entries[0].items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                    and k not in NOT_COUNTERS]
            med = {k: statistics.median(e[k] for e in entries if k in e)
                   for k in keys}
            med["rounds"] = len(entries)
            out.setdefault(bench, {})[row] = med
        return out


def workload_benches(res, w):
    """Benches of workload w: args as first seen, threads ascending."""
    order = {}
    for (wl, arg, _) in res.benches.values():
        if wl == w:
            order.setdefault(arg, len(order))
    return sorted((b for b, v in res.benches.items() if v[0] == w),
                  key=lambda b: (order[res.benches[b][1]],
                                 res.benches[b][2]))


def rows_of(summary, benches):
    seen = {r for b in benches for r in summary.get(b, {})}
    return [r for r in ROWS if r in seen] + sorted(seen - set(ROWS))


def is_memory(summary, benches):
    return any("peak_mib" in v for b in benches
               for v in summary.get(b, {}).values())


# ---------------------------------------------------------------- tables

def human(v):
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= div:
            return f"{v / div:.1f}{suffix}"
    return f"{v:.1f}"


def best_peer(values, lower=False):
    """(name, value) of the best peer among row -> value (None: absent)."""
    peers = [(values[p], p) for p in PEERS
             if values.get(p) is not None and values[p] >= 0]
    if not peers:
        return None, None
    v, p = min(peers) if lower else max(peers)
    return p, v


def ratio(v, best):
    if v is None or v < 0 or not best:
        return None
    return v / best


def ratio_cell(r, lower=False):
    if r is None:
        return "–"
    text = f"{r:.2f}×"
    good = round(r, 2) <= 1 if lower else round(r, 2) >= 1
    return f"**{text}**" if good else text


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def throughput_table(summary, benches, res):
    rows = rows_of(summary, benches)
    ours = [r for r in ("uslub", "uslub-cache") if r in rows]
    header = ["arg / threads"] + rows + [f"{r} ÷ best peer" for r in ours] \
        + ["best peer"]
    lines = []
    for b in benches:
        _, arg, threads = res.benches[b]
        ops = {r: summary[b][r].get("items_per_second")
               for r in rows if r in summary[b]}
        peer, best = best_peer(ops)
        cells = [f"{arg or '–'} / {threads}"]
        cells += [human(ops[r]) if ops.get(r) is not None else "–"
                  for r in rows]
        cells += [ratio_cell(ratio(ops.get(r), best)) for r in ours]
        lines.append(cells + [peer or "–"])
    return ("ops/s, median of the rounds; higher is better.\n\n" +
            md_table(header, lines))


def memory_table(summary, benches, res):
    rows = rows_of(summary, benches)
    header = ["counter"] + rows + ["uslub ÷ best peer", "best peer"]
    lines, heap = [], []
    for b in benches:
        arg = res.benches[b][1]
        heap += [f"{v['heap_mib']:.1f}" for v in summary[b].values()
                 if "heap_mib" in v][:1]
        for label, short, key in MEMORY_ROWS:
            vals = {r: summary[b][r].get(key)
                    for r in rows if r in summary[b]}
            peer, best = best_peer(vals, lower=True)
            cells = [label if len(benches) == 1 else f"{label} ({arg})"]
            cells += ["–" if vals.get(r) is None else
                      "n/a" if vals[r] < 0 else f"{vals[r]:.1f}" for r in rows]
            r = ratio(vals.get("uslub"), best)
            lines.append(cells + [ratio_cell(r, lower=True), peer or "–"])
    text = "RSS in MiB, median of the rounds; lower is better"
    if heap:
        text += f"; the heap built holds {heap[0]} MiB"
    return text + ".\n\n" + md_table(header, lines)


def is_fixed_work(summary, benches):
    return any("wall_s" in v for b in benches
               for v in summary.get(b, {}).values())


def fixed_cells(vals, key, rows):
    """Each row's value of key (None: absent) and its ratio to the best
    (smallest) peer's."""
    v = {r: vals[r].get(key) for r in rows if r in vals}
    _, best = best_peer(v, lower=True)
    return v, {r: ratio(x, best) for r, x in v.items()}


def fixed_table(summary, benches, res):
    """Fixed work: one line per arg / threads and allocator."""
    rows = rows_of(summary, benches)
    header = ["arg / threads", "allocator", "time (s)", "time ÷ best peer",
              "ops/s", "minor faults", "faults ÷ best peer", "major faults",
              "sys (s)", "user (s)", "peak RSS (MiB)"]
    lines = []
    for b in benches:
        _, arg, threads = res.benches[b]
        vals = summary[b]
        time, time_r = fixed_cells(vals, "wall_s", rows)
        flt, flt_r = fixed_cells(vals, "minflt", rows)
        for r in rows:
            if r not in vals:
                continue
            v = vals[r]
            name = f"**{r}**" if r.startswith("uslub") else r
            lines.append([
                f"{arg or '–'} / {threads}", name, f"{time[r]:.2f}",
                ratio_cell(time_r[r], lower=True),
                human(v.get("items_per_second", 0)), human(flt[r]),
                ratio_cell(flt_r[r], lower=True),
                f"{v.get('majflt', 0):.0f}", f"{v.get('sys_s', 0):.2f}",
                f"{v.get('user_s', 0):.2f}",
                f"{v.get('rss_peak_mib', 0):.0f}"])
    return ("Fixed work, each arg and thread count in a fresh process; "
            "medians of the rounds; lower is better (ops/s: higher).  "
            "÷ best peer: the allocator's figure over the best of glibc, "
            "jemalloc, tcmalloc and mimalloc.\n\n" + md_table(header, lines))


def callgrind_table(text):
    lines = text.strip().splitlines()
    heads = [i for i, x in enumerate(lines) if x.split()[:1] == ["allocator"]]
    if not heads:
        return None
    head = heads[-1]        # the first line may start with the word too
    header = lines[head].split()
    rows = [x.split() for x in lines[head + 1:] if x.strip()]
    caption = " ".join(lines[:head]) or "instructions per malloc+free"
    return caption + ".\n\n" + md_table(header, rows)


# ---------------------------------------------------------------- plots

def gnuplot_head(term, w, h, out):
    if term == "png":
        t = f"set terminal pngcairo noenhanced size {w},{h} font ',10'"
    else:
        t = f"set terminal svg noenhanced size {w},{h} font 'sans,10'"
    return f"{t}\nset output '../{out}.{term}'\n"


def write_plot(a, name, data, body, w, h):
    """Write data files and name.gp into plots/data, run gnuplot."""
    ddir = os.path.join(a.out, "plots", "data")
    os.makedirs(ddir, exist_ok=True)
    for fname, text in data.items():
        with open(os.path.join(ddir, fname), "w") as f:
            f.write(text)
    script = "# bench/suite.py: cd plots/data && gnuplot " + name + ".gp\n"
    for term in ("png", "svg"):
        script += gnuplot_head(term, w, h, name) + "reset\n" + body \
            + "set output\n"
    with open(os.path.join(ddir, name + ".gp"), "w") as f:
        f.write(script)
    status, _, err = run_cmd(["gnuplot", name + ".gp"], cwd=ddir, timeout=120)
    if status != 0:
        warn(f"gnuplot {name}.gp failed:\n{tail(err)}")
        return False
    return True


def plot_throughput(a, summary, benches, res, w):
    rows = rows_of(summary, benches)
    args = list(dict.fromkeys(res.benches[b][1] for b in benches))
    threads = sorted({res.benches[b][2] for b in benches})
    data, body = {}, ""
    body += ("set multiplot layout 1,%d\nset logscale x 2\n"
             "set xrange [%g:%g]\nset xtics (%s)\nset yrange [0:*]\n"
             "set format y '%%.1s%%c'\nset xlabel 'threads'\n"
             "set ylabel 'ops/s'\nset grid\nset datafile missing '?'\n"
             "set key outside top center horizontal samplen 2\n" %
             (len(args), threads[0] / 1.4, threads[-1] * 1.4,
              ",".join(map(str, threads))))
    for arg in args:
        fname = f"{w}-{re.sub(r'[^A-Za-z0-9_.-]', '_', arg) or 'all'}.dat"
        mine = [b for b in benches if res.benches[b][1] == arg]
        present = [r for r in rows if any(r in summary[b] for b in mine)]
        text = "# threads " + " ".join(present) + "  (ops/s)\n"
        for b in mine:
            vals = [summary[b].get(r, {}).get("items_per_second")
                    for r in present]
            text += f"{res.benches[b][2]} " + " ".join(
                "?" if v is None else f"{v:.6g}" for v in vals) + "\n"
        data[fname] = text
        plots = [f"'{fname}' using 1:{i + 2} with linespoints title '{r}' "
                 f"lw {3 if r.startswith('uslub') else 2} pt 7 "
                 f"lc rgb '{COLORS.get(r, '#000000')}'"
                 for i, r in enumerate(present)]
        body += f"set title '{w} {arg}'\nplot " + ", \\\n  ".join(plots) + "\n"
    body += "unset multiplot\n"
    return write_plot(a, w, data, body, 80 + 420 * len(args), 480)


def plot_memory(a, summary, benches):
    """plots/rss: RSS against time per allocator, and the counters."""
    data, lines = {}, []
    for alloc in a.libs:
        path = os.path.join(a.out, "rss", f"rss-{alloc}.csv")
        if not os.path.exists(path):
            continue
        text = "# s rss_mib phase\n"
        with open(path) as f:
            for line in f:
                p = line.strip().split(",")
                if len(p) >= 2 and p[0].replace(".", "").isdigit():
                    phase = p[2] if len(p) > 2 else ""
                    text += f"{float(p[0]) / 1000:.3f} " \
                            f"{float(p[1]) / 1024:.1f} {phase}\n"
        data[f"rss-{alloc}.dat"] = text
        lines.append(f"'rss-{alloc}.dat' using 1:2 with lines lw 2 "
                     f"lc rgb '{COLORS[alloc]}' title '{alloc}'")
    if not lines:
        return None
    body = (f"set multiplot layout 1,{2 if benches else 1}\nset grid\n"
            "set key outside top center horizontal samplen 2\n"
            "set title 'memory: RSS over time'\nset xlabel 'time (s)'\n"
            "set ylabel 'RSS (MiB)'\nset yrange [0:*]\nplot " +
            ", \\\n  ".join(lines) + "\n")
    if benches:
        rows = rows_of(summary, benches)
        text = "# counter " + " ".join(rows) + "  (MiB; ? = n/a)\n"
        for label, short, key in MEMORY_ROWS:
            vals = [summary[benches[0]].get(r, {}).get(key) for r in rows]
            text += f'"{short}" ' + " ".join(
                "?" if v is None or v < 0 else f"{v:.1f}" for v in vals) + "\n"
        data["memory.dat"] = text
        bars = [f"'memory.dat' using {i + 2}:xtic(1) title '{r}' "
                f"lc rgb '{COLORS.get(r, '#000000')}'"
                for i, r in enumerate(rows)]
        body += ("set title 'memory counters'\nset xlabel ''\n"
                 "set datafile missing '?'\nset style data histograms\n"
                 "set style histogram clustered gap 1\n"
                 "set style fill solid 0.85 border -1\n"
                 "plot " + ", \\\n  ".join(bars) + "\n")
    body += "unset multiplot\n"
    return write_plot(a, "rss", data, body, 1300 if benches else 700, 520)


# ---------------------------------------------------------------- callgrind

def run_callgrind(a, res):
    """callgrind.sh's output, or None (noted) when it cannot run."""
    if not shutil.which("valgrind"):
        note("valgrind not installed: no callgrind counts")
        return None
    cmd = [os.path.join(REPO, "bench", "callgrind.sh"), "--peers",
           os.path.join(a.build, "bench", "hotpath")]
    print("callgrind: " + shlex.join(cmd), flush=True)
    status, out, err = run_cmd(cmd, timeout=3600)
    if status != 0:
        res.failures.append(f"callgrind.sh: status {status}\n{tail(err)}")
        warn(res.failures[-1])
        return None
    return out


# ---------------------------------------------------------------- report

def sh(cmd):
    try:
        env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
        return subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=30).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def proc_field(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def machine():
    mem = proc_field("/proc/meminfo", "MemTotal")
    if mem.split()[0].isdigit():
        mem = f"{int(mem.split()[0]) / 2**20:.1f} GiB"
    return {"host": socket.gethostname(), "nproc": nproc(),
            "cpu": proc_field("/proc/cpuinfo", "model name"),
            "memory": mem, "kernel": os.uname().release}


def versions(a):
    out = {"glibc": os.confstr("CS_GNU_LIBC_VERSION") or "glibc"}
    for name, lib in a.libs.items():
        if lib:
            out[name] = (f"{os.path.basename(lib)} -> "
                         f"{os.path.basename(os.path.realpath(lib))}")
    return out


def write_text(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def readme(a, meta, sections):
    m = meta["machine"]
    text = (f"# uslub benchmarks, {meta['date']}\n\n"
            f"- machine: {m['host']}, {m['nproc']} CPUs ({m['cpu']}), "
            f"{m['memory']}, Linux {m['kernel']}\n"
            f"- commit: {meta['commit']}\n"
            f"- command: `{meta['command']}`\n"
            f"- settings: preset {a.preset}, {a.rounds} round(s), "
            f"min-time {a.min_time:g} s, scale {a.scale:g}"
            f"{f', live {a.live}' if a.live else ''}, threads "
            f"{','.join(map(str, a.threads))}\n"
            "- allocators: " + "; ".join(f"{k} {v}" for k, v in
                                         meta["versions"].items()) + "\n\n"
            "Each benchmark runs once per allocator and round, interleaved; "
            "the figures are medians.  `uslub ÷ best peer` compares with the "
            "best of glibc, jemalloc, tcmalloc and mimalloc (bold: uslub "
            "is at least as good).  Raw results: `gbench/`, `summary.json`."
            "\n\n")
    for i, (title, desc, table, plot) in enumerate(sections, 1):
        text += f"## {i}. {title}\n\n{desc}\n\n{table}\n"
        if plot:
            text += (f"![{title}](plots/{plot}.png) "
                     f"([svg](plots/{plot}.svg))\n\n")
    return text


def print_summary(summary, res, workloads, threads):
    top = max(threads)
    print(f"\nuslub ÷ best peer at threads 1 / {top} "
          "(ops/s: > 1 is faster; memory, time, faults: < 1 is smaller):")
    for w in workloads:
        benches = workload_benches(res, w)
        if not benches:
            continue
        if is_fixed_work(summary, benches):
            cells = []
            for b in benches:
                _, arg, t = res.benches[b]
                _, time_r = fixed_cells(summary[b], "wall_s", list(summary[b]))
                _, flt_r = fixed_cells(summary[b], "minflt", list(summary[b]))
                cells.append(f"{arg}/{t}: time "
                             f"{ratio_cell(time_r.get('uslub')).strip('*')}"
                             f" faults "
                             f"{ratio_cell(flt_r.get('uslub')).strip('*')}")
            print(f"  {w:<14}" + "  ".join(cells))
            continue
        if is_memory(summary, benches):
            vals = summary[benches[0]]
            cells = []
            for label, short, key in MEMORY_ROWS:
                _, best = best_peer({r: v.get(key) for r, v in vals.items()},
                                    lower=True)
                r = ratio(vals.get("uslub", {}).get(key), best)
                cells.append(f"{short} {ratio_cell(r).strip('*')}")
            print(f"  {w:<14}" + "  ".join(cells))
            continue
        cells = {}
        for b in benches:
            _, arg, t = res.benches[b]
            if t in (1, top):
                ops = {r: v.get("items_per_second")
                       for r, v in summary[b].items()}
                _, best = best_peer(ops)
                cells.setdefault(arg, {})[t] = ratio_cell(
                    ratio(ops.get("uslub"), best)).strip("*")
        print(f"  {w:<14}" + "  ".join(
            f"{arg or '-'}: {c.get(1, '–')} / {c.get(top, '–')}"
            for arg, c in cells.items()))


def report(a, res, workloads, callgrind):
    summary = res.summary()
    meta = {"date": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "commit": sh(["git", "-C", REPO, "describe", "--always",
                          "--dirty"]),
            "command": shlex.join(sys.argv), "versions": versions(a),
            "preset": a.preset, "rounds": a.rounds, "min_time": a.min_time,
            "scale": a.scale, "live": a.live,
            "threads": a.threads, "allocators": list(a.libs)}
    for alloc, doc in res.runs.items():
        write_text(os.path.join(a.out, "gbench", f"{alloc}.json"),
                   json.dumps(doc, indent=1) + "\n")
    write_text(os.path.join(a.out, "summary.json"), json.dumps(
        {"meta": meta, "benchmarks": summary}, indent=1) + "\n")
    plots = not a.no_plots and shutil.which("gnuplot")
    if not a.no_plots and not plots:
        note("gnuplot not installed: no plots")
    sections = []
    for w in workloads:
        benches = workload_benches(res, w)
        if not benches:
            continue
        if is_fixed_work(summary, benches):
            table, plot = fixed_table(summary, benches, res), None
        elif is_memory(summary, benches):
            table = memory_table(summary, benches, res)
            plot = plots and plot_memory(a, summary, benches) and "rss"
        else:
            table = throughput_table(summary, benches, res)
            plot = plots and plot_throughput(a, summary, benches, res, w) \
                and w
        write_text(os.path.join(a.out, "tables", f"{w}.md"), table)
        sections.append((w, WORKLOADS.get(w, ""), table, plot))
    if callgrind:
        write_text(os.path.join(a.out, "callgrind.txt"), callgrind)
        table = callgrind_table(callgrind)
        if table:
            write_text(os.path.join(a.out, "tables", "callgrind.md"), table)
            sections.append(("fast path instructions", CALLGRIND_DESC,
                             table, None))
    path = os.path.join(a.out, "README.md")
    write_text(path, readme(a, meta, sections))
    print_summary(summary, res, workloads, a.threads)
    print(f"\n{path}")


def main(argv):
    a = parse_args(argv)
    find_locations(a)
    a.libs = find_libs(a)
    if not a.libs:
        warn("no allocator to run")
        return 2
    os.makedirs(os.path.join(a.out, "rss"), exist_ok=True)
    workloads = list_workloads(a)
    if not workloads:
        warn(f"no workload matches {a.filter!r}")
        return 2
    res, interrupted = Results(), False
    try:
        run_suite(a, res, workloads)
        callgrind = run_callgrind(a, res) if a.callgrind else None
    except KeyboardInterrupt:
        print("\ninterrupted: writing what has run", flush=True)
        interrupted, callgrind = True, None
    report(a, res, workloads, callgrind)
    if res.failures:
        warn(f"{len(res.failures)} failure(s), left out of the results")
    return 130 if interrupted else 1 if res.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
