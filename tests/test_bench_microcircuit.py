"""bench/microcircuit.py's statistics against the definitions they reproduce: the
microcircuit-PD14-model repository's helpers.py (typed in again here, loop by loop,
as the repository writes them) and the two-sample Kolmogorov-Smirnov statistic
computed by hand on small samples."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_microcircuit", ROOT / "bench" / "microcircuit.py")
mc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mc)


def test_ks_distance_by_hand():
    # F_a and F_b at 1, 2, 3, 4: (1/3, 2/3, 1, 1) and (0, 1/2, 1/2, 1): sup 1/2, at 3
    assert mc.ks_distance([1, 2, 3], [2, 4]) == pytest.approx(0.5)
    assert mc.ks_distance([1, 2], [3, 4]) == 1.0
    assert mc.ks_distance([5, 1, 3], [3, 1, 5]) == 0.0
    # ties across the samples: F_a(1) = 1, F_b(1) = 1/2
    assert mc.ks_distance([1, 1], [1, 2]) == pytest.approx(0.5)
    assert np.isnan(mc.ks_distance([], [1.0]))


def spikes(seed=3, n=40, t1=1000.0):
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 30, n)
    counts[:3] = [0, 1, 2]  # silent, one spike, two spikes: no CV
    ids = np.repeat(np.arange(n), counts)
    times = np.round(rng.uniform(0, t1, len(ids)), 1)
    order = np.lexsort((ids, times))
    return times[order], ids[order].astype(np.uint32)


def test_isi_cvs_are_helpers_single_neuron_isi_cvs():
    times, ids = spikes()
    want = []
    for n in range(10, 30):  # helpers.single_neuron_isi_cvs on pop = 10..29
        t = np.sort(times[ids == n])
        if len(t) > 2:
            isi = np.diff(t)
            want.append(np.std(isi) / np.mean(isi))
    np.testing.assert_allclose(mc.isi_cvs(times, ids.astype(np.int64), 10, 30), want, rtol=1e-9)
    got = mc.isi_cvs(times, ids.astype(np.int64), 0, 5)
    assert len(got) == sum(np.count_nonzero(ids == n) > 2 for n in range(5))


def test_rates_and_window_are_helpers():
    times, ids = spikes()
    t, i = mc.window(times, ids.astype(np.int64), 200.0, 700.0)
    keep = (times >= 200.0) & (times <= 700.0)  # helpers.truncate_spike_data
    want = [np.count_nonzero(ids[keep] == n) / 500.0 * 1e3 for n in range(5, 25)]
    sel = (i >= 5) & (i < 25)
    np.testing.assert_allclose(mc.rates(i[sel], 5, 25, 200.0, 700.0), want)


def test_count_correlations_are_helpers_pairwise_spike_count_correlations():
    times, ids = spikes(n=60)
    times[ids == 33] = np.where(times[ids == 33] > 800, 900.0, times[ids == 33])  # on the last edge
    neurons = np.array([0, 4, 7, 8, 20, 33, 59])
    t0, t1, b = 100.0, 900.0, 2.0
    keep = (times >= t0) & (times <= t1)
    grid = np.arange(t0, t1 + b, b)  # helpers.generate_spike_counts
    counts = np.array([np.histogram(times[keep][ids[keep] == n], grid)[0] for n in neurons])
    with np.errstate(invalid="ignore", divide="ignore"):
        cc = np.corrcoef(counts)
    want = [cc[a, c] for a in range(len(neurons)) for c in range(a + 1, len(neurons))]
    want = np.array(want)[~np.isnan(want)]  # compute_ensemble_statistics drops NaNs
    t, i = mc.window(times, ids.astype(np.int64), t0, t1)
    got = mc.count_correlations(t, i, neurons, t0, t1, b)
    assert len(want) == 15  # neuron 0 is silent: its 6 pairs are NaN
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
