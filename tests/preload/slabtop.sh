#!/bin/sh
# tests/preload/slabtop.sh -- uslub-slabinfo and uslub-slabtop against live
# processes under the preload library with default options, as TAP.
#
# tests/preload/slabtop_target (see its header) creates caches of known
# names and counts, keeps allocating, and is steered through files in a
# scratch directory; python3, where installed, is a second target.  The
# points: slabinfo rows and counts, a failed destroy's cache, slabtop's
# header, table, sorting and one frame when piped, JSON that parses and
# agrees with the text, a fork child and an exec'd image viewable under
# their pids, readers that stall, send garbage or an endless line while
# the target keeps allocating, another uid refused, slabtop=0, the heap
# profile of a live process (prof=1) and its absence without, a process
# under LD_PRELOAD alone serving only once it is a second old, and every
# target exiting normally.  Targets run under uslub-run, as a user runs
# them, which makes them serve from their start.  Run from the build
# directory by `make check' (abs_top_builddir, USLUB_PRELOAD and PYTHON3
# come from it).

builddir=${abs_top_builddir:-.}
preload=${USLUB_PRELOAD:-$builddir/preload/.libs/libuslub-preload.so}
target=$builddir/tests/preload/slabtop_target
slabinfo=$builddir/tools/uslub-slabinfo
slabtop=$builddir/tools/uslub-slabtop
run=$builddir/preload/uslub-run

if [ ! -f "$preload" ] || [ ! -x "$target" ] || [ ! -x "$slabinfo" ]; then
	echo "1..0 # SKIP no preload library, target or tools built"
	exit 0
fi
python=${PYTHON3:-python3}
"$python" -c 'import json, socket' 2>/dev/null || python=

echo "1..31"
n=0
rc=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	rc=1
}
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}
# check DESCRIPTION COMMAND...: a test point passing when COMMAND does.
check() {
	what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
diag() {
	sed 's/^/#   /'
}

dir=$(mktemp -d "${TMPDIR:-/tmp}/uslub-slabtop.XXXXXX") || exit 1
chmod 755 "$dir"
pids=
cleanup() {
	touch "$dir/stop"
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_file FILE: until FILE exists (10 s at most).
wait_file() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$1" ]
}

# start MODE [ENV...]: slabtop_target in $dir/MODE.d under uslub-run, as
# a user runs it; start_preload MODE [ENV...]: under LD_PRELOAD alone.
# Its stdout and stderr in $dir/MODE.out and .err.
start() {
	launch "$@" -- USLUB_PRELOAD_LIB="$preload" "$run"
}
start_preload() {
	launch "$@" -- LD_PRELOAD="$preload"
}
launch() {
	mode=$1
	shift
	envs=
	while [ "$1" != -- ]; do
		envs="$envs $1"
		shift
	done
	shift
	mkdir -p "$dir/$mode.d"
	# shellcheck disable=SC2086
	env $envs "$@" "$target" "$dir/$mode.d" "$mode" \
	    >"$dir/$mode.out" 2>"$dir/$mode.err" &
	pids="$pids $!"
	eval "job_$mode=$!"
}

# active NAME: the active_objs of cache NAME in slabinfo text on stdin.
active() {
	awk -v name="$1" '$1 == name { print $2; found = 1 }
		END { if (!found) print "none" }'
}

# finish MODE: stop it; true if it printed "done MODE" and exited 0.
finish() {
	touch "$dir/$1.d/stop"
	eval "wait \$job_$1"
	status=$?
	[ $status -eq 0 ] && grep -qx "done $1" "$dir/$1.out" || {
		echo "exit status $status" | diag
		tail -5 "$dir/$1.err" | diag
		false
	}
}

# ---- one process: slabinfo, slabtop, JSON --------------------------------
start plain
if ! wait_file "$dir/plain.d/ready.plain"; then
	echo "Bail out! slabtop_target did not come up"
	diag <"$dir/plain.err"
	exit 1
fi
pid=$(cat "$dir/plain.d/ready.plain")

"$slabinfo" -p "$pid" >"$dir/si" 2>"$dir/si.err"
check "uslub-slabinfo -p PID prints slabinfo 2.1" \
    grep -qx 'slabinfo - version: 2.1' "$dir/si"
got=$(active slabtop_test <"$dir/si")
check "a cache the program created shows its 37 live objects ($got)" \
    [ "$got" = 37 ]
got=$(active busy_cache <"$dir/si")
check "a cache whose destroy failed stays listed, 3 objects ($got)" \
    [ "$got" = 3 ]

"$slabtop" -p "$pid" --once >"$dir/top" 2>"$dir/top.err"
ok_header=yes
for h in 'Active / Total Objects (% used)' 'Active / Total Slabs (% used)' \
    'Active / Total Caches (% used)' 'Active / Total Size (% used)' \
    'Minimum / Average / Maximum Object' \
    'OBJS ACTIVE  USE OBJ SIZE  SLABS OBJ/SLAB CACHE SIZE NAME' \
    'SUnreclaim:' 'slabtop_test' ; do
	grep -qF "$h" "$dir/top" || { echo "missing: $h" | diag; ok_header=no; }
done
check "uslub-slabtop --once: slabtop's header, columns and meminfo lines" \
    [ $ok_header = yes ]
row=$(awk '$NF == "slabtop_test" { print $2 }' "$dir/top")
check "uslub-slabtop --once: slabtop_test's ACTIVE is 37 ($row)" \
    [ "$row" = 37 ]
check "uslub-slabtop --once: the event counters (alloc_cpu_sheaf)" \
    grep -q '^kmalloc-[0-9a-z]* *alloc_cpu_sheaf *[0-9]' "$dir/top"

# Not a terminal: one frame, then exit, even without --once.
timeout 20 "$slabtop" -p "$pid" -s n >"$dir/top-n" 2>&1
status=$?
awk '/^ *OBJS ACTIVE/ { t = 1; next } t && NF == 0 { exit } t { print $NF }' \
    "$dir/top-n" >"$dir/names"
check "uslub-slabtop piped prints one frame and exits; -s n sorts by name" \
    sh -c "[ $status -eq 0 ] && [ -s '$dir/names' ] &&
	LC_ALL=C sort -c '$dir/names'"
timeout 20 "$slabtop" -p "$pid" -o -s c >"$dir/top-c" 2>&1
awk '/^ *OBJS ACTIVE/ { t = 1; next } t && NF == 0 { exit }
	t { sub(/K$/, "", $7); print $7 }' "$dir/top-c" >"$dir/sizes"
check "uslub-slabtop -s c sorts by cache size, largest first" \
    sh -c "[ -s '$dir/sizes' ] && sort -rn -c '$dir/sizes'"

if [ -n "$python" ]; then
	# Paused: the rows cannot change between the two requests.
	touch "$dir/plain.d/pause"
	sleep 0.1
	"$slabinfo" -p "$pid" >"$dir/si2" 2>&1
	"$slabinfo" -p "$pid" --json >"$dir/json" 2>&1
	"$slabinfo" -p "$pid" --meminfo >"$dir/meminfo" 2>&1
	rm -f "$dir/plain.d/pause"
	"$python" - "$dir/json" "$dir/si2" "$dir/meminfo" >"$dir/py.out" 2>&1 <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["uslub_stats_version"] == 1, doc["uslub_stats_version"]
text = {}
for line in open(sys.argv[2]).read().splitlines()[2:]:
    w = line.split()
    text[w[0]] = [int(x) for x in (w[1:6] + w[13:15])]
cols = ["active_objs", "num_objs", "objsize", "objperslab", "pagesperslab",
        "active_slabs", "num_slabs"]
js = {c["name"]: [c[k] for k in cols] for c in doc["caches"]}
assert js == text, (js, text)
c = [c for c in doc["caches"] if c["name"] == "slabtop_test"][0]
assert c["active_objs"] == 37 and c["sheaf"]["capacity"] > 0
assert "alloc_cpu_sheaf" in c["events"], c["events"]
mem = {l.split(":")[0]: int(l.split()[1])
       for l in open(sys.argv[3]).read().splitlines()}
assert mem == {"Slab": doc["meminfo"]["slab_kb"],
               "SReclaimable": doc["meminfo"]["sreclaimable_kb"],
               "SUnreclaim": doc["meminfo"]["sunreclaim_kb"]}, mem
for k in ("allocated", "slab_bytes", "slab_free", "large_bytes",
          "huge_bytes", "huge_count", "page_free", "released",
          "free_blocks", "mapped", "resident"):
    assert isinstance(doc["heap"][k], int), k
print(len(js), "caches agree")
EOF
	if [ $? -eq 0 ]; then
		ok "--json parses and agrees with slabinfo and meminfo ($(cat "$dir/py.out"))"
	else
		not_ok "--json parses and agrees with slabinfo and meminfo"
		diag <"$dir/py.out"
	fi
else
	skip "no python3 to parse the JSON"
fi

# ---- readers that stall, send garbage, or never end their line -----------
if [ -n "$python" ]; then
	"$python" - "$pid" "$dir/plain.d/beat.plain" >"$dir/bad.out" 2>&1 <<'EOF'
import socket, sys, threading, time
pid, beat = sys.argv[1], sys.argv[2]
def conn(rcvbuf=None):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect("\0uslub/" + pid)
    return s
def reply(s):
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        data += d
    return data
def rounds():
    return int(open(beat).read())
# Each asks for more than a socket buffers, never reads, and holds the
# server for a second: the target's allocations must not wait on that.
stallers = [conn(rcvbuf=1024) for _ in range(3)]
for s in stallers:
    s.sendall(b"json\n")
silent = conn()                        # connects, never sends or reads
endless = conn()
def flood():
    try:
        while True:
            endless.sendall(b"x" * 4096)
    except OSError:
        pass
t = threading.Thread(target=flood)
t.start()
garbage = conn()
garbage.sendall(b"\x00\xff\xfe garbage \x1b[2J\n")
before = rounds()
time.sleep(2.5)
after = rounds()
assert after > before + 20, ("the target stopped allocating", before, after)
g = reply(garbage)
assert g.startswith(b"error: unknown request"), g
t.join(10)
assert not t.is_alive(), "the endless line was never cut"
for s in [silent, endless, garbage] + stallers:
    s.close()
split = conn()                         # a line in pieces, then more
split.sendall(b"slab")
time.sleep(0.2)
split.sendall(b"info\r\nextra")
r = reply(split)
assert r.startswith(b"ok\nslabinfo - version: 2.1\n"), r[:80]
print("kept allocating: %d rounds in 2.5 s" % (after - before))
EOF
	if [ $? -eq 0 ]; then
		ok "stalled, garbage and endless readers: $(cat "$dir/bad.out")"
	else
		not_ok "stalled, garbage and endless readers do not block the target"
		diag <"$dir/bad.out"
	fi
	got=$("$slabinfo" -p "$pid" 2>&1 | active slabtop_test)
	check "after them the server answers again ($got)" [ "$got" = 37 ]
else
	skip "no python3 for the misbehaving readers"
	skip "no python3 for the misbehaving readers"
fi

# ---- another uid ----------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	skip "not root: cannot read as another uid"
elif ! command -v setpriv >/dev/null; then
	skip "no setpriv to read as another uid"
else
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$slabinfo" -p "$pid" >"$dir/nobody" 2>&1
	status=$?
	check "another uid is refused: $(cat "$dir/nobody")" \
	    sh -c "[ $status -eq 1 ] && grep -q 'permission denied' '$dir/nobody'"
fi

check "the target exits normally after all readers" finish plain

# ---- fork ----------------------------------------------------------------
start fork
wait_file "$dir/fork.d/ready.fork" && wait_file "$dir/fork.d/ready.child"
parent=$(cat "$dir/fork.d/ready.fork" 2>/dev/null)
child=$(cat "$dir/fork.d/ready.child" 2>/dev/null)
# The child starts its server at its first kmalloc slow path: retry a while.
i=0
until "$slabinfo" -p "$child" >"$dir/child" 2>"$dir/child.err" ||
    [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
got=$(active child_cache <"$dir/child")
check "a fork child is viewable under its own pid: child_cache $got" \
    [ "$got" = 5 ]
"$slabinfo" -p "$parent" >"$dir/parent" 2>&1
got="$(active slabtop_test <"$dir/parent") $(active child_cache <"$dir/parent")"
check "the parent is still viewable, without the child's cache ($got)" \
    [ "$got" = "37 none" ]
finish fork && grep -qx "done child" "$dir/fork.out"
check "parent and child exit normally" [ $? -eq 0 ]

# ---- exec ----------------------------------------------------------------
start exec
wait_file "$dir/exec.d/ready.exec"
before=$("$slabinfo" -p "$(cat "$dir/exec.d/ready.exec")" 2>&1 |
    active slabtop_test)
touch "$dir/exec.d/go"
wait_file "$dir/exec.d/ready.after-exec"
epid=$(cat "$dir/exec.d/ready.after-exec" 2>/dev/null)
"$slabinfo" -p "$epid" >"$dir/exec" 2>&1
got="$before $(active after_exec_cache <"$dir/exec") $(active slabtop_test <"$dir/exec")"
[ "$epid" = "$(cat "$dir/exec.d/ready.exec")" ] || got="$got, another pid"
check "after exec the new image is viewable under the same pid ($got)" \
    [ "$got" = "37 13 none" ]
touch "$dir/exec.d/stop"
eval "wait \$job_exec"
check "the exec'd image exits normally" \
    sh -c "[ $? -eq 0 ] && grep -qx 'done after-exec' '$dir/exec.out'"

# ---- slabtop=0 ------------------------------------------------------------
start off USLUB_OPTIONS=slabtop=0
wait_file "$dir/off.d/ready.off"
opid=$(cat "$dir/off.d/ready.off")
"$slabinfo" -p "$opid" >"$dir/off" 2>&1
status=$?
check "slabtop=0: $(cat "$dir/off")" \
    sh -c "[ $status -eq 1 ] && grep -qx 'uslub-slabinfo: no uslub statistics server in process $opid: Connection refused' '$dir/off'"
finish off >/dev/null

# ---- the heap profile of a running process --------------------------------
start prof USLUB_OPTIONS=prof=1,prof_sample=4k
wait_file "$dir/prof.d/ready.prof"
ppid=$(cat "$dir/prof.d/ready.prof" 2>/dev/null)
sleep 0.3			# some rounds of work, sampled
"$slabinfo" -p "$ppid" --prof >"$dir/live.heap" 2>"$dir/live.err"
status=$?
check "uslub-slabinfo --prof: a heap profile of the live process ($(head -n 1 "$dir/live.heap" "$dir/live.err" | tr '\n' ' '))" \
    sh -c "[ $status -eq 0 ] && head -n 1 '$dir/live.heap' | grep -Eq '^heap profile: +[0-9]+: +[0-9]+ \\[ *[0-9]+: +[0-9]+\\] @ heapprofile\$' && grep -qx 'MAPPED_LIBRARIES:' '$dir/live.heap'"
pprof=$(command -v google-pprof || true)
if [ -n "$pprof" ]; then
	# The target frees what it allocates: the allocated space shows it.
	"$pprof" --text --alloc_space "$target" "$dir/live.heap" \
	    >"$dir/live.txt" 2>&1
	check "google-pprof --text --alloc_space reads it: $(grep -m 1 '^Total' "$dir/live.txt"), $(grep -m 1 -o 'round_of_work' "$dir/live.txt")" \
	    sh -c "grep -q '^Total: ' '$dir/live.txt' &&
		grep -Eq ' round_of_work\$' '$dir/live.txt'"
else
	skip "google-pprof not installed"
fi
finish prof >/dev/null
start noprof
wait_file "$dir/noprof.d/ready.noprof"
"$slabinfo" -p "$(cat "$dir/noprof.d/ready.noprof")" --prof >"$dir/noprof" 2>&1
status=$?
check "--prof without prof=1: $(cat "$dir/noprof")" \
    sh -c "[ $status -eq 1 ] && grep -q 'the profiler is off (USLUB_OPTIONS=prof=1)' '$dir/noprof'"
finish noprof >/dev/null

# ---- LD_PRELOAD alone: a server once the process is a second old ---------
# age PID: seconds since PID started, to a hundredth.
age() {
	awk -v tck="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" \
	    '{ sub(/.*\) /, ""); printf "%.2f\n", up - $20 / tck }' "/proc/$1/stat"
}
threads() {
	ls "/proc/$1/task" 2>/dev/null | wc -l
}
start_preload late
wait_file "$dir/late.d/ready.late"
lpid=$(cat "$dir/late.d/ready.late" 2>/dev/null)
"$slabinfo" -p "$lpid" >"$dir/late0" 2>&1
status=$?
young=$(age "$lpid")
nthreads=$(threads "$lpid")
if awk -v a="$young" 'BEGIN { exit !(a < 0.8) }'; then
	check "LD_PRELOAD alone, ${young} s old: no server yet ($(cat "$dir/late0"))" \
	    sh -c "[ $status -eq 1 ] && grep -q 'Connection refused' '$dir/late0'"
	check "LD_PRELOAD alone, ${young} s old: no thread of uslub's ($nthreads threads)" \
	    [ "$nthreads" = 1 ]
else
	skip "LD_PRELOAD alone: the target was already $young s old when read"
	skip "LD_PRELOAD alone: thread count not checked"
fi
i=0
until "$slabinfo" -p "$lpid" >"$dir/late" 2>&1 || [ $i -ge 60 ]; do
	sleep 0.1
	i=$((i + 1))
done
got=$(active slabtop_test <"$dir/late")
check "LD_PRELOAD alone: it serves once a second old ($(age "$lpid") s): slabtop_test $got" \
    [ "$got" = 37 ]
check "LD_PRELOAD alone: then with its server thread ($(threads "$lpid") threads)" \
    [ "$(threads "$lpid")" = 2 ]
finish late >/dev/null

# ---- python3 --------------------------------------------------------------
if [ -n "$python" ]; then
	cat >"$dir/target.py" <<'EOF'
import ctypes, os, sys, time
d = sys.argv[1]
lib = ctypes.CDLL(None)
lib.uslub_cache_create.restype = ctypes.c_void_p
lib.uslub_cache_create.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
    ctypes.c_size_t, ctypes.c_ulong, ctypes.c_void_p]
lib.uslub_cache_alloc.restype = ctypes.c_void_p
lib.uslub_cache_alloc.argtypes = [ctypes.c_void_p, ctypes.c_uint]
cache = lib.uslub_cache_create(b"py_cache", 100, 0, 0, None)
objs = [lib.uslub_cache_alloc(cache, 0) for _ in range(11)]
assert all(objs)
open(d + "/ready.tmp", "w").write("%d\n" % os.getpid())
os.rename(d + "/ready.tmp", d + "/ready.py")
for _ in range(3000):
    if os.path.exists(d + "/stop"):
        break
    junk = [str(i) * 10 for i in range(2000)]
    time.sleep(0.01)
print("done py")
EOF
	mkdir -p "$dir/py.d"
	USLUB_PRELOAD_LIB="$preload" "$run" "$python" "$dir/target.py" \
	    "$dir/py.d" >"$dir/py.out" 2>"$dir/py.err" &
	pyjob=$!
	pids="$pids $pyjob"
	wait_file "$dir/py.d/ready.py"
	ppid=$(cat "$dir/py.d/ready.py" 2>/dev/null)
	"$slabinfo" -p "$ppid" >"$dir/py.si" 2>&1
	got=$(active py_cache <"$dir/py.si")
	check "python3 under uslub-run with no options: py_cache $got" [ "$got" = 11 ]
	"$slabtop" -p "$ppid" -o >"$dir/py.top" 2>&1
	check "uslub-slabtop --once on python3" \
	    sh -c "grep -q 'Active / Total Objects' '$dir/py.top' &&
		grep -q ' py_cache\$' '$dir/py.top'"
	touch "$dir/py.d/stop"
	wait $pyjob
	check "python3 exits normally" \
	    sh -c "[ $? -eq 0 ] && grep -qx 'done py' '$dir/py.out'"
else
	skip "no python3"
	skip "no python3"
	skip "no python3"
fi

# ---- the command lines ----------------------------------------------------
"$slabtop" -p "$pid" -s x >"$dir/bad" 2>&1
s1=$?
"$slabtop" -p "$pid" -d 0 >>"$dir/bad" 2>&1
s2=$?
check "bad sort key and delay: exit 2 with one-line errors" \
    sh -c "[ $s1 -eq 2 ] && [ $s2 -eq 2 ] && [ \$(wc -l <'$dir/bad') -eq 2 ]"
check "--help and --version" \
    sh -c "'$slabtop' --help | grep -q 'sort by' &&
	'$slabinfo' --help | grep -q -- --json &&
	'$slabtop' --version | grep -q '^uslub-slabtop (uslub) ' &&
	'$slabinfo' -V | grep -q '^uslub-slabinfo (uslub) '"

exit $rc
