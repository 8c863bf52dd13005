"""bench/microcircuit_seeds.py's comparison: the energy statistic against its
definition written out pair by pair, the exact permutation p against counts made by
hand, and compare()'s pairs, verdicts and p on samples whose answer is known."""

import importlib.util
import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
spec = importlib.util.spec_from_file_location("bench_microcircuit_seeds",
                                              ROOT / "bench" / "microcircuit_seeds.py")
ms = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ms)


def random_distances(k, seed=7):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 1, (k, k))
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return d


def energy_by_pairs(d, a):
    b = [i for i in range(len(d)) if i not in a]
    cross = [d[i][j] for i in a for j in b]
    wa = [d[i][j] for i, j in itertools.combinations(a, 2)]
    wb = [d[i][j] for i, j in itertools.combinations(b, 2)]
    mean = lambda x: sum(x) / len(x) if x else 0.0  # noqa: E731
    return 2 * mean(cross) - mean(wa) - mean(wb)


def test_energy_is_its_definition():
    d = random_distances(7)
    for a in [(0, 1, 2), (0, 4), (1, 3, 5, 6), (2,)]:
        assert ms.energy(d, a) == pytest.approx(energy_by_pairs(d, a), rel=1e-12)


def test_permutation_p_separated_groups_is_two_of_twenty():
    # within a group 0, across 1: only the true labelling and its mirror image reach
    # the largest statistic, among C(6, 3) = 20 relabellings
    d = np.ones((6, 6))
    d[:3, :3] = 0.0
    d[3:, 3:] = 0.0
    np.fill_diagonal(d, 0.0)
    p, count, observed = ms.permutation_p(d, 3)
    assert count == 20 and p == pytest.approx(2 / 20) and observed == pytest.approx(2.0)
    # 2 + 4 runs: the true labelling only (no mirror of the same sizes): 1 of 15
    d = np.ones((6, 6))
    d[:2, :2] = 0.0
    d[2:, 2:] = 0.0
    np.fill_diagonal(d, 0.0)
    p, count, _ = ms.permutation_p(d, 2)
    assert count == 15 and p == pytest.approx(1 / 15)


def test_permutation_p_counts_like_brute_force():
    d = random_distances(8, seed=11)
    observed = energy_by_pairs(d, (0, 1, 2, 3))
    stats = [energy_by_pairs(d, c) for c in itertools.combinations(range(8), 4)]
    want = sum(s >= observed - 1e-12 for s in stats) / len(stats)
    p, count, obs = ms.permutation_p(d, 4)
    assert count == 70 and p == pytest.approx(want) and obs == pytest.approx(observed)


def test_permutation_p_all_equal_distances_is_one():
    d = np.full((5, 5), 0.3)
    np.fill_diagonal(d, 0.0)
    assert ms.permutation_p(d, 2)[0] == 1.0


def fake_stats(rng, shift=0.0, cv_empty=False):
    return {name: {"rate": rng.normal(5.0 + shift, 1.0, 2000),
                   "cv": np.array([]) if cv_empty else rng.normal(0.8, 0.1, 500),
                   "cc": rng.normal(0.0, 0.05, 300)}
            for name in ms.POPS}


def test_compare_pairs_verdicts_and_p():
    rng = np.random.default_rng(3)
    nest = [fake_stats(rng) for _ in range(4)]
    same = [fake_stats(rng) for _ in range(3)]
    shifted = [fake_stats(rng, shift=0.5) for _ in range(3)]
    for lifsim, verdict in ((same, True), (shifted, False)):
        out = ms.compare(lifsim, nest)
        e = out["L5E"]["rate"]
        assert e["lifsim_vs_nest"]["n"] == 12 and e["nest_vs_nest"]["n"] == 6
        assert e["lifsim_vs_lifsim"]["n"] == 3
        assert e["permutation"]["relabellings"] == 35  # C(7, 3)
        want = [ms.mcb.ks_distance(lifsim[i]["L5E"]["rate"], nest[j]["L5E"]["rate"])
                for i in range(3) for j in range(4)]
        assert e["lifsim_vs_nest"]["median"] == pytest.approx(np.median(want))
        assert e["lifsim_vs_nest"]["max"] == pytest.approx(max(want))
        assert e["verdict"] is verdict
    # a shift of half a standard deviation in 2000 samples: told apart, at the
    # smallest p that 3 + 4 runs allow
    assert out["L5E"]["rate"]["permutation"]["p"] == pytest.approx(1 / 35)


def test_compare_without_cvs_gives_no_verdict():
    rng = np.random.default_rng(5)
    out = ms.compare([fake_stats(rng, cv_empty=True)], [fake_stats(rng), fake_stats(rng)])
    e = out["L23E"]["cv"]
    assert e["verdict"] is None and e["permutation"] is None and e["lifsim_vs_nest"] is None
    assert out["L23E"]["rate"]["verdict"] is not None
