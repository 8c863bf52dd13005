"""The notebook's update_step run inside jax.lax.scan: the whole simulation is one
jitted call that stacks the fired vectors into an (S, N) array. float32."""

from functools import partial

import jax
import jax.numpy as jnp

from _common import bench, load_workload
from seed_jax_jit import update_step


@partial(jax.jit, static_argnames="steps")
def run_simulation(W, V, tau_m, v_reset, v_thresh, membr_R, v_rest, i_ext, dt, steps):
    def step(V, _):
        return update_step(V, W, v_thresh, v_reset, dt, tau_m, membr_R, v_rest, i_ext)

    _, spike_train = jax.lax.scan(step, V, length=steps)
    return spike_train


def main():
    args, W, v0, p = load_workload()
    V = jnp.asarray(v0)
    run = lambda: run_simulation(jnp.asarray(W), V, p["tau_m"], p["v_reset"], p["v_thresh"],
                                 p["r"], p["v_rest"], p["i_ext"], p["dt"], p["steps"])
    bench("seed_jax_scan", args, p, run, "float32")


if __name__ == "__main__":
    main()
