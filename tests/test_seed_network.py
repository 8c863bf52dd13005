"""The seed's run written as a network file (one `lif_euler` population, one
dense projection of W acting within its step, `timing = "seed"`) and run by
the network engine: the NumPy reference's spike train bit for bit, and the
same file as `lifsim run --weights`, in float64 and float32, on 1 and 2
threads."""

import subprocess

import numpy as np
import pytest

from conftest import dyadic_weights
from lif_reference import simulate, uniform_v0


def seed_network(n, dt, t_max, i_ext, v0, t_ref, dtype):
    """The network file of the seed's run of `w.npy` with these parameters."""
    values = ", ".join(repr(float(x)) for x in v0)
    return f"""
dt = {dt}
duration = {t_max}
timing = "seed"
dtype = "{dtype}"

[[population]]
name = "lif"
size = {n}
model = "lif_euler"
tau_m = 20.0
v_rest = -65.0
v_reset = -65.0
v_thresh = -50.0
r = 1.0
t_ref = {t_ref}
i_ext = {i_ext}
v0 = [{values}]

[[projection]]
source = "lif"
target = "lif"
rule = "from_file"
file = "w.npy"
connectivity = "dense"
delay = 0.0
synapse = "exponential"
tau_syn = {dt}
"""


def lifsim(lifsim_bin, cwd, *args):
    proc = subprocess.run([str(lifsim_bin), *map(str, args)], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("t_ref", [0.0, 0.5])
def test_the_seed_network_is_the_seeds_run(lifsim_bin, tmp_path, dtype, t_ref):
    n, dt, t_max, i_ext = 300, 0.1, 60.05, 20.0
    w = dyadic_weights(n, 64.0, seed=7)
    np.save(tmp_path / "w.npy", w)
    v0 = uniform_v0(n, -65.0, -50.0, seed=3)
    v0[::41] = -49.0  # above threshold at t_0: spikes of row 0
    (tmp_path / "net.toml").write_text(seed_network(n, dt, t_max, i_ext, v0, t_ref, dtype))
    want = simulate(w, dt=dt, t_max=t_max, i_ext=i_ext, v0=v0, t_ref=t_ref, dtype=np.dtype(dtype))
    assert want[0].sum() == len(v0[::41]) and want.sum() > 2 * n
    np.save(tmp_path / "v0.npy", v0)
    flags = ["--weights", "w.npy", "--dt", dt, "--t-max", t_max, "--i-ext", i_ext, "--v0", "v0.npy",
             "--t-ref", t_ref, "--dtype", dtype]
    lifsim(lifsim_bin, tmp_path, "run", *flags, "--out", "seed.npy")
    seed = np.load(tmp_path / "seed.npy")
    for threads in [1, 2]:
        out = f"net{threads}.npy"
        lifsim(lifsim_bin, tmp_path, "run", "net.toml", "--format", "dense", "--out", out, "--threads", threads)
        got = np.load(tmp_path / out)
        assert got.shape == want.shape
        diff = np.argwhere(got != want)
        assert diff.size == 0, f"{threads} threads: first difference at (step, neuron) {tuple(diff[0])}"
        assert np.array_equal(got, seed)
