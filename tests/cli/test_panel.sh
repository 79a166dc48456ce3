#!/usr/bin/env bash
# The expert panel checked by `reward`: panel.json and panel.csv in the model
# folder, a biased simulated judge flagged, ties accepted, judges weighted by
# agreement, no group column and no overlap explained, bad `preferred` named.
. "$(dirname "$0")/lib.sh"
T="--threads 1 --quiet"

run_cmd simulate --out "$TMP/sim" --persons 300 --items 4 --seed 5
expect_exit 0 "simulate"
INS="$TMP/sim/instrument.json"
run_cmd sft --instrument "$INS" --data "$TMP/sim/responses.csv" --out "$TMP/sft" --steps 2 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 64 --vocab 300 --pretrain-steps 1 $T
expect_exit 0 "a tiny scorer"

# One pair per response: the true score and the next one up (3 and 2 at the top), in a
# fixed alternating order, with the person's group from the responses.
awk -F, 'NR == FNR { if (FNR > 1) g[$1] = $2; next }
    FNR > 1 { t = $5; a = t; b = (t == 3) ? 2 : t + 1; if (FNR % 2) { x = a; a = b; b = x }
              printf "q%d,%s,%s,r,score: %d,score: %d,,,%s\n", FNR - 1, $2, $1, a, b, g[$1] }' \
    "$TMP/sim/responses.csv" "$TMP/sim/truth.csv" >"$TMP/body.csv"
{ echo "pair_id,item_id,person_id,response,completion_a,completion_b,preferred,judge_id,group"; cat "$TMP/body.csv"; } >"$TMP/pairs.csv"

# Half the pairs judged by three of five experts; expert_02 leans 6 logits toward the higher
# candidate on focal responses.
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" \
    --overlap 0.5 --judge-bias expert_02:6 --seed 2
expect_exit 0 "judge with a biased expert"

run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm" \
    --steps 2 --batch 4 $T
expect_exit 0 "reward"
expect_err_contains "reward: panel: Krippendorff's alpha (nominal: a, b, tie) = " "alpha on stderr"
expect_err_contains "judge expert_02 prefers the higher-scoring candidate at different rates by group" \
    "the biased judge named on stderr"
[ -z "$OUT" ] && pass "nothing on stdout: the panel's summary is on stderr (issue 18)" ||
    fail "reward printed on stdout" "$OUT"
if python3 - "$TMP/rm" "$TMP/judged.csv" <<'PY'
import csv, json, sys, hashlib
d = json.load(open(sys.argv[1] + '/panel.json'))
rows = list(csv.DictReader(open(sys.argv[2])))
assert d['kind'] == 'sjtalign-panel' and d['schema_version'] == 1
assert d['judgments'] == len(rows) == 1200 + 600 * 2, d['judgments']
assert d['pairs'] == 1200 and d['overlap_pairs'] == 600 and d['ties'] == 0
assert d['alpha']['n_pairs'] == 600 and d['alpha']['categories'] == ['a', 'b', 'tie']
assert 0 < d['alpha']['value'] < 1
assert d['weighting'] == 'none'
judges = {j['judge']: j for j in d['judges']}
assert sorted(judges) == ['expert_0%d' % k for k in range(1, 6)]
for name, j in judges.items():
    mine = [r for r in rows if r['judge_id'] == name]
    assert j['judgments'] == len(mine)
    # the higher-candidate rate on focal responses, recounted here
    focal = [r for r in mine if r['group'] == 'focal']
    hi = sum((int(r['completion_a'][7:]) > int(r['completion_b'][7:])) == (r['preferred'] == 'a') for r in focal)
    assert j['n_focal'] == len(focal) and abs(j['higher_pref_focal'] - hi / len(focal)) < 1e-12
    assert j['weight'] == 1
    flagged = 'group_preference' in j['flags']
    assert flagged == (name == 'expert_02'), (name, j)
b = judges['expert_02']
assert b['group_difference'] > 0.2 and b['group_difference_ci'][0] > 0 and b['group_p_holm'] < 0.05
table = list(csv.DictReader(open(sys.argv[1] + '/panel.csv')))
assert [r['judge'] for r in table] == sorted(judges)
assert table[1]['flags'] == 'group_preference'
assert abs(float(table[1]['group_p']) - b['group_p']) <= 1e-12 * b['group_p']
cfg = json.load(open(sys.argv[1] + '/config.json'))
sha = hashlib.sha256(open(sys.argv[1] + '/panel.csv', 'rb').read()).hexdigest()
assert cfg['extra_tables']['panel.csv'] == sha and 'panel.json' in cfg['extra_files']
assert cfg['provenance']['panel']['file'] == 'panel.json'
PY
then pass "panel.json and panel.csv: counts, rates recounted, the biased judge alone flagged"; else fail "panel documents"; fi
expect_no_temporaries "$TMP" "no temporaries beside the model"

# The model folder loads (a reward model for ppo) and is replaced whole by a second run.
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm" \
    --steps 2 --batch 4 --judge-weights agreement $T
expect_exit 0 "reward again with --judge-weights agreement"
if python3 - "$TMP/rm/panel.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d['weighting'] == 'agreement'
raw = {j['judge']: max(0.0, 2 * j['majority_agreement'] - 1) for j in d['judges']}
n = {j['judge']: j['judgments'] for j in d['judges']}
scale = d['judgments'] / sum(raw[k] * n[k] for k in raw)
for j in d['judges']:
    assert abs(j['weight'] - raw[j['judge']] * scale) < 1e-9, j
assert abs(sum(j['weight'] * j['judgments'] for j in d['judges']) - d['judgments']) < 1e-6
PY
then pass "agreement weights max(0, 2a - 1) scaled to mean 1 over the judgments"; else fail "weights"; fi

# ---- ties, no group column, no overlap ------------------------------------------------------
cut -d, -f1-8 "$TMP/pairs.csv" >"$TMP/nogroup.csv"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/nogroup.csv" --out "$TMP/single.csv" \
    --overlap 0 --seed 3
expect_exit 0 "judge without overlap"
awk -F, 'NR == 1 || NR % 4 { print; next } { OFS = ","; $7 = "tie"; print }' "$TMP/single.csv" >"$TMP/tied.csv"
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/tied.csv" --out "$TMP/rm_tied" \
    --steps 2 --batch 4 $T
expect_exit 0 "reward on pairs with ties, one judge per pair, no group column"
expect_err_contains "alpha: not computed, no pair was judged by two judges or more" "no overlap explained"
expect_err_contains "preference by group not checked: the pairs have no group column" "no group explained"
if python3 - "$TMP/rm_tied/panel.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d['alpha']['value'] is None and d['alpha']['n_pairs'] == 0 and d['overlap_pairs'] == 0
assert d['ties'] == 300, d['ties']  # rows 4, 8, ..., 1200 of the file
assert d['groups']['focal'] is None
for j in d['judges']:
    assert j['majority_agreement'] is None and j['higher_pref_focal'] is None
    assert j['group_difference_ci'] == [None, None] and j['group_p'] is None and j['flags'] == []
PY
then pass "panel.json with ties, alpha and group fields null"; else fail "panel.json without overlap"; fi

# ---- bad preferred ----------------------------------------------------------------------------
sed '3s/,a,expert/,maybe,expert/; 3s/,b,expert/,maybe,expert/' "$TMP/single.csv" >"$TMP/bad.csv"
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/bad.csv" --out "$TMP/rm_bad" $T
expect_exit 2 "preferred 'maybe'"
expect_err_contains "bad.csv:3:7: preferred must be 'a', 'b', 'tie' or empty, got 'maybe'" \
    "names file:line:col and what is expected"
expect_no_file "$TMP/rm_bad" "no model written"
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm_bad" \
    --judge-weights most $T
expect_exit 2 "unknown --judge-weights"
