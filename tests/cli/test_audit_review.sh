#!/usr/bin/env bash
# sjtalign audit: the title (--label, else the scores file's model), the
# reviewer's tables (score levels, item curves, response sample, item
# agreement) checked against an independent computation from the fixture,
# the intervals of dif.csv, p-values as the pages print them, and hostile
# response texts escaped on the page and neutralised in the CSV.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

audit() {
    run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
        --reference ref --focal foc --human human_score --bootstrap 0 "$@"
}

run_cmd audit --help
expect_out_contains "--label TEXT" "help names --label"

# --label: the page's title and heading, and audit.json.
audit --label "PPO (after PPO)" --out "$TMP/label"
expect_exit 0 "audit with --label"
if grep -qF '<title>Fairness audit — PPO (after PPO)</title>' "$TMP/label/index.html" &&
    grep -qF '<h1>Fairness audit — <bdi>PPO (after PPO)</bdi></h1>' "$TMP/label/index.html"; then
    pass "title and h1 read 'Fairness audit — PPO (after PPO)'"
else
    fail "title and h1 read 'Fairness audit — PPO (after PPO)'" "$(grep -m2 '<title>\|<h1>' "$TMP/label/index.html")"
fi
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d['label'] == 'PPO (after PPO)', d['label']
assert d['title'] == 'Fairness audit \u2014 PPO (after PPO)', d['title']
" "$TMP/label/audit.json" 2>"$TMP/err"; then
    pass "audit.json records the label and the title"
else
    fail "audit.json records the label and the title" "$(cat "$TMP/err")"
fi

# Without --label: the model that FILE.json beside the scores records,
# else the bare title.
cp "$FIX/before.csv" "$TMP/scores.csv"
run_cmd audit --data "$TMP/scores.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --bootstrap 0 --out "$TMP/bare"
expect_exit 0 "audit without --label or model record"
if grep -qF '<h1>Fairness audit</h1>' "$TMP/bare/index.html" &&
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['label'] is None and d['title'] == 'Fairness audit'" "$TMP/bare/audit.json"; then
    pass "no label, no model: 'Fairness audit' and label null"
else
    fail "no label, no model: 'Fairness audit' and label null" "$(grep -m1 '<h1>' "$TMP/bare/index.html")"
fi
printf '{"model": {"path": "runs/ppo", "stage": "ppo", "config": {"sha256": "%064d"}}}\n' 0 >"$TMP/scores.csv.json"
run_cmd audit --data "$TMP/scores.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --bootstrap 0 --out "$TMP/model"
expect_exit 0 "audit of a scores file whose FILE.json names the model"
grep -qF '<h1>Fairness audit — <bdi>model runs/ppo (ppo)</bdi></h1>' "$TMP/model/index.html" &&
    pass "the title names the model of the scores file" ||
    fail "the title names the model of the scores file" "$(grep -m1 '<h1>' "$TMP/model/index.html")"
run_cmd audit --data "$TMP/scores.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --bootstrap 0 --label '<b>x</b>' --out "$TMP/hostile_label"
if python3 "$CHECK" "$TMP/hostile_label/index.html" --forbid '<b>x' --expect 'Fairness audit — <b>x</b>' \
    >"$TMP/check" 2>&1; then
    pass "a label with markup is shown as text"
else
    fail "a label with markup is shown as text" "$(cat "$TMP/check")"
fi

# The new tables, computed here from before.csv without sjtalign.
audit --out "$TMP/r"
expect_exit 0 "audit of the fixture"
for f in score_levels.csv item_curves.csv response_sample.csv item_agreement.csv; do
    [ -s "$TMP/r/$f" ] && pass "writes $f" || fail "writes $f"
done
if python3 - "$TMP/r" "$FIX/before.csv" 2>"$TMP/err" <<'EOF'; then
import csv, json, sys
from collections import Counter, defaultdict
out, data = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(data)))
# Shares of each group's responses at each level, pooled over the items.
levels = {(r['scorer'], r['item'], r['group'], int(r['level'])): float(r['share'])
          for r in csv.DictReader(open(f"{out}/score_levels.csv"))}
for scorer, col in (('machine', 'score_mode'), ('human', 'human_score')):
    for g in ('ref', 'foc'):
        vals = [int(r[col]) for r in rows if r['group'] == g]
        c = Counter(vals)
        for k in range(4):
            assert abs(levels[(scorer, 'all', g, k)] - c[k] / len(vals)) < 1e-12, (scorer, g, k)
        vals3 = [int(r[col]) for r in rows if r['group'] == g and r['item_id'] == 'sjt3']
        assert abs(levels[(scorer, 'sjt3', g, 2)] - vals3.count(2) / len(vals3)) < 1e-12
# Item curves: mean item score per total score (all items match; no
# purification), machine and human scores each on their own totals.
for scorer, col in (('machine', 'score_mode'), ('human', 'human_score')):
    tot, grp, s3 = defaultdict(int), {}, {}
    for r in rows:
        tot[r['person_id']] += int(r[col]); grp[r['person_id']] = r['group']
        if r['item_id'] == 'sjt3':
            s3[r['person_id']] = int(r[col])
    cells = defaultdict(list)
    for p in tot:
        cells[(grp[p], tot[p])].append(s3[p])
    got = {(r['group'], int(r['matching_score'])): (int(r['n']), float(r['mean_item_score']))
           for r in csv.DictReader(open(f"{out}/item_curves.csv"))
           if r['item'] == 'sjt3' and r['scorer'] == scorer}
    assert set(got) == set(cells), (scorer, sorted(set(got) ^ set(cells)))
    for k, v in cells.items():
        assert got[k][0] == len(v) and abs(got[k][1] - sum(v) / len(v)) < 1e-12, (scorer, k)
d = json.load(open(f"{out}/audit.json"))
# The items of class CC in dif.csv (none of class BB, none flagged by the
# human scores' DIF) are the ones plotted and sampled.
cc = [r['item'] for r in csv.DictReader(open(f"{out}/dif.csv")) if r['ets_poly_class'] == 'CC']
hd = [r['item'] for r in csv.DictReader(open(f"{out}/human_dif.csv")) if r['ets_poly_class'] in ('BB', 'CC')]
assert cc == ['sjt3', 'sjt5'] and hd == [], (cc, hd)
assert d['item_curves']['plotted'] == [{'item': i, 'reason': 'machine class CC'} for i in cc]
assert len(d['score_levels']['rows']) == 2 * 7 * 2 * 4  # scorers x (all + 6 items) x groups x levels
# Item agreement per group: exact agreement of item sjt1 in group foc.
pairs = [(r['score_mode'], r['human_score']) for r in rows if r['item_id'] == 'sjt1' and r['group'] == 'foc']
ia = {(r['item'], r['group']): r for r in csv.DictReader(open(f"{out}/item_agreement.csv"))}
assert abs(float(ia[('sjt1', 'foc')]['exact']) - sum(a == b for a, b in pairs) / len(pairs)) < 1e-12
assert int(ia[('sjt1', 'foc')]['n']) == len(pairs)
# The response sample of sjt3: matched pairs share a matching score; the
# disagreements differ by at least one point.
sample = [r for r in csv.DictReader(open(f"{out}/response_sample.csv")) if r['item'] == 'sjt3']
matched = [r for r in sample if r['kind'] == 'matched']
assert matched and len(matched) % 2 == 0
for a, b in zip(matched[::2], matched[1::2]):
    assert a['set'] == b['set'] and a['matching_score'] == b['matching_score']
    assert (a['role'], b['role']) == ('focal', 'reference')
for r in sample:
    if r['kind'] == 'disagreement':
        assert abs(int(r['machine_score']) - int(r['human_score'])) >= 1
text = {(r['person_id'], r['item_id']): r['response'] for r in rows}
assert all(r['response'] == text[(r['person'], 'sjt3')] for r in sample)
EOF
    pass "score levels, item curves, item agreement and the sample match an independent computation"
else
    fail "score levels, item curves, item agreement and the sample match an independent computation" "$(cat "$TMP/err")"
fi

# dif.csv: the interval the page shows (without a bootstrap: SMD/SD +- 1.96
# SE), logicals as TRUE/FALSE.
if python3 - "$TMP/r/dif.csv" 2>"$TMP/err" <<'EOF'; then
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    v, se = float(r['smd_over_sd']), float(r['se_smd_over_sd'])
    assert abs(float(r['ets_effect']) - v) < 1e-12
    assert abs(float(r['ets_effect_ci_low']) - (v - 1.959963984540054 * se)) < 1e-12
    assert abs(float(r['ets_effect_ci_high']) - (v + 1.959963984540054 * se)) < 1e-12
    assert r['ets_effect_ci_method'] == 'SMD/SD +- 1.96 SE (delta method)'
    assert r['tested'] in ('TRUE', 'FALSE') and r['flagged'] in ('TRUE', 'FALSE')
EOF
    pass "dif.csv has the page's intervals and TRUE/FALSE logicals"
else
    fail "dif.csv has the page's intervals and TRUE/FALSE logicals" "$(cat "$TMP/err")"
fi
if python3 - "$TMP/r/parity.csv" "$TMP/r/audit.json" 2>"$TMP/err" <<'EOF'; then
import csv, json, sys
rows = {r['group']: r for r in csv.DictReader(open(sys.argv[1]))}
d = json.load(open(sys.argv[2]))
# 8.9 +- t(.975, 119) sqrt(2218.8 / 119) / sqrt(120) (tests/unit/test_report_audit.c)
lo, hi = d['parity']['groups']['ref']['mean_t_ci']
assert abs(lo - (8.9 - 1.9800998764 * (2218.8 / 119) ** 0.5 / 120 ** 0.5)) < 1e-8, lo
assert abs(float(rows['ref']['mean_t_ci_high']) - hi) < 1e-12
EOF
    pass "the group means' 95% t intervals in audit.json and parity.csv"
else
    fail "the group means' 95% t intervals in audit.json and parity.csv" "$(cat "$TMP/err")"
fi
if ! grep -q '0\.0000' "$TMP/r/index.html" && grep -q '&lt; \.001' "$TMP/r/index.html"; then
    pass "no 0.0000 on the page; small p-values as < .001"
else
    fail "no 0.0000 on the page; small p-values as < .001" "$(grep -o '.\{40\}0\.0000.\{20\}' "$TMP/r/index.html" | head -3)"
fi
if python3 "$CHECK" "$TMP/r/index.html" --expect "Responses for content review" \
    --expect "Score levels by group" --expect "Item score against the matching score" \
    --expect "Item-level agreement" --expect "Mean total score of each group" >"$TMP/check" 2>&1; then
    pass "the page has the reviewer's sections and is well-formed"
else
    fail "the page has the reviewer's sections and is well-formed" "$(cat "$TMP/check")"
fi

# Hostile response texts of the flagged item: escaped on the page (inside
# <bdi>), neutralised in response_sample.csv.
python3 - "$FIX/before.csv" "$TMP/hostile.csv" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
for r in rows[1:]:
    if r[2] == 'sjt3':
        r[3] = '=HYPERLINK("x") \'q\' <script>alert(1)</script> \u202eevil'
csv.writer(open(sys.argv[2], 'w', newline=''), lineterminator='\n').writerows(rows)
EOF
run_cmd audit --data "$TMP/hostile.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --human human_score --bootstrap 0 --out "$TMP/hostile"
expect_exit 0 "audit with hostile response texts"
if python3 "$CHECK" "$TMP/hostile/index.html" --forbid '<script' \
    --expect '=HYPERLINK("x") '"'q'"' <script>alert(1)</script>' >"$TMP/check" 2>&1 &&
    grep -qF '<bdi>=HYPERLINK(&quot;x&quot;) &#39;q&#39; &lt;script&gt;alert(1)&lt;/script&gt; '$'\u202e''evil</bdi>' \
        "$TMP/hostile/index.html"; then
    pass "hostile response texts are escaped and isolated on the page"
else
    fail "hostile response texts are escaped and isolated on the page" "$(cat "$TMP/check")"
fi
if grep -q "'=HYPERLINK" "$TMP/hostile/response_sample.csv" && ! grep -q '^=\|,=' "$TMP/hostile/response_sample.csv"; then
    pass "response_sample.csv neutralises formulas"
else
    fail "response_sample.csv neutralises formulas" "$(head -3 "$TMP/hostile/response_sample.csv")"
fi

# A scores file without a text column: the sample has the scores only.
cut -d, -f1-3,5- "$FIX/before.csv" >"$TMP/notext.csv"
run_cmd audit --data "$TMP/notext.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --bootstrap 0 --out "$TMP/notext"
expect_exit 0 "audit of scores without a text column"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
s = d['response_sample']
assert s['text_column'] is None and s['rows'] and all(r['response'] is None for r in s['rows'])
" "$TMP/notext/audit.json" 2>"$TMP/err" && grep -q 'no response text column' "$TMP/notext/index.html"; then
    pass "no text column: the sample says so and has the scores"
else
    fail "no text column: the sample says so and has the scores" "$(cat "$TMP/err")"
fi
