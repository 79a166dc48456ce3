#!/usr/bin/env bash
# Runs every tests/mpi/test_*.sh (the MPI build under mpirun on this
# machine's loopback) and counts their ok / not ok lines, as
# tests/run_tests.sh does for the CLI tests. Usage: run_mpi_tests.sh BUILD
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
export SJTALIGN="$root/$build/sjtalign" SJTALIGN_MPI="$root/build/sjtalign-mpi" SJTALIGN_ROOT="$root"
export SJTALIGN_QUIET=1
passed=0
failed=0
failed_names=()
for t in "$root"/tests/mpi/test_*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    out=$(mktemp)
    start=$(date +%s)
    # a collective that some rank never joins would wait forever: a test
    # script gets 10 minutes
    timeout 600 bash "$t" >"$out" 2>&1
    rc=$?
    [ $rc -eq 124 ] && echo "not ok - $name did not finish in 600 s (a rank waiting for another?)" >>"$out"
    n_pass=$(grep -cE '^ok ' "$out")
    n_fail=$(grep -cE '^not ok ' "$out")
    passed=$((passed + n_pass))
    failed=$((failed + n_fail))
    if [ $rc -ne 0 ] || [ "$n_fail" -gt 0 ]; then
        cat "$out"
        [ "$n_fail" -eq 0 ] && failed=$((failed + 1))
        failed_names+=("$name")
    else
        echo "$name: $n_pass checks passed ($(($(date +%s) - start)) s)"
    fi
    rm -f "$out"
done
if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
