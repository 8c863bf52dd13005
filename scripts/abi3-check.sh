#!/usr/bin/env bash
# The package is one abi3 wheel for every CPython >= 3.9: build that wheel and
# test it on the oldest and newest Pythons the machine has through pyenv
# (3.9 and 3.13): a venv each (.venv-py3.9, .venv-py3.13) with numpy and
# pytest, the wheel installed as a user would (`pip install lifsim-*.whl`),
# then the tests of the one-call API, of networks built in Python and of the
# `lifsim` command the wheel installs.
# Usage: scripts/abi3-check.sh PYTHON   (the python of scripts/python-env.sh, for maturin)
set -euo pipefail
cd "$(dirname "$0")/.."
maturin_py=$1
versions=(3.9 3.13)
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
wheels=target/wheels
rm -rf "$wheels"
"$maturin_py" -m maturin build --release --quiet -m crates/python/Cargo.toml -o "$wheels" >&2
wheel=$(ls "$wheels"/lifsim-*-abi3-*.whl)
for v in "${versions[@]}"; do
    base=$(ls -d "$root"/versions/"$v".*/bin/python"$v" 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$base" ]; then
        echo "abi3-check: no Python $v under $root/versions (pyenv install $v); the abi3 wheel is untested on it" >&2
        exit 1
    fi
    venv=".venv-py$v"
    [ -x "$venv/bin/python" ] || "$base" -m venv "$venv"
    "$venv/bin/python" -c "import numpy, pytest" 2>/dev/null ||
        "$venv/bin/python" -m pip install --quiet "numpy>=1.21" "pytest>=7" >&2
    "$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel" >&2
    echo "== pytest on Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())') (the abi3 wheel)"
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python/test_simulate.py \
        tests/python/test_network.py tests/test_cli_command.py
done
