"""lifsim's exact-integration neurons against spike times recorded from NEST 3.10.

tests/fixtures/nest_spikes.json was written once by tests/fixtures/make_nest_fixture.py
(NEST's iaf_psc_delta and iaf_psc_exp under constant currents, spike_generator
inputs and small recurrent circuits, dt = 0.1 ms). Each case becomes a lifsim
network file, one population per neuron, with NEST's units converted:
r = tau_m / C_m (GOhm -> x1000 MOhm), currents and exp-synapse weights pA -> nA,
delta weights in mV as in NEST. lifsim follows NEST's order of operations and
delay convention, so the spike times must be the same steps, exactly.
"""

import json
from pathlib import Path

import numpy as np
import pytest

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nest_spikes.json"
DATA = json.loads(FIXTURE.read_text())


def toml_value(x):
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, list):
        return "[" + ", ".join(toml_value(v) for v in x) + "]"
    return repr(float(x))


def synapse(model, weight, params):
    """The lifsim synapse lines of a NEST connection onto a neuron with `params`."""
    if model == "iaf_psc_delta":
        return {"weight": weight, "synapse": "delta"}
    tau = params["tau_syn_ex"] if weight >= 0 else params["tau_syn_in"]
    return {"weight": weight / 1000.0, "synapse": "exponential", "tau_syn": tau}


def network_file(case):
    lines = [f"dt = {DATA['dt']}", f"duration = {DATA['t_sim']}", "seed = 1", ""]
    names = [f"n{i}" for i in range(len(case["neurons"]))]
    for name, neuron in zip(names, case["neurons"]):
        p = neuron["params"]
        pop = {
            "name": name, "size": 1, "tau_m": p["tau_m"], "v_rest": p["E_L"],
            "v_reset": p["V_reset"], "v_thresh": p["V_th"], "t_ref": p["t_ref"],
            "r": p["tau_m"] / p["C_m"] * 1000.0, "i_ext": p["I_e"] / 1000.0,
            "v0": p["V_m"], "integration": "exact",
        }
        lines.append("[[population]]")
        lines += [f"{k} = {toml_value(v) if k != 'size' else v}" for k, v in pop.items()]
        lines.append("")
    for g in case["generators"]:
        for t in g["targets"]:
            n = case["neurons"][t]
            lines.append("[[input]]")
            lines.append('type = "spike_generator"')
            lines.append(f"target = {toml_value(names[t])}")
            lines.append(f"times = {toml_value(g['times'])}")
            lines.append(f"delay = {toml_value(g['delay'])}")
            for k, v in synapse(n["model"], g["weight"], n["params"]).items():
                lines.append(f"{k} = {toml_value(v)}")
            lines.append("")
    for c in case["connections"]:
        n = case["neurons"][c["target"]]
        lines.append("[[projection]]")
        lines.append(f"source = {toml_value(names[c['source']])}")
        lines.append(f"target = {toml_value(names[c['target']])}")
        lines.append('rule = "one_to_one"')
        lines.append(f"delay = {toml_value(c['delay'])}")
        for k, v in synapse(n["model"], c["weight"], n["params"]).items():
            lines.append(f"{k} = {toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def run_network(lifsim_bin, tmp_path, text, *flags):
    import subprocess

    net = tmp_path / "net.toml"
    net.write_text(text)
    out = tmp_path / "spikes.npz"
    proc = subprocess.run(
        [str(lifsim_bin), "run", str(net), "--out", str(out), "--format", "events", *flags],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(np.load(out))


@pytest.mark.parametrize("case", DATA["cases"], ids=[c["name"] for c in DATA["cases"]])
def test_spike_times_equal_nest(lifsim_bin, tmp_path, case):
    got = run_network(lifsim_bin, tmp_path, network_file(case))
    dt = DATA["dt"]
    for i, want in enumerate(case["spike_times"]):
        want_steps = np.round(np.asarray(want) / dt).astype(np.int64)
        got_steps = np.round(got["times"][got["ids"] == i] / dt).astype(np.int64)
        assert len(want_steps) > 0, "every fixture neuron fires"
        assert got_steps.tolist() == want_steps.tolist(), (
            f"{case['name']} neuron {i}: lifsim {got_steps[:8] * dt} vs NEST {want_steps[:8] * dt}"
        )


def test_fixture_covers_what_it_claims():
    names = {c["name"] for c in DATA["cases"]}
    for model in ("delta", "exp"):
        assert {f"{model}_dc", f"{model}_generators", f"{model}_circuit"} <= names
    # Refractoriness with and without, inputs and connections, both models.
    t_refs = {n["params"]["t_ref"] for c in DATA["cases"] for n in c["neurons"]}
    assert 0.0 in t_refs and len(t_refs) > 2
    assert DATA["nest_version"].startswith("3.")
