"""Brian2 peer for the `cuba` workload: Brian2's own `examples/CUBA.py`.

Brette et al. 2007 CUBA (SPEC section 3), written as Brian2's example writes it:
4000 neurons, `dv/dt = (ge + gi - (v - El)) / taum` with `dge/dt = -ge / taue`,
`dgi/dt = -gi / taui` (the synaptic variables in volts), threshold `v > Vt`, reset
`v = Vr`, refractory 5 ms (`unless refractory` holds v only), exact integration of
the linear equations (the example's method='linear', Brian2's older name for
'exact'), V0 = Vr + rand() * (Vt - Vr), synapses `ge += we` from the first 3200
neurons and `gi += wi` from the last 800, each pair with p = 0.02, no delay;
we = 60 * 0.27 / 10 mV = 1.62 mV, wi = -20 * 4.5 / 10 mV = -9 mV; dt 0.1 ms (Brian2's
default), 1 s. Run with --mode runtime or --mode standalone (see brian2_common.py).
"""

from brian2_common import parse_args, run

N, N_E = 4000, 3200
P_CONNECT = 0.02


def build(b2, args):
    ms, mV = b2.ms, b2.mV
    namespace = {"taum": 20 * ms, "taue": 5 * ms, "taui": 10 * ms,
                 "Vt": -50 * mV, "Vr": -60 * mV, "El": -49 * mV,
                 "we": (60 * 0.27 / 10) * mV, "wi": (-20 * 4.5 / 10) * mV}
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    P = b2.NeuronGroup(N, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms,
                       method="exact", namespace=namespace)
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    Ce = b2.Synapses(P, P, on_pre="ge += we", namespace=namespace)
    Ci = b2.Synapses(P, P, on_pre="gi += wi", namespace=namespace)
    Ce.connect(f"i<{N_E}", p=P_CONNECT)
    Ci.connect(f"i>={N_E}", p=P_CONNECT)
    s_mon = b2.SpikeMonitor(P)
    return [P, Ce, Ci, s_mon], s_mon, N, {}


if __name__ == "__main__":
    run(parse_args(__doc__.splitlines()[0]), "cuba", build)
