"""The error catalogue (docs/errors.md), checked: the Python package's
exceptions that tests/python/test_errors.py does not already check, and the
CLI's errors on SONATA .h5 spike files (which need h5py to write)."""

import subprocess

import h5py
import numpy as np
import pytest

import lifsim
from conftest import dyadic_weights

GOOD = dyadic_weights(4, 8.0, seed=0)


def npy_header(shape, descr="<f8"):
    """The bytes of a version 1.0 .npy header claiming `shape` (no data)."""
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, tuple(shape))
    text += " " * (63 - (10 + len(text)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


@pytest.mark.parametrize(
    "call,exception,message",
    [
        (
            lambda: lifsim.generate_weights(10**7),
            MemoryError,
            "a 10000000 x 10000000 weight matrix needs 727.6 TiB but only ",
        ),
        (
            lambda: lifsim.simulate(np.zeros((1000, 1000)), t_max=1e8),
            MemoryError,
            "the dense spike array (9999999999 steps x 1000 neurons) needs ",
        ),
        (
            lambda: lifsim.generate_weights(4, std=-1.0),
            ValueError,
            "invalid parameter std: must be finite and >= 0, got -1",
        ),
        (
            lambda: lifsim.generate_weights(4, dtype="float16"),
            ValueError,
            'invalid parameter dtype: must be float64 or float32, got "float16"',
        ),
        (
            lambda: lifsim.simulate(GOOD, dtype=np.int32),
            ValueError,
            'invalid parameter dtype: must be float64 or float32, got "int32"',
        ),
        (
            lambda: lifsim.Weights(GOOD, dtype="float16"),
            ValueError,
            'invalid parameter dtype: must be float64 or float32, got "float16"',
        ),
        (
            lambda: lifsim.simulate("abc"),
            ValueError,
            "W must be a 2-D N x N matrix, got 0-D shape ()",
        ),
        (
            lambda: lifsim.simulate(GOOD, i_ext=np.zeros((2, 2))),
            ValueError,
            "i_ext: must have shape (4,), one value per neuron, got (2, 2)",
        ),
        (
            lambda: lifsim.simulate(GOOD, tau_m=float("nan")),
            ValueError,
            "invalid parameter tau_m: must be a finite number, got NaN",
        ),
    ],
    ids=[
        "generate-too-big",
        "dense-record-too-big",
        "negative-std",
        "generate-dtype",
        "simulate-int-dtype",
        "weights-dtype",
        "string-w",
        "i_ext-2d",
        "tau_m-nan",
    ],
)
def test_python_errors_raise_their_exception_with_the_cores_message(call, exception, message):
    with pytest.raises(exception) as err:
        call()
    assert type(err.value) is exception, type(err.value)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_file_errors_raise_the_os_exception_of_their_cause(tmp_path):
    # A folder is not an .npy file (the file's content is wrong: ValueError).
    with pytest.raises(ValueError, match=r": is a directory, not an \.npy file$"):
        lifsim.load_weights(tmp_path)
    # A device that cannot be mapped: the operating system's error, as OSError.
    with pytest.raises(OSError) as err:
        lifsim.load_weights("/dev/null")
    assert type(err.value) is OSError
    assert str(err.value) == "/dev/null: No such device (os error 19)"
    # A header that claims 800 TB: refused before anything is allocated.
    huge = tmp_path / "huge.npy"
    huge.write_bytes(npy_header((10_000_000, 10_000_000)))
    with pytest.raises(MemoryError, match="the header declares more data than this machine can hold"):
        lifsim.load_weights(huge)
    # A header that claims more than the file holds.
    short = tmp_path / "short.npy"
    short.write_bytes(npy_header((4, 4)) + b"\0" * 8)
    with pytest.raises(ValueError, match=r"short\.npy: truncated: the header declares a float64 array"):
        lifsim.load_weights(short)
    good = tmp_path / "w.npy"
    np.save(good, GOOD)
    with pytest.raises(ValueError, match='^invalid parameter dtype: must be float64 or float32, got "float16"$'):
        lifsim.load_weights(good, dtype="float16")


def cli_error(lifsim_bin, *args):
    """The CLI's one-line message (after "lifsim: error: "); exit status 2."""
    proc = subprocess.run([str(lifsim_bin), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    line = proc.stderr.strip()
    assert line.count("\n") == 0 and line.startswith("lifsim: error: "), line
    assert "panicked" not in line
    return line[len("lifsim: error: "):]


def sonata(path, populations):
    """A SONATA-like file: `populations` maps a name to the datasets
    (timestamps, node_ids) to write under /spikes/<name>; None writes no
    /spikes group at all."""
    with h5py.File(path, "w") as f:
        if populations is None:
            f.create_group("other")
            return
        spikes = f.create_group("spikes")
        for name, datasets in populations.items():
            g = spikes.create_group(name)
            for key, values in datasets.items():
                g.create_dataset(key, data=values)


TIMES = np.array([0.5, 1.0])
IDS = np.array([0, 1], dtype=np.uint64)


@pytest.mark.parametrize(
    "populations,flags,message",
    [
        (None, [], "has no /spikes group; it is not a SONATA spike report"),
        ({}, [], "has no population under /spikes"),
        (
            {"a": dict(timestamps=TIMES, node_ids=IDS), "b": dict(timestamps=TIMES, node_ids=IDS)},
            [],
            "has populations a, b; choose one (--population)",
        ),
        ({"a": dict(timestamps=TIMES, node_ids=IDS)}, ["--population", "x"], 'has no population "x" (it has a)'),
        ({"a": dict(node_ids=IDS)}, [], "/spikes/a has no timestamps"),
        ({"a": dict(timestamps=TIMES)}, [], "/spikes/a has no node_ids"),
        ({"a": dict(timestamps=TIMES, node_ids=IDS[:1])}, [], "/spikes/a has 2 timestamps but 1 node_ids"),
        (
            {"a": dict(timestamps=np.array([np.inf]), node_ids=IDS[:1])},
            [],
            "times[0] is inf ms; spike times must be finite and within 1e15 ms",
        ),
    ],
    ids=["no-spikes", "empty", "two-populations", "unknown-population", "no-timestamps", "no-node-ids",
         "lengths", "infinite-time"],
)
def test_sonata_files_that_are_not_spike_reports_are_named(lifsim_bin, tmp_path, populations, flags, message):
    path = tmp_path / "s.h5"
    sonata(path, populations)
    png = tmp_path / "o.png"
    err = cli_error(lifsim_bin, "plot", path, "--out", png, *flags)
    assert err.startswith(f"{path}: ") and message in err, err
    assert not png.exists()


def test_a_corrupt_hdf5_file_says_what_hdf5_said(lifsim_bin, tmp_path):
    path = tmp_path / "s.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    err = cli_error(lifsim_bin, "plot", path, "--out", tmp_path / "o.png")
    assert err.startswith(f"{path}: HDF5: "), err


@pytest.mark.parametrize("order,dtype", [("C", np.float32), ("F", np.float64)], ids=["converted", "copied"])
def test_a_matrix_too_large_to_convert_or_copy_is_a_memory_error(tmp_path, order, dtype):
    # A 400,000 x 400,000 matrix mapped from a sparse file (no disk used):
    # converting (C order) or copying (lifsim.Weights) it needs 1.2 TiB.
    n = 400_000
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        f.truncate(n * n * np.dtype(dtype).itemsize)
    w = np.memmap(path, dtype=dtype, mode="r", shape=(n, n), order=order)
    if order == "C":
        with pytest.raises(MemoryError, match=r"^W \(400000 x 400000\) converted to the engine's layout needs 1\.2 TiB"):
            lifsim.simulate(w, dtype="float64", record="counts")
    else:
        with pytest.raises(MemoryError, match=r"^a copy of W \(400000 x 400000\) needs 1\.2 TiB .*simulate the NumPy array directly"):
            lifsim.Weights(w)


def test_a_sonata_file_of_more_spikes_than_memory_is_refused(lifsim_bin, tmp_path):
    # 10^12 spikes declared, none stored (chunked datasets are allocated lazily).
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("spikes").create_group("a")
        g.create_dataset("timestamps", shape=(10**12,), dtype="f8", chunks=(1024,))
        g.create_dataset("node_ids", shape=(10**12,), dtype="u8", chunks=(1024,))
    err = cli_error(lifsim_bin, "plot", path, "--out", tmp_path / "o.png")
    assert err.startswith(f"{path}: 1000000000000 spike events needs 14.6 TiB but only "), err
    assert err.endswith("of memory is available; the file holds more spikes than this machine can read at once"), err


def test_a_compressed_member_that_does_not_inflate_is_named(lifsim_bin, tmp_path):
    import zipfile

    path = tmp_path / "ev.npz"
    np.savez_compressed(path, times=np.arange(1000.0), ids=np.zeros(1000, dtype=np.uint32))
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("times.npy")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(path.read_bytes())
    for k in range(start + 20, start + 60):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    err = cli_error(lifsim_bin, "plot", path, "--out", tmp_path / "o.png")
    assert err.startswith(f"{path}:times: cannot be read ("), err
