#!/usr/bin/env bash
# Runs every unit test binary (cmocka) and every CLI test script, then prints
# one summary line: "N passed, N failed".
# usage: tests/run_tests.sh BUILD_DIR
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
export SJTALIGN="$root/$build/sjtalign"
export SJTALIGN_ROOT="$root"
export SJTALIGN_QUIET=1
passed=0
failed=0
failed_names=()

for t in "$root/$build"/tests/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    out=$(mktemp)
    (cd "$root" && "$t") >"$out" 2>&1
    rc=$?
    n_pass=$(grep -oE '\[  PASSED  \] [0-9]+ test' "$out" | grep -oE '[0-9]+' | head -1)
    n_fail=$(grep -oE '\[  FAILED  \] [0-9]+ test' "$out" | grep -oE '[0-9]+' | head -1)
    passed=$((passed + ${n_pass:-0}))
    failed=$((failed + ${n_fail:-0}))
    if [ $rc -ne 0 ]; then
        cat "$out"
        [ -z "${n_fail:-}" ] && failed=$((failed + 1))
        failed_names+=("$name")
    else
        tail -n 1 "$out" | sed "s/^/$name: /"
    fi
    rm -f "$out"
done

# shellcheck source=tap_scripts.sh
. "$root/tests/tap_scripts.sh"
for t in "$root"/tests/cli/test_*.sh; do
    [ -f "$t" ] || continue
    run_tap_script "$t"
done

if [ ${#failed_names[@]} -gt 0 ]; then
    echo "failing: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
