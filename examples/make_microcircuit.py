#!/usr/bin/env python3
"""Writes the Potjans & Diesmann (2014) cortical microcircuit ("PD14") as a
lifsim network file, at full scale or scaled as the model's own PyNEST code
scales it.

    python examples/make_microcircuit.py --out examples/microcircuit.toml
    python examples/make_microcircuit.py --n-scaling 0.05 --out small.toml
    python examples/make_microcircuit.py --n-scaling 0.1 --k-scaling 0.1 --poisson --out p.toml

Every number comes from the INM-6 repository microcircuit-PD14-model
(PyNEST/src/microcircuit/): the parameters from network_params.py and
sim_params.py, the derived ones (synapse counts, PSP-to-PSC factor, DC
background, the compensation of scaled in-degrees) by the formulas of
helpers.py and network.py, written out here and named in the file's
comments. examples/microcircuit.toml is this script's output with its
defaults (tests/test_microcircuit.py checks that regenerating it gives the
same file). bench/peers/nest_microcircuit.py builds the same network in
NEST from `derived()`. NumPy only.
"""

import argparse
import math
import sys
from pathlib import Path

import numpy as np

# --- network_params.py: net_dict -------------------------------------------
POPULATIONS = ["L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"]
FULL_NUM_NEURONS = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])
# "obtained by running this PyNEST microcircuit ... 'N_scaling' and 'K_scaling' set to 1"
FULL_MEAN_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])
# conn_probs[target][source]
CONN_PROBS = np.array([
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.135, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.06, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.001, 0.0034, 0.0005, 0.0277, 0.008, 0.0658, 0.1443],
])
PSP_EXC_MEAN = 0.15        # mV, "mean amplitude of excitatory postsynaptic potential"
WEIGHT_REL_STD = 0.1       # "relative standard deviation of the weight"
G = -4.0                   # "relative inhibitory weight"
DELAY_EXC_MEAN = 1.5       # ms
DELAY_INH_MEAN = 0.75      # ms
DELAY_REL_STD = 0.5        # "CV of excitatory and inhibitory delays"
K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])
BG_RATE = 8.0              # spikes/s, "rate of the Poisson generator"
DELAY_POISSON = 1.5        # ms
V0_MEAN = {"optimized": [-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43],
           "original": [-58.0] * 8}
V0_STD = {"optimized": [5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48],
          "original": [10.0] * 8}
E_L = -65.0                # mV
V_TH = -50.0               # mV
V_RESET = -65.0            # mV
C_M = 250.0                # pF
TAU_M = 10.0               # ms
TAU_SYN = 0.5              # ms, tau_syn_ex = tau_syn_in
T_REF = 2.0                # ms
# --- sim_params.py: sim_dict -----------------------------------------------
RESOLUTION = 0.1           # ms, "sim_resolution"
T_PRESIM, T_SIM = 500.0, 1000.0   # ms
RNG_SEED = 55


def num_synapses_from_conn_probs(conn_probs, popsize1, popsize2):
    """helpers.py: K = ln(1 - C) / ln((N_pre N_post - 1) / (N_pre N_post))."""
    # math.log, not np.log: NumPy picks a SIMD log by CPU (AVX2 vs AVX-512), whose last
    # bit can differ, and the checked-in file must come out the same on every machine.
    prod = np.outer(popsize1, popsize2).astype(float)
    c = np.asarray(conn_probs, dtype=float)
    return np.array([[math.log(1.0 - c[i, j]) / math.log((prod[i, j] - 1.0) / prod[i, j])
                      for j in range(c.shape[1])] for i in range(c.shape[0])])


def postsynaptic_potential_to_current(c_m, tau_m, tau_syn):
    """helpers.py: the PSC amplitude (pA) whose iaf_psc_exp PSP peaks at 1 mV."""
    sub = 1.0 / (tau_syn - tau_m)
    pre = tau_m * tau_syn / c_m * sub
    frac = (tau_m / tau_syn) ** sub
    return 1.0 / (pre * (frac ** tau_m - frac ** tau_syn))


def derived(n_scaling=1.0, k_scaling=1.0, poisson=False):
    """network.py's __derive_parameters: sizes, synapse counts, PSC weights (pA),
    the background's DC amplitude (pA) or Poisson rates, as NEST builds them."""
    n = len(POPULATIONS)
    full_num_synapses = num_synapses_from_conn_probs(CONN_PROBS, FULL_NUM_NEURONS, FULL_NUM_NEURONS)
    num_neurons = np.round(FULL_NUM_NEURONS * n_scaling).astype(int)
    num_synapses = np.round(full_num_synapses * n_scaling * k_scaling).astype(int)
    ext_indegrees = np.round(K_EXT * k_scaling).astype(int)
    psp_matrix = np.zeros((n, n))
    psp_matrix[:, 0::2] = PSP_EXC_MEAN
    psp_matrix[:, 1::2] = PSP_EXC_MEAN * G
    psp_matrix[0, 2] = 2.0 * PSP_EXC_MEAN   # "the mean PSP of the connection from L4E to L23E is doubled"
    delay_matrix = np.zeros((n, n))
    delay_matrix[:, 0::2] = DELAY_EXC_MEAN
    delay_matrix[:, 1::2] = DELAY_INH_MEAN
    psc_over_psp = postsynaptic_potential_to_current(C_M, TAU_M, TAU_SYN)
    psc_matrix = psp_matrix * psc_over_psp
    psc_ext = PSP_EXC_MEAN * psc_over_psp
    if poisson:
        dc_amp = np.zeros(n)
    else:
        # helpers.dc_input_compensating_poisson
        dc_amp = BG_RATE * K_EXT * psc_ext * TAU_SYN * 0.001
    if k_scaling != 1:
        # helpers.adjust_weights_and_input_to_synapse_scaling
        indegree_matrix = full_num_synapses / FULL_NUM_NEURONS[:, np.newaxis]
        input_rec = np.sum(psc_matrix * indegree_matrix * FULL_MEAN_RATES, axis=1)
        dc_amp = dc_amp + 0.001 * TAU_SYN * (1.0 - np.sqrt(k_scaling)) * input_rec
        if poisson:
            dc_amp = dc_amp + 0.001 * TAU_SYN * (1.0 - np.sqrt(k_scaling)) * psc_ext * K_EXT * BG_RATE
        psc_matrix = psc_matrix / np.sqrt(k_scaling)
        psc_ext = psc_ext / np.sqrt(k_scaling)
    return {
        "num_neurons": num_neurons, "num_synapses": num_synapses,
        "full_num_synapses": full_num_synapses, "ext_indegrees": ext_indegrees,
        "psc_over_psp": psc_over_psp, "psc_matrix": psc_matrix, "psc_ext": psc_ext,
        "delay_matrix": delay_matrix, "dc_amp": dc_amp,
        "poisson_rates": BG_RATE * ext_indegrees,
    }


def num(x):
    """A float as TOML writes it: Python's shortest round-trip repr."""
    x = float(x)
    return repr(0.0 if x == 0 else x)


def network_file(n_scaling=1.0, k_scaling=1.0, poisson=False, v0="optimized",
                 duration=T_PRESIM + T_SIM, seed=RNG_SEED, record="events", procedural=False):
    """The network file's text."""
    d = derived(n_scaling, k_scaling, poisson)
    full = n_scaling == 1 and k_scaling == 1
    cmd = "python examples/make_microcircuit.py"
    args = []
    if n_scaling != 1:
        args.append(f"--n-scaling {n_scaling}")
    if k_scaling != 1:
        args.append(f"--k-scaling {k_scaling}")
    if poisson:
        args.append("--poisson")
    if v0 != "optimized":
        args.append(f"--v0 {v0}")
    if duration != T_PRESIM + T_SIM:
        args.append(f"--duration {duration}")
    if seed != RNG_SEED:
        args.append(f"--seed {seed}")
    if record != "events":
        args.append(f"--record {record}")
    if procedural:
        args.append("--procedural")
    out = []
    w = out.append
    w("# The Potjans & Diesmann (2014) cortical microcircuit (PD14): 8 populations of")
    w("# iaf_psc_exp neurons (layers 2/3, 4, 5 and 6, excitatory and inhibitory) under")
    w("# 1 mm^2 of cortex, as the INM-6 repository microcircuit-PD14-model builds it in NEST")
    w("# (PyNEST/src/microcircuit/: network_params.py, network.py, helpers.py).")
    if full:
        w(f"# Full scale: {d['num_neurons'].sum():,} neurons, {d['num_synapses'].sum():,} synapses.")
    else:
        w(f"# Scaled: N_scaling = {n_scaling}, K_scaling = {k_scaling} (network.py's scaling):")
        w(f"# {d['num_neurons'].sum():,} neurons, {d['num_synapses'].sum():,} synapses.")
    w("#")
    w(f"# Written by `{' '.join([cmd] + args + ['--out FILE'])}`; do not edit:")
    w("# change the script (every number is derived there, by the repository's formulas).")
    w("#")
    w("#     lifsim run examples/microcircuit.toml --format counts --json pd14.json")
    w("#")
    w("# Units are lifsim's: ms, mV, nA (NEST's pA / 1000), MOhm.")
    w("")
    w('name = "microcircuit"')
    w(f"dt = {num(RESOLUTION)}          # sim_dict['sim_resolution'] (ms)")
    w(f"duration = {num(duration)}   # ms: sim_dict's t_presim {num(T_PRESIM)} + t_sim {num(T_SIM)} by default")
    w(f"seed = {seed}            # sim_dict['rng_seed'] plays this role")
    if procedural:
        w('connectivity = "procedural"   # no synapse stored: a firing neuron\'s are drawn again')
        w("                              # (GeNN's procedural connectivity; the same spikes as stored)")
    w("")
    psc = d["psc_over_psp"]
    w("# Neurons: net_dict['neuron_params'], model iaf_psc_exp (net_dict['neuron_model']).")
    w(f"# r = tau_m / C_m = {num(TAU_M)} ms / {num(C_M)} pF = {num(TAU_M / C_M * 1000.0)} MOhm.")
    if poisson:
        w("# Background: Poisson (net_dict['bg_input_type'] = 'poisson'): one input per population")
        w(f"# below, rate bg_rate * K_ext = {num(BG_RATE)} Hz * K_ext; i_ext is network.py's DC_amp")
        w("# (0, or the K_scaling compensation).")
    else:
        w("# Background: DC (net_dict['bg_input_type'] = 'dc', the default): i_ext is")
        w("# DC_amp = bg_rate * K_ext * PSC_ext * tau_syn * 0.001 pA (helpers.dc_input_compensating_poisson)")
        if k_scaling != 1:
            w("# + 0.001 tau_syn (1 - sqrt(K_scaling)) sum_j PSC_ij K_ij nu_j (the K_scaling compensation)")
    w(f"# PSC_ext = PSP_exc_mean * PSC_over_PSP = {num(PSP_EXC_MEAN)} mV * {num(psc)} pA/mV = {num(PSP_EXC_MEAN * psc)} pA,")
    w("# PSC_over_PSP by helpers.postsynaptic_potential_to_current(C_m, tau_m, tau_syn).")
    for i, pop in enumerate(POPULATIONS):
        w("")
        w("[[population]]")
        w(f'name = "{pop}"')
        if n_scaling == 1:
            w(f"size = {d['num_neurons'][i]}          # full_num_neurons[{i}]")
        else:
            w(f"size = {d['num_neurons'][i]}          # round(full_num_neurons[{i}] = {FULL_NUM_NEURONS[i]} * N_scaling)")
        w('model = "iaf_psc_exp"')
        w(f"tau_m = {num(TAU_M)}        # tau_m (ms)")
        w(f"r = {num(TAU_M / C_M * 1000.0)}           # tau_m / C_m (MOhm), C_m = {num(C_M)} pF")
        w(f"v_rest = {num(E_L)}      # E_L (mV)")
        w(f"v_reset = {num(V_RESET)}     # V_reset (mV)")
        w(f"v_thresh = {num(V_TH)}    # V_th (mV)")
        w(f"t_ref = {num(T_REF)}         # t_ref (ms)")
        dc = d["dc_amp"][i]
        if poisson and k_scaling == 1:
            w("i_ext = 0.0         # DC_amp = 0 with Poisson background")
        else:
            if poisson:
                how = "the K_scaling compensation only: the background is Poisson"
            else:
                how = f"K_ext = {K_EXT[i]}" + (", with the K_scaling compensation" if k_scaling != 1 else "")
            w(f"i_ext = {num(dc * 1e-3)}   # nA: DC_amp = {num(dc)} pA ({how})")
        w(f"v0 = {{ distribution = \"normal\", mean = {num(V0_MEAN[v0][i])}, std = {num(V0_STD[v0][i])} }}"
          f"   # V0_mean/V0_std['{v0}'][{i}]")
    w("")
    w("# Connections (network.py, __connect_neuronal_populations): for each target i and")
    w("# source j, nest.Connect with rule fixed_total_number, N = num_synapses[i][j] =")
    w("# round(K_ij * N_scaling * K_scaling), K_ij = ln(1 - C_ij) / ln((N_i N_j - 1) / (N_i N_j))")
    w("# from the full-scale sizes (helpers.num_synapses_from_conn_probs); multapses and")
    w("# autapses allowed (NEST's defaults). Weight: normal(PSC_ij, |0.1 PSC_ij|) redrawn")
    w("# within [0, inf] or [-inf, 0] by its sign (nest.math.redraw), PSC_ij = PSP_ij *")
    w(f"# PSC_over_PSP, PSP_ij = {num(PSP_EXC_MEAN)} mV from E, g * {num(PSP_EXC_MEAN)} = {num(G * PSP_EXC_MEAN)} mV from I")
    w("# (g = -4), doubled from L4E onto L23E" + (", / sqrt(K_scaling)." if k_scaling != 1 else "."))
    w(f"# Delay: normal(mean, 0.5 mean), mean {num(DELAY_EXC_MEAN)} ms from E and {num(DELAY_INH_MEAN)} ms from I, redrawn")
    w("# within [resolution - 0.5 resolution, inf] = [0.05 ms, inf] (then rounded to steps:")
    w("# at least one). Synapses exponential with tau_syn_ex = tau_syn_in = 0.5 ms.")
    for i, tgt in enumerate(POPULATIONS):
        for j, src in enumerate(POPULATIONS):
            k = d["num_synapses"][i][j]
            w("")
            if k == 0:
                w(f"# {src} -> {tgt}: conn_probs[{i}][{j}] = {num(CONN_PROBS[i][j])}, no synapses.")
                continue
            wt = d["psc_matrix"][i][j]
            mean_d = d["delay_matrix"][i][j]
            w("[[projection]]")
            w(f'source = "{src}"')
            w(f'target = "{tgt}"')
            w('rule = "fixed_total_number"')
            scaled = "" if full else f" * N_scaling {n_scaling} * K_scaling {k_scaling}"
            w(f"n = {k}      # round(K = {d['full_num_synapses'][i][j]:.3f}{scaled}), C = conn_probs[{i}][{j}] = {num(CONN_PROBS[i][j])}")
            psp = G * PSP_EXC_MEAN if j % 2 else (2 * PSP_EXC_MEAN if (i, j) == (0, 2) else PSP_EXC_MEAN)
            bound = "max = 0.0" if wt < 0 else "min = 0.0"
            w(f"weight = {{ distribution = \"normal\", mean = {num(wt * 1e-3)}, std = {num(abs(wt * WEIGHT_REL_STD) * 1e-3)}, "
              f"{bound}, bound = \"redraw\" }}   # nA: PSP {num(psp)} mV * PSC_over_PSP"
              + (" / sqrt(K_scaling)" if k_scaling != 1 else "") + f", std weight_rel_std {num(WEIGHT_REL_STD)}")
            kind = "inh" if j % 2 else "exc"
            w(f"delay = {{ distribution = \"normal\", mean = {num(mean_d)}, std = {num(mean_d * DELAY_REL_STD)}, "
              f"min = {num(RESOLUTION - 0.5 * RESOLUTION)}, bound = \"redraw\" }}"
              f"   # ms: delay_{kind}_mean, delay_rel_std {num(DELAY_REL_STD)}")
            w('synapse = "exponential"')
            w(f"tau_syn = {num(TAU_SYN)}     # tau_syn_ex = tau_syn_in (ms)")
    if poisson:
        w("")
        w("# Poisson background (network.py, __create/__connect_poisson_bg_input): one")
        w("# poisson_generator per population, rate bg_rate * round(K_ext * K_scaling), all_to_all")
        w("# onto the population with weight PSC_ext (/ sqrt(K_scaling)): an independent train")
        w(f"# into every neuron, as lifsim's poisson input. (NEST delays it by {num(DELAY_POISSON)} ms; a delay")
        w("# does not change a stationary Poisson train, and lifsim's poisson inputs take none.)")
        for i, pop in enumerate(POPULATIONS):
            w("")
            w("[[input]]")
            w('type = "poisson"')
            w(f'target = "{pop}"')
            w(f"rate = {num(d['poisson_rates'][i])}   # Hz: {num(BG_RATE)} * K_ext = {d['ext_indegrees'][i]}")
            w(f"weight = {num(d['psc_ext'] * 1e-3)}   # nA: PSC_ext")
            w('synapse = "exponential"')
            w(f"tau_syn = {num(TAU_SYN)}     # tau_syn_ex (ms)")
    w("")
    w("[record]")
    w(f'spikes = "{record}"')
    return "\n".join(out) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="the network file to write ('-': stdout)")
    parser.add_argument("--n-scaling", type=float, default=1.0,
                        help="net_dict['N_scaling']: neurons and synapses scale by it (default 1)")
    parser.add_argument("--k-scaling", type=float, default=1.0,
                        help="net_dict['K_scaling']: in-degrees scale by it, weights by 1/sqrt, "
                             "DC compensates (default 1)")
    parser.add_argument("--poisson", action="store_true",
                        help="Poisson background instead of the DC that replaces it")
    parser.add_argument("--v0", choices=["optimized", "original"], default="optimized",
                        help="net_dict['V0_type'] (default optimized)")
    parser.add_argument("--duration", type=float, default=T_PRESIM + T_SIM,
                        help="ms (default t_presim + t_sim = 1500)")
    parser.add_argument("--seed", type=int, default=RNG_SEED, help="default sim_dict['rng_seed'] = 55")
    parser.add_argument("--record", choices=["events", "counts", "dense"], default="events")
    parser.add_argument("--procedural", action="store_true",
                        help="connectivity = \"procedural\": store no synapse, draw a firing "
                             "neuron's again (the same spikes as stored, far less memory)")
    a = parser.parse_args(argv)
    if not (0 < a.n_scaling <= 1 and 0 < a.k_scaling <= 1):
        parser.error("--n-scaling and --k-scaling must be in (0, 1]")
    if a.duration <= 0:
        parser.error("--duration must be > 0 ms")
    text = network_file(a.n_scaling, a.k_scaling, a.poisson, a.v0, a.duration, a.seed, a.record,
                        a.procedural)
    if a.out == "-":
        sys.stdout.write(text)
    else:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
