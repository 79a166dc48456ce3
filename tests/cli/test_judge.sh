#!/usr/bin/env bash
# sjtalign judge: a sharp panel prefers the candidate nearer the truth (checked
# here with awk, independently), ties and noise are seeded, every column is
# kept, and bad pairs are named by line.
. "$(dirname "$0")/lib.sh"

run_cmd judge --help
expect_exit 0 "help"
expect_out_contains "Bradley-Terry" "help explains the model"

run_cmd simulate --out "$TMP/sim" --persons 200 --items 4 --seed 5
expect_exit 0 "simulate"

# One pair per truth row: candidate a scores the truth, b the truth + 2 mod 4;
# every third pair swaps them; every fifth pair is a tie (both the same).
awk -F, 'NR > 1 {
    t = $5; a = t; b = (t + 2) % 4
    if ((NR % 3) == 0) { x = a; a = b; b = x }
    if ((NR % 5) == 0) { b = a }
    printf "q%d,%s,%s,\"text, with comma\",score: %d,score: %d - rationale,\n", NR - 1, $2, $1, a, b
}' "$TMP/sim/truth.csv" >"$TMP/body.csv"
{ echo "pair_id,item_id,person_id,response,completion_a,completion_b,preferred"; cat "$TMP/body.csv"; } >"$TMP/pairs.csv"

# --overlap 0: one expert per pair, as the panel always judged.
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" \
    --panel-size 4 --sharpness 60 --seed 9 --overlap 0
expect_exit 0 "judge"
expect_err_contains "800 pairs, 4 experts" "judge summary"
if [ "$(head -1 "$TMP/judged.csv")" = "pair_id,item_id,person_id,response,completion_a,completion_b,preferred,judge_id" ]; then
    pass "columns kept, judge_id appended"; else fail "header" "$(head -1 "$TMP/judged.csv")"; fi

# At sharpness 60 a distance gap of 1 or more is decided with P > 1 - 1e-26:
# the nearer candidate must win every decisive pair.
wrong=$(paste -d, <(tail -n +2 "$TMP/sim/truth.csv") <(tail -n +2 "$TMP/judged.csv") | awk -F, '
    function abs(x) { return x < 0 ? -x : x }
    { t = $5; split($11, A, " "); split($12, B, " "); a = A[2] + 0; b = B[2] + 0; p = $13
      da = abs(a - t); db = abs(b - t)
      if (da < db && p != "a") bad++
      if (db < da && p != "b") bad++
      if (p != "a" && p != "b") bad++ }
    END { print bad + 0 }')
if [ "$wrong" -eq 0 ]; then pass "sharp panel prefers the nearer candidate on every decisive pair"; else fail "$wrong pairs judged against the truth"; fi
judges=$(tail -n +2 "$TMP/judged.csv" | awk -F, '{print $NF}' | head -5 | tr '\n' ' ')
if [ "$judges" = "expert_01 expert_02 expert_03 expert_04 expert_01 " ]; then pass "pairs dealt to experts in turn"; else fail "judge ids: $judges"; fi

run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/again.csv" \
    --panel-size 4 --sharpness 60 --seed 9 --overlap 0
if cmp -s "$TMP/judged.csv" "$TMP/again.csv"; then pass "same seed, same judgments"; else fail "judge not deterministic"; fi

# ---- bad pairs -----------------------------------------------------------------------------
{ head -3 "$TMP/pairs.csv"; echo "q999,S01,P9999,r,score: 1,score: 2,"; } >"$TMP/unknown.csv"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/unknown.csv" --out "$TMP/out1.csv"
expect_exit 2 "pair unknown to the truth"
expect_err_contains "unknown.csv:4:3: person 'P9999' with item 'S01' is not in the truth file" "unknown pair named"
expect_no_file "$TMP/out1.csv" "no output on unknown pair"

{ head -2 "$TMP/pairs.csv"; echo "q2,S01,P0001,r,score: 1,no score here,"; } >"$TMP/garbled.csv"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/garbled.csv" --out "$TMP/out2.csv"
expect_exit 2 "unparseable completion"
expect_err_contains "garbled.csv:3:6: completion_b" "bad completion named"
expect_no_file "$TMP/out2.csv" "no output on bad completion"

run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/out3.csv" --panel-size 0
expect_exit 2 "panel size 0"
expect_err_contains "--panel-size" "panel size named"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/out3.csv" --sharpness -1
expect_exit 2 "negative sharpness"
expect_err_contains "--sharpness" "sharpness named"
run_cmd judge --pairs "$TMP/pairs.csv" --out "$TMP/out3.csv"
expect_exit 2 "missing --truth"
expect_err_contains "--truth is required" "missing --truth named"

# ---- several experts per pair, ties, a biased expert ---------------------------------------
# Default overlap 0.2 with 3 judges per pair: round(0.2 x 800) = 160 pairs get 3 rows.
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/overlap.csv" \
    --panel-size 4 --sharpness 60 --seed 9
expect_exit 0 "judge with the default overlap"
expect_err_contains "1120 judgments (160 pairs by several experts" "overlap summary"
counts=$(tail -n +2 "$TMP/overlap.csv" | awk -F, '{n[$1]++} END {for (p in n) c[n[p]]++; print c[1] + 0, c[3] + 0, c[2] + 0}')
if [ "$counts" = "640 160 0" ]; then pass "640 pairs judged once, 160 by three experts"; else fail "rows per pair: $counts"; fi
dups=$(tail -n +2 "$TMP/overlap.csv" | awk -F, '{print $1 "," $NF}' | sort | uniq -d | wc -l)
if [ "$dups" -eq 0 ]; then pass "no expert judges a pair twice"; else fail "$dups repeated judge-pair rows"; fi

# With --ties every pair whose candidates are equally far from the truth is a tie (the fifth
# pairs above hold the same score twice) and no other pair is.
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/ties.csv" \
    --panel-size 4 --sharpness 60 --seed 9 --overlap 0 --ties
expect_exit 0 "judge with --ties"
wrong=$(paste -d, <(tail -n +2 "$TMP/sim/truth.csv") <(tail -n +2 "$TMP/ties.csv") | awk -F, '
    function abs(x) { return x < 0 ? -x : x }
    { t = $5; split($11, A, " "); split($12, B, " "); a = A[2] + 0; b = B[2] + 0; p = $13
      equal = abs(a - t) == abs(b - t)
      if (equal != (p == "tie")) bad++; if (equal) ties++ }
    END { print bad + 0, ties + 0 }')
if [ "$wrong" = "0 160" ]; then pass "ties exactly at equal distance (160 of them)"; else fail "ties: $wrong"; fi

# A group column and an expert leaning 50 logits toward the higher score on focal responses:
# at sharpness 0 the others toss coins, expert_02 takes the higher candidate on every focal
# pair with different scores.
awk -F, 'NR == FNR { if (FNR > 1) g[$1] = $2; next }
    FNR > 1 { printf "%s,%s\n", $0, g[$3] }' "$TMP/sim/responses.csv" "$TMP/pairs.csv" >"$TMP/gbody.csv"
{ echo "pair_id,item_id,person_id,response,completion_a,completion_b,preferred,group"; cat "$TMP/gbody.csv"; } >"$TMP/gpairs.csv"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/gpairs.csv" --out "$TMP/biased.csv" \
    --panel-size 4 --sharpness 0 --seed 9 --overlap 0 --judge-bias expert_02:50
expect_exit 0 "judge with --judge-bias"
res=$(tail -n +2 "$TMP/biased.csv" | awk -F, '$NF == "expert_02" && $(NF-1) == "focal" {
        split($5, A, " "); split($6, B, " "); a = A[2] + 0; b = B[2] + 0
        if (a == b) next; n++; if ((a > b) == ($7 == "a")) hi++ }
    END { print n + 0, hi + 0 }')
set -- $res
if [ "$1" -gt 20 ] && [ "$1" = "$2" ]; then pass "biased expert took the higher candidate on all $1 focal pairs"; else fail "biased expert: $res"; fi

run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/out4.csv" --judge-bias expert_02:1
expect_exit 2 "--judge-bias without a group column"
expect_err_contains "no group column" "says the group column is missing"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/gpairs.csv" --out "$TMP/out4.csv" --judge-bias expert_09:1
expect_exit 2 "--judge-bias naming no expert of the panel"
expect_err_contains "expert_01 .. expert_05" "names the panel's experts"
run_cmd judge --truth "$TMP/sim/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/out4.csv" --panel-size 2
expect_exit 2 "3 judges per pair from a panel of 2"
expect_err_contains "--judges-per-pair 3 needs a panel of at least 3" "says why"
expect_no_file "$TMP/out4.csv" "no output on bad options"
