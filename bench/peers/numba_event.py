"""An event-driven @njit kernel: W kept column-major, and each step only the columns
of the neurons that fired are added into I_syn. float64. Per synapse the sum runs
over presynaptic neurons in ascending order, as a plain dense loop would."""

import numba
import numpy as np

from _common import bench, load_workload


@numba.njit
def run_simulation(W, V0, tau_m, v_reset, v_thresh, r, v_rest, i_ext, dt, steps):
    n = V0.size
    V = V0.copy()
    I_syn = np.empty(n)
    spikes = np.zeros((steps, n), dtype=np.bool_)
    for k in range(steps):
        fired = spikes[k]
        for j in range(n):
            if V[j] >= v_thresh:
                fired[j] = True
        I_syn[:] = 0.0
        for j in range(n):
            if fired[j]:
                for i in range(n):  # column j of W is contiguous
                    I_syn[i] += W[i, j]
        for i in range(n):
            # A neuron that fired ends the step at v_reset, as in the seed.
            if fired[i]:
                V[i] = v_reset
            else:
                V[i] = V[i] + (dt / tau_m) * (-V[i] + v_rest + r * (I_syn[i] + i_ext))
    return spikes


def main():
    args, W, v0, p = load_workload()
    W = np.asfortranarray(W)
    run = lambda: run_simulation(W, v0, p["tau_m"], p["v_reset"], p["v_thresh"], p["r"],
                                 p["v_rest"], p["i_ext"], p["dt"], p["steps"])
    bench("numba_event", args, p, run, "float64")


if __name__ == "__main__":
    main()
