#!/usr/bin/env bash
# sjtalign compare: before/after of the fixture audits, several afters, the
# training log, and exit 2 for folders without audit.json or audits of
# different instruments.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

# Without replicates (the verdicts' interval rule is tested in
# test_compare_changes.sh on hand-made ones): the bootstrap is taken out.
no_bootstrap() { # no_bootstrap DIR
    python3 - "$1" <<'EOF'
import json, os, sys
p = os.path.join(sys.argv[1], "audit.json")
d = json.load(open(p))
f = (d.pop("bootstrap", None) or {}).get("file")
json.dump(d, open(p, "w"))
if f and os.path.exists(os.path.join(sys.argv[1], os.path.basename(f))):
    os.remove(os.path.join(sys.argv[1], os.path.basename(f)))
EOF
}
audit() { # audit NAME DATA INSTRUMENT REF FOCAL
    "$SJTALIGN" audit --data "$2" --instrument "$3" --group group --reference "$4" --focal "$5" \
        --human human_score --cut 9 --out "$TMP/$1" 2>/dev/null
    no_bootstrap "$TMP/$1"
}
audit before "$FIX/before.csv" "$FIX/instrument.json" ref foc
audit after "$FIX/after.csv" "$FIX/instrument.json" ref foc
audit dpo "$FIX/after_dpo.csv" "$FIX/instrument.json" ref foc
audit other "$FIX/hostile.csv" "$FIX/hostile.json" '<img src=x onerror=alert(1)>' '=1+1'

run_cmd compare --help
expect_exit 0 "--help"

run_cmd compare --before "$TMP/before" --after "$TMP/after" --training-log "$FIX/train_log.jsonl" \
    --labels "SFT,PPO" --out "$TMP/cmp"
expect_exit 0 "compare before and after"
for f in index.html compare.json changes.csv; do
    if [ -s "$TMP/cmp/$f" ]; then pass "writes $f"; else fail "writes $f"; fi
done
if python3 "$CHECK" "$TMP/cmp/index.html" --expect "CC→AA" --expect "Alignment tax" >"$TMP/check" 2>&1; then
    pass "index.html is well-formed, self-contained and shows the class change"
else
    fail "index.html is well-formed, self-contained and shows the class change" "$(cat "$TMP/check")"
fi
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
it = {i['item']: i for i in d['items']}
assert it['sjt3']['before']['ets_poly_class'] == 'CC' and it['sjt3']['after']['ets_poly_class'] == 'AA'
assert it['sjt3']['change']['verdict'] == 'improved (no interval)'
assert set(d['parity']) >= {'before', 'after'} and 'cohens_d' in d['parity']['after']
assert set(d['agreement']) >= {'before', 'after'} and 'qwk' in d['agreement']['before']
assert [a['label'] for a in d['audits']] == ['SFT', 'PPO']
assert len(d['training_log']['series']['objective/kl']) == 40
" "$TMP/cmp/compare.json" 2>"$TMP/err"; then
    pass "compare.json has items with before/after, parity and agreement"
else
    fail "compare.json has items with before/after, parity and agreement" "$(cat "$TMP/err")"
fi
# The before/after figures, computed here from the two score files without
# sjtalign: person totals of score_mode, pass = total >= 9 (the --cut of the
# audits), exact agreement of score_mode and human_score over all rows.
if python3 -c "
import csv, json, sys
from collections import defaultdict
def figures(path):
    tot, grp = defaultdict(int), {}
    rows = list(csv.DictReader(open(path)))
    for r in rows:
        tot[r['person_id']] += int(r['score_mode']); grp[r['person_id']] = r['group']
    g = {k: [tot[p] for p in tot if grp[p] == k] for k in ('ref', 'foc')}
    mean = {k: sum(v) / len(v) for k, v in g.items()}
    passing = {k: sum(x >= 9 for x in v) / len(v) for k, v in g.items()}
    exact = sum(r['score_mode'] == r['human_score'] for r in rows) / len(rows)
    return mean, passing, exact
d = json.load(open(sys.argv[1]))
for role, path in (('before', sys.argv[2]), ('after', sys.argv[3])):
    mean, passing, exact = figures(path)
    par = d['parity'][role]
    assert abs(par['mean_diff'] - (mean['foc'] - mean['ref'])) < 1e-12, (role, par['mean_diff'])
    assert abs(par['adverse_impact_ratio'] - passing['foc'] / passing['ref']) < 1e-12, role
    assert abs(d['agreement'][role]['exact'] - exact) < 1e-12, (role, d['agreement'][role]['exact'])
" "$TMP/cmp/compare.json" "$FIX/before.csv" "$FIX/after.csv" 2>"$TMP/err"; then
    pass "compare.json's parity and agreement match an independent computation"
else
    fail "compare.json's parity and agreement match an independent computation" "$(cat "$TMP/err")"
fi
grep -q '^SFT,PPO,dif.smd_over_sd,sjt3,.*,improved (no interval),CC,AA$' "$TMP/cmp/changes.csv" && pass "changes.csv lists the class change" || fail "changes.csv lists the class change" "$(cat "$TMP/cmp/changes.csv")"

run_cmd compare --before "$TMP/before" --after "$TMP/after" --after "$TMP/dpo" --labels "SFT,PPO,DPO" --out "$TMP/cmp3"
expect_exit 0 "compare three audits"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert [a['label'] for a in d['audits']] == ['SFT', 'PPO', 'DPO']
assert set(d['items'][0]['by_label']) == {'SFT', 'PPO', 'DPO'}
assert set(d['parity']['by_label']) == {'SFT', 'PPO', 'DPO'}
" "$TMP/cmp3/compare.json" 2>"$TMP/err"; then
    pass "three audits: every audit under by_label"
else
    fail "three audits: every audit under by_label" "$(cat "$TMP/err")"
fi
# --after as one comma-separated list is the same as repeating it.
run_cmd compare --before "$TMP/before" --after "$TMP/after,$TMP/dpo" --labels "SFT,PPO,DPO" --out "$TMP/cmp3list"
expect_exit 0 "compare with --after as a list"
if python3 -c "
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert [x['dir'] for x in a['audits']] == [x['dir'] for x in b['audits']], (a['audits'], b['audits'])
assert a['items'] == b['items'] and a['parity'] == b['parity']
" "$TMP/cmp3/compare.json" "$TMP/cmp3list/compare.json" 2>"$TMP/err"; then
    pass "--after a,b reads the same audits as --after a --after b"
else
    fail "--after a,b reads the same audits as --after a --after b" "$(cat "$TMP/err")"
fi
run_cmd compare --before "$TMP/before" --after "$TMP/after,,$TMP/dpo" --out "$TMP/bad"
expect_exit 2 "--after with an empty entry"
expect_err_contains "sjtalign compare: --after expects audit folders separated by commas, none of them empty" \
    "--after with an empty entry: message"
python3 "$CHECK" "$TMP/cmp3/index.html" >/dev/null 2>&1 && pass "three-audit page is well-formed" || fail "three-audit page is well-formed"

# Agreement with the true scores (fixture of tests/unit/test_report_truth.c:
# QWK 58/73 before, 58/63 after): shown when every audit has it.
TFIX="$SJTALIGN_ROOT/tests/fixtures/truth"
for run in sft:scores ppo:scores_after dpo:scores; do
    "$SJTALIGN" audit --data "$TFIX/${run#*:}.csv" --instrument "$TFIX/instrument.json" --group group \
        --reference ref --focal foc --human human_score --truth "$TFIX/truth.csv" \
        --out "$TMP/t_${run%%:*}" 2>/dev/null
    no_bootstrap "$TMP/t_${run%%:*}"
done
run_cmd compare --before "$TMP/t_sft" --after "$TMP/t_ppo" --after "$TMP/t_dpo" \
    --labels 'SFT,<b>PPO</b>,DPO' --out "$TMP/cmpt"
expect_exit 0 "compare audits with true scores"
if python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
t = d['truth_agreement']
assert set(t['by_label']) == {'SFT', '<b>PPO</b>', 'DPO'}
assert abs(t['by_label']['SFT']['qwk'] - 58/73) < 1e-14
assert abs(t['by_label']['<b>PPO</b>']['qwk'] - 58/63) < 1e-14
assert t['best'] == ['<b>PPO</b>'] and abs(t['best_qwk'] - 58/63) < 1e-14
assert abs(t['human']['qwk'] - 66/91) < 1e-14
assert '<b>PPO</b> agrees best with the true scores (QWK 0.921); the human scores reach QWK 0.725' in d['summary']
assert any(l.startswith('Agreement with the true scores (SFT -> <b>PPO</b>): rose: QWK 0.795 -> 0.921') for l in d['summary'])
" "$TMP/cmpt/compare.json" 2>"$TMP/err"; then
    pass "compare.json has the truth agreement of every audit and names the best"
else
    fail "compare.json has the truth agreement of every audit and names the best" "$(cat "$TMP/err")"
fi
if python3 "$CHECK" "$TMP/cmpt/index.html" --forbid '<b>PPO' --expect '<b>PPO</b>' \
    --expect 'Agreement with the true scores, before and after' \
    --expect 'agrees best with the true scores' >"$TMP/check" 2>&1; then
    pass "the page shows the truth section with labels escaped"
else
    fail "the page shows the truth section with labels escaped" "$(cat "$TMP/check")"
fi
"$SJTALIGN" audit --data "$TFIX/scores_after.csv" --instrument "$TFIX/instrument.json" --group group \
    --reference ref --focal foc --human human_score --out "$TMP/t_plain" 2>/dev/null
no_bootstrap "$TMP/t_plain"
run_cmd compare --before "$TMP/t_sft" --after "$TMP/t_plain" --labels "SFT,PPO" --out "$TMP/cmpt2"
expect_exit 0 "compare an audit with true scores and one without"
if python3 -c "
import json, sys
assert json.load(open(sys.argv[1]))['truth_agreement'] is None
" "$TMP/cmpt2/compare.json" 2>/dev/null && ! grep -q 'id="truth"' "$TMP/cmpt2/index.html"; then
    pass "no truth comparison unless every audit has true scores"
else
    fail "no truth comparison unless every audit has true scores"
fi

mkdir -p "$TMP/empty"
run_cmd compare --before "$TMP/before" --after "$TMP/empty" --out "$TMP/bad"
expect_exit 2 "a folder without audit.json"
expect_err_contains "no audit.json" "the message says what is missing"
expect_no_file "$TMP/bad" "nothing written"
run_cmd compare --before "$TMP/before" --after "$TMP/other" --out "$TMP/bad"
expect_exit 2 "audits of different instruments"
expect_err_contains "different instruments" "the message names the problem"
expect_no_file "$TMP/bad" "nothing written"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --labels "A,B,C" --out "$TMP/bad"
expect_exit 2 "labels that do not match the audits"
run_cmd compare --before "$TMP/before" --out "$TMP/bad"
expect_exit 2 "no --after"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --training-log "$TMP/none.jsonl" --out "$TMP/bad"
expect_exit 2 "missing training log"
expect_no_file "$TMP/bad" "nothing written"
