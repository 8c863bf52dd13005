"""Bad input raises ValueError / TypeError with the CLI's one-line messages."""

import subprocess

import numpy as np
import pytest

import lifsim
from conftest import dyadic_weights

GOOD = dyadic_weights(4, 8.0, seed=0)


def cli_error(lifsim_bin, *args):
    """The CLI's error message (after "lifsim: error: "); it must exit with status 2."""
    proc = subprocess.run([str(lifsim_bin), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("lifsim: error: "), line
    return line[len("lifsim: error: "):]


@pytest.mark.parametrize(
    "w",
    [
        np.zeros((2, 3)),
        np.zeros(3),
        np.zeros((2, 2, 2)),
        np.zeros((0, 0)),
        np.array([[1.0, np.nan], [0.0, 0.0]]),
        np.array([[0.0, 0.0], [-np.inf, 0.0]], dtype=np.float32),
    ],
    ids=["rectangular", "vector", "cube", "empty", "nan", "inf-float32"],
)
def test_bad_weights_are_value_errors_worded_as_the_cli(lifsim_bin, tmp_path, w):
    path = tmp_path / "w.npy"
    np.save(path, w)
    cli = cli_error(lifsim_bin, "run", "--weights", path, "--out", tmp_path / "s.npy")
    assert cli.startswith(f"{path}: ")
    with pytest.raises(ValueError) as err:
        lifsim.simulate(w)
    py = str(err.value)
    # The CLI names the file, Python the argument; the rest is the same sentence.
    assert cli[len(f"{path}: "):] in (py, py[len("W: "):]), (cli, py)
    with pytest.raises(ValueError) as err:
        lifsim.load_weights(path)
    assert str(err.value) == cli
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize("dtype", [np.int64, np.bool_, np.complex128, np.float16])
def test_weights_of_other_dtypes_are_type_errors(lifsim_bin, tmp_path, dtype):
    w = np.zeros((3, 3), dtype=dtype)
    py_name = str(np.dtype(dtype))
    with pytest.raises(TypeError) as err:
        lifsim.simulate(w)
    assert str(err.value) == (
        f"W has dtype {py_name}; weights must be float32 or float64 (convert with W.astype(numpy.float64))"
    )
    if dtype in (np.int64, np.bool_):  # the dtypes an .npy reader of lifsim names
        path = tmp_path / "w.npy"
        np.save(path, w)
        assert cli_error(lifsim_bin, "run", "--weights", path) == f"{path}: {err.value}"
    with pytest.raises(TypeError, match="W has dtype <U1"):
        lifsim.simulate([["a", "b"], ["c", "d"]])


@pytest.mark.parametrize(
    "flags,kwargs",
    [
        (["--dt", 0], dict(dt=0.0)),
        (["--dt", -1], dict(dt=-1)),
        (["--t-max", 0.001], dict(t_max=0.001)),
        (["--tau-m", 0], dict(tau_m=0.0)),
        (["--v-thresh", -70], dict(v_thresh=-70.0)),
        (["--t-ref", 0.015], dict(t_ref=0.015)),
        (["--t-ref", -1], dict(t_ref=-1.0)),
        (["--r", "nan"], dict(r=float("nan"))),
        (["--v-rest", "inf"], dict(v_rest=float("inf"))),
        (["--i-ext", "inf"], dict(i_ext=float("inf"))),
        (["--dtype", "float16"], dict(dtype="float16")),
        (["--threads", 0], dict(threads=0)),
    ],
)
def test_bad_parameters_are_value_errors_with_the_clis_message(lifsim_bin, tmp_path, flags, kwargs):
    path = tmp_path / "w.npy"
    np.save(path, GOOD)
    cli = cli_error(lifsim_bin, "run", "--weights", path, "--out", tmp_path / "s.npy", *flags)
    with pytest.raises(ValueError) as err:
        lifsim.simulate(GOOD, **kwargs)
    assert str(err.value) == cli
    assert str(err.value).startswith("invalid parameter ")


def test_per_neuron_arrays_of_the_wrong_shape(lifsim_bin, tmp_path):
    path, bad = tmp_path / "w.npy", tmp_path / "i.npy"
    np.save(path, GOOD)
    np.save(bad, np.ones(3))
    cli = cli_error(lifsim_bin, "run", "--weights", path, "--i-ext", bad)
    with pytest.raises(ValueError) as err:
        lifsim.simulate(GOOD, i_ext=np.ones(3))
    assert str(err.value) == "i_ext: must have shape (4,), one value per neuron, got (3,)"
    assert cli == f"{bad}: i_ext must have shape (4,), one value per neuron, got (3,)"
    with pytest.raises(ValueError, match=r"^v0: must have shape \(4,\), one value per neuron, got \(2, 2\)$"):
        lifsim.simulate(GOOD, v0=np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"^v0: v0\[1\] is NaN; must be finite$"):
        lifsim.simulate(GOOD, v0=[-60.0, np.nan, -60.0, -60.0])
    with pytest.raises(ValueError, match=r"^i_ext: i_ext\[3\] is inf; must be finite$"):
        lifsim.simulate(GOOD, i_ext=[1.0, 2.0, 3.0, np.inf])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(record="raster"), 'invalid parameter record: must be dense, events or counts, got "raster"'),
        (dict(v0="random"), 'invalid parameter v0: must be "reset", "uniform", a number or an array of one voltage per neuron, got "random"'),
        (dict(seed=-1), "invalid parameter seed: must be an integer in [0, 2**64), got -1"),
        (dict(threads=-2), "invalid parameter threads: must be an integer in [0, 2**64), got -2"),
    ],
)
def test_bad_choices_are_value_errors(kwargs, message):
    with pytest.raises(ValueError) as err:
        lifsim.simulate(GOOD, **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(dt="0.1"), "dt"),
        (dict(i_ext="20"), "^i_ext must be a number or an array of one value per neuron, got str$"),
        (dict(dtype=object()), "^dtype must be"),
        (dict(seed=1.5), "^seed must be an integer, got float$"),
        (dict(threads="2"), "^threads must be an integer, got str$"),
        (dict(record=1), "record"),
    ],
)
def test_arguments_of_the_wrong_type_are_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        lifsim.simulate(GOOD, **kwargs)


def test_missing_and_broken_files(lifsim_bin, tmp_path):
    missing = tmp_path / "nope.npy"
    cli = cli_error(lifsim_bin, "run", "--weights", missing)
    with pytest.raises(FileNotFoundError) as err:
        lifsim.load_weights(missing)
    assert str(err.value) == f"{missing}: No such file or directory (os error 2)"
    assert cli.startswith(str(err.value))
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not an npy file at all")
    cli = cli_error(lifsim_bin, "run", "--weights", broken)
    with pytest.raises(ValueError) as err:
        lifsim.load_weights(broken)
    assert str(err.value) == cli


def test_bad_generator_arguments():
    with pytest.raises(ValueError, match="^invalid parameter quantum: must be a power of two, got 0.3$"):
        lifsim.generate_weights(10, quantum=0.3)
    with pytest.raises(ValueError, match=r"^invalid parameter p: must be in \[0, 1\], got 2$"):
        lifsim.generate_weights(10, p=2.0)
    with pytest.raises(ValueError, match="^invalid parameter n: must be at least 1$"):
        lifsim.generate_weights(0)
    with pytest.raises(ValueError, match='^invalid parameter workload: unknown workload "cuba-xl"'):
        lifsim.workload("cuba-xl")


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(dt="x"), "dt"),
        (dict(t_max=[100.0]), "t_max"),
        (dict(v_rest="a"), "v_rest"),
        (dict(i_ext="abc"), "i_ext"),
        (dict(i_ext=object()), "i_ext"),
        (dict(v0=object()), "v0"),
        (dict(v0={"low": 1}), "v0"),
        (dict(seed="1"), "seed"),
        (dict(threads=2.0), "threads"),
        (dict(dtype=3), "dtype"),
        (dict(record=1), "record"),
    ],
)
def test_type_errors_name_the_parameter(kwargs, name):
    """An argument of the wrong type is a TypeError that names it, whoever
    finds it (pyo3's argument conversion, NumPy's asarray or lifsim)."""
    with pytest.raises(TypeError) as e:
        lifsim.simulate(GOOD, **kwargs)
    assert name in str(e.value), str(e.value)
