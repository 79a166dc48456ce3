#!/usr/bin/env bash
# sjtalign-mpi bench: data-parallel steps with the one allreduce per step.
. "$SJTALIGN_ROOT/tests/mpi/lib.sh"

shape=(--layers 1 --heads 2 --embd 16 --ctx 8 --vocab 260 --batch 5 --steps 2 --threads 1)
# Parameters of that shape, by hand: token and position embeddings 260*16 +
# 8*16; one block: two LayerNorms 2*(2*16), qkv 16*48 + 48, projection
# 16*16 + 16, MLP 16*64 + 64 + 64*16 + 16; the final LayerNorm 2*16; the
# output layer is tied to the token embedding.
params=$((260 * 16 + 8 * 16 + 2 * 2 * 16 + 16 * 48 + 48 + 16 * 16 + 16 + 16 * 64 + 64 + 64 * 16 + 16 + 2 * 16))

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2" 2>/dev/null; }

run_mpi 1 bench "${shape[@]}"
expect_exit 0 "bench under mpirun -np 1"
if [ "$(field "$OUT" ranks)" = 1 ] && [ "$(field "$OUT" allreduce_ms)" = 0.0 ] &&
    [ "$(field "$OUT" exchange_ms)" = 0.0 ]; then
    pass "one rank: ranks 1, no exchange, no allreduce"
else
    fail "one rank: ranks 1, no exchange, no allreduce" "$OUT"
fi

for np in 2 3; do
    run_mpi "$np" bench "${shape[@]}"
    expect_exit 0 "bench under mpirun -np $np (a batch of 5 split over the ranks)"
    n_lines=$(printf '%s\n' "$OUT" | grep -c '^{')
    if [ "$n_lines" = 1 ]; then pass "-np $np: rank 0 alone prints the JSON line"; else fail "-np $np: rank 0 alone prints the JSON line" "$OUT"; fi
    if [ "$(field "$OUT" ranks)" = "$np" ] && [ "$(field "$OUT" params)" = "$params" ] &&
        [ "$(field "$OUT" grad_bytes)" = "$((params * 4))" ]; then
        pass "-np $np: ranks $np, the gradient block is params x 4 bytes ($((params * 4)))"
    else
        fail "-np $np: ranks, params ($params) and grad_bytes" "$OUT"
    fi
    if python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(0 if r["allreduce_ms"] > 0 and r["compute_ms"] > 0 and r["step_ms"] >= r["compute_ms"] else 1)' "$OUT"; then
        pass "-np $np: an allreduce is timed, and a step is its compute plus its exchange"
    else
        fail "-np $np: allreduce and compute times" "$OUT"
    fi
done
