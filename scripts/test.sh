#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting and lints, the Rust tests,
# then the Python tests that compare lifsim (CLI and Python package) with the
# NumPy reference.
# Installs what it needs (a venv with numpy and pytest) through scripts/python-env.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo build --release --quiet --bin lifsim
cargo test --workspace --quiet

echo "== pytest"
py=$(scripts/python-env.sh | tail -n 1)
# The Python package (crates/python), built and installed into that venv.
VIRTUAL_ENV="$(cd "$(dirname "$py")/.." && pwd)" "$py" -m maturin develop --release --quiet -m crates/python/Cargo.toml
LIFSIM_BIN="$PWD/target/release/lifsim" "$py" -m pytest -q tests/
