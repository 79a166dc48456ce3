#!/usr/bin/env bash
# sjtalign compare --baseline: the audit of the transparent baseline scorer
# as a reference column. Its figures in compare.json, agreement.csv and
# changes.csv are those of its own audit.json; its summary lines print them;
# a folder without an audit, of another instrument or of other groups is
# exit 2 with nothing written.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

audit() { # audit NAME DATA INSTRUMENT REF FOCAL
    "$SJTALIGN" audit --data "$2" --instrument "$3" --group group --reference "$4" --focal "$5" \
        --human human_score --cut 9 --out "$TMP/$1" 2>/dev/null
}
audit before "$FIX/before.csv" "$FIX/instrument.json" ref foc
audit after "$FIX/after.csv" "$FIX/instrument.json" ref foc
audit dpo "$FIX/after_dpo.csv" "$FIX/instrument.json" ref foc
audit other "$FIX/hostile.csv" "$FIX/hostile.json" '<img src=x onerror=alert(1)>' '=1+1'
audit swapped "$FIX/before.csv" "$FIX/instrument.json" foc ref

# The baseline scorer fitted on the fixture's human scores, then audited as
# the pipeline does. The fixture's texts are all alike, so each response
# here names the rubric anchor of its human score ("anchor 2"), one in five
# the next one up, for the word-overlap model to learn from.
python3 - "$FIX/before.csv" "$TMP/responses.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
keep = ["person_id", "group", "item_id", "response", "human_score"]
for i, r in enumerate(rows):
    h = int(r["human_score"])
    r["response"] = "I would act as in anchor %d" % (h if i % 5 else (h + 1) % 4)
with open(sys.argv[2], "w", newline="") as f:
    w = csv.DictWriter(f, keep, extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
EOF
"$SJTALIGN" baseline --instrument "$FIX/instrument.json" --train "$TMP/responses.csv" \
    --score human_score --data "$TMP/responses.csv" --out "$TMP/baseline.csv" >/dev/null 2>&1
audit baseline "$TMP/baseline.csv" "$FIX/instrument.json" ref foc
[ -f "$TMP/baseline/audit.json" ] && pass "the baseline's scores audited" || fail "the baseline's scores audited"

run_cmd compare --before "$TMP/before" --after "$TMP/after" --baseline "$TMP/baseline" \
    --labels "SFT,PPO" --out "$TMP/cmp"
expect_exit 0 "compare with --baseline"
for f in index.html compare.json changes.csv agreement.csv; do
    if [ -s "$TMP/cmp/$f" ]; then pass "writes $f"; else fail "writes $f"; fi
done

# Every baseline figure is its audit's own; the exact agreement is also
# counted here from the scores file (modal score equal to the human score).
if python3 - "$TMP/cmp/compare.json" "$TMP/baseline/audit.json" "$TMP/baseline.csv" \
    "$TMP/baseline" 2>"$TMP/err" <<'EOF'
import csv, json, sys
d = json.load(open(sys.argv[1]))
a = json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(sys.argv[3], newline="")))
b = d["baseline"]
assert b["label"] == "baseline" and b["dir"] == sys.argv[4], (b["label"], b["dir"])
assert b["agreement"] == a["agreement"] and b["parity"] == a["parity"]
assert b["settings"] == a["settings"] and b["truth_agreement"] is None
exact = sum(r["score_mode"] == r["human_score"] for r in rows) / len(rows)
assert abs(b["agreement"]["exact"] - exact) < 1e-12, (b["agreement"]["exact"], exact)
by_item = {i["item"]: i for i in a["dif"]["items"]}
assert [r["item"] for r in d["items"]] == list(by_item)
for r in d["items"]:
    assert r["baseline"] == by_item[r["item"]], r["item"]
flagged = [i["item"] for i in a["dif"]["items"]
           if (i.get("ets_poly_class") or i.get("ets_class") or "A")[0] in "BC"]
assert b["flagged"] == flagged, (b["flagged"], flagged)
# the compared audits' entries are unchanged
assert d["audits"][0]["label"] == "SFT" and [x["label"] for x in d["audits"]] == ["SFT", "PPO"]
assert any(i["role"] == "baseline" for i in d["provenance"]["inputs"])
EOF
then
    pass "compare.json: the baseline's agreement, parity and per-item DIF are its audit's"
else
    fail "compare.json: the baseline's agreement, parity and per-item DIF are its audit's" "$(cat "$TMP/err")"
fi

# The summary lines, written here from the three audits.
if python3 - "$TMP/cmp/compare.json" "$TMP/before/audit.json" "$TMP/after/audit.json" \
    "$TMP/baseline/audit.json" 2>"$TMP/err" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sft, ppo, base = (json.load(open(f)) for f in sys.argv[2:5])
q = [x["agreement"]["qwk"] for x in (sft, ppo, base)]
above = sum(v > q[2] + 0.0005 for v in q[:2])
below = sum(v < q[2] - 0.0005 for v in q[:2])
where = ("each agrees more closely than the baseline" if above == 2 else
         "none agrees more closely than the baseline" if below == 2 else
         "the baseline lies between them")
line = ("The transparent word-overlap baseline agrees with the human scores at QWK %.3f; "
        "SFT at %.3f, PPO at %.3f (%s)" % (q[2], q[0], q[1], where))
assert line in d["summary"], (line, d["summary"])
assert d["baseline"]["summary"][0] == line
def flagged(audit):
    return [(i["item"], i.get("ets_poly_class") or i.get("ets_class"))
            for i in audit["dif"]["items"]
            if (i.get("ets_poly_class") or i.get("ets_class") or "A")[0] in "BC"]
fb = flagged(base)
dif = "The baseline flags moderate or large DIF (B/C, BB/CC) on %d item%s" % (
    len(fb), "" if len(fb) == 1 else "s")
if fb:
    dif += " (" + ", ".join("%s %s" % f for f in fb) + ")"
dif += "; SFT on %d, PPO on %d" % (len(flagged(sft)), len(flagged(ppo)))
assert dif in d["summary"], (dif, d["summary"])
for l in d["summary"]:
    assert "improved" not in l or not l.startswith("The baseline"), l
EOF
then
    pass "summary: the baseline's QWK beside SFT's and PPO's, and the items it flags"
else
    fail "summary: the baseline's QWK beside SFT's and PPO's, and the items it flags" "$(cat "$TMP/err")"
fi

if python3 - "$TMP/cmp/agreement.csv" "$TMP/cmp/changes.csv" "$TMP/baseline/audit.json" \
    2>"$TMP/err" <<'EOF'
import csv, json, sys
agree = list(csv.DictReader(open(sys.argv[1], newline="")))
changes = list(csv.DictReader(open(sys.argv[2], newline="")))
a = json.load(open(sys.argv[3]))
assert [(r["label"], r["role"]) for r in agree] == [
    ("SFT", "before"), ("PPO", "after"), ("baseline", "baseline")], agree
last = agree[-1]
for k in ("qwk", "exact", "adjacent", "pearson_r", "smd"):
    assert abs(float(last[k]) - a["agreement"][k]) < 1e-12, k
assert last["truth_qwk"] == "NA"
by_item = {i["item"]: i for i in a["dif"]["items"]}
item_rows = [r for r in changes if r["statistic"] == "dif.smd_over_sd"]
assert len(item_rows) == len(by_item), item_rows
for r in item_rows:
    i = by_item[r["scope"]]
    assert r["baseline_class"] == i["ets_poly_class"], r
    assert abs(float(r["baseline_effect"]) - i["smd_over_sd"]) < 1e-12, r
EOF
then
    pass "agreement.csv and changes.csv carry the baseline's figures"
else
    fail "agreement.csv and changes.csv carry the baseline's figures" "$(cat "$TMP/err")"
fi

if python3 "$CHECK" "$TMP/cmp/index.html" --expect "Beside the transparent word-overlap baseline" \
    --expect "The transparent word-overlap baseline agrees with the human scores at QWK" \
    --forbid "baseline improved" >"$TMP/check" 2>&1; then
    pass "the page shows the baseline's summary and reference columns"
else
    fail "the page shows the baseline's summary and reference columns" "$(cat "$TMP/check")"
fi
n_ref=$(grep -o '>Baseline</th>' "$TMP/cmp/index.html" | wc -l)
# DIF table, parity, agreement, fairness, QWK per item
if [ "$n_ref" -eq 5 ]; then pass "five tables have a Baseline column"; else fail "five tables have a Baseline column" "got $n_ref"; fi

# Without --baseline: null, no column, no extra lines.
run_cmd compare --before "$TMP/before" --after "$TMP/after" --labels "SFT,PPO" --out "$TMP/plain"
expect_exit 0 "compare without --baseline"
if python3 -c "
import csv, json, sys
d = json.load(open(sys.argv[1]))
assert d['baseline'] is None
assert not any(l.startswith('The transparent') for l in d['summary'])
assert 'baseline_class' not in next(csv.DictReader(open(sys.argv[2])))
assert [r['label'] for r in csv.DictReader(open(sys.argv[3]))] == ['SFT', 'PPO']
" "$TMP/plain/compare.json" "$TMP/plain/changes.csv" "$TMP/plain/agreement.csv" 2>"$TMP/err" \
    && ! grep -q '>Baseline</th>' "$TMP/plain/index.html"; then
    pass "without --baseline: baseline null, no column"
else
    fail "without --baseline: baseline null, no column" "$(cat "$TMP/err")"
fi

# Three audits: the baseline beside every one of them.
run_cmd compare --before "$TMP/before" --after "$TMP/after,$TMP/dpo" --baseline "$TMP/baseline" \
    --labels "SFT,PPO,DPO" --out "$TMP/cmp3"
expect_exit 0 "three audits and a baseline"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
line = [l for l in d['summary'] if l.startswith('The transparent')][0]
assert ', DPO at ' in line and '; SFT at ' in line, line
assert d['items'][0]['baseline']['item'] == d['items'][0]['item']
" "$TMP/cmp3/compare.json" 2>"$TMP/err"; then
    pass "three audits: the summary line names every scorer"
else
    fail "three audits: the summary line names every scorer" "$(cat "$TMP/err")"
fi

# ---- bad baselines: exit 2, nothing written ------------------------------------
mkdir -p "$TMP/empty"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --baseline "$TMP/empty" --out "$TMP/bad"
expect_exit 2 "a baseline folder without audit.json"
expect_err_contains "empty: no audit.json in this folder" "the folder is named"
expect_no_file "$TMP/bad" "nothing written"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --baseline "$TMP/missing" --out "$TMP/bad"
expect_exit 2 "a baseline folder that does not exist"
expect_no_file "$TMP/bad" "nothing written"
echo '{"kind": "something else"}' >"$TMP/empty/audit.json"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --baseline "$TMP/empty" --out "$TMP/bad"
expect_exit 2 "a baseline audit.json that is no audit"
expect_err_contains "not an sjtalign audit document" "says what is wrong"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --baseline "$TMP/other" --out "$TMP/bad"
expect_exit 2 "a baseline of another instrument"
expect_err_contains "(--baseline) audits instrument" "the message names the problem"
expect_no_file "$TMP/bad" "nothing written"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --baseline "$TMP/swapped" --out "$TMP/bad"
expect_exit 2 "a baseline of other groups"
expect_err_contains "(--baseline) compares other groups" "the message names the problem"
expect_no_file "$TMP/bad" "nothing written"
