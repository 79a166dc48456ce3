#!/usr/bin/env bash
# Scoring throughput of the demo-size model (2 layers, 4 heads, embd 96,
# ctx 128, vocab 512): responses per second of `sjtalign bench --score`
# next to the forward pass's FLOP ceiling (the measured sgemm peak over the
# FLOPs of a plain forward pass per response), with and without the
# shared-prefix cache, then the whole `sjtalign score` command on the same
# responses. The model is trained briefly here (a short pretrain and SFT:
# the cost of scoring does not depend on how well the model is trained), so
# the benchmark needs nothing but data/demo.
# usage: bench/bench_score.sh   (SJTALIGN=path/to/sjtalign; set by make bench)
# Environment: SCORE_BENCH_ROWS (default 7200, the demo's held-out size),
#              SCORE_BENCH_THREADS (default 2), SCORE_BENCH_ROUNDS (default 3).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sj=${SJTALIGN:-$root/build/sjtalign}
rows=${SCORE_BENCH_ROWS:-7200}
threads=${SCORE_BENCH_THREADS:-2}
rounds=${SCORE_BENCH_ROUNDS:-3}
demo="$root/data/demo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

head -n "$((rows + 1))" "$demo/responses.csv" >"$tmp/responses.csv"
"$sj" pretrain --data "$demo/responses.csv" --out "$tmp/pre" --steps 20 --threads "$threads" \
    --save-every 0 --quiet >/dev/null 2>&1 || { echo "pretrain failed"; exit 1; }
"$sj" sft --init "$tmp/pre" --instrument "$demo/instrument.json" --data "$demo/responses.csv" \
    --score rater_1,rater_2 --out "$tmp/sft" --steps 10 --eval-every 0 --threads "$threads" \
    --quiet >/dev/null 2>&1 ||
    { echo "sft failed"; exit 1; }

line=$("$sj" bench --score --model "$tmp/sft" --instrument "$demo/instrument.json" \
    --data "$tmp/responses.csv" --threads "$threads" --steps "$rounds") ||
    { echo "bench --score failed"; exit 1; }
echo "sjtalign bench --score: $line"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" - "$line" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print("scoring %d responses (%.1f tokens each): %.0f responses/s (%.0f per CPU-second); "
      "forward FLOP ceiling %.0f responses/s (%.2f MFLOP each at the measured sgemm peak "
      "%.1f GFLOP/s): %.2f x the ceiling; without the prefix cache %.0f responses/s "
      "(cache: %.2f x)" % (
          r["responses"], r["tokens_per_response"], r["responses_per_s"],
          r["responses_per_cpu_s"], r["ceiling_responses_per_s"],
          r["forward_mflop_per_response"], r["peak_gflops"], r["of_ceiling"],
          r["responses_per_s_unshared"],
          r["responses_per_s"] / r["responses_per_s_unshared"]))
PY

start=$(date +%s.%N)
"$sj" score --model "$tmp/sft" --instrument "$demo/instrument.json" --data "$tmp/responses.csv" \
    --out "$tmp/scores.csv" --threads "$threads" --quiet 2>/dev/null ||
    { echo "score failed"; exit 1; }
end=$(date +%s.%N)
scored=$(($(wc -l <"$tmp/scores.csv") - 1))
[ "$scored" -eq "$rows" ] || { echo "expected $rows scored rows, got $scored"; exit 1; }
awk -v n="$scored" -v s="$start" -v e="$end" 'BEGIN {
    printf "sjtalign score (the whole command: reading, encoding, scoring, writing): %d responses in %.2f s, %.0f responses/s\n", n, e - s, n / (e - s) }'
