#!/usr/bin/env python3
"""Writes the `scale` workload (SPEC section 3: 1,000,000 neurons, in-degree
1,000, 10^9 synapses, 1 s) as a lifsim network file, at full size or scaled
down with the same in-degree.

    python examples/make_scale.py --out examples/scale.toml
    python examples/make_scale.py --scale 0.01 --out small.toml   # 10,000 neurons
    python examples/make_scale.py --mean-field                    # Brunel's rate

The network is Brunel (2000)'s sparse random network of excitatory and
inhibitory delta-synapse LIF neurons, parameterised exactly as NEST's
pynest/examples/brunel_delta_nest.py (NEST 3.10; examples/brunel.toml is that
script at its own size) and scaled as Brunel's model scales: N = 1,000,000 with
Brunel's 80 % / 20 % split, and the in-degrees C_E = epsilon N_E = 800 and
C_I = epsilon N_I = 200 (epsilon = 0.001, so C = 1,000 and gamma = C_I/C_E =
0.25 as in Brunel's paper and NEST's script). Every neuron's input statistics
depend on C_E, C_I, J, g and eta only, not on N, so a file scaled down by
`--scale` (in-degrees kept) has the same stationary rate: Brunel's mean-field
rate, which `--mean-field` prints (`mean_field_rate` below; the tests compare
lifsim's rate with it). examples/scale.toml is this script's output with its
defaults (tests/test_scale.py checks that). Standard library only.
"""

import argparse
import math
import sys
from pathlib import Path

# --- brunel_delta_nest.py (NEST 3.10), unchanged --------------------------------
DT = 0.1            # dt = 0.1: the resolution in ms
SIMTIME = 1000.0    # simtime = 1000.0 ms
DELAY = 1.5         # delay = 1.5 ms
G = 5.0             # g = 5.0: ratio inhibitory weight / excitatory weight
ETA = 2.0           # eta = 2.0: external rate relative to threshold rate
TAU_M = 20.0        # tauMem = 20.0 ms
THETA = 20.0        # theta = 20.0 mV
J = 0.1             # J = 0.1 mV: postsynaptic amplitude
T_REF = 2.0         # "t_ref": 2.0 ms
C_M = 1.0           # "C_m": 1.0 pF
# --- Brunel's proportions, at SPEC section 3's size ------------------------------
N_FULL = 1_000_000  # SPEC section 3: 1,000,000 neurons
E_SHARE = 0.8       # NE = 4 * order, NI = 1 * order: 80 % E, 20 % I
C_E = 800           # CE = epsilon * NE with epsilon = 0.001: in-degree 1,000 (SPEC)
C_I = 200           # CI = epsilon * NI


def derived(scale=1.0):
    """The file's numbers at `scale` times the full size (in-degrees kept)."""
    n = round(N_FULL * scale)
    n_e = round(E_SHARE * n)
    n_i = n - n_e
    if n_e < C_E or n_i < C_I:
        raise ValueError(f"--scale {scale} leaves {n_e} E and {n_i} I neurons, "
                         f"fewer than the in-degrees {C_E} and {C_I}")
    nu_th = THETA / (J * C_E * TAU_M)   # per ms: the rate that brings V to theta
    nu_ex = ETA * nu_th                 # per ms
    p_rate = 1000.0 * nu_ex * C_E       # Hz, one Poisson generator per neuron
    return {"n": n, "n_e": n_e, "n_i": n_i, "nu_th": nu_th, "nu_ex": nu_ex,
            "p_rate": p_rate, "j_in": -G * J,
            "synapses": n * (C_E + C_I)}


def siegert(mu, sigma):
    """Brunel (2000) eq. 21: the rate (per ms) of a LIF neuron (tau_m, theta,
    V_r = 0, t_ref) driven by white noise of mean mu and std sigma (mV)."""
    lo, hi = (0.0 - mu) / sigma, (THETA - mu) / sigma
    # integral of exp(u^2) (1 + erf u) du = integral of erfcx(-u), trapezoid rule
    steps = 20000
    h = (hi - lo) / steps
    f = [math.exp(u * u) * math.erfc(-u) for u in (lo + h * i for i in range(steps + 1))]
    integral = h * (sum(f) - 0.5 * (f[0] + f[-1]))
    return 1.0 / (T_REF + TAU_M * math.sqrt(math.pi) * integral)


def mean_field_rate():
    """The self-consistent stationary rate (Hz) of Brunel (2000) eqs. 4-5 and
    21 for this network: mu = C_E J tau (nu_ext + nu (1 - g gamma)),
    sigma^2 = C_E J^2 tau (nu_ext + nu (1 + g^2 gamma)), gamma = C_I / C_E."""
    d = derived()
    gamma = C_I / C_E

    def excess(nu):
        mu = C_E * J * TAU_M * (d["nu_ex"] + nu * (1.0 - G * gamma))
        sigma = math.sqrt(C_E * J * J * TAU_M * (d["nu_ex"] + nu * (1.0 + G * G * gamma)))
        return siegert(mu, sigma) - nu

    lo, hi = 0.0, 1.0 / T_REF       # per ms
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 1000.0 * 0.5 * (lo + hi)


def population(name, size, what):
    return f"""[[population]]
name = "{name}"          # {what}
size = {size}
tau_m = {TAU_M}        # tauMem = 20.0 ms
v_rest = 0.0        # E_L = 0.0 mV
v_reset = 0.0       # V_reset = 0.0 mV
v_thresh = {THETA}     # theta = 20.0 mV
t_ref = {T_REF}         # t_ref = 2.0 ms
r = {TAU_M / C_M * 1000.0}         # tau_m / C_m = 20 ms / 1 pF = 20,000 MOhm (unused: no current)
v0 = 0.0            # V_m = 0.0 mV
integration = "exact"
"""


def projections(d, procedural):
    """The two projections: NEST's fixed in-degrees, or with `procedural`
    (connectivity = "procedural", which draws a firing neuron's synapses
    again, so needs a rule drawn by source) fixed out-degrees making the
    same number of synapses: every neuron's in-degree is then C_E and C_I
    on average (binomial, not fixed)."""
    if not procedural:
        return f"""# nest.Connect(nodes_ex, nodes_ex + nodes_in,
#              {{"rule": "fixed_indegree", "indegree": CE}}, "excitatory")
# CE = int(epsilon * NE) = {C_E} with epsilon = 0.001 at full size (brunel_delta_nest.py:
# epsilon = 0.1 of 10,000); kept at {C_E} when scaled. J_ex = J = 0.1 mV, delay 1.5 ms.
# NEST allows autapses and multapses by default, and so does lifsim.
[[projection]]
source = "E"
target = ["E", "I"]
rule = "fixed_indegree"
indegree = {C_E}
weight = {J}        # J = 0.1 mV: the jump of V per spike
delay = {DELAY}         # delay = 1.5 ms = 15 steps
synapse = "delta"

# nest.Connect(nodes_in, nodes_ex + nodes_in,
#              {{"rule": "fixed_indegree", "indegree": CI}}, "inhibitory")
# CI = int(epsilon * NI) = {C_I}; J_in = -g * J_ex = -5 * 0.1 = -0.5 mV.
[[projection]]
source = "I"
target = ["E", "I"]
rule = "fixed_indegree"
indegree = {C_I}
weight = {d['j_in']}       # J_in = -g * J with g = 5.0
delay = {DELAY}
synapse = "delta"
"""
    out_e = round(d["n"] * C_E / d["n_e"])
    out_i = round(d["n"] * C_I / d["n_i"])
    return f"""# --procedural: no synapse is stored; a firing neuron's synapses are drawn again
# from its own stream (GeNN's procedural connectivity). fixed_indegree draws each
# target's sources and cannot be drawn so: each source makes N * CE / NE = {out_e}
# (E) and N * CI / NI = {out_i} (I) synapses instead, the same count in all, so the
# in-degrees are CE = {C_E} and CI = {C_I} on average. J_ex = J = 0.1 mV, J_in = -g * J,
# delay 1.5 ms; autapses and multapses allowed, as NEST's default.
[[projection]]
source = "E"
target = ["E", "I"]
rule = "fixed_outdegree"
outdegree = {out_e}
connectivity = "procedural"
weight = {J}        # J = 0.1 mV: the jump of V per spike
delay = {DELAY}         # delay = 1.5 ms = 15 steps
synapse = "delta"

[[projection]]
source = "I"
target = ["E", "I"]
rule = "fixed_outdegree"
outdegree = {out_i}
connectivity = "procedural"
weight = {d['j_in']}       # J_in = -g * J with g = 5.0
delay = {DELAY}
synapse = "delta"
"""


def render(scale=1.0, seed=1, procedural=False):
    d = derived(scale)
    size = "full size" if scale == 1.0 else f"{scale:g} of the full size"
    return f"""# scale: SPEC section 3's `scale` workload at {size}: {d['n']:,} neurons,
# in-degree {C_E + C_I:,}, {d['synapses']:,} synapses, 1 s. Brunel (2000)'s sparse
# random E/I network of delta-synapse LIF neurons, parameterised as NEST's
# pynest/examples/brunel_delta_nest.py (NEST 3.10) and scaled as Brunel's model
# scales (80 % E, 20 % I, in-degrees C_E = 800 and C_I = 200, gamma = 0.25).
# Written by examples/make_scale.py (do not edit; regenerate). Run it with
#
#     lifsim run examples/scale.toml --threads 2 --format counts --out counts.npy --json scale.json
#
# Brunel's mean-field rate for these in-degrees is {mean_field_rate():.1f} Hz
# (python examples/make_scale.py --mean-field), whatever the size.
# Each line says which line of brunel_delta_nest.py it reproduces or scales.

name = "scale"
dt = {DT}           # dt = 0.1: the resolution in ms
duration = {SIMTIME}  # simtime = 1000.0 ms: 10,000 steps
seed = {seed}           # NEST's rng_seed plays this role; any seed gives the same rate
dtype = "float32"  # NEST computes in double; single precision halves the ring buffer
                   # (4 MB per slot for 10^6 neurons, so it stays in cache) and gives
                   # the same rate (tests/test_scale.py checks both against mean field)

# neuron_params = {{"C_m": 1.0, "tau_m": tauMem, "t_ref": 2.0, "E_L": 0.0,
#                  "V_reset": 0.0, "V_m": 0.0, "V_th": theta}}, model iaf_psc_delta,
# integrated exactly as NEST does (see examples/brunel.toml).
{population("E", d["n_e"], f"nodes_ex: NE = 4 * order = 80 % of {d['n']:,}")}
{population("I", d["n_i"], f"nodes_in: NI = 1 * order = 20 % of {d['n']:,}")}
{projections(d, procedural)}
# noise = nest.Create("poisson_generator", params={{"rate": p_rate}}), connected to
# nodes_ex and nodes_in with "excitatory" (J = 0.1 mV):
# nu_th = theta / (J * CE * tauMem) = 20 / (0.1 * {C_E} * 20) = {d['nu_th']:g} per ms
# nu_ex = eta * nu_th = 2.0 * {d['nu_th']:g} = {d['nu_ex']:g} per ms
# p_rate = 1000.0 * nu_ex * CE = {d['p_rate']:,.0f} Hz
[[input]]
type = "poisson"
target = ["E", "I"]
rate = {d['p_rate']}
weight = {J}
synapse = "delta"

[record]
spikes = "events"   # all spikes; `--format counts` keeps one count per neuron
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0,
                    help="fraction of the 1,000,000 neurons (in-degrees kept; default 1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, help="the network file to write")
    ap.add_argument("--procedural", action="store_true",
                    help="connectivity = \"procedural\" (no synapse stored), with fixed "
                         "out-degrees making the same synapses on average")
    ap.add_argument("--mean-field", action="store_true",
                    help="print Brunel's mean-field rate (Hz) and exit")
    args = ap.parse_args(argv)
    if args.mean_field:
        print(f"{mean_field_rate():.3f}")
        return 0
    if args.out is None:
        ap.error("--out is required")
    try:
        text = render(args.scale, args.seed, args.procedural)
    except ValueError as e:
        print(f"make_scale.py: {e}", file=sys.stderr)
        return 2
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
