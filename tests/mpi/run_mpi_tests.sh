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
# shellcheck source=../tap_scripts.sh
. "$root/tests/tap_scripts.sh"
for t in "$root"/tests/mpi/test_*.sh; do
    [ -f "$t" ] || continue
    # a collective that some rank never joins would wait forever: a test
    # script gets 10 minutes
    run_tap_script "$t" timeout 600
done
if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
