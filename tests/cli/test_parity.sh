#!/usr/bin/env bash
# sjtalign parity: JSON keys of docs/OUTPUTS.md (parity output), person totals, and input errors.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/stats"

run_cmd parity --help
expect_exit 0 "parity --help"
expect_out_contains "pooled" "help states the SD used for the SMD"

run_cmd parity --data "$FIX/parity_scores.csv" --person person_id --score score --group group \
    --reference A --focal B --human human_score --cut 10 --out "$TMP/p.json"
expect_exit 0 "parity on person totals with a human score"
check=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for k in ["groups", "mean_diff", "cohens_d", "hedges_g", "welch_t", "welch_df", "welch_p",
          "ci95_low", "ci95_high", "cut", "adverse_impact_ratio", "four_fifths_flag", "agreement"]:
    assert k in d, k
for g in ["A", "B"]:
    assert set(d["groups"][g]) >= {"n", "mean", "sd", "pass_rate"}
    assert d["groups"][g]["n"] == {"A": 250, "B": 150}[g]
a = d["agreement"]
for k in ["exact", "adjacent", "qwk", "pearson_r", "smd", "by_group", "fairness"]:
    assert k in a, k
assert set(a["fairness"]) >= {"osa", "osd", "csd"}
print("ok")' "$TMP/p.json" 2>&1)
[ "$check" = ok ] && pass "parity JSON has the README's keys" || fail "parity JSON" "$check"

# The figures themselves, computed here from the fixture without sjtalign:
# person totals of score and of human_score, pass = total >= 10, the pooled
# SD for Cohen's d, Hedges' J = 1 - 3/(4(n1+n2)-9), Welch's t and
# Welch-Satterthwaite df, and for agreement Pearson's r of the two totals
# and SMD = (mean machine - mean human) / sqrt((var machine + var human)/2).
check=$(python3 -c '
import csv, json, math, sys
from collections import defaultdict
tot, hum, grp = defaultdict(float), defaultdict(float), {}
for r in csv.DictReader(open(sys.argv[1])):
    p = r["person_id"]
    tot[p] += float(r["score"]); hum[p] += float(r["human_score"]); grp[p] = r["group"]
def group(g):
    t = [tot[p] for p in tot if grp[p] == g]
    n = len(t); m = sum(t) / n
    return n, m, sum((x - m) ** 2 for x in t) / (n - 1), sum(x >= 10 for x in t) / n
na, ma, va, pa = group("A"); nb, mb, vb, pb = group("B")
d = json.load(open(sys.argv[2]))
def near(name, x, y):
    assert abs(x - y) <= 1e-9 * max(1, abs(y)), (name, x, y)
near("mean A", d["groups"]["A"]["mean"], ma); near("sd B", d["groups"]["B"]["sd"], math.sqrt(vb))
near("pass A", d["groups"]["A"]["pass_rate"], pa); near("pass B", d["groups"]["B"]["pass_rate"], pb)
near("mean_diff", d["mean_diff"], mb - ma)
sp = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
near("d", d["cohens_d"], (mb - ma) / sp)
near("g", d["hedges_g"], (mb - ma) / sp * (1 - 3 / (4 * (na + nb) - 9)))
se2 = va / na + vb / nb
near("t", d["welch_t"], (mb - ma) / math.sqrt(se2))
near("df", d["welch_df"], se2 ** 2 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1)))
near("air", d["adverse_impact_ratio"], pb / pa)
assert d["four_fifths_flag"] is (pb / pa < 0.8)
m = list(tot.values()); h = [hum[p] for p in tot]
mm, mh = sum(m) / len(m), sum(h) / len(h)
sxx = sum((x - mm) ** 2 for x in m); syy = sum((y - mh) ** 2 for y in h)
sxy = sum((x - mm) * (y - mh) for x, y in zip(m, h))
near("r", d["agreement"]["pearson_r"], sxy / math.sqrt(sxx * syy))
near("smd", d["agreement"]["smd"], (mm - mh) / math.sqrt((sxx + syy) / (len(m) - 1) / 2))
print("ok")' "$FIX/parity_scores.csv" "$TMP/p.json" 2>&1)
[ "$check" = ok ] && pass "parity figures match an independent computation" ||
    fail "parity figures" "$check"

run_cmd parity --data "$FIX/parity_scores.csv" --score score --group group --reference A \
    --focal B --out -
expect_exit 0 "parity to stdout without human or cut"
expect_out_contains '"four_fifths_flag":	null' "no cut: flag is null"

printf 'score,group\n1,a\n2,a\n3,a\n' >"$TMP/one.csv"
run_cmd parity --data "$TMP/one.csv" --reference a --focal b --out "$TMP/o1.json"
expect_exit 2 "one group only"
expect_err_contains "group 'b' does not occur in the group column (groups present: 'a')" \
    "absent group named"
expect_no_file "$TMP/o1.json" "no output with one group only"

printf 'score,group\n1,a\n2,a\n3,b\n' >"$TMP/few.csv"
run_cmd parity --data "$TMP/few.csv" --reference a --focal b --out "$TMP/o2.json"
expect_exit 2 "fewer than two persons in a group"
expect_err_contains "at least two scored observations per group" "says how many are needed"
expect_no_file "$TMP/o2.json" "no output with too few persons"

printf 'score,group,h\n1,a,1\n2,a,2.5\n3,b,3\n4,b,4\n' >"$TMP/frac.csv"
run_cmd parity --data "$TMP/frac.csv" --reference a --focal b --human h --out "$TMP/o3.json"
expect_exit 2 "non-integer human score"
expect_err_contains "frac.csv:3:3: column 'h': human scores must be whole numbers" \
    "non-integer human score named by file:line:col"
expect_no_file "$TMP/o3.json" "no output after a non-integer human score"

printf 'p,score,group\nx,1,a\nx,2,b\ny,3,b\n' >"$TMP/mixed.csv"
run_cmd parity --data "$TMP/mixed.csv" --person p --reference a --focal b --out "$TMP/o4.json"
expect_exit 2 "a person in two groups"
expect_err_contains "person 'x' is in group 'b' here but in group 'a' on line 2" \
    "group disagreement named"
run_cmd parity --data "$TMP/few.csv" --reference a --focal b --cut x --out "$TMP/o5.json"
expect_exit 2 "bad --cut"
expect_no_temporaries "$TMP" "no temporary files left"
