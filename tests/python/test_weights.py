"""generate_weights, load_weights and workload: the same networks as the CLI's."""

import subprocess

import numpy as np
import pytest
from lifsim_testing import assert_same_spikes

import lifsim
from conftest import dyadic_weights
from lif_reference import simulate as reference


def cli(lifsim_bin, *args):
    proc = subprocess.run([str(lifsim_bin), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_generate_weights_is_gen_weights(lifsim_bin, tmp_path, dtype):
    out = tmp_path / "w.npy"
    cli(lifsim_bin, "gen-weights", "-n", 120, "--std", 3.5, "--mean", 0.25, "--p", 0.3,
        "--quantum", 1 / 64, "--seed", 42, "--dtype", dtype, "--out", out)
    want = np.load(out)
    got = lifsim.generate_weights(120, std=3.5, mean=0.25, p=0.3, quantum=1 / 64, seed=42, dtype=dtype)
    assert got.dtype == want.dtype == np.dtype(dtype) and got.shape == (120, 120)
    assert got.flags.f_contiguous
    np.testing.assert_array_equal(got, want)
    assert np.all((got * 64) % 1 == 0)  # on the 1/64 grid
    assert 0.25 < np.mean(got == 0) < 0.8  # about 70 % unconnected


def test_generate_weights_defaults_and_determinism():
    a = lifsim.generate_weights(50)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, lifsim.generate_weights(50, seed=1, mean=0.0, std=1.0, p=1.0))
    assert not np.array_equal(a, lifsim.generate_weights(50, seed=2))
    assert abs(a.std() - 1.0) < 0.1 and abs(a.mean()) < 0.1


@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("file_dtype", [np.float32, np.float64])
def test_load_weights_reads_what_numpy_saved(tmp_path, fortran, file_dtype):
    w = np.random.default_rng(0).normal(0, 1, (33, 33)).astype(file_dtype)
    path = tmp_path / "w.npy"
    np.save(path, np.asfortranarray(w) if fortran else w)
    got = lifsim.load_weights(path)  # os.PathLike
    assert got.dtype == file_dtype and got.flags.f_contiguous
    np.testing.assert_array_equal(got, w)
    as64 = lifsim.load_weights(str(path), dtype="float64")
    assert as64.dtype == np.float64
    np.testing.assert_array_equal(as64, w.astype(np.float64))
    as32 = lifsim.load_weights(path, dtype=np.float32)
    np.testing.assert_array_equal(as32, w.astype(np.float32))


def test_loaded_weights_simulate_like_the_reference(tmp_path):
    w = dyadic_weights(80, 64.0, seed=4)
    path = tmp_path / "w.npy"
    np.save(path, w)
    got = lifsim.simulate(lifsim.load_weights(path), t_max=25.0, i_ext=20.0)
    assert_same_spikes(got.spikes, reference(w, t_max=25.0, i_ext=20.0))


@pytest.mark.parametrize("name", ["seed", "seed-active"])
def test_workloads_are_the_clis(lifsim_bin, tmp_path, name):
    w, kw = lifsim.workload(name)
    assert name in lifsim.WORKLOADS
    assert w.shape == (1000, 1000) and w.dtype == np.float64 and w.flags.f_contiguous
    cli(lifsim_bin, "workload", name, "--out", tmp_path)
    np.testing.assert_array_equal(w, np.load(tmp_path / "weights.npy"))
    assert kw["dt"] == 0.01 and kw["t_max"] == 100.0 and kw["tau_m"] == 20.0
    assert kw["v_reset"] == -65.0 and kw["v_thresh"] == -50.0 and kw["r"] == 1.0
    if name == "seed-active":
        assert kw["i_ext"] == 20.0 and kw["v0"] == "uniform" and kw["seed"] == 1
    else:
        assert kw["i_ext"] == 0.0 and kw["v0"] == "reset"
    # The run itself: the CLI's spike events for the same workload.
    out = tmp_path / "spikes.npz"
    cli(lifsim_bin, "run", "--workload", name, "--t-max", 20, "--format", "events", "--out", out)
    want = np.load(out)
    got = lifsim.simulate(w, **dict(kw, t_max=20.0), record="events")
    if name == "seed-active":
        assert got.num_spikes > 100
    np.testing.assert_array_equal(got.ids, want["ids"])
    np.testing.assert_array_equal(got.times, want["times"])
