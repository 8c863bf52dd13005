#!/usr/bin/env bash
# Creates bench/.venv-brian2 with Brian2 for the Brian2 network peers
# (bench/peers/brian2_*.py). Brian2 2.9.0 is the last release for Python 3.11
# (2.10+ needs 3.12+) and fails with NumPy 2, hence the pins. C++ standalone mode
# also needs a C++ compiler (g++) and make; Cython comes with Brian2.
# Idempotent: re-running skips whatever is already installed.
set -euo pipefail

venv="$(cd "$(dirname "$0")" && pwd)/.venv-brian2"
py="$venv/bin/python"

[ -x "$py" ] || python3 -m venv "$venv"

if ! "$py" -c 'import brian2, numpy; assert brian2.__version__ == "2.9.0"' >/dev/null 2>&1; then
    "$py" -m pip install --quiet "numpy<2" brian2==2.9.0
fi

command -v g++ >/dev/null || echo "warning: no g++; Brian2's C++ standalone peer will fail" >&2
[ -x /usr/bin/time ] || echo "warning: no /usr/bin/time (Debian: apt-get install time);" \
    "the standalone binary's peak RSS will include its Python parent's" >&2

echo "brian2 venv ready: $venv"
