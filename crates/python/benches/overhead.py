"""Calling overhead of lifsim.simulate against `lifsim bench` on the same run.

    python crates/python/benches/overhead.py [--lifsim target/release/lifsim] [--rounds 5]

All three time the `seed` workload (N = 1000, 9,999 steps, silent): `lifsim
bench --runs 10` times Simulation set-up, run and recording on weights loaded
and checked once; here `lifsim.simulate(W, **kw, record=...)` is timed per call
twice: on the Fortran-order NumPy W that lifsim.workload returns (used in place,
but checked for NaN and infinity on every call, since an array may change
between calls), and on `lifsim.Weights(W)` (checked once, as bench's file is).
The difference is what a Python call adds: argument conversion, the per-call
check of W (arrays only), and handing the results to NumPy. The three
alternate for `--rounds` rounds so that load on the machine hits all alike;
each round prints the medians.
"""

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import lifsim


def python_times(w, kw, record, runs):
    lifsim.simulate(w, **kw, record=record)  # warm-up, as lifsim bench does
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        lifsim.simulate(w, **kw, record=record)
        times.append(time.perf_counter() - start)
    return np.array(times)


def cli_times(binary, record, runs):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        subprocess.run([binary, "bench", "--workload", "seed", "--runs", str(runs), "--record", record,
                        "--json", str(out)], check=True, capture_output=True)
        return np.array(json.loads(out.read_text())["times_s"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lifsim", default="target/release/lifsim", help="the lifsim binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    w, kw = lifsim.workload("seed")
    one_step = dict(kw, t_max=2 * kw["dt"])
    held = lifsim.Weights(w)
    for record in ("events", "dense"):
        cli_all, py_all, held_all = [], [], []
        for r in range(args.rounds):
            cli_all.append(cli_times(args.lifsim, record, args.runs))
            py_all.append(python_times(w, kw, record, args.runs))
            held_all.append(python_times(held, kw, record, args.runs))
            print(f"record={record} round {r}: lifsim bench median {np.median(cli_all[-1]) * 1e3:.3f} ms, "
                  f"simulate(array) {np.median(py_all[-1]) * 1e3:.3f} ms, "
                  f"simulate(Weights) {np.median(held_all[-1]) * 1e3:.3f} ms")
        cli = np.concatenate(cli_all)
        print(f"record={record}: {len(cli)} runs each: lifsim bench median {np.median(cli) * 1e3:.3f} ms "
              f"(min {cli.min() * 1e3:.3f})")
        for name, times in (("simulate(array)", py_all), ("simulate(Weights)", held_all)):
            times = np.concatenate(times)
            print(f"  {name}: median {np.median(times) * 1e3:.3f} ms (min {times.min() * 1e3:.3f}): "
                  f"{name} / bench = {np.median(times) / np.median(cli):.3f}")
    setup = python_times(w, one_step, "events", 50)
    held_setup = python_times(held, one_step, "events", 50)
    print(f"simulate with one step (per-call set-up): array median {np.median(setup) * 1e3:.3f} ms "
          f"(mostly the finite check of W), Weights median {np.median(held_setup) * 1e3:.3f} ms")
    tiny = lifsim.generate_weights(4)
    call = python_times(tiny, dict(t_max=2 * kw["dt"]), "events", 200)
    print(f"simulate of 4 neurons, one step (the Python call itself): median {np.median(call) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
