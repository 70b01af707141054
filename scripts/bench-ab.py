#!/usr/bin/env python3
"""A/B benchmark of two ra-bench binaries on the same machine in the same run.

    scripts/bench-ab.py --base OLD/ra-bench --new NEW/ra-bench [--rounds 3]
                        [--workloads a1,a2,b] [--clusters 1000] [--seconds 5]

Machines are noisy (the disk changes speed between runs), so the two binaries are run
alternately, round after round (the order flips each round), and every figure is reported
as the median and the spread (min-max) of the per-round ratios new/base, next to the
medians of each binary. A ratio above 1 is better for throughputs and worse for
latencies, memory and CPU: the "better" column says which way each figure counts.
Under the table: the raw disk limits every run measured (fdatasync/s, sequential MB/s)
and the load average before each run, as median and range over all runs, so that a
report says what the disk and the machine could do while it was taken.

Exit status 0 (the figures are a report, not a verdict); 2 if a run failed.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

# (workload, figure name, path in the JSON results, higher is better)
FIGURES = {
    "a1": [
        ("A1 ops/s", lambda r: r["a1"]["ops_per_s"], True),
        ("A1 p50 us", lambda r: r["a1"]["latency"]["p50_us"], False),
        ("A1 p99 us", lambda r: r["a1"]["latency"]["p99_us"], False),
    ],
    "a2": [
        ("A2 16 B ops/s", lambda r: next(x for x in r["a2"]["runs"] if x["payload_bytes"] == 16)["ops_per_s"], True),
        ("A2 1 KiB ops/s", lambda r: next(x for x in r["a2"]["runs"] if x["payload_bytes"] == 1024)["ops_per_s"], True),
        ("A2 16 B CPU cores", lambda r: next(x for x in r["a2"]["runs"] if x["payload_bytes"] == 16)["cpu_cores_used"], False),
    ],
    "b": [
        ("B clusters started/s", lambda r: r["b"]["runs"][0]["clusters_per_s"], True),
        ("B RSS/server bytes", lambda r: r["b"]["runs"][0]["rss_per_server_bytes"], False),
        ("B heap/server bytes", lambda r: r["b"]["runs"][0]["heap_per_server_bytes"], False),
        ("B idle CPU % of core", lambda r: r["b"]["runs"][0]["idle_cpu_percent_of_core"], False),
        ("B load ops/s", lambda r: r["b"]["runs"][0]["aggregate_ops_per_s"], True),
    ],
}


def run(binary, workload, args, scratch):
    out = os.path.join(scratch, "result.json")
    cmd = [binary, workload, "--json", out, "--seconds", str(args.seconds), "--raw-seconds", "0.2"]
    if workload == "b":
        cmd += ["--clusters", str(args.clusters), "--idle-seconds", str(args.idle_seconds)]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        sys.exit(f"bench-ab: {' '.join(cmd)} exited {done.returncode}: {done.stderr[-2000:]}")
    with open(out) as f:
        return json.load(f)


def machine_figures(doc):
    """The run's raw disk limits and the load average it started under."""
    limit = doc.get("raw", {}).get("limit_used", {})
    return {"fdatasync/s": limit.get("dsync_loop_syncs_per_s"),
            "sequential MB/s": limit.get("sequential_mb_per_s"),
            "load average before": doc.get("machine", {}).get("load_average_before")}


def spread(values):
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the baseline ra-bench")
    p.add_argument("--new", required=True, help="the ra-bench under test")
    p.add_argument("--rounds", type=int, default=3, help="rounds (at least 3 for a median and spread)")
    p.add_argument("--workloads", default="a1,a2,b")
    p.add_argument("--clusters", type=int, default=1000, help="B: 3-member clusters")
    p.add_argument("--seconds", type=float, default=5, help="each timed measurement")
    p.add_argument("--idle-seconds", type=float, default=10, help="B: idle CPU measurement")
    p.add_argument("--json", help="also write every round's figures here")
    args = p.parse_args()
    if args.rounds < 1:
        sys.exit("bench-ab: --rounds must be >= 1")
    workloads = args.workloads.split(",")
    for w in workloads:
        if w not in FIGURES:
            sys.exit(f"bench-ab: unknown workload {w} (a1, a2, b)")

    figures = {name: {"base": [], "new": []} for w in workloads for name, _, _ in FIGURES[w]}
    machine = {}
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as scratch:
        for rnd in range(args.rounds):
            order = [("base", args.base), ("new", args.new)]
            if rnd % 2:
                order.reverse()
            for w in workloads:
                for side, binary in order:
                    doc = run(binary, w, args, scratch)
                    results = doc["results"]
                    for name, value in machine_figures(doc).items():
                        if value is not None:
                            machine.setdefault(name, []).append(value)
                    for name, get, _ in FIGURES[w]:
                        figures[name][side].append(get(results))
            print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    print(f"{'figure':24} {'base median':>14} {'new median':>14}  new/base median (min-max)  better")
    for w in workloads:
        for name, _, higher in FIGURES[w]:
            b, n = figures[name]["base"], figures[name]["new"]
            ratios = [y / x if x else float("nan") for x, y in zip(b, n)]
            print(f"{name:24} {statistics.median(b):14,.1f} {statistics.median(n):14,.1f}  "
                  f"{spread(ratios):25}  {'higher' if higher else 'lower'}")
    print(f"({args.rounds} rounds, alternating; base {args.base}, new {args.new})")
    for name, values in machine.items():
        print(f"{name} over the {len(values)} runs: median {statistics.median(values):,.1f} "
              f"({min(values):,.1f}-{max(values):,.1f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "figures": figures, "machine": machine}, f, indent=1)


if __name__ == "__main__":
    main()
