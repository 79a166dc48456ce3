#!/usr/bin/env bash
# sft and baseline on several raters (--score rater_1,rater_2): the
# provenance names the columns and the rule, the examples are one per rater
# score, a rater column left empty everywhere changes nothing, and bad
# lists exit 2.
. "$(dirname "$0")/lib.sh"
INS="$TMP/instrument.json"
cat >"$INS" <<'JSON'
{"id": "tiny", "title": "Tiny", "score_min": 0, "score_max": 3, "items": [
 {"id": "A", "scenario": "s", "question": "What now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "B", "scenario": "s", "question": "And then?", "rubric": [{"score": 3, "anchor": "talks"}]}]}
JSON
# 16 persons x 2 items = 32 rows. rater_1 scores every row but those of
# P4 (2 rows); rater_2 scores the rows of odd persons (16 rows) and gives
# rater_1's score + 1 capped at 3. Rows with a score: 32 - 2 + 1 (P4 is
# even, so its rows have none) = 30; rater scores: 30 + 16 = 46.
words=(never rarely often always)
{
    echo "person_id,group,item_id,response,rater_1,rater_2,empty"
    for p in $(seq 1 16); do
        for it in A B; do
            k=$(((p + $([ "$it" = B ] && echo 1 || echo 0)) % 4))
            r1=$k
            [ "$p" -eq 4 ] && r1=
            r2=
            [ $((p % 2)) -eq 1 ] && r2=$((k + 1 > 3 ? 3 : k + 1))
            echo "P$p,$([ $((p % 2)) -eq 0 ] && echo ref || echo foc),$it,I would ${words[$k]} help.,$r1,$r2,"
        done
    done
} >"$TMP/responses.csv"
SHAPE="--steps 4 --batch 4 --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280 --threads 1 --quiet"
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --score rater_1 $SHAPE --pretrain-steps 2 \
    --out "$TMP/one"
expect_exit 0 "sft on one rater"
INIT="--init $TMP/one-pretrain"
C="--instrument $INS --data $TMP/responses.csv $SHAPE $INIT"

run_cmd sft $C --score rater_1,rater_2 --out "$TMP/two"
expect_exit 0 "sft --score rater_1,rater_2"
got=$(jq -r '.provenance.human_scores | "\(.columns | join("+")) \(.rule) \(.n_train_examples + .n_val_examples)"' "$TMP/two/config.json")
[ "$got" = "rater_1+rater_2 mean of the raters 46" ] && pass "provenance: both columns, the mean, 46 examples (one per rater score)" ||
    fail "human_scores provenance" "$got"
rows=$(jq -r '.provenance | "\(.n_train_rows + .n_val_rows) \(.n_train_rows == .training.n_rows)"' "$TMP/two/config.json")
[ "$rows" = "30 true" ] && pass "30 responses with a score, each counted once" || fail "rows" "$rows"
one=$(jq -r '.provenance.human_scores | "\(.columns | join("+")) \(.rule) \(.n_train_examples + .n_val_examples)"' "$TMP/one/config.json")
[ "$one" = "rater_1 one rater 30" ] && pass "one column: that rater, one example per scored row" || fail "one rater" "$one"
last=$(tail -n 1 "$TMP/two/train_log.jsonl" | jq -r '[.val_loss, .val_exact, .val_qwk] | map(type) | join(" ")')
[ "$last" = "number number number" ] && pass "held-out metrics against the raters' mean" || fail "held-out metrics" "$last"

# Blanks around the names do not matter; a rater column empty on every row
# leaves each response its one score with weight 1: rater_1 alone.
run_cmd sft $C --score " rater_1 , rater_2 " --out "$TMP/blanks"
cmp -s "$TMP/blanks/model.safetensors" "$TMP/two/model.safetensors" && pass "blanks around names ignored" ||
    fail "blanks changed the model"
run_cmd sft $C --score rater_1 --out "$TMP/one_init"
run_cmd sft $C --score rater_1,empty --out "$TMP/with_empty"
expect_exit 0 "sft with an empty rater column"
cmp -s "$TMP/one_init/model.safetensors" "$TMP/with_empty/model.safetensors" &&
    cmp -s "$TMP/one_init/lexical.json" "$TMP/with_empty/lexical.json" &&
    pass "an empty rater column changes nothing" || fail "empty rater column changed the model"

# baseline
B="--instrument $INS --train $TMP/responses.csv --data $TMP/responses.csv"
run_cmd baseline $B --score rater_1,rater_2 --out "$TMP/base2.csv"
expect_exit 0 "baseline --score rater_1,rater_2"
expect_out_contains "several raters: 46 rater scores of 30 rows, each row weighing 1" "baseline says what it fitted"
expect_out_contains "fitted on 30 rows" "30 rows fitted"
run_cmd baseline $B --score rater_1 --out "$TMP/base1.csv"
run_cmd baseline $B --score rater_1,empty --out "$TMP/base1e.csv"
expect_exit 0 "baseline with an empty rater column"
cmp -s "$TMP/base1.csv" "$TMP/base1e.csv" && pass "baseline: an empty rater column changes nothing" ||
    fail "baseline changed"
for m in ordinal knn; do
    run_cmd baseline $B --score rater_1,rater_2 --method $m --out "$TMP/b_$m.csv"
    expect_exit 0 "baseline --method $m on two raters"
done
cmp -s "$TMP/base1.csv" "$TMP/base2.csv" && fail "the second rater changed nothing" ||
    pass "the second rater changes the fit"

# Bad lists exit 2 and name the problem.
for cmd in sft baseline; do
    if [ $cmd = sft ]; then A="$C --out $TMP/bad"; else A="$B --out $TMP/bad.csv"; fi
    run_cmd $cmd $A --score rater_1,nope
    expect_exit 2 "$cmd: a missing rater column"
    expect_err_contains "nope" "$cmd names it"
    run_cmd $cmd $A --score rater_1,,rater_2
    expect_exit 2 "$cmd: an empty name in the list"
    run_cmd $cmd $A --score rater_1,rater_1
    expect_exit 2 "$cmd: a column listed twice"
    expect_err_contains "column 'rater_1' is listed twice" "$cmd says so"
done
sed '3s/,3,$/,7,/; 3s/,2,3,/,2,7,/' "$TMP/responses.csv" >"$TMP/out_of_range.csv"
sed -n 3p "$TMP/out_of_range.csv" | grep -q ',7,' || fail "fixture: no 7 on line 3"
run_cmd sft --instrument "$INS" --data "$TMP/out_of_range.csv" $SHAPE $INIT --score rater_1,rater_2 --out "$TMP/bad"
expect_exit 2 "a rater score outside the range"
expect_err_contains "out_of_range.csv:3:6: score 7 is outside the instrument's range 0..3" "names file:line:col"
expect_no_file "$TMP/bad" "nothing written"
