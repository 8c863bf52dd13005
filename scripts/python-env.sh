#!/usr/bin/env bash
# Creates (once) the Python environment the tests need: a venv at .venv with
# numpy, pytest, maturin, h5py (to read SONATA spike reports), and the package's
# optional analysis exports (pandas, neo, matplotlib; `pip install
# ./crates/python[analysis]`), PyNN 0.13 with scipy (lifsim.pynn, the PyNN
# backend) and PyNN's source distribution unpacked in .venv/pynn-sdist (its
# test/system/scenarios and examples are not in the wheel; tests/python/test_pynn.py
# runs them), and nbclient with ipykernel to execute examples/notebook.ipynb.
# Prints the venv's python path on its last line.
# Idempotent: a venv that already has everything is left as it is.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
py=${PYTHON:-python3}
if ! "$py" -m venv --help >/dev/null 2>&1; then
    echo "python-env: $py has no venv module; installing python3-venv" >&2
    apt-get update -qq && apt-get install -y -qq python3-venv >&2
fi
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv" >&2
if ! "$venv/bin/python" -c "import numpy, pytest, maturin, h5py, pandas, neo, matplotlib, scipy, pyNN, nbclient, nbformat, ipykernel" >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet "numpy>=1.24" "pytest>=7" "maturin>=1.16,<2" "h5py>=3.8" \
        "pandas>=1.5" "neo>=0.13" "matplotlib>=3.6" "scipy>=1.10" "PyNN==0.13.*" \
        "nbclient>=0.7" "nbformat>=5" "ipykernel>=6" >&2
fi
if ! ls "$venv"/pynn-sdist/*/test/system/scenarios/__init__.py >/dev/null 2>&1; then
    pynn_version=$("$venv/bin/python" -c "import pyNN; print(pyNN.__version__)")
    tmp=$(mktemp -d)
    "$venv/bin/python" -m pip download --quiet --no-deps --no-binary :all: "PyNN==$pynn_version" -d "$tmp" >&2
    mkdir -p "$venv/pynn-sdist"
    tar -xzf "$tmp"/*.tar.gz -C "$venv/pynn-sdist"
    rm -rf "$tmp"
fi
echo "$venv/bin/python"
