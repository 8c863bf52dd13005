"""lifsim.simulate against the parameter table (lifsim.PARAMETERS, the core's
lifsim_core::params): its keywords, their defaults (as the signature shows them
and as the call behaves without them), its docstring, and the checks it
shares with the CLI and network files."""

import inspect
import re
import subprocess

import numpy as np
import pytest

import lifsim
from conftest import dyadic_weights

# simulate's keywords that are not parameters of the run: `record` says what
# to keep (the CLI's --format / bench --record, with their own defaults).
NOT_PARAMETERS = {"record"}


def python_parameters():
    return {p["name"]: p for p in lifsim.PARAMETERS if "python" in p["fronts"]}


def test_the_table_is_exported_whole():
    assert isinstance(lifsim.PARAMETERS, tuple) and len(lifsim.PARAMETERS) >= 12
    kinds = {"number": float, "per_neuron": float, "count": int, "word": str, "file": str}
    for p in lifsim.PARAMETERS:
        assert set(p) == {"name", "unit", "kind", "default", "help", "fronts"}, p
        assert p["help"] and p["fronts"] and p["kind"] in kinds, p
        assert p["default"] is None or type(p["default"]) is kinds[p["kind"]], p
    names = [p["name"] for p in lifsim.PARAMETERS]
    assert len(names) == len(set(names))
    seed_run = {"dt", "t_max", "tau_m", "v_reset", "v_thresh", "r", "v_rest", "i_ext", "v0", "t_ref", "seed", "dtype"}
    assert seed_run <= set(python_parameters())


def test_simulate_signature_is_the_table():
    params = inspect.signature(lifsim.simulate).parameters
    first, *rest = params.values()
    assert first.name == "W" and first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    keywords = {p.name: p for p in rest}
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)
    table = python_parameters()
    assert set(keywords) - NOT_PARAMETERS == set(table)
    for name, p in table.items():
        default = keywords[name].default
        assert type(default) is type(p["default"]) and default == p["default"], (name, default, p["default"])


def active_case(name):
    """Keyword arguments of a small firing run in which `name` matters, without `name`."""
    kw = dict(t_max=40.0, i_ext=20.0, v0="uniform", seed=3)
    if name == "i_ext":
        # No drive: a quarter of the neurons start above threshold instead.
        kw["v0"] = np.where(np.arange(40) % 4 == 0, -49.0, -60.0)
    kw.pop(name, None)
    return kw


@pytest.mark.parametrize("name", sorted(python_parameters()))
def test_a_keyword_left_out_is_its_default(name):
    w = dyadic_weights(40, 64.0, seed=5)
    kw = active_case(name)
    default = python_parameters()[name]["default"]
    left_out = lifsim.simulate(w, **kw, record="dense")
    given = lifsim.simulate(w, **kw, **{name: default}, record="dense")
    assert left_out.num_spikes > 0
    assert (left_out.steps, left_out.dt, left_out.dtype) == (given.steps, given.dt, given.dtype)
    np.testing.assert_array_equal(left_out.spikes, given.spikes)


def test_the_docstring_documents_every_parameter_with_its_unit():
    doc = lifsim.simulate.__doc__
    for name, p in python_parameters().items():
        m = re.search(rf"^{re.escape(name)} : .*\n((?:    .*\n)+)", doc, re.M)
        assert m, f"simulate's docstring has no entry for {name}"
        if p["unit"]:
            assert p["unit"] in m.group(1), (name, p["unit"], m.group(1))


def test_the_seed_runs_step_rule():
    # ceil(t_max / dt) - 1 = len(np.arange(0, t_max, dt)) - 1 (network files round instead).
    w = np.zeros((3, 3))
    for t_max, dt in [(100.0, 0.01), (0.3, 0.1), (37.3, 0.1), (1.0, 1.0)]:
        res = lifsim.simulate(w, t_max=t_max, dt=dt, record="counts")
        assert res.steps == len(np.arange(0, t_max, dt)) - 1 == int(np.ceil(t_max / dt)) - 1


@pytest.mark.parametrize("r", [0, -1])
def test_r_must_be_positive_as_in_network_files(lifsim_bin, tmp_path, r):
    w = dyadic_weights(4, 8.0, seed=0)
    path = tmp_path / "w.npy"
    np.save(path, w)
    message = f"invalid parameter r: must be > 0 MOhm, got {r}"
    with pytest.raises(ValueError) as err:
        lifsim.simulate(w, r=float(r))
    assert str(err.value) == message
    proc = subprocess.run([str(lifsim_bin), "run", "--weights", str(path), "--out", str(tmp_path / "s.npy"),
                           "--r", str(r)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == f"lifsim: error: {message}"
    net = tmp_path / "net.toml"
    net.write_text(f'duration = 1.0\n[[population]]\nname = "E"\nsize = 2\nr = {r}\n')
    proc = subprocess.run([str(lifsim_bin), "run", str(net), "--out", str(tmp_path / "s.npz")],
                          capture_output=True, text=True)
    assert proc.stderr.strip() == f'lifsim: error: {net}: invalid parameter r: population "E": must be > 0 MOhm, got {r}'
    assert not (tmp_path / "s.npy").exists() and not (tmp_path / "s.npz").exists()
