"""lifsim.sweep: a grid of runs, concurrently, gives what the runs give one by
one, bit for bit, in grid order; bad grids are refused before anything runs."""

from pathlib import Path

import numpy as np
import pytest

import lifsim_testing  # noqa: F401  (a clear message when lifsim is not installed)

import lifsim
from conftest import dyadic_weights

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def w():
    return dyadic_weights(200, 2.0, seed=7)


def short_cuba(duration=150.0):
    net = lifsim.Network.load(ROOT / "examples" / "cuba.toml")
    net.set(duration=duration)
    return net


def test_a_dense_grid_equals_its_runs_one_by_one(w):
    sw = lifsim.sweep(w, {"i_ext": [15.0, 25.0], "tau_m": [10.0, 20.0, 30.0]}, jobs=2,
                      t_max=20.0, v0="uniform")
    assert len(sw) == 6
    # itertools.product order: the first key slowest.
    assert [p["i_ext"] for p in sw.points] == [15.0] * 3 + [25.0] * 3
    assert [p["tau_m"] for p in sw.points] == [10.0, 20.0, 30.0] * 2
    counts = set()
    for params, res in sw:
        one = lifsim.simulate(w, t_max=20.0, v0="uniform", **params)
        np.testing.assert_array_equal(res.spikes, one.spikes)
        counts.add(int(res.count.sum()))
    assert len(counts) > 1, "the points must differ for the test to mean anything"


def test_seeds_sweep_like_any_keyword(w):
    sw = lifsim.sweep(w, {"seed": [1, 2]}, t_max=10.0, v0="uniform", i_ext=20.0)
    a, b = (r.spikes for r in sw.results)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, lifsim.simulate(w, t_max=10.0, v0="uniform", i_ext=20.0, seed=1).spikes)


def test_a_network_seed_sweep_equals_its_runs_one_by_one():
    net = short_cuba()
    sw = lifsim.sweep(net, {"seed": [3, 4]}, jobs=2)
    for params, spikes in sw:
        each = lifsim.Network.from_description(net.description)
        each.set(seed=params["seed"])
        one = each.run(threads=1)
        assert len(one) > 100
        np.testing.assert_array_equal(spikes.ids, one.ids)
        np.testing.assert_array_equal(spikes.times, one.times)
    assert not np.array_equal(sw.results[0].ids, sw.results[1].ids)
    assert net.seed == short_cuba().seed, "the swept network itself is left unchanged"


def test_bad_grids_are_refused(w):
    with pytest.raises(ValueError, match="'i_ext' has no values"):
        lifsim.sweep(w, {"i_ext": []})
    with pytest.raises(TypeError, match="'i_ext' must be a list of values"):
        lifsim.sweep(w, {"i_ext": 20.0})
    with pytest.raises(TypeError, match="jobs="):
        lifsim.sweep(w, {"i_ext": [1.0]}, threads=2)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        lifsim.sweep(w, {"i_ext": [1.0]}, jobs=0)
    with pytest.raises(ValueError, match=r"'X.i_ext' is neither .* \(E, I\)"):
        lifsim.sweep(short_cuba(), {"X.i_ext": [0.1]})
    with pytest.raises(ValueError, match="sweep point {.tau_m.: -1.0}: invalid parameter tau_m"):
        lifsim.sweep(w, {"tau_m": [-1.0]}, t_max=1.0)


def test_a_population_parameter_sweep_equals_set_then_run():
    net = short_cuba()
    sw = lifsim.sweep(net, {"E.i_ext": [0.0, 3.0]}, jobs=2)  # nA; r = 1 MOhm: +3 mV of drive
    for params, spikes in sw:
        sim = net.build(threads=1)
        sim.set("E", i_ext=params["E.i_ext"])
        one = sim.run()
        np.testing.assert_array_equal(spikes.ids, one.ids)
        np.testing.assert_array_equal(spikes.times, one.times)
    a, b = sw.results
    assert len(b["E"]) > len(a["E"]), "more input current, more spikes"
