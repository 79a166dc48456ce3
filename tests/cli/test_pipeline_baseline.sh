#!/usr/bin/env bash
# The pipeline's baseline stage on its own (no language model, so it runs
# in a second): where it writes, its command line, its settings checked
# against the baseline command's options, the audit of its scores, a
# re-run that skips it, a changed setting that runs it and its audit again,
# and the refusals (exit 2, file:line:col, nothing written).
. "$(dirname "$0")/lib.sh"

# Line 14 is the baseline stage (its first setting at column 18), line 15
# the audit stage. "heldout": 0 turns the held-out split off: the baseline
# fits on and scores the whole data file, as before the split existed
# (the split itself is tested at the end).
write_pipeline() { # FILE
    cat >"$1" <<'JSON'
{
  "name": "bl", "heldout": 0,
  "seed": 5,
  "instrument": "data/instrument.json",
  "data": "data/responses.csv",
  "truth": "data/truth.csv",
  "columns": {"human": "human_score"},
  "reference": "reference",
  "focal": "focal",
  "runs": "runs",
  "reports": "reports",
  "stages": {
    "simulate": {"persons": 60, "items": 3},
    "baseline": {"method": "knn"},
    "audit": {}
  }
}
JSON
}

mkdir -p "$TMP/study"
cd "$TMP/study" || exit 1
write_pipeline p.json

run_cmd run --dry-run p.json
expect_exit 0 "dry run"
case "$OUT" in
    *"[2/3] baseline: "*"    sjtalign baseline --instrument data/instrument.json --train data/responses.csv --data data/responses.csv --person person_id --item item_id --text response --score human_score --out runs/scores/baseline.csv --coef-out runs/baseline-coef.csv --method knn"*"[3/3] audit-baseline: "*"    sjtalign audit --data runs/scores/baseline.csv --instrument data/instrument.json --person person_id --item item_id --group group --reference reference --focal focal --human human_score --truth data/truth.csv --out reports/baseline"*)
        pass "dry run: baseline fitted on the human column, then its scores audited" ;;
    *) fail "dry run: baseline fitted on the human column, then its scores audited" "$OUT" ;;
esac
if [ ! -e runs ] && [ ! -e reports ]; then pass "dry run writes nothing"; else fail "dry run writes nothing"; fi

run_cmd run p.json
expect_exit 0 "run"
for stage in simulate baseline audit-baseline; do
    if grep -q "\] $stage: done in" "$TMP/.stdout"; then pass "stage $stage ran"; else fail "stage $stage ran" "$OUT" "$ERR"; fi
done
expect_out_contains "word-overlap k-NN baseline: least squares on 180 training answers" \
    "the knn setting reached the command (60 persons x 3 items fitted)"
# Every response scored once, the k-NN's mass on one level, the audit's
# exact agreement counted here from the scores file.
if python3 - <<'EOF' 2>"$TMP/err"
import csv, json
data = list(csv.DictReader(open("data/responses.csv", newline="")))
rows = list(csv.DictReader(open("runs/scores/baseline.csv", newline="")))
assert [r["response"] for r in rows] == [r["response"] for r in data]
assert list(rows[0])[-1] == "ood"
for r in rows:
    p = [float(r["p_%d" % k]) for k in range(4)]
    assert p[int(r["score_mode"])] == 1.0 and sum(p) == 1.0, r
coef = [r["name"] for r in csv.DictReader(open("runs/baseline-coef.csv", newline=""))]
assert coef == ["intercept", "anchor_cosine", "knn_mean"], coef
a = json.load(open("reports/baseline/audit.json"))
exact = sum(r["score_mode"] == r["human_score"] for r in rows) / len(rows)
assert abs(a["agreement"]["exact"] - exact) < 1e-12, (a["agreement"]["exact"], exact)
assert a["settings"]["truth_file"] == "data/truth.csv"
EOF
then
    pass "scores of every response, k-NN coefficients and the audit of the scores"
else
    fail "scores of every response, k-NN coefficients and the audit of the scores" "$(cat "$TMP/err")"
fi

run_cmd run p.json
expect_exit 0 "second run"
skipped=$(grep -c 'up to date, skipped' "$TMP/.stdout")
if [ "$skipped" -eq 3 ]; then pass "second run skips all 3 stages"; else fail "second run skips all 3 stages" "$OUT"; fi

# A changed setting runs the baseline and its audit again, not simulate.
sed -i 's/"method": "knn"/"method": "ordinal"/' p.json
run_cmd run p.json
expect_exit 0 "run with the ordinal method"
if grep -q '\] simulate: up to date, skipped' "$TMP/.stdout" && grep -q '\] baseline: done in' "$TMP/.stdout" &&
    grep -q '\] audit-baseline: done in' "$TMP/.stdout"; then
    pass "a changed setting: baseline and its audit run again, simulate does not"
else
    fail "a changed setting: baseline and its audit run again, simulate does not" "$OUT"
fi
expect_out_contains "lexical ordinal model: cumulative logit on 180 training answers" "the ordinal model was fitted"

run_cmd run p.json --from baseline
expect_exit 0 "--from baseline"
ran=$(grep -c ': done in' "$TMP/.stdout")
if [ "$ran" -eq 2 ]; then pass "--from baseline runs baseline and audit-baseline"; else fail "--from baseline runs 2 stages" "$OUT"; fi

# ---- refusals: exit 2 before anything runs ---------------------------------------

refused() { # DESCRIPTION SED-SCRIPT MESSAGE
    mkdir -p "$TMP/bad"
    cd "$TMP/bad" || exit 1
    write_pipeline base.json
    sed "$2" base.json >p.json
    run_cmd run --dry-run p.json
    expect_exit 2 "$1"
    if [ "$ERR" = "sjtalign run: error: $3" ]; then pass "$1: message"; else fail "$1: message" "expected: $3" "got:      $ERR"; fi
    run_cmd run p.json
    expect_exit 2 "$1 (run)"
    local left
    left=$(ls -A | grep -v -x -e p.json -e base.json)
    if [ -z "$left" ]; then pass "$1: nothing written"; else fail "$1: nothing written" "$left"; fi
    cd "$TMP" && rm -rf "$TMP/bad"
}

refused "a method the command does not have" 's/"method": "knn"/"method": "lasso"/' \
    "p.json:14:18: stages.baseline.method: --method expected one of ordinal|knn, got 'lasso'"
refused "a misspelt baseline setting" 's/"method": "knn"/"methd": "knn"/' \
    'p.json:14:18: stages.baseline.methd: the baseline command has no option --methd (see sjtalign baseline --help); did you mean "method" (--method)?'
refused "the coefficients file as a setting" 's/"method": "knn"/"coef_out": "mine.csv"/' \
    'p.json:14:18: stages.baseline.coef_out: --coef-out names an output; the pipeline places every output itself (under runs and reports)'
refused "the training file as a setting" 's/"method": "knn"/"train": "mine.csv"/' \
    'p.json:14:18: stages.baseline.train: the pipeline sets --train itself from the top-level keys'
refused "an audit without a score or a baseline stage" 's/"baseline": {"method": "knn"},//' \
    'p.json:15:5: stages.audit: the audit stage needs a score or a baseline stage'
refused "data that the baseline stage writes" \
    '/"simulate":/d; /"truth":/d; s|"data": "data/responses.csv"|"data": "runs/scores/baseline.csv"|' \
    'p.json:5:3: data: runs/scores/baseline.csv is also written by the baseline stage (placed by "runs" at 9:3); a pipeline never writes over its own input'

# ---- the held-out split (the default "heldout" 0.3) ------------------------------

# Without the "heldout" key the split stage runs after simulate: the
# baseline fits on the training persons' rows and scores the held-out
# persons' rows, and the audit gets the split and sees only those persons.
mkdir -p "$TMP/split"
cd "$TMP/split" || exit 1
write_pipeline base.json
sed 's/"name": "bl", "heldout": 0,/"name": "bl",/' base.json >p.json
run_cmd run --dry-run p.json
expect_exit 0 "split: dry run"
case "$OUT" in
    *"[2/4] split: holding out persons for evaluation"*"    sjtalign split --data data/responses.csv --train-out runs/split/train.csv --heldout-out runs/split/heldout.csv --split-out runs/split/split.json --fraction 0.3 --person person_id --group group --seed 5"*"[3/4] baseline: "*"sjtalign baseline --instrument data/instrument.json --train runs/split/train.csv --data runs/split/heldout.csv "*"[4/4] audit-baseline: "*"--truth data/truth.csv --split runs/split/split.json --out reports/baseline"*)
        pass "split: after simulate; baseline trains on train.csv, scores heldout.csv; the audit gets split.json" ;;
    *) fail "split: after simulate; baseline trains on train.csv, scores heldout.csv; the audit gets split.json" "$OUT" ;;
esac
sed 's/"name": "bl", "heldout": 0,/"name": "bl", "heldout": 0.5,/' base.json >half.json
run_cmd run --dry-run half.json
expect_out_contains "--split-out runs/split/split.json --fraction 0.5 " "split: the heldout setting is the fraction"
run_cmd run p.json
expect_exit 0 "split: run"
# 60 persons, 3 items: the persons of each group, counted here from the
# data, 30% held out (rounded); the rows of each side are their persons'.
if python3 - "$OUT" <<'EOF2' 2>"$TMP/err"
import csv, json, sys
data = list(csv.DictReader(open("data/responses.csv", newline="")))
train = list(csv.DictReader(open("runs/split/train.csv", newline="")))
held = list(csv.DictReader(open("runs/split/heldout.csv", newline="")))
s = json.load(open("runs/split/split.json"))
group = {r["person_id"]: r["group"] for r in data}
for g in set(group.values()):
    n = sum(1 for p in group if group[p] == g)
    k = min(max(int(0.3 * n + 0.5), 1), n - 1)
    assert s["by_group"][g] == {"total": n, "train": n - k, "heldout": k}, (g, s["by_group"])
out = set(s["heldout_persons"])
assert {r["person_id"] for r in held} == out
assert not out & {r["person_id"] for r in train}
assert [r for r in data if r["person_id"] in out] == held
assert [r for r in data if r["person_id"] not in out] == train
# the baseline fitted on every training row and scored every held-out row
assert ("least squares on %d training answers" % len(train)) in sys.argv[1], sys.argv[1]
scores = list(csv.DictReader(open("runs/scores/baseline.csv", newline="")))
assert [r["person_id"] for r in scores] == [r["person_id"] for r in held]
a = json.load(open("reports/baseline/audit.json"))
e = a["evaluation"]
assert e["sample"] == "held-out persons" and e["persons_heldout"] == len(out) == e["persons_audited"]
assert e["persons_total"] == 60 and e["fraction"] == 0.3 and e["seed"] == 5
assert a["data"]["n_persons"] == len(out)
assert a["summary"][0] == "Evaluated on %d held-out persons (30%% of 60) whom no model trained on." % len(out)
EOF2
then
    pass "split: sides by person, 30% of each group; baseline fitted on train.csv, scored and audited on heldout.csv"
else
    fail "split: sides by person, 30% of each group; baseline fitted on train.csv, scored and audited on heldout.csv" "$(cat "$TMP/err")"
fi
run_cmd run p.json
skipped=$(grep -c 'up to date, skipped' "$TMP/.stdout")
if [ "$skipped" -eq 4 ]; then pass "split: a second run skips all 4 stages"; else fail "split: a second run skips all 4 stages" "$OUT"; fi
