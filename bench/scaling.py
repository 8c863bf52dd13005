#!/usr/bin/env python3
"""How lifsim's dense engine scales: time per simulated second against the
number of neurons N, and against the firing rate, one thread, both dtypes.

Networks are the `seed-active` family: W ~ Normal(0, 200 * sqrt(1000 / N)) on a
1/256 grid (the same input fluctuations at every N), V0 uniform, and i_ext
setting the rate. Needs only lifsim (no peers); standard library only.

    python3 bench/scaling.py                      # N up to 20,000 (3.2 GB of float64 W)
    python3 bench/scaling.py --max-n 10000 --runs 3
"""

import argparse
import json
import math
import statistics
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(lifsim, weights, dtype, i_ext, t_max, runs, threads=1):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([str(lifsim), "bench", "--weights", str(weights), "--dtype", dtype,
                        "--i-ext", str(i_ext), "--v0", "uniform", "--t-max", str(t_max),
                        "--runs", str(runs), "--threads", str(threads), "--json", out.name],
                       check=True, stdout=subprocess.DEVNULL)
        r = json.loads(Path(out.name).read_text())
    simulated_s = r["steps"] * 0.01e-3
    return statistics.median(r["times_s"]) / simulated_s, r["rate_hz"]


def weights_for(lifsim, tmp, n, dtype):
    path = Path(tmp) / f"w{n}_{dtype}.npy"
    if not path.exists():
        std = 200.0 * math.sqrt(1000.0 / n)
        subprocess.run([str(lifsim), "gen-weights", "-n", str(n), "--std", str(std),
                        "--quantum", str(1 / 256), "--dtype", dtype, "--out", str(path)],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-n", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lifsim", type=Path, default=ROOT / "target" / "release" / "lifsim")
    args = ap.parse_args()
    sizes = [n for n in (1_000, 2_000, 5_000, 10_000, 20_000, 40_000) if n <= args.max_n]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        print("### Time per simulated second against N (i_ext = 20, about 35 Hz)\n")
        print("| N | W (float64) | float64: s per simulated s | float32: s per simulated s | rate (Hz) |")
        print("|---:|---:|---:|---:|---:|")
        for n in sizes:
            t_max = max(10.0, 100.0 * 1000 / n)  # long enough to time, short for big N
            row = {}
            for dtype in ("float64", "float32"):
                w = weights_for(args.lifsim, tmp, n, dtype)
                row[dtype] = bench(args.lifsim, w, dtype, 20.0, t_max, args.runs)
                w.unlink()
            print(f"| {n:,} | {n * n * 8 / 2**30:.2f} GiB | {row['float64'][0]:.3f} "
                  f"| {row['float32'][0]:.3f} | {row['float64'][1]:.1f} |", flush=True)
        print("\n### Time per simulated second against firing rate (N = 5,000, float64)\n")
        print("| i_ext | rate (Hz) | s per simulated s |")
        print("|---:|---:|---:|")
        w = weights_for(args.lifsim, tmp, 5_000, "float64")
        for i_ext in (0, 15.5, 17, 20, 25, 35, 60):
            per_s, rate = bench(args.lifsim, w, "float64", i_ext, 20.0, args.runs)
            print(f"| {i_ext} | {rate:.1f} | {per_s:.3f} |", flush=True)


if __name__ == "__main__":
    main()
