"""The seed's NumPy loop: a Python for-loop over np.arange(0, t_max, dt) (skipping
i == 0), W.dot(fired) each step, fired arrays appended to a list, float64."""

import numpy as np

from _common import bench, load_workload


def run_simulation(W, V, tau_m, v_reset, v_thresh, r, v_rest, i_ext, t_max, dt):
    spike_train = []
    for i, t in enumerate(np.arange(0, t_max, dt)):
        if i == 0:
            continue
        fired = V >= v_thresh
        V = np.where(fired, v_reset, V)
        I_syn = W.dot(fired)
        dV = (dt / tau_m) * (-V + v_rest + r * (I_syn + i_ext))
        V = V + dV
        V = np.where(fired, v_reset, V)
        spike_train.append(fired)
    return spike_train


def main():
    args, W, v0, p = load_workload()
    run = lambda: run_simulation(W, v0, p["tau_m"], p["v_reset"], p["v_thresh"], p["r"],
                                 p["v_rest"], p["i_ext"], p["t_max"], p["dt"])
    bench("seed_numpy", args, p, run, "float64")


if __name__ == "__main__":
    main()
