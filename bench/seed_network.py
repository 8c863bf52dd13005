"""The seed's run in the network engine against the seed's dense engine.

For each workload (`seed`, `seed-active`), writes the seed's run as a network
file (one `lif_euler` population, one dense projection of W acting within its
step, `timing = "seed"`: README, "The seed's run as a network file"), checks
that both engines give the same spike train, then times both in alternating
rounds (`lifsim run --workload W` against `lifsim run W.toml`, simulation time
only; the order alternates and the page cache is synced before each run) and
prints the minimum and median of each.

    python bench/seed_network.py --lifsim target/release/lifsim --t-max 1000 --rounds 9
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np


def network_file(params, v0):
    """The network file of a workload's run (`params.json`, `v0.npy`)."""
    values = ", ".join(repr(float(x)) for x in v0)
    return f"""name = "{params['name']}-network"
dt = {params['dt']}
duration = {params['t_max']}
timing = "seed"

[[population]]
name = "lif"
size = {params['n']}
model = "lif_euler"
tau_m = {params['tau_m']}
v_rest = {params['v_rest']}
v_reset = {params['v_reset']}
v_thresh = {params['v_thresh']}
r = {params['r']}
t_ref = {params['t_ref']}
i_ext = {params['i_ext']}
v0 = [{values}]

[[projection]]
source = "lif"
target = "lif"
rule = "from_file"
file = "weights.npy"
connectivity = "dense"
delay = 0.0
synapse = "exponential"
tau_syn = {params['dt']}
"""


def lifsim(binary, cwd, *args):
    proc = subprocess.run([str(binary), *map(str, args)], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return proc.stdout


def dense_ms(binary, cwd, workload, t_max):
    out = lifsim(binary, cwd, "run", "--workload", workload, "--t-max", t_max, "--out", "dense.npy")
    return next(float(l.split()[2]) for l in out.splitlines() if l.startswith("wall time"))


def network_ms(binary, cwd):
    lifsim(binary, cwd, "run", "net.toml", "--format", "dense", "--out", "net.npy", "--json", "s.json",
           "--quiet")
    return json.loads((cwd / "s.json").read_text())["sim_s"] * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lifsim", default="target/release/lifsim")
    ap.add_argument("--t-max", type=float, default=1000.0)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    binary = Path(args.lifsim).resolve()
    for workload in ["seed", "seed-active"]:
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            lifsim(binary, cwd, "workload", workload, "--out", ".")
            params = json.loads((cwd / "params.json").read_text())
            params["t_max"] = args.t_max
            (cwd / "net.toml").write_text(network_file(params, np.load(cwd / "v0.npy")))
            dense, net = [], []
            runs = [lambda: dense.append(dense_ms(binary, cwd, workload, args.t_max)),
                    lambda: net.append(network_ms(binary, cwd))]
            for r in range(args.rounds):
                # The order alternates, and the page cache is written back
                # before each run: each run writes a spike matrix of
                # n x steps bytes (100 MB at --t-max 1000), whose writeback
                # would otherwise steal CPU from the run after it.
                for run in runs if r % 2 == 0 else runs[::-1]:
                    os.sync()
                    run()
            same = np.array_equal(np.load(cwd / "dense.npy"), np.load(cwd / "net.npy"))
            print(f"{workload:12s} dense engine min {min(dense):7.2f} median {statistics.median(dense):7.2f} ms | "
                  f"network engine min {min(net):7.2f} median {statistics.median(net):7.2f} ms | "
                  f"network/dense min {min(net) / min(dense):.2f} median "
                  f"{statistics.median(net) / statistics.median(dense):.2f} | same spikes: {same}")


if __name__ == "__main__":
    main()
