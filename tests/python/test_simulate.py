"""lifsim.simulate against the NumPy reference, bit for bit on dyadic weights."""

import inspect

import numpy as np
import pytest
from lifsim_testing import assert_same_spikes, layout

import lifsim
from conftest import dyadic_weights
from lif_reference import simulate as reference
from lif_reference import steps_for, uniform_v0


@pytest.mark.parametrize("order", ["C", "F", "strided"])
@pytest.mark.parametrize("w_dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matches_reference_for_every_dtype_and_layout(dtype, w_dtype, order):
    n = 150
    w = dyadic_weights(n, 64.0, seed=2).astype(w_dtype)
    v0 = uniform_v0(n, -65.0, -50.0, seed=4)
    want = reference(w, t_max=30.0, i_ext=20.0, v0=v0, dtype=np.dtype(dtype))
    got = lifsim.simulate(layout(w, order, w_dtype), t_max=30.0, i_ext=20.0, v0="uniform", seed=4, dtype=dtype)
    assert want.sum() > n // 2  # the network really is active
    assert got.dtype == dtype and got.n == n
    assert_same_spikes(got.spikes, want)


@pytest.mark.parametrize("n", [1, 7, 64, 257])
def test_active_networks_of_any_size(n):
    w = dyadic_weights(n, 64.0, seed=n)
    t_max = 40.0
    want = reference(w, t_max=t_max, i_ext=20.0, v0=uniform_v0(n, -65.0, -50.0, seed=3))
    got = lifsim.simulate(w, t_max=t_max, i_ext=20.0, v0="uniform", seed=3)
    assert want.sum() >= n // 2
    assert_same_spikes(got.spikes, want)


def test_defaults_are_the_seeds():
    # The seed's lif_hparams: dt 0.01 ms, t_max 100 ms, tau_m 20 ms, v_reset -65 mV,
    # v_thresh -50 mV, r 1; V starts at v_reset; float64; the dense spike array.
    seed = dict(dt=0.01, t_max=100.0, tau_m=20.0, v_reset=-65.0, v_thresh=-50.0, r=1.0,
                v_rest=None, i_ext=0.0, v0=None, t_ref=0.0, dtype="float64", record="dense")
    params = inspect.signature(lifsim.simulate).parameters
    assert {k: params[k].default for k in seed} == seed
    n = 50
    w = dyadic_weights(n, 32.0, seed=8)
    got = lifsim.simulate(w, i_ext=20.0)  # input, or nothing would ever fire
    explicit = lifsim.simulate(w, **dict(seed, i_ext=20.0))
    want = reference(w, i_ext=20.0)
    assert got.steps == 9999 and got.dt == 0.01 and got.record == "dense" and got.dtype == "float64"
    assert want.any()
    assert_same_spikes(got.spikes, want)
    assert_same_spikes(explicit.spikes, want)


def test_silent_seed_network():
    # The seed's run as written never fires (V starts below threshold, no input).
    w = dyadic_weights(300, 1.0, seed=0)
    got = lifsim.simulate(w)
    assert got.spikes.shape == (9999, 300) and not got.spikes.any()
    assert got.num_spikes == 0 and not got.count.any() and got.mean_rate == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(v_rest=-48.0),
        dict(i_ext=17.5),
        dict(t_ref=2.0, i_ext=25.0),
        dict(tau_m=10.0, r=2.0, v_reset=-70.0, v_thresh=-55.0),
        dict(dt=0.1, t_max=37.3, i_ext=20.0),
    ],
)
def test_each_generalisation(kwargs):
    n = 64
    w = dyadic_weights(n, 32.0, seed=5)
    kwargs = {"i_ext": 12.0, "t_max": 40.0, **kwargs}
    want = reference(w, **kwargs)
    got = lifsim.simulate(w, **kwargs)
    assert want.any()
    assert_same_spikes(got.spikes, want)


def test_per_neuron_current_and_initial_voltages():
    n = 64
    rng = np.random.default_rng(9)
    w = dyadic_weights(n, 32.0, seed=9)
    i_ext = np.round(rng.uniform(10, 30, n) * 8) / 8
    v0 = rng.uniform(-65, -50, n)
    want = reference(w, t_max=30.0, i_ext=i_ext, v0=v0)
    for args in [(i_ext, v0), (list(i_ext), list(v0)), (i_ext.astype(np.float32).astype(np.float64), v0)]:
        got = lifsim.simulate(w, t_max=30.0, i_ext=args[0], v0=args[1])
        assert_same_spikes(got.spikes, reference(w, t_max=30.0, i_ext=args[0], v0=args[1]))
    assert want.sum() > n // 2


@pytest.mark.parametrize("i_ext", [20, 20.0, np.float32(20.0), np.float64(20.0), np.array(20.0), np.int64(20)])
def test_scalar_currents_of_any_numeric_type(i_ext):
    w = dyadic_weights(20, 32.0, seed=3)
    assert_same_spikes(lifsim.simulate(w, t_max=20.0, i_ext=i_ext).spikes, reference(w, t_max=20.0, i_ext=20.0))


def test_uniform_initial_voltages_follow_the_seed():
    n = 40
    w = dyadic_weights(n, 32.0, seed=6)
    for seed in [None, 1, 12345]:
        v0 = uniform_v0(n, -65.0, -50.0, seed=1 if seed is None else seed)
        want = reference(w, t_max=20.0, i_ext=15.0, v0=v0)
        got = lifsim.simulate(w, t_max=20.0, i_ext=15.0, v0="uniform", seed=seed)
        assert_same_spikes(got.spikes, want)
    # "reset" is the default, and the seed only matters for "uniform".
    a = lifsim.simulate(w, t_max=20.0, i_ext=15.0, v0="reset", seed=7)
    assert_same_spikes(a.spikes, reference(w, t_max=20.0, i_ext=15.0))


@pytest.mark.parametrize("t_max,dt", [(100.0, 0.5), (0.3, 0.1), (37.3, 0.1), (1.0, 1.0)])
def test_step_count_follows_numpy_arange(t_max, dt):
    w = dyadic_weights(7, 64.0, seed=1)
    got = lifsim.simulate(w, t_max=t_max, dt=dt, i_ext=30.0)
    want = reference(w, t_max=t_max, dt=dt, i_ext=30.0)
    assert got.steps == steps_for(t_max, dt) == len(want)
    assert got.duration == got.steps * dt
    assert_same_spikes(got.spikes, want)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_record_modes_agree(dtype):
    n = 100
    w = dyadic_weights(n, 64.0, seed=7)
    kw = dict(t_max=30.0, i_ext=20.0, dtype=dtype)
    dense = lifsim.simulate(w, **kw, record="dense")
    events = lifsim.simulate(w, **kw, record="events")
    counts = lifsim.simulate(w, **kw, record="counts")
    want = reference(w, t_max=30.0, i_ext=20.0, dtype=np.dtype(dtype))
    assert_same_spikes(dense.spikes, want)
    steps, ids = np.nonzero(want)
    assert events.times.dtype == np.float64 and events.ids.dtype == np.uint32
    np.testing.assert_array_equal(events.ids, ids)
    np.testing.assert_array_equal(events.times, (steps + 1) * 0.01)
    per_neuron = want.sum(axis=0)
    for res in (dense, events, counts):
        assert res.count.dtype == np.uint64 and res.count.shape == (n,)
        np.testing.assert_array_equal(res.count, per_neuron)
        np.testing.assert_allclose(res.rates, per_neuron / (want.shape[0] * 0.01e-3), rtol=1e-12)
        assert res.num_spikes == want.sum()
        assert res.mean_rate == pytest.approx(want.sum() / n / (want.shape[0] * 0.01e-3))
        assert res.steps == want.shape[0] and res.n == n and res.dt == 0.01
    assert events.record == "events" and counts.record == "counts"
    with pytest.raises(AttributeError, match='record="dense"'):
        events.spikes
    with pytest.raises(AttributeError, match='record="events"'):
        dense.times
    with pytest.raises(AttributeError, match='record="events"'):
        counts.ids
    assert "num_spikes=" in repr(events)


def test_array_likes_and_memory_maps(tmp_path):
    n = 30
    w = dyadic_weights(n, 32.0, seed=12)
    want = reference(w, t_max=20.0, i_ext=20.0)

    class JaxLike:  # what jax.Array offers NumPy
        def __array__(self, dtype=None, copy=None):
            return w.astype(np.float32)

    path = tmp_path / "w.npy"
    np.save(path, np.asfortranarray(w))
    inputs = [w.tolist(), JaxLike(), np.load(path, mmap_mode="r"), w.astype(">f8"), w.T.T, w.astype(np.float32)]
    for w_in in inputs:
        got = lifsim.simulate(w_in, t_max=20.0, i_ext=20.0)
        assert_same_spikes(got.spikes, want)


def test_threads_do_not_change_a_single_bit():
    n = 400
    w = dyadic_weights(n, 16.0, seed=11, density=0.2)
    kw = dict(t_max=20.0, i_ext=20.0, v0="uniform", record="events")
    one = lifsim.simulate(w, **kw, threads=1)
    three = lifsim.simulate(w, **kw, threads=3)
    assert one.num_spikes > n // 2
    np.testing.assert_array_equal(one.ids, three.ids)
    np.testing.assert_array_equal(one.times, three.times)


def test_results_own_their_arrays():
    w = dyadic_weights(10, 64.0, seed=1)
    res = lifsim.simulate(w, t_max=5.0, i_ext=30.0)
    spikes = res.spikes
    assert spikes.flags.c_contiguous and spikes.flags.writeable
    assert res.spikes is not None and np.shares_memory(res.spikes, spikes)  # no copy per access
    del res
    assert spikes.shape == (499, 10)  # still valid after the result object is gone


@pytest.mark.parametrize("v0", [-52.5, np.float64(-52.5), np.array(-52.5), -52])
def test_a_scalar_v0_is_every_neurons_voltage(v0):
    """A number as v0 starts every neuron there, as a network file's
    `v0 = -52.5` does: the NumPy reference run from the full vector."""
    n = 20
    w = dyadic_weights(n, 32.0, seed=5)
    vector = np.full(n, float(v0))
    want = reference(w, t_max=60.0, i_ext=15.5, v0=vector)
    got = lifsim.simulate(w, t_max=60.0, i_ext=15.5, v0=v0)
    assert_same_spikes(got.spikes, want)
    assert want.sum() > 0
