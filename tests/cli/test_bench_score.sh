#!/usr/bin/env bash
# bench --score (issue 17): scores every response of a file with a scorer,
# with and without the shared-prefix cache, and prints one JSON line with
# its rates next to the forward pass's FLOP ceiling; its inputs go with
# --score only.
. "$(dirname "$0")/lib.sh"
INS="$TMP/instrument.json"
cat >"$INS" <<'JSON'
{"id": "tiny", "title": "Tiny", "score_min": 0, "score_max": 3, "items": [
 {"id": "A", "scenario": "s", "question": "What would you do now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "B", "scenario": "s", "question": "And what then, after that?", "rubric": [{"score": 3, "anchor": "talks"}]}]}
JSON
words=(never rarely often always)
{
    echo "person_id,item_id,response,human_score"
    for p in $(seq 1 12); do
        echo "P$p,A,I would ${words[$((p % 4))]} help.,$((p % 4))"
        echo "P$p,B,\"Sure, I would ${words[$(((p + 1) % 4))]} help them.\",$(((p + 1) % 4))"
    done
} >"$TMP/responses.csv"
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft" --steps 2 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 64 --vocab 280 --pretrain-steps 2 --threads 1 --quiet
expect_exit 0 "sft on the tiny data"

run_cmd bench --score --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" \
    --steps 1 --threads 1
expect_exit 0 "bench --score"
n=$(printf '%s\n' "$OUT" | wc -l)
if [ "$n" -eq 1 ]; then pass "bench --score prints one line"; else fail "bench --score printed $n lines"; fi
for k in responses_per_s responses_per_s_unshared responses_per_cpu_s tokens_per_response \
    forward_mflop_per_response peak_gflops ceiling_responses_per_s of_ceiling blas_core threads params; do
    expect_out_contains "\"$k\":" "bench --score reports $k"
done
# 24 responses; the ceiling is the peak over the FLOPs of a forward pass
checks=$(python3 -c '
import json, sys
r = json.loads(sys.argv[1])
print(r["responses"] == 24, r["responses_per_s"] > 0, r["responses_per_s_unshared"] > 0,
      abs(r["ceiling_responses_per_s"] - r["peak_gflops"] * 1e3 / r["forward_mflop_per_response"])
      <= 1e-3 * r["ceiling_responses_per_s"] + 0.1)' "$OUT")
if [ "$checks" = "True True True True" ]; then pass "bench --score counts 24 responses and divides the peak by the FLOPs"; else fail "bench --score figures" "$checks" "$OUT"; fi

run_cmd bench --score --instrument "$INS" --data "$TMP/responses.csv"
expect_exit 2 "bench --score without --model"
expect_err_contains "--score needs --model, --instrument and --data" "the refusal names what --score needs"
run_cmd bench --model "$TMP/sft" --steps 1
expect_exit 2 "bench --model without --score"
expect_err_contains "go with --score" "the refusal says the inputs go with --score"
run_cmd bench --score --model "$TMP/sft" --instrument "$INS" --data "$TMP/missing.csv"
expect_exit 2 "bench --score with a missing data file"
