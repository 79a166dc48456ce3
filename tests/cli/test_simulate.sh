#!/usr/bin/env bash
# sjtalign simulate: bad settings are refused without output, the same seed
# gives byte-identical files, the files are valid input for the rest of the
# tool, and the shipped demo data and instrument are what the stated
# commands produce.
. "$(dirname "$0")/lib.sh"
ROOT=${SJTALIGN_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

run_cmd simulate --help
expect_exit 0 "help"
expect_out_contains "--bias ITEM:SIZE" "help lists --bias"

# ---- bad input: exit 2, the flag named, nothing written ----------------------
bad() { # DESCRIPTION EXPECTED-TEXT ARGS...
    local what=$1 text=$2
    shift 2
    run_cmd simulate --out "$TMP/bad" --persons 50 "$@"
    expect_exit 2 "$what"
    expect_err_contains "$text" "$what: message"
    expect_no_file "$TMP/bad" "$what: no output"
}
bad "unknown bias item" "--bias: unknown item 'S09'" --bias S09:0.5
bad "bias item beyond --items" "unknown item 'S05'" --items 4 --bias S05:0.5
bad "bias size above 1" "SIZE for item S03 must be a probability between 0 and 1" --bias S03:1.5
bad "bias size below 0" "between 0 and 1" --bias S03:-0.2
bad "bias without size" "expected ITEM:SIZE" --bias S03
bad "focal share 0" "--focal-share must lie strictly between 0 and 1" --focal-share 0
bad "focal share 1" "--focal-share must lie strictly between 0 and 1" --focal-share 1
bad "zero persons" "--persons must be between 1" --persons 0
bad "zero items" "--items must be between 1" --items 0
bad "rater noise above 1" "--rater-noise" --rater-noise 2
run_cmd simulate --persons 10
expect_exit 2 "missing --out"
expect_err_contains "--out is required" "missing --out: message"

# A failed run leaves an existing folder's files alone.
mkdir -p "$TMP/keep" && echo "precious" >"$TMP/keep/responses.csv"
run_cmd simulate --out "$TMP/keep" --bias S03:7
expect_exit 2 "bad run into an existing folder"
if [ "$(cat "$TMP/keep/responses.csv")" = "precious" ]; then pass "existing file untouched"; else fail "existing file changed"; fi

# ---- determinism -------------------------------------------------------------------
run_cmd simulate --out "$TMP/a" --persons 300 --bias S02:0.5 --impact 0.4 --seed 11
expect_exit 0 "simulate"
run_cmd simulate --out "$TMP/b" --persons 300 --bias S02:0.5 --impact 0.4 --seed 11
run_cmd simulate --out "$TMP/c" --persons 300 --bias S02:0.5 --impact 0.4 --seed 12
for f in instrument.json responses.csv truth.csv simulation.json; do
    if cmp -s "$TMP/a/$f" "$TMP/b/$f"; then pass "same seed: $f identical"; else fail "same seed: $f differs"; fi
done
for f in responses.csv truth.csv; do
    if cmp -s "$TMP/a/$f" "$TMP/c/$f"; then fail "other seed: $f identical"; else pass "other seed: $f differs"; fi
done
expect_no_temporaries "$TMP/a" "no temporaries left"

# ---- the files -------------------------------------------------------------------------
if [ "$(head -1 "$TMP/a/responses.csv")" = "person_id,group,item_id,response,human_score" ]; then
    pass "responses header"; else fail "responses header" "$(head -1 "$TMP/a/responses.csv")"; fi
if [ "$(head -1 "$TMP/a/truth.csv")" = "person_id,item_id,theta,intent,true_score" ]; then
    pass "truth header"; else fail "truth header" "$(head -1 "$TMP/a/truth.csv")"; fi
n=$(($(wc -l <"$TMP/a/truth.csv") - 1))
if [ "$n" -eq 2400 ]; then pass "300 persons x 8 items in truth"; else fail "truth has $n rows"; fi
run_cmd validate --data "$TMP/a/responses.csv" --instrument "$TMP/a/instrument.json" --score human_score
expect_exit 0 "responses validate against the instrument"
expect_out_contains "2400 responses" "validate counts the responses"
expect_out_contains "2400 scored" "validate counts the human scores"
for key in '"seed":	11' '"reference_group":	"reference"' '"focal_group":	"focal"' \
    '"biased_items":	["S02"]' '"impact":	0.4' '"n_focal":	90'; do
    if grep -qF "$key" "$TMP/a/simulation.json"; then pass "simulation.json has $key"; else fail "simulation.json lacks $key"; fi
done
groups=$(cut -d, -f2 "$TMP/a/responses.csv" | sort -u | tr '\n' ' ')
if [ "$groups" = "focal group reference " ]; then pass "two groups"; else fail "groups: $groups"; fi

run_cmd simulate --out "$TMP/many" --persons 5 --items 12 --seed 3
expect_exit 0 "more items than the bank"
if grep -q '"id":	"S12"' "$TMP/many/instrument.json" && grep -q 'Parallel form 2' "$TMP/many/instrument.json"; then
    pass "parallel forms get their own ids"; else fail "parallel forms"; fi

# ---- the shipped demo instrument and data ----------------------------------------------
run_cmd simulate --out "$TMP/bank" --persons 1 --items 10 --seed 1
if cmp -s "$TMP/bank/instrument.json" "$ROOT/instruments/demo/instrument.json"; then
    pass "instruments/demo/instrument.json is the simulator's 10-item instrument"
else fail "instruments/demo/instrument.json differs from the simulator's bank"; fi

run_cmd simulate --out "$TMP/demo" --persons 3000 --items 8 --focal-share 0.3 --impact 0.3 \
    --bias S03:0.6,S06:0.6 --rater-noise 0.1 --raters 2 --seed 20261126
expect_exit 0 "demo command"
for f in instrument.json responses.csv truth.csv simulation.json .sjtalign-manifest.json; do
    if cmp -s "$TMP/demo/$f" "$ROOT/data/demo/$f"; then pass "data/demo/$f reproduces byte for byte"
    else fail "data/demo/$f is not what the demo command produces"; fi
done
