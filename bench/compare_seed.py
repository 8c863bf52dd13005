#!/usr/bin/env python3
"""lifsim against the seed's own code and Numba on `seed` and `seed-active`.

Runs every program in one interleaved session (the order rotates each round,
so a noisy neighbour hurts everyone alike), then prints a Markdown table per
workload: median and min time per simulation, how many times slower than
lifsim each peer is, and its spike count (float64 peers must match lifsim's
exactly; JAX runs float32 and is compared with lifsim's float32 run).

    bench/setup_peers.sh                       # once: numpy, jax, numba venv
    bench/.venv-peers/bin/python bench/compare_seed.py --rounds 5 --runs 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ["seed_numpy", "seed_jax_jit", "seed_jax_scan", "numba_dense", "numba_event"]
# lifsim configurations: (label, dtype, what each run records)
LIFSIM = [("lifsim", "float64", "events"), ("lifsim (dense output)", "float64", "dense"),
          ("lifsim float32", "float32", "events")]


def lifsim_run(binary, workload, dtype, record, runs):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([str(binary), "bench", "--workload", workload, "--dtype", dtype,
                        "--record", record, "--runs", str(runs), "--warmup", "1",
                        "--threads", "1", "--json", out.name],
                       check=True, stdout=subprocess.DEVNULL)
        r = json.loads(Path(out.name).read_text())
    return {"times_s": r["times_s"], "spikes": r["spikes"], "dtype": dtype}


def peer_run(python, peer, workload_dir, runs):
    env = dict(os.environ)
    # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE force an old OpenBLAS kernel on this
    # machine and slow NumPy's and Numba's dense dot several-fold; benchmark
    # the peers as a user's fresh install would run them.
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    out = subprocess.run([python, str(ROOT / "bench" / "peers" / f"{peer}.py"), "--workload-dir",
                          str(workload_dir), "--runs", str(runs), "--warmup", "1"],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def fmt(s):
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.3f} s"


def table(workload, results):
    base = {d: statistics.median(results[l]["times_s"]) for l, d, r in LIFSIM if r == "events"}
    spikes = {d: results[l]["spikes"] for l, d, r in LIFSIM if r == "events"}
    lines = [f"### `{workload}`", "",
             "| program | dtype | median | min | × lifsim (same dtype) | spikes | same spikes as lifsim |",
             "|---|---|---:|---:|---:|---:|---|"]
    for label, r in results.items():
        med = statistics.median(r["times_s"])
        ratio = med / base[r["dtype"]]
        same = "yes" if r["spikes"] == spikes[r["dtype"]] else f"no ({spikes[r['dtype']]})"
        lines.append(f"| {label} | {r['dtype']} | {fmt(med)} | {fmt(min(r['times_s']))} "
                     f"| {ratio:,.1f} | {r['spikes']} | {same} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per program per round (default 3)")
    ap.add_argument("--workloads", nargs="+", default=["seed", "seed-active"])
    ap.add_argument("--peers", nargs="+", default=PEERS)
    ap.add_argument("--lifsim", type=Path, default=ROOT / "target" / "release" / "lifsim")
    ap.add_argument("--json", type=Path, help="also write every time measured as JSON")
    args = ap.parse_args()
    if not args.lifsim.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "lifsim"], cwd=ROOT, check=True)
    python = sys.executable
    everything = {}
    with tempfile.TemporaryDirectory() as tmp:
        for workload in args.workloads:
            wdir = Path(tmp) / workload
            subprocess.run([str(args.lifsim), "workload", workload, "--out", str(wdir)],
                           check=True, stdout=subprocess.DEVNULL)
            programs = [(l, lambda d=d, r=r: lifsim_run(args.lifsim, workload, d, r, args.runs))
                        for l, d, r in LIFSIM]
            programs += [(p, lambda p=p: peer_run(python, p, wdir, args.runs)) for p in args.peers]
            results = {label: None for label, _ in programs}
            for rnd in range(args.rounds):
                k = rnd % len(programs)
                for label, run in programs[k:] + programs[:k]:
                    r = run()
                    print(f"[{workload} round {rnd + 1}] {label}: {fmt(statistics.median(r['times_s']))}",
                          file=sys.stderr)
                    if results[label] is None:
                        results[label] = r
                    else:
                        results[label]["times_s"] += r["times_s"]
            everything[workload] = results
            print(table(workload, results) + "\n")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1) + "\n")


if __name__ == "__main__":
    main()
