"""Spikes of a subset of neurons (Network.record_spikes, [[record.spikes_from]]):
from Python and from `lifsim run` on the file Network.save writes, the spikes
kept are exactly the full run's spikes of the chosen neurons (NumPy's filter,
bit for bit), with 1 and 2 threads and in pieces; the population rate and the
CLI's summary still count every neuron; bad choices are ValueErrors."""

import json
import subprocess

import numpy as np
import pytest

lifsim = pytest.importorskip("lifsim")


def active_network(duration=200.0):
    net = lifsim.Network(dt=0.1, duration=duration, seed=4)
    net.population("E", 160, v_rest=0.0, v_reset=10.0, v_thresh=20.0, t_ref=2.0, tau_m=20.0)
    net.population("I", 40, v_rest=0.0, v_reset=10.0, v_thresh=20.0, tau_m=10.0)
    net.connect(["E"], ["E", "I"], rule="fixed_indegree", indegree=20, weight=0.5, delay=1.5,
                synapse="exponential", tau_syn=2.0)
    net.connect("I", ["E", "I"], rule="fixed_indegree", indegree=10, weight=-2.0, delay=0.8,
                synapse="exponential", tau_syn=2.0)
    net.poisson(["E", "I"], 15000.0, 0.8, synapse="exponential", tau_syn=2.0)
    return net


def chosen(net):
    """E's first 30 neurons and I's neurons 5..20 (a range)."""
    net.record_spikes("E", n=30)
    net.record_spikes("I", ids=range(5, 20))
    return net


# Global ids of the choice: E is 0..160, I 160..200.
KEEP = np.r_[np.arange(30), 160 + np.arange(5, 20)]


def numpy_filter(times, ids):
    keep = np.isin(ids, KEEP)
    return times[keep], ids[keep]


@pytest.mark.parametrize("threads", [1, 2])
def test_python_keeps_the_chosen_neurons_spikes_bit_for_bit(threads):
    full = active_network().run(threads=threads)
    want_t, want_i = numpy_filter(full.times, full.ids)
    assert 50 < len(want_i) < len(full)
    sim = chosen(active_network()).build(threads=threads)
    first, second = sim.run(80.0), sim.run(120.0)
    got = sim.spikes()
    np.testing.assert_array_equal(got.ids, want_i)
    assert np.array_equal(got.times, want_t)
    np.testing.assert_array_equal(np.r_[first.ids, second.ids], want_i)
    # The population rate is every neuron's, as without a choice.
    whole = active_network().build(threads=threads)
    whole.run()
    for pop in (None, "E", "I"):
        for bin in (None, 1.0):
            a, b = sim.rate(pop, bin), whole.rate(pop, bin)
            assert all(np.array_equal(x, y) for x, y in zip(a, b)), (pop, bin)
    # rates() are those of the recorded neurons; per-neuron measures are
    # NaN for the others.
    span = 0.2
    rates = got.rates()
    assert rates["E"] == np.count_nonzero(got.ids < 160) / (30 * span)
    assert rates["I"] == np.count_nonzero(got.ids >= 160) / (15 * span)
    per = got.rates_per_neuron("E")
    assert np.isnan(per[30:]).all()
    np.testing.assert_array_equal(per[:30], np.bincount(got.ids[got.ids < 30], minlength=30) / span)
    assert set(sim._sim._recorded) == {"E", "I"}


def test_the_saved_file_records_the_same_in_lifsim_run(lifsim_bin, tmp_path):
    net = chosen(active_network())
    net.save(tmp_path / "sub.toml")
    assert lifsim.Network.load(tmp_path / "sub.toml") == net
    text = (tmp_path / "sub.toml").read_text()
    assert "[[record.spikes_from]]" in text and "start = 5" in text
    active_network().save(tmp_path / "full.toml")
    runs = {}
    for name in ("full", "sub"):
        out, summary = tmp_path / f"{name}.npz", tmp_path / f"{name}.json"
        proc = subprocess.run([str(lifsim_bin), "run", str(tmp_path / f"{name}.toml"), "--out", str(out),
                               "--json", str(summary), "--threads", "2", "--quiet"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        runs[name] = (dict(np.load(out)), json.loads(summary.read_text()))
    (full, full_summary), (sub, sub_summary) = runs["full"], runs["sub"]
    want_t, want_i = numpy_filter(full["times"], full["ids"])
    np.testing.assert_array_equal(sub["ids"], want_i)
    assert np.array_equal(sub["times"], want_t)
    for key in ("spikes", "rate_hz", "populations"):
        assert sub_summary[key] == full_summary[key], key
    assert sub_summary["recorded"] == "E: 30 of 160 (the first 30); I: 15 of 40 (ids 5..20)"
    # The Python run of the same network keeps the same spikes.
    py = net.run(threads=2)
    np.testing.assert_array_equal(py.ids, sub["ids"])
    assert np.array_equal(py.times, sub["times"])


def test_bad_choices_are_value_errors():
    net = active_network()
    cases = [
        (dict(population="X"), 'spikes_from "X": no population named so (there are: E, I)'),
        (dict(population="E", n=161), 'spikes_from "E": must be 1 to the population\'s size 160, got 161'),
        (dict(population="I", ids=[1, 40]), 'spikes_from "I": id 40 is not below the population\'s size 40'),
        (dict(population="I", ids=range(30, 41)), "range 30..41 is not a non-empty range within the population's size 40"),
        (dict(population="E", n=3, ids=[1]), "give one of ids and n"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            net.record_spikes(**kwargs)
    net.record_spikes("E", n=3)
    with pytest.raises(ValueError, match="the population is named twice"):
        net.record_spikes("E", ids=[5])
    with pytest.raises(TypeError, match="n must be an integer"):
        active_network().record_spikes("E", n=2.5)
