#!/usr/bin/env bash
# Fuzzes lifsim's file readers: builds the cargo-fuzz targets in fuzz/ and runs
# each for MINUTES minutes (default 10) on its committed seed corpus, one after
# another, one process at a time.
#
#     scripts/fuzz.sh                 # every target, 10 minutes each
#     scripts/fuzz.sh 1 npy spikes    # two targets, 1 minute each
#
# A crash (panic, sanitizer report), an input that takes more than 10 s
# (-timeout=10) or a process beyond 2 GiB of memory (-rss_limit_mb=2048), or a
# single allocation beyond 2 GiB (-malloc_limit_mb=2048) is a failure: the
# script goes on with the other targets, prints the reproducer libFuzzer saved
# under fuzz/artifacts/<target>/, and exits 1. Logs: fuzz/logs/<target>.log.
#
# Toolchain: nightly when there is one (AddressSanitizer on, so memory errors
# in unsafe code are caught too); otherwise stable with --sanitizer none, which
# needs no -Z flag (still coverage-guided; panics, hangs, integer overflows and
# large allocations are still caught). FUZZ_TOOLCHAIN=stable forces the second;
# it builds into fuzz/target/stable so the two builds do not undo each other.
# cargo-fuzz is installed from crates.io if missing.
#
# New inputs libFuzzer finds go to fuzz/target/corpus/<target>/ (ignored), not
# into the committed seed corpus: `fuzz/make_corpus.sh` owns that.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
all=(npy npz sparse_npz network_toml checkpoint spikes events)
minutes=${1:-10}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
if ! [[ $minutes =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "usage: scripts/fuzz.sh [MINUTES] [TARGET...]   (targets: ${all[*]})" >&2
    exit 2
fi
for t in "${targets[@]}"; do
    if [ ! -f "fuzz/fuzz_targets/$t.rs" ]; then
        echo "fuzz.sh: no target $t (targets: ${all[*]})" >&2
        exit 2
    fi
done
seconds=$(awk -v m="$minutes" 'BEGIN { s = int(m * 60); print (s < 1 ? 1 : s) }')

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked || exit 1
fi
if [ "${FUZZ_TOOLCHAIN:-}" != stable ] && rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
    sanitizer=(--sanitizer address)
    label="nightly, AddressSanitizer"
else
    toolchain=()
    sanitizer=(--sanitizer none --target-dir fuzz/target/stable)
    label="$(rustc --version | cut -d' ' -f1-2), no sanitizer"
fi
echo "fuzz.sh: building the fuzz targets ($label)"
# -a: debug assertions, so an integer overflow in a reader is a crash, not a wrong size.
cargo "${toolchain[@]}" fuzz build "${sanitizer[@]}" -a || exit 1
# The binaries are run directly, not through `cargo fuzz run`, so every target
# of a campaign runs the code built here even if the tree changes meanwhile.
bin=fuzz/target/$([ ${#toolchain[@]} -eq 0 ] && echo stable/)$(rustc -vV | sed -n 's/^host: //p')/release
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0}

mkdir -p fuzz/logs
# The targets' scratch files (fuzz/src/lib.rs), removed whatever happens.
scratch=$(mktemp -d "$( [ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}" )/lifsim-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export LIFSIM_FUZZ_TMP=$scratch
# One core per target: the network targets build synapses on rayon's pool.
export RAYON_NUM_THREADS=1

failed=()
for t in "${targets[@]}"; do
    log=fuzz/logs/$t.log
    work=fuzz/target/corpus/$t
    mkdir -p "$work" "fuzz/artifacts/$t"
    dict=()
    [ -f "fuzz/dict/$t.dict" ] && dict=("-dict=fuzz/dict/$t.dict")
    echo "fuzz.sh: $t for ${seconds} s (log: $log)"
    # The first corpus folder receives new inputs; the committed seeds are only read.
    "$bin/$t" -artifact_prefix="fuzz/artifacts/$t/" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
        "${dict[@]}" "$work" "fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    stats=$(grep -E '^(#[0-9]+: *cov|stat::number_of_executed_units|Done [0-9]+ runs)' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz.sh: $t: ok ($stats)"
    else
        artifact=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
        kind=$(grep -oE "ERROR: libFuzzer: [a-z-]+|panicked at [^:]+:[0-9]+:[0-9]+|ERROR: AddressSanitizer: [a-z-]+" "$log" | head -1)
        # The innermost frame in lifsim's own code, where the stack has one.
        where=$(grep -oE " in <?lifsim_core::[^ ]+ [^ ]+:[0-9]+" "$log" | head -1)
        echo "fuzz.sh: $t: FAILED (exit $rc${kind:+: $kind})"
        [ -n "$where" ] && echo "fuzz.sh:   at:$where"
        echo "fuzz.sh:   reproducer: ${artifact:-none saved, see $log}"
        echo "fuzz.sh:   rerun: $bin/$t ${artifact:-}   (minimise: cargo ${toolchain[*]} fuzz tmin ${sanitizer[*]} -a $t ${artifact:-ARTIFACT})"
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
    exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds} s each without a crash, timeout or OOM"
