"""lifsim.DenseNetwork: the seed's dense model run in pieces, against
lifsim.simulate and the NumPy reference (tests/reference/lif_reference.py),
bit for bit on dyadic weights."""

import numpy as np
import pytest
from lifsim_testing import assert_same_spikes

import lifsim
from conftest import dyadic_weights
from lif_reference import simulate as reference
from lif_reference import steps_for, uniform_v0

N = 200
KW = dict(dt=0.1, t_max=20.05, i_ext=20.0, v0="uniform", seed=4, t_ref=0.5)


def weights():
    return dyadic_weights(N, 64.0, seed=7)


@pytest.mark.parametrize("threads", [1, 2])
def test_pieces_of_the_seed_model_are_one_run(threads):
    w = weights()
    assert steps_for(KW["t_max"], KW["dt"]) == 200
    whole = lifsim.simulate(w, **KW)
    want = reference(w, dt=0.1, t_max=20.05, i_ext=20.0, v0=uniform_v0(N, -65.0, -50.0, seed=4), t_ref=0.5)
    assert want.sum() > N // 2  # the network really is active
    assert_same_spikes(whole.spikes, want)
    sim = lifsim.DenseNetwork(w, **KW).build(threads=threads)
    assert sim.threads == threads and sim.n == N
    first = sim.run(steps=100)
    second = sim.run(steps=100)
    assert sim.step == 200 and sim.t == pytest.approx(20.0)
    assert_same_spikes(sim.raster(), want)
    # Each piece's spikes are its own steps', as events.
    times, ids = sim.spikes()
    assert np.array_equal(np.concatenate([first[1], second[1]]), ids)
    assert np.all(first[0] <= 10.0 + 1e-9) and np.all(second[0] > 10.0)
    events = lifsim.simulate(w, record="events", **{k: v for k, v in KW.items()})
    np.testing.assert_array_equal(times, events.times)
    np.testing.assert_array_equal(ids, events.ids)


def test_a_run_without_a_length_goes_to_t_max_and_durations_are_steps():
    w = weights()
    sim = lifsim.DenseNetwork(w, **KW).build()
    sim.run(5.0)  # 50 steps
    assert sim.step == 50
    sim.run()
    assert sim.step == 200
    assert_same_spikes(sim.raster(), lifsim.simulate(w, **KW).spikes)
    sim.run(steps=10)  # past t_max
    assert sim.step == 210
    with pytest.raises(ValueError, match=r"invalid parameter duration: must be >= 0 and a multiple of dt \(0.1 ms\), got 0.05"):
        sim.run(0.05)


def test_float32_and_a_held_weights_object():
    w = weights()
    held = lifsim.Weights(w, dtype="float32")
    sim = lifsim.DenseNetwork(held, dtype="float32", **KW).build()
    sim.run(steps=60)
    sim.run(steps=140)
    want = reference(w, dt=0.1, t_max=20.05, i_ext=20.0, v0=uniform_v0(N, -65.0, -50.0, seed=4), t_ref=0.5,
                     dtype=np.float32)
    assert_same_spikes(sim.raster(), want)


def test_state_can_be_taken_and_put_back():
    w = weights()
    sim = lifsim.DenseNetwork(w, **KW).build(threads=2)
    sim.run(steps=80)
    state = sim.state()
    assert state["step"] == 80
    v = sim.voltages()
    first = sim.run(steps=120)
    other = lifsim.DenseNetwork(w, **KW).build(threads=1)
    other.set_state(state)
    np.testing.assert_array_equal(other.voltages(), v)
    again = other.run(steps=120)
    assert len(first[1]) > 50
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_a_state_of_the_dense_engine_lifsim_had_before_is_taken():
    # Before 2026-12-06 the seed's run had its own engine, whose state() was
    # "v" and "refractory_until" (the last step each neuron is held at
    # v_reset: the step that delivers its spike, row s, and t_ref / dt = 5
    # more). Such a dict, built here from a run's potentials and spike rows,
    # resumes to the spikes and potentials of the uninterrupted run.
    w = weights()
    whole = lifsim.DenseNetwork(w, **KW).build()
    whole.run()
    sim = lifsim.DenseNetwork(w, **KW).build(threads=2)
    sim.run(steps=80)
    # Cut where spikes are pending and neurons held.
    while True:
        sim.run(steps=1)
        cut = sim.step
        rows, ids = np.nonzero(sim.raster())
        held = np.full(N, np.iinfo(np.uint64).max, dtype=np.uint64)
        late = rows + 5 >= cut
        held[ids[late]] = rows[late] + 5
        pending = sim.state()["pending"]
        if late.any() and len(pending) > 0:
            break
    old = {"step": cut, "pending": pending, "v": sim.voltages(), "refractory_until": held}
    other = lifsim.DenseNetwork(w, **KW).build(threads=1)
    other.set_state(old)
    np.testing.assert_array_equal(other.voltages(), sim.voltages())
    other.run()
    got, want = other.raster(), whole.raster()
    assert not got[:cut].any() and got[cut:].sum() > 10
    np.testing.assert_array_equal(got[cut:], want[cut:])
    np.testing.assert_array_equal(other.voltages(), whole.voltages())


def test_the_keywords_are_simulates_with_its_errors():
    w = weights()
    with pytest.raises(TypeError, match="DenseNetwork\\(\\) got an unexpected keyword argument \"tau\""):
        lifsim.DenseNetwork(w, tau=3.0).build()
    with pytest.raises(ValueError) as dense:
        lifsim.DenseNetwork(w, dt=0.0).build()
    with pytest.raises(ValueError) as simulate:
        lifsim.simulate(w, dt=0.0)
    assert str(dense.value) == str(simulate.value)
    with pytest.raises(ValueError) as dense:
        lifsim.DenseNetwork(w, i_ext=np.ones(3)).build()
    with pytest.raises(ValueError) as simulate:
        lifsim.simulate(w, i_ext=np.ones(3))
    assert str(dense.value) == str(simulate.value)
    with pytest.raises(TypeError, match="tau_m must be a number, got str"):
        lifsim.DenseNetwork(w, tau_m="20").build()


def test_ctrl_c_stops_a_piece_keeping_what_was_simulated():
    import _thread
    import signal
    import threading

    w, kw = lifsim.workload("seed-active")
    sim = lifsim.DenseNetwork(w, **kw).build()
    timer = threading.Timer(0.3, _thread.interrupt_main)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sim.run(steps=10**9)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    step = sim.step
    assert 0 < step < 10**9
    ref = lifsim.DenseNetwork(w, **kw).build()
    ref.run(steps=step)
    for a, b in zip(sim._sim.spike_steps(), ref._sim.spike_steps()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sim.voltages(), ref.voltages())
