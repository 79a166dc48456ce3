#!/usr/bin/env bash
# sjtalign audit: the report folder, its well-formed self-contained page,
# hostile data escaped in HTML and neutralised in CSV, exit codes, and no
# partial output on bad input.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

run_cmd audit --help
expect_exit 0 "--help"
expect_out_contains "--reference R" "help names the options"

run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --human human_score --cut 9 --out "$TMP/before"
expect_exit 0 "audit of the fixture"
for f in index.html audit.json dif.csv parity.csv agreement.csv fairness.csv distribution.csv; do
    if [ -s "$TMP/before/$f" ]; then pass "writes $f"; else fail "writes $f"; fi
done
expect_no_temporaries "$TMP" "no temporary files or folders left"
if python3 "$CHECK" "$TMP/before/index.html" --expect "sjt3" >"$TMP/check" 2>&1; then
    pass "index.html is well-formed and self-contained"
else
    fail "index.html is well-formed and self-contained" "$(cat "$TMP/check")"
fi
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['schema_version'] == 1
assert [i['item'] for i in d['dif']['items']] == ['sjt1','sjt2','sjt3','sjt4','sjt5','sjt6']
assert d['dif']['items'][2]['ets_poly_class'] == 'CC'
for k in ('mean_diff','cohens_d','hedges_g','welch_t','welch_df','welch_p','ci95_low','ci95_high','cut','adverse_impact_ratio','four_fifths_flag'):
    assert k in d['parity'], k
for k in ('exact','adjacent','qwk','pearson_r','smd','by_group','fairness','by_item'):
    assert k in d['agreement'], k
assert set(d) >= {'settings','provenance','data','instrument','distribution'}
" "$TMP/before/audit.json" 2>"$TMP/err"; then
    pass "audit.json carries the schema names"
else
    fail "audit.json carries the schema names" "$(cat "$TMP/err")"
fi
# The figures, computed here from before.csv without sjtalign: person totals
# of score_mode per group (mean, SD with n - 1, pass = total >= 9), exact and
# adjacent agreement of score_mode and human_score over all rows, and the
# histogram of totals.
if python3 -c "
import csv, json, math, sys
from collections import Counter, defaultdict
rows = list(csv.DictReader(open(sys.argv[2])))
tot, grp = defaultdict(int), {}
for r in rows:
    tot[r['person_id']] += int(r['score_mode']); grp[r['person_id']] = r['group']
d = json.load(open(sys.argv[1]))
for g in ('ref', 'foc'):
    t = [tot[p] for p in tot if grp[p] == g]
    m = sum(t) / len(t)
    sd = math.sqrt(sum((x - m) ** 2 for x in t) / (len(t) - 1))
    got = d['parity']['groups'][g]
    assert got['n'] == len(t) and abs(got['mean'] - m) < 1e-12 and abs(got['sd'] - sd) < 1e-12, got
    assert abs(got['pass_rate'] - sum(x >= 9 for x in t) / len(t)) < 1e-12, got
    hist = Counter(t)
    assert d['distribution']['counts'][g] == [hist[v] for v in d['distribution']['values']], g
pairs = [(int(r['score_mode']), int(r['human_score'])) for r in rows]
assert abs(d['agreement']['exact'] - sum(a == b for a, b in pairs) / len(pairs)) < 1e-12
assert abs(d['agreement']['adjacent'] - sum(abs(a - b) <= 1 for a, b in pairs) / len(pairs)) < 1e-12
" "$TMP/before/audit.json" "$FIX/before.csv" 2>"$TMP/err"; then
    pass "audit.json's parity, distribution and agreement match an independent computation"
else
    fail "audit.json's parity, distribution and agreement match an independent computation" "$(cat "$TMP/err")"
fi
grep -q '^sjt3,foc,polytomous' "$TMP/before/dif.csv" && pass "dif.csv has one row per item" || fail "dif.csv has one row per item"

# Hostile strings in item ids, group labels, texts and the instrument title.
run_cmd audit --data "$FIX/hostile.csv" --instrument "$FIX/hostile.json" --group group \
    --reference '<img src=x onerror=alert(1)>' --focal '=1+1' --human human_score --out "$TMP/hostile"
expect_exit 0 "audit of hostile data"
if python3 "$CHECK" "$TMP/hostile/index.html" --forbid '<script' --forbid '<img' --forbid '<i>' \
    --forbid '<b>Hostile' --forbid '<svg onload' --expect '<script>alert(1)</script>' \
    --expect '<img src=x onerror=alert(1)>' --expect '=HYPERLINK("http://x")' >"$TMP/check" 2>&1; then
    pass "hostile strings are shown as text, never as markup"
else
    fail "hostile strings are shown as text, never as markup" "$(cat "$TMP/check")"
fi
if grep -q "^'=HYPERLINK\|^\"'=HYPERLINK" "$TMP/hostile/dif.csv" && ! grep -q '^=\|,=' "$TMP/hostile/dif.csv" \
    && ! grep -q '^=\|,=' "$TMP/hostile/parity.csv"; then
    pass "CSV cells that look like formulas are neutralised"
else
    fail "CSV cells that look like formulas are neutralised" "$(head -3 "$TMP/hostile/dif.csv")"
fi

# Bad input: exit 2, nothing written.
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal nobody --out "$TMP/bad"
expect_exit 2 "unknown focal group"
expect_err_contains "no group 'nobody'" "the message names the group"
expect_no_file "$TMP/bad" "no report folder after bad input"
# --group defaults to "group" (issue 18); a group column the file lacks is an input error.
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group site --reference ref --focal foc --out "$TMP/bad"
expect_exit 2 "a --group column the file lacks"
expect_err_contains "missing column 'site'" "the missing group column is named"
# A --text column the user named must exist (the content panel's sample would be empty).
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --reference ref \
    --focal foc --text answer_text --out "$TMP/bad"
expect_exit 2 "a --text column the file lacks"
expect_err_contains "--text 'answer_text'" "the missing text column is named"
expect_no_file "$TMP/bad" "no report folder after a missing --text column"
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --adjust sometimes --out "$TMP/bad"
expect_exit 2 "bad --adjust"
run_cmd audit --data "$FIX/missing.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --out "$TMP/bad"
expect_exit 2 "missing data file"
expect_no_file "$TMP/bad" "still no report folder"

# --truth: agreement with a simulation's true scores (values: the hand-worked
# example of tests/unit/test_report_truth.c; QWK 58/73 and 66/91).
TFIX="$SJTALIGN_ROOT/tests/fixtures/truth"
run_cmd audit --data "$TFIX/scores.csv" --instrument "$TFIX/instrument.json" --group group \
    --reference ref --focal foc --human human_score --truth "$TFIX/truth.csv" --out "$TMP/truth"
expect_exit 0 "audit with --truth"
if python3 -c "
import json, sys
from fractions import Fraction
d = json.load(open(sys.argv[1]))
t = d['truth_agreement']
assert t['n'] == 10 and t['exact'] == 0.7 and t['adjacent'] == 1
assert abs(t['qwk'] - 58/73) < 1e-14, t['qwk']
assert abs(t['human']['qwk'] - 66/91) < 1e-14
assert t['human']['by_group']['foc']['exact'] == 0
assert t['n_truth_rows_unused'] == 1
assert any(i['role'] == 'truth' for i in d['provenance']['inputs'])
" "$TMP/truth/audit.json" 2>"$TMP/err"; then
    pass "audit.json carries truth_agreement with the hand-worked values"
else
    fail "audit.json carries truth_agreement with the hand-worked values" "$(cat "$TMP/err")"
fi
if head -1 "$TMP/truth/truth_agreement.csv" | grep -q '^rater,scope,group,item,n,exact' &&
    grep -q '^human,group,foc,,4,0,' "$TMP/truth/truth_agreement.csv"; then
    pass "truth_agreement.csv has a row per rater and scope"
else
    fail "truth_agreement.csv has a row per rater and scope" "$(cat "$TMP/truth/truth_agreement.csv")"
fi
if python3 "$CHECK" "$TMP/truth/index.html" --expect "Known only in a simulation" \
    --expect "Agreement with the true scores" >"$TMP/check" 2>&1; then
    pass "index.html has the truth section"
else
    fail "index.html has the truth section" "$(cat "$TMP/check")"
fi
run_cmd audit --data "$TFIX/scores.csv" --instrument "$TFIX/instrument.json" --group group \
    --reference ref --focal foc --truth "$TMP/no_truth.csv" --out "$TMP/badtruth"
expect_exit 2 "missing truth file"
expect_err_contains "no_truth.csv" "the message names the truth file"
expect_no_file "$TMP/badtruth" "no report folder after a missing truth file"
grep -v '^P5,t2,' "$TFIX/truth.csv" >"$TMP/short_truth.csv"
run_cmd audit --data "$TFIX/scores.csv" --instrument "$TFIX/instrument.json" --group group \
    --reference ref --focal foc --truth "$TMP/short_truth.csv" --out "$TMP/badtruth"
expect_exit 2 "a response without a true score"
expect_err_contains "scores.csv:11:1: the response of person 'P5' to item 't2' has no true score" \
    "the message names the response's line and column"
expect_no_file "$TMP/badtruth" "no report folder after a response without a true score"
sed 's/^P3,t1,0.5,help,0$/P3,t1,0.5,help,zero/' "$TFIX/truth.csv" >"$TMP/text_truth.csv"
run_cmd audit --data "$TFIX/scores.csv" --instrument "$TFIX/instrument.json" --group group \
    --reference ref --focal foc --truth "$TMP/text_truth.csv" --out "$TMP/badtruth"
expect_exit 2 "a true score that is not a number"
expect_err_contains "text_truth.csv:7:5: column 'true_score'" "the message names file, line and column"
expect_no_file "$TMP/badtruth" "no report folder after a non-numeric true score"
printf 'person_id,item_id,score\n' >"$TMP/nocol_truth.csv"
run_cmd audit --data "$TFIX/scores.csv" --instrument "$TFIX/instrument.json" --group group \
    --reference ref --focal foc --truth "$TMP/nocol_truth.csv" --out "$TMP/badtruth"
expect_exit 2 "a truth file without true_score"
expect_err_contains "nocol_truth.csv:1: missing column 'true_score'" "the message names the column"
expect_no_file "$TMP/badtruth" "no report folder after a missing column"

# Hostile item ids and group labels in the truth section and its CSV.
python3 -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
w = csv.writer(open(sys.argv[2], 'w', newline=''))
w.writerow(['person_id', 'item_id', 'true_score'])
for r in rows:
    w.writerow([r['person_id'], r['item_id'], r['human_score']])
" "$FIX/hostile.csv" "$TMP/hostile_truth.csv"
run_cmd audit --data "$FIX/hostile.csv" --instrument "$FIX/hostile.json" --group group \
    --reference '<img src=x onerror=alert(1)>' --focal '=1+1' --human human_score \
    --truth "$TMP/hostile_truth.csv" --out "$TMP/hostile_truth"
expect_exit 0 "audit of hostile data with --truth"
if python3 "$CHECK" "$TMP/hostile_truth/index.html" --forbid '<script' --forbid '<img' \
    --expect 'Agreement with the true scores' --expect '<script>alert(1)</script>' \
    --expect '=HYPERLINK("http://x")' >"$TMP/check" 2>&1; then
    pass "hostile strings in the truth section are shown as text"
else
    fail "hostile strings in the truth section are shown as text" "$(cat "$TMP/check")"
fi
if grep -q "'=HYPERLINK" "$TMP/hostile_truth/truth_agreement.csv" &&
    ! grep -q '^=\|,=' "$TMP/hostile_truth/truth_agreement.csv"; then
    pass "truth_agreement.csv neutralises formulas"
else
    fail "truth_agreement.csv neutralises formulas" "$(head -5 "$TMP/hostile_truth/truth_agreement.csv")"
fi

# Never replaces a folder that is not a report.
mkdir -p "$TMP/mine" && echo keep >"$TMP/mine/notes.txt"
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --out "$TMP/mine"
expect_exit 2 "refuses to replace a folder that is not a report"
[ "$(cat "$TMP/mine/notes.txt")" = keep ] && pass "the folder's files are untouched" || fail "the folder's files are untouched"

# Options reach the settings.
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --match rest --purify --adjust holm --out "$TMP/before"
expect_exit 0 "replaces an earlier report"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
s = d['settings']
assert s['match'] == 'rest' and s['purify'] is True and s['adjust'] == 'holm'
assert d['agreement'] is None
assert 'mantel_p_adj' in d['dif']['items'][0]
" "$TMP/before/audit.json" 2>"$TMP/err"; then
    pass "match, purify and adjust are applied and recorded"
else
    fail "match, purify and adjust are applied and recorded" "$(cat "$TMP/err")"
fi
if python3 "$CHECK" "$TMP/before/index.html" >"$TMP/check" 2>&1; then
    pass "a page without human scores or cut is well-formed"
else
    fail "a page without human scores or cut is well-formed" "$(cat "$TMP/check")"
fi

# The checker itself must catch what it is there to catch.
printf '<!DOCTYPE html><html><head><title>t</title></head><body><main><p>x</main><script>1</script></body></html>' >"$TMP/broken.html"
if python3 "$CHECK" "$TMP/broken.html" >/dev/null 2>&1; then
    fail "the HTML checker rejects an unclosed tag and a script"
else
    pass "the HTML checker rejects an unclosed tag and a script"
fi
printf '<!DOCTYPE html><html><head><title>t</title><style>body{background:url(http://x/y.png)}</style></head><body><main><img src="http://x/a.png"></main></body></html>' >"$TMP/remote.html"
if python3 "$CHECK" "$TMP/remote.html" >/dev/null 2>&1; then
    fail "the HTML checker rejects references to the network"
else
    pass "the HTML checker rejects references to the network"
fi
