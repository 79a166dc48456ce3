#!/usr/bin/env bash
# Scaling over MPI ranks, measured on this machine and modelled for a
# cluster (docs/SCALING.md explains the model and shows a run's table).
#
# Measured (each pair in the same run, so the ratio holds on a noisy machine):
#   1. a training step (sjtalign bench: forward, backward, update on random
#      tokens) of the demo model and of a 4-layer, 256-wide model, as one
#      rank with 2 threads against 2 ranks with 1 thread each, with the
#      time of one allreduce of the gradient block against a step's compute;
#   2. scoring the demo's held-out size (7,200 responses): `score` as one
#      rank with 2 threads against 2 ranks with 1 thread;
#   3. SFT on the demo data, 60 steps: the same two layouts.
# Modelled: a node's step time at each per-node batch share, measured here
# as one rank with 2 threads, plus a ring allreduce of the gradient block
# over P nodes, for P = 1..64 at a global batch of 256 sequences.
#
# usage: bench/bench_mpi.sh   (needs `make mpi`; skipped without mpirun)
# Environment: MPI_BENCH_STEPS (timed bench steps, default 10),
#   MPI_BENCH_GBPS (network bandwidth in Gbit/s, default 10),
#   MPI_BENCH_LATENCY_US (per-message latency, default 20).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sj=${SJTALIGN:-$root/build/sjtalign}
mpi_sj="$root/build/sjtalign-mpi"
steps=${MPI_BENCH_STEPS:-10}
gbps=${MPI_BENCH_GBPS:-10}
latency_us=${MPI_BENCH_LATENCY_US:-20}
if ! command -v mpirun >/dev/null || [ ! -x "$mpi_sj" ]; then
    echo "skipped: needs mpirun and build/sjtalign-mpi (make deps && make mpi)"
    exit 0
fi
mpirun=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
demo="$root/data/demo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[ -x "$py" ] || py=python3

field() { "$py" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# bench_line NP THREADS SHAPE... : one JSON line of sjtalign-mpi bench
bench_line() {
    local np=$1 threads=$2
    shift 2
    "${mpirun[@]}" -np "$np" -x OMP_NUM_THREADS="$threads" "$mpi_sj" bench "$@" \
        --threads "$threads" --steps "$steps" 2>/dev/null | tail -n 1
}

declare -A SHAPE=(
    [demo]="--layers 2 --heads 4 --embd 96 --ctx 128 --vocab 512"
    [4x256]="--layers 4 --heads 4 --embd 256 --ctx 128 --vocab 512"
)

echo "1. training step, batch 32 x 128 tokens ($steps timed steps)"
for name in demo 4x256; do
    # shellcheck disable=SC2086
    one=$(bench_line 1 2 ${SHAPE[$name]} --batch 32)
    # shellcheck disable=SC2086
    two=$(bench_line 2 1 ${SHAPE[$name]} --batch 32)
    [ -n "$one" ] && [ -n "$two" ] || { echo "bench failed"; exit 1; }
    echo "  $name 1 rank x 2 threads: $one"
    echo "  $name 2 ranks x 1 thread: $two"
    awk -v a="$(field "$one" step_ms)" -v b="$(field "$two" step_ms)" \
        -v c="$(field "$two" compute_ms)" -v r="$(field "$two" allreduce_ms)" \
        -v g="$(field "$two" grad_bytes)" -v n="$name" 'BEGIN {
        printf "  %s: 2 ranks x 1 thread take %.2f x the step time of 1 rank x 2 threads; one allreduce of the %.2f MB gradient block takes %.3f ms, %.2f%% of a rank'"'"'s step compute (%.1f ms)\n",
            n, b / a, g / 1e6, r, 100 * r / c, c }'
done

echo "2. scoring 7,200 held-out responses"
head -n 7201 "$demo/responses.csv" >"$tmp/responses.csv"
"$sj" pretrain --data "$demo/responses.csv" --out "$tmp/pre" --steps 20 --threads 2 \
    --save-every 0 --quiet >/dev/null 2>&1 || { echo "pretrain failed"; exit 1; }
"$sj" sft --init "$tmp/pre" --instrument "$demo/instrument.json" --data "$demo/responses.csv" \
    --score rater_1,rater_2 --out "$tmp/sft0" --steps 10 --eval-every 0 --threads 2 \
    --quiet >/dev/null 2>&1 || { echo "sft failed"; exit 1; }
# timed NAME NP THREADS ARGS...: wall seconds of an sjtalign-mpi command
timed() {
    local name=$1 np=$2 threads=$3
    shift 3
    local s e
    s=$(date +%s.%N)
    "${mpirun[@]}" -np "$np" -x OMP_NUM_THREADS="$threads" "$mpi_sj" "$@" --threads "$threads" \
        --quiet >/dev/null 2>"$tmp/$name.err" || { echo "$name failed: $(cat "$tmp/$name.err")"; exit 1; }
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f", e - s }'
}
score_args=(score --model "$tmp/sft0" --instrument "$demo/instrument.json" --data "$tmp/responses.csv")
a=$(timed score1 1 2 "${score_args[@]}" --out "$tmp/s1.csv")
b=$(timed score2 2 1 "${score_args[@]}" --out "$tmp/s2.csv")
# the files hold the same rows; their last digits may differ, since a
# batch's bits depend on its threads (tests/mpi compares equal layouts)
[ "$(wc -l <"$tmp/s1.csv")" = "$(wc -l <"$tmp/s2.csv")" ] || { echo "the two layouts scored different rows"; exit 1; }
awk -v a="$a" -v b="$b" 'BEGIN { printf "  1 rank x 2 threads %.2f s, 2 ranks x 1 thread %.2f s: ratio %.2f\n", a, b, b / a }'

echo "3. SFT, 60 steps of 32 sequences"
sft_args=(sft --init "$tmp/pre" --instrument "$demo/instrument.json" --data "$demo/responses.csv"
    --score rater_1,rater_2 --steps 60 --eval-every 0)
a=$(timed sft1 1 2 "${sft_args[@]}" --out "$tmp/sft1")
b=$(timed sft2 2 1 "${sft_args[@]}" --out "$tmp/sft2")
awk -v a="$a" -v b="$b" 'BEGIN { printf "  1 rank x 2 threads %.2f s, 2 ranks x 1 thread %.2f s: ratio %.2f\n", a, b, b / a }'

echo "4. modelled speed-up over P nodes (a node = 1 rank x 2 threads of this machine),"
echo "   global batch 256 x 128 tokens, ring allreduce at $gbps Gbit/s and $latency_us us per message"
for name in demo 4x256; do
    line=""
    for per in 256 128 64 32 16 8 4; do
        # shellcheck disable=SC2086
        r=$(bench_line 1 2 ${SHAPE[$name]} --batch "$per")
        [ -n "$r" ] || { echo "bench failed"; exit 1; }
        line="$line $per:$(field "$r" step_ms)"
        bytes=$(field "$r" grad_bytes)
    done
    awk -v spec="$line" -v bytes="$bytes" -v gbps="$gbps" -v lat="$latency_us" -v n="$name" 'BEGIN {
        k = split(spec, parts, " ")
        for (i = 1; i <= k; i++) { split(parts[i], kv, ":"); ms[kv[1]] = kv[2] }
        bw = gbps * 1e9 / 8
        printf "  %s: gradient block %.2f MB per step\n", n, bytes / 1e6
        printf "  | nodes | batch per node | compute ms | allreduce ms | step ms | speed-up | efficiency |\n"
        printf "  |---|---|---|---|---|---|---|\n"
        dominated = 0
        for (P = 1; P <= 64; P *= 2) {
            per = 256 / P
            c = ms[per]
            a = P > 1 ? (2 * (P - 1) / P * bytes / bw + 2 * (P - 1) * lat * 1e-6) * 1e3 : 0
            s = ms[256] / (c + a)
            printf "  | %d | %d | %.1f | %.2f | %.1f | %.1f | %.0f%% |\n", P, per, c, a, c + a, s, 100 * s / P
            if (!dominated && a > c) { dominated = P }
        }
        if (dominated) printf "  communication exceeds compute from %d nodes on\n", dominated
        else printf "  communication stays below compute up to 64 nodes\n"
    }'
done
