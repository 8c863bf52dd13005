#!/usr/bin/env python3
"""The Potjans & Diesmann (2014) cortical microcircuit as a PyNN script, run on
lifsim.pynn: the network of examples/microcircuit.toml, with every number from
examples/make_microcircuit.py's ``derived()`` (the INM-6 repository's formulas).

    python examples/microcircuit_pynn.py --n-scaling 0.2 --k-scaling 0.2
    python examples/microcircuit_pynn.py --compare --seeds 4   # against the TOML network on lifsim

PyNN's terms for NEST's: FixedTotalNumberConnector (multapses and autapses
allowed) for fixed_total_number; "normal_clipped" weights and delays (redrawn
outside their bounds, NEST's redraw); IF_curr_exp with cm = C_m / 1000 nF
(NEST's pA and pF become PyNN's nA and nF); the DC background as i_offset.
Rates are over t_presim..t_presim + t_sim (500..1500 ms), as the repository
reports them. ``--compare`` runs the same network from the file that
make_microcircuit.py writes, on lifsim directly, and prints both rates: the
mean over ``--seeds`` random networks each (seed, seed + 1, ...), since at
N_scaling 0.2 one network's L2/3E and L6E rates move by about 6 % from one
seed to the next (both ways of building it draw their own networks).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_microcircuit as mc  # noqa: E402


def run_pynn(sim, n_scaling, k_scaling, seed, threads=1):
    """Builds and runs the microcircuit through PyNN's API; returns {population: Hz}."""
    d = mc.derived(n_scaling, k_scaling)
    sim.setup(timestep=mc.RESOLUTION, min_delay="auto", threads=threads, rng_seed=seed)
    rng = sim.NumpyRNG(seed=seed)
    pops = []
    for i, name in enumerate(mc.POPULATIONS):
        cell = sim.IF_curr_exp(tau_m=mc.TAU_M, cm=mc.C_M / 1000.0, v_rest=mc.E_L, v_reset=mc.V_RESET,
                               v_thresh=mc.V_TH, tau_refrac=mc.T_REF, tau_syn_E=mc.TAU_SYN, tau_syn_I=mc.TAU_SYN,
                               i_offset=d["dc_amp"][i] / 1000.0)
        pop = sim.Population(int(d["num_neurons"][i]), cell, label=name)
        pop.initialize(v=sim.RandomDistribution("normal", mu=mc.V0_MEAN["optimized"][i],
                                                sigma=mc.V0_STD["optimized"][i], rng=rng))
        pop.record("spikes")
        pops.append(pop)
    for i in range(len(pops)):
        for j in range(len(pops)):
            n = int(d["num_synapses"][i][j])
            if n == 0:
                continue
            w = d["psc_matrix"][i][j] / 1000.0  # nA
            low, high = (0.0, np.inf) if w > 0 else (-np.inf, 0.0)
            weight = sim.RandomDistribution("normal_clipped", mu=w, sigma=abs(w) * mc.WEIGHT_REL_STD,
                                            low=low, high=high, rng=rng)
            mean_delay = d["delay_matrix"][i][j]
            delay = sim.RandomDistribution("normal_clipped", mu=mean_delay, sigma=mean_delay * mc.DELAY_REL_STD,
                                           low=mc.RESOLUTION / 2, high=np.inf, rng=rng)
            sim.Projection(pops[j], pops[i], sim.FixedTotalNumberConnector(n, with_replacement=True, rng=rng),
                           sim.StaticSynapse(weight=weight, delay=delay),
                           receptor_type="excitatory" if j % 2 == 0 else "inhibitory")
    sim.run(mc.T_PRESIM + mc.T_SIM)
    rates = {}
    for pop in pops:
        trains = pop.get_data().segments[0].spiketrains
        count = sum(int(np.count_nonzero(np.asarray(t.magnitude) >= mc.T_PRESIM)) for t in trains)
        rates[pop.label] = count / (pop.size * mc.T_SIM / 1000.0)
    sim.end()
    return rates


def run_toml(n_scaling, k_scaling, seed, threads=1):
    """The same network from make_microcircuit.py's file, on lifsim directly."""
    import tempfile

    import lifsim

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mc.toml"
        path.write_text(mc.network_file(n_scaling, k_scaling, seed=seed))
        net = lifsim.Network.load(path)
    sim = net.build(threads=threads)
    sim.run(mc.T_PRESIM)
    spikes = sim.run(mc.T_SIM)
    return spikes.rates()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-scaling", type=float, default=0.2)
    parser.add_argument("--k-scaling", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=mc.RNG_SEED)
    parser.add_argument("--seeds", type=int, default=1, help="average over this many seeds (default 1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="also run examples/microcircuit.toml's network")
    a = parser.parse_args()
    import lifsim.pynn as sim

    seeds = range(a.seed, a.seed + a.seeds)

    def mean(rates):
        return {name: float(np.mean([r[name] for r in rates])) for name in mc.POPULATIONS}

    t0 = time.perf_counter()
    pynn = mean([run_pynn(sim, a.n_scaling, a.k_scaling, s, a.threads) for s in seeds])
    t1 = time.perf_counter()
    print(f"lifsim.pynn: {(t1 - t0) / a.seeds:.1f} s per network (build and 1.5 s simulated)")
    if a.compare:
        toml = mean([run_toml(a.n_scaling, a.k_scaling, s, a.threads) for s in seeds])
        print(f"lifsim (TOML): {(time.perf_counter() - t1) / a.seeds:.1f} s per network")
        print(f"{'population':10s} {'pynn Hz':>9s} {'toml Hz':>9s} {'diff':>7s}")
        for name in mc.POPULATIONS:
            diff = 100 * (pynn[name] / toml[name] - 1) if toml[name] else float("nan")
            print(f"{name:10s} {pynn[name]:9.3f} {toml[name]:9.3f} {diff:6.1f}%")
    else:
        for name in mc.POPULATIONS:
            print(f"{name:10s} {pynn[name]:9.3f} Hz")


if __name__ == "__main__":
    main()
