"""Writes a test workload directory for the peers (weights.npy, v0.npy, params.json)
with NumPy's own generator. Only for testing the peers without lifsim; benchmarks
use `lifsim workload NAME --out DIR`.

  seed:        --n 1000 --std 1   --i-ext 0  --v0 reset    (silent)
  seed-active: --n 1000 --std 200 --i-ext 20 --v0 uniform  (about 35 Hz)
"""

import argparse
import json
import pathlib

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--n", type=int, default=1000)
parser.add_argument("--std", type=float, default=1.0)
parser.add_argument("--i-ext", type=float, default=0.0)
parser.add_argument("--v0", choices=["reset", "uniform"], default="reset")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--t-max", type=float, default=100.0)
parser.add_argument("--dt", type=float, default=0.01)
parser.add_argument("--out", required=True, type=pathlib.Path)
args = parser.parse_args()

# The seed's defaults (SPEC section 1), with v_rest = v_reset and no refractory period.
params = {"dt": args.dt, "t_max": args.t_max, "tau_m": 20.0, "v_reset": -65.0,
          "v_thresh": -50.0, "r": 1.0, "v_rest": -65.0, "i_ext": args.i_ext, "t_ref": 0.0,
          "steps": len(np.arange(0, args.t_max, args.dt)) - 1, "n": args.n}

rng = np.random.default_rng(args.seed)
W = rng.normal(0.0, args.std, size=(args.n, args.n))
if args.v0 == "uniform":
    v0 = rng.uniform(params["v_reset"], params["v_thresh"], size=args.n)
else:
    v0 = np.full(args.n, params["v_reset"])

args.out.mkdir(parents=True, exist_ok=True)
np.save(args.out / "weights.npy", W)
np.save(args.out / "v0.npy", v0)
(args.out / "params.json").write_text(json.dumps(params, indent=1) + "\n")
