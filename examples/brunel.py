"""Brunel (2000) as NEST's brunel_delta_nest.py writes it, built in Python.

The same network as examples/brunel.toml, so it gives the same spikes, bit for
bit, as `lifsim run examples/brunel.toml` (tests/test_network_python.py checks
this at a reduced `order`, and at full scale when asked):

    python examples/brunel.py                  # 12,500 neurons, 1 s: about 32 Hz
    python examples/brunel.py --order 250      # NEST's order parameter: 5 * order neurons
    python examples/brunel.py --save b.toml    # writes the network file instead
"""

import argparse

import numpy as np

import lifsim


def brunel(order=2500, seed=1):
    """NE = 4 * order excitatory and NI = order inhibitory neurons with delta synapses,
    in-degree 10 %, J = 0.1 mV, g = 5, eta = 2, delay 1.5 ms."""
    net = lifsim.Network(dt=0.1, seed=seed, duration=1000.0, name="brunel")
    NE, NI = 4 * order, order
    CE, CI = NE // 10, NI // 10               # epsilon = 0.1
    J, g, eta, delay = 0.1, 5.0, 2.0, 1.5
    tau_m, theta = 20.0, 20.0
    # nu_th = theta / (J * CE * tauMem); p_rate = 1000 * nu_ex * CE with nu_ex = eta * nu_th
    p_rate = 1000.0 * eta * theta / (J * CE * tau_m) * CE
    neuron = dict(tau_m=tau_m, v_rest=0.0, v_reset=0.0, v_thresh=theta, t_ref=2.0,
                  r=20000.0, v0=0.0)     # C_m = 1 pF: r = tau_m / C_m = 20,000 MOhm
    # examples/brunel.toml's integration = "exact": iaf_psc_exp's exact propagators,
    # which with delta synapses only are NEST's iaf_psc_delta update.
    E = net.population("E", NE, model="iaf_psc_exp", **neuron)
    I = net.population("I", NI, model="iaf_psc_exp", **neuron)
    net.connect(E, [E, I], rule="fixed_indegree", indegree=CE, weight=J, delay=delay, synapse="delta")
    net.connect(I, [E, I], rule="fixed_indegree", indegree=CI, weight=-g * J, delay=delay, synapse="delta")
    net.poisson([E, I], rate=p_rate, weight=J, synapse="delta")
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--order", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", help="write the network file here and stop")
    parser.add_argument("--out", help="write the spikes (times, ids) to this .npz")
    args = parser.parse_args()
    net = brunel(args.order, args.seed)
    if args.save:
        net.save(args.save)
        return
    spikes = net.run(args.duration, threads=args.threads, progress=True)
    for name, rate in spikes.rates().items():
        print(f"{name}: {rate:.3f} Hz")
    if args.out:
        np.savez(args.out, times=spikes.times, ids=spikes.ids)


if __name__ == "__main__":
    main()
