"""Simulation.batch: branches of one built simulation from its current state,
over a grid of population parameters, run concurrently, give bit for bit what
each branch gives one by one (set() then run() on a simulation at the same
state), and leave the simulation where it was."""

import numpy as np
import pytest

lifsim = pytest.importorskip("lifsim")


def active_network():
    net = lifsim.Network(dt=0.1, duration=200.0, seed=4)
    net.population("E", 160, v_rest=0.0, v_reset=10.0, v_thresh=20.0, t_ref=2.0, tau_m=20.0)
    net.population("I", 40, v_rest=0.0, v_reset=10.0, v_thresh=20.0, tau_m=10.0)
    net.connect(["E"], ["E", "I"], rule="fixed_indegree", indegree=20, weight=0.5, delay=1.5,
                synapse="exponential", tau_syn=2.0)
    net.connect("I", ["E", "I"], rule="fixed_indegree", indegree=10, weight=-2.0, delay=0.8,
                synapse="exponential", tau_syn=2.0)
    net.poisson(["E", "I"], 15000.0, 0.8, synapse="exponential", tau_syn=2.0)
    return net


def test_branches_run_concurrently_as_one_by_one():
    sim = active_network().build(threads=2)
    sim.run(50.0)  # the warm-up every branch shares
    grid = {"E.i_ext": [0.0, 0.5], "I.tau_m": [10.0, 5.0]}
    sw = sim.batch(grid, duration=40.0, jobs=2)
    assert sim.t == 50.0, "the simulation itself does not move"
    assert [p for p in sw.points] == [
        {"E.i_ext": 0.0, "I.tau_m": 10.0}, {"E.i_ext": 0.0, "I.tau_m": 5.0},
        {"E.i_ext": 0.5, "I.tau_m": 10.0}, {"E.i_ext": 0.5, "I.tau_m": 5.0}]
    counts = set()
    for point, got in sw:
        # One by one: the same network, warmed up alone, changed, run on.
        one = active_network().build(threads=1)
        one.run(50.0)
        one.set("E", i_ext=point["E.i_ext"])
        one.set("I", tau_m=point["I.tau_m"])
        want = one.run(40.0)
        np.testing.assert_array_equal(got.ids, want.ids)
        assert np.array_equal(got.times, want.times), point
        assert got.t_start == 50.0 and got.t_stop == 90.0
        counts.add(len(got))
    assert len(counts) > 1, "the points differ"
    # The unchanged point is the simulation going on.
    plain = sim.run(40.0)
    first = sw.results[0]
    np.testing.assert_array_equal(first.ids, plain.ids)
    assert np.array_equal(first.times, plain.times)


def test_bad_keys_are_value_errors():
    sim = active_network().build()
    with pytest.raises(ValueError, match="'seed' is not POPULATION.parameter"):
        sim.batch({"seed": [1, 2]}, duration=1.0)
    with pytest.raises(ValueError, match=r"batch point \{'E.size': 3\}: .*"):
        sim.batch({"E.size": [3]}, duration=1.0)
