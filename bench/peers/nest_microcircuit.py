"""NEST peer for the `microcircuit` workload: Potjans & Diesmann (2014), our own script.

Builds the network that examples/make_microcircuit.py writes for lifsim, in NEST 3.10,
the way the INM-6 repository microcircuit-PD14-model builds it
(PyNEST/src/microcircuit/network.py): one `iaf_psc_exp` population per layer and type
(C_m, tau_m, tau_syn_ex = tau_syn_in, E_L, V_th, V_reset, t_ref; I_e = the DC
background; V_m drawn from the population's normal), `fixed_total_number` connections
for every pair (weights `nest.math.redraw(normal)` kept on their sign, delays
`nest.math.redraw(normal)` >= 0.5 resolution), and with --poisson one
`poisson_generator` per population connected all_to_all (weight PSC_ext, delay
1.5 ms) instead of the DC. Every number comes from make_microcircuit.derived(), the
same function that writes lifsim's file, so both simulators get the same parameters.

Spikes of every neuron go to one spike_recorder; --out writes them as lifsim's events
file does (times in ms, ids 0-based in population order, sorted by time then id).
One JSON line goes to stdout: setup_s (kernel, Create, Connect), sim_s (Simulate,
NEST's Prepare included), prepare_s, peak_rss_mb, and unless --no-record (no
recorder at all, as the recipe's performance runs) spikes and per-population rates.

    bench/.venv-peers/bin/python bench/peers/nest_microcircuit.py --scale 0.2 --threads 2 --out s.npz
"""

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

from nest_common import import_nest, peak_rss_mb

ROOT = Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_microcircuit", ROOT / "examples" / "make_microcircuit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=None,
                        help="N_scaling = K_scaling = SCALE (the repository's scaling_factor)")
    parser.add_argument("--n-scaling", type=float, default=1.0)
    parser.add_argument("--k-scaling", type=float, default=1.0)
    parser.add_argument("--poisson", action="store_true", help="Poisson background, not DC")
    parser.add_argument("--v0", choices=["optimized", "original"], default="optimized")
    parser.add_argument("--seed", type=int, default=55, help="NEST rng_seed (>= 1)")
    parser.add_argument("--threads", type=int, default=1, help="NEST local_num_threads")
    parser.add_argument("--t-sim", type=float, default=1500.0,
                        help="model time, ms (default 1500: t_presim + t_sim)")
    parser.add_argument("--out", type=Path, help="write the spikes here (.npz: times, ids)")
    parser.add_argument("--no-record", action="store_true",
                        help="no spike_recorder (the recipe's performance runs): no rates")
    args = parser.parse_args()
    if args.scale is not None:
        args.n_scaling = args.k_scaling = args.scale
    if not (0 < args.n_scaling <= 1 and 0 < args.k_scaling <= 1):
        parser.error("scalings must be in (0, 1]")
    if args.seed < 1:
        parser.error("--seed must be >= 1 (NEST's rng_seed)")
    if args.no_record and args.out is not None:
        parser.error("--no-record writes no spikes: leave out --out")
    if args.threads < 1 or args.t_sim <= 0:
        parser.error("--threads must be >= 1 and --t-sim > 0")
    return args


def build(nest, mc, d, args):
    res = mc.RESOLUTION
    pops = []
    for i in range(len(mc.POPULATIONS)):
        pop = nest.Create("iaf_psc_exp", int(d["num_neurons"][i]))
        pop.set(C_m=mc.C_M, tau_m=mc.TAU_M, tau_syn_ex=mc.TAU_SYN, tau_syn_in=mc.TAU_SYN,
                E_L=mc.E_L, V_th=mc.V_TH, V_reset=mc.V_RESET, t_ref=mc.T_REF,
                I_e=float(d["dc_amp"][i]))
        pop.set(V_m=nest.random.normal(mc.V0_MEAN[args.v0][i], mc.V0_STD[args.v0][i]))
        pops.append(pop)
    # One copy of static_synapse per source population: NEST holds at most
    # 134,217,726 connections per virtual process and synapse model, and full
    # scale on 2 threads puts 1.5e8 on each with one model. The copies are
    # static_synapse itself, so the network and its dynamics are the same.
    models = []
    for name in mc.POPULATIONS:
        models.append(f"static_from_{name}")
        nest.CopyModel("static_synapse", models[-1])
    for i, target in enumerate(pops):
        for j, source in enumerate(pops):
            n = int(d["num_synapses"][i][j])
            if n <= 0:
                continue
            w = float(d["psc_matrix"][i][j])
            mean_d = float(d["delay_matrix"][i][j])
            w_min, w_max = (-np.inf, 0.0) if w < 0 else (0.0, np.inf)
            syn = {
                "synapse_model": models[j],
                "weight": nest.math.redraw(
                    nest.random.normal(mean=w, std=abs(w * mc.WEIGHT_REL_STD)),
                    min=w_min, max=w_max),
                "delay": nest.math.redraw(
                    nest.random.normal(mean=mean_d, std=mean_d * mc.DELAY_REL_STD),
                    min=res - 0.5 * res, max=np.inf),
            }
            nest.Connect(source, target, {"rule": "fixed_total_number", "N": n}, syn)
    if args.poisson:
        for i, target in enumerate(pops):
            gen = nest.Create("poisson_generator", params={"rate": float(d["poisson_rates"][i])})
            nest.Connect(gen, target, {"rule": "all_to_all"},
                         {"synapse_model": "static_synapse", "weight": float(d["psc_ext"]),
                          "delay": mc.DELAY_POISSON})
    if args.no_record:
        return pops, None
    recorder = nest.Create("spike_recorder")
    everyone = pops[0]
    for pop in pops[1:]:
        everyone = everyone + pop
    nest.Connect(everyone, recorder)
    return pops, recorder


def spikes_out(recorder, pops, sizes, mc, out):
    """Writes the recorder's spikes to `out` (if given) as lifsim's events; returns
    the spike count of every population."""
    events = recorder.get("events")
    first = pops[0][0].global_id
    ids = np.asarray(events["senders"], dtype=np.int64) - first
    times = np.asarray(events["times"], dtype=np.float64)
    order = np.lexsort((ids, times))
    ids, times = ids[order].astype(np.uint32), times[order]
    if out is not None:
        np.savez(out, times=times, ids=ids, n=np.uint64(sizes.sum()),
                 dt=np.float64(mc.RESOLUTION))
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    counts = np.bincount(np.searchsorted(bounds, ids, side="right") - 1,
                         minlength=len(sizes))
    return counts


def main():
    args = parse_args()
    mc = load_generator()
    d = mc.derived(args.n_scaling, args.k_scaling, args.poisson)
    nest = import_nest()
    start = time.perf_counter()
    nest.ResetKernel()
    nest.set(resolution=mc.RESOLUTION, local_num_threads=args.threads, rng_seed=args.seed,
             print_time=False)
    pops, recorder = build(nest, mc, d, args)
    built = time.perf_counter()
    nest.Prepare()
    prepared = time.perf_counter()
    nest.Run(args.t_sim)
    nest.Cleanup()
    done = time.perf_counter()

    sizes = d["num_neurons"]
    counts = None
    if recorder is not None:
        counts = spikes_out(recorder, pops, sizes, mc, args.out)
    record = {
        "peer": "nest_iaf_psc_exp",
        "workload": "microcircuit",
        "n_scaling": args.n_scaling,
        "k_scaling": args.k_scaling,
        "background": "poisson" if args.poisson else "dc",
        "setup_s": built - start,
        "sim_s": done - built,
        "prepare_s": prepared - built,
        "t_sim_ms": args.t_sim,
        "neurons": int(sizes.sum()),
        "synapses": int(d["num_synapses"].sum()),
        "connections": int(nest.num_connections),
        "peak_rss_mb": peak_rss_mb(),
        "threads": args.threads,
        "seed": args.seed,
        "nest_version": nest.__version__,
    }
    if counts is not None:
        record["spikes"] = int(counts.sum())
        record["populations"] = [
            {"name": name, "size": int(sizes[i]), "spikes": int(counts[i]),
             "rate_hz": counts[i] / sizes[i] / (args.t_sim / 1000.0)}
            for i, name in enumerate(mc.POPULATIONS)]
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
