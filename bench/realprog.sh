#!/bin/sh
# realprog.sh - real programs under glibc, uslub and peer allocators.
#
# Usage: bench/realprog.sh [--runs N] [--only NAME,...]
#          [--allocators glibc,uslub,jemalloc,tcmalloc,mimalloc]
#          [--preload PATH] [--carry-dir DIR] [--runstat PATH] [--raw FILE]
#          [--keep]
#
# Generates each workload once into a temporary directory (deterministic
# inputs, no network), runs it once under glibc as a warm-up whose stdout is
# the reference, then N rounds; within a round every allocator runs once,
# round-robin from a rotating start, so drift in machine load hits all
# alike.  Each run goes through bench/runstat (wall time, peak RSS of the
# largest process) and `env LD_PRELOAD=...' (glibc: no preload).  A run
# whose status is not 0 or whose stdout differs from the reference is
# reported as a failure with its stderr, and left out of the medians.
#
# Prints per workload: median wall ms, median peak RSS MiB, each as a ratio
# to the best allocator (1.00), the wall spread (max-min)/median; then per
# allocator the geometric mean of the ratios over the workloads it passed.
#
#   uslub     --preload PATH, else $USLUB_PRELOAD, else
#             build/dev/preload/.libs/libuslub-preload.so; checked once with
#             USLUB_OPTIONS=stats (it must print "slabinfo")
#   peers     libjemalloc.so.2, libtcmalloc_minimal.so.4, libmimalloc.so.2
#             from /usr/lib/x86_64-linux-gnu or --carry-dir DIR
#   runstat   --runstat PATH, else build/dev/bench/runstat or bench/runstat,
#             else compiled from bench/runstat.c with cc
#   --raw     append one line per run: workload allocator round wall_ms
#             maxrss_kb status
#   --keep    keep the temporary directory (inputs, outputs of failed runs)
#
# Workloads (a missing program skips its workload with a note): py-alloc,
# py-threads, gcc, git, sqlite, sort-gzip, cxx.  Python runs with its
# default pymalloc: objects over 512 bytes, dict and list storage beyond
# that and json buffers reach malloc; small objects mostly do not.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
runs=5
only=
allocators=glibc,uslub,jemalloc,tcmalloc,mimalloc
preload=${USLUB_PRELOAD:-$root/build/dev/preload/.libs/libuslub-preload.so}
libdir=/usr/lib/x86_64-linux-gnu
runstat=
raw=
keep=0
all_workloads="py-alloc py-threads gcc git sqlite sort-gzip cxx"

die() { echo "realprog.sh: $*" >&2; exit 1; }
note() { echo "note: $*"; }

while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift ;;
	--only) only=$2; shift ;;
	--allocators) allocators=$2; shift ;;
	--preload) preload=$2; shift ;;
	--carry-dir) libdir=$2; shift ;;
	--runstat) runstat=$2; shift ;;
	--raw) raw=$2; shift ;;
	--keep) keep=1 ;;
	-h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument: $1 (try --help)" ;;
	esac
	shift
done
case $runs in ''|*[!0-9]*|0) die "--runs wants a positive integer" ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/realprog.XXXXXX")
if [ "$keep" = 1 ]; then
	trap 'echo "realprog.sh: kept $tmp" >&2' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 130' INT TERM
case $tmp in *[!A-Za-z0-9/._-]*) die "temp dir $tmp: odd characters" ;; esac

# --------------------------------------------------------------------------
# Tools: runstat, python, allocator libraries
# --------------------------------------------------------------------------

find_runstat() {
	if [ -n "$runstat" ]; then
		[ -x "$runstat" ] || die "--runstat $runstat: not executable"
		return
	fi
	for r in "$root/build/dev/bench/runstat" "$root/bench/runstat"; do
		[ -x "$r" ] && { runstat=$r; return; }
	done
	runstat=$tmp/runstat
	${CC:-cc} -std=gnu11 -O2 -o "$runstat" "$root/bench/runstat.c" ||
		die "cannot build runstat from bench/runstat.c"
	note "runstat compiled from bench/runstat.c"
}

# The interpreter itself: a pyenv-style shim is a shell script that would
# run (preloaded) on every start and dominate short runs.
find_python() {
	py=
	command -v python3 >/dev/null 2>&1 || return 0
	py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) ||
		py=$(command -v python3)
}

# so_<allocator>: the library to preload, empty for glibc.
resolve_allocators() {
	alloc_list=
	for a in $(echo "$allocators" | tr ',' ' '); do
		case $a in
		glibc) so= ;;
		uslub) so=$preload ;;
		jemalloc) so=$libdir/libjemalloc.so.2 ;;
		tcmalloc) so=$libdir/libtcmalloc_minimal.so.4 ;;
		mimalloc) so=$libdir/libmimalloc.so.2 ;;
		*) die "unknown allocator $a" ;;
		esac
		if [ -n "$so" ]; then
			case $so in /*) ;; *) so=$(pwd)/$so ;; esac
			if [ ! -f "$so" ]; then
				[ "$a" = uslub ] && die "uslub: $so not found (build it, or --preload)"
				note "$a: $so not found, skipped"
				continue
			fi
			check_loaded "$a" "$so"
		fi
		eval "so_$a=\$so"
		alloc_list="$alloc_list $a"
	done
	[ -n "$alloc_list" ] || die "no allocator left to run"
	check_uslub
}

# The library is mapped into a preloaded process (a wrong ELF class or a
# missing dependency would only make ld.so warn and go on).
check_loaded() {
	real=$(readlink -f "$2")
	env LD_PRELOAD="$2" cat /proc/self/maps 2>"$tmp/ld.err" |
		grep -qF "$real" ||
		die "$1: $2 is not loaded by LD_PRELOAD: $(cat "$tmp/ld.err")"
}

check_uslub() {
	case " $alloc_list " in *" uslub "*) ;; *) return 0 ;; esac
	if [ -n "$py" ]; then set -- "$py" -c pass; else set -- sh -c :; fi
	env LD_PRELOAD="$so_uslub" USLUB_OPTIONS=stats "$@" 2>&1 >/dev/null |
		grep -q slabinfo ||
		die "uslub: USLUB_OPTIONS=stats $* printed no slabinfo; is $so_uslub the preload library?"
}

# --------------------------------------------------------------------------
# Workloads: setup_<name> writes inputs into $wdir and sets cmd (split on
# blanks; paths come from mktemp and hold none), or sets skip to a reason.
# --------------------------------------------------------------------------

need() {
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || { skip="$p not found"; return 1; }
	done
}

setup_py_alloc() {
	[ -n "$py" ] || { skip="python3 not found"; return; }
	cat >"$wdir/alloc.py" <<'EOF'
# Build records of dicts, lists and strings, round-trip them through json,
# index and sort them, keep a sliding window of survivors, drop the rest.
import json

ROUNDS, N, KEEP = 8, 5000, 4
survivors, total = [], 0
for r in range(ROUNDS):
    recs = []
    for i in range(N):
        k = (i * 2654435761 + r * 40503) % 1000003
        recs.append({
            "id": i, "name": "user-%d-%s" % (k, "abcdefgh"[: k % 8] * (1 + k % 5)),
            "tags": [str(k % (j + 2)) * (1 + j % 3) for j in range(k % 11)],
            "blob": "z" * (64 + k % 1500),
            "score": k % 977 / 7.0,
            "nested": {"a": k, "b": [k, k + 1, str(k)]},
        })
    s = json.dumps(recs)
    back = json.loads(s)
    total += len(s) + sum(len(x["tags"]) for x in back)
    idx = {x["name"]: x for x in back}
    names = sorted(idx, key=lambda n: (len(n), n))
    total += len(" ".join(names[::5]))
    words = {}
    for x in back:
        for t in x["tags"]:
            words[t] = words.get(t, 0) + 1
    total += sum(v * len(w) for w, v in words.items())
    survivors.append([x for x in back if x["id"] % 4 == r % 4])
    if len(survivors) > KEEP:
        survivors.pop(0)
    del recs, back, s, idx, names, words
print(total, sum(len(l) for l in survivors))
EOF
	cmd="$py $wdir/alloc.py"
}

setup_py_threads() {
	[ -n "$py" ] || { skip="python3 not found"; return; }
	cat >"$wdir/threads.py" <<'EOF'
# A four-thread pipeline over bounded queue.Queue: stage 0 builds objects,
# stages 1-2 derive new ones from them and drop the originals (freed in a
# thread other than the one that allocated them), stage 3 folds them into
# a checksum and keeps a window of the last ones.  FIFO, so deterministic.
import collections, queue, threading

N, DEPTH = 60000, 512
qs = [queue.Queue(DEPTH) for _ in range(3)]
out = []

def produce():
    for i in range(N):
        k = (i * 2654435761) % 1000003
        qs[0].put({"id": i, "s": "p%d" % k * (1 + k % 6),
                   "v": list(range(k % 40)), "m": {str(j): j for j in range(k % 9)}})
    qs[0].put(None)

def transform(src, dst, tag):
    while True:
        x = src.get()
        if x is None:
            dst.put(None)
            return
        dst.put({"id": x["id"], "s": tag + x["s"][::-1],
                 "v": [v * 3 + 1 for v in x["v"]] + [len(x["m"])],
                 "m": {k + tag: v + 1 for k, v in x["m"].items()}})

def consume():
    acc, window = 0, collections.deque(maxlen=2000)
    while True:
        x = qs[2].get()
        if x is None:
            break
        acc += x["id"] + len(x["s"]) + sum(x["v"]) + sum(x["m"].values())
        window.append(x)
    out.append((acc, len(window)))

ts = [threading.Thread(target=produce),
      threading.Thread(target=transform, args=(qs[0], qs[1], "a")),
      threading.Thread(target=transform, args=(qs[1], qs[2], "b")),
      threading.Thread(target=consume)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(*out[0])
EOF
	cmd="$py $wdir/threads.py"
}

# Park-Miller LCG in awk: products stay below 2^53, so mawk and gawk agree.
AWK_RNG='function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }'

setup_gcc() {
	need gcc md5sum || return 0
	awk -v nfunc=100 "$AWK_RNG"'
	BEGIN {
		seed = 42
		print "#include <stddef.h>\n#include <string.h>\n"
		for (s = 0; s < 20; s++) {
			printf "struct s%d { int a; long b; double c; char name[%d]; struct s%d *next; };\n", s, 8 + s, s
		}
		print "static int tab[64] = {"
		for (i = 0; i < 64; i++) printf "%d,", rnd(1000)
		print "};\n"
		for (f = 0; f < nfunc; f++) {
			s = f % 20
			printf "static inline int h%d(int x) { return (x * %d) ^ (x >> %d); }\n", f, rnd(97) + 3, rnd(7) + 1
			printf "long f%d(struct s%d *p, int n, const char *str)\n{\n", f, s
			print "\tlong acc = 0;\n\tint i, j;"
			print "\tfor (i = 0; i < n; i++) {"
			printf "\t\tswitch ((i + %d) %% 8) {\n", rnd(8)
			for (c = 0; c < 8; c++)
				printf "\t\tcase %d: acc += h%d(i) + tab[(i + %d) & 63]; break;\n", c, f, rnd(64)
			print "\t\t}"
			print "\t\tfor (j = 0; p && j < 4; j++, p = p->next) {"
			printf "\t\t\tacc += p->a * %d + (long)(p->c * %d.5);\n", rnd(50), rnd(9)
			print "\t\t\tif (strlen(p->name) > (size_t)j) acc ^= p->name[j];"
			print "\t\t}"
			printf "\t\tif (str && str[i %% %d]) acc += str[i %% %d] * %d;\n", rnd(5) + 1, rnd(5) + 1, rnd(31)
			print "\t}"
			g = rnd(f + 1) - 1
			if (g >= 0)
				printf "\treturn acc + (n > 1 ? f%d((struct s%d *)(void *)p, n / 2, str) : 0);\n}\n\n", g, g % 20
			else
				print "\treturn acc;\n}\n"
		}
	}' >"$wdir/big.c"
	printf 'gcc -O2 -w -c %s/big.c -o %s/big.o && md5sum <%s/big.o\n' \
		"$wdir" "$wdir" "$wdir" >"$wdir/run.sh"
	cmd="sh $wdir/run.sh"
}

setup_git() {
	need git || return 0
	# A fast-import stream of 200 commits with fixed authors and dates: 60
	# files at first, then six files edited (a few lines each) per commit
	# and a file added every tenth.  Committing through fast-import keeps
	# the run in git's own code, not in 600 process starts.
	awk -v ncommit=200 "$AWK_RNG"'
	function newfile(fi, l) {
		nl[fi] = 150 + rnd(250)
		for (l = 0; l < nl[fi]; l++)
			line[fi, l] = sprintf("%d: value %d of file %d, word%d word%d", l, rnd(100000), fi, rnd(50), rnd(50))
	}
	function emit(fi, l, body) {
		body = ""
		for (l = 0; l < nl[fi]; l++) body = body line[fi, l] "\n"
		printf "M 100644 inline src/d%d/f%d.txt\ndata %d\n%s\n", fi % 7, fi, length(body), body
	}
	BEGIN {
		seed = 7
		nfiles = 60
		for (fi = 0; fi < nfiles; fi++) newfile(fi)
		for (c = 1; c <= ncommit; c++) {
			t = 1600000000 + c * 3600
			msg = "commit " c ": edit files"
			printf "commit refs/heads/main\nmark :%d\n", c
			printf "author A U Thor <author@example.org> %d +0000\n", t
			printf "committer C O Mitter <committer@example.org> %d +0000\n", t + 60
			printf "data %d\n%s\n", length(msg), msg
			if (c > 1) printf "from :%d\n", c - 1
			if (c == 1) { for (fi = 0; fi < nfiles; fi++) emit(fi); print ""; continue }
			if (c % 10 == 0) { newfile(nfiles); emit(nfiles); nfiles++ }
			for (k = 0; k < 6; k++) {
				fi = rnd(nfiles)
				for (e = 0; e < 5; e++)
					line[fi, rnd(nl[fi])] = sprintf("edited in commit %d: %d", c, rnd(100000))
				emit(fi)
			}
			print ""
		}
	}' >"$wdir/commits.fi"
	cat >"$wdir/run.sh" <<EOF
set -e
HOME=$wdir/home GIT_CONFIG_NOSYSTEM=1
export HOME GIT_CONFIG_NOSYSTEM
rm -rf $wdir/repo $wdir/home
mkdir -p $wdir/repo $wdir/home
cd $wdir/repo
git init -q
git config gc.auto 0
git config gc.autoDetach false
git config core.fsync none
git fast-import --quiet <$wdir/commits.fi
git symbolic-ref HEAD refs/heads/main
git reset -q --hard
git log --stat
git blame src/d3/f3.txt | md5sum
git gc -q
git rev-parse HEAD
EOF
	cmd="sh $wdir/run.sh"
}

setup_sqlite() {
	need sqlite3 || return 0
	awk "$AWK_RNG"'
	BEGIN {
		seed = 11
		print "PRAGMA cache_size = -65536;"
		print "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT, city TEXT, score INT);"
		print "CREATE TABLE orders(id INTEGER PRIMARY KEY, cust INT, item TEXT, qty INT, cents INT, note TEXT);"
		print "BEGIN;"
		for (i = 1; i <= 10000; i++)
			printf "INSERT INTO customers VALUES(%d, '\''name%d'\'', '\''city%d'\'', %d);\n", i, rnd(1000000), rnd(300), rnd(1000)
		print "COMMIT;"
		for (i = 1; i <= 100000; i++) {
			if (i % 1000 == 1) print "BEGIN;"
			printf "INSERT INTO orders(cust, item, qty, cents, note) VALUES(%d, '\''item%d'\'', %d, %d, '\''%s'\'');\n", 1 + rnd(10000), rnd(2000), 1 + rnd(20), rnd(100000), substr("note-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1, 5 + rnd(50))
			if (i % 1000 == 0) print "COMMIT;"
		}
		print "CREATE INDEX orders_cust ON orders(cust);"
		print "CREATE INDEX orders_item ON orders(item, qty);"
		print "CREATE INDEX customers_city ON customers(city);"
		print "SELECT c.city, count(*), sum(o.qty * o.cents) FROM orders o JOIN customers c ON c.id = o.cust GROUP BY c.city ORDER BY c.city LIMIT 10;"
		print "SELECT item, count(*), sum(qty) FROM orders GROUP BY item ORDER BY 2 DESC, 1 LIMIT 10;"
		print "SELECT c.id, c.name, sum(o.qty) s FROM customers c JOIN orders o ON o.cust = c.id GROUP BY c.id ORDER BY s DESC, c.id LIMIT 10;"
		print "SELECT city, name, score FROM (SELECT city, name, score, row_number() OVER (PARTITION BY city ORDER BY score DESC, id) rn FROM customers) WHERE rn = 1 ORDER BY city LIMIT 10;"
		print "SELECT count(DISTINCT o.item) FROM orders o JOIN customers c ON c.id = o.cust WHERE c.score > 500;"
		print "UPDATE orders SET note = note || '\''-updated'\'' WHERE qty % 7 = 0;"
		print "DELETE FROM orders WHERE qty % 11 = 0;"
		print "SELECT count(*), sum(length(note)), sum(cents) FROM orders;"
		print "SELECT group_concat(item, '\'','\'') FROM (SELECT DISTINCT item FROM orders ORDER BY item LIMIT 50);"
	}' >"$wdir/work.sql"
	printf 'sqlite3 :memory: <%s/work.sql\n' "$wdir" >"$wdir/run.sh"
	cmd="sh $wdir/run.sh"
}

setup_sort_gzip() {
	need seq awk sort gzip gunzip md5sum || return 0
	mkdir -p "$wdir/sorttmp"
	cat >"$wdir/run.sh" <<EOF
seq 1 1000000 |
awk '{ printf "%07d %s line-%d\n", (\$1 * 7919) % 1000003, \$1 % 977, \$1 }' |
sort -S 8M -T $wdir/sorttmp |
gzip -1 | gunzip | md5sum
EOF
	cmd="sh $wdir/run.sh"
}

setup_cxx() {
	need g++ || return 0
	cat >"$wdir/churn.cc" <<'EOF'
// Eight threads: four producers build Items (strings, vectors, maps) and
// pass them through a bounded queue to four consumers, which index them in
// unordered_maps, rebuild maps of words, throw and catch on some, and free
// them (objects die in a thread other than their allocator's).  The result
// sums per-item values only, so it does not depend on the interleaving.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct Item {
	uint64_t id;
	std::string name;
	std::vector<int> vals;
	std::map<std::string, int> attrs;
};

class Queue {
	std::mutex m;
	std::condition_variable not_full, not_empty;
	std::deque<std::unique_ptr<Item>> q;
	int producers;
public:
	explicit Queue(int p) : producers(p) {}
	void put(std::unique_ptr<Item> it) {
		std::unique_lock<std::mutex> l(m);
		not_full.wait(l, [&] { return q.size() < 1024; });
		q.push_back(std::move(it));
		not_empty.notify_one();
	}
	void done() {
		std::lock_guard<std::mutex> l(m);
		producers--;
		not_empty.notify_all();
	}
	std::unique_ptr<Item> get() {
		std::unique_lock<std::mutex> l(m);
		not_empty.wait(l, [&] { return !q.empty() || producers == 0; });
		if (q.empty())
			return nullptr;
		auto it = std::move(q.front());
		q.pop_front();
		not_full.notify_one();
		return it;
	}
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33; x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static const int PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 60000;

static void produce(Queue &q, int p)
{
	for (int i = 0; i < PER_PRODUCER; i++) {
		uint64_t id = (uint64_t)p * PER_PRODUCER + i, h = mix(id);
		auto it = std::make_unique<Item>();
		it->id = id;
		it->name = "item-" + std::to_string(h % 100000) +
			   std::string(h % 90, 'a' + h % 26);
		it->vals.resize(h % 48);
		for (size_t k = 0; k < it->vals.size(); k++)
			it->vals[k] = (int)(mix(h + k) % 1000);
		for (unsigned k = 0; k < h % 7; k++)
			it->attrs["attr" + std::to_string(k * 31 + h % 13)] = (int)k;
		q.put(std::move(it));
	}
	q.done();
}

static uint64_t check(const Item &it)
{
	uint64_t s = it.id + it.name.size();
	for (int v : it.vals)
		s += (uint64_t)v;
	for (const auto &kv : it.attrs)
		s += kv.first.size() * (uint64_t)(kv.second + 1);
	if (it.vals.size() % 5 == 1)
		throw std::runtime_error("odd item " + it.name);
	return s;
}

static void consume(Queue &q, uint64_t *out)
{
	std::unordered_map<std::string, std::unique_ptr<Item>> live;
	std::map<std::string, uint64_t> words;
	uint64_t sum = 0;
	while (auto it = q.get()) {
		try {
			sum += check(*it);
		} catch (const std::exception &e) {
			sum += std::string(e.what()).size();
		}
		words[it->name.substr(0, 8 + it->id % 5)] += 1;
		live[it->name + "#" + std::to_string(it->id)] = std::move(it);
		if (live.size() > 4096) {
			for (int k = 0; k < 2048 && !live.empty(); k++)
				live.erase(live.begin());
		}
		if (words.size() > 20000)
			words.clear();
	}
	*out = sum;
}

int main()
{
	Queue q(PRODUCERS);
	uint64_t sums[CONSUMERS] = {0}, total = 0;
	std::vector<std::thread> ts;
	for (int p = 0; p < PRODUCERS; p++)
		ts.emplace_back(produce, std::ref(q), p);
	for (int c = 0; c < CONSUMERS; c++)
		ts.emplace_back(consume, std::ref(q), &sums[c]);
	for (auto &t : ts)
		t.join();
	for (uint64_t s : sums)
		total += s;
	std::printf("%llu\n", (unsigned long long)total);
	return 0;
}
EOF
	g++ -O2 -pthread -o "$wdir/churn" "$wdir/churn.cc" 2>"$wdir/g++.err" ||
		{ skip="g++ failed: $(head -5 "$wdir/g++.err")"; return 0; }
	cmd="$wdir/churn"
}

# --------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------

# run_one ALLOC: run $cmd under ALLOC; leaves $wdir/$tag.{out,err,stat}.
run_one() {
	eval "so=\$so_$1"
	if [ -n "$so" ]; then set -- env LD_PRELOAD="$so" $cmd
	else set -- env -u LD_PRELOAD $cmd; fi
	(cd "$wdir" && TMPDIR=$wdir/sorttmp "$runstat" -o "$wdir/$tag.stat" -- "$@" \
		>"$wdir/$tag.out" 2>"$wdir/$tag.err") || true
}

# Appends "workload alloc round wall_ms kb status" to $tmp/results; a
# failed run is reported here and gets status FAIL.
record() {
	set -- $(sed 's/[a-z_]*=//g' "$wdir/$tag.stat" 2>/dev/null) x x x
	wall=$1 kb=$2 st=$3
	if [ "$st" != 0 ] || ! cmp -s "$wdir/$tag.out" "$wdir/ref.out"; then
		echo "FAIL: workload=$w allocator=$a round=$r status=$st" \
			"(stdout $(cmp -s "$wdir/$tag.out" "$wdir/ref.out" && echo matches || echo differs from glibc))"
		echo "  command: $cmd"
		tail -n 15 "$wdir/$tag.err" | sed 's/^/  stderr: /'
		if ! cmp -s "$wdir/$tag.out" "$wdir/ref.out"; then
			diff "$wdir/ref.out" "$wdir/$tag.out" | head -n 8 | sed 's/^/  diff: /'
		fi
		st=FAIL
	fi
	echo "$w $a $r $wall $kb $st" >>"$tmp/results"
	[ -z "$raw" ] || echo "$w $a $r $wall $kb $st" >>"$raw"
}

run_workload() {
	w=$1 wdir=$tmp/$1 skip='' cmd=''
	mkdir -p "$wdir/sorttmp"
	"setup_$(echo "$w" | tr - _)"
	if [ -n "$skip" ]; then note "$w skipped: $skip"; return; fi
	tag=ref
	run_one glibc
	set -- $(sed 's/[a-z_]*=//g' "$wdir/ref.stat" 2>/dev/null) x x x
	if [ "$3" != 0 ]; then
		note "$w skipped: the warm-up under glibc failed (status $3)"
		tail -n 5 "$wdir/ref.err" | sed 's/^/  /'
		return
	fi
	echo "-- $w: warm-up $1 ms under glibc; $runs rounds" >&2
	r=1
	while [ "$r" -le "$runs" ]; do
		# Rotate the starting allocator by one each round.
		order=$(echo $alloc_list | tr ' ' '\n' | rotate "$r")
		for a in $order; do
			tag=$a.$r
			run_one "$a"
			record
			rm -f "$wdir/$tag.out"
		done
		r=$((r + 1))
	done
	table "$w"
	[ -d "$wdir/repo" ] && rm -rf "$wdir/repo"
	return 0
}

# rotate R: the allocator list (one a line, in list order) rotated
# left by R-1.
rotate() {
	awk -v r="$1" '{ a[NR] = $1 } END { s = (r - 1) % NR; for (i = 0; i < NR; i++) print a[(s + i) % NR + 1] }'
}

AWK_MEDIAN='
function median(list, v, n, i, j, t) {
	n = split(list, v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	if (n == 0) return -1
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}'

# table W: the per-workload table; appends "W alloc wall_x rss_x" lines
# (or "W alloc FAIL") to $tmp/ratios.
table() {
	awk -v w="$1" -v order="$alloc_list" -v runs="$runs" -v ratios="$tmp/ratios" "$AWK_MEDIAN"'
	$1 == w {
		if ($6 == "FAIL") { fail[$2]++; next }
		wall[$2] = wall[$2] " " $4; rss[$2] = rss[$2] " " $5
		if (!($2 in lo) || $4 + 0 < lo[$2]) lo[$2] = $4 + 0
		if (!($2 in hi) || $4 + 0 > hi[$2]) hi[$2] = $4 + 0
	}
	END {
		n = split(order, al, " ")
		bw = br = -1
		for (i = 1; i <= n; i++) {
			a = al[i]
			if (wall[a] == "") continue
			mw[a] = median(wall[a]); mr[a] = median(rss[a]) / 1024
			if (bw < 0 || mw[a] < bw) bw = mw[a]
			if (br < 0 || mr[a] < br) br = mr[a]
		}
		printf "\n== %s (median of %d runs) ==\n", w, runs
		printf "%-10s %10s %9s %8s %8s %8s\n", "allocator", "wall_ms", "rss_MiB", "wall_x", "rss_x", "spread%"
		for (i = 1; i <= n; i++) {
			a = al[i]
			if (wall[a] == "") {
				printf "%-10s FAILED %d/%d runs\n", a, fail[a], runs
				print w, a, "FAIL" >> ratios
				continue
			}
			printf "%-10s %10.1f %9.1f %8.2f %8.2f %8.1f%s\n", a, mw[a], mr[a], mw[a] / bw, mr[a] / br,
				100 * (hi[a] - lo[a]) / mw[a], fail[a] ? sprintf("  (%d/%d runs FAILED)", fail[a], runs) : ""
			print w, a, (fail[a] ? "FAIL" : mw[a] / bw), mr[a] / br >> ratios
		}
	}' "$tmp/results"
}

summary() {
	[ -s "$tmp/ratios" ] || return 0
	awk -v order="$alloc_list" '
	{ if ($3 == "FAIL") { failed[$2] = failed[$2] " " $1; next }
	  lw[$2] += log($3); lr[$2] += log($4); nw[$2]++; nwl[$1] = 1 }
	END {
		for (x in nwl) total++
		printf "\n== summary: geometric mean of ratios to the best, over workloads ==\n"
		printf "%-10s %8s %8s %10s\n", "allocator", "wall_x", "rss_x", "workloads"
		n = split(order, al, " ")
		for (i = 1; i <= n; i++) {
			a = al[i]
			if (!nw[a]) { printf "%-10s %8s %8s %10s  failed:%s\n", a, "-", "-", "0/" total, failed[a]; continue }
			printf "%-10s %8.2f %8.2f %10s%s\n", a, exp(lw[a] / nw[a]), exp(lr[a] / nw[a]),
				nw[a] "/" total, failed[a] != "" ? "  failed:" failed[a] : ""
		}
	}' "$tmp/ratios"
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

find_runstat
find_python
resolve_allocators
workloads=$all_workloads
if [ -n "$only" ]; then
	workloads=$(echo "$only" | tr ',' ' ')
	for w in $workloads; do
		case " $all_workloads " in *" $w "*) ;; *) die "unknown workload $w (have: $all_workloads)" ;; esac
	done
fi
: >"$tmp/results"

echo "realprog: $(uname -srm), $(nproc 2>/dev/null || echo '?') CPUs, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "runs=$runs allocators:$alloc_list"
for a in $alloc_list; do
	eval "so=\$so_$a"
	echo "  $a: ${so:-no preload}"
done
[ -z "${USLUB_OPTIONS:-}" ] || echo "  USLUB_OPTIONS=$USLUB_OPTIONS"
[ -z "$py" ] || echo "  python: $py"

for w in $workloads; do
	run_workload "$w"
done
summary
