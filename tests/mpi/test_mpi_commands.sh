#!/usr/bin/env bash
# Commands that are not distributed (simulate, split, ...) run once, on
# rank 0, under any number of ranks; sjtalign-mpi also runs without
# mpirun, and as a plain process with SJTALIGN_NO_MPI=1.
. "$SJTALIGN_ROOT/tests/mpi/lib.sh"

"$SJTALIGN" simulate --out "$TMP/plain" --persons 60 --items 3 --seed 5 >/dev/null 2>&1
for np in 2 3; do
    run_mpi "$np" simulate --out "$TMP/sim$np" --persons 60 --items 3 --seed 5
    expect_exit 0 "simulate under -np $np"
    n_lines=$(printf '%s\n' "$ERR" | grep -c '^simulate: ')
    if [ "$n_lines" = 1 ]; then pass "-np $np: simulate reports once"; else fail "-np $np: simulate reports once" "$ERR"; fi
    if diff -r "$TMP/plain" "$TMP/sim$np" >/dev/null; then
        pass "-np $np: the files equal the non-MPI build's, byte for byte"
    else
        fail "-np $np: the files equal the non-MPI build's" "$(diff -r "$TMP/plain" "$TMP/sim$np" | head -5)"
    fi
done

"$SJTALIGN_MPI" simulate --out "$TMP/single" --persons 60 --items 3 --seed 5 >/dev/null 2>&1
RC=$?
expect_exit 0 "sjtalign-mpi without mpirun"
SJTALIGN_NO_MPI=1 "$SJTALIGN_MPI" simulate --out "$TMP/nompi" --persons 60 --items 3 --seed 5 \
    >/dev/null 2>&1
RC=$?
expect_exit 0 "sjtalign-mpi with SJTALIGN_NO_MPI=1"
if diff -r "$TMP/plain" "$TMP/single" >/dev/null && diff -r "$TMP/plain" "$TMP/nompi" >/dev/null; then
    pass "both equal the non-MPI build's files"
else
    fail "both equal the non-MPI build's files"
fi

mkdir -p "$TMP/split1" "$TMP/split2"
split_to() {
    echo --data "$TMP/plain/responses.csv" --train-out "$1/train.csv" --heldout-out "$1/heldout.csv" \
        --split-out "$1/split.csv" --seed 3
}
# shellcheck disable=SC2046
run_mpi 2 split $(split_to "$TMP/split2")
expect_exit 0 "split under -np 2"
# shellcheck disable=SC2046
"$SJTALIGN" split $(split_to "$TMP/split1") >/dev/null 2>&1
# split.csv records the output paths, which differ; the tables must not
if cmp -s "$TMP/split1/train.csv" "$TMP/split2/train.csv" &&
    cmp -s "$TMP/split1/heldout.csv" "$TMP/split2/heldout.csv"; then
    pass "split's tables equal the non-MPI build's"
else
    fail "split's tables equal the non-MPI build's"
fi

run_mpi 3 dif --bogus
expect_exit 2 "a usage error under -np 3"
n_lines=$(printf '%s\n' "$ERR" | grep -c "unknown option '--bogus'")
if [ "$n_lines" = 1 ]; then pass "the usage error is printed once"; else fail "the usage error is printed once" "$ERR"; fi
