"""A network run's spike files say which ids belong to which population
(.npz arrays, SONATA attributes), and `lifsim plot` colours each population
and can draw the first K neurons of each."""

import re
from pathlib import Path

import numpy as np
import pytest

from test_outputs import lifsim

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def brunel(tmp_path_factory, lifsim_bin):
    d = tmp_path_factory.mktemp("brunel")
    text = (ROOT / "examples" / "brunel.toml").read_text()
    net = d / "brunel.toml"
    net.write_text(re.sub(r"(?m)^duration = .*$", "duration = 60.0", text))
    out = d / "b.npz"
    lifsim(lifsim_bin, "run", net, "--out", out, "--quiet")
    return d, net, out


def test_events_files_name_their_populations(brunel):
    f = np.load(brunel[2])
    # brunel.toml: E = 4 * order = 10,000 neurons, then I = 2,500.
    assert list(f["population_names"]) == ["E", "I"]
    np.testing.assert_array_equal(f["population_starts"], [0, 10_000])
    np.testing.assert_array_equal(f["population_stops"], [10_000, 12_500])
    assert f["population_names"].dtype.kind == "U", "plain strings: np.load needs no pickles"
    # What a user does with them: the population of every spike.
    pop = f["population_names"][np.searchsorted(f["population_starts"], f["ids"], side="right") - 1]
    assert set(pop) == {"E", "I"}


def test_sonata_reports_carry_them_as_attributes(brunel, lifsim_bin):
    h5py = pytest.importorskip("h5py")
    d, net, _ = brunel
    out = d / "b.h5"
    proc = lifsim(lifsim_bin, "run", net, "--format", "sonata", "--out", out, "--quiet", check=False)
    if proc.returncode != 0 and "sonata" in proc.stderr:
        pytest.skip("lifsim built without the sonata feature")
    assert proc.returncode == 0, proc.stderr
    with h5py.File(out) as f:
        (group,) = f["spikes"].values()
        a = group.attrs
        assert [str(n) for n in a["lifsim_population_names"]] == ["E", "I"]
        np.testing.assert_array_equal(a["lifsim_population_starts"], [0, 10_000])
        np.testing.assert_array_equal(a["lifsim_population_stops"], [10_000, 12_500])


def ink(png):
    """Pixels that are clearly E's navy and clearly I's orange (plot/rows.rs PALETTE)."""
    import matplotlib.image

    img = (matplotlib.image.imread(png)[..., :3] * 255).astype(int)
    # The raster only: the rate panel below has blue bars and a red mean line.
    img = img[: int(0.65 * img.shape[0])]
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    navy = (b > r + 40) & (b > g + 20)
    orange = (r > b + 60) & (r > g + 20)
    return navy, orange


def test_plot_colours_populations_and_draws_k_of_each(brunel, lifsim_bin):
    pytest.importorskip("matplotlib")
    d, _, out = brunel
    full, some = d / "full.png", d / "some.png"
    lifsim(lifsim_bin, "plot", out, "--out", full)
    lifsim(lifsim_bin, "plot", out, "--out", some, "--per-population", 50)
    navy, orange = ink(full)
    assert navy.sum() > 1000 and orange.sum() > 200
    # I (ids 10,000..12,500) is above E: its orange rows are all above E's navy ones.
    rows_navy, rows_orange = np.nonzero(navy.any(axis=1))[0], np.nonzero(orange.any(axis=1))[0]
    assert rows_orange.max() < rows_navy.min() + 0.25 * (rows_navy.max() - rows_navy.min())
    # 50 of each: I takes half the raster's rows instead of a fifth.
    n2, o2 = ink(some)
    share = lambda nv, og: og.any(axis=1).sum() / (nv.any(axis=1).sum() + og.any(axis=1).sum())
    assert share(navy, orange) < 0.3 < 0.4 < share(n2, o2) < 0.6
    bad = lifsim(lifsim_bin, "plot", out, "--out", d / "x.png", "--per-population", 0, check=False)
    assert bad.returncode == 2 and "--per-population must be at least 1" in bad.stderr
    assert not (d / "x.png").exists()
