"""lifsim's firing rates on examples/coba.toml and examples/brunel_alpha.toml against
NEST's and Brian2's on the same networks (issue 12: within 10 %).

The peers' rates were measured once with bench/peers/ (nest_coba.py, brian2_coba.py,
nest_brunel_alpha.py; one thread each) and are stored, with the versions, commands
and every run, in tests/fixtures/peer_rates.json: the mean over the seeds run there.
A 1 s coba rate moves by several per cent from one random network to the next
(the fixture lists each seed's), so lifsim's coba rate here is the mean of three
seeds too (about a second each); brunel_alpha (12,500 neurons) varies far less
between seeds and runs once, for the full 1 s, as the peers did.
"""

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RATES = json.loads((ROOT / "tests" / "fixtures" / "peer_rates.json").read_text())
TOLERANCE = 0.10
SEEDS = {"coba": (1, 2, 3), "brunel_alpha": (1,)}


def lifsim_rate(lifsim_bin, tmp_path, workload, seed):
    out, summary = tmp_path / f"{workload}-{seed}.npy", tmp_path / f"{workload}-{seed}.json"
    proc = subprocess.run(
        [str(lifsim_bin), "run", str(ROOT / "examples" / f"{workload}.toml"),
         "--seed", str(seed), "--threads", "2", "--format", "counts",
         "--out", str(out), "--json", str(summary), "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(summary.read_text())["rate_hz"]


@pytest.mark.parametrize("workload", ["coba", "brunel_alpha"])
def test_rate_within_10_percent_of_nest_and_brian2(lifsim_bin, tmp_path, workload):
    rates = [lifsim_rate(lifsim_bin, tmp_path, workload, s) for s in SEEDS[workload]]
    rate = sum(rates) / len(rates)
    peers = {k: v for k, v in RATES[workload].items() if isinstance(v, (int, float))}
    assert "nest" in peers and (workload != "coba" or "brian2" in peers), peers
    print(f"\n{workload}: lifsim {rate:.2f} Hz (seeds {list(SEEDS[workload])}: "
          + ", ".join(f"{r:.2f}" for r in rates) + ")  "
          + "  ".join(f"{k} {v:.2f} Hz ({(rate - v) / v * 100:+.1f} %)"
                      for k, v in peers.items()))
    for peer, want in peers.items():
        assert abs(rate - want) / want <= TOLERANCE, (
            f"{workload}: lifsim {rate:.3f} Hz, {peer} {want:.3f} Hz")


def test_fixture_says_where_its_rates_come_from():
    assert RATES["nest_version"].startswith("3.10")
    assert RATES["brian2_version"] == "2.9.0"
    for workload in ("coba", "brunel_alpha"):
        entry = RATES[workload]
        runs = entry["nest_runs"]
        assert runs and all(r["threads"] == 1 for r in runs)
        assert abs(entry["nest"] - sum(r["rate_hz"] for r in runs) / len(runs)) < 1e-9
        assert entry["command"]
    runs = RATES["coba"]["brian2_runs"]
    assert abs(RATES["coba"]["brian2"] - sum(r["rate_hz"] for r in runs) / len(runs)) < 1e-9
