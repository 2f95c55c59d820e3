#!/usr/bin/env python3
"""Turns the raw runs of bench/run.sh into one table (stdout) and results.json.

Ratios are paired: each round ran every variant back to back, so a ratio is
taken within a round, and the median, min and max over the rounds are
reported. Targets are those of issue 6, judged on the median.
"""
import argparse
import datetime
import json
import os
import statistics


def load_runs(path):
    runs = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                run = json.loads(line)
                run["result"]["ready_ms"] = run["ready_ms"]
                runs.setdefault(run["section"], {}).setdefault(run["variant"], {})[run["round"]] = run["result"]
    return runs


def rate(result):
    return result["qps"] if "qps" in result else result["writes_per_s"]


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": [round(v, 4) for v in values]}


def paired(runs, section, a, b, metric):
    """Per-round ratio metric(a) / metric(b), or None if not measured."""
    va, vb = runs.get(section, {}).get(a, {}), runs.get(section, {}).get(b, {})
    rounds = sorted(set(va) & set(vb))
    if not rounds:
        return None
    return summary([metric(va[r]) / metric(vb[r]) for r in rounds])


def check(value, op, target):
    if value is None or target is None:
        return None
    return value >= target if op == ">=" else value <= target


def main():
    p = argparse.ArgumentParser()
    for name in ("mode", "runs", "microbench", "out", "cpu_model", "commit", "load", "settings"):
        p.add_argument("--" + name, default="")
    for name in ("metrics_flag", "block_cache_mb_10m", "nproc", "seconds"):
        p.add_argument("--" + name, type=int, default=0)
    args = p.parse_args()

    runs = load_runs(args.runs)
    micro = {}
    if os.path.exists(args.microbench):
        with open(args.microbench) as f:
            micro = {b["name"]: b for b in json.load(f)["benchmarks"]}

    qps = lambda r: r["qps"]
    cpu = lambda r: r["server_cpu_us_per_call"]
    p50 = lambda r: r["p50_us"]
    p99 = lambda r: r["p99_us"]
    rows = []  # (key, title, summary-or-value, op, target)

    def add(key, title, value, op=None, target=None):
        rows.append((key, title, value, op, target))

    add("authorize_vs_noop_qps_1m", "Authorize/no-op QPS, 1M keys",
        paired(runs, "load_1m", "authorize", "noop", qps), ">=", 0.95)
    add("authorize_vs_noop_cpu_1m", "Authorize/no-op server CPU-us/call, 1M",
        paired(runs, "load_1m", "authorize", "noop", cpu), "<=", 1.08)
    add("authorize_vs_noop_qps_one_token", "Authorize/no-op QPS, one token",
        paired(runs, "one_token", "authorize", "noop", qps), ">=", 0.95)
    add("authorize_vs_noop_cpu_one_token", "Authorize/no-op CPU-us/call, one token",
        paired(runs, "one_token", "authorize", "noop", cpu), "<=", 1.08)
    add("authorize_vs_noop_qps_10m", "Authorize/no-op QPS, 10M keys",
        paired(runs, "load_10m", "authorize", "noop", qps), ">=", 0.93)
    add("authorize_vs_noop_cpu_10m", "Authorize/no-op server CPU-us/call, 10M",
        paired(runs, "load_10m", "authorize", "noop", cpu), "<=", 1.08)
    add("pingpong_p50", "Ping-pong p50 latency Authorize/no-op",
        paired(runs, "pingpong_1m", "authorize", "noop", p50), "<=", 1.10)
    add("pingpong_p99", "Ping-pong p99 latency Authorize/no-op",
        paired(runs, "pingpong_1m", "authorize", "noop", p99), "<=", 1.20)
    add("usage_on_off_qps", "Usage monitoring on/off QPS, 1M",
        paired(runs, "load_1m", "authorize", "usage_off", qps), ">=", 0.97)
    add("usage_on_off_cpu", "Usage monitoring on/off CPU-us/call",
        paired(runs, "load_1m", "authorize", "usage_off", cpu))
    if args.metrics_flag:
        add("metrics_on_off_qps", "Metrics on/off QPS, 1M",
            paired(runs, "load_1m", "metrics_on", "authorize", qps), ">=", 0.98)
        add("metrics_on_off_cpu", "Metrics on/off CPU-us/call",
            paired(runs, "load_1m", "metrics_on", "authorize", cpu))

    for c in (1, 8, 32):
        add(f"create_vs_raw_{c}", f"CreateKey/raw synced WriteBatch, {c} clients",
            paired(runs, f"creates_{c}", "create", "raw", rate), ">=" if c == 32 else None,
            0.5 if c == 32 else None)
    creates = {c: runs.get(f"creates_{c}", {}).get("create") for c in (1, 32)}
    if all(creates.values()):
        median_rate = {c: statistics.median(rate(r) for r in creates[c].values()) for c in creates}
        add("create_32_vs_1", "CreateKey rate 32 clients/1 client (medians)",
            median_rate[32] / median_rate[1], ">=", 8)

    auth = {n: micro.get(f"Authorize/{n}") for n in ("10k", "1m", "10m")}
    if auth["10m"]:
        add("decision_10m_p50_ns", "In-process decision, 10M keys, p50 ns", auth["10m"]["p50_ns"], "<=", 2000)
        add("decision_10m_p99_ns", "In-process decision, 10M keys, p99 ns", auth["10m"]["p99_ns"], "<=", 10000)
        if auth["10k"]:
            # p50: the mean of single operations is dominated by preemptions
            # on a busy machine.
            add("decision_10m_vs_10k", "In-process decision p50, 10M/10k keys",
                auth["10m"]["p50_ns"] / auth["10k"]["p50_ns"], "<=", 2)
            add("decision_10m_vs_10k_mean", "In-process decision mean, 10M/10k keys",
                auth["10m"]["mean_ns"] / auth["10k"]["mean_ns"])
    big = runs.get("load_10m", {})
    if big:
        add("rss_10m_mib", "Server RSS at 10M keys, MiB",
            summary([r["server_rss_mib"] for r in big.get("authorize", {}).values()]), "<=",
            args.block_cache_mb_10m + 300)
        add("ready_10m_ms", "Start to serving at 10M keys, ms",
            summary([r["ready_ms"] for v in big.values() for r in v.values()]), "<=", 3000)

    # Absolute figures per section and variant (medians over rounds).
    absolute = {}
    for section, variants in runs.items():
        for variant, by_round in variants.items():
            results = list(by_round.values())
            fields = [k for k, v in results[0].items() if isinstance(v, (int, float)) and v is not None]
            absolute.setdefault(section, {})[variant] = {
                k: statistics.median(r[k] for r in results if r.get(k) is not None) for k in fields}

    warnings = []
    for section, variants in runs.items():
        for variant, by_round in variants.items():
            errors = sum(r.get("errors", 0) for r in by_round.values())
            if errors:
                warnings.append(f"{section}/{variant}: {errors} gRPC errors")
    for section in ("load_1m", "load_10m", "one_token"):
        noop = absolute.get(section, {}).get("noop")
        if noop and noop["server_cpu_util"] < 0.9:
            warnings.append(
                f"{section}: the no-op server used {noop['server_cpu_util']:.0%} of its core "
                f"(client {noop['client_cpu_util']:.0%}): the client or other load on the machine "
                "limited throughput, so QPS ratios are unreliable; CPU-us/call ratios still hold")

    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": args.commit,
        "mode": args.mode,
        "machine": {"nproc": args.nproc, "cpu_model": args.cpu_model,
                    "loadavg_start_end": args.load},
        "settings": args.settings,
        "seconds": args.seconds,
        "comparisons": {},
        "absolute": absolute,
        "microbench": {name: {k: b.get(k) for k in ("real_time", "time_unit", "iterations", "keys",
                                                     "p50_ns", "p90_ns", "p99_ns", "p999_ns", "mean_ns",
                                                     "cpu_time", "background_cpu_us")
                              if k in b} for name, b in micro.items()},
        "warnings": warnings,
    }

    print(f"Keygate benchmarks ({args.mode}) {results['date']} commit {args.commit[:12]}")
    print(f"machine: {args.nproc} x {args.cpu_model}; load average start/end {args.load}; "
          f"{args.settings}")
    print(f"{'comparison':46} {'median':>9} {'min':>9} {'max':>9} {'target':>9}  ok")
    for key, title, value, op, target in rows:
        if value is None:
            continue
        s = value if isinstance(value, dict) else {"median": value, "min": value, "max": value}
        ok = check(s["median"], op, target)
        results["comparisons"][key] = dict(title=title, target=target, op=op, passed=ok, **s)
        mark = {True: "yes", False: "NO", None: ""}[ok]
        tgt = f"{op}{target:g}" if target is not None else ""
        print(f"{title:46} {s['median']:9.3f} {s['min']:9.3f} {s['max']:9.3f} {tgt:>9}  {mark}")
    print()
    print(f"{'run (medians)':28} {'QPS':>9} {'p50 us':>8} {'p99 us':>8} {'p99.9':>8} "
          f"{'srv us/call':>11} {'srv util':>8} {'cli util':>8} {'RSS MiB':>8}")
    for section, variants in absolute.items():
        for variant, a in variants.items():
            if "qps" not in a:
                print(f"{section + '/' + variant:28} {a['writes_per_s']:9.0f} {a['p50_us']:8.0f} "
                      f"{a['p99_us']:8.0f}")
                continue
            print(f"{section + '/' + variant:28} {a['qps']:9.0f} {a['p50_us']:8.0f} {a['p99_us']:8.0f} "
                  f"{a['p999_us']:8.0f} {a['server_cpu_us_per_call']:11.1f} {a['server_cpu_util']:8.2f} "
                  f"{a['client_cpu_util']:8.2f} {a['server_rss_mib']:8.0f}")
    for name, b in results["microbench"].items():
        if "p50_ns" in b:
            print(f"microbench {name:17} p50 {b['p50_ns']:6.0f} ns  p99 {b['p99_ns']:6.0f} ns  "
                  f"mean {b['mean_ns']:6.0f} ns")
        elif "background_cpu_us" in b:  # UsageFlush: CPU of a flush, and of RocksDB behind it.
            print(f"microbench {name:17} flush {b['cpu_time'] / 1e6:6.1f} ms CPU  "
                  f"background {b['background_cpu_us'] / 1e3:6.1f} ms CPU per flush")
        else:
            print(f"microbench {name:17} {b['real_time']:6.0f} {b['time_unit']}/op")
    for w in warnings:
        print("warning:", w)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
