"""Shared harness for the peer benchmarks: workload loading, timing, JSON output.

Not a peer itself. Each peer script builds a zero-argument `run` callable that
simulates the whole workload and returns the spike train (S, N); `bench` times it.
"""

import argparse
import json
import pathlib
import time

import numpy as np


def load_workload():
    """Parses the peer command line and loads the workload directory.

    Returns (args, W, v0, params): W float64 (N, N) as stored (C or Fortran
    order), v0 float64 (N,), params the dict from params.json.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--workload-dir", required=True, type=pathlib.Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args()
    W = np.load(args.workload_dir / "weights.npy")
    v0 = np.load(args.workload_dir / "v0.npy")
    params = json.loads((args.workload_dir / "params.json").read_text())
    if params["t_ref"] != 0:
        raise SystemExit("peers implement the seed's model only: t_ref must be 0")
    return args, W, v0, params


def bench(name, args, params, run, dtype):
    """Warms up, then times `args.runs` runs like the seed does and prints one JSON line.

    Each timed run covers the whole simulation plus np.asarray of its spike train,
    as in the notebook (which used time.time; perf_counter is the finer clock).
    """
    for _ in range(args.warmup):
        np.asarray(run())
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        spikes = np.asarray(run())
        times.append(time.perf_counter() - start)
    if spikes.shape != (params["steps"], params["n"]):
        raise SystemExit(f"{name}: spike train shape {spikes.shape}, "
                         f"expected {(params['steps'], params['n'])}")
    print(json.dumps({"peer": name, "times_s": times, "spikes": int(spikes.sum()),
                      "dtype": dtype, "n": params["n"], "steps": params["steps"]}))
