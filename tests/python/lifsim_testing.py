"""Helpers shared by the tests of the Python package (imported by the test modules)."""

import numpy as np

try:
    import lifsim  # noqa: F401
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError(
        "the lifsim Python package is not installed in this environment; "
        "scripts/test.sh installs it, or run: python -m maturin develop --release "
        "-m crates/python/Cargo.toml"
    ) from err


def assert_same_spikes(got, want):
    """Bit-identical spike arrays, or the first (step, neuron) where they differ."""
    assert got.dtype == np.bool_ and got.shape == want.shape, (got.dtype, got.shape, want.shape)
    diff = np.argwhere(got != want)
    assert diff.size == 0, f"first difference at (step, neuron) {tuple(diff[0])}"


def layout(w, order, dtype):
    """`w` as a `dtype` array in memory order "C", "F" or "strided" (a view
    with non-unit strides in both dimensions)."""
    w = np.asarray(w, dtype=dtype)
    if order == "C":
        return np.ascontiguousarray(w)
    if order == "F":
        return np.asfortranarray(w)
    n = len(w)
    big = np.zeros((2 * n, 3 * n), dtype=dtype)
    big[::2, ::3] = w
    view = big[::2, ::3]
    assert not view.flags.c_contiguous and not view.flags.f_contiguous
    return view
