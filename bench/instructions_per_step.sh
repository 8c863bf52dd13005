#!/usr/bin/env bash
# Instructions per step of the seed's run, counted by callgrind: deterministic,
# so two binaries compare on a busy machine where wall times do not.
#
#     bench/instructions_per_step.sh target/release/lifsim seed
#     bench/instructions_per_step.sh /tmp/old/target/release/lifsim seed-active
#
# Runs `lifsim run --workload W` at --t-max 100 and 300 ms (dt 0.01 ms) under
# callgrind and prints the difference of the two totals over the 20,000 steps
# between them (setup cancels out; the dense spike array written each step
# is counted, as in `lifsim run --workload W`).
set -euo pipefail
bin=$1
workload=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
total() {
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$1" "$bin" run --workload "$workload" \
        --t-max "$1" --format dense --out "$dir/out.$1.npy" -q >/dev/null 2>&1
    awk '/^summary:/ {print $2}' "$dir/cg.$1"
}
a=$(total 100)
b=$(total 300)
echo "$workload $(( (b - a) / 20000 ))"
