# `sjtalign run` end to end on a reduced pipeline (few persons and items, a
# tiny model, a few steps per stage): every output exists and parses, and a
# second run skips every stage.
. "$(dirname "$0")/lib.sh"

mkdir -p "$TMP/study"
cat >"$TMP/study/pipeline.json" <<'JSON'
{
  "name": "reduced",
  "seed": 11,
  "instrument": "data/instrument.json",
  "data": "data/responses.csv",
  "truth": "data/truth.csv",
  "columns": {"person": "person_id", "item": "item_id", "text": "response",
              "group": "group", "human": "human_score"},
  "reference": "reference",
  "focal": "focal",
  "runs": "runs",
  "reports": "reports",
  "stages": {
    "simulate": {"persons": 150, "items": 3, "bias": "S02:0.6"},
    "pretrain": {"steps": 8, "layers": 1, "heads": 2, "embd": 32, "ctx": 128, "vocab": 300,
                 "batch": 8},
    "sft": {"steps": 8, "batch": 8},
    "baseline": {},
    "pairs": {"n": 40},
    "judge": {"panel_size": 3},
    "reward": {"steps": 6, "batch": 8},
    "ppo": {"steps": 2, "batch": 8},
    "dpo": {"steps": 4, "batch": 8},
    "score": {},
    "audit": {"purify": true},
    "compare": {}
  }
}
JSON
cd "$TMP/study" || exit 1

run_cmd run --dry-run pipeline.json
expect_exit 0 "dry run"
n_stages=$(grep -c '^\[[0-9]*/[0-9]*\]' "$TMP/.stdout")
if [ "$n_stages" -eq 18 ]; then pass "dry run lists 18 stages"; else fail "dry run lists 18 stages" "$OUT"; fi
# The held-out split (default 0.3) right after simulate: every training
# stage reads the training persons' rows, every score stage the held-out
# persons' rows, every audit gets the split.
case "$OUT" in
    *"[1/18] simulate:"*"[2/18] split: holding out persons for evaluation"*"    sjtalign split --data data/responses.csv --train-out runs/split/train.csv --heldout-out runs/split/heldout.csv --split-out runs/split/split.json --fraction 0.3 --person person_id --group group --seed 11"*"[3/18] pretrain:"*)
        pass "dry run: the split stage after simulate" ;;
    *) fail "dry run: the split stage after simulate" "$OUT" ;;
esac
for stage in pretrain sft pairs ppo; do
    line=$(grep "^    sjtalign $stage " "$TMP/.stdout")
    case "$line" in
        *" --data runs/split/train.csv "*) pass "dry run: $stage reads train.csv" ;;
        *) fail "dry run: $stage reads train.csv" "$line" ;;
    esac
done
n=$(grep -c '^    sjtalign score .* --data runs/split/heldout.csv ' "$TMP/.stdout")
if [ "$n" -eq 3 ]; then pass "dry run: the three score stages read heldout.csv"; else fail "dry run: the three score stages read heldout.csv" "$OUT"; fi
n=$(grep -c '^    sjtalign audit .* --split runs/split/split.json --out ' "$TMP/.stdout")
if [ "$n" -eq 4 ]; then pass "dry run: the four audits get split.json"; else fail "dry run: the four audits get split.json" "$OUT"; fi
if grep '^    sjtalign' "$TMP/.stdout" | grep -v '^    sjtalign split ' | grep -q 'responses\.csv'; then
    fail "dry run: no stage but split reads the whole data file" "$OUT"
else
    pass "dry run: no stage but split reads the whole data file"
fi
case "$OUT" in
    *"[4/18] sft:"*"[5/18] baseline:"*"sjtalign baseline --instrument data/instrument.json --train runs/split/train.csv --data runs/split/heldout.csv --person person_id --item item_id --text response --score human_score --out runs/scores/baseline.csv --coef-out runs/baseline-coef.csv"*)
        pass "dry run: the baseline after sft, fitted on the training persons, scoring the held-out ones" ;;
    *) fail "dry run: the baseline after sft, fitted on the training persons, scoring the held-out ones" "$OUT" ;;
esac
case "$OUT" in
    *"[17/18] audit-baseline:"*"sjtalign audit --data runs/scores/baseline.csv"*"--out reports/baseline"*"[18/18] compare:"*"--baseline reports/baseline"*)
        pass "dry run: the baseline's scores audited and passed to compare" ;;
    *) fail "dry run: the baseline's scores audited and passed to compare" "$OUT" ;;
esac
expect_out_contains "sjtalign ppo --policy runs/sft --reward runs/reward" "dry run shows the ppo command line"
case "$OUT" in
    *"sjtalign audit --data runs/scores/ppo.csv"*"--human human_score --truth data/truth.csv --split runs/split/split.json --out reports/after"*)
        pass "dry run: the audits get the pipeline's truth file" ;;
    *) fail "dry run: the audits get the pipeline's truth file" "$OUT" ;;
esac

run_cmd run pipeline.json
expect_exit 0 "first run"
for stage in simulate split pretrain sft baseline pairs judge reward ppo dpo score-sft score-ppo score-dpo \
    audit-before audit-after audit-after-dpo audit-baseline compare; do
    if grep -q "\] $stage: done in" "$TMP/.stdout"; then pass "stage $stage ran"; else fail "stage $stage ran" "$OUT" "$ERR"; fi
done

# The closing summary: four lines with one number per audit, the same
# numbers as compare.json (formatted here independently).
if python3 -c "
import json, sys
d = json.load(open('reports/compare/compare.json'))
out = sys.stdin.read()
labels = [a['label'] for a in d['audits']]
assert labels == ['SFT', 'PPO', 'DPO'], labels
for title, key, fmt in (('Group gap in total score (focal - reference)', 'parity', '%+.2f'),
                        ('Agreement with the human scores (QWK; the alignment tax)', 'agreement', '%.3f'),
                        ('Agreement with the true scores (QWK)', 'truth_agreement', '%.3f')):
    field = 'mean_diff' if key == 'parity' else 'qwk'
    parts = [l + ' ' + fmt % d[key]['by_label'][l][field] for l in labels]
    line = '  ' + title + ': ' + ', '.join(parts)
    assert line + '\\n' in out, (line, out)
assert d['truth_agreement']['best'][0] in labels
" <"$TMP/.stdout" 2>"$TMP/err"; then
    pass "the closing summary has the parity, human and truth agreement lines"
else
    fail "the closing summary has the parity, human and truth agreement lines" "$(cat "$TMP/err")" "$OUT"
fi
# The baseline: every response scored (the ood column as score writes it),
# audited, and in compare.json with its audit's own figures.
if python3 - <<'EOF' 2>"$TMP/err"
import csv, json
rows = list(csv.DictReader(open("runs/scores/baseline.csv", newline="")))
held = list(csv.DictReader(open("runs/split/heldout.csv", newline="")))
assert [r["response"] for r in rows] == [r["response"] for r in held], len(rows)
assert list(rows[0])[-7:] == ["score", "score_mode", "p_0", "p_1", "p_2", "p_3", "ood"], list(rows[0])
# the simulation's own data: no unknown item, nothing much longer
assert all(r["ood"] in ("", "long") for r in rows)
coef = [r["name"] for r in csv.DictReader(open("runs/baseline-coef.csv", newline=""))]
assert coef[0] == "anchor_cosine" and coef[-1].startswith("threshold_"), coef
a = json.load(open("reports/baseline/audit.json"))
d = json.load(open("reports/compare/compare.json"))
b = d["baseline"]
assert b["dir"] == "reports/baseline", b["dir"]
assert b["agreement"] == a["agreement"] and b["truth_agreement"] == a["truth_agreement"]
assert b["parity"] == a["parity"]
items = {i["item"]: i for i in a["dif"]["items"]}
for r in d["items"]:
    assert r["baseline"] == items[r["item"]], r["item"]
# exact agreement with the human scores, counted here from the scores file
exact = sum(r["score_mode"] == r["human_score"] for r in rows) / len(rows)
assert abs(b["agreement"]["exact"] - exact) < 1e-12, (b["agreement"]["exact"], exact)
line = "The transparent word-overlap baseline agrees with the human scores at QWK %.3f; SFT at %.3f" % (
    a["agreement"]["qwk"], d["agreement"]["by_label"]["SFT"]["qwk"])
assert any(l.startswith(line) for l in d["summary"]), (line, d["summary"])
EOF
then
    pass "baseline: scores with ood, coefficients, audit, and compare.json with the audit's figures"
else
    fail "baseline: scores with ood, coefficients, audit, and compare.json with the audit's figures" "$(cat "$TMP/err")"
fi
case "$OUT" in
    *"  The transparent word-overlap baseline agrees with the human scores at QWK "*) pass "the closing summary has the baseline line" ;;
    *) fail "the closing summary has the baseline line" "$OUT" ;;
esac
for f in data/simulation.json runs/pretrain/config.json runs/sft/config.json runs/reward/config.json \
    runs/ppo/config.json runs/dpo/config.json reports/before/audit.json reports/after/audit.json \
    reports/after-dpo/audit.json reports/baseline/audit.json reports/compare/compare.json; do
    if python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null; then
        pass "$f parses as JSON"
    else
        fail "$f parses as JSON"
    fi
done
for f in runs/ppo/train_log.jsonl runs/sft/train_log.jsonl; do
    if python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$f" 2>/dev/null; then
        pass "$f parses as JSON lines"
    else
        fail "$f parses as JSON lines"
    fi
done
for f in runs/pairs.csv runs/judged.csv runs/scores/sft.csv runs/scores/ppo.csv runs/scores/dpo.csv; do
    rows=$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=""))))' "$f" 2>/dev/null)
    if [ -n "$rows" ] && [ "$rows" -gt 0 ]; then pass "$f parses as CSV ($rows rows)"; else fail "$f parses as CSV"; fi
done
# Held out: 30% of each group's persons, counted here from the data; the
# models were trained on the others (the pairs, and so the judgments, the
# reward model and DPO, are of training persons only); every score file and
# audit has exactly the held-out persons.
if python3 - <<'EOF' 2>"$TMP/err"
import csv, json
rows = lambda p: list(csv.DictReader(open(p, newline="")))
data = rows("data/responses.csv")
group = {r["person_id"]: r["group"] for r in data}
s = json.load(open("runs/split/split.json"))
out = set(s["heldout_persons"])
for g in ("focal", "reference"):
    n = sum(1 for p in group if group[p] == g)
    k = min(max(int(0.3 * n + 0.5), 1), n - 1)
    assert s["by_group"][g]["heldout"] == k, (g, n, s["by_group"])
    assert sum(1 for p in out if group[p] == g) == k
assert s["persons"]["total"] == 150 == len(group)
train = {r["person_id"] for r in rows("runs/split/train.csv")}
assert train == set(group) - out
for f in ("runs/pairs.csv", "runs/judged.csv"):
    assert {r["person_id"] for r in rows(f)} <= train, f
for m in ("sft", "ppo", "dpo", "baseline"):
    got = rows("runs/scores/%s.csv" % m)
    assert len(got) == 3 * len(out) and {r["person_id"] for r in got} == out, m
for d in ("before", "after", "after-dpo", "baseline"):
    a = json.load(open("reports/%s/audit.json" % d))
    e = a["evaluation"]
    assert e["sample"] == "held-out persons" and e["persons_audited"] == len(out), (d, e)
    assert a["summary"][0].startswith("Evaluated on %d held-out persons (30%% of 150)" % len(out)), a["summary"]
EOF
then
    pass "held-out persons: 30% of each group scored and audited; pairs and judgments of training persons"
else
    fail "held-out persons: 30% of each group scored and audited; pairs and judgments of training persons" "$(cat "$TMP/err")"
fi
for d in before after after-dpo baseline compare; do
    if python3 "$SJTALIGN_ROOT/tests/report/check_html.py" "reports/$d/index.html" >/dev/null 2>&1; then
        pass "reports/$d/index.html is well-formed"
    else
        fail "reports/$d/index.html is well-formed"
    fi
done

# A second run skips every stage.
run_cmd run pipeline.json
expect_exit 0 "second run"
skipped=$(grep -c 'up to date, skipped' "$TMP/.stdout")
if [ "$skipped" -eq 18 ]; then pass "second run skips all 18 stages"; else fail "second run skips all 18 stages" "$OUT"; fi

# An output edited by hand is never replaced: the run stops with exit 2
# before any stage starts, naming the file and the key that placed it, and
# the edit is kept.
echo "edited by hand" >>reports/before/audit.json
run_cmd run pipeline.json
expect_exit 2 "run after an output was edited"
expect_err_contains "pipeline.json:12:3: reports: the audit-before stage cannot replace reports/before: reports/before/audit.json was changed after sjtalign wrote it" "the edited file is named"
if tail -1 reports/before/audit.json | grep -qx "edited by hand"; then pass "the edit is kept"; else fail "the edit is kept"; fi
if [ -z "$OUT" ]; then pass "no stage started"; else fail "no stage started" "$OUT"; fi
run_cmd run --dry-run pipeline.json
expect_exit 2 "dry run after an output was edited"
expect_err_contains "reports: the audit-before stage cannot replace reports/before" "dry run: the same refusal"

# A missing output is noticed: its stage and everything after it run again.
rm reports/before/audit.json
run_cmd run pipeline.json
expect_exit 0 "run after an output was removed"
if grep -q '\] audit-before: done in' "$TMP/.stdout" && grep -q '\] score-sft: up to date' "$TMP/.stdout"; then
    pass "only the stage of the removed output runs again"
else
    fail "only the stage of the removed output runs again" "$OUT"
fi

# --from forces a stage and every later one.
run_cmd run pipeline.json --from audit-after
expect_exit 0 "--from audit-after"
ran=$(grep -c ': done in' "$TMP/.stdout")
if [ "$ran" -eq 4 ]; then pass "--from re-runs the stage and the later ones (4)"; else fail "--from re-runs 4 stages" "$OUT"; fi
run_cmd run pipeline.json --from polish
expect_exit 2 "--from an unknown stage"
expect_err_contains "no stage 'polish'" "--from names the unknown stage"

# Settings a stage does not accept are refused before anything runs.
sed 's/"pairs": {"n": 40}/"pairs": {"n": 40, "colour": "blue"}/' pipeline.json >bad.json
run_cmd run bad.json
expect_exit 2 "unknown stage setting"
expect_err_contains "bad.json:19:" "unknown setting: line of the key"
expect_err_contains "stages.pairs.colour: the pairs command has no option --colour" "unknown setting named"

# The shipped pipelines parse and expand as documented (a dry run only).
cd "$SJTALIGN_ROOT" || exit 1
run_cmd run --dry-run instruments/demo/pipeline.json
expect_exit 0 "demo pipeline: dry run"
n=$(grep -c '^\[[0-9]*/18\]' "$TMP/.stdout")
if [ "$n" -eq 18 ]; then pass "demo pipeline: 18 stages"; else fail "demo pipeline: 18 stages" "$OUT"; fi
expect_out_contains "sjtalign split --data data/demo/responses.csv --train-out runs/demo/split/train.csv --heldout-out runs/demo/split/heldout.csv --split-out runs/demo/split/split.json --fraction 0.3" \
    "demo pipeline: 30% of the persons held out by default"
expect_out_contains "--baseline reports/demo/baseline --panel runs/demo/reward/panel.json --labels SFT,PPO,DPO --out reports/demo/compare" \
    "demo pipeline: compare shows the baseline"
expect_out_contains "sjtalign simulate --out data/demo --seed 20261126 --persons 3000 --items 8" "demo pipeline: simulate regenerates data/demo"
run_cmd run --dry-run instruments/example/pipeline.json
expect_exit 0 "own-data pipeline: dry run"
n=$(grep -c '^\[[0-9]*/15\]' "$TMP/.stdout")
if [ "$n" -eq 15 ]; then pass "own-data pipeline: 15 stages (the split first), no simulate, pairs or judge"; else fail "own-data pipeline: 15 stages" "$OUT"; fi
expect_out_contains "sjtalign reward --init instruments/example/runs/sft --instrument instruments/example/instrument.json --pairs instruments/example/expert_pairs.csv" "own-data pipeline: reward learns from the experts' pairs"
case "$OUT" in
    *"--truth"*) fail "own-data pipeline: no gold truth anywhere" "$OUT" ;;
    *) pass "own-data pipeline: no gold truth anywhere" ;;
esac
