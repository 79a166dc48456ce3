#!/usr/bin/env bash
# Runs every benchmark script bench/bench_*.sh with the build folder given.
# Benchmarks compare against a baseline measured in the same run and print
# ratios; they are not part of `make test` or CI.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export SJTALIGN="$root/$build/sjtalign"
export SJTALIGN_BUILD="$root/$build"
status=0
for b in "$root"/bench/bench_*.sh; do
    [ -f "$b" ] || continue
    echo "== $(basename "$b" .sh)"
    bash "$b" || status=1
done
exit $status
