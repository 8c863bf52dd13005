#!/usr/bin/env bash
# Creates bench/.venv-peers with the peer simulators (the seed's NumPy/JAX code,
# Numba, NEST). Idempotent: re-running skips whatever is already installed.
set -euo pipefail

venv="$(cd "$(dirname "$0")" && pwd)/.venv-peers"
py="$venv/bin/python"

[ -x "$py" ] || python3 -m venv "$venv"

# "pip show" exits non-zero if any named package is missing.
if ! "$py" -m pip show numpy jax jaxlib numba >/dev/null 2>&1; then
    "$py" -m pip install --quiet numpy jax jaxlib numba
fi

# NEST is only needed by the NEST peers; the others work without it.
if ! "$py" -m pip show nest-simulator >/dev/null 2>&1; then
    "$py" -m pip install --quiet nest-simulator ||
        echo "warning: nest-simulator failed to install; NEST peers will be unavailable" >&2
fi

echo "peers venv ready: $venv"
