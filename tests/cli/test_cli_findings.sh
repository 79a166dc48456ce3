#!/usr/bin/env bash
# What audit, compare and validate say on standard error (issue 18): the
# score column read (score_mode when the file has it, else score), the
# audit's folder and flagged items with their class, an unsettled
# purification, compare's warnings; and a --cut no total can reach refused.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
SFIX="$SJTALIGN_ROOT/tests/fixtures/stats"

# audit without --group and --score: group and score_mode.
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --reference ref \
    --focal foc --bootstrap 0 --out "$TMP/before"
expect_exit 0 "audit without --group and --score"
want=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1] + "/audit.json"))
s = d["settings"]
assert s["group_column"] == "group" and s["score_column"] == "score_mode", s
items = d["dif"]["items"]
assert [i["item"] for i in items if i["flagged"]] == ["sjt3", "sjt5"], items
flagged = ["%s %s" % (i["item"], i["ets_poly_class"]) for i in items if i["flagged"]]
print("audit: scores from column '"'"'score_mode'"'"'")
print("audit: DIF of focal '"'"'foc'"'"' against reference '"'"'ref'"'"': 6 of 6 items tested, 2 flagged (ETS B/C or BB/CC): " + ", ".join(flagged))
print("audit written to %s (index.html, audit.json, CSV tables)" % sys.argv[1])' "$TMP/before" 2>&1)
if [ "$ERR" = "$want" ]; then pass "audit says the column, the flagged items with class and the folder"
else fail "audit's standard error" "expected: $want" "got:      $ERR"; fi
[ -z "$OUT" ] && pass "audit: nothing on stdout" || fail "audit: stdout" "$OUT"

# --cut: 6 items scored 0-3 give totals 0 to 18.
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --reference ref \
    --focal foc --group group --bootstrap 0 --cut 19 --out "$TMP/cut19"
expect_exit 2 "a cut above the highest possible total"
expect_err_contains "sjtalign audit: --cut 19 is outside the possible total scores 0 to 18 (6 items scored 0 to 3 in $FIX/instrument.json); choose a cut within that range" \
    "the error names the possible range"
expect_no_file "$TMP/cut19" "no report after a cut outside the range"
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --reference ref \
    --focal foc --group group --bootstrap 0 --cut -0.5 --out "$TMP/cutneg"
expect_exit 2 "a cut below the lowest possible total"
run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --reference ref \
    --focal foc --group group --bootstrap 0 --cut 18 --out "$TMP/cut18"
expect_exit 0 "a cut at the highest possible total is allowed"

# An unsettled purification (the data of dif's test, as a scores file).
python3 -c '
import json, sys
items = [{"id": "i%d" % k, "scenario": "s", "question": "q?",
          "rubric": [{"score": 0, "anchor": "no"}, {"score": 1, "anchor": "yes"}]} for k in range(6)]
json.dump({"id": "cycle", "title": "Cycle", "score_min": 0, "score_max": 1, "items": items},
          open(sys.argv[1], "w"))' "$TMP/cycle.json"
sed '1s/score/score_mode/' "$SFIX/purify_cycle.csv" >"$TMP/cycle.csv"
run_cmd audit --data "$TMP/cycle.csv" --instrument "$TMP/cycle.json" --reference a --focal b \
    --group group --purify --bootstrap 0 --out "$TMP/cycle"
expect_exit 0 "audit with a purification that does not settle"
expect_err_contains "audit: warning: purification did not settle within 10 rounds" \
    "the unsettled purification is said on standard error"

# compare: its warnings on standard error too.
run_cmd audit --data "$FIX/after.csv" --instrument "$FIX/instrument.json" --reference ref \
    --focal foc --group group --bootstrap 0 --purify --out "$TMP/after"
expect_exit 0 "audit of the after scores with --purify"
run_cmd compare --before "$TMP/before" --after "$TMP/after" --out "$TMP/cmp"
expect_exit 0 "compare audits with different settings"
expect_err_contains "compare: warning: setting 'purify' differs between before and after" \
    "compare prints its warnings on standard error"
w=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["warnings"]))' "$TMP/cmp/compare.json")
n=$(printf '%s\n' "$ERR" | grep -c '^compare: warning: ')
[ "$n" = "$w" ] && pass "every warning of compare.json is printed ($n)" || fail "warnings printed: $n of $w"

# validate: which column dif, parity and audit would read.
run_cmd validate --data "$FIX/before.csv" --instrument "$FIX/instrument.json"
expect_exit 0 "validate a scores file"
expect_err_contains "validate: scores from column 'score_mode' (what dif, parity and audit read without --score)" \
    "validate names score_mode for a scores file"
cut -d, -f1-6 "$FIX/before.csv" >"$TMP/scored.csv"
run_cmd validate --data "$TMP/scored.csv" --instrument "$FIX/instrument.json"
expect_err_contains "validate: scores from column 'score' (what dif, parity and audit read without --score)" \
    "and score for a file without score_mode"
