"""Brian2 peer for the `brunel` workload: NEST's `brunel_delta_nest.py` in Brian2.

The network of nest_brunel.py (SPEC section 3): 10,000 excitatory + 2,500
inhibitory neurons, `dv/dt = -v / tau_m` (E_L = 0, tau_m 20 ms) integrated exactly,
threshold `v >= 20 mV` (NEST's V_m >= V_th), reset to 0 mV, refractory 2 ms, V0 = 0;
every neuron gets CE = 1000 excitatory and CI = 250 inhibitory inputs drawn with
replacement (NEST's `fixed_indegree` with its default multapses), jumps of
J = 0.1 mV and -g J = -0.5 mV after a 1.5 ms delay, and external Poisson input:
CE sources at eta * nu_th = 20 Hz each (Brian2's `PoissonInput`, a binomial count
per step), each adding J. As in NEST's `iaf_psc_delta` (refractory_input off),
input that arrives while a neuron is refractory is dropped (`int(not_refractory)`).
dt 0.1 ms, 1 s. Run with --mode runtime or --mode standalone (see brian2_common.py).
"""

from brian2_common import parse_args, run

ORDER = 2500
N_E, N_I = 4 * ORDER, 1 * ORDER
C_E, C_I = N_E // 10, N_I // 10
TAU_M_MS = 20.0
THETA_MV = 20.0
J_MV = 0.1
G = 5.0
ETA = 2.0
NU_TH_PER_MS = THETA_MV / (J_MV * C_E * TAU_M_MS)


def build(b2, args):
    ms, mV, Hz = b2.ms, b2.mV, b2.Hz
    namespace = {"tau_m": TAU_M_MS * ms, "theta": THETA_MV * mV, "V_r": 0 * mV,
                 "J_ex": J_MV * mV, "J_in": -G * J_MV * mV}
    P = b2.NeuronGroup(N_E + N_I, "dv/dt = -v/tau_m : volt (unless refractory)",
                       threshold="v >= theta", reset="v = V_r", refractory=2 * ms,
                       method="exact", namespace=namespace)
    P.v = 0 * mV
    # Fixed in-degree with replacement: for every target j, C draws of a source.
    Ce = b2.Synapses(P[:N_E], P, on_pre="v_post += J_ex * int(not_refractory_post)",
                     delay=1.5 * ms, namespace=namespace)
    Ci = b2.Synapses(P[N_E:], P, on_pre="v_post += J_in * int(not_refractory_post)",
                     delay=1.5 * ms, namespace=namespace)
    Ce.connect(i=f"int(rand() * N_pre) for _ in range({C_E})")
    Ci.connect(i=f"int(rand() * N_pre) for _ in range({C_I})")
    noise = b2.PoissonInput(P, "v", N=C_E, rate=ETA * NU_TH_PER_MS * 1000 * Hz,
                            weight="J_ex * int(not_refractory)")
    noise.namespace = namespace  # PoissonInput takes no namespace argument
    s_mon = b2.SpikeMonitor(P)
    return [P, Ce, Ci, noise, s_mon], s_mon, N_E + N_I, {
        "recurrent_synapses": (N_E + N_I) * (C_E + C_I)}


if __name__ == "__main__":
    run(parse_args(__doc__.splitlines()[0]), "brunel", build)
