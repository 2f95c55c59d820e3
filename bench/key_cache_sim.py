#!/usr/bin/env python3
"""Simulates the key cache's hit ratio under the bench's Zipf load.

Usage: bench/key_cache_sim.py KEYS ENTRIES CALLS WINDOWS
  e.g. bench/key_cache_sim.py 1000000 97000 5000000 0,2,4

One cache of ENTRIES entries (64 MiB holds ~97,000 bench keys) evicting as
storage/record_cache.cc does (GCLOCK: a hit adds a use, up to 3; the hand
takes one per pass and evicts an entry without), under CALLS calls whose key
ranks follow Zipf (s = 1) over KEYS keys, as keygate-bench draws them. For
each window in WINDOWS (a multiple of ENTRIES; 0: no doorkeeper), a miss is
cached only if its key missed before since the doorkeeper last forgot (it
forgets after that many distinct keys). Prints the hit ratio and the
insertions per call over the last two thirds of the calls. A model, not a
measurement: one shard, no invalid tokens, an exact set for the doorkeeper.
"""
import bisect
import collections
import itertools
import random
import sys

MAX_USES = 3


def simulate(calls, entries, window):
    uses = {}  # Key -> hits not yet spent.
    ring = collections.deque()
    marked = set()
    measured_from = len(calls) // 3
    hits = inserts = 0
    for i, key in enumerate(calls):
        measured = i >= measured_from
        if key in uses:
            uses[key] = min(uses[key] + 1, MAX_USES)
            hits += measured
            continue
        if window:
            if key not in marked:
                marked.add(key)
                if len(marked) >= window:
                    marked.clear()
                continue
        inserts += measured
        uses[key] = 0
        ring.append(key)
        while len(uses) > entries:
            oldest = ring.popleft()
            if uses[oldest] > 0:
                uses[oldest] -= 1
                ring.append(oldest)
            else:
                del uses[oldest]
    counted = len(calls) - measured_from
    return hits / counted, inserts / counted


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    keys, entries, count = (int(a) for a in sys.argv[1:4])
    windows = [float(w) for w in sys.argv[4].split(",")]
    rng = random.Random(1)
    cdf = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(keys)))
    calls = [bisect.bisect_left(cdf, rng.random() * cdf[-1]) for _ in range(count)]
    for window in windows:
        hit, inserts = simulate(calls, entries, int(window * entries))
        print(f"window {window:g}x: hit ratio {hit:.3f}, insertions per call {inserts:.3f}")


if __name__ == "__main__":
    main()
