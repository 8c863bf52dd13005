#!/usr/bin/env python3
"""Two threads against one on a single large dense network, beside the
machine's ceiling for the same memory reads, measured in the same run.

The network is issue 3's "10,000-neuron dense active network": the `seed-active`
family scaled to N = 10,000 (W ~ Normal(0, 63) on a 1/256 grid, 800 MB in
float64, 400 MB in float32), i_ext = 20, V0 uniform, 20 ms (2000 steps, about
34 Hz). One and two threads alternate for --rounds rounds of --runs timed runs
each; the table gives medians and the speed-up. Every run's spike count is
checked to be the same for both thread counts (the engine gives the same bits).

A dense step adds one column of W per spike, and on this network those reads
from memory are most of the run. Each round also runs the `column_reads`
example (crates/core/examples/column_reads.rs): the same number of columns
over the same number of steps, read with the engine's own kernels and split
into the same row ranges, with no membrane update and no barrier, on one
thread and on two. Its speed-up is what the memory gives a second thread
here; a whole run cannot expect much more.

A second table runs the sparse network workloads (`examples/cuba.toml`, 4,000
neurons, and `examples/brunel.toml`, 12,500) with `lifsim run --threads 1`
and `--threads 2`, alternating, and gives the medians of the simulation time
(construction excluded, as `lifsim run --json` reports it) and of the whole
process; the spike counts must be equal.

    python3 bench/threads.py                  # float64 and float32, 4 rounds
    python3 bench/threads.py --dtypes float64 --rounds 6 --weights /tmp/w10k.npy
"""

import argparse
import json
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(lifsim, weights, dtype, threads, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([str(lifsim), "bench", "--weights", str(weights), "--dtype", dtype,
                        "--i-ext", "20", "--v0", "uniform", "--t-max", "20", "--record", "events",
                        "--runs", str(runs), "--threads", str(threads), "--json", out.name],
                       check=True, stdout=subprocess.DEVNULL)
        r = json.loads(Path(out.name).read_text())
    return r["times_s"], r["spikes"]


def network_run(lifsim, workload, threads):
    """(simulation s, total s, spikes) of one `lifsim run` of a network example."""
    with tempfile.TemporaryDirectory() as tmp:
        summary = Path(tmp) / "run.json"
        subprocess.run([str(lifsim), "run", str(ROOT / "examples" / f"{workload}.toml"), "--seed", "1",
                        "--threads", str(threads), "--format", "events", "--out", str(Path(tmp) / "spikes.npz"),
                        "--json", str(summary), "--quiet"], check=True, stdout=subprocess.DEVNULL)
        r = json.loads(summary.read_text())
    return r["sim_s"], r["total_s"], r["spikes"]


def networks(lifsim, workloads, rounds):
    print("\n| network | simulation, 1 thread | 2 threads | speed-up | whole run, 1 thread | 2 threads "
          "| speed-up | spikes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for workload in workloads:
        sim, total, spikes = {1: [], 2: []}, {1: [], 2: []}, set()
        for _ in range(rounds):
            for threads in (1, 2):
                s, t, n = network_run(lifsim, workload, threads)
                sim[threads].append(s)
                total[threads].append(t)
                spikes.add(n)
        if len(spikes) != 1:
            raise SystemExit(f"{workload}: spike counts differ between thread counts: {spikes}")
        s1, s2 = statistics.median(sim[1]), statistics.median(sim[2])
        t1, t2 = statistics.median(total[1]), statistics.median(total[2])
        print(f"| {workload} | {s1:.3f} s | {s2:.3f} s | {s1 / s2:.2f}x | {t1:.3f} s | {t2:.3f} s "
              f"| {t1 / t2:.2f}x | {spikes.pop()} |")


def column_reads(probe, weights, dtype, spikes, steps):
    """(1-thread s, 2-thread s, mapped) reading `spikes` columns over `steps` steps."""
    out = subprocess.run([str(probe), str(weights), dtype, str(spikes), str(steps), "2", "3"],
                         check=True, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["one_thread_s"], r["threads_s"], r["mapped"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifsim", type=Path, default=ROOT / "target" / "release" / "lifsim")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--weights", type=Path, help="an existing 10,000 x 10,000 W (default: generated)")
    parser.add_argument("--networks", nargs="*", default=["cuba", "brunel"],
                        help="network examples to run on 1 and 2 threads (none: skip)")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "lifsim-cli", "-p", "lifsim-core",
                    "--bin", "lifsim", "--example", "column_reads"],
                   cwd=ROOT, check=True)
    probe = ROOT / "target" / "release" / "examples" / "column_reads"
    steps = 2000
    with tempfile.TemporaryDirectory(prefix="lifsim-threads-") as tmp:
        weights = args.weights
        if weights is None:
            weights = Path(tmp) / "w10k.npy"
            subprocess.run([str(args.lifsim), "gen-weights", "-n", "10000", "--std", "63",
                            "--quantum", str(1 / 256), "--out", str(weights)],
                           check=True, stdout=subprocess.DEVNULL)
        print("| dtype | W | lifsim 1 thread | lifsim 2 threads | speed-up "
              "| column reads alone, 1 thread | 2 threads | speed-up | spikes |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for dtype in args.dtypes:
            times = {1: [], 2: []}
            reads = {1: [], 2: []}
            spikes, mapped = set(), None
            for _ in range(args.rounds):
                for threads in (1, 2):
                    t, count = bench(args.lifsim, weights, dtype, threads, args.runs)
                    times[threads] += t
                    spikes.add(count)
                r1, r2, mapped = column_reads(probe, weights, dtype, count, steps)
                reads[1].append(r1)
                reads[2].append(r2)
            if len(spikes) != 1:
                raise SystemExit(f"{dtype}: spike counts differ between thread counts: {spikes}")
            m1, m2 = statistics.median(times[1]), statistics.median(times[2])
            c1, c2 = statistics.median(reads[1]), statistics.median(reads[2])
            where = "file mapped (4 KiB pages)" if mapped else "converted copy (huge pages)"
            print(f"| {dtype} | {where} | {m1 * 1e3:.1f} ms | {m2 * 1e3:.1f} ms | {m1 / m2:.2f}x "
                  f"| {c1 * 1e3:.1f} ms | {c2 * 1e3:.1f} ms | {c1 / c2:.2f}x | {spikes.pop()} |")

    if args.networks:
        networks(args.lifsim, args.networks, args.rounds)


if __name__ == "__main__":
    main()
