#!/bin/sh
# tests/preload/programs.sh -- real programs under the preload library, as
# TAP.  Run from the build directory by `make check', which sets
# abs_top_builddir, abs_top_srcdir and USLUB_PRELOAD (the built
# libuslub-preload.so).
#
# Each program runs twice, each time in a new empty directory: once plain
# (the C library's malloc) and once with LD_PRELOAD=$USLUB_PRELOAD exported,
# so every process it starts is on uslub too.  A test point passes when both
# runs exit 0 and their stdout, and the files each leaves under keep/, are
# the same bytes; the workloads print nothing that depends on addresses,
# timing or thread interleaving.  On failure the diff or the tail of stderr
# follows as "# " lines.  A program that is not installed is a skipped
# test point; without the preload library the whole script is skipped.
#
#   programs.sh run NAME   (internal) runs the workload prog_NAME in the
#                          current directory; the runs go through this so
#                          that `timeout' can end a hung one.

preload=${USLUB_PRELOAD:-}

# Whatever the caller's environment, the same for every run.
LC_ALL=C
TZ=UTC
PYTHONHASHSEED=0
PYTHONDONTWRITEBYTECODE=1
PYTHONMALLOC=malloc		# every Python object through malloc
export LC_ALL TZ PYTHONHASHSEED PYTHONDONTWRITEBYTECODE PYTHONMALLOC
unset LANG LANGUAGE MALLOC_CHECK_ MALLOC_PERTURB_ GLIBC_TUNABLES


# ==========================================================================
# Workloads: prog_NAME runs in an empty directory whose keep/ it may fill;
# stdout and keep/ are compared.  $python is set by the caller.
# ==========================================================================

# Dicts, lists, strings, big numbers, json, sorting, garbage cycles.
prog_py_heap() {
	cat >heap.py <<'EOF'
import collections, decimal, fractions, gc, hashlib, json, math, random
import re, struct, weakref, zlib

rng = random.Random(20240601)

def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]

def jdigest(obj):
    return digest(json.dumps(obj, sort_keys=True).encode())

# Dicts of lists of strings, half deleted and refilled.
groups = {}
for i in range(50000):
    key = 'g%05d' % rng.randrange(10000)
    word = ''.join(rng.choice('abcdefghij') for _ in range(rng.randrange(1, 12)))
    groups.setdefault(key, []).append(word)
print('groups', len(groups), sum(map(len, groups.values())), jdigest(groups))
for k in sorted(groups)[::2]:
    del groups[k]
for i in range(15000):
    groups['n%d' % i] = [str(i)] * (i % 9)
print('groups after churn', len(groups), jdigest(groups))

# Strings: joins, splits, replaces, regular expressions, formatting.
text = ' '.join('%s-%d' % (w, len(w)) for ws in groups.values() for w in ws)
parts = text.split(' ')
swapped = text.replace('a', 'AA').replace('-', '')
words = re.findall(r'[a-j]+-(\d+)', text)
print('text', len(text), len(parts), len(swapped), len(words), digest(swapped.encode()))
print('format', digest(''.join('{:>12}|{:<7x}|{:.3e}'.format(s, n, n / 7)
                               for n, s in enumerate(parts[:20000])).encode()))

# Big integers.
f = math.factorial(1000)
p = pow(7, 50000)
q = p // (f + 1)
print('bigint', len(str(f)), p.bit_length(), q.bit_length(), (p % f) % 1000000007,
      digest(p.to_bytes((p.bit_length() + 7) // 8, 'big')))
a, b = 0, 1
for _ in range(20000):
    a, b = b, a + b
print('fib', a.bit_length(), a % (10 ** 30))
decimal.getcontext().prec = 3000
print('decimal', str(decimal.Decimal(2).sqrt())[-40:])
h = sum(fractions.Fraction(1, n) for n in range(1, 1500))
print('harmonic', h.numerator.bit_length(), h.denominator.bit_length())

# json: a nested document, dumped and loaded back.
doc = {
    'users': [{'id': i, 'name': 'user%d' % i, 'tags': ['t%d' % (i * j % 17) for j in range(i % 13)],
               'score': i * 1.25, 'active': i % 3 == 0, 'meta': {'k%d' % j: [j] * j for j in range(i % 6)}}
              for i in range(4000)],
    'index': {str(i): list(range(i % 40)) for i in range(3000)},
}
s1 = json.dumps(doc, sort_keys=True)
s2 = json.dumps(doc, indent=2, sort_keys=True)
back = json.loads(s2)
print('json', len(s1), len(s2), back == doc, digest(s1.encode()))

# Sorting: tuples, keys, stability, heaps of strings.
rows = [(rng.randrange(1000), 'r%d' % rng.randrange(100000), i) for i in range(80000)]
rows.sort()
by_name = sorted(rows, key=lambda r: r[1])
stable = by_name == sorted(rows, key=lambda r: (r[1], r[0], r[2]))
print('sort', rows[0], rows[-1], by_name[40000], stable)
counts = collections.Counter(r[1][:3] for r in rows)
print('counter', counts.most_common(5))
dq = collections.deque(maxlen=1000)
for r in rows:
    dq.append(r[1])
print('deque', list(dq)[:3])

# Bytes, compression, struct.
blob = b''.join(struct.pack('<IdH', i, i / 3, i % 65536) for i in range(100000))
z = zlib.compress(blob, 6)
print('zlib', len(blob), len(z), zlib.decompress(z) == blob, digest(z))
ba = bytearray()
for i in range(50000):
    ba += bytes([i % 256]) * (i % 40)
del ba[::3]
print('bytearray', len(ba), digest(bytes(ba)))

# Reference cycles, freed by the collector.
class Node:
    pass
freed = []
def make_ring(n):
    first = Node()
    cur = first
    for i in range(n):
        nxt = Node()
        nxt.data = [i] * 3
        cur.next = nxt
        cur = nxt
    cur.next = first
    weakref.finalize(first, freed.append, n)
for n in range(100, 400):
    make_ring(n)
gc.collect()
print('cycles freed', len(freed), sum(freed))
EOF
	"$python" heap.py
}

# Threads building objects and handing them to each other through
# queue.Queue: a ring with a fixed route, then a shared work queue.
prog_py_threads() {
	cat >threads.py <<'EOF'
import hashlib, json, queue, threading

NT = 6
N = 1500
HOPS = 9
ring = [queue.Queue() for _ in range(NT)]
done = queue.Queue()

def member(me):
    while True:
        item = ring[me].get()
        if item is None:
            return
        # A new object from the old one, which is freed here, in another
        # thread than the one that made it.
        new = {'id': item['id'], 'route': item['route'] + [me],
               'words': [w[::-1] + str(me) for w in item['words']][-20:],
               'blob': item['blob'][len(item['blob']) // 3:] + bytes([me]) * 500}
        new['words'].append('w%d' % (len(new['route']) * item['id']))
        del item
        if len(new['route']) == HOPS:
            done.put(new)
        else:
            ring[(me + 1) % NT].put(new)

threads = [threading.Thread(target=member, args=(i,)) for i in range(NT)]
for t in threads:
    t.start()
for i in range(N):
    ring[i % NT].put({'id': i, 'route': [], 'words': ['x' * (i % 50)], 'blob': bytes(i % 3000)})
results = [None] * N
for _ in range(N):
    r = done.get()
    results[r['id']] = r
for q in ring:
    q.put(None)
for t in threads:
    t.join()
ok = all(r['route'] == [(i + h) % NT for h in range(HOPS)] for i, r in enumerate(results))
print('ring', N, ok, hashlib.sha256(json.dumps(
    [[r['words'], len(r['blob'])] for r in results]).encode()).hexdigest()[:16])

# Any worker takes any task; the result depends on the task alone.
tasks = queue.Queue()
answers = queue.Queue()
def worker():
    while True:
        t = tasks.get()
        if t is None:
            return
        d = {str(k): [k] * (k % 11) for k in range(t, t + 300)}
        s = sorted(d.items(), key=lambda kv: (len(kv[1]), kv[0]))
        answers.put((t, hashlib.md5(repr(s).encode()).hexdigest()))
ws = [threading.Thread(target=worker) for _ in range(5)]
for w in ws:
    w.start()
for t in range(2000):
    tasks.put(t)
for _ in ws:
    tasks.put(None)
for w in ws:
    w.join()
got = sorted(answers.get() for _ in range(2000))
print('tasks', len(got), hashlib.sha256(repr(got).encode()).hexdigest()[:16])
EOF
	"$python" threads.py
}

# fork() from a process whose other threads are busy allocating: plain
# forks (from the main thread and from another thread, and a fork in a
# child), a multiprocessing pool, and subprocesses that exec python again.
prog_py_fork() {
	cat >fork.py <<'EOF'
import hashlib, multiprocessing, os, subprocess, sys, threading, time, traceback, zlib

stop = threading.Event()
rounds = [0] * 4

def churn(k):
    while not stop.is_set():
        d = {i: str(i) * (i % 7 + 1) for i in range(300)}
        z = zlib.compress(bytes(range(256)) * 100 * (k + 1))  # outside the GIL
        del d, z
        rounds[k] += 1
        time.sleep(0.001)

def work(seed):
    data = sorted((str(i * seed % 1009), [i] * (i % 5)) for i in range(2000))
    return hashlib.sha256(repr(data).encode()).hexdigest()[:12]

def forked(fn):
    """Runs fn() in a child; returns (its output, its exit status)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            os.write(w, fn().encode())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    out = b''
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        out += b
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return out.decode(), os.waitstatus_to_exitcode(status)

churners = [threading.Thread(target=churn, args=(k,)) for k in range(4)]
for t in churners:
    t.start()
while min(rounds) == 0:
    time.sleep(0.01)

for i in range(6):
    print('fork', i, *forked(lambda: work(i + 1)))

def child_with_threads():
    res = []
    ts = [threading.Thread(target=lambda s=s: res.append(work(s))) for s in range(50, 54)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ' '.join(sorted(res))
print('fork, threads in child', *forked(child_with_threads))
print('fork in fork', *forked(lambda: '%s %d' % forked(lambda: work(77))))

from_thread = []
t = threading.Thread(target=lambda: from_thread.append(forked(lambda: work(99))))
t.start()
t.join()
print('fork from a thread', *from_thread[0])

with multiprocessing.get_context('fork').Pool(3) as pool:
    res = pool.map(work, range(1, 21))
print('pool', len(res), hashlib.sha256(' '.join(res).encode()).hexdigest()[:16])

p = subprocess.run([sys.executable, '-c', 'print(sum(len(str(i)) for i in range(300000)))'],
                   capture_output=True, text=True)
print('subprocess', p.returncode, p.stdout.strip())

stop.set()
for t in churners:
    t.join()
print('churn threads joined', all(r > 0 for r in rounds))
EOF
	"$python" fork.py
}

# A generated C file of a few thousand lines, compiled with -O2 -g to
# assembly.
gen_c() {
	awk 'BEGIN {
	print "#include <stddef.h>"
	print "struct rec { int a; long b; double c; unsigned char buf[32]; struct rec *next; };"
	nf = 160
	for (f = 0; f < nf; f++) {
		printf "static long f%d(struct rec *p, int n)\n{\n", f
		printf "\tlong acc = %d;\n", f
		print "\tfor (int i = 0; i < n; i++) {"
		printf "\t\tswitch ((i + acc) %% %d) {\n", 5 + f % 4
		for (c = 0; c < 5 + f % 4; c++)
			printf "\t\tcase %d: acc += p->buf[(i * %d) & 31] * %d; break;\n", c, f + c + 1, c * f + 3
		print "\t\tdefault: acc ^= p->b;"
		print "\t\t}"
		printf "\t\tif (p->next && (acc & %d))\n\t\t\tp = p->next;\n", 1 + f % 7
		printf "\t\tp->c += acc * %d.5;\n", f % 9
		print "\t}"
		if (f > 0)
			printf "\treturn acc + f%d(p, n / 2);\n", f - 1
		else
			print "\treturn acc;"
		print "}\n"
	}
	print "long entry(struct rec *p, int n)\n{\n\tlong s = 0;"
	for (f = 0; f < nf; f += 3)
		printf "\ts += f%d(p, n + %d);\n", f, f
	print "\treturn s;\n}"
	}'
}

prog_gcc_asm() {
	gen_c >gen.c
	gcc -O2 -g -fdebug-prefix-map="$(pwd)"=/src -S -o keep/gen.s gen.c &&
	wc -l gen.c keep/gen.s
}

# C++ heavy on templates (the program of the cxx test point) to assembly.
prog_gxx_asm() {
	g++ -std=gnu++17 -O1 -S -o keep/cxx_prog.s "$cxx_src" &&
	wc -l keep/cxx_prog.s
}

# A small program compiled, linked and run.
prog_gcc_link() {
	cat >prog.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	enum { N = 50000 };
	char **v = malloc(N * sizeof *v);
	unsigned long h = 5381;

	for (int i = 0; i < N; i++) {
		v[i] = malloc(32);
		snprintf(v[i], 32, "%x-%d", (unsigned)(i * 2654435761u), i);
	}
	qsort(v, N, sizeof *v, cmp);
	for (int i = 0; i < N; i++) {
		for (char *c = v[i]; *c; c++)
			h = h * 33 + (unsigned char)*c;
		v[i] = realloc(v[i], 100 + i % 300);
		free(v[i]);
	}
	free(v);
	printf("%lx\n", h);
	return 0;
}
EOF
	gcc -O2 -Wall -o keep/prog prog.c && ./keep/prog
}

# A repository of 200 commits: 180 through fast-import (branch topic forks
# at 100), 20 through add and commit, with two real merges.
gen_git_stream() {
	awk 'BEGIN {
	for (l = 1; l <= 300; l++)
		m[l] = "line " l
	for (i = 1; i <= 180; i++) {
		topic = i > 100 && i <= 150
		if (i == 101)
			for (l = 1; l <= 300; l++)
				t[l] = m[l]
		if (topic) {
			dir = "topic/t" i % 5
			t[i % 100 + 200] = t[i % 100 + 200] " edit " i
		} else {
			dir = "src/d" i % 7
			m[i % 100 + 1] = m[i % 100 + 1] " edit " i
		}
		date = 1700000000 + i * 61
		printf "commit refs/heads/%s\nmark :%d\n", topic ? "topic" : "main", i
		printf "author A U Thor <author@example.com> %d +0000\n", date
		printf "committer C O Mitter <committer@example.com> %d +0000\n", date
		printf "data <<EOM\ncommit %d\n\nTouches %s.\nEOM\n", i, dir
		if (i == 101)
			print "from :100"
		if (!topic && i % 13 == 0)
			printf "D src/d%d\n", i % 3
		printf "M 100644 inline %s/f%d.txt\ndata <<EOD\n", dir, i % 11
		for (j = 1; j <= i % 40 + 5; j++)
			print i, j, j * i % 97
		print "EOD"
		print "M 100644 inline shared.txt\ndata <<EOD"
		for (l = 1; l <= 300; l++)
			print topic ? t[l] : m[l]
		print "EOD\n"
	}
	}'
}

prog_git() {
	HOME=$(pwd)
	XDG_CONFIG_HOME=$HOME/.config
	GIT_CEILING_DIRECTORIES=$HOME
	GIT_CONFIG_NOSYSTEM=1
	GIT_AUTHOR_NAME='A U Thor'
	GIT_AUTHOR_EMAIL=author@example.com
	GIT_COMMITTER_NAME='C O Mitter'
	GIT_COMMITTER_EMAIL=committer@example.com
	export HOME XDG_CONFIG_HOME GIT_CEILING_DIRECTORIES GIT_CONFIG_NOSYSTEM \
	    GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME \
	    GIT_COMMITTER_EMAIL
	set -e
	git init -q -b main repo
	cd repo
	git config gc.auto 0
	git config gc.autoDetach false
	git config maintenance.auto false
	gen_git_stream | git fast-import --quiet
	git reset -q --hard main
	i=180
	while [ $i -lt 200 ]; do
		i=$((i + 1))
		GIT_AUTHOR_DATE="@$((1700000000 + i * 61)) +0000"
		GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
		export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
		[ $i -ne 191 ] || git checkout -q -b fix
		[ $i -ne 196 ] || git checkout -q main
		dir=src/d$((i % 7))
		mkdir -p $dir
		j=0
		while [ $j -lt $((i % 40 + 5)) ]; do
			j=$((j + 1))
			echo "$i $j $((j * i % 97))"
		done >$dir/f$((i % 11)).txt
		# fix edits the bottom of shared.txt, main the top
		line=$((i % 100 + 1))
		[ $i -le 190 ] || [ $i -gt 195 ] || line=$((i % 50 + 251))
		awk -v l=$line -v i=$i 'NR == l { $0 = $0 " edit " i } { print }' \
		    shared.txt >shared.new
		mv shared.new shared.txt
		git add -A
		git commit -q -m "commit $i" -m "Touches $dir and line $line."
		[ $i -ne 190 ] || git merge -q --no-ff -m "merge topic" topic
	done
	git merge -q --no-ff -m "merge fix" fix
	git log --stat --format='%H %an <%ae> %ad%n%s%n%b' --date=iso-strict
	git log --graph --oneline | head -n 60
	git diff --stat main~30 main
	git blame -s shared.txt | md5sum
	git gc -q
	git fsck --full --strict
	git count-objects -v | grep -E '^(count|in-pack|garbage):'
	git cat-file --batch-all-objects --batch-check | sort | md5sum
	git archive --format=tar HEAD >../keep/head.tar
	git rev-parse HEAD
}

# An SQL workload: 50,000 inserts in transactions, indexes, joins,
# grouping, a recursive CTE, ordering; the database file is kept.
gen_sql() {
	awk 'BEGIN {
	print "PRAGMA page_size = 4096;"
	print "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, city TEXT, born INTEGER);"
	print "CREATE TABLE item (id INTEGER PRIMARY KEY, title TEXT, price REAL);"
	print "CREATE TABLE sale (id INTEGER PRIMARY KEY, customer INTEGER, item INTEGER, qty INTEGER, note TEXT);"
	n = 0
	for (t = 0; t < 10; t++) {
		print "BEGIN;"
		for (k = 0; k < 5000; k++) {
			if (n < 5000)
				printf "INSERT INTO customer VALUES (%d, %s, %s, %d);\n", n, \
				    "\x27cust" n "\x27", "\x27city" (n * 7 % 53) "\x27", 1940 + n % 60
			else if (n < 7000)
				printf "INSERT INTO item VALUES (%d, %s, %d.%02d);\n", n - 5000, \
				    "\x27item " (n * 13 % 997) " " substr("abcdefghijklmnopqrstuvwxyz", n % 26 + 1, n % 10) "\x27", \
				    n % 500, n % 100
			else
				printf "INSERT INTO sale VALUES (%d, %d, %d, %d, %s);\n", n, \
				    n * 31 % 5000, n * 17 % 2000, 1 + n % 9, \
				    "\x27" substr("the quick brown fox jumps over the lazy dog", 1 + n % 20, 5 + n % 20) "\x27"
			n++
		}
		print "COMMIT;"
	}
	}'
	cat <<'EOF'
CREATE INDEX sale_customer ON sale (customer);
CREATE INDEX sale_item ON sale (item, qty);
CREATE INDEX customer_city ON customer (city, born);
SELECT count(*), sum(qty), min(note), max(note) FROM sale;
SELECT c.city, count(*) AS n, sum(s.qty * i.price) AS total
  FROM sale s JOIN customer c ON c.id = s.customer JOIN item i ON i.id = s.item
  GROUP BY c.city ORDER BY total DESC, c.city LIMIT 20;
SELECT i.title, sum(s.qty) AS q FROM item i LEFT JOIN sale s ON s.item = i.id
  GROUP BY i.id HAVING q > 60 ORDER BY q DESC, i.title LIMIT 25;
SELECT born / 10 * 10 AS decade, count(*), group_concat(DISTINCT city)
  FROM customer WHERE born > 1950 GROUP BY decade ORDER BY decade;
WITH RECURSIVE chain(id, depth, path) AS (
  SELECT 1, 0, '1'
  UNION ALL
  SELECT s.customer, chain.depth + 1, chain.path || '>' || s.customer
    FROM chain JOIN sale s ON s.id = 7000 + (chain.id * 37 + chain.depth) % 43000
   WHERE chain.depth < 60)
SELECT depth, length(path), substr(path, -30) FROM chain ORDER BY depth DESC LIMIT 5;
WITH RECURSIVE fib(n, a, b) AS (SELECT 0, 0, 1 UNION ALL SELECT n + 1, b, a + b FROM fib WHERE n < 80)
SELECT n, a FROM fib WHERE n % 10 = 0;
SELECT customer, qty, note, row_number() OVER (PARTITION BY customer ORDER BY id) AS k
  FROM sale WHERE customer < 5 ORDER BY customer, k;
UPDATE sale SET note = upper(note) || qty WHERE id % 3 = 0;
DELETE FROM sale WHERE id % 5 = 0;
SELECT count(*), sum(length(note)) FROM sale;
SELECT note, count(*) FROM sale GROUP BY note ORDER BY count(*) DESC, note LIMIT 10;
VACUUM;
PRAGMA integrity_check;
EOF
}

prog_sqlite() {
	gen_sql >work.sql
	sqlite3 keep/db.sqlite <work.sql && sqlite3 keep/db.sqlite .dump | md5sum
}

# Pipelines: every process, the shell included, on the library under test.
prog_pipe_sort() {
	sh -c 'seq 1 300000 | awk "{ print (\$1 * 7919) % 10007, \$1 % 7 }" |
	    sort -S 64K -T . --parallel=2 -k1,1n -k2,2n | uniq -c |
	    sort -S 256K -T . --compress-program=gzip -k1,1nr -k2,2n -k3,3n |
	    tee keep/sorted.txt | awk "NR % 500 == 1" && md5sum keep/sorted.txt'
}

prog_pipe_gzip() {
	sh -c 'seq 1 200000 | awk "{ print \$1, \$1 * \$1, \$1 % 7 }" |
	    gzip -6 >keep/data.gz &&
	    gunzip -c keep/data.gz | sort -S 64K -T . -k3,3n -k2,2r |
	    gzip -1 | gunzip | md5sum &&
	    gunzip -c keep/data.gz | tr 0-9 a-j | cut -d" " -f2 | sort -u |
	    wc -l'
}

prog_cxx() {
	"$cxx_prog"
}

# Internal entry: run one workload.
if [ "${1:-}" = run ]; then
	"prog_$2"
	exit
fi


# ==========================================================================
# Running and comparing
# ==========================================================================

if [ ! -f "$preload" ]; then
	echo "1..0 # SKIP no preload library"
	exit 0
fi

script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
timeout=
if command -v timeout >/dev/null; then
	timeout="timeout -k 5 150"
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/uslub-programs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# The interpreter itself, not a wrapper script in front of it.
python=
if command -v python3 >/dev/null; then
	python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)
fi
cxx_prog=${abs_top_builddir:-$(pwd)}/tests/preload/cxx_prog
cxx_src=${abs_top_srcdir:-$(pwd)}/tests/preload/cxx_prog.cc
export python cxx_prog cxx_src

# run_one NAME MODE: runs prog_NAME in $tmp/NAME.MODE; stdout, stderr, the
# exit status and the milliseconds it took land in
# $tmp/NAME.MODE.{out,err,rc,ms}.  MODE is glibc, uslub, or stats (uslub
# with USLUB_OPTIONS=stats).
run_one() {
	rd=$tmp/$1.$2
	mkdir -p "$rd/keep"
	start=$(date +%s%N)
	(
		cd "$rd" || exit 1
		unset LD_PRELOAD
		case $2 in
		uslub)	LD_PRELOAD=$preload; export LD_PRELOAD ;;
		stats)	LD_PRELOAD=$preload; USLUB_OPTIONS=stats
			export LD_PRELOAD USLUB_OPTIONS ;;
		esac
		exec $timeout sh "$script" run "$1"
	) >"$rd.out" 2>"$rd.err" </dev/null
	echo $? >"$rd.rc"
	echo $((($(date +%s%N) - start) / 1000000)) >"$rd.ms"
}

# What an exit status says.
status_text() {
	if [ "$1" -eq 124 ]; then
		echo "timed out"
	elif [ "$1" -gt 128 ] && [ "$1" -lt 256 ]; then
		echo "killed by signal $(($1 - 128))"
	else
		echo "exit status $1"
	fi
}

n=0

# result OK DESC: prints a test point.
result() {
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}

skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1 not installed"
}

# check_run NAME MODE: fails (1) with the reason and the tail of stderr
# as comments if the run did not exit 0.
check_run() {
	rc=$(cat "$tmp/$1.$2.rc")
	[ "$rc" -eq 0 ] && return 0
	why="$2 run: $(status_text "$rc")"
	tail -n 25 "$tmp/$1.$2.err" | sed 's/^/# /'
	return 1
}

# compare NAME DESC: runs NAME plain and preloaded, and prints the test
# point: both exit 0, same stdout, same files under keep/.
compare() {
	run_one "$1" glibc
	run_one "$1" uslub
	g=$tmp/$1.glibc
	u=$tmp/$1.uslub
	why=
	diag=$tmp/$1.diag
	: >"$diag"
	if ! check_run "$1" glibc >>"$diag" || ! check_run "$1" uslub >>"$diag"
	then
		:
	elif grep -v -e '^uslub: summary:' -e '^uslub: statistics at exit' \
	    "$u.err" | grep '^uslub: ' >"$diag.reports"; then
		why="uslub reported an error"
		head -n 20 "$diag.reports" | sed 's/^/# /' >"$diag"
	elif ! cmp -s "$g.out" "$u.out"; then
		why="stdout differs"
		diff -u "$g.out" "$u.out" | head -n 40 | sed 's/^/# /' >"$diag"
	elif ! diff -r "$g/keep" "$u/keep" >"$diag.files" 2>&1; then
		why="files differ"
		head -n 20 "$diag.files" | sed 's/^/# /' >"$diag"
	fi
	if [ -z "$why" ]; then
		result ok "$2"
	else
		result "not ok" "$2: $why"
		cat "$diag"
	fi
	echo "# glibc $(cat "$g.ms") ms, uslub $(cat "$u.ms") ms"
}

# have PROG...: true if every PROG is installed.
have() {
	for p; do
		command -v "$p" >/dev/null || return 1
	done
}

echo "1..12"

if [ -n "$python" ]; then
	compare py_heap "python3: dicts, strings, big ints, json, sorting"
	compare py_threads "python3: threads exchanging objects by queue.Queue"
	compare py_fork "python3: fork and multiprocessing with threads running"

	# The statistics at exit, and the same stdout as under glibc.
	run_one py_heap stats
	s=$tmp/py_heap.stats
	why=
	if ! check_run py_heap stats >"$s.diag"; then
		:
	elif ! cmp -s "$tmp/py_heap.glibc.out" "$s.out"; then
		why="stdout differs from glibc's"
		diff -u "$tmp/py_heap.glibc.out" "$s.out" | head -n 40 |
		    sed 's/^/# /' >"$s.diag"
	elif ! grep -q '^slabinfo - version: 2\.1' "$s.err"; then
		why="no 'slabinfo - version: 2.1' on stderr"
	elif ! grep -q '^kmalloc-64 ' "$s.err"; then
		why="no kmalloc-64 row on stderr"
	elif ! grep -q '^uslub: summary:' "$s.err"; then
		why="no 'uslub: summary:' line on stderr"
	fi
	if [ -z "$why" ]; then
		result ok "python3 with USLUB_OPTIONS=stats reports at exit"
	else
		result "not ok" "python3 with USLUB_OPTIONS=stats: $why"
		cat "$s.diag"
		[ -s "$s.diag" ] || tail -n 25 "$s.err" | sed 's/^/# /'
	fi
else
	skip python3
	skip python3
	skip python3
	skip python3
fi

if have gcc; then
	compare gcc_asm "gcc -O2 -g -S of 3,300 generated lines"
	compare gcc_link "gcc: compile, link and run a program"
else
	skip gcc
	skip gcc
fi
if have g++; then
	compare gxx_asm "g++ -std=gnu++17 -O1 -S of tests/preload/cxx_prog.cc"
else
	skip g++
fi

if have git; then
	compare git "git: 200 commits, branches, merge, log, gc, fsck"
else
	skip git
fi

if have sqlite3; then
	compare sqlite "sqlite3: 50,000 inserts, indexes, joins, CTEs"
else
	skip sqlite3
fi

if have gzip gunzip; then
	compare pipe_sort "sh: seq | awk | sort (small buffer) | uniq | sort"
	compare pipe_gzip "sh: gzip | gunzip | sort | md5sum"
else
	skip gzip
	skip gzip
fi

if [ -x "$cxx_prog" ]; then
	compare cxx "tests/preload/cxx_prog: containers, threads, exceptions, new"
else
	n=$((n + 1))
	echo "ok $n # SKIP tests/preload/cxx_prog not built"
fi
