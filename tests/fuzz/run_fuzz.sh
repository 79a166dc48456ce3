#!/usr/bin/env bash
# Runs every fuzz target for a set time from its seed corpus.
# usage: tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS
set -u
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
# The model-directory targets copy the tiny seed checkpoint kept here.
export SJTALIGN_FUZZ_MODEL="$root/tests/fuzz/model"
mkdir -p "$root/$build/crashes"
for bin in "$root/$build"/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    seeds="$root/tests/fuzz/corpus/${name#fuzz_}"
    work="$root/$build/corpus/${name#fuzz_}"
    mkdir -p "$work"
    echo "== $name: ${seconds}s"
    # -rss_limit guards against runaway allocations; findings go to crashes/.
    if ! "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$root/$build/crashes/$name-" -print_final_stats=1 \
        "$work" "$seeds" >"$root/$build/$name.log" 2>&1; then
        echo "FAIL: $name found a defect; see $build/$name.log and $build/crashes/"
        tail -n 40 "$root/$build/$name.log"
        status=1
    else
        grep -E '^stat::number_of_executed_units|^Done' "$root/$build/$name.log" | tr '\n' ' '
        echo
    fi
done
exit $status
