"""NEST peer for the `coba` workload: Brette et al. 2007 COBA with `iaf_cond_exp`.

The network of examples/coba.toml (SPEC section 4): 4000 neurons, the first 3200
excitatory, the last 800 inhibitory, each ordered pair connected with probability
0.02 (`pairwise_bernoulli`, autapses allowed, as PyNN's FixedProbabilityConnector),
NEST's `iaf_cond_exp` with PyNN VAbenchmarks.py's COBA cell (C_m 200 pF, g_L 10 nS,
so tau_m 20 ms; E_L -60 mV, V_th -50 mV, V_reset -60 mV, t_ref 5 ms, E_ex 0 mV,
E_in -80 mV, tau_syn_ex 5 ms, tau_syn_in 10 ms), and the driven variant's
weights, input and initial state (as BrainPy's examples/benchmark/COBA_nest.py):
6 nS from excitatory and 67 nS from inhibitory neurons (NEST sends a negative
weight to the inhibitory conductance, so -67), I_e = 200 pA, V_m drawn from
normal(-55, 2) mV, every delay 0.1 ms (one step, NEST's shortest). dt 0.1 ms, 1 s.
NEST integrates each step with GSL's adaptive RKF45.
"""

from nest_common import import_nest, parse_args, run

N_E, N_I = 3200, 800
P_CONNECT = 0.02
PARAMS = {"C_m": 200.0, "g_L": 10.0, "E_L": -60.0, "V_th": -50.0, "V_reset": -60.0,
          "t_ref": 5.0, "E_ex": 0.0, "E_in": -80.0, "tau_syn_ex": 5.0,
          "tau_syn_in": 10.0, "I_e": 200.0}
W_EX, W_IN = 6.0, -67.0  # nS
DELAY = 0.1  # ms


def build(nest):
    neurons = nest.Create("iaf_cond_exp", N_E + N_I, params=dict(
        PARAMS, V_m=nest.random.normal(mean=-55.0, std=2.0)))
    exc, inh = neurons[:N_E], neurons[N_E:]
    conn = {"rule": "pairwise_bernoulli", "p": P_CONNECT, "allow_autapses": True}
    nest.Connect(exc, neurons, conn, {"synapse_model": "static_synapse",
                                      "weight": W_EX, "delay": DELAY})
    nest.Connect(inh, neurons, conn, {"synapse_model": "static_synapse",
                                      "weight": W_IN, "delay": DELAY})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return recorder, N_E + N_I, {"model": "iaf_cond_exp", "weight_ex_nS": W_EX,
                                 "weight_in_nS": W_IN}


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0])
    run(import_nest(), args, "nest_iaf_cond_exp", "coba", build)
