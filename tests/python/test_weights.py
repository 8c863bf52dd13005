"""generate_weights, load_weights and workload: the same networks as the CLI's."""

import subprocess

import numpy as np
import pytest
from lifsim_testing import assert_same_spikes, layout

import lifsim
from conftest import dyadic_weights
from lif_reference import simulate as reference
from lif_reference import uniform_v0


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


@pytest.mark.parametrize("order", ["C", "F", "strided"])
@pytest.mark.parametrize("w_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dtype", [None, "float64", "float32"])
def test_checked_weights_simulate_like_the_array_and_the_reference(dtype, w_dtype, order):
    n = 90
    w = dyadic_weights(n, 64.0, seed=6).astype(w_dtype)
    held = lifsim.Weights(layout(w, order, w_dtype), dtype=dtype)
    run_dtype = dtype or "float64"  # simulate's default, whatever W's dtype
    assert held.n == n and held.shape == (n, n) and held.dtype == run_dtype
    assert repr(held) == f"lifsim.Weights(n={n}, dtype='{run_dtype}')"
    back = np.asarray(held)
    assert back.dtype == run_dtype and back.flags.f_contiguous
    np.testing.assert_array_equal(back, w.astype(run_dtype))
    kw = dict(t_max=30.0, i_ext=20.0, v0="uniform", seed=5)
    want = reference(w, t_max=30.0, i_ext=20.0, v0=uniform_v0(n, -65.0, -50.0, seed=5), dtype=np.dtype(run_dtype))
    got = lifsim.simulate(held, **kw, dtype=run_dtype)
    assert want.sum() > n // 2 and got.dtype == run_dtype
    assert_same_spikes(got.spikes, want)
    assert_same_spikes(got.spikes, lifsim.simulate(w, **kw, dtype=run_dtype).spikes)
    # simulate's dtype is float64 unless asked, whatever the Weights hold; a
    # Weights of the other precision is converted per call, as an array is.
    assert lifsim.simulate(held, **kw).dtype == "float64"
    other = "float32" if run_dtype == "float64" else "float64"
    np.testing.assert_array_equal(lifsim.simulate(held, **kw, dtype=other).spikes,
                                  lifsim.simulate(w, **kw, dtype=other).spikes)


def test_checked_weights_are_a_copy():
    w = dyadic_weights(40, 64.0, seed=7)
    held = lifsim.Weights(w)
    before = lifsim.simulate(held, t_max=20.0, i_ext=20.0, v0="uniform")
    w[:] = np.nan  # later changes to the array do not reach the copy
    after = lifsim.simulate(held, t_max=20.0, i_ext=20.0, v0="uniform")
    np.testing.assert_array_equal(before.spikes, after.spikes)
    assert np.isfinite(np.asarray(held)).all()
    with pytest.raises(ValueError, match="always copies"):
        held.__array__(copy=False)
    np.testing.assert_array_equal(np.asarray(held, dtype=np.float32), np.asarray(held).astype(np.float32))


def test_checked_weights_refuse_what_simulate_refuses():
    w = dyadic_weights(30, 64.0, seed=8)
    w[3, 4] = np.inf
    with pytest.raises(ValueError, match=r"W\[3, 4\] is inf; weights must be finite") as array_error:
        lifsim.simulate(w)
    with pytest.raises(ValueError) as held_error:
        lifsim.Weights(w)
    assert str(held_error.value) == str(array_error.value)
    with pytest.raises(ValueError, match="square"):
        lifsim.Weights(np.zeros((3, 4)))
    with pytest.raises(TypeError):
        lifsim.Weights(np.zeros((3, 3), dtype=np.int64))
    # A float64 weight beyond float32's range is infinite once rounded.
    big = dyadic_weights(30, 64.0, seed=8)
    big[0, 1] = 1e300
    lifsim.Weights(big)
    with pytest.raises(ValueError, match="must be finite"):
        lifsim.Weights(big, dtype="float32")
