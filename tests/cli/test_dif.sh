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
