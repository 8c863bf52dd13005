"""Simulation.set: parameters changed between two pieces of a run, checked
against networks built fresh with the changed values (network files that
say them) and put in the first piece's state, bit for bit."""

from pathlib import Path

import numpy as np
import pytest

import lifsim_testing  # noqa: F401  (a clear message when lifsim is not installed)

import lifsim

ROOT = Path(__file__).resolve().parents[2]
CUBA = (ROOT / "examples" / "cuba.toml").read_text()


def cuba_text(duration=300.0, **changes):
    """cuba.toml with its duration and, in population E (the first), the given
    parameters changed: the network file that says the changed network."""
    text = CUBA.replace("duration = 1000.0", f"duration = {duration!r}")
    e, rest = text.split('name = "I"', 1)
    for key, value in changes.items():
        lines = [line for line in e.splitlines() if line.startswith(f"{key} =")]
        new = f"{key} = {(value.tolist() if isinstance(value, np.ndarray) else value)!r}\n"
        if lines:
            e = e.replace(lines[0] + "\n", new, 1)
        else:
            e = e.replace("size = 3200\n", "size = 3200\n" + new, 1)
    return e + 'name = "I"' + rest


def network(**changes):
    desc = lifsim.NetworkDescription.from_toml(cuba_text(**changes), str(ROOT / "examples"), name="cuba")
    return lifsim.Network.from_description(desc)


def same(a, b):
    return np.array_equal(a.ids, b.ids) and np.array_equal(a.times, b.times)


CHANGES = [
    {"i_ext": 0.3},
    {"tau_m": 15.0},
    {"v_thresh": -51.0, "t_ref": 2.0},
    {"r": 1.5, "v_reset": -58.0},
    {"i_ext": np.linspace(-0.2, 0.6, 3200)},
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("change", CHANGES, ids=lambda c: ",".join(c))
def test_a_change_goes_on_as_the_changed_network_from_the_same_state(change, threads):
    sim = network().build(threads=threads)
    sim.run(150.0)
    state = sim.state()
    E = sim.network["E"]
    sim.set(E, **change)
    tail = sim.run(150.0)
    # The reference: the network a file with the change says, built fresh
    # and put in the first piece's state.
    ref = network(**change).build(threads=3 - threads)
    ref.set_state(state)
    expected = ref.run(150.0)
    assert len(tail) > 100 and same(tail, expected)
    # ...and the change changed something.
    unchanged = network().build(threads=threads)
    unchanged.set_state(state)
    assert not same(unchanged.run(150.0), tail)


def test_a_change_to_the_same_values_changes_nothing():
    whole = network().run(300.0, threads=1)
    sim = network().build(threads=1)
    head = sim.run(150.0)
    sim.set("E", tau_m=20.0, v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0, r=1.0, t_ref=5.0, i_ext=0.0)
    sim.set("I", tau_m=20.0)
    tail = sim.run(150.0)
    assert np.array_equal(np.concatenate([head.ids, tail.ids]), whole.ids)
    assert np.array_equal(np.concatenate([head.times, tail.times]), whole.times)


def test_a_new_v_rest_keeps_the_potential_in_mv():
    # iaf_psc_exp holds y = V - v_rest; a new v_rest keeps V (as NEST does).
    sim = network().build(threads=1)
    sim.run(150.0)
    state = sim.state()
    before = sim.voltages()
    sim.set("E", v_rest=-47.5)
    np.testing.assert_allclose(sim.voltages(), before, rtol=0, atol=1e-12)
    tail = sim.run(150.0)
    # The reference: the changed network in the same state, its y shifted
    # in NumPy as (y + old v_rest) - new v_rest.
    shifted = dict(state)
    y = state["y"].copy()
    y[:3200] = (y[:3200] + -49.0) - -47.5
    shifted["y"] = y
    ref = network(v_rest=-47.5).build(threads=1)
    ref.set_state(shifted)
    assert len(tail) > 100 and same(tail, ref.run(150.0))


def test_a_checkpoint_after_a_change_resumes_with_it(tmp_path):
    sim = network().build(threads=2)
    sim.run(100.0)
    sim.set("E", i_ext=0.25, tau_m=18.0)
    sim.run(50.0)
    sim.save_checkpoint(tmp_path / "ck.npz")
    tail = sim.run(150.0)
    resumed = lifsim.resume(tmp_path / "ck.npz", threads=1)
    assert resumed.step == 1500
    assert len(tail) > 100 and same(resumed.run(150.0), tail)


# -- inputs ----------------------------------------------------------------------


def integrators(rate, weight, n=500):
    """n neurons that only integrate (tau_m of 1e9 ms, a threshold never
    reached) the delta spikes of a Poisson input: V - V(0) is the input's sum."""
    net = lifsim.Network(dt=0.1, seed=3)
    P = net.population("P", n, model="iaf_psc_delta", tau_m=1e9, v_rest=0.0, v_reset=0.0,
                       v_thresh=1e9, t_ref=0.0, v0=0.0)
    noise = net.poisson(P, rate=rate, weight=weight, synapse="delta")
    dc = net.current(P, amplitude=0.0)
    return net, P, noise, dc


def test_a_new_poisson_rate_gives_the_input_rate_times_weight():
    rate, weight, n, T = 1000.0, 0.1, 500, 100.0
    net, P, noise, _ = integrators(rate, weight, n)
    sim = net.build()
    sim.run(T)
    v1 = sim.voltages()
    sim.set(noise, rate=3 * rate)
    sim.run(T)
    v2 = sim.voltages() - v1
    for got, r in ((v1, rate), (v2, 3 * rate)):
        # Each neuron sums Poisson(r T) spikes of `weight` mV: the mean over
        # n neurons has mean r T w and standard deviation w sqrt(r T / n).
        mean, sd = r * T * 1e-3 * weight, weight * np.sqrt(r * T * 1e-3 / n)
        assert abs(got.mean() - mean) < 5 * sd, (got.mean(), mean, sd)
    assert v2.mean() > 2 * v1.mean()
    # A new weight scales each spike.
    sim.set(noise, weight=-0.05)
    sim.run(T)
    v3 = sim.voltages() - v1 - v2
    mean, sd = -3 * rate * T * 1e-3 * 0.05, 0.05 * np.sqrt(3 * rate * T * 1e-3 / n)
    assert abs(v3.mean() - mean) < 5 * sd


def test_a_new_current_amplitude_drives_the_membrane():
    # With no leak to speak of, V grows by r * amplitude * t / tau_m.
    net, P, noise, dc = integrators(0.0, 0.1, 4)
    sim = net.build()
    sim.run(10.0)
    np.testing.assert_array_equal(sim.voltages(), 0.0)
    sim.set(dc, amplitude=2e6)  # nA: r i = 2e6 mV over tau_m = 1e9 ms is 2e-3 mV/ms
    sim.run(10.0)
    np.testing.assert_allclose(sim.voltages(), 2e-3 * 10.0, rtol=1e-6)


# -- errors ----------------------------------------------------------------------


def test_an_unknown_parameter_names_the_population_its_model_and_parameters():
    sim = network().build()
    with pytest.raises(ValueError, match=r'population "E": has no parameter "tau" \(iaf_psc_exp neurons have tau_m, r, v_rest'):
        sim.set("E", tau=10.0)
    with pytest.raises(ValueError, match=r'no population named "X" \(there are: E, I\)'):
        sim.set("X", tau_m=10.0)
    with pytest.raises(TypeError, match="target must be a Population, a population's name or an Input"):
        sim.set(3.5, tau_m=10.0)
    net, P, noise, dc = integrators(10.0, 0.1, 2)
    with pytest.raises(ValueError, match=r'input 1 \(poisson -> P\): has no parameter "amplitude" \(its parameters are rate, weight\)'):
        net.build().set(noise, amplitude=1.0)


def test_a_bad_value_gets_the_error_a_file_gets():
    sim = network().build()
    with pytest.raises(ValueError) as changed:
        sim.set("E", tau_m=-1.0)
    with pytest.raises(ValueError) as from_file:
        network(tau_m=-1.0)
    assert str(changed.value) == str(from_file.value)
    assert "tau_m" in str(changed.value) and 'population "E"' in str(changed.value)


@pytest.mark.parametrize(
    "change,message",
    [
        ({"size": 100}, r'invalid parameter size: population "E": cannot be changed in a built simulation .*; build the network again'),
        ({"model": "lif_euler"}, r'invalid parameter model: population "E": cannot be changed in a built simulation'),
        ({"v0": -55.0}, r'invalid parameter v0: population "E": is the initial potential.*set_state'),
    ],
)
def test_what_needs_a_new_build_is_refused_and_nothing_changes(change, message):
    whole = network().run(300.0, threads=1)
    sim = network().build(threads=1)
    head = sim.run(150.0)
    with pytest.raises(ValueError, match=message):
        sim.set("E", **change)
    tail = sim.run(150.0)
    assert np.array_equal(np.concatenate([head.ids, tail.ids]), whole.ids)


def test_spike_times_cannot_change():
    net = lifsim.Network(dt=0.1)
    P = net.population("P", 2)
    gen = net.spike_generator(P, [1.0, 2.0], weight=1.0, synapse="delta")
    with pytest.raises(ValueError, match=r"invalid parameter times: input 1 \(spike_generator -> P\): cannot be changed in a built simulation"):
        net.build().set(gen, times=[3.0])


# -- Ctrl-C ------------------------------------------------------------------------


def interrupted(run, after=0.3):
    """Calls run() with a Ctrl-C (SIGINT, as a terminal sends it) after `after`
    seconds; asserts it raised KeyboardInterrupt soon after."""
    import _thread
    import signal
    import threading
    import time

    timer = threading.Timer(after, _thread.interrupt_main)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            run()
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert time.perf_counter() - started < after + 5.0


def test_ctrl_c_stops_a_piece_keeping_what_was_simulated():
    sim = network().build(threads=1)
    sim.run(10.0)
    interrupted(lambda: sim.run(1e7))
    step = sim.step
    assert 100 < step < 100_000_000
    # What was simulated is kept: the spikes of a run as long, and it goes on.
    ref = network().build(threads=1)
    ref.run(step * 0.1)
    assert ref.step == step and same(sim.spikes(), ref.spikes())
    assert same(sim.run(20.0), ref.run(20.0))
