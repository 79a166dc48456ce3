#!/usr/bin/env bash
# sft --folds K --crossfit-out FILE: every input row scored once, in input
# order, by the model of its person's fold; the folds stratified by group;
# one fold reproduced by hand (sft on the other folds' rows, then score);
# the final model byte for byte a plain sft's; the usage errors exit 2.
. "$(dirname "$0")/lib.sh"
INS="$TMP/instrument.json"
cat >"$INS" <<'JSON'
{"id": "tiny", "title": "Tiny", "score_min": 0, "score_max": 3, "items": [
 {"id": "A", "scenario": "s", "question": "What now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "B", "scenario": "s", "question": "And then?", "rubric": [{"score": 3, "anchor": "talks"}]}]}
JSON
# 20 persons (6 focal: every third; 14 reference) x 2 items; persons 5, 10, 15, 20 have
# no human score on item B.
words=(never rarely often always)
{
    echo "person_id,group,item_id,response,human_score"
    for p in $(seq 1 20); do
        for it in A B; do
            k=$(((p + $([ "$it" = B ] && echo 1 || echo 0)) % 4))
            h=$k
            [ "$it" = B ] && [ $((p % 5)) -eq 0 ] && h=
            echo "P$p,$([ $((p % 3)) -eq 0 ] && echo foc || echo ref),$it,I would ${words[$k]} help.,$h"
        done
    done
} >"$TMP/responses.csv"
SHAPE="--steps 5 --batch 4 --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280 --seed 7 --threads 1 --quiet"
COMMON="--instrument $INS --score human_score $SHAPE"

run_cmd sft $COMMON --data "$TMP/responses.csv" --pretrain-steps 3 --out "$TMP/cf" \
    --folds 3 --crossfit-out "$TMP/cf.csv"
expect_exit 0 "sft --folds 3 cross-fits"
CF="$TMP/cf.csv"

# Every input row once, in input order, with its cells as given.
if [ "$(cut -d, -f1-5 "$CF")" = "$(cat "$TMP/responses.csv")" ]; then
    pass "every input row once, in input order, cells unchanged"
else
    fail "input rows and order" "$(head -5 "$CF")"
fi
header=$(head -1 "$CF")
if [ "$header" = "person_id,group,item_id,response,human_score,score,score_mode,p_0,p_1,p_2,p_3,ood,fold" ]; then
    pass "the columns of score, then fold"
else
    fail "header" "$header"
fi
# Rows without a human score are scored too.
unscored=$(awk -F, 'NR > 1 && $5 == "" && $6 != "" && $13 != ""' "$CF" | wc -l)
[ "$unscored" -eq 4 ] && pass "the 4 rows without a human score are scored" || fail "unscored rows" "$unscored"

# Folds: 1..3, one per person. The strata are dealt in label order, the
# deal going on from one to the next: the 6 focal persons 2/2/2, then the
# 14 reference persons from fold 1 on, 5/5/4; in all 7/7/6.
folds_per_person=$(awk -F, 'NR > 1 {print $1, $13}' "$CF" | sort -u | awk '{print $1}' | uniq -d | wc -l)
[ "$folds_per_person" -eq 0 ] && pass "each person in one fold" || fail "a person in two folds"
sizes=$(awk -F, 'NR > 1 {print $1, $13}' "$CF" | sort -u | awk '{print $2}' | sort | uniq -c | awk '{print $1}' | sort -n | tr '\n' ' ')
[ "$sizes" = "6 7 7 " ] && pass "fold sizes 7, 7, 6 persons" || fail "fold sizes" "$sizes"
spread=$(awk -F, 'NR > 1 {print $2, $1, $13}' "$CF" | sort -u |
    awk '{n[$1" "$3]++} END {for (g in n) {split(g, a, " "); if (!(a[1] in lo) || n[g] < lo[a[1]]) lo[a[1]] = n[g]; if (n[g] > hi[a[1]]) hi[a[1]] = n[g]} for (x in lo) print x, hi[x] - lo[x]}' | sort)
[ "$spread" = "$(printf 'foc 0\nref 1')" ] && pass "stratified: within each group the folds differ by at most one person" ||
    fail "stratification" "$spread"

# Fold 2 by hand: sft from the same pre-trained model on the other folds'
# rows, then score fold 2's rows.
awk -F, -v OFS=, 'NR == FNR {if (FNR > 1) fold[$1] = $13; next} FNR == 1 || fold[$1] != 2' \
    "$CF" "$TMP/responses.csv" >"$TMP/other.csv"
awk -F, -v OFS=, 'NR == FNR {if (FNR > 1) fold[$1] = $13; next} FNR == 1 || fold[$1] == 2' \
    "$CF" "$TMP/responses.csv" >"$TMP/fold2.csv"
run_cmd sft $COMMON --init "$TMP/cf-pretrain" --data "$TMP/other.csv" --out "$TMP/hand2"
expect_exit 0 "sft on the other folds' rows"
cmp -s "$TMP/hand2/model.safetensors" "$TMP/cf-fold2/model.safetensors" &&
    cmp -s "$TMP/hand2/lexical.json" "$TMP/cf-fold2/lexical.json" &&
    pass "fold 2's model is the sft on the other folds' rows" || fail "fold 2's model differs from sft by hand"
run_cmd score --model "$TMP/hand2" --instrument "$INS" --data "$TMP/fold2.csv" --out "$TMP/hand2.csv" \
    --threads 1 --quiet
expect_exit 0 "score fold 2 with it"
if [ "$(awk -F, 'NR == 1 || $13 == 2' "$CF" | cut -d, -f1-12)" = "$(cat "$TMP/hand2.csv")" ]; then
    pass "fold 2's cross-fitted scores equal score's, number for number"
else
    fail "fold 2's scores differ" "$(diff <(awk -F, 'NR == 1 || $13 == 2' "$CF" | cut -d, -f1-12) "$TMP/hand2.csv" | head -4)"
fi
n2=$(awk -F, 'NR > 1 && $13 == 2' "$CF" | wc -l)
[ "$n2" -gt 0 ] && [ "$n2" -eq $(($(wc -l <"$TMP/fold2.csv") - 1)) ] && pass "fold 2 has $n2 rows" || fail "fold 2 rows"

# The final model is the plain sft's, byte for byte.
run_cmd sft $COMMON --data "$TMP/responses.csv" --pretrain-steps 3 --out "$TMP/plain"
expect_exit 0 "plain sft"
cmp -s "$TMP/plain/model.safetensors" "$TMP/cf/model.safetensors" &&
    cmp -s "$TMP/plain/lexical.json" "$TMP/cf/lexical.json" &&
    cmp -s "$TMP/plain-pretrain/model.safetensors" "$TMP/cf-pretrain/model.safetensors" &&
    pass "final model identical to sft without --folds" || fail "final model differs from plain sft"
# Its provenance records the cross-fitting.
sha=$(sha256sum "$CF" | cut -d' ' -f1)
got=$(jq -r '.provenance.crossfit | "\(.folds) \(.sha256) \(.file) \(.stratified_by) \(.fold_models | length)"' "$TMP/cf/config.json")
[ "$got" = "3 $sha $CF group 3" ] && pass "provenance.crossfit: folds, file, sha256" || fail "provenance.crossfit" "$got"
fold_prov=$(jq -r '.provenance.crossfit | "\(.fold) \(.folds)"' "$TMP/cf-fold2/config.json")
[ "$fold_prov" = "2 3" ] && pass "the fold model records its fold" || fail "fold provenance" "$fold_prov"
jq -e '.provenance.crossfit == null' "$TMP/plain/config.json" >/dev/null &&
    pass "a plain sft records no cross-fitting" || fail "plain provenance"

# Usage errors exit 2 before any training.
INIT="--init $TMP/cf-pretrain"
run_cmd sft $COMMON $INIT --data "$TMP/responses.csv" --out "$TMP/e1" --folds 3
expect_exit 2 "--folds without --crossfit-out"
expect_err_contains "--folds and --crossfit-out go together" "says what is missing"
run_cmd sft $COMMON $INIT --data "$TMP/responses.csv" --out "$TMP/e1" --crossfit-out "$TMP/e1.csv"
expect_exit 2 "--crossfit-out without --folds"
run_cmd sft $COMMON $INIT --data "$TMP/responses.csv" --out "$TMP/e1" --folds 3 \
    --crossfit-out "$TMP/e1.csv" --resume
expect_exit 2 "--folds with --resume"
expect_err_contains "--resume cannot continue cross-fitting" "explains the refusal"
run_cmd sft $COMMON $INIT --data "$TMP/responses.csv" --out "$TMP/e1" --folds 1 --crossfit-out "$TMP/e1.csv"
expect_exit 2 "--folds 1"
run_cmd sft $COMMON $INIT --data "$TMP/responses.csv" --out "$TMP/e1" --folds 21 --crossfit-out "$TMP/e1.csv"
expect_exit 2 "more folds than persons"
expect_err_contains "21 folds need at least 21 persons; the file has 20" "names the count"
run_cmd sft $COMMON $INIT --data "$TMP/responses.csv" --out "$TMP/e1" --folds 3 \
    --crossfit-out "$TMP/e1/scores.csv"
expect_exit 2 "the scores file inside --out"
sed '1s/$/,fold/; 2,$s/$/,x/' "$TMP/responses.csv" >"$TMP/with_fold.csv"
run_cmd sft $COMMON $INIT --data "$TMP/with_fold.csv" --out "$TMP/e1" --folds 3 --crossfit-out "$TMP/e1.csv"
expect_exit 2 "an input column named fold"
expect_err_contains "input column 'fold' has the name of an output column" "names the clash"
expect_no_file "$TMP/e1-fold1" "nothing trained before the refusal"
expect_no_file "$TMP/e1.csv" "no scores file after a refusal"
expect_no_temporaries "$TMP" "no temporaries left"
