#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting and lints, the Rust tests,
# then the Python tests that compare lifsim (CLI and Python package) with the
# NumPy reference.
# Installs what it needs: Debian's libhdf5-dev for the `sonata` feature and
# Open MPI for the `mpi` feature (scripts/system-deps.sh), and a venv with
# numpy, pytest and h5py (scripts/python-env.sh). Rust is built and tested with
# `--features sonata,mpi` (crates/cli/tests/mpi.rs runs mpirun), and linted
# without `mpi` too.
# Last, the package's abi3 wheel on Python 3.9 and 3.13 (scripts/abi3-check.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-deps.sh
features=(--features lifsim-cli/sonata,lifsim-cli/mpi)

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --features lifsim-cli/sonata --quiet -- -D warnings
cargo clippy -p lifsim-core -p lifsim-cli --all-targets "${features[@]}" --quiet -- -D warnings
echo "== cargo test"
cargo build --release --quiet --bin lifsim "${features[@]}"
cargo test --workspace "${features[@]}" --quiet

echo "== pytest"
py=$(scripts/python-env.sh | tail -n 1)
# The Python package (crates/python), built and installed into that venv.
VIRTUAL_ENV="$(cd "$(dirname "$py")/.." && pwd)" "$py" -m maturin develop --release --quiet -m crates/python/Cargo.toml
LIFSIM_BIN="$PWD/target/release/lifsim" "$py" -m pytest -q tests/

echo "== abi3 wheel on Python 3.9 and 3.13"
LIFSIM_BIN="$PWD/target/release/lifsim" scripts/abi3-check.sh "$py"
