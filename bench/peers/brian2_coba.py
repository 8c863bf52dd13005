"""Brian2 peer for the `coba` workload: the COBA network of nest_coba.py in Brian2.

Brette et al. 2007 benchmark 1 as examples/coba.toml writes it (SPEC section 4),
NEST's `iaf_cond_exp` equations written out in Brian2 with their units:
    Cm dv/dt = gl (El - v) + ge (Ee - v) + gi (Ei - v) + I_e  (unless refractory)
    dge/dt = -ge / taue,  dgi/dt = -gi / taui  (siemens)
4000 neurons, Cm 200 pF, gl 10 nS (tau_m 20 ms), El -60 mV, threshold v >= -50 mV
(NEST's V_m >= V_th), reset to -60 mV, refractory 5 ms (v held), Ee 0 mV,
Ei -80 mV, taue 5 ms, taui 10 ms, I_e 200 pA, v0 = -55 mV + 2 mV * randn();
synapses `ge += 6 nS` from the first 3200 neurons and `gi += 67 nS` from the last
800, each pair with p = 0.02 (autapses allowed), delay 0.1 ms (one step: the jump
lands one step after the spike, as in NEST). The equations are not linear
(conductance times voltage), so Brian2 cannot integrate them exactly; they use
method='rk4' (the method lifsim used for V until 2026-12; it now takes one
exponential-Euler step on the conductances' exact step averages, see
crates/core/src/neuron/iaf_cond_exp.rs). dt 0.1 ms, 1 s. Run with
--mode runtime or --mode standalone (see brian2_common.py).
"""

from brian2_common import parse_args, run

N, N_E = 4000, 3200
P_CONNECT = 0.02


def build(b2, args):
    ms, mV, nS, pF, pA = b2.ms, b2.mV, b2.nS, b2.pF, b2.pA
    namespace = {"Cm": 200 * pF, "gl": 10 * nS, "El": -60 * mV, "Vt": -50 * mV,
                 "Vr": -60 * mV, "Ee": 0 * mV, "Ei": -80 * mV, "taue": 5 * ms,
                 "taui": 10 * ms, "I_e": 200 * pA, "we": 6 * nS, "wi": 67 * nS}
    eqs = """
    dv/dt = (gl*(El-v) + ge*(Ee-v) + gi*(Ei-v) + I_e)/Cm : volt (unless refractory)
    dge/dt = -ge/taue : siemens
    dgi/dt = -gi/taui : siemens
    """
    P = b2.NeuronGroup(N, eqs, threshold="v>=Vt", reset="v = Vr", refractory=5 * ms,
                       method="rk4", namespace=namespace)
    P.v = "-55*mV + 2*mV*randn()"
    P.ge = 0 * nS
    P.gi = 0 * nS
    Ce = b2.Synapses(P, P, on_pre="ge += we", delay=0.1 * ms, namespace=namespace)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", delay=0.1 * ms, namespace=namespace)
    Ce.connect(f"i<{N_E}", p=P_CONNECT)
    Ci.connect(f"i>={N_E}", p=P_CONNECT)
    s_mon = b2.SpikeMonitor(P)
    return [P, Ce, Ci, s_mon], s_mon, N, {"method": "rk4"}


if __name__ == "__main__":
    run(parse_args(__doc__.splitlines()[0]), "coba", build)
