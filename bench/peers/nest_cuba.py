"""NEST peer for the `cuba` workload: Brette et al. 2007 CUBA with `iaf_psc_exp`.

The network of Brian2's `examples/CUBA.py` (SPEC section 3): 4000 neurons, the first
3200 excitatory, the last 800 inhibitory, each ordered pair connected with
probability 0.02 (autapses allowed, as Brian2's `connect(p=0.02)`), tau_m 20 ms,
exponential synaptic currents with tau_e 5 ms and tau_i 10 ms, V_t -50 mV,
V_r -60 mV, E_l -49 mV, refractory 5 ms, V0 uniform in [V_r, V_t], dt 0.1 ms, 1 s.

Brian2 writes the synaptic variables in volts:
    dv/dt = (ge + gi - (v - El)) / taum,  dge/dt = -ge / taue,  on spike: ge += we
NEST's `iaf_psc_exp` writes them as currents:
    dV/dt = -(V - E_L) / tau_m + (I_ex + I_in) / C_m,  dI_ex/dt = -I_ex / tau_syn_ex,
    on spike: I_ex += w (pA)
so the two are the same equations with I = C_m * g / tau_m, and a Brian2 jump of
`we` mV is a NEST weight w = we * C_m / tau_m. With C_m = 250 pF (NEST's default) and
tau_m = 20 ms: we = 1.62 mV -> 20.25 pA, wi = -9 mV -> -112.5 pA. Both simulators
integrate these linear equations exactly between steps, so the PSPs are the same.
Brian2's synapses act with no delay (the jump lands in the step the spike is
emitted and moves v from the next step on); NEST allows no delay shorter than one
step, so its synapses use that, 0.1 ms: the two differ by at most a step.
"""

from nest_common import import_nest, parse_args, run

N_E, N_I = 3200, 800
P_CONNECT = 0.02
TAU_M, TAU_E, TAU_I = 20.0, 5.0, 10.0  # ms
V_T, V_R, E_L = -50.0, -60.0, -49.0  # mV
T_REF = 5.0  # ms
C_M = 250.0  # pF, NEST's default; only the ratio to tau_m matters (see above)
WE_MV = 60 * 0.27 / 10  # 1.62 mV, as Brian2's example writes it
WI_MV = -20 * 4.5 / 10  # -9 mV
DT = 0.1  # ms


def psc_weight(jump_mv):
    """NEST current weight (pA) giving the same voltage equations as a Brian2 jump (mV)."""
    return jump_mv * C_M / TAU_M


def build(nest):
    neurons = nest.Create("iaf_psc_exp", N_E + N_I, params={
        "C_m": C_M, "tau_m": TAU_M, "tau_syn_ex": TAU_E, "tau_syn_in": TAU_I,
        "t_ref": T_REF, "E_L": E_L, "V_th": V_T, "V_reset": V_R, "I_e": 0.0,
        "V_m": nest.random.uniform(min=V_R, max=V_T),
    })
    exc, inh = neurons[:N_E], neurons[N_E:]
    conn = {"rule": "pairwise_bernoulli", "p": P_CONNECT, "allow_autapses": True}
    nest.Connect(exc, neurons, conn, {"synapse_model": "static_synapse",
                                      "weight": psc_weight(WE_MV), "delay": DT})
    nest.Connect(inh, neurons, conn, {"synapse_model": "static_synapse",
                                      "weight": psc_weight(WI_MV), "delay": DT})
    recorder = nest.Create("spike_recorder")
    nest.Connect(neurons, recorder)
    return recorder, N_E + N_I, {"model": "iaf_psc_exp",
                                 "weight_ex_pA": psc_weight(WE_MV),
                                 "weight_in_pA": psc_weight(WI_MV)}


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0])
    run(import_nest(), args, "nest_iaf_psc_exp", "cuba", build)
