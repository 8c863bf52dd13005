#!/usr/bin/env bash
# Runs the seed/Numba peer benchmarks on one workload directory, one JSON line per peer.
# Usage: bench/run_peers.sh DIR [RUNS [WARMUP]]   (after bench/setup_peers.sh)
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
py="$here/.venv-peers/bin/python"
dir="$1" runs="${2:-3}" warmup="${3:-1}"
status=0

for peer in seed_numpy seed_jax_jit seed_jax_scan numba_dense numba_event; do
    cmd=("$py" "$here/peers/$peer.py" --workload-dir "$dir" --runs "$runs" --warmup "$warmup")
    if [ "$peer" = seed_numpy ]; then
        # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE may be set on this machine; they force
        # an older OpenBLAS kernel and slow a current NumPy's W.dot. For a fair
        # benchmark the NumPy peer runs without them (here only, nowhere else).
        cmd=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${cmd[@]}")
    fi
    "${cmd[@]}" || { echo "peer $peer failed" >&2; status=1; }
done
exit $status
