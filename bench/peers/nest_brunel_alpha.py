"""NEST peer for the `brunel_alpha` workload: NEST's own `brunel_alpha_nest.py`.

Brunel 2000 with alpha-shaped synaptic currents (SPEC section 4), as NEST's example
pynest/examples/brunel_alpha_nest.py builds it: 10,000 excitatory and 2,500
inhibitory `iaf_psc_alpha` neurons (C_m 250 pF, tau_m 20 ms, tau_syn_ex =
tau_syn_in = 0.5 ms, t_ref 2 ms, E_L 0, V_reset 0, V_m 0, V_th 20 mV), each receiving
`fixed_indegree` connections from CE = 1000 excitatory and CI = 250 inhibitory
neurons (autapses and multapses allowed, NEST's defaults), delay 1.5 ms. The PSP
amplitude J = 0.1 mV becomes the PSC amplitude J_ex = J / J_unit with the
example's ComputePSPnorm (the PSP peak of a 1 pA alpha current; 20.68 pA), J_in =
-g J_ex with g = 5; one `poisson_generator` at p_rate = 1000 * eta * nu_th * CE
(eta = 2, nu_th = theta C_m / (J_ex CE e tau_m tau_syn); 17,789 Hz) is connected to
every neuron with the excitatory synapse (each target draws its own train).
dt 0.1 ms, 1 s. The example records 50 neurons per population; here one
spike_recorder takes every neuron, so the rate is the whole network's mean.
"""

import math

from nest_common import import_nest, parse_args, run

ORDER = 2500
N_E, N_I = 4 * ORDER, 1 * ORDER
EPSILON = 0.1
C_E, C_I = int(EPSILON * N_E), int(EPSILON * N_I)
TAU_SYN = 0.5  # ms
TAU_M = 20.0  # ms
C_M = 250.0  # pF
THETA = 20.0  # mV
J = 0.1  # mV, the PSP amplitude
G = 5.0
ETA = 2.0
DELAY = 1.5  # ms


def lambert_wm1(x):
    """The lower branch W_-1 of Lambert's W for -1/e <= x < 0 (the example uses
    scipy.special.lambertw(x, k=-1), which the peers' venv need not have):
    Newton's method on w e^w = x from w = log(-x) - log(-log(-x))."""
    w = math.log(-x) - math.log(-math.log(-x)) if x > -0.25 else -2.0
    for _ in range(100):
        ew = math.exp(w)
        step = (w * ew - x) / (ew * (w + 1.0))
        w -= step
        if abs(step) <= 1e-15 * abs(w):
            break
    return w


def compute_psp_norm(tau_mem, c_mem, tau_syn):
    """The example's ComputePSPnorm: the PSP peak (mV) of a 1 pA alpha current."""
    a = tau_mem / tau_syn
    b = 1.0 / tau_syn - 1.0 / tau_mem
    t_max = 1.0 / b * (-lambert_wm1(-math.exp(-1.0 / a) / a) - 1.0 / a)
    return (math.e / (tau_syn * c_mem * b)
            * ((math.exp(-t_max / tau_mem) - math.exp(-t_max / tau_syn)) / b
               - t_max * math.exp(-t_max / tau_syn)))


J_UNIT = compute_psp_norm(TAU_M, C_M, TAU_SYN)
J_EX = J / J_UNIT  # pA
J_IN = -G * J_EX
NU_TH = (THETA * C_M) / (J_EX * C_E * math.e * TAU_M * TAU_SYN)  # 1/ms
P_RATE = 1000.0 * ETA * NU_TH * C_E  # Hz


def build(nest):
    params = {"C_m": C_M, "tau_m": TAU_M, "tau_syn_ex": TAU_SYN, "tau_syn_in": TAU_SYN,
              "t_ref": 2.0, "E_L": 0.0, "V_reset": 0.0, "V_m": 0.0, "V_th": THETA}
    nodes_ex = nest.Create("iaf_psc_alpha", N_E, params=params)
    nodes_in = nest.Create("iaf_psc_alpha", N_I, params=params)
    noise = nest.Create("poisson_generator", params={"rate": P_RATE})
    nest.CopyModel("static_synapse", "excitatory", {"weight": J_EX, "delay": DELAY})
    nest.CopyModel("static_synapse", "inhibitory", {"weight": J_IN, "delay": DELAY})
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
    return recorder, N_E + N_I, {"model": "iaf_psc_alpha", "recurrent_synapses": recurrent,
                                 "weight_ex_pA": J_EX, "weight_in_pA": J_IN,
                                 "poisson_rate_hz": P_RATE}


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0])
    run(import_nest(), args, "nest_iaf_psc_alpha", "brunel_alpha", build)
