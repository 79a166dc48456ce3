#!/usr/bin/env bash
# score under mpirun (issue 19): the ranks share the batches the
# one-process run forms, rank 0 writes; the scores CSV is byte for byte the
# non-MPI build's at N = 1, 2 and 3, on the fast path (one token per level)
# and the general one (a rationale after the score), across a chunk
# boundary, on standard output, and with more ranks than batches.
. "$(dirname "$0")/lib.sh"
INS="$TMP/instrument.json"
cat >"$INS" <<'JSON'
{"id": "tiny", "title": "Tiny", "score_min": 0, "score_max": 3, "items": [
 {"id": "A", "scenario": "s", "question": "What would you do now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "B", "scenario": "s", "question": "And what then, after that?", "rubric": [{"score": 3, "anchor": "talks"}]},
 {"id": "C", "scenario": "s", "question": "Why?", "rubric": [{"score": 2, "anchor": "reasons"}]}]}
JSON
# 3 items x 70 persons, responses of 4 to 9 words: several prefix groups
# and batches of every length
words=(never rarely often always sometimes)
{
    echo "person_id,item_id,response,human_score"
    for p in $(seq 1 70); do
        echo "P$p,A,I would ${words[$((p % 5))]} help $((p % 7)) times.,$((p % 4))"
        echo "P$p,B,\"Sure, I would ${words[$(((p + 1) % 5))]} help them $((p % 3)).\",$(((p + 1) % 4))"
        echo "P$p,C,Because $((p % 11)) said so.,$(((p + 2) % 4))"
    done
} >"$TMP/responses.csv"
tiny=(--layers 1 --heads 2 --embd 16 --ctx 64 --vocab 280 --pretrain-steps 2 --steps 2 --batch 4
    --threads 1 --quiet)
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft" "${tiny[@]}"
expect_exit 0 "sft on the tiny data (fast path model)"
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft_r" --rationale "${tiny[@]}"
expect_exit 0 "sft --rationale on the tiny data (general path model)"

# The provenance without its timing, which differs run to run.
json_sans_seconds() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("seconds"); print(json.dumps(d, sort_keys=True))' "$1"
}

# compare_scores N MODEL BATCH DATA LABEL: the non-MPI build and -np N.
compare_scores() {
    local n=$1 model=$2 batch=$3 data=$4 label=$5
    local ref="$TMP/ref_${label}.csv" got="$TMP/np${n}_${label}.csv"
    [ -f "$ref" ] || run_cmd score --model "$model" --instrument "$INS" --data "$data" --out "$ref" \
        --batch "$batch" --threads 1 --quiet
    run_mpi "$n" score --model "$model" --instrument "$INS" --data "$data" --out "$got" \
        --batch "$batch" --threads 1 --quiet
    expect_exit 0 "score $label under -np $n"
    expect_same_file "$ref" "$got" "score $label: -np $n writes the non-MPI build's bytes"
    if [ "$(json_sans_seconds "$ref.json")" = "$(json_sans_seconds "$got.json")" ]; then
        pass "score $label: -np $n writes the same provenance (but its seconds)"
    else
        fail "score $label: -np $n provenance differs" "$(diff <(json_sans_seconds "$ref.json") <(json_sans_seconds "$got.json"))"
    fi
}

for n in 1 2 3; do
    compare_scores "$n" "$TMP/sft" 7 "$TMP/responses.csv" fast_b7
done
compare_scores 3 "$TMP/sft" 64 "$TMP/responses.csv" fast_b64
for n in 2 3; do
    compare_scores "$n" "$TMP/sft_r" 5 "$TMP/responses.csv" general_b5
done

# 4100 rows: two chunks of the stream (4096 + 4), each shared on its own
{
    echo "person_id,item_id,response,human_score"
    for p in $(seq 1 1367); do
        echo "Q$p,A,I would ${words[$((p % 5))]} help $((p % 13)) times.,1"
        echo "Q$p,B,\"Sure, I would ${words[$(((p + 1) % 5))]} help them $((p % 9)).\",2"
        echo "Q$p,C,Because $((p % 17)) said so.,3"
    done
} | head -4101 >"$TMP/long.csv"
compare_scores 2 "$TMP/sft" 64 "$TMP/long.csv" two_chunks

# 2 rows and 3 ranks: rank 2 has no batch (one group of 2, batch 1: 2 batches)
head -3 "$TMP/responses.csv" | sed -n '1p;2p' >"$TMP/two.csv"
sed -n 5p "$TMP/responses.csv" >>"$TMP/two.csv"
compare_scores 3 "$TMP/sft" 1 "$TMP/two.csv" idle_rank

# standard output: the same bytes, once (rank 0 alone writes)
run_mpi 2 score --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" --out - \
    --batch 7 --threads 1 --quiet
expect_exit 0 "score --out - under -np 2"
if [ "$OUT" = "$(cat "$TMP/ref_fast_b7.csv")" ]; then pass "score --out - under -np 2 prints the non-MPI build's scores once"; else fail "score --out - under -np 2 printed other text" "$(printf '%s\n' "$OUT" | head -3)"; fi

expect_no_temporaries "$TMP" "no temporaries left in the test folder"
