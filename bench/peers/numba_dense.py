"""An @njit kernel of the seed's step, dense W.dot(fired) (BLAS gemv) each step,
float64, writing the (S, N) bool spike train in place of the seed's list."""

import numba
import numpy as np

from _common import bench, load_workload


@numba.njit
def run_simulation(W, V, tau_m, v_reset, v_thresh, r, v_rest, i_ext, dt, steps):
    spikes = np.zeros((steps, V.size), dtype=np.bool_)
    for k in range(steps):
        fired = V >= v_thresh
        V = np.where(fired, v_reset, V)
        I_syn = W.dot(fired.astype(np.float64))  # Numba's dot needs matching dtypes
        dV = (dt / tau_m) * (-V + v_rest + r * (I_syn + i_ext))
        V = V + dV
        V = np.where(fired, v_reset, V)
        spikes[k] = fired
    return spikes


def main():
    args, W, v0, p = load_workload()
    run = lambda: run_simulation(W, v0, p["tau_m"], p["v_reset"], p["v_thresh"], p["r"],
                                 p["v_rest"], p["i_ext"], p["dt"], p["steps"])
    bench("numba_dense", args, p, run, "float64")


if __name__ == "__main__":
    main()
