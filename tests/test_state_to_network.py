"""A network file's `[record] state_to = "disk"` in a Python run
(Network.load, build): the file's state monitors stream together to
`<network name>.state.npz` in the current folder, the arrays `lifsim run`
writes to its `.state.npz` and bit for bit what in-memory monitors keep;
build(state_to=path) names the file, state_to=False keeps them in memory;
a name that is no file name raises, asking for a path."""

import os
import subprocess

import numpy as np
import pytest

lifsim = pytest.importorskip("lifsim")


def network_file(tmp_path, name="pynet", disk=True):
    net = lifsim.Network(dt=0.1, duration=100.0, seed=4, name=name)
    net.population("E", 160, v_rest=0.0, v_reset=10.0, v_thresh=20.0, t_ref=2.0, tau_m=20.0)
    net.population("I", 40, v_rest=0.0, v_reset=10.0, v_thresh=20.0, tau_m=10.0)
    net.connect(["E"], ["E", "I"], rule="fixed_indegree", indegree=20, weight=0.5, delay=1.5,
                synapse="exponential", tau_syn=2.0)
    net.connect("I", ["E", "I"], rule="fixed_indegree", indegree=10, weight=-2.0, delay=0.8,
                synapse="exponential", tau_syn=2.0)
    net.poisson(["E", "I"], 15000.0, 0.8, synapse="exponential", tau_syn=2.0)
    # Two monitors of E (E and E#2 in the file) and one of I.
    net.record_state("E", ["V_m", "I_syn"], ids=[3, 0, 17], interval=0.5)
    net.record_state("E", ["V_m"], n=2)
    net.record_state("I", ["V_m"], n=4, interval=1.0)
    text = net.to_toml()
    assert "[record]\n" in text and "state_to" not in text
    if disk:
        text = text.replace("[record]\n", '[record]\nstate_to = "disk"\n', 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def in_memory(path):
    sim = lifsim.Network.load(path).build(state_to=False)
    sim.run(60.0)
    sim.run(40.0)
    return sim


def test_state_to_disk_streams_to_the_networks_state_file(tmp_path, monkeypatch, lifsim_bin):
    path = network_file(tmp_path)
    run_dir = tmp_path / "here"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    net = lifsim.Network.load(path)
    sim = net.build()
    target = run_dir / "pynet.state.npz"
    assert all(os.path.isabs(m.path) for m in sim.monitors)
    a = sim.run(60.0)
    b = sim.run(40.0)
    assert all(os.path.samefile(m.path, target) for m in sim.monitors)
    kept = in_memory(path)
    spikes = kept.spikes()
    assert np.array_equal(np.concatenate([a.times, b.times]), spikes.times), "streaming changes no spike"
    with np.load(target) as z:
        assert sorted(z.files) == sorted(
            ["E/ids", "E/times_ms", "E/V_m", "E/I_syn", "E#2/ids", "E#2/times_ms", "E#2/V_m",
             "I/ids", "I/times_ms", "I/V_m"])
        for key, monitor in (("E", kept.monitors[0]), ("E#2", kept.monitors[1]), ("I", kept.monitors[2])):
            assert np.array_equal(z[f"{key}/times_ms"], monitor.times), key
            for var, values in monitor.values.items():
                assert np.array_equal(z[f"{key}/{var}"], values), (key, var)
    assert len(kept.monitors[0]) == 200 and len(kept.monitors[1]) == 1000 and len(kept.monitors[2]) == 100
    # The monitors read their own arrays from the shared file.
    for streamed, memory in zip(sim.monitors, kept.monitors):
        assert np.array_equal(streamed.times, memory.times)
        for var in memory.variables:
            assert np.array_equal(streamed[var], memory[var])
    # The same arrays as `lifsim run` writes beside its output.
    proc = subprocess.run([str(lifsim_bin), "run", str(path), "--out", str(tmp_path / "x.npz"), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with np.load(tmp_path / "x.state.npz") as cli, np.load(target) as py:
        assert sorted(cli.files) == sorted(py.files)
        for key in cli.files:
            assert np.array_equal(cli[key], py[key]), key


def test_a_path_or_false_overrides_the_network(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = network_file(tmp_path)
    sim = lifsim.Network.load(path).build(state_to=False)
    assert [m.path for m in sim.monitors] == [None] * 3
    sim.run(10.0)
    assert not (tmp_path / "pynet.state.npz").exists()
    # A network without state_to = "disk" streams where it is told.
    plain = network_file(tmp_path, name="plain", disk=False)
    sim = lifsim.Network.load(plain).build(state_to=tmp_path / "mine.npz")
    sim.run(10.0)
    with np.load(tmp_path / "mine.npz") as z:
        assert np.array_equal(z["I/V_m"], sim.monitors[2]["V_m"]) and len(z["I/times_ms"]) == 10
    assert not (tmp_path / "plain.state.npz").exists()
    sim = lifsim.Network.load(plain).build()
    assert [m.path for m in sim.monitors] == [None] * 3
    with pytest.raises(TypeError, match="state_to must be a file path, False or None, got int"):
        lifsim.Network.load(path).build(state_to=3)


def test_a_name_that_is_no_file_name_raises_asking_for_a_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = network_file(tmp_path)
    text = path.read_text()
    assert 'name = "pynet"' in text
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('name = "pynet"', 'name = ".."'))
    net = lifsim.Network.load(bad)
    with pytest.raises(ValueError, match=r'invalid parameter state_to: the network "\.\." streams its state '
                                         r'monitors to disk .* give the file: build\(state_to="v\.npz"\)'):
        net.build()
    sim = net.build(state_to=tmp_path / "v.npz")
    sim.run(5.0)
    assert (tmp_path / "v.npz").exists()
