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

# ---- persons, formats, several focal groups (issue 18) --------------------------------
# persons' totals (computed here) for the checks below
totals() { # FILE SCORECOL GROUPMAP(optional python dict literal)
    python3 -c '
import csv, json, sys
tot, hum, grp = {}, {}, {}
remap = eval(sys.argv[3]) if len(sys.argv) > 3 else {}
for r in csv.DictReader(open(sys.argv[1])):
    p = r["person_id"]
    tot[p] = tot.get(p, 0.0) + float(r[sys.argv[2]])
    hum[p] = hum.get(p, 0.0) + float(r["human_score"])
    grp[p] = remap.get(p, r["group"])
json.dump({"tot": tot, "hum": hum, "grp": grp}, sys.stdout)' "$@"
}

# Without --person, a file with a person_id column is summed per person.
run_cmd parity --data "$FIX/parity_scores.csv" --reference A --focal B --format json --out -
expect_exit 0 "parity without --person on a file with person_id"
n=$(printf '%s' "$OUT" | python3 -c 'import json, sys; g = json.load(sys.stdin)["groups"]; print(g["A"]["n"], g["B"]["n"])')
[ "$n" = "250 150" ] && pass "persons (250 and 150), not their 1250 and 750 rows" || fail "persons by default" "$n"
expect_err_contains "parity: one observation per person (column 'person_id'): each person's rows summed" \
    "says that each person's rows were summed"
run_cmd parity --data "$FIX/parity_scores.csv" --rows --reference A --focal B --format json --out -
n=$(printf '%s' "$OUT" | python3 -c 'import json, sys; g = json.load(sys.stdin)["groups"]; print(g["A"]["n"], g["B"]["n"])')
[ "$n" = "1250 750" ] && pass "--rows: every row one observation" || fail "--rows" "$n"
expect_err_contains "parity: every row is one observation (--rows)" "--rows is said"
run_cmd parity --data "$FIX/parity_scores.csv" --rows --person person_id --reference A --focal B --out -
expect_exit 2 "--rows with --person"
expect_err_contains "--person and --rows exclude each other" "the clash is named"

# Item rows without a person column: treated as independent, with a warning.
cut -d, -f2- "$FIX/parity_scores.csv" >"$TMP/noperson.csv"
run_cmd parity --data "$TMP/noperson.csv" --reference A --focal B --out "$TMP/np.json"
expect_exit 0 "item rows without a person column"
expect_err_contains "parity: warning: every row is treated as an independent observation (no person column: --person not given, no 'person_id' column), but the file has an 'item_id' column, so a person probably has several rows and the t test's df and p are far too optimistic; give --person COL to compare persons' totals" \
    "a clear warning saying how to fix it"
cut -d, -f2,4 "$FIX/parity_scores.csv" >"$TMP/plain.csv"
run_cmd parity --data "$TMP/plain.csv" --reference A --focal B --out "$TMP/plain.json"
case "$ERR" in *warning*) fail "a file without item_id gets a warning" "$ERR" ;;
    *) pass "no warning for rows without an item column" ;; esac
expect_err_contains "parity: every row is one observation (no person column); if a person has several rows, give --person COL to sum them" \
    "but a note saying how rows are taken"

# CSV: the reference's row, then the focal group's with the comparison.
totals "$FIX/parity_scores.csv" score >"$TMP/t.json"
run_cmd parity --data "$FIX/parity_scores.csv" --reference A --focal B --human human_score --cut 10 \
    --out "$TMP/p.csv"
expect_exit 0 "parity into a .csv file"
expect_err_contains "parity: wrote $TMP/p.csv (csv)" "says what it wrote"
check=$(python3 -c '
import csv, json, math, sys
t = json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(sys.argv[1])))
head = open(sys.argv[1]).readline().strip()
assert head == ("group,role,n,mean,sd,cut,pass_rate,mean_diff,ci95_low,ci95_high,cohens_d,hedges_g,"
    "welch_t,welch_df,welch_p,adverse_impact_ratio,four_fifths_flag,qwk,exact,adjacent,pearson_r,smd,"
    "osa_p,osd_p,osd_coef_focal,csd_p,csd_coef_focal,notes"), head
assert [(r["group"], r["role"]) for r in rows] == [("A", "reference"), ("B", "focal")], rows
def stats(g):
    x = [v for p, v in t["tot"].items() if t["grp"][p] == g]
    m = sum(x) / len(x)
    return len(x), m, math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1)), sum(v >= 10 for v in x) / len(x)
for r, g in zip(rows, "AB"):
    n, m, sd, pr = stats(g)
    assert int(r["n"]) == n and abs(float(r["mean"]) - m) < 1e-9 and abs(float(r["sd"]) - sd) < 1e-9, r
    assert abs(float(r["pass_rate"]) - pr) < 1e-12 and r["cut"] == "10", r
assert rows[0]["mean_diff"] == "" and rows[0]["four_fifths_flag"] == "", rows[0]
air = stats("B")[3] / stats("A")[3]
assert abs(float(rows[1]["mean_diff"]) - (stats("B")[1] - stats("A")[1])) < 1e-9
assert abs(float(rows[1]["adverse_impact_ratio"]) - air) < 1e-12
assert rows[1]["four_fifths_flag"] == ("TRUE" if air < 0.8 else "FALSE"), rows[1]
print("ok")' "$TMP/p.csv" "$TMP/t.json" 2>&1)
[ "$check" = ok ] && pass "CSV: header, persons' figures, TRUE/FALSE flag" || fail "parity CSV" "$check"

# Several focal groups: B's persons with an odd number become group C.
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    if r["group"] == "B" and int(r["person_id"][1:]) % 2:
        r["group"] = "C"
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0]))
w.writeheader(); w.writerows(rows)' "$FIX/parity_scores.csv" "$TMP/three.csv"
run_cmd parity --data "$TMP/three.csv" --reference A --focal B,C --cut 10 --out "$TMP/three.json"
expect_exit 0 "parity with two focal groups"
check=$(python3 -c '
import csv, json, sys
tot, grp = {}, {}
for r in csv.DictReader(open(sys.argv[2])):
    tot[r["person_id"]] = tot.get(r["person_id"], 0.0) + float(r["score"]); grp[r["person_id"]] = r["group"]
mean = lambda g: (lambda x: sum(x) / len(x))([v for p, v in tot.items() if grp[p] == g])
d = json.load(open(sys.argv[1]))
assert d["reference"] == "A" and d["focal"] == ["B", "C"], d.keys()
assert [c["focal"] for c in d["comparisons"]] == ["B", "C"]
for c in d["comparisons"]:
    f = c["focal"]
    assert c["reference"] == "A" and c["groups"][f]["n"] == sum(1 for p in grp if grp[p] == f)
    assert abs(c["mean_diff"] - (mean(f) - mean("A"))) < 1e-9, (f, c["mean_diff"])
print("ok")' "$TMP/three.json" "$TMP/three.csv" 2>&1)
[ "$check" = ok ] && pass "JSON: one comparison per focal group, each against the reference" ||
    fail "several focal groups" "$check"
expect_err_contains "parity: focal 'B' against reference 'A': n " "a line for B"
expect_err_contains "parity: focal 'C' against reference 'A': n " "a line for C"
run_cmd parity --data "$TMP/three.csv" --reference A --focal B,C --format csv --out -
roles=$(printf '%s\n' "$OUT" | tail -n +2 | cut -d, -f1,2 | tr '\n' ' ')
[ "$roles" = "A,reference B,focal C,focal " ] && pass "CSV: the reference's row and one per focal group" ||
    fail "CSV rows with two focal groups" "$roles"

# --format table: aligned columns.
run_cmd parity --data "$FIX/parity_scores.csv" --reference A --focal B --human human_score --cut 10 \
    --format table --out -
expect_exit 0 "parity --format table"
check=$(printf '%s\n' "$OUT" | python3 -c '
import json, math, re, sys
lines = sys.stdin.read().split("\n")
head = lines[0]
assert re.split(r"  +", head) == ["group", "role", "n", "mean", "sd", "pass rate", "difference",
    "95% CI", "d", "g", "Welch p", "AI ratio", "below 4/5", "QWK", "SMD"], head
assert lines[1] == "-" * len(head)
a, b = re.split(r"  +", lines[2].strip()), re.split(r"  +", lines[3].strip())
t = json.load(open(sys.argv[1]))
x = [v for p, v in t["tot"].items() if t["grp"][p] == "B"]
assert b[:4] == ["B", "focal", "150", "%.3f" % (sum(x) / len(x))], b
assert a[:3] == ["A", "reference", "250"] and len(a) == 8, a
assert all(len(l) == len(head) for l in lines[2:4]), lines
print("ok")' "$TMP/t.json" 2>&1)
[ "$check" = ok ] && pass "table: header, persons, aligned rows" || fail "parity table" "$check" "$OUT"

# A cut above every total: warned about with the observed range.
range=$(python3 -c 'import json, sys; t = json.load(open(sys.argv[1]))["tot"].values(); print("%g to %g" % (min(t), max(t)))' "$TMP/t.json")
run_cmd parity --data "$FIX/parity_scores.csv" --reference A --focal B --cut 1000 --out "$TMP/c.json"
expect_exit 0 "a cut above every score"
expect_err_contains "parity: warning: --cut 1000 is above every observed score ($range): nobody passes" \
    "the cut is warned about with the observed range"

# The default score column: score_mode when the file has it.
python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    r["score_mode"] = str(int(float(r["score"]) + 0.5))
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0]))
w.writeheader(); w.writerows(rows)' "$FIX/parity_scores.csv" "$TMP/modes.csv"
totals "$TMP/modes.csv" score_mode >"$TMP/tm.json"
run_cmd parity --data "$TMP/modes.csv" --reference A --focal B --out "$TMP/m.json"
expect_err_contains "parity: scores from column 'score_mode'" "says it read score_mode"
check=$(python3 -c '
import json, sys
t = json.load(open(sys.argv[2])); d = json.load(open(sys.argv[1]))
x = [v for p, v in t["tot"].items() if t["grp"][p] == "A"]
assert abs(d["groups"]["A"]["mean"] - sum(x) / len(x)) < 1e-9, d["groups"]["A"]
print("ok")' "$TMP/m.json" "$TMP/tm.json" 2>&1)
[ "$check" = ok ] && pass "the figures are those of score_mode" || fail "default score_mode" "$check"
