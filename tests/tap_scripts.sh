# Counting the ok / not ok lines of test scripts, shared by
# tests/run_tests.sh (CLI tests) and tests/mpi/run_mpi_tests.sh. The caller
# sets passed=0 failed=0 failed_names=() and sources this file.

# run_tap_script FILE [PREFIX...]: runs `PREFIX... bash FILE` (e.g. a
# `timeout 600` prefix), adds its checks to passed/failed, and prints its
# output when it failed, else one line with its count and seconds.
run_tap_script() {
    local t=$1 name out rc n_pass n_fail start
    shift
    name=$(basename "$t" .sh)
    out=$(mktemp)
    start=$(date +%s)
    "$@" bash "$t" >"$out" 2>&1
    rc=$?
    [ $rc -eq 124 ] && echo "not ok - $name did not finish in time" >>"$out"
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
}
