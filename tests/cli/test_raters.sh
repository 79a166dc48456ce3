#!/usr/bin/env bash
# Several raters: simulate --raters N (independent rater errors, the bias
# applied by each rater), audit --human A,B (the "raters" section, raters.csv
# and the page, with values worked by hand on a tiny scores file), bootstrap
# intervals reproducible with the same seed, and validate checking each
# column of a list.
. "$(dirname "$0")/lib.sh"
INS="$SJTALIGN_ROOT/tests/fixtures/report/instrument.json"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

# ---- simulate ---------------------------------------------------------------------

run_cmd simulate --out "$TMP/one" --persons 500 --bias S03:1 --seed 11
expect_exit 0 "simulate with one rater"
run_cmd simulate --out "$TMP/three" --persons 500 --bias S03:1 --seed 11 --raters 3
expect_exit 0 "simulate --raters 3"
if head -1 "$TMP/three/responses.csv" | grep -qx 'person_id,group,item_id,response,rater_1,rater_2,rater_3' &&
    head -1 "$TMP/one/responses.csv" | grep -qx 'person_id,group,item_id,response,human_score'; then
    pass "three raters write rater_1..rater_3 in place of human_score"
else
    fail "three raters write rater_1..rater_3 in place of human_score" "$(head -1 "$TMP/three/responses.csv")"
fi
# Independence, from the files: with E = 0.1 a rater errs on about 8% of
# the responses off S03 (a step past 0 or 3 is lost); if the raters shared
# their draws, two would err together as often as one errs. Independent
# errors err together about 0.08^2 of the time: the joint rate must be
# within 0.005 (about 4 standard errors over 3500 responses) of the product
# of the rates, for every pair. On S03 (bias 1) every rater marks down
# every focal response whose score can go down: each rater's mean error
# there is below -0.5.
if python3 - "$TMP/three" "$TMP/one" <<'EOF' 2>"$TMP/err"; then
import csv, sys
d, one = sys.argv[1], sys.argv[2]
truth = {(r['person_id'], r['item_id']): int(r['true_score']) for r in csv.DictReader(open(d + '/truth.csv'))}
rows = list(csv.DictReader(open(d + '/responses.csv')))
single = list(csv.DictReader(open(one + '/responses.csv')))
assert all(a['rater_1'] == b['human_score'] for a, b in zip(rows, single)), 'rater_1 != human_score'
off = [r for r in rows if r['item_id'] != 'S03']
err = {k: [int(r['rater_%d' % k]) != truth[(r['person_id'], r['item_id'])] for r in off] for k in (1, 2, 3)}
n = len(off)
for a, b in ((1, 2), (1, 3), (2, 3)):
    pa, pb = sum(err[a]) / n, sum(err[b]) / n
    joint = sum(x and y for x, y in zip(err[a], err[b])) / n
    assert 0.05 < pa < 0.11 and 0.05 < pb < 0.11, (a, b, pa, pb)
    assert abs(joint - pa * pb) < 0.005, (a, b, joint, pa * pb)
foc = [r for r in rows if r['item_id'] == 'S03' and r['group'] == 'focal']
for k in (1, 2, 3):
    m = sum(int(r['rater_%d' % k]) - truth[(r['person_id'], r['item_id'])] for r in foc) / len(foc)
    assert m < -0.5, (k, m)
EOF
    pass "raters err independently, rater_1 is the single rater, the bias hits every rater"
else
    fail "raters err independently, rater_1 is the single rater, the bias hits every rater" "$(cat "$TMP/err")"
fi
if grep -q '"raters":	3' "$TMP/three/simulation.json" && ! grep -q '"raters"' "$TMP/one/simulation.json"; then
    pass "simulation.json records the number of raters (only when several)"
else
    fail "simulation.json records the number of raters (only when several)"
fi
run_cmd simulate --out "$TMP/none" --persons 50 --raters 0
expect_exit 2 "--raters 0 is refused"

# ---- audit ------------------------------------------------------------------------

# Four persons, one item. machine (score_mode) 1 2 2 3, rater_1 1 2 3 3,
# rater_2 1 1 3 2 (worked in tests/unit/test_stats_raters.c):
#   rater-rater QWK 2 * 0.5625 / (0.6875 + 0.6875 + 0.25) = 9/13, r = 9/11;
#   machine-rater QWK 0.8 and 0.4, mean 0.6; degradation 0.6 - 9/13;
#   machine against the mean rating (1 1.5 3 2.5): r = 0.375 /
#   sqrt(0.5 * 0.625) = 3 / (2 sqrt 5), RMSE sqrt(0.375);
#   V_e = 1 / 4, V_T = (5 - 3/4) / 6, MSE = (3 - 1) / 8, PRMSE = 11/17.
# Group ref (P1, P2): machine 1 2, rater_1 1 2 (QWK 1), rater_2 1 1 (QWK 0).
cat >"$TMP/tiny.csv" <<'EOF'
person_id,group,item_id,response,rater_1,rater_2,score,score_mode
P1,ref,sjt1,I would talk to them.,1,1,1.1,1
P2,ref,sjt1,I would ask for help.,2,1,1.9,2
P3,foc,sjt1,I would plan ahead.,3,3,2.2,2
P4,foc,sjt1,I would do it myself.,3,2,2.8,3
EOF
audit_tiny() {
    run_cmd audit --data "$TMP/tiny.csv" --instrument "$INS" --group group --reference ref \
        --focal foc "$@"
}
audit_tiny --human rater_1,rater_2 --out "$TMP/a1"
expect_exit 0 "audit --human rater_1,rater_2"
if python3 - "$TMP/a1/audit.json" <<'EOF' 2>"$TMP/err"; then
import json, math, sys
d = json.load(open(sys.argv[1]))
r = d['raters']
assert r['raters'] == ['rater_1', 'rater_2'] and r['score_of_record'] == 'rater_1'
assert d['settings']['human_column'] == 'rater_1'
o = r['overall']
want = {'n_responses': 4, 'n_multiple': 4, 'n_ratings': 8,
        'qwk_human_human': 9 / 13, 'pearson_human_human': 9 / 11,
        'qwk_machine_human': 0.6, 'degradation_qwk': 0.6 - 9 / 13,
        'pearson_machine_mean': 3 / (2 * math.sqrt(5)), 'rmse_machine_mean': math.sqrt(0.375),
        'error_variance': 0.25, 'true_score_variance': 4.25 / 6, 'mse_true': 0.25,
        'prmse': 11 / 17, 'smd_machine_human': 0.0}
for k, v in want.items():
    assert abs(o[k] - v) < 1e-12, (k, o[k], v)
t = o['thresholds']
assert t['qwk'] == {'value': o['qwk_machine_human'], 'threshold': 0.7, 'pass': False}, t['qwk']
assert t['degradation_qwk']['threshold'] == -0.1 and t['degradation_qwk']['pass'] is True
assert t['smd']['threshold'] == 0.15 and t['smd']['pass'] is True
ref = r['by_group']['ref']
assert [a['qwk'] for a in ref['machine_rater']] == [1, 0], ref['machine_rater']
assert ref['thresholds']['smd']['threshold'] == 0.1
# The score of record still drives agreement: machine against rater_1.
assert abs(d['agreement']['qwk'] - 0.8) < 1e-12
assert any(line.startswith('Several raters (2)') and 'degradation of -0.092 (within' in line
           for line in d['summary']), d['summary']
for k in ('prmse', 'qwk_machine_human', 'qwk_human_human', 'degradation_qwk', 'pearson_machine_mean'):
    lo, hi = o[k + '_ci']
    assert lo <= hi, (k, lo, hi)
EOF
    pass "raters section holds the hand-worked values and thresholds"
else
    fail "raters section holds the hand-worked values and thresholds" "$(cat "$TMP/err")"
fi
if head -1 "$TMP/a1/raters.csv" | grep -q '^comparison,scope,group,rater_a,rater_b,n,exact,adjacent,qwk,qwk_ci_low,qwk_ci_high,' &&
    grep -q '^human_human,overall,,rater_1,rater_2,4,0.5,1,0.6923076923076923,' "$TMP/a1/raters.csv" &&
    grep -q '^machine_rater,group,ref,machine,rater_1,2,1,1,1,' "$TMP/a1/raters.csv" &&
    grep -q '^machine_true_score,overall,,machine,true score,4,.*,0.6470588235294118,' "$TMP/a1/raters.csv" &&
    [ "$(grep -c '^machine_rater_mean,' "$TMP/a1/raters.csv")" = 3 ]; then
    pass "raters.csv: one row per comparison and scope"
else
    fail "raters.csv: one row per comparison and scope" "$(cat "$TMP/a1/raters.csv")"
fi
if python3 "$CHECK" "$TMP/a1/index.html" >"$TMP/check" 2>&1 &&
    grep -q 'id="raters">Several raters' "$TMP/a1/index.html" &&
    grep -q 'fails</td>' "$TMP/a1/index.html" && grep -q 'meets</td>' "$TMP/a1/index.html"; then
    pass "the page has a well-formed Several raters section with verdicts in words"
else
    fail "the page has a well-formed Several raters section with verdicts in words" "$(cat "$TMP/check")"
fi

# The replicates: in audit.json, or in bootstrap.csv once the writer moves
# them there. The same seed gives the same intervals.
replicates() {
    python3 - "$1" <<'EOF'
import csv, json, os, sys
d = sys.argv[1]
if os.path.exists(d + '/bootstrap.csv'):
    v = [r['value'] for r in csv.DictReader(open(d + '/bootstrap.csv'))
         if r['statistic'] == 'raters.prmse' and r['scope'] == 'all']
else:
    v = json.load(open(d + '/audit.json'))['bootstrap']['replicates']['raters.prmse']['all']
print(len(v))
EOF
}
if [ "$(replicates "$TMP/a1")" = 1000 ]; then
    pass "1000 bootstrap replicates of raters.prmse stored"
else
    fail "1000 bootstrap replicates of raters.prmse stored" "$(replicates "$TMP/a1" 2>&1)"
fi
audit_tiny --human rater_1,rater_2 --out "$TMP/a2"
intervals() {
    python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))['raters']
print([[s[k] for k in sorted(s) if k.endswith('_ci')] for s in [o['overall']] + list(o['by_group'].values())])
" "$1/audit.json"
}
if [ "$(intervals "$TMP/a1")" = "$(intervals "$TMP/a2")" ] && cmp -s "$TMP/a1/raters.csv" "$TMP/a2/raters.csv"; then
    pass "the same seed gives the same intervals"
else
    fail "the same seed gives the same intervals"
fi
if "$SJTALIGN" audit --help | grep -q -- '--seed'; then
    audit_tiny --human rater_1,rater_2 --seed 7 --out "$TMP/a3"
    audit_tiny --human rater_1,rater_2 --seed 7 --out "$TMP/a4"
    # Four persons have few distinct resamples, so the percentiles of
    # another seed may well coincide: the replicates themselves differ.
    raters_rows() { grep '^raters\.' "$1/bootstrap.csv"; }
    if [ "$(intervals "$TMP/a3")" = "$(intervals "$TMP/a4")" ] &&
        [ "$(raters_rows "$TMP/a3")" != "$(raters_rows "$TMP/a1")" ]; then
        pass "--seed 7 twice: the same intervals; other replicates than seed 1's"
    else
        fail "--seed 7 twice: the same intervals; other replicates than seed 1's"
    fi
fi

audit_tiny --human rater_1,rater_9 --out "$TMP/bad"
expect_exit 2 "a missing rater column"
expect_err_contains "rater_9" "the error names the missing column"
expect_no_file "$TMP/bad" "no report for a missing rater column"
audit_tiny --human rater_1,rater_1 --out "$TMP/bad"
expect_exit 2 "a rater column listed twice"
audit_tiny --human rater_1 --out "$TMP/single"
expect_exit 0 "one human column"
if ! grep -q '"raters"' "$TMP/single/audit.json" && [ ! -e "$TMP/single/raters.csv" ]; then
    pass "one human column: no raters section, no raters.csv"
else
    fail "one human column: no raters section, no raters.csv"
fi
sed 's/^P4,foc,sjt1,I would do it myself.,3,2,/P4,foc,sjt1,I would do it myself.,3,7,/' "$TMP/tiny.csv" >"$TMP/range.csv"
run_cmd audit --data "$TMP/range.csv" --instrument "$INS" --group group --reference ref \
    --focal foc --human rater_1,rater_2 --out "$TMP/bad"
expect_exit 2 "a second rater's score outside the scale"
expect_err_contains "range.csv:5:6" "the error names file, line and column"

# ---- validate --------------------------------------------------------------------

run_cmd validate --data "$TMP/tiny.csv" --instrument "$INS" --human rater_1,rater_2
expect_exit 0 "validate --human rater_1,rater_2"
expect_out_contains "rater_1 4 of 4 scored; rater_2 4 of 4 scored" "validate checks each rater column"
run_cmd validate --data "$TMP/range.csv" --instrument "$INS" --human rater_1,rater_2
expect_exit 2 "validate finds the bad score of the second rater"
expect_err_contains "column 'rater_2'" "validate names the column"
run_cmd validate --data "$TMP/tiny.csv" --instrument "$INS" --score score_mode --human rater_1,rater_3
expect_exit 2 "validate: a missing rater column"
expect_err_contains "rater_3" "validate names the missing column"

