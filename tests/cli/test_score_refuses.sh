#!/usr/bin/env bash
# score refuses to guess (issue 15): sft records what it trained on and ppo
# and dpo carry it over; score refuses models that are not scorers and
# items the model never trained on unless allowed, and its ood column flags
# responses outside the training distribution.
. "$(dirname "$0")/lib.sh"
INS="$TMP/instrument.json"
cat >"$INS" <<'JSON'
{"id": "tiny", "title": "Tiny", "score_min": 0, "score_max": 3, "items": [
 {"id": "A", "scenario": "s", "question": "What now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "B", "scenario": "s", "question": "And then?", "rubric": [{"score": 3, "anchor": "talks"}]},
 {"id": "C", "scenario": "s", "question": "Why so?", "rubric": [{"score": 3, "anchor": "reasons"}]}]}
JSON
# 24 persons answer A in 4 words and B in 7, every wording of B at least 6
# times; item C has three answers without a score (lines 50-52), so sft
# never trains on it, and one of them is 12 words long.
words=(never rarely often always)
{
    echo "person_id,item_id,response,human_score"
    for p in $(seq 1 24); do
        k=$((p % 4))
        j=$(((p + 1) % 4))
        echo "P$p,A,I would ${words[$k]} help.,$k"
        echo "P$p,B,\"Sure, I would ${words[$j]} help them today.\",$j"
    done
    echo "P1,C,I would ask.,"
    echo "P2,C,a b c d e f g h i j k l,"
    echo "P3,C,Just because.,"
} >"$TMP/responses.csv"
head -49 "$TMP/responses.csv" >"$TMP/known.csv"
{
    echo "person_id,item_id,response,human_score"
    echo "Q1,A,I would help.,2"
    echo "Q2,A,one two three four five six seven eight nine ten,2"
    echo "Q3,B,one two three four five six seven eight nine ten eleven,2"
    printf 'Q4,B,'
    for w in $(seq 1 300); do printf 'w%d ' "$w"; done
    echo ',1'
} >"$TMP/new.csv"
{
    echo "person_id,item_id,true_score"
    head -49 "$TMP/responses.csv" | tail -n +2 | awk -F, '{print $1","$2","$NF}'
} >"$TMP/truth.csv"
T="--threads 1 --quiet"
score() { run_cmd score --instrument "$INS" --threads 1 --quiet "$@"; }
# ood_of FILE: person_id=ood per row
ood_of() { python3 -c "import csv, sys; print(' '.join(r['person_id'] + '=' + r['ood'] for r in csv.DictReader(open(sys.argv[1]))))" "$1"; }
expect_value() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "expected: $2" "got:      $1"; fi; }
training_of() { python3 -c "import json, sys; print(json.dumps(json.load(open(sys.argv[1]))['provenance'].get('training'), sort_keys=True))" "$1/config.json"; }

run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft" --steps 3 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 128 --vocab 280 --pretrain-steps 2 $T
expect_exit 0 "sft on the tiny data"

# ---- the training block ------------------------------------------------
# val_fraction 0.1 of 24 persons holds out round(2.4) = 2 persons, 4 rows:
# 48 - 4 = 44 training rows on items A and B (C has no score); the longest
# response is B's "Sure, I would always help them today." (37 bytes, 7
# words; "rarely" is as long), each wording given by 6 persons.
want='{"items": ["A", "B"], "max_response_chars": 37, "max_response_words": 7, "n_rows": 44}'
expect_value "$(training_of "$TMP/sft")" "$want" "sft records the items, rows and longest response it trained on"
run_cmd pairs --model "$TMP/sft" --instrument "$INS" --data "$TMP/known.csv" --n 40 --out "$TMP/pairs.csv" --seed 3 $T
run_cmd judge --truth "$TMP/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" --seed 1
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm" --steps 2 --batch 4 $T
expect_exit 0 "reward model"
run_cmd ppo --policy "$TMP/sft" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/ppo" --steps 1 --batch 4 --minibatch 4 $T
expect_exit 0 "ppo"
run_cmd dpo --policy "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/dpo" --steps 2 --batch 4 $T
expect_exit 0 "dpo"
expect_value "$(training_of "$TMP/ppo")" "$want" "ppo carries the training block of its policy"
expect_value "$(training_of "$TMP/dpo")" "$want" "dpo carries the training block of its policy"
expect_value "$(training_of "$TMP/rm")" "null" "a reward model has no training block"

# ---- models that are not scorers ----------------------------------------
score --model "$TMP/sft-pretrain" --data "$TMP/known.csv" --out "$TMP/base.csv"
expect_exit 2 "a pre-trained base model is refused"
expect_err_contains "$TMP/sft-pretrain is a pre-trained base model (made by pretrain), not a scorer: only models made by sft, ppo or dpo score responses (--allow-any-model scores with it anyway)" \
    "the refusal says what the folder is and which models score"
expect_no_file "$TMP/base.csv" "nothing written for a refused model"
score --model "$TMP/rm" --data "$TMP/known.csv" --out "$TMP/rm.csv"
expect_exit 2 "a reward model is refused"
expect_err_contains "$TMP/rm is a reward model (made by reward), not a scorer" "the refusal names a reward model"
score --model "$TMP/sft-pretrain" --data "$TMP/responses.csv" --out "$TMP/base.csv" --allow-any-model
expect_exit 0 "--allow-any-model scores with a base model"
expect_err_contains "warning: $TMP/sft-pretrain is a pre-trained base model (made by pretrain), not a scorer" \
    "--allow-any-model: a warning says what the folder is"
expect_err_contains "warning: $TMP/sft-pretrain does not record what it was trained on" \
    "--allow-any-model: a warning says unknown items cannot be told"
[ "$(grep -c ',$' "$TMP/base.csv")" -eq 51 ] && pass "--allow-any-model: every ood cell empty (nothing to check against)" ||
    fail "--allow-any-model: ood cells" "$(ood_of "$TMP/base.csv")"

# ---- items the model never trained on -----------------------------------
for m in sft ppo; do
    score --model "$TMP/$m" --data "$TMP/responses.csv" --out "$TMP/$m.csv"
    expect_exit 2 "$m: responses to an item it never trained on are refused"
    expect_err_contains "$TMP/responses.csv:50:2: item 'C' is not one the model $TMP/$m was trained on (it trained on 'A', 'B'); 3 rows answer items it never trained on ('C'); --allow-unknown-items scores them" \
        "$m: the refusal names the item, the first line and the count of rows"
    expect_no_file "$TMP/$m.csv" "$m: no scores written"
done
score --model "$TMP/sft" --data "$TMP/responses.csv" --out "$TMP/all.csv" --allow-unknown-items
expect_exit 0 "--allow-unknown-items scores them"
head -1 "$TMP/all.csv" | grep -qx 'person_id,item_id,response,human_score,score,score_mode,p_0,p_1,p_2,p_3,ood' &&
    pass "ood is the column after p_<k>" || fail "ood column" "$(head -1 "$TMP/all.csv")"
# 48 rows on A and B, all within 7 words; C: 3 words, 12 (> 10.5) and 2.
want_ood="$(for p in $(seq 1 24); do printf 'P%d= P%d= ' "$p" "$p"; done)P1=unknown_item P2=unknown_item;long P3=unknown_item"
expect_value "$(ood_of "$TMP/all.csv")" "$want_ood" "ood flags exactly the rows of item C, and the 12-word one as long"
expect_err_contains "sjtalign score: 3 of 51 responses out of the training distribution (3 on items it never trained on, 1 longer than 1.5 x its longest training response (7 words)); the ood column names the reasons" \
    "the summary counts the responses out of the distribution"
side=$(python3 -c "import json, sys; o = json.load(open(sys.argv[1]))['ood']; print(o['training_recorded'], o['responses'], o['unknown_item'], o['long'], o['truncated'], o['long_above_words'])" "$TMP/all.csv.json")
expect_value "$side" "True 3 3 1 0 10.5" "the provenance sidecar records the ood counts and the rule"

# ---- long and truncated responses ----------------------------------------
score --model "$TMP/dpo" --data "$TMP/new.csv" --out "$TMP/new_scores.csv"
expect_exit 0 "dpo scores new responses to trained items"
# 3 words; 10 words (not more than 10.5); 11 words; 300 words, far beyond
# the 128-token context of the model.
expect_value "$(ood_of "$TMP/new_scores.csv")" "Q1= Q2= Q3=long Q4=long;truncated" "long beyond 1.5 x 7 words, truncated beyond the context"
expect_err_contains "2 of 4 responses out of the training distribution (2 longer than 1.5 x its longest training response (7 words), 1 shortened to fit its context)" \
    "the summary counts long and truncated responses"

# ---- a normal run ---------------------------------------------------------
score --model "$TMP/sft" --data "$TMP/known.csv" --out "$TMP/known_scores.csv"
expect_exit 0 "responses like the training ones"
[ "$(grep -c ',$' "$TMP/known_scores.csv")" -eq 48 ] && pass "a normal run leaves every ood cell empty" ||
    fail "normal run ood cells" "$(ood_of "$TMP/known_scores.csv")"
case "$ERR" in
    *"out of the training distribution"*) fail "a normal run prints no ood summary" "$ERR" ;;
    *) pass "a normal run prints no ood summary" ;;
esac

# ---- a scorer made before the training block --------------------------------
cp -r "$TMP/sft" "$TMP/old"
python3 -c "import json, sys; c = json.load(open(sys.argv[1])); del c['provenance']['training']; json.dump(c, open(sys.argv[1], 'w'))" "$TMP/old/config.json"
score --model "$TMP/old" --data "$TMP/responses.csv" --out "$TMP/old.csv"
expect_exit 0 "a scorer without the training block scores"
expect_err_contains "warning: $TMP/old does not record what it was trained on (made by an earlier sjtalign, or not by sft, ppo or dpo): responses to items it never trained on and unusually long ones cannot be told apart" \
    "... with a warning that unknown items cannot be checked"
python3 -c "import json, sys; c = json.load(open(sys.argv[1])); c['provenance']['training'] = {'items': 'A'}; json.dump(c, open(sys.argv[1], 'w'))" "$TMP/old/config.json"
score --model "$TMP/old" --data "$TMP/known.csv" --out "$TMP/old.csv"
expect_exit 2 "a damaged training block"
expect_err_contains "$TMP/old/config.json: provenance.training is not as sjtalign writes it" "names the file and the block"

# An input column named ood clashes with the output's.
sed '1s/$/,ood/; 2,$s/$/,x/' "$TMP/known.csv" >"$TMP/clash.csv"
score --model "$TMP/sft" --data "$TMP/clash.csv" --out "$TMP/clash_scores.csv"
expect_exit 2 "an input column named ood"
expect_err_contains "input column 'ood' has the name of an output column" "names the clashing column"
expect_no_temporaries "$TMP" "no temporary files left"
