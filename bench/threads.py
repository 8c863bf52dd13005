#!/usr/bin/env python3
"""Two threads against one on a single large dense network, and the machine's
memory bandwidth with one and two threads, measured in the same run.

The network is issue 3's "10,000-neuron dense active network": the `seed-active`
family scaled to N = 10,000 (W ~ Normal(0, 63) on a 1/256 grid, 800 MB in
float64, 400 MB in float32), i_ext = 20, V0 uniform, 20 ms (2000 steps, about
34 Hz). One and two threads alternate for --rounds rounds of --runs timed runs
each; the table gives medians and the speed-up. Every run's spike count is
checked to be the same for both thread counts (the engine gives the same bits).

The bandwidth probe reads a 800 MB array (the size of W) with one thread and
with two threads each reading half, as the two partitions of a step do, using
NumPy's sum (which releases the GIL); it needs numpy (`.venv` from
scripts/python-env.sh has it). A dense network with spikes reads a column of W
per spike; once one thread draws what the memory gives, a second cannot add
much.

    .venv/bin/python bench/threads.py                  # float64 and float32, 4 rounds
    .venv/bin/python bench/threads.py --dtypes float64 --rounds 6
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
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


def bandwidth(rounds):
    """GB/s reading 800 MB with one thread, and with two threads each reading half."""
    import numpy as np

    a = np.ones(100_000_000)
    halves = [a[: a.size // 2], a[a.size // 2:]]
    one, two = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        a.sum()
        one.append(a.nbytes / (time.perf_counter() - start) / 1e9)
        workers = [threading.Thread(target=h.sum) for h in halves]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        two.append(a.nbytes / (time.perf_counter() - start) / 1e9)
    return statistics.median(one), statistics.median(two)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifsim", type=Path, default=ROOT / "target" / "release" / "lifsim")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--weights", type=Path, help="an existing 10,000 x 10,000 W (default: generated)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lifsim-threads-") as tmp:
        weights = args.weights
        if weights is None:
            weights = Path(tmp) / "w10k.npy"
            subprocess.run([str(args.lifsim), "gen-weights", "-n", "10000", "--std", "63",
                            "--quantum", str(1 / 256), "--out", str(weights)],
                           check=True, stdout=subprocess.DEVNULL)
        print("| dtype | 1 thread (median) | 2 threads (median) | speed-up | spikes |")
        print("|---|---:|---:|---:|---:|")
        for dtype in args.dtypes:
            times = {1: [], 2: []}
            spikes = set()
            for _ in range(args.rounds):
                for threads in (1, 2):
                    t, s = bench(args.lifsim, weights, dtype, threads, args.runs)
                    times[threads] += t
                    spikes.add(s)
            if len(spikes) != 1:
                raise SystemExit(f"{dtype}: spike counts differ between thread counts: {spikes}")
            m1, m2 = statistics.median(times[1]), statistics.median(times[2])
            print(f"| {dtype} | {m1 * 1e3:.1f} ms | {m2 * 1e3:.1f} ms | {m1 / m2:.2f}x | {spikes.pop()} |")
    one, two = bandwidth(args.rounds)
    print(f"\nmemory read bandwidth (NumPy sum of 800 MB): 1 thread {one:.1f} GB/s, "
          f"2 threads {two:.1f} GB/s ({two / one:.2f}x)")


if __name__ == "__main__":
    main()
