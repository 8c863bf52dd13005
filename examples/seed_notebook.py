"""The seed notebook, redone with lifsim.

The notebook this project started from loads `weights.npy`, steps a network of
leaky integrate-and-fire neurons with NumPy (then JAX), collects the boolean
spike train, and times the whole run `num_simulations` times, printing
"Average Time" and "S.Dev Time". This script runs that NumPy loop as written
next to `lifsim.simulate`, checks the two spike trains are identical, and
prints both timings.

    python examples/seed_notebook.py                   # the `seed` workload's W (silent, like the notebook)
    python examples/seed_notebook.py weights.npy       # your own W (N x N .npy)
    python examples/seed_notebook.py --active          # the same network firing (`seed-active`)

Install lifsim first: `pip install ./crates/python` (see the README).
"""

import argparse
import time

import numpy as np

import lifsim

# The seed's lif_hparams.py.
_dt = 0.01  # ms
_t_max = 100  # ms
_tau_m = 20.0  # ms
_V_reset = -65.0  # mV
_V_thresh = -50.0  # mV
_R = 1.0  # MOhm
num_simulations = 3


# ---- The seed's NumPy code, as in the notebook ----------------------------------
def update_step(V, W, v_thresh, v_reset, dt, tau_m, membr_R, i_ext=0.0):
    fired = V >= v_thresh
    V = np.where(fired, v_reset, V)

    # Update voltages
    I_syn = W.dot(fired)  # Synaptic current from spikes
    # The notebook writes membr_R * I_syn; (I_syn + 0.0) is the same bits, and
    # i_ext lets --active drive the network.
    dV = (dt / tau_m) * (-V + v_reset + membr_R * (I_syn + i_ext))
    V += dV

    # No self-inputs; neurons cannot spike themselves in this timestep
    V = np.where(fired, v_reset, V)
    return V, fired


def run_simulation(W, V, tau_m, v_reset, v_thresh, membr_R, t_max, dt, i_ext=0.0):
    spike_train = []
    for i, t in enumerate(np.arange(0, t_max, dt)):
        if i == 0:
            continue
        V, fired = update_step(V, W, v_thresh, v_reset, dt, tau_m, membr_R, i_ext)
        spike_train.append(fired)
    return spike_train


def timed(run, runs):
    """The notebook's timing loop: `runs` runs, wall time of each."""
    time_arr = []
    for _ in range(runs):
        start = time.time()
        spikes = run()
        end = time.time()
        time_arr.append(end - start)
    return spikes, time_arr


def report(name, time_arr):
    print(f"{name}")
    print(f"Average Time: {np.mean(time_arr)}")
    print(f"S.Dev Time: {np.std(time_arr)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="?", help="N x N weight matrix (.npy); default: the seed workload's")
    parser.add_argument("--active", action="store_true",
                        help="drive the network (i_ext = 20, V0 uniform): the seed-active workload")
    parser.add_argument("--runs", type=int, default=num_simulations, help="timed runs (num_simulations)")
    args = parser.parse_args()

    i_ext = 0.0
    if args.weights:
        with open(args.weights, "rb") as f:
            W_numpy = np.load(f)  # what the notebook does
        W = lifsim.load_weights(args.weights, dtype="float64")  # Fortran order: used without a copy
        label = args.weights
    else:
        name = "seed-active" if args.active else "seed"
        W, kw = lifsim.workload(name)
        W_numpy = np.ascontiguousarray(W)  # as np.load would give it
        label = f"lifsim workload {name!r}"
    n_neurons = len(W)
    _V = np.ones(n_neurons) * _V_reset  # Initial potentials
    if args.active:
        i_ext = 20.0
        _V = np.random.default_rng(1).uniform(_V_reset, _V_thresh, n_neurons)
    print(f"W: {label}, N = {n_neurons}, {len(np.arange(0, _t_max, _dt)) - 1} steps, "
          f"i_ext = {i_ext}, {args.runs} runs each\n")

    numpy_spikes, numpy_times = timed(
        lambda: np.asarray(run_simulation(W_numpy, _V, _tau_m, _V_reset, _V_thresh, _R, _t_max, _dt, i_ext)),
        args.runs,
    )
    report("NumPy (the seed's loop)", numpy_times)

    lifsim_spikes, lifsim_times = timed(
        lambda: lifsim.simulate(W, dt=_dt, t_max=_t_max, tau_m=_tau_m, v_reset=_V_reset,
                                v_thresh=_V_thresh, r=_R, i_ext=i_ext, v0=_V).spikes,
        args.runs,
    )
    report("\nlifsim.simulate", lifsim_times)

    assert lifsim_spikes.shape == numpy_spikes.shape and lifsim_spikes.dtype == numpy_spikes.dtype
    differ = np.argwhere(lifsim_spikes != numpy_spikes)
    assert differ.size == 0, f"spike trains differ first at (step, neuron) {tuple(differ[0])}"
    print(f"\nIdentical spike trains: {lifsim_spikes.dtype} {lifsim_spikes.shape}, "
          f"{int(lifsim_spikes.sum())} spikes")
    print(f"lifsim is {np.mean(numpy_times) / np.mean(lifsim_times):.0f}x faster than the NumPy loop")


if __name__ == "__main__":
    main()
