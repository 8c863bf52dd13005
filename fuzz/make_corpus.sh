#!/usr/bin/env bash
# Regenerates the committed seed corpus fuzz/corpus/<target>/: small valid files
# of each kind, written by lifsim itself (weights, spike outputs, a checkpoint
# and the .spikes stream of a killed run), by NumPy (.npy variants lifsim
# reads) and by scipy.sparse.save_npz (the from_file matrices), plus network
# files. Each file is a few KB at most.
#
#     fuzz/make_corpus.sh            # builds lifsim (release) if needed
#     LIFSIM=path/to/lifsim fuzz/make_corpus.sh
#
# NumPy and scipy come from $PYTHON when it has them, else from a venv made
# once under fuzz/target/corpus-venv (pip install numpy scipy).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${LIFSIM:-}" ]; then
    cargo build --release -p lifsim-cli --quiet
    LIFSIM=$root/target/release/lifsim
fi
py=${PYTHON:-python3}
if ! "$py" -c "import numpy, scipy.sparse" 2>/dev/null; then
    venv=$root/fuzz/target/corpus-venv
    if ! "$venv/bin/python" -c "import numpy, scipy.sparse" 2>/dev/null; then
        echo "make_corpus: making $venv with numpy and scipy" >&2
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet numpy scipy
    fi
    py=$venv/bin/python
fi

c=$root/fuzz/corpus
rm -rf "$c"
mkdir -p "$c"/{npy,npz,sparse_npz,network_toml,checkpoint,spikes,events}
work=$(mktemp -d)
trap 'kill -9 "${run_pid:-}" 2>/dev/null; rm -rf "$work"' EXIT

# --- Network files: the examples, and small ones that use every rule, input and synapse.
cp examples/cuba.toml examples/brunel.toml "$c/network_toml/"
cat >"$c/network_toml/tiny.toml" <<'TOML'
dt = 0.1
duration = 5.0
seed = 3
[[population]]
name = "E"
size = 8
tau_m = 20.0
v_rest = 0.0
v_reset = 10.0
v_thresh = 20.0
t_ref = 0.5
i_ext = 0.5
v0 = { distribution = "uniform", low = 10.0, high = 20.0 }
[[population]]
name = "I"
size = 4
integration = "euler"
v0 = { distribution = "normal", mean = -60.0, std = 2.0 }
[[projection]]
source = "E"
target = ["E", "I"]
rule = "fixed_indegree"
indegree = 3
allow_autapses = false
allow_multapses = false
weight = { distribution = "normal", mean = 0.5, std = 0.1 }
delay = { distribution = "uniform", low = 0.1, high = 1.5 }
[[projection]]
source = "I"
target = "E"
rule = "all_to_all"
weight = -1.0
delay = 0.0
synapse = "exponential"
tau_syn = 5.0
[[input]]
type = "poisson"
target = ["E", "I"]
rate = 8000.0
weight = 0.4
[record]
spikes = "events"
TOML
cat >"$c/network_toml/inputs.toml" <<'TOML'
name = "inputs"
dt = 0.05
duration = 2.0
dtype = "float32"
[[population]]
name = "A"
size = 5
[[population]]
name = "B"
size = 5
i_ext = { distribution = "uniform", low = 10.0, high = 20.0 }
[[projection]]
source = "A"
target = "B"
rule = "one_to_one"
weight = 2.0
delay = 0.1
[[projection]]
source = ["A", "B"]
target = ["A"]
rule = "fixed_probability"
p = 0.5
weight = 1.0
synapse = "exponential"
tau_syn = 2.0
[[input]]
type = "spike_generator"
target = "A"
neurons = [0, 2, 4]
times = [0.1, 0.5, 1.0]
weight = 30.0
delay = 0.05
[[input]]
type = "current"
target = ["B"]
amplitude = 1.5
[record]
spikes = "counts"
TOML

# --- lifsim's own outputs of a tiny network (12 neurons, 50 steps).
"$LIFSIM" gen-weights -n 8 --seed 2 --out "$c/npy/weights_f64_fortran.npy"
"$LIFSIM" gen-weights -n 6 --p 0.5 --dtype float32 --seed 3 --out "$c/npy/weights_f32_sparse.npy"
"$LIFSIM" run "$c/network_toml/tiny.toml" --format events --out "$c/events/events.npz" --quiet
"$LIFSIM" run "$c/network_toml/tiny.toml" --format dense --out "$c/events/dense.npy" --quiet
"$LIFSIM" run "$c/network_toml/tiny.toml" --format counts --out "$c/npy/counts.npy" --quiet
"$LIFSIM" run --weights "$c/npy/weights_f64_fortran.npy" --i-ext 20 --t-max 1 --format dense \
    --out "$c/npy/dense_seed.npy" --quiet
cp "$c/events/events.npz" "$c/npz/events.npz"

# Waits (up to 10 s) for file $1 to appear.
wait_for() {
    local end=$((SECONDS + 10))
    while [ ! -f "$1" ] && [ $SECONDS -lt $end ]; do :; done
}

# --- A checkpoint and the .spikes stream of a killed run: a long run of the
# tiny network, checkpointing every 5 ms, killed as soon as a checkpoint exists.
sed 's/^duration = 5.0/duration = 100000000.0/' "$c/network_toml/tiny.toml" >"$work/long.toml"
"$LIFSIM" run "$work/long.toml" --format events --out "$work/long.npz" \
    --checkpoint "$work/ck.npz" --checkpoint-every 5 --quiet &
run_pid=$!
# A busy wait: every checkpoint is a few ms apart, so the kill must follow the
# first closely for the stream to stay small.
wait_for "$work/ck.npz"
kill -9 "$run_pid" 2>/dev/null || true
wait "$run_pid" 2>/dev/null || true
[ -f "$work/ck.npz" ] || { echo "make_corpus: the run left no checkpoint" >&2; exit 1; }
cp "$work/ck.npz" "$c/checkpoint/network.npz"
cp "$work/ck.npz" "$c/npz/checkpoint.npz"

# A dense-model checkpoint too (the seed model's state arrays differ).
"$LIFSIM" run --weights "$c/npy/weights_f64_fortran.npy" --i-ext 20 --t-max 100000000 \
    --format events --out "$work/dense.npz" --checkpoint "$work/ck_dense.npz" \
    --checkpoint-every 0.5 --quiet &
run_pid=$!
wait_for "$work/ck_dense.npz"
kill -9 "$run_pid" 2>/dev/null || true
wait "$run_pid" 2>/dev/null || true
cp "$work/ck_dense.npz" "$c/checkpoint/dense.npz"

"$py" - "$work" "$c" <<'PY'
import io, json, sys, zipfile
import numpy as np
import scipy.sparse as sp

work, c = sys.argv[1], sys.argv[2]

# The killed run's stream, cut at its checkpoint's position (a marker: what
# resume would keep) and, as a killed run leaves it, with a torn record after.
ck = np.load(f"{work}/ck.npz")
meta = json.loads(bytes(ck["meta"].astype(np.uint8)).decode())
stream = open(f"{work}/long.npz.spikes", "rb").read()
at = meta["position"]["bytes"]
head = stream[:at]
if len(head) > 4096:
    sys.exit(f"make_corpus: the stream is {len(head)} bytes at the checkpoint; lower the rate")
open(f"{c}/spikes/checkpointed.spikes", "wb").write(head)
# What follows the marker in a run killed mid-step: spikes of the step it was
# in (taken from the file when the run got that far) and a torn record.
step = meta["position"]["step"]
after = stream[at : at + 24] if len(stream) >= at + 24 else b"".join(
    step.to_bytes(8, "little") + i.to_bytes(4, "little") for i in (0, 1))
open(f"{c}/spikes/killed.spikes", "wb").write(head + after + after[:5])
open(f"{c}/events/killed.spikes", "wb").write(head)

# .npy variants lifsim reads: C and Fortran order, big-endian, integers, bool, 0-d, empty.
rng = np.random.default_rng(1)
w = rng.normal(size=(5, 5))
np.save(f"{c}/npy/c_order_f64.npy", w)
np.save(f"{c}/npy/big_endian_f32.npy", w.astype(">f4"))
np.save(f"{c}/npy/v0_f64.npy", rng.uniform(-65, -50, size=7))
np.save(f"{c}/npy/ids_i64.npy", np.arange(6, dtype=np.int64))
np.save(f"{c}/npy/ids_u32.npy", np.arange(6, dtype=np.uint32))
np.save(f"{c}/npy/bool_2d.npy", rng.random((4, 3)) < 0.5)
np.save(f"{c}/npy/scalar_u64.npy", np.uint64(7))
np.save(f"{c}/npy/empty_i32.npy", np.zeros((0, 3), dtype=np.int32))

# An events .npz as numpy.savez_compressed writes it (deflated members).
np.savez_compressed(f"{c}/npz/compressed.npz", times=np.array([0.1, 0.2]),
                    ids=np.array([1, 0], dtype=np.uint32), n=np.uint64(2),
                    dt=np.float64(0.1), steps=np.uint64(3))

# scipy.sparse matrices as save_npz writes them, W[target, source] of shape (4, 3).
dense = np.array([[0, 1.5, 0], [2.0, 0, -1.0], [0, 0, 0], [0.5, 0, 0.25]])
for fmt in ("csr", "csc", "coo"):
    m = sp.csr_matrix(dense).asformat(fmt)
    sp.save_npz(f"{c}/sparse_npz/{fmt}.npz", m, compressed=False)
sp.save_npz(f"{c}/sparse_npz/csr_compressed.npz", sp.csr_matrix(dense.astype(np.float32)))
sp.save_npz(f"{c}/sparse_npz/coo_square.npz", sp.random(6, 6, density=0.3, random_state=2, format="coo"))
sp.save_npz(f"{c}/npz/sparse_csr.npz", sp.csr_matrix(dense), compressed=False)
PY
total=$(du -sb "$c" | cut -f1)
echo "make_corpus: $(find "$c" -type f | wc -l) files, $total bytes in $c"
