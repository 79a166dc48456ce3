#!/usr/bin/env bash
# sjtalign parity: JSON keys of the README (Files, parity output), person totals, and input errors.
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
