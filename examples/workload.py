#!/usr/bin/env python3
"""A small allocation-heavy Python program for the README's main job:

    ./preload/uslub-run --stats python3 examples/workload.py

builds and drops many small objects (dicts, strings, tuples, big ints),
round-trips them through JSON, and does the same in four threads, so the
slabinfo printed at exit shows the kmalloc caches Python really uses."""
import json
import threading


def churn(seed, n):
    index = {}
    for i in range(n):
        key = "k%d-%d" % (seed, i % 5000)
        index.setdefault(key, []).append((i, str(i) * 3, i ** 3))
        if i % 1000 == 999:
            index = {k: v[-2:] for k, v in index.items()}
    blob = json.dumps(index)
    return len(json.loads(blob)), len(blob)


def main():
    keys, size = churn(0, 200_000)
    results = [None] * 4

    def worker(t):
        results[t] = churn(t + 1, 50_000)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("main: %d keys, %d bytes of JSON; threads: %s" %
          (keys, size, ", ".join("%d keys" % r[0] for r in results)))


if __name__ == "__main__":
    main()
