"""Two lifsim binaries A/B, in alternating rounds, on the network engine's workloads.

Before a change to a hot loop, build the old binary (e.g. `git worktree add /tmp/old
<commit> && cargo build --release` there) and run both here: each round runs every
workload with both binaries, old first in even rounds and new first in odd ones, and
reads the simulation time (`--json`'s `sim_s`, setup and output excluded). Prints
the median and minimum of each and the ratio new / old; on a shared machine a ratio
of one run means much more than an absolute time.

    python bench/ab.py --old /tmp/old/target/release/lifsim --new target/release/lifsim --rounds 9

Workloads: `seed` and `seed-active` (the seed's runs, `lifsim run --workload W`, their
printed wall time), `seed-net` and `seed-active-net` (the same runs written as network
files, as `bench/seed_network.py` writes them; 100,000 steps),
`cuba`, `brunel`, `coba` (`iaf_cond_exp`) and `brunel_alpha` (`iaf_psc_alpha`) (`examples/`, one
thread). Both binaries must give the same
spikes on each (checked once, on the first round's files).
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from seed_network import network_file

ROOT = Path(__file__).resolve().parent.parent


def run(binary, cwd, args):
    proc = subprocess.run([str(binary), *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{binary} {' '.join(map(str, args))}: {proc.stderr.strip()}")
    return proc.stdout


def workloads(binary, tmp, t_max):
    """name -> (working folder, arguments before --out/--json)."""
    out = {}
    for name in ["seed", "seed-active"]:
        cwd = tmp / name
        cwd.mkdir()
        run(binary, cwd, ["workload", name, "--out", "."])
        params = json.loads((cwd / "params.json").read_text())
        params["t_max"] = t_max
        (cwd / "net.toml").write_text(network_file(params, np.load(cwd / "v0.npy")))
        out[f"{name}-net"] = (cwd, ["run", "net.toml", "--format", "dense"])
        out[name] = (cwd, ["run", "--workload", name, "--t-max", t_max])
    for name in ["cuba", "brunel", "coba", "brunel_alpha"]:
        cwd = tmp / name
        cwd.mkdir()
        out[name] = (cwd, ["run", ROOT / "examples" / f"{name}.toml", "--threads", "1"])
    return out


def sim_s(binary, cwd, args, tag):
    os.sync()
    if "--workload" in args:
        # The seed's own run (no --json): its printed wall time, ms.
        out = run(binary, cwd, [*args, "--format", "dense", "--out", f"{tag}.out"])
        return next(float(l.split()[2]) for l in out.splitlines() if l.startswith("wall time")) / 1e3
    run(binary, cwd, [*args, "--out", f"{tag}.out", "--json", f"{tag}.json", "--quiet"])
    return json.loads((cwd / f"{tag}.json").read_text())["sim_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="the binary from before the change")
    ap.add_argument("--new", required=True, help="the binary with it")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--t-max", type=float, default=1000.0, help="ms of the seed runs (dt 0.01 ms)")
    ap.add_argument("--only", nargs="*", help="workloads to run (default: all)")
    args = ap.parse_args()
    binaries = {"old": Path(args.old).resolve(), "new": Path(args.new).resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        work = workloads(binaries["new"], Path(tmp), args.t_max)
        names = [w for w in work if not args.only or w in args.only]
        times = {(w, b): [] for w in names for b in binaries}
        for r in range(args.rounds):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for w in names:
                cwd, wargs = work[w]
                for b in order:
                    times[w, b].append(sim_s(binaries[b], cwd, wargs, b))
                if r == 0:
                    same = (cwd / "old.out").read_bytes() == (cwd / "new.out").read_bytes()
                    if not same:
                        raise SystemExit(f"{w}: the two binaries' spike files differ")
        print(f"{'workload':16s} {'old median (min)':>20s} {'new median (min)':>20s} {'new/old median (min)':>22s}")
        for w in names:
            old, new = times[w, "old"], times[w, "new"]
            mo, mn = statistics.median(old), statistics.median(new)
            print(f"{w:16s} {mo * 1e3:10.2f} ms ({min(old) * 1e3:6.2f}) {mn * 1e3:10.2f} ms ({min(new) * 1e3:6.2f}) "
                  f"{mn / mo:13.3f} ({min(new) / min(old):.3f})")


if __name__ == "__main__":
    main()
