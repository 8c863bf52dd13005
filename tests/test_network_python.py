"""Networks built in Python (examples/cuba.py, examples/brunel.py) against
`lifsim run` on the network files they mirror: the same spikes, bit for bit;
and what Network.save writes, `lifsim run` reads."""

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest

lifsim = pytest.importorskip("lifsim")

ROOT = Path(__file__).resolve().parent.parent


def example(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli_spikes(lifsim_bin, tmp_path, net_file, *flags):
    out = tmp_path / "cli.npz"
    proc = subprocess.run([str(lifsim_bin), "run", str(net_file), "--format", "events", "--out", str(out),
                           "--threads", "2", "--quiet", *map(str, flags)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return dict(np.load(out))


def assert_same(spikes, cli):
    assert len(spikes) == len(cli["ids"]) and len(spikes) > 0
    np.testing.assert_array_equal(spikes.ids, cli["ids"])
    assert np.array_equal(spikes.times, cli["times"]), "spike times differ"


def test_cuba_built_in_python_is_cuba_toml(lifsim_bin, tmp_path):
    net = example("cuba").cuba()
    assert net == lifsim.Network.load(ROOT / "examples" / "cuba.toml")
    spikes = net.run(threads=2)
    assert_same(spikes, cli_spikes(lifsim_bin, tmp_path, ROOT / "examples" / "cuba.toml"))
    rates = spikes.rates()
    assert set(rates) == {"E", "I"} and 3.0 < rates["E"] < 9.0


def test_brunel_built_in_python_is_brunel_toml(lifsim_bin, tmp_path):
    # The full network (12,500 neurons, 15.6M synapses) for 200 ms: a few
    # seconds; the description equals the file's for the whole second.
    net = example("brunel").brunel()
    assert net == lifsim.Network.load(ROOT / "examples" / "brunel.toml")
    spikes = net.run(200.0, threads=2)
    # examples/brunel.toml itself, run for the same 200 ms.
    text = (ROOT / "examples" / "brunel.toml").read_text()
    assert text.count("duration = 1000.0") == 1
    short = tmp_path / "brunel.toml"
    short.write_text(text.replace("duration = 1000.0", "duration = 200.0"))
    assert_same(spikes, cli_spikes(lifsim_bin, tmp_path, short))


def test_a_saved_network_runs_in_the_cli_with_its_matrices(lifsim_bin, tmp_path):
    rng = np.random.default_rng(3)
    n = 40
    w = np.round(rng.normal(0.4, 1.0, (n, n)) * 16) / 16 * (rng.random((n, n)) < 0.3)
    net = lifsim.Network(dt=0.1, seed=2, duration=200.0)
    A = net.population("A", n, model="iaf_psc_delta", tau_m=10.0, v_rest=-70.0, v_reset=-70.0,
                       v_thresh=-55.0, r=40.0, t_ref=2.0,
                       i_ext=np.linspace(0.3, 0.42, n), v0=np.linspace(-70.0, -56.0, n))
    net.connect(A, A, matrix=w, delay=1.0, synapse="delta")
    spikes = net.run()
    assert len(spikes) > 50
    path = tmp_path / "sub" / "net.toml"
    path.parent.mkdir()
    net.save(path)
    assert (tmp_path / "sub" / "net.projection0.npy").exists()
    assert_same(spikes, cli_spikes(lifsim_bin, tmp_path, path))
    assert lifsim.Network.load(path).run().ids.tolist() == spikes.ids.tolist()
