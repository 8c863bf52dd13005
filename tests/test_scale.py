"""examples/scale.toml (SPEC section 3's `scale` workload) and its generator
examples/make_scale.py.

- The checked-in file is exactly what the generator writes with its defaults, and
  holds SPEC's numbers: 1,000,000 neurons (80 % E, 20 % I), in-degree 1,000
  (C_E = 800, C_I = 200), so 10^9 synapses, 1 s at dt 0.1 ms, and
  brunel_delta_nest.py's J = 0.1 mV, g = 5, delay 1.5 ms, t_ref 2 ms and
  p_rate = eta * theta / (J C_E tau_m) * C_E.
- A 1 % copy (10,000 neurons, the same in-degrees) runs through the CLI in a few
  seconds, gives the same spikes on 1 and 2 threads, has 10^7 synapses, and fires at
  Brunel (2000)'s mean-field rate for these in-degrees, computed here from the
  paper's equations (4, 5 and 21) independently of the generator, within 10 %
  (and inside SPEC's band). Each neuron's input statistics depend on the in-degrees
  only, so the full-size network's rate is the same (BENCHMARKS.md has it).
"""

import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_generator, run_network

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "examples" / "make_scale.py"
CHECKED_IN = ROOT / "examples" / "scale.toml"

# brunel_delta_nest.py (NEST 3.10) and SPEC section 3, typed in again here.
J, G, ETA, TAU_M, THETA, T_REF, DELAY, DT = 0.1, 5.0, 2.0, 20.0, 20.0, 2.0, 1.5, 0.1
C_E, C_I = 800, 200


def generate(tmp_path, *flags):
    return run_generator(GENERATOR, tmp_path, "scale.toml", *flags)


def brunel_rate_hz():
    """Brunel (2000): nu = phi(mu(nu), sigma(nu)) solved for nu, with
    mu = C_E J tau (nu_ext + nu (1 - g gamma)), sigma^2 = C_E J^2 tau (nu_ext + nu (1 + g^2 gamma)),
    1/phi = t_ref + tau sqrt(pi) int_{(V_r - mu)/sigma}^{(theta - mu)/sigma} e^{u^2} (1 + erf u) du."""
    gamma = C_I / C_E
    nu_ext = ETA * THETA / (J * C_E * TAU_M)
    erfc = np.frompyfunc(math.erfc, 1, 1)

    def phi(nu):
        mu = C_E * J * TAU_M * (nu_ext + nu * (1 - G * gamma))
        sigma = math.sqrt(C_E * J * J * TAU_M * (nu_ext + nu * (1 + G * G * gamma)))
        u = np.linspace(-mu / sigma, (THETA - mu) / sigma, 4001)  # Simpson, 4000 panels
        f = np.exp(u * u) * erfc(-u).astype(float)
        w = np.ones_like(u)
        w[1:-1:2], w[2:-1:2] = 4, 2
        integral = (u[1] - u[0]) / 3 * np.dot(w, f)
        return 1 / (T_REF + TAU_M * math.sqrt(math.pi) * integral)

    lo, hi = 1e-6, 1 / T_REF  # per ms: phi(nu) - nu changes sign once between
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if phi(mid) > mid else (lo, mid)
    return 1000 * (lo + hi) / 2


def test_checked_in_file_is_the_generators_output(tmp_path):
    assert generate(tmp_path).read_text() == CHECKED_IN.read_text()


def test_full_scale_file_holds_specs_numbers():
    net = tomllib.loads(CHECKED_IN.read_text())
    sizes = {p["name"]: p["size"] for p in net["population"]}
    assert sizes == {"E": 800_000, "I": 200_000}
    assert (net["dt"], net["duration"]) == (DT, 1000.0)
    for p in net["population"]:
        assert (p["tau_m"], p["v_thresh"], p["v_reset"], p["t_ref"]) == (TAU_M, THETA, 0.0, T_REF)
    proj = {p["source"]: p for p in net["projection"]}
    assert {s: p["indegree"] for s, p in proj.items()} == {"E": C_E, "I": C_I}
    assert sum(p["indegree"] for p in proj.values()) * sum(sizes.values()) == 10**9
    assert (proj["E"]["weight"], proj["I"]["weight"]) == (J, -G * J)
    assert all(p["rule"] == "fixed_indegree" and p["delay"] == DELAY for p in proj.values())
    assert all(p["target"] == ["E", "I"] for p in proj.values())
    (inp,) = net["input"]
    # p_rate = 1000 * eta * nu_th * C_E with nu_th = theta / (J C_E tau_m)
    assert inp["rate"] == pytest.approx(1000 * ETA * THETA / (J * C_E * TAU_M) * C_E)
    assert inp["weight"] == J


def test_generator_refuses_a_size_below_the_in_degrees(tmp_path):
    proc = subprocess.run([sys.executable, str(GENERATOR), "--scale", "1e-4",
                           "--out", str(tmp_path / "x.toml")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "in-degrees" in proc.stderr


def test_generators_mean_field_rate_is_brunels():
    proc = subprocess.run([sys.executable, str(GENERATOR), "--mean-field"],
                          capture_output=True, text=True, check=True)
    assert float(proc.stdout) == pytest.approx(brunel_rate_hz(), rel=1e-3)


def test_one_percent_copy_fires_at_brunels_rate_on_any_thread_count(lifsim_bin, tmp_path):
    net = generate(tmp_path, "--scale", "0.01")
    one, info = run_network(lifsim_bin, tmp_path, net, 1)
    two, info2 = run_network(lifsim_bin, tmp_path, net, 2)
    np.testing.assert_array_equal(one["ids"], two["ids"])
    np.testing.assert_array_equal(one["times"], two["times"])
    assert info["neurons"] == 10_000 and info["synapses"] == 10_000 * (C_E + C_I)
    assert info2["synapses"] == info["synapses"]
    # Constant weights and delays: a u32 target per synapse and nothing else.
    assert info["synapse_bytes"] < 4.1 * info["synapses"]
    expected = brunel_rate_hz()
    assert 5 <= expected <= 50
    # The stationary rate, after the first 100 ms (all neurons start at V = 0).
    late = one["times"] >= 100.0
    rate = late.sum() / 10_000 / 0.9
    assert rate == pytest.approx(expected, rel=0.10)
    for lo, hi in [(0, 8000), (8000, 10_000)]:  # E and I alike
        ids = one["ids"][late]
        pop = ((ids >= lo) & (ids < hi)).sum() / (hi - lo) / 0.9
        assert pop == pytest.approx(expected, rel=0.10)
