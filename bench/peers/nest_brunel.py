"""NEST peer for the `brunel` workload: NEST's own `brunel_delta_nest.py`.

Brunel 2000 (SPEC section 3), as NEST's example builds it: 10,000 excitatory and
2,500 inhibitory `iaf_psc_delta` neurons (C_m 1, tau_m 20 ms, t_ref 2 ms, E_L 0,
V_reset 0, V_m 0, V_th 20 mV), each receiving `fixed_indegree` connections from
CE = 1000 excitatory and CI = 250 inhibitory neurons (NEST's defaults: autapses and
multapses allowed), J = 0.1 mV, g = 5 (J_in = -0.5 mV), delay 1.5 ms, and one
`poisson_generator` at p_rate = 1000 * eta * nu_th * CE = 20 kHz (eta = 2,
nu_th = V_th / (J CE tau_m)) connected to every neuron with the excitatory synapse
(each target draws its own Poisson train). dt 0.1 ms, 1 s. The example records 50
neurons per population; here one spike_recorder takes every neuron, so the rate is
the whole network's mean.

`--neuron iaf_psc_exp` runs the same network with exponential synaptic currents
(tau_syn 0.5 ms, C_m 250 pF) and weights scaled so that each PSP peaks at the same
height as the delta jump (J = 0.1 mV, -0.5 mV). That is a different model: its
rate is not the `brunel` workload's; it shows what NEST's exponential-synapse
neuron costs at this scale.
"""

import math

from nest_common import import_nest, parse_args, run

ORDER = 2500
N_E, N_I = 4 * ORDER, 1 * ORDER
EPSILON = 0.1
C_E, C_I = int(EPSILON * N_E), int(EPSILON * N_I)
TAU_M = 20.0  # ms
THETA = 20.0  # mV
J = 0.1  # mV
G = 5.0
ETA = 2.0
DELAY = 1.5  # ms
T_REF = 2.0  # ms
NU_TH = THETA / (J * C_E * TAU_M)  # 1/ms
P_RATE = 1000.0 * ETA * NU_TH * C_E  # Hz, per target
TAU_SYN = 0.5  # ms, the iaf_psc_exp variant only
C_M_EXP = 250.0  # pF, the iaf_psc_exp variant only


def exp_psc_weight(jump_mv):
    """Weight (pA) whose exponential PSC gives an `iaf_psc_exp` PSP peaking at `jump_mv`.

    For a current w exp(-t / tau_s) into C_m with leak tau_m, the PSP is
    w tau_s tau_m / (C_m (tau_m - tau_s)) (exp(-t / tau_m) - exp(-t / tau_s)),
    largest at t* = ln(tau_m / tau_s) tau_m tau_s / (tau_m - tau_s).
    """
    t_peak = math.log(TAU_M / TAU_SYN) * TAU_M * TAU_SYN / (TAU_M - TAU_SYN)
    shape = (TAU_SYN * TAU_M / (TAU_M - TAU_SYN)
             * (math.exp(-t_peak / TAU_M) - math.exp(-t_peak / TAU_SYN)))
    return jump_mv * C_M_EXP / shape


def make_build(neuron):
    def build(nest):
        params = {"tau_m": TAU_M, "t_ref": T_REF, "E_L": 0.0, "V_reset": 0.0,
                  "V_m": 0.0, "V_th": THETA}
        if neuron == "iaf_psc_delta":
            params["C_m"] = 1.0
            w_ex, w_in = J, -G * J
        else:
            params.update(C_m=C_M_EXP, tau_syn_ex=TAU_SYN, tau_syn_in=TAU_SYN)
            w_ex, w_in = exp_psc_weight(J), exp_psc_weight(-G * J)
        nodes_ex = nest.Create(neuron, N_E, params=params)
        nodes_in = nest.Create(neuron, N_I, params=params)
        noise = nest.Create("poisson_generator", params={"rate": P_RATE})
        nest.CopyModel("static_synapse", "excitatory", {"weight": w_ex, "delay": DELAY})
        nest.CopyModel("static_synapse", "inhibitory", {"weight": w_in, "delay": DELAY})
        all_nodes = nodes_ex + nodes_in
        nest.Connect(noise, all_nodes, syn_spec="excitatory")
        nest.Connect(nodes_ex, all_nodes, {"rule": "fixed_indegree", "indegree": C_E},
                     "excitatory")
        nest.Connect(nodes_in, all_nodes, {"rule": "fixed_indegree", "indegree": C_I},
                     "inhibitory")
        recorder = nest.Create("spike_recorder")
        nest.Connect(all_nodes, recorder)
        recurrent = (nest.GetDefaults("excitatory")["num_connections"]
                     + nest.GetDefaults("inhibitory")["num_connections"]
                     - (N_E + N_I))  # the generator's connections use "excitatory" too
        return recorder, N_E + N_I, {"model": neuron, "recurrent_synapses": recurrent,
                                     "weight_ex": w_ex, "weight_in": w_in,
                                     "poisson_rate_hz": P_RATE}
    return build


if __name__ == "__main__":
    import argparse
    import sys

    # The neuron choice is this peer's own flag; the rest is nest_common's.
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--neuron", choices=["iaf_psc_delta", "iaf_psc_exp"],
                     default="iaf_psc_delta")
    known, rest = pre.parse_known_args()
    sys.argv = [sys.argv[0]] + rest
    args = parse_args(__doc__.splitlines()[0] + " [--neuron iaf_psc_delta|iaf_psc_exp]")
    run(import_nest(), args, f"nest_{known.neuron}", "brunel", make_build(known.neuron))
