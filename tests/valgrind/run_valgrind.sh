#!/usr/bin/env bash
# Runs CLI test scripts with every sjtalign process under valgrind memcheck:
# a definite leak or an invalid access in any process fails the run (its
# valgrind log is printed), as does a failing check.
# usage: tests/valgrind/run_valgrind.sh BUILD_DIR [TEST_NAME...]
# (default: a subset that covers every command and finishes in minutes)
set -u
build=${1:-build}
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(cli_basics dif parity pretrain hostile align_cli)
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
# valgrind does not follow a program into another it execs: run the build
# that `sjtalign` would hand over to (the fast kernels, when built) itself.
program="$root/$build/sjtalign"
for fast in "$root/$build"/sjtalign-x86-64-v3; do [ -x "$fast" ] && program=$fast; done
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# sjtalign re-executes itself through /proc/self/exe to set the BLAS core and
# the OpenMP wait policy, which valgrind cannot follow (/proc/self/exe is
# valgrind there); setting both as the program would makes it run directly.
core=$("$program" --version | sed -n 's/.*core \([A-Za-z0-9_]*\).*/\1/p')
export OMP_WAIT_POLICY=PASSIVE
[ -n "$core" ] && export OPENBLAS_CORETYPE="$core"
# `bench` runs natively: it times a large sgemm, hours under valgrind, and
# its kernels are the training step's that `pretrain` runs checked. So does
# `--version`: a test runs it with OMP_WAIT_POLICY unset to see the program
# set it and re-execute itself, which valgrind cannot follow.
cat >"$logs/sjtalign" <<WRAP
#!/bin/sh
[ "\$1" = bench ] && exec "$program" "\$@"
[ "\$1" = --version ] && exec "$program" "\$@"
exec valgrind -q --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --error-exitcode=1 --log-file="$logs/vg.%p.log" \
  "$program" "\$@"
WRAP
chmod +x "$logs/sjtalign"
export SJTALIGN="$logs/sjtalign" SJTALIGN_ROOT="$root" SJTALIGN_QUIET=1 SJTALIGN_WRAPPED=1
passed=0
failed=0
for name in "${tests[@]}"; do
    t="$root/tests/cli/test_$name.sh"
    out=$(mktemp)
    bash "$t" >"$out" 2>&1
    n_pass=$(grep -cE '^ok ' "$out")
    n_fail=$(grep -cE '^not ok ' "$out")
    passed=$((passed + n_pass))
    failed=$((failed + n_fail))
    if [ "$n_fail" -gt 0 ]; then grep -A3 '^not ok ' "$out"; fi
    echo "test_$name under valgrind: $n_pass passed, $n_fail failed"
    rm -f "$out"
done
runs=$(find "$logs" -name 'vg.*.log' | wc -l)
bad=0
for log in "$logs"/vg.*.log; do
    [ -s "$log" ] || continue
    bad=$((bad + 1))
    echo "== valgrind: $(basename "$log")"
    head -n 60 "$log"
done
echo "valgrind: $runs processes checked, $bad with errors or definite leaks"
[ "$bad" -eq 0 ] || failed=$((failed + bad))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
