"""CUBA (Brette et al. 2007, Brian2's examples/CUBA.py) built in Python.

The same network as examples/cuba.toml, line for line, so it gives the same
spikes, bit for bit, as `lifsim run examples/cuba.toml` (tests/test_network_python.py
checks this):

    python examples/cuba.py                     # runs 1 s, prints each population's rate
    python examples/cuba.py --save cuba2.toml   # writes the network file instead
    python examples/cuba.py --out spikes.npz    # times (ms) and ids, as lifsim run writes them
"""

import argparse

import numpy as np

import lifsim


def cuba(seed=1):
    """The CUBA network: 3200 excitatory and 800 inhibitory iaf_psc_exp neurons."""
    net = lifsim.Network(dt=0.1, seed=seed, duration=1000.0, name="cuba")
    # P = NeuronGroup(4000, ...): taum 20 ms, El -49 mV, Vr -60 mV, Vt -50 mV,
    # refractory 5 ms, v0 = Vr + rand() * (Vt - Vr); r = 1 MOhm makes nA equal mV.
    neuron = dict(
        tau_m=20.0, v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0, t_ref=5.0, r=1.0,
        v0={"distribution": "uniform", "low": -60.0, "high": -50.0},
    )
    E = net.population("E", 3200, model="iaf_psc_exp", **neuron)
    I = net.population("I", 800, model="iaf_psc_exp", **neuron)
    # Ce: we = 1.62 mV, taue = 5 ms; Ci: wi = -9 mV, taui = 10 ms; p = 0.02, no delay.
    net.connect(E, [E, I], rule="fixed_probability", p=0.02, weight=1.62, delay=0.0,
                synapse="exponential", tau_syn=5.0)
    net.connect(I, [E, I], rule="fixed_probability", p=0.02, weight=-9.0, delay=0.0,
                synapse="exponential", tau_syn=10.0)
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--save", help="write the network file here and stop")
    parser.add_argument("--out", help="write the spikes (times, ids) to this .npz")
    args = parser.parse_args()
    net = cuba(args.seed)
    if args.save:
        net.save(args.save)
        return
    spikes = net.run(args.duration, threads=args.threads)
    for name, rate in spikes.rates().items():
        print(f"{name}: {rate:.3f} Hz")
    if args.out:
        np.savez(args.out, times=spikes.times, ids=spikes.ids)


if __name__ == "__main__":
    main()
