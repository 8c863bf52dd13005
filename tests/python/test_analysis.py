"""Spike statistics per population (lifsim.analysis, Spikes' methods) against values
computed by hand or known in closed form, and the exports (pandas, Neo, the plot)."""

from pathlib import Path

import numpy as np
import pytest

import lifsim
from lifsim import analysis
from lifsim.network import Spikes

ROOT = Path(__file__).resolve().parents[2]
POPS = [("E", 0, 4), ("I", 4, 6)]


def spikes(times, ids, t_stop=100.0):
    order = np.argsort(times, kind="stable")
    return Spikes(np.asarray(times, float)[order], np.asarray(ids, np.uint32)[order], POPS, 0.0, t_stop)


def test_rates_per_neuron_count_each_neurons_spikes_over_the_span():
    s = spikes([1.0, 2.0, 3.0, 50.0, 7.0], [0, 0, 2, 2, 5])
    np.testing.assert_allclose(s.rates_per_neuron("E"), [20.0, 0.0, 20.0, 0.0])
    np.testing.assert_allclose(s.rates_per_neuron("I"), [0.0, 10.0])
    # Their mean is the population rate of Spikes.rates().
    assert s.rates_per_neuron("E").mean() == pytest.approx(s.rates()["E"])


def test_isi_cv_by_hand_and_nan_below_three_spikes():
    # Neuron 1: intervals 10, 30 -> mean 20, std 10 (ddof 0) -> 0.5; neuron 0: 2 spikes.
    s = spikes([5.0, 15.0, 45.0, 10.0, 20.0], [1, 1, 1, 0, 0])
    cv = s.isi_cv("E")
    assert cv[1] == pytest.approx(0.5)
    assert np.isnan(cv[0]) and np.isnan(cv[2]) and np.isnan(cv[3])


def test_isi_cv_of_regular_and_poisson_trains():
    rng = np.random.default_rng(3)
    regular = np.arange(1.0, 1000.0, 10.0)
    poisson = np.cumsum(rng.exponential(10.0, 20000))
    poisson = poisson[poisson < 200000.0]
    times = np.concatenate([regular, poisson])
    ids = np.concatenate([np.zeros(len(regular), int), np.full(len(poisson), 1)])
    s = Spikes(np.sort(times), ids[np.argsort(times, kind="stable")].astype(np.uint32), POPS, 0.0, 200000.0)
    cv = s.isi_cv("E")
    assert cv[0] == pytest.approx(0.0, abs=1e-9)
    assert cv[1] == pytest.approx(1.0, abs=0.03)  # exponential intervals: CV 1


def test_fano_factor_by_hand_and_of_poisson_counts():
    # Neuron 0, bins of 25 ms over 100 ms: counts 2, 0, 1, 1 -> mean 1, var 0.5.
    s = spikes([1.0, 2.0, 60.0, 99.0], [0, 0, 0, 0])
    ff = s.fano_factor("E", bin=25.0)
    assert ff[0] == pytest.approx(0.5)
    assert np.isnan(ff[1])
    # A spike at t_stop itself counts, in the last bin (spike times are step ends):
    # counts 0, 1 -> mean 0.5, var 0.25.
    assert spikes([100.0], [0]).fano_factor("E", bin=50.0)[0] == pytest.approx(0.5)
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(0.0, 100000.0, 20000))
    s = Spikes(t, np.zeros(len(t), np.uint32), POPS, 0.0, 100000.0)
    assert s.fano_factor("E", bin=100.0)[0] == pytest.approx(1.0, abs=0.1)


def test_psth_is_the_population_rate_per_bin():
    s = spikes([1.0, 2.0, 30.0, 99.0, 100.0, 10.0], [0, 3, 1, 2, 2, 4])
    t, r = s.psth("E", bin=50.0)
    np.testing.assert_allclose(t, [0.0, 50.0])
    # E has 4 neurons: 3 spikes in [0, 50), 2 in [50, 100] -> 3 / (4 * 0.05 s), 2 / (4 * 0.05 s).
    np.testing.assert_allclose(r, [15.0, 10.0])
    with pytest.raises(ValueError, match="bin"):
        s.psth("E", bin=0.0)
    with pytest.raises(KeyError, match="no population 'X'"):
        s.psth("X")


def test_to_pandas_one_row_a_spike():
    import pandas as pd

    df = spikes([1.0, 2.0, 3.0], [5, 0, 3]).to_pandas()
    assert list(df.columns) == ["time_ms", "id", "population", "index"]
    assert list(df["population"]) == ["I", "E", "E"]
    assert list(df["index"]) == [1, 0, 3]
    assert isinstance(df["population"].dtype, pd.CategoricalDtype)


def test_to_neo_one_spiketrain_a_neuron():
    import quantities as pq

    block = spikes([1.0, 2.0, 3.0], [5, 0, 0]).to_neo()
    trains = block.segments[0].spiketrains
    assert len(trains) == 6
    assert [g.name for g in block.groups] == ["E", "I"]
    first = trains[0]
    np.testing.assert_allclose(first.rescale(pq.ms).magnitude, [2.0, 3.0])
    assert first.annotations == {"population": "E", "index": 0, "id": 0}
    assert trains[5].annotations["id"] == 5 and len(trains[5]) == 1
    assert float(first.t_stop.rescale(pq.ms)) == 100.0
    assert len(spikes([1.0], [0]).to_neo(names=["I"]).segments[0].spiketrains) == 2


def test_plot_draws_every_population_in_its_colour():
    import matplotlib

    matplotlib.use("Agg")
    s = spikes([1.0, 2.0, 3.0, 4.0], [0, 3, 4, 5])
    fig = s.plot(bin=10.0)
    raster, rate = fig.axes
    lines = raster.get_lines()
    assert [line.get_label() for line in lines] == ["E", "I"]
    assert [len(line.get_xdata()) for line in lines] == [2, 2]
    assert lines[0].get_color() != lines[1].get_color()
    assert len(rate.get_lines()) == 2
    # One neuron a population: neurons 0 and 4 (the first of each, evenly spaced from it).
    sub = s.plot(per_population=1).axes[0].get_lines()
    np.testing.assert_allclose(sub[0].get_ydata(), [0])
    np.testing.assert_allclose(sub[1].get_ydata(), [1])


def test_statistics_of_a_run_agree_with_its_counts(tmp_path):
    net = lifsim.Network.load(ROOT / "examples/cuba.toml")
    sim = net.build(threads=1)
    s = sim.run(200.0)
    for name in s.names:
        t, r = s.psth(name, bin=10.0)
        lo, hi = net[name].start, net[name].start + len(net[name])
        assert r.sum() * (hi - lo) * 0.01 == pytest.approx(len(s[name]))
        assert s.rates_per_neuron(name).mean() == pytest.approx(s.rates()[name])
