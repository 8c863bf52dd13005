"""lifsim's iaf_psc_alpha and iaf_cond_exp neurons against NEST 3.10 (issue 12).

tests/fixtures/nest_models.json was written by tests/fixtures/make_nest_fixture.py
(NEST's iaf_psc_alpha and iaf_cond_exp under constant currents, spike_generator
inputs of both signs, refractoriness with t_ref 0 and > 0, small recurrent
circuits, and iaf_psc_alpha with tau_syn equal to tau_m, where NEST's propagator
switches to its singular formulas; dt = 0.1 ms, 300 ms). Each case becomes a
lifsim network file, one population per neuron, with NEST's units converted:

- iaf_psc_alpha: r = tau_m / C_m (x1000: MOhm), currents pA -> nA, weights
  (the alpha PSC's peak, pA) -> nA with `synapse = "alpha"` and the tau_syn of
  the port NEST picks by the weight's sign (tau_syn_ex for w > 0, else tau_syn_in).
- iaf_cond_exp: r = 1000 / g_L (MOhm), tau_m = C_m / g_L (ms), currents
  pA -> nA, a weight w (nS) -> `synapse = "conductance"`, |w| / 1000 uS, with
  e_rev = E_ex, tau_syn = tau_syn_ex for w > 0 and E_in, tau_syn_in for w < 0.

iaf_psc_alpha: lifsim uses NEST's exact propagators in NEST's order, so the
spike steps must be NEST's, exactly.

iaf_cond_exp: NEST integrates each 0.1 ms step with GSL's adaptive RKF45
(absolute tolerance 1e-3), lifsim with one exponential-Euler step on the
step-averaged conductances (conductances decaying exactly; see
crates/core/src/neuron/iaf_cond_exp.rs), so their potentials differ by the two
integration errors and a spike may move by a step where V passes threshold
within that error. test_references_reproduce_nest measures both: a classical
RK4-at-dt reference written here reproduces NEST's V_m trace to 2.0e-6 mV (the
trace is stored to 1e-6 mV) and every NEST spike step, and at the end of a
non-refractory step no fixture neuron is closer to threshold, on either side,
than 9.1e-5 mV; lifsim's method, written here the same way, is within 6.2e-4 mV
of NEST's V_m (its error is second order in dt, RK4's fourth) and still gives
every NEST spike step. The test allows each spike to move by one step (0.1 ms)
and no spike to appear or vanish (the same count per neuron), and prints the
error it measured (`pytest -s`). Measured with the exponential-Euler method
(2026-12-04): NEST's step for all 168 iaf_cond_exp spikes, max |t_lifsim -
t_nest| = 0.0 ms (the RK4 step lifsim used before gave the same).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from test_network_nest import run_network, toml_value

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nest_models.json"
DATA = json.loads(FIXTURE.read_text())
DT = DATA["dt"]
STEPS = int(round(DATA["t_sim"] / DT))
ALPHA_CASES = [c for c in DATA["cases"] if c["neurons"][0]["model"] == "iaf_psc_alpha"]
COND_CASES = [c for c in DATA["cases"] if c["neurons"][0]["model"] == "iaf_cond_exp"]
# The iaf_cond_exp bound (see the module doc): each spike within one step of NEST's.
COND_MAX_SHIFT_MS = 0.1


def population(name, neuron):
    """The lifsim population lines (a dict) of one NEST neuron."""
    p = neuron["params"]
    pop = {"name": name, "size": 1, "model": neuron["model"]}
    if neuron["model"] == "iaf_psc_alpha":
        pop["tau_m"] = p["tau_m"]
        pop["r"] = p["tau_m"] / p["C_m"] * 1000.0  # ms / pF = GOhm -> MOhm
    elif neuron["model"] == "iaf_cond_exp":
        pop["tau_m"] = p["C_m"] / p["g_L"]  # pF / nS = ms
        pop["r"] = 1000.0 / p["g_L"]  # 1 / nS = GOhm -> MOhm
    else:
        raise ValueError(neuron["model"])
    pop.update({"v_rest": p["E_L"], "v_reset": p["V_reset"], "v_thresh": p["V_th"],
                "t_ref": p["t_ref"], "i_ext": p["I_e"] / 1000.0, "v0": p["V_m"]})
    return pop


def synapse(neuron, weight):
    """The lifsim synapse lines of a NEST connection of `weight` onto `neuron`."""
    p = neuron["params"]
    if neuron["model"] == "iaf_psc_alpha":
        tau = p["tau_syn_ex"] if weight > 0 else p["tau_syn_in"]
        return {"weight": weight / 1000.0, "synapse": "alpha", "tau_syn": tau}
    if weight > 0:
        return {"weight": weight / 1000.0, "synapse": "conductance",
                "tau_syn": p["tau_syn_ex"], "e_rev": p["E_ex"]}
    return {"weight": -weight / 1000.0, "synapse": "conductance",
            "tau_syn": p["tau_syn_in"], "e_rev": p["E_in"]}


def lines_of(table):
    return [f"{k} = {v if k == 'size' else toml_value(v)}" for k, v in table.items()]


def network_file(case):
    lines = [f"dt = {DT}", f"duration = {DATA['t_sim']}", "seed = 1", ""]
    names = [f"n{i}" for i in range(len(case["neurons"]))]
    for name, neuron in zip(names, case["neurons"]):
        lines += ["[[population]]"] + lines_of(population(name, neuron)) + [""]
    for g in case["generators"]:
        for t in g["targets"]:
            lines += ["[[input]]", 'type = "spike_generator"']
            lines += lines_of({"target": names[t], "times": g["times"], "delay": g["delay"]})
            lines += lines_of(synapse(case["neurons"][t], g["weight"])) + [""]
    for c in case["connections"]:
        lines += ["[[projection]]", 'rule = "one_to_one"']
        lines += lines_of({"source": names[c["source"]], "target": names[c["target"]],
                           "delay": c["delay"]})
        lines += lines_of(synapse(case["neurons"][c["target"]], c["weight"])) + [""]
    return "\n".join(lines)


def steps_of(times):
    return np.round(np.asarray(times, dtype=float) / DT).astype(np.int64).tolist()


def lifsim_steps(lifsim_bin, tmp_path, case):
    tmp_path.mkdir(parents=True, exist_ok=True)
    got = run_network(lifsim_bin, tmp_path, network_file(case))
    return [steps_of(got["times"][got["ids"] == i]) for i in range(len(case["neurons"]))]


@pytest.mark.parametrize("case", ALPHA_CASES, ids=[c["name"] for c in ALPHA_CASES])
def test_iaf_psc_alpha_spike_steps_equal_nest(lifsim_bin, tmp_path, case):
    got = lifsim_steps(lifsim_bin, tmp_path, case)
    for i, want in enumerate(case["spike_times"]):
        want = steps_of(want)
        assert got[i] == want, (
            f"{case['name']} neuron {i}: lifsim {np.asarray(got[i][:8]) * DT} "
            f"vs NEST {np.asarray(want[:8]) * DT} (ms)"
        )


def test_iaf_cond_exp_spike_times_within_bound_of_nest(lifsim_bin, tmp_path):
    """Every case, then the statistics of all of them, then the bound (module doc)."""
    failures, shifts_all, moved_all, total = [], [], 0, 0
    print(f"\niaf_cond_exp: lifsim (exponential Euler at dt = {DT} ms) against NEST {DATA['nest_version']}"
          " (RKF45, abs. tolerance 1e-3)")
    for case in COND_CASES:
        got = lifsim_steps(lifsim_bin, tmp_path / case["name"], case)
        case_shift, case_moved, case_n = 0, 0, 0
        for i, want in enumerate(case["spike_times"]):
            want = steps_of(want)
            case_n += len(want)
            if len(got[i]) != len(want):
                failures.append(f"{case['name']} neuron {i}: {len(got[i])} spikes, NEST "
                                f"{len(want)}; lifsim {np.asarray(got[i]) * DT}, NEST "
                                f"{np.asarray(want) * DT} (ms)")
                continue
            d = np.abs(np.asarray(got[i]) - np.asarray(want)) * DT
            shifts_all += d.tolist()
            case_moved += int(np.count_nonzero(d))
            case_shift = max(case_shift, float(d.max(initial=0.0)))
            for k in np.flatnonzero(d > COND_MAX_SHIFT_MS + 1e-9):
                failures.append(f"{case['name']} neuron {i} spike {k}: lifsim "
                                f"{got[i][k] * DT:.1f} ms, NEST {want[k] * DT:.1f} ms")
        moved_all += case_moved
        total += case_n
        print(f"  {case['name']}: {case_n} NEST spikes, max |t_lifsim - t_nest| = "
              f"{case_shift:.1f} ms, {case_moved} on another step")
    overall = max(shifts_all, default=0.0)
    mean = float(np.mean(shifts_all)) if shifts_all else 0.0
    print(f"  overall: {total} spikes, max |t_lifsim - t_nest| = {overall:.1f} ms, "
          f"mean {mean:.4f} ms, {moved_all} on another step; bound {COND_MAX_SHIFT_MS} ms, "
          "same counts")
    assert not failures, "\n".join(failures)


# -- References written from NEST's model code, checking the fixture (and so the bound)
#    without lifsim: they reproduce NEST's spike steps and its V_m trace.

def psc_alpha_reference(case):
    """NEST 3.10's iaf_psc_alpha::update in Python: IAFPropagatorAlpha (with its
    singular branch), the alpha PSCs' two-variable propagation, the order of
    update (V, then the PSCs take the step's input, then the threshold)."""
    neurons = case["neurons"]
    n = len(neurons)
    arrivals = np.zeros((n, 2, STEPS + 1000))  # [neuron, port (0 ex, 1 in), step]

    def deliver(step, target, weight):  # a spike emitted in step `step` (0-based)
        arrivals[target, 0 if weight > 0 else 1, step] += weight

    for g in case["generators"]:
        d = int(round(g["delay"] / DT))
        for t in g["times"]:
            for tgt in g["targets"]:
                deliver(int(round(t / DT)) + d - 1, tgt, g["weight"])
    h, state, spikes = DT, [], [[] for _ in range(n)]
    for nrn in neurons:
        p = nrn["params"]
        tau_m, c_m, taus = p["tau_m"], p["C_m"], (p["tau_syn_ex"], p["tau_syn_in"])
        props = []
        for tau_s in taus:
            beta = tau_s * tau_m / (tau_m - tau_s) if tau_m != tau_s else math.inf
            gamma, inv_beta = beta / c_m, (tau_m - tau_s) / (tau_s * tau_m)
            h_min = 1e-7 * tau_m ** 2 / abs(tau_m - tau_s) if tau_m != tau_s else math.inf
            e_s, em1 = math.exp(-h / tau_s), math.expm1(h * inv_beta)
            p32 = gamma * e_s * em1
            if not (math.isfinite(p32) and p32 > 2.2250738585072014e-308):
                p32 = h / c_m * math.exp(-h / tau_m)
            p31 = (gamma * e_s * (beta * em1 - h) if h > h_min
                   else 0.5 * h * h / c_m * math.exp(-h / tau_m))
            props.append((math.exp(-h / tau_s), h * math.exp(-h / tau_s), p31, p32,
                          math.e / tau_s))
        state.append({"p": p, "props": props, "y3": p["V_m"] - p["E_L"], "r": 0,
                      "I": [0.0, 0.0], "dI": [0.0, 0.0],
                      "P30": -tau_m / c_m * math.expm1(-h / tau_m),
                      "em1": math.expm1(-h / tau_m), "R": int(round(p["t_ref"] / h))})
    for step in range(STEPS):
        for i, s in enumerate(state):
            p = s["p"]
            if s["r"] == 0:
                s["y3"] = (s["P30"] * p["I_e"]
                           + sum(s["props"][k][2] * s["dI"][k] + s["props"][k][3] * s["I"][k]
                                 for k in (0, 1))
                           + s["em1"] * s["y3"] + s["y3"])
            else:
                s["r"] -= 1
            for k, (p11, p21, _, _, init) in enumerate(s["props"]):
                s["I"][k] = p21 * s["dI"][k] + p11 * s["I"][k]
                s["dI"][k] = s["dI"][k] * p11 + init * arrivals[i, k, step]
            if s["y3"] >= p["V_th"] - p["E_L"]:
                s["r"], s["y3"] = s["R"], p["V_reset"] - p["E_L"]
                spikes[i].append(step + 1)
                for c in case["connections"]:
                    if c["source"] == i:
                        deliver(step + int(round(c["delay"] / DT)), c["target"], c["weight"])
    return spikes


def cond_exp_reference(case, method="rk4"):
    """iaf_cond_exp integrated with one step of V per dt, the conductances
    decaying exactly inside it: classical RK4 (`rk4`), or lifsim's exponential
    Euler on the step-averaged conductances (`expeuler`, with math.expm1);
    NEST's order (integrate, add the step's conductance jumps, refractory hold
    or threshold). Returns the spike steps, V at every step end (after a reset,
    as NEST's multimeter) and the smallest |V - V_th| at the end of a
    non-refractory step."""
    neurons = case["neurons"]
    n = len(neurons)
    arrivals = np.zeros((n, 2, STEPS + 1000))

    def deliver(step, target, weight):
        arrivals[target, 0 if weight > 0 else 1, step] += abs(weight)

    for g in case["generators"]:
        d = int(round(g["delay"] / DT))
        for t in g["times"]:
            for tgt in g["targets"]:
                deliver(int(round(t / DT)) + d - 1, tgt, g["weight"])
    params = [nrn["params"] for nrn in neurons]
    v = [p["V_m"] for p in params]
    g = [[0.0, 0.0] for _ in range(n)]
    r = [0] * n
    spikes, trace, margin = [[] for _ in range(n)], [[] for _ in range(n)], math.inf
    h = DT
    for step in range(STEPS):
        for i, p in enumerate(params):
            taus, e_rev = (p["tau_syn_ex"], p["tau_syn_in"]), (p["E_ex"], p["E_in"])
            if r[i] == 0 and method == "expeuler":
                # V' = V + h (b - a min(V, V_th)) (1 - e^{-a h}) / (a h), a and b
                # from the conductances' exact averages over the step.
                avg = [g[i][k] * taus[k] * -math.expm1(-h / taus[k]) / h for k in (0, 1)]
                a = (p["g_L"] + sum(avg)) / p["C_m"]
                b = (p["g_L"] * p["E_L"] + sum(avg[k] * e_rev[k] for k in (0, 1))
                     + p["I_e"]) / p["C_m"]
                v[i] += h * (b - a * min(v[i], p["V_th"])) * -math.expm1(-a * h) / (a * h)
            elif r[i] == 0:
                def f(x, t, i=i, p=p, taus=taus, e_rev=e_rev):
                    syn = sum(g[i][k] * math.exp(-t / taus[k]) * (e_rev[k] - x) for k in (0, 1))
                    return (-p["g_L"] * (x - p["E_L"]) + syn + p["I_e"]) / p["C_m"]
                k1 = f(v[i], 0.0)
                k2 = f(v[i] + h / 2 * k1, h / 2)
                k3 = f(v[i] + h / 2 * k2, h / 2)
                k4 = f(v[i] + h * k3, h)
                v[i] += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            for k in (0, 1):
                g[i][k] = g[i][k] * math.exp(-h / taus[k]) + arrivals[i, k, step]
            if r[i] > 0:
                r[i] -= 1
                v[i] = p["V_reset"]
            else:
                margin = min(margin, abs(v[i] - p["V_th"]))
                if v[i] >= p["V_th"]:
                    r[i], v[i] = int(round(p["t_ref"] / h)), p["V_reset"]
                    spikes[i].append(step + 1)
                    for c in case["connections"]:
                        if c["source"] == i:
                            deliver(step + int(round(c["delay"] / DT)), c["target"], c["weight"])
            trace[i].append(v[i])
    return spikes, trace, margin


def test_references_reproduce_nest():
    """The fixture is what the module doc says NEST does, and the numbers behind
    the iaf_cond_exp bound: NEST's V_m against RK4 and against lifsim's
    exponential Euler at dt, and the threshold margin."""
    for case in ALPHA_CASES:
        got = psc_alpha_reference(case)
        for i, want in enumerate(case["spike_times"]):
            assert got[i] == steps_of(want), f"{case['name']} neuron {i}"
    worst = {"rk4": 0.0, "expeuler": 0.0}
    margin = math.inf
    for method in worst:
        for case in COND_CASES:
            got, trace, m = cond_exp_reference(case, method)
            if method == "rk4":
                margin = min(margin, m)
            for i, want in enumerate(case["spike_times"]):
                assert got[i] == steps_of(want), f"{method} {case['name']} neuron {i}"
                dv = np.abs(np.asarray(trace[i]) - np.asarray(case["neurons"][i]["v_m"]))
                worst[method] = max(worst[method], float(dv.max()))
    print(f"\nRK4-at-dt reference against NEST's iaf_cond_exp: max |dV| = {worst['rk4']:.2e} mV "
          f"(V_m stored to 1e-6 mV); closest step-end approach to threshold {margin:.2e} mV; "
          f"exponential Euler (lifsim's method): max |dV| = {worst['expeuler']:.2e} mV")
    assert worst["rk4"] < 5e-6
    assert margin > 10 * worst["rk4"]  # so one-step shifts need an error far above NEST's
    assert worst["expeuler"] < 1e-3  # measured 6.2e-4 mV


def test_fixture_covers_what_it_claims():
    assert DATA["nest_version"].startswith("3.10")
    names = {c["name"] for c in DATA["cases"]}
    for short in ("alpha", "cond"):
        assert {f"{short}_dc", f"{short}_generators", f"{short}_circuit"} <= names
    assert "alpha_tau_syn_equals_tau_m" in names
    for model, cases in (("iaf_psc_alpha", ALPHA_CASES), ("iaf_cond_exp", COND_CASES)):
        assert len(cases) >= 3
        assert all(n["model"] == model for c in cases for n in c["neurons"])
        t_refs = {n["params"]["t_ref"] for c in cases for n in c["neurons"]}
        assert 0.0 in t_refs and len(t_refs) > 2, t_refs  # refractoriness with and without
        weights = [g["weight"] for c in cases for g in c["generators"]]
        weights += [x["weight"] for c in cases for x in c["connections"]]
        assert min(weights) < 0 < max(weights)  # excitatory and inhibitory inputs
        assert any(c["connections"] for c in cases)  # a recurrent circuit
        assert all(g["delay"] >= DT for c in cases for g in c["generators"])
        assert all(x["delay"] >= DT for c in cases for x in c["connections"])
        for c in cases:
            assert all(len(s) > 0 for s in c["spike_times"]), f"{c['name']}: every neuron fires"
    taus = {(n["params"]["tau_m"], n["params"]["tau_syn_ex"])
            for c in ALPHA_CASES for n in c["neurons"]}
    assert any(tm == ts for tm, ts in taus)  # the singular propagator
    for c in COND_CASES:
        assert all(len(n["v_m"]) == STEPS for n in c["neurons"])
