#!/usr/bin/env bash
# sjtalign baseline: the scores file's layout (as `score` writes it), the
# ordinal model's distributions, the k-NN baseline against a least-squares
# fit solved by hand, and the input errors that must exit 2.
. "$(dirname "$0")/lib.sh"

# One item; its only anchor (level 2) is "alpha". The four training answers
# share no word, so each one's k-NN mean is the mean of the other three
# (its own text is left out): alpha 2 -> (1+0+1)/3 = 2/3, beta 1 -> 1,
# gamma 0 -> 4/3, delta 1 -> 1; the anchor cosine is 1 for alpha, else 0.
# Least squares of y = (2, 1, 0, 1) on [1, cos, knn]: beta, gamma and delta
# lie on the line through (knn 1, y 1) and (4/3, 0): intercept 4, slope -3;
# alpha then needs 2 = 4 + b_cos - 3 * 2/3, so b_cos = 0. The fit is exact.
cat >"$TMP/ins.json" <<'EOF'
{"id": "toy", "title": "Toy", "score_min": 0, "score_max": 2, "items": [
 {"id": "Q1", "scenario": "s", "question": "Explain it.", "rubric": [
  {"score": 2, "anchor": "alpha"}]}]}
EOF
printf 'person_id,item_id,response,score\np1,Q1,alpha,2\np2,Q1,beta,1\np3,Q1,gamma,0\np4,Q1,Delta!,1\np5,Q1,alpha,\n' >"$TMP/train.csv"
# To score: alpha (its training twin left out: knn 2/3 -> 2), beta (-> 1),
# epsilon (new: knn = the item mean 1 -> 1), "alpha beta" (neighbours alpha
# 2 and beta 1, third slot the item mean 1: knn 4/3 -> 0).
printf 'person_id,item_id,response,note\nr1,Q1,alpha,=x\nr2,Q1,beta,\nr3,Q1,epsilon,\nr4,Q1,alpha beta,\n' >"$TMP/new.csv"

run_cmd baseline --help
expect_exit 0 "baseline --help"
expect_out_contains "--method ordinal|knn" "help lists the methods"

run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/new.csv" \
    --method knn --out "$TMP/knn.csv" --coef-out "$TMP/coef.csv"
expect_exit 0 "knn baseline"
expect_out_contains "fitted on 4 rows; scored 4 rows" "counts of rows fitted (empty score skipped) and scored"
check=$(python3 - "$TMP/knn.csv" "$TMP/coef.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = [2, 1, 1, 0]
assert len(rows) == 4, len(rows)
for r, w in zip(rows, want):
    assert abs(float(r["score"]) - w) < 1e-9, (r["score"], w)
    assert int(r["score_mode"]) == w, r
    p = [float(r["p_%d" % k]) for k in range(3)]
    assert p == [1.0 if k == w else 0.0 for k in range(3)], p
coef = {r["name"]: float(r["coef"]) for r in csv.DictReader(open(sys.argv[2]))}
for name, w in (("intercept", 4), ("anchor_cosine", 0), ("knn_mean", -3)):
    assert abs(coef[name] - w) < 1e-9, (name, coef[name])
print("ok")
EOF
)
[ "$check" = ok ] && pass "knn predictions and coefficients equal the hand-solved least squares" \
    || fail "knn predictions" "$check"

run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/new.csv" \
    --out "$TMP/ord.csv" --coef-out "$TMP/ocoef.csv"
expect_exit 0 "ordinal baseline"
expect_out_contains "knn_weighted" "the model's table names its features"
header=$(head -1 "$TMP/ord.csv")
[ "$header" = "person_id,item_id,response,note,score,score_mode,p_0,p_1,p_2,ood" ] \
    && pass "scores file: input columns, score, score_mode, p_<k>, ood" || fail "header" "$header"
grep -q "^r1,Q1,alpha,'=x," "$TMP/ord.csv" && pass "formula-like cells neutralised" \
    || fail "neutralised cell" "$(sed -n 2p "$TMP/ord.csv")"
check=$(python3 - "$TMP/ord.csv" "$TMP/ocoef.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 4
for r in rows:
    p = [float(r["p_%d" % k]) for k in range(3)]
    assert abs(sum(p) - 1) < 1e-12, p
    assert min(p) >= 0.01 / 3 - 1e-15, p
    assert abs(float(r["score"]) - (p[1] + 2 * p[2])) < 1e-12
    assert int(r["score_mode"]) == max(range(3), key=lambda k: (p[k], -k))
names = [r["name"] for r in csv.DictReader(open(sys.argv[2]))]
assert names[:3] == ["anchor_cosine", "anchor_cosine_qd", "anchor_recall"], names
assert names[-2:] == ["threshold_0_1", "threshold_1_2"], names
print("ok")
EOF
)
[ "$check" = ok ] && pass "probabilities sum to 1, score is their mean, mode the most probable" \
    || fail "ordinal scores" "$check"

run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/new.csv" \
    --out -
expect_exit 0 "scores to standard output"
case "$OUT" in person_id,item_id,response,note,score,*) pass "CSV on stdout" ;; *) fail "stdout" "$OUT" ;; esac
expect_err_contains "lexical ordinal model" "the model's table goes to stderr with --out -"

# ---- the ood column, as `score` writes it ----------------------------------------
# Q2 has no training answer. The longest scored training answer has 4 words
# (the unscored one of 9 words does not count), so more than 6 words is
# long: 1.5 x 4 = 6. Words are runs of characters other than white space,
# so "one  two<TAB>three" is 3 words.
cat >"$TMP/ins2.json" <<'EOF'
{"id": "toy2", "title": "Toy", "score_min": 0, "score_max": 2, "items": [
 {"id": "Q1", "scenario": "s", "question": "Explain it.", "rubric": [{"score": 2, "anchor": "alpha"}]},
 {"id": "Q2", "scenario": "s", "question": "And this?", "rubric": [{"score": 2, "anchor": "beta"}]}]}
EOF
printf 'person_id,item_id,response,score\np1,Q1,alpha beta gamma delta,2\np2,Q1,beta,1\np4,Q1,gamma,0\np3,Q1,a b c d e f g h i,\n' >"$TMP/train2.csv"
printf 'person_id,item_id,response\nr1,Q1,a b c d e f\nr2,Q1,a b c d e f g\nr3,Q2,beta\nr4,Q2,a b c d e f g\nr5,Q1,one  two\tthree\n' >"$TMP/new2.csv"
run_cmd baseline --instrument "$TMP/ins2.json" --train "$TMP/train2.csv" --data "$TMP/new2.csv" \
    --out "$TMP/ood.csv"
expect_exit 0 "baseline with an untrained item and long answers"
ood_of() { python3 -c 'import csv,sys; print("|".join(r["ood"] for r in csv.DictReader(open(sys.argv[1], newline=""))))' "$1"; }
ood=$(ood_of "$TMP/ood.csv")
[ "$ood" = "|long|unknown_item|unknown_item;long|" ] \
    && pass "ood: 6 words fine, 7 long, Q2 unknown_item, both joined by ';'" \
    || fail "ood column" "$ood"
expect_out_contains "(ood: 2 of an item without training answers, 2 longer than 1.5 x the longest training answer, 4 words)" \
    "the counts of each ood reason are printed"
run_cmd baseline --instrument "$TMP/ins2.json" --train "$TMP/train2.csv" --data "$TMP/new2.csv" \
    --method knn --out "$TMP/ood_knn.csv"
ood=$(ood_of "$TMP/ood_knn.csv")
[ "$ood" = "|long|unknown_item|unknown_item;long|" ] && pass "ood: the same with --method knn" \
    || fail "ood column (knn)" "$ood"
printf 'person_id,item_id,response,ood\nr1,Q1,alpha,\n' >"$TMP/oodcol.csv"
run_cmd baseline --instrument "$TMP/ins2.json" --train "$TMP/train2.csv" --data "$TMP/oodcol.csv" \
    --out "$TMP/o_ood.csv"
expect_exit 2 "responses with an 'ood' column"
expect_err_contains "input column 'ood' has the name of an output column" "ood clash named"
run_cmd baseline --help
expect_out_contains "unknown_item" "help names the ood reasons"
expect_out_contains "nothing is ever truncated" "help says there is no truncated reason"

# ---- bad input: exit 2, file:line:col, no output -------------------------------
printf 'person_id,item_id,response,score\np1,Q1,alpha,2\np2,Q1,beta,3\n' >"$TMP/high.csv"
run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/high.csv" --data "$TMP/new.csv" \
    --out "$TMP/o1.csv"
expect_exit 2 "training score outside the range"
expect_err_contains "high.csv:3:4: score 3 is outside the instrument's range 0..2" \
    "out-of-range score named by file:line:col"
expect_no_file "$TMP/o1.csv" "no output after a bad training score"

printf 'person_id,item_id,response,score\np1,Q1,alpha,2.5\n' >"$TMP/frac.csv"
run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/frac.csv" --data "$TMP/new.csv" \
    --out "$TMP/o2.csv"
expect_exit 2 "fractional training score"
expect_err_contains "frac.csv:2:4:" "fractional score named by file:line:col"

printf 'person_id,item_id,response,score\np1,Q1,alpha,\n' >"$TMP/none.csv"
run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/none.csv" --data "$TMP/new.csv" \
    --out "$TMP/o3.csv"
expect_exit 2 "no scored training row"
expect_err_contains "no row has a score in column 'score'" "says that nothing is scored"

printf 'person_id,item_id,response\nr1,Q9,alpha\n' >"$TMP/unknown.csv"
run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/unknown.csv" \
    --out "$TMP/o4.csv"
expect_exit 2 "unknown item in the responses"
expect_err_contains "unknown.csv:2:2: unknown item 'Q9'" "unknown item named by file:line:col"
expect_no_file "$TMP/o4.csv" "no output after an unknown item"

run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/train.csv" \
    --out "$TMP/o5.csv"
expect_exit 2 "responses with a 'score' column"
expect_err_contains "input column 'score' has the name of an output column" "clash named"

run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/new.csv" \
    --out "$TMP/new.csv"
expect_exit 2 "output that is an input"

run_cmd baseline --instrument "$TMP/ins.json" --train "$TMP/train.csv" --data "$TMP/new.csv" \
    --text answer --out "$TMP/o6.csv"
expect_exit 2 "missing text column"
expect_err_contains "answer" "the missing column is named"
