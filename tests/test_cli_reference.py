"""lifsim's CLI against the NumPy reference, bit for bit on dyadic weights."""

import numpy as np
import pytest

from conftest import dyadic_weights
from lif_reference import simulate, steps_for, uniform_v0


def save(tmp_path, name, array, fortran=False):
    path = tmp_path / name
    np.save(path, np.asfortranarray(array) if fortran else array)
    return path


def assert_same_spikes(got, want):
    assert got.dtype == np.bool_ and got.shape == want.shape
    diff = np.argwhere(got != want)
    assert diff.size == 0, f"first difference at (step, neuron) {tuple(diff[0])}"


@pytest.mark.parametrize("n", [1, 7, 64, 1000, 1003])
def test_active_network_matches_reference(tmp_path, run_cli, n):
    w = dyadic_weights(n, 64.0, seed=n)
    t_max = 20.0 if n >= 1000 else 50.0
    want = simulate(w, t_max=t_max, i_ext=20.0, v0=uniform_v0(n, -65.0, -50.0, seed=3))
    got = run_cli("--weights", save(tmp_path, "w.npy", w), "--t-max", t_max, "--i-ext", 20, "--v0", "uniform", "--seed", 3)
    assert want.sum() >= n // 2  # the network really is active
    assert_same_spikes(got, want)


def test_silent_seed_network_matches_reference(tmp_path, run_cli):
    w = dyadic_weights(1000, 1.0, seed=0)
    want = simulate(w)  # the seed's run exactly: 9,999 steps
    got = run_cli("--weights", save(tmp_path, "w.npy", w))
    assert want.shape == (9999, 1000) and not want.any()
    assert_same_spikes(got, want)


@pytest.mark.parametrize("t_max,dt", [(100.0, 0.01), (100.0, 0.5), (0.3, 0.1), (37.3, 0.1)])
def test_step_count_edge_cases(tmp_path, run_cli, t_max, dt):
    w = dyadic_weights(7, 64.0, seed=1)
    got = run_cli("--weights", save(tmp_path, "w.npy", w), "--t-max", t_max, "--dt", dt, "--i-ext", 30)
    want = simulate(w, t_max=t_max, dt=dt, i_ext=30.0)
    assert got.shape == (steps_for(t_max, dt), 7) == want.shape
    assert_same_spikes(got, want)


@pytest.mark.parametrize(
    "flags,kwargs",
    [
        (["--v-rest", -48], dict(v_rest=-48.0)),
        (["--i-ext", 17.5], dict(i_ext=17.5)),
        (["--t-ref", 2.0], dict(t_ref=2.0, i_ext=25.0)),
        (["--tau-m", 10, "--r", 2.0, "--v-reset", -70, "--v-thresh", -55], dict(tau_m=10.0, r=2.0, v_reset=-70.0, v_thresh=-55.0)),
    ],
)
def test_each_generalisation(tmp_path, run_cli, flags, kwargs):
    n = 64
    w = dyadic_weights(n, 32.0, seed=5)
    kwargs = {"i_ext": 12.0, **kwargs}
    flags = ["--i-ext", kwargs["i_ext"], *flags] if "--i-ext" not in flags else flags
    want = simulate(w, t_max=40.0, **kwargs)
    got = run_cli("--weights", save(tmp_path, "w.npy", w), "--t-max", 40, *flags)
    assert want.any()
    assert_same_spikes(got, want)


def test_per_neuron_current_and_initial_voltage_files(tmp_path, run_cli):
    n = 64
    rng = np.random.default_rng(9)
    w = dyadic_weights(n, 32.0, seed=9)
    i_ext = np.round(rng.uniform(10, 30, n) * 8) / 8
    v0 = rng.uniform(-65, -50, n)
    want = simulate(w, t_max=30.0, i_ext=i_ext, v0=v0)
    got = run_cli("--weights", save(tmp_path, "w.npy", w), "--t-max", 30,
                  "--i-ext", save(tmp_path, "i.npy", i_ext), "--v0", save(tmp_path, "v0.npy", v0))
    assert want.sum() > n // 2
    assert_same_spikes(got, want)


@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("file_dtype", [np.float32, np.float64])
def test_float32_matches_float32_numpy(tmp_path, run_cli, fortran, file_dtype):
    n = 200
    w = dyadic_weights(n, 64.0, seed=2).astype(file_dtype)
    v0 = uniform_v0(n, -65.0, -50.0, seed=4)
    want = simulate(w, t_max=30.0, i_ext=20.0, v0=v0, dtype=np.float32)
    got = run_cli("--weights", save(tmp_path, "w.npy", w, fortran), "--t-max", 30, "--i-ext", 20,
                  "--v0", "uniform", "--seed", 4, "--dtype", "float32")
    assert want.sum() > n // 2
    assert_same_spikes(got, want)


@pytest.mark.parametrize("fortran", [False, True])
def test_layouts_and_events_agree(tmp_path, run_cli, fortran):
    n = 100
    w = dyadic_weights(n, 64.0, seed=7)
    want = simulate(w, t_max=30.0, i_ext=20.0)
    path = save(tmp_path, "w.npy", w, fortran)
    dense = run_cli("--weights", path, "--t-max", 30, "--i-ext", 20)
    events = run_cli("--weights", path, "--t-max", 30, "--i-ext", 20, fmt="events")
    assert_same_spikes(dense, want)
    steps, ids = np.nonzero(want)
    assert events["times"].dtype == np.float64
    np.testing.assert_array_equal(events["ids"], ids)
    np.testing.assert_array_equal(events["times"], (steps + 1) * 0.01)


def test_threads_do_not_change_a_single_bit(tmp_path, run_cli):
    n = 6000
    w = dyadic_weights(n, 16.0, seed=11, density=0.05)
    path = save(tmp_path, "w.npy", w, fortran=True)
    flags = ["--weights", path, "--t-max", 20, "--i-ext", 20, "--v0", "uniform"]
    one = run_cli(*flags, "--threads", 1, fmt="events")
    two = run_cli(*flags, "--threads", 2, fmt="events")
    assert len(one["ids"]) > 1000
    np.testing.assert_array_equal(one["ids"], two["ids"])
    np.testing.assert_array_equal(one["times"], two["times"])
