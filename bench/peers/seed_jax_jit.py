"""The notebook's second (faster) cell: a jitted update_step called from a Python
loop over jnp.arange(0, t_max, dt) (skipping i == 0), with W passed as
jnp.asarray(W) inside the timed call. JAX's default dtype: float32."""

import jax
import jax.numpy as jnp

from _common import bench, load_workload


@jax.jit
def update_step(V, W, v_thresh, v_reset, dt, tau_m, membr_R, v_rest, i_ext):
    fired = V >= v_thresh
    V = jnp.where(fired, v_reset, V)
    I_syn = W.dot(fired)
    dV = (dt / tau_m) * (-V + v_rest + membr_R * (I_syn + i_ext))
    V += dV
    V = jnp.where(fired, v_reset, V)
    return V, fired


def run_simulation(W, V, tau_m, v_reset, v_thresh, membr_R, v_rest, i_ext, t_max, dt):
    spike_train = []
    for i, t in enumerate(jnp.arange(0, t_max, dt)):
        if i == 0:
            continue
        V, fired = update_step(V, W, v_thresh, v_reset, dt, tau_m, membr_R, v_rest, i_ext)
        spike_train.append(fired)
    return spike_train


def main():
    args, W, v0, p = load_workload()
    V = jnp.asarray(v0)
    run = lambda: run_simulation(jnp.asarray(W), V, p["tau_m"], p["v_reset"], p["v_thresh"],
                                 p["r"], p["v_rest"], p["i_ext"], p["t_max"], p["dt"])
    bench("seed_jax_jit", args, p, run, "float32")


if __name__ == "__main__":
    main()
