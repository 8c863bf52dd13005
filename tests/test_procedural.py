"""Procedural connectivity through the CLI (`lifsim run NET --connectivity
procedural`, `connectivity = "procedural"` in a network file, the generators'
`--procedural`): the same spike file as the stored run, bit for bit, on a
scaled PD14 microcircuit (fixed_total_number, drawn weights and delays) and a
scaled `scale` network (fixed_outdegree); and the errors for what cannot be
procedural, one line each, exit status 2.
"""

import subprocess
from pathlib import Path

import numpy as np
from conftest import run_generator

ROOT = Path(__file__).resolve().parent.parent
MICROCIRCUIT = ROOT / "examples" / "make_microcircuit.py"
SCALE = ROOT / "examples" / "make_scale.py"


def run(lifsim_bin, tmp_path, net, tag, *flags, threads=2):
    """`lifsim run NET FLAGS` with events out: (times, ids, peak RSS bytes)."""
    out, summary = tmp_path / f"{tag}.npz", tmp_path / f"{tag}.json"
    proc = subprocess.run(
        [str(lifsim_bin), "run", str(net), "--threads", str(threads), "--format", "events",
         "--out", str(out), "--json", str(summary), "--quiet", *flags],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    spikes = np.load(out)
    return spikes["times"], spikes["ids"]


def same(a, b):
    assert len(a[0]) > 0
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_a_scaled_microcircuit_spikes_the_same_procedural_and_stored(lifsim_bin, tmp_path):
    net = run_generator(MICROCIRCUIT, tmp_path, "mc.toml", "--n-scaling", "0.1",
                        "--k-scaling", "0.2", "--duration", "300")
    stored = run(lifsim_bin, tmp_path, net, "stored")
    assert len(stored[0]) > 1000, len(stored[0])
    same(run(lifsim_bin, tmp_path, net, "flag", "--connectivity", "procedural"), stored)
    same(run(lifsim_bin, tmp_path, net, "flag1", "--connectivity", "procedural", threads=1),
         stored)
    # The generator's --procedural writes the network's key; --connectivity
    # stored overrides it.
    proc_net = run_generator(MICROCIRCUIT, tmp_path, "mcp.toml", "--n-scaling", "0.1",
                             "--k-scaling", "0.2", "--duration", "300", "--procedural")
    assert 'connectivity = "procedural"' in proc_net.read_text()
    same(run(lifsim_bin, tmp_path, proc_net, "file"), stored)
    same(run(lifsim_bin, tmp_path, proc_net, "back", "--connectivity", "stored"), stored)


def test_a_scaled_scale_network_spikes_the_same_procedural_and_stored(lifsim_bin, tmp_path):
    net = run_generator(SCALE, tmp_path, "scale.toml", "--scale", "0.005", "--procedural")
    text = net.read_text().replace("duration = 1000.0", "duration = 100.0")
    net.write_text(text)
    assert text.count('rule = "fixed_outdegree"') == 2
    procedural = run(lifsim_bin, tmp_path, net, "procedural")
    assert len(procedural[0]) > 1000, len(procedural[0])
    same(run(lifsim_bin, tmp_path, net, "stored", "--connectivity", "stored"), procedural)


def error(lifsim_bin, tmp_path, *args):
    proc = subprocess.run([str(lifsim_bin), *map(str, args)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_what_cannot_be_procedural_is_refused(lifsim_bin, tmp_path):
    brunel = ROOT / "examples" / "brunel.toml"
    msg = error(lifsim_bin, tmp_path, "run", brunel, "--connectivity", "procedural",
                "--out", "o.npz")
    assert msg.startswith("lifsim: error: invalid parameter connectivity: projection 1 (E -> E, I): "
                          "procedural connectivity draws a source's synapses again when it fires, "
                          "and rule \"fixed_indegree\" draws each target's sources"), msg
    msg = error(lifsim_bin, tmp_path, "run", brunel, "--connectivity", "lazy", "--out", "o.npz")
    assert msg == ('lifsim: error: invalid parameter connectivity: must be "stored", "dense" or '
                   '"procedural", got "lazy"'), msg
    msg = error(lifsim_bin, tmp_path, "run", "--weights", "w.npy", "--connectivity", "procedural",
                "--out", "o.npy")
    assert msg.startswith("lifsim: error: --connectivity is for network files"), msg
    assert not list(tmp_path.glob("o.*"))
