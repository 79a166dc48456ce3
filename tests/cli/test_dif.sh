#!/usr/bin/env bash
# sjtalign dif: outputs, options and the input errors that must exit 2 with
# a message saying what to fix and leave no output file behind.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/stats"

run_cmd dif --help
expect_exit 0 "dif --help"
expect_out_contains "--match total|rest" "help lists the matching score"
expect_out_contains "left out of the whole analysis" "help says what happens to missing responses"

run_cmd dif --data "$FIX/verbal_mixed.csv" --reference male --focal female --out "$TMP/v.csv"
expect_exit 0 "CSV on real data"
header=$(head -1 "$TMP/v.csv")
for name in item n n_ref n_focal mh_chi2 mh_p mh_chi2_nocc mh_p_nocc alpha_mh delta_mh \
    se_delta_mh ets_class lr_uniform lr_p_uniform lr_nonuniform lr_p_nonuniform lr_joint \
    lr_p_joint lr_dr2n zt_class jg_class mantel_chi2 mantel_p smd smd_over_sd ets_poly_class \
    olr_uniform olr_p_uniform olr_nonuniform olr_p_nonuniform olr_joint olr_p_joint olr_dr2n \
    olr_dr2mcf; do
    case ",$header," in
        *",$name,"*) ;;
        *) fail "CSV header lacks $name" "$header"; continue 2 ;;
    esac
done
pass "CSV header has every DIF name of docs/OUTPUTS.md"
rows=$(python3 -c "import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))" "$TMP/v.csv")
[ "$rows" = 24 ] && pass "one row per item" || fail "expected 24 rows, got $rows"

run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1,F2 --purify --adjust bh \
    --format json --out -
expect_exit 0 "JSON to stdout with two focal groups, purification and BH"
check=$(printf '%s' "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
items = d["items"]
assert len(items) == 24, len(items)
assert {i["focal"] for i in items} == {"F1", "F2"}
d3 = [i for i in items if i["item"] == "D3" and i["focal"] == "F1"][0]
assert d3["ets_class"] == "C" and "mh_p_adj" in d3, d3
p1 = [i for i in items if i["item"] == "P1"][0]
assert "mantel_chi2" in p1 and "mh_chi2" not in p1
assert d["n_excluded_incomplete"] == 30
print("ok")' 2>&1)
[ "$check" = ok ] && pass "JSON holds items per focal group with the right names" \
    || fail "JSON content" "$check"

# ---- bad input: exit 2, a message saying what to fix, no output file ----------
printf 'person_id,item_id,score,group\np1,i1,1,a\np1,i2,2.5,a\np2,i1,0,b\np2,i2,1,b\n' >"$TMP/frac.csv"
run_cmd dif --data "$TMP/frac.csv" --reference a --focal b --out "$TMP/o1.csv"
expect_exit 2 "non-integer score"
expect_err_contains "frac.csv:3:3: column 'score': DIF needs whole-number item scores" \
    "non-integer score named by file:line:col"
expect_no_file "$TMP/o1.csv" "no output after a non-integer score"

printf 'person_id,item_id,score,group\np1,i1,1,a\np1,i2,0,a\np2,i1,0,b\np2,i2,1,b\n' >"$TMP/ok.csv"
run_cmd dif --data "$TMP/ok.csv" --reference a --focal c --out "$TMP/o2.csv"
expect_exit 2 "absent focal group"
expect_err_contains "group 'c' does not occur in the group column (groups present: 'a', 'b')" \
    "absent group named with the groups present"
expect_no_file "$TMP/o2.csv" "no output after an absent group"

printf 'person_id,item_id,score,group\np1,i1,1,a\np1,i2,0,a\np2,i1,0,a\np2,i2,1,a\n' >"$TMP/one.csv"
run_cmd dif --data "$TMP/one.csv" --reference a --focal b --out "$TMP/o3.csv"
expect_exit 2 "one group only"
expect_err_contains "group 'b' does not occur" "one group only: says which group is missing"
expect_no_file "$TMP/o3.csv" "no output with one group only"

printf 'person_id,item_id,score,group\np1,i1,1,a\np1,i2,0,a\np2,i1,0,b\n' >"$TMP/few.csv"
run_cmd dif --data "$TMP/few.csv" --reference a --focal b --out "$TMP/o4.csv"
expect_exit 2 "no complete person in the focal group"
expect_err_contains "group 'b' has no person with a score on every item" "says who is missing"
expect_no_file "$TMP/o4.csv" "no output when a group has no complete person"

run_cmd dif --data "$TMP/ok.csv" --reference a --focal b --match middle --out "$TMP/o5.csv"
expect_exit 2 "bad --match value"
run_cmd dif --data "$TMP/ok.csv" --reference a --focal b, --out "$TMP/o6.csv"
expect_exit 2 "empty focal label"
run_cmd dif --data "$TMP/ok.csv" --reference a --focal b --score points --out "$TMP/o7.csv"
expect_exit 2 "absent score column"
expect_err_contains "points" "absent column named"
expect_no_temporaries "$TMP" "no temporary files left"

# ---- what dif says and writes (issue 18) -------------------------------------------
# Standard error: the score column, per focal group the items tested and the
# flagged ones with their ETS class, in item order, as R's reference values
# (expected_sim_total.csv) have them; then what was written.
run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1,F2 --out "$TMP/s.csv"
expect_exit 0 "dif on two focal groups into a CSV"
want=$(python3 -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("dif: scores from column '"'"'score'"'"'")
for f in ("F1", "F2"):
    mine = [r for r in rows if r["focal"] == f]
    flagged = [r["item"] + " " + (r["ets_class"] if r["type"] == "dichotomous" else r["ets_poly_class"])
               for r in mine if r["flagged"] == "1"]
    print("dif: focal '"'"'%s'"'"' against reference '"'"'R'"'"': %d of %d items tested, %d flagged (ETS B/C or BB/CC): %s"
          % (f, len(mine), len(mine), len(flagged), ", ".join(flagged)))
print("dif: wrote %s (csv)" % sys.argv[2])' "$FIX/expected_sim_total.csv" "$TMP/s.csv")
if [ "$ERR" = "$want" ]; then pass "stderr: column, items tested and flagged with class per focal group, the file"
else fail "stderr of dif --out FILE" "expected: $want" "got:      $ERR"; fi
[ -z "$OUT" ] && pass "nothing on stdout when writing a file" || fail "stdout not empty" "$OUT"

# tested/flagged are TRUE/FALSE; the intervals are delta +- 1.959964 SE with
# R's delta and SE (RBG), and SMD/SD +- 1.959964 times its own SE column.
check=$(python3 -c '
import csv, sys
got = {(r["item"], r["focal"]): r for r in csv.DictReader(open(sys.argv[1]))}
ref = {(r["item"], r["focal"]): r for r in csv.DictReader(open(sys.argv[2]))}
z = 1.959963984540054
for key, r in got.items():
    assert r["tested"] == "TRUE", r
    assert r["flagged"] == ("TRUE" if ref[key]["flagged"] == "1" else "FALSE"), (key, r["flagged"])
    if r["type"] == "dichotomous":
        d, se = float(ref[key]["delta_mh"]), float(ref[key]["se_delta_mh"])
        lo, hi = float(r["delta_mh_ci95_low"]), float(r["delta_mh_ci95_high"])
        assert abs(lo - (d - z * se)) < 1e-6 and abs(hi - (d + z * se)) < 1e-6, (key, lo, hi)
        assert r["smd_over_sd_ci95_low"] == "", r
    else:
        v, se = float(r["smd_over_sd"]), float(r["se_smd_over_sd"])
        assert abs(float(r["smd_over_sd_ci95_low"]) - (v - z * se)) < 1e-12, key
        assert abs(float(r["smd_over_sd_ci95_high"]) - (v + z * se)) < 1e-12, key
        assert r["delta_mh_ci95_low"] == "", r
print("ok")' "$TMP/s.csv" "$FIX/expected_sim_total.csv" 2>&1)
[ "$check" = ok ] && pass "CSV: TRUE/FALSE logicals and the 95% intervals (R's delta and SE)" ||
    fail "CSV logicals and intervals" "$check"

# A file of polytomous items only: no dichotomous columns at all.
python3 -c '
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["item_id"].startswith("P")]
w = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0]))
w.writeheader(); w.writerows(rows)' "$FIX/sim_dif.csv" "$TMP/poly.csv"
run_cmd dif --data "$TMP/poly.csv" --reference R --focal F1 --out "$TMP/poly_out.csv"
expect_exit 0 "dif on polytomous items only"
want="item,focal,type,tested,n,n_ref,n_focal,n_strata,n_sparse_strata,mantel_chi2,mantel_p,smd,smd_over_sd,se_smd,se_smd_over_sd,smd_over_sd_ci95_low,smd_over_sd_ci95_high,ets_poly_class,olr_uniform,olr_p_uniform,olr_nonuniform,olr_p_nonuniform,olr_joint,olr_p_joint,olr_dr2n,olr_dr2mcf,flagged,notes"
got=$(head -1 "$TMP/poly_out.csv")
[ "$got" = "$want" ] && pass "polytomous items only: only the polytomous methods' columns" ||
    fail "polytomous-only header" "expected: $want" "got:      $got"
run_cmd dif --data "$TMP/poly.csv" --reference R --focal F1 --adjust holm --out "$TMP/poly_adj.csv"
got=$(head -1 "$TMP/poly_adj.csv")
case "$got" in *",olr_dr2mcf,mantel_p_adj,olr_p_uniform_adj,olr_p_nonuniform_adj,olr_p_joint_adj,flagged,notes")
    case "$got" in *mh_p*) fail "holm: dichotomous adjusted columns present" "$got" ;;
        *) pass "with --adjust: only the polytomous adjusted columns" ;; esac ;;
    *) fail "holm: polytomous adjusted columns" "$got" ;; esac
run_cmd dif --help
expect_out_contains "the dichotomous block (mh_chi2 ... jg_class) only when some item is scored 0/1" \
    "help states which columns the CSV has"

# --format table: aligned columns for the terminal. Rows of D3 and P2 of
# F1 from R's delta, SE and class (p from the CSV written above).
run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1 --format table --out -
expect_exit 0 "dif --format table to stdout"
check=$(printf '%s\n' "$OUT" | python3 -c '
import csv, re, sys
lines = sys.stdin.read().split("\n")
head = lines[0]
assert re.split(r"  +", head.strip()) == ["item", "focal", "type", "n_ref", "n_focal", "measure",
    "effect", "95% CI", "p", "class", "flagged"], head
assert lines[1] == "-" * len(head), lines[1]
rows = {l.split()[0]: l for l in lines[2:14]}
assert len(rows) == 12, lines
# text columns start where their header starts, numbers end where it ends
for l in rows.values():
    assert l.index("dichotomous" if "dichotomous" in l else "polytomous") == head.index("type")
    assert l[head.index("flagged"):] in ("yes", "no"), l
    end = head.index("n_focal") + len("n_focal")
    assert l[end - 3:end] == "593" and l[end] == " ", l
r = {x["item"]: x for x in csv.DictReader(open(sys.argv[1])) if x["focal"] == "F1"}
d, se = -2.8013020451842547, 0.31929134944406784
want = ["D3", "F1", "dichotomous", "880", "593", "MH delta", "%.3f" % d,
        "[%.3f, %.3f]" % (d - 1.959964 * se, d + 1.959964 * se), "<.001", "C", "yes"]
assert re.split(r"  +", rows["D3"].strip()) == want, (rows["D3"], want)
p2 = re.split(r"  +", rows["P2"].strip())
assert p2[5:7] == ["SMD/SD", "%.3f" % -0.27019316059692156] and p2[9:] == ["CC", "yes"], p2
assert lines[14].startswith("measure: MH delta of a 0/1 item, SMD/SD of another")
print("ok")' "$TMP/s.csv" 2>&1)
[ "$check" = ok ] && pass "table: aligned columns, D3 and P2 as R has them, a legend" ||
    fail "dif table" "$check" "$OUT"

# A scores file of `sjtalign score` (score = expected score, score_mode =
# the modal level): dif reads score_mode without being told.
RFIX="$SJTALIGN_ROOT/tests/fixtures/report"
run_cmd dif --data "$RFIX/before.csv" --reference ref --focal foc --format json --out "$TMP/b.json"
expect_exit 0 "dif on a scores file without --score"
expect_err_contains "dif: scores from column 'score_mode'" "says it read score_mode"
run_cmd dif --data "$RFIX/before.csv" --score score_mode --reference ref --focal foc --format json \
    --out "$TMP/b2.json"
cmp -s "$TMP/b.json" "$TMP/b2.json" && pass "the default is exactly --score score_mode" ||
    fail "default differs from --score score_mode"

# A purification that does not settle is said on standard error.
run_cmd dif --data "$FIX/purify_cycle.csv" --reference a --focal b --purify --format json --out "$TMP/c.json"
expect_exit 0 "dif --purify on data whose flagged set keeps changing"
expect_err_contains "dif: warning: purification for 'b' did not settle within 10 rounds" \
    "the unsettled purification is warned about"
settled=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["purify_rounds"], d["purify_settled"])' "$TMP/c.json")
[ "$settled" = "[10] [False]" ] && pass "JSON: purify_rounds 10, purify_settled false" ||
    fail "purify_settled" "$settled"
run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1 --purify --out "$TMP/settled.csv"
case "$ERR" in *"did not settle"*) fail "a settled purification is warned about" "$ERR" ;;
    *) pass "no warning when purification settles" ;; esac
