# Helpers for the MPI tests: those of the CLI tests (ok / not ok lines,
# run_cmd, expect_*), plus mpirun on this machine. Each script sources it.
# shellcheck source=../cli/lib.sh
. "$SJTALIGN_ROOT/tests/cli/lib.sh"
: "${SJTALIGN_MPI:?run through make test-mpi}"

# Root may run mpirun here (CI runs as root); more ranks than cores is fine
# on loopback. Local ranks inherit this environment; every rank gets one
# thread unless a test says otherwise.
MPIRUN=(mpirun --allow-run-as-root --oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# run_mpi N ARGS...: sjtalign-mpi under mpirun -np N; OUT, ERR, RC as run_cmd.
run_mpi() {
    local n=$1
    shift
    "${MPIRUN[@]}" -np "$n" "$SJTALIGN_MPI" "$@" >"$TMP/.stdout" 2>"$TMP/.stderr"
    RC=$?
    OUT=$(cat "$TMP/.stdout")
    ERR=$(cat "$TMP/.stderr")
}

# expect_same_file A B DESCRIPTION: byte-identical files.
expect_same_file() {
    if cmp -s "$1" "$2"; then pass "$3"; else fail "$3: $1 and $2 differ" "$(cmp "$1" "$2" 2>&1 | head -3)"; fi
}

# ctrl_c_mpi ARGS...: sjtalign-mpi under mpirun -np 2, given 3 seconds
# before its SIGINT; mpirun passes it on as SIGTERM and kills the ranks 3
# seconds later (odls_base_sigkill_timeout). OUT, ERR, RC as run_cmd.
ctrl_c_mpi() {
    "${MPIRUN[@]}" --mca odls_base_sigkill_timeout 3 -np 2 "$SJTALIGN_MPI" "$@" \
        >"$TMP/.stdout" 2>"$TMP/.stderr" &
    local pid=$!
    sleep 3
    kill -INT $pid
    wait $pid
    RC=$?
    OUT=$(cat "$TMP/.stdout")
    ERR=$(cat "$TMP/.stderr")
}
