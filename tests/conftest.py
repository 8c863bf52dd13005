"""Shared fixtures: the lifsim binary, the NumPy reference, dyadic weights."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "reference"))


@pytest.fixture(scope="session")
def lifsim_bin():
    path = Path(os.environ.get("LIFSIM_BIN", ROOT / "target" / "release" / "lifsim"))
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "lifsim"], cwd=ROOT, check=True)
    return path


def dyadic_weights(n, scale, seed, density=1.0):
    """N x N weights on a 1/64 grid: every synaptic sum is exact in any order,
    so lifsim and NumPy's BLAS must agree bit for bit."""
    rng = np.random.default_rng(seed)
    w = np.round(rng.normal(0.0, scale, (n, n)) * 64) / 64
    if density < 1.0:
        w *= rng.random((n, n)) < density
    return w


def run_generator(generator, tmp_path, name, *flags):
    """`python GENERATOR FLAGS --out TMP/NAME` (an examples/make_*.py script): the file."""
    out = tmp_path / name
    proc = subprocess.run([sys.executable, str(generator), *map(str, flags), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def run_network(lifsim_bin, tmp_path, net, threads):
    """`lifsim run NET --threads THREADS` with events out: (spikes dict, --json summary)."""
    out, summary = tmp_path / f"s{threads}.npz", tmp_path / f"s{threads}.json"
    proc = subprocess.run(
        [str(lifsim_bin), "run", str(net), "--threads", str(threads), "--format", "events",
         "--out", str(out), "--json", str(summary), "--quiet"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return dict(np.load(out)), json.loads(summary.read_text())


@pytest.fixture
def run_cli(lifsim_bin, tmp_path):
    """Runs `lifsim run` with flags; returns the dense spike array it wrote."""

    def run(*flags, fmt="dense"):
        out = tmp_path / ("spikes.npy" if fmt == "dense" else "spikes.npz")
        cmd = [str(lifsim_bin), "run", "--format", fmt, "--out", str(out), *map(str, flags)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        return np.load(out) if fmt == "dense" else dict(np.load(out))

    return run
