"""State monitors of a Python simulation streamed to disk
(sim.record_state(..., to=path)): the file, written after every run(), holds
bit for bit the samples an in-memory monitor keeps, in the layout of
`lifsim run`'s .state.npz (the same arrays as the CLI's for the same
monitor); streaming changes no spike; bad paths raise exceptions naming them."""

import gc
import subprocess

import numpy as np
import pytest

lifsim = pytest.importorskip("lifsim")


def active_network(duration=100.0):
    net = lifsim.Network(dt=0.1, duration=duration, seed=4)
    net.population("E", 160, v_rest=0.0, v_reset=10.0, v_thresh=20.0, t_ref=2.0, tau_m=20.0)
    net.population("I", 40, v_rest=0.0, v_reset=10.0, v_thresh=20.0, tau_m=10.0)
    net.connect(["E"], ["E", "I"], rule="fixed_indegree", indegree=20, weight=0.5, delay=1.5,
                synapse="exponential", tau_syn=2.0)
    net.connect("I", ["E", "I"], rule="fixed_indegree", indegree=10, weight=-2.0, delay=0.8,
                synapse="exponential", tau_syn=2.0)
    net.poisson(["E", "I"], 15000.0, 0.8, synapse="exponential", tau_syn=2.0)
    return net


@pytest.mark.parametrize("threads", [1, 2])
def test_the_streamed_file_is_the_in_memory_record(tmp_path, threads):
    memory = active_network().build(threads=threads)
    streamed = active_network().build(threads=threads)
    spec = dict(ids=[3, 0, 17], interval=0.5)
    kept = memory.record_state("E", ["V_m", "I_syn"], **spec)
    path = tmp_path / "v.npz"
    on_disk = streamed.record_state("E", ["V_m", "I_syn"], to=path, **spec)
    assert on_disk.path == str(path) and kept.path is None
    assert not path.exists(), "nothing is written before a run"
    for piece in (30.0, 45.5, 24.5):
        a, b = memory.run(piece), streamed.run(piece)
        np.testing.assert_array_equal(a.ids, b.ids)
        assert np.array_equal(a.times, b.times), "streaming changes no spike"
        with np.load(path) as z:
            assert np.array_equal(z["E/times_ms"], kept.times)
            for var in ("V_m", "I_syn"):
                assert np.array_equal(z[f"E/{var}"], kept.values[var]), (piece, var)
            np.testing.assert_array_equal(z["E/ids"], [0, 3, 17])
        assert np.array_equal(on_disk.times, kept.times)
        assert np.array_equal(on_disk["V_m"], kept["V_m"])
    assert len(kept) == 200 and kept["V_m"].shape == (200, 3)
    # The stream's temporary files stay beside the file while the
    # simulation can go on, and go with it.
    assert len(list(tmp_path.glob("v.npz.partial-*"))) == 3
    del streamed, on_disk
    gc.collect()
    assert not list(tmp_path.glob("*.partial-*"))


def test_the_file_is_what_lifsim_run_writes(lifsim_bin, tmp_path):
    net = active_network()
    net.record_state("I", ["V_m"], n=4, interval=1.0)
    net.save(tmp_path / "net.toml")
    proc = subprocess.run([str(lifsim_bin), "run", str(tmp_path / "net.toml"), "--out", str(tmp_path / "x.npz"),
                           "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    sim = active_network().build()
    sim.record_state("I", ["V_m"], n=4, interval=1.0, to=tmp_path / "py.npz")
    sim.run(60.0)
    sim.run(40.0)
    with np.load(tmp_path / "x.state.npz") as cli, np.load(tmp_path / "py.npz") as py:
        assert sorted(cli.files) == sorted(py.files)
        for key in cli.files:
            assert np.array_equal(cli[key], py[key]), key


def test_bad_paths_raise_naming_the_path(tmp_path):
    sim = active_network().build()
    missing = tmp_path / "no" / "such" / "v.npz"
    with pytest.raises(OSError, match=str(missing.parent)):
        sim.record_state("E", to=missing)
    with pytest.raises(ValueError, match=f"{tmp_path}: is a directory; give a file name"):
        sim.record_state("E", to=tmp_path)
    sim.record_state("E", n=2, to=tmp_path / "a.npz")
    with pytest.raises(ValueError, match=r"a\.npz: is the file of state monitor 0 already"):
        sim.record_state("I", n=2, to=tmp_path / "a.npz")
    # A refused monitor was not added.
    assert len(sim.monitors) == 1
