"""A spike file of some neurons only says which (recorded_starts/stops):
`lifsim run` writes them for [[record.spikes_from]], lifsim.read_spikes reads
them back as Spikes.recorded, and `lifsim info` and Spikes.rates() give the
mean rate over the recorded neurons: NumPy's count / (recorded x duration).
A run of every neuron's spikes writes no such arrays."""

import re
import subprocess

import numpy as np
import pytest

lifsim = pytest.importorskip("lifsim")


def network(choose):
    net = lifsim.Network(dt=0.1, duration=200.0, seed=4)
    net.population("E", 160, v_rest=0.0, v_reset=10.0, v_thresh=20.0, t_ref=2.0, tau_m=20.0)
    net.population("I", 40, v_rest=0.0, v_reset=10.0, v_thresh=20.0, tau_m=10.0)
    net.connect(["E"], ["E", "I"], rule="fixed_indegree", indegree=20, weight=0.5, delay=1.5,
                synapse="exponential", tau_syn=2.0)
    net.connect("I", ["E", "I"], rule="fixed_indegree", indegree=10, weight=-2.0, delay=0.8,
                synapse="exponential", tau_syn=2.0)
    net.poisson(["E", "I"], 15000.0, 0.8, synapse="exponential", tau_syn=2.0)
    if choose:
        net.record_spikes("E", n=30)
        net.record_spikes("I", ids=[5, 6, 7, 12])
    return net


def run(lifsim_bin, tmp_path, net, name, fmt="events"):
    net.save(tmp_path / f"{name}.toml")
    ext = {"events": "npz", "sonata": "h5"}[fmt]
    out = tmp_path / f"{name}.{ext}"
    proc = subprocess.run([str(lifsim_bin), "run", str(tmp_path / f"{name}.toml"), "--format", fmt,
                           "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def info(lifsim_bin, path):
    proc = subprocess.run([str(lifsim_bin), "info", str(path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_info_and_read_spikes_rate_over_the_recorded_neurons(lifsim_bin, tmp_path):
    out = run(lifsim_bin, tmp_path, network(True), "sub")
    with np.load(out) as z:
        np.testing.assert_array_equal(z["recorded_starts"], [0, 165, 172])
        np.testing.assert_array_equal(z["recorded_stops"], [30, 168, 173])
        ids, duration = z["ids"], float(z["steps"]) * float(z["dt"])
    keep = np.r_[np.arange(30), 160 + np.array([5, 6, 7, 12])]
    assert np.isin(ids, keep).all() and len(ids) > 100
    rate = len(ids) / (len(keep) * duration * 1e-3)
    text = info(lifsim_bin, out)
    assert re.search(r"recorded\s+34 of 200 neurons", text), text
    assert re.search(rf"mean rate\s+{rate:.3f} Hz \(over the recorded neurons\)", text), text
    spikes = lifsim.read_spikes(out)
    np.testing.assert_array_equal(spikes.ids, ids)
    assert spikes.t_stop == pytest.approx(duration)
    np.testing.assert_array_equal(spikes.recorded["E"], np.arange(30))
    np.testing.assert_array_equal(spikes.recorded["I"], [165, 166, 167, 172])
    # Per population: NumPy's count over the recorded neurons of each.
    for name, lo, hi, k in (("E", 0, 160, 30), ("I", 160, 200, 4)):
        count = np.count_nonzero((ids >= lo) & (ids < hi))
        assert spikes.rates()[name] == pytest.approx(count / (k * duration * 1e-3), rel=1e-12)
    # Python's own run of the same network agrees with the file.
    sim = network(True).build()
    mine = sim.run()
    np.testing.assert_array_equal(mine.ids, spikes.ids)
    assert mine.rates() == pytest.approx(spikes.rates(), rel=1e-12)
    assert {k: list(v) for k, v in mine.recorded.items()} == {k: list(v) for k, v in spikes.recorded.items()}


def test_every_neuron_recorded_writes_no_recorded_arrays(lifsim_bin, tmp_path):
    out = run(lifsim_bin, tmp_path, network(False), "full")
    with np.load(out) as z:
        assert not any(k.startswith("recorded") for k in z.files)
        n, ids, duration = int(z["n"]), z["ids"], float(z["steps"]) * float(z["dt"])
    text = info(lifsim_bin, out)
    assert not re.search(r"^\s+recorded\s", text, re.M), text
    assert re.search(rf"mean rate\s+{len(ids) / (n * duration * 1e-3):.3f} Hz\n", text), text
    assert lifsim.read_spikes(out).recorded is None


def test_sonata_files_say_which_neurons_they_hold(lifsim_bin, tmp_path):
    h5py = pytest.importorskip("h5py")
    out = run(lifsim_bin, tmp_path, network(True), "sub", fmt="sonata")
    with h5py.File(out) as f:
        group = f["spikes/lifsim"]
        np.testing.assert_array_equal(group.attrs["lifsim_recorded_starts"], [0, 165, 172])
        np.testing.assert_array_equal(group.attrs["lifsim_recorded_stops"], [30, 168, 173])
    # The Python package is built without HDF5: it says so, naming the file.
    with pytest.raises(ValueError, match=r"sub\.h5: is an HDF5 file; this lifsim was built without HDF5 support"):
        lifsim.read_spikes(out)
