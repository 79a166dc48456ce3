#!/usr/bin/env bash
# sjtalign validate: the score columns sft and audit read (with their
# defaults), named columns that must exist, every defect in one run (capped),
# groups with their sizes, persons in two groups and missing person x item
# cells; audit --human and sft refuse scores outside the instrument's range.
. "$(dirname "$0")/lib.sh"
REPORT="$SJTALIGN_ROOT/tests/fixtures/report"

# expect_err_line LINE DESCRIPTION: stderr holds LINE as a whole line.
expect_err_line() {
    if printf '%s\n' "$ERR" | grep -qxF -- "$1"; then pass "$2"; else fail "$2: stderr lacks the line '$1'" "stderr: $ERR"; fi
}
expect_out_line() {
    if printf '%s\n' "$OUT" | grep -qxF -- "$1"; then pass "$2"; else fail "$2: stdout lacks the line '$1'" "stdout: $OUT"; fi
}

# Three items, scores 0..3.
cat >"$TMP/ins.json" <<'EOF'
{"id": "v3", "title": "Three items", "score_min": 0, "score_max": 3, "items": [
 {"id": "i1", "scenario": "s", "question": "q", "rubric": [{"score": 0, "anchor": "a"}]},
 {"id": "i2", "scenario": "s", "question": "q", "rubric": [{"score": 0, "anchor": "a"}]},
 {"id": "i3", "scenario": "s", "question": "q", "rubric": [{"score": 0, "anchor": "a"}]}]}
EOF

run_cmd validate --help
expect_exit 0 "--help"
expect_out_contains "(dif, parity and audit read score_mode when the file has it, else score;" \
    "help names the default score columns (issue 18: one rule)"
expect_out_contains "DIF (dif, audit) leaves out every person who" "help says DIF drops incomplete persons"

# Simulator data with one rater (the demo's design with a single
# human_score column) and one human score of 9 on the 0..3 scale:
# line 3, column 5 (human_score). Only the default columns are involved.
DEMO="$TMP/sim1"
"$SJTALIGN" simulate --out "$DEMO" --persons 2000 --items 8 --focal-share 0.3 --impact 0.3 \
    --bias S03:0.6,S06:0.6 --rater-noise 0.1 --seed 20261126 >/dev/null 2>&1
awk -F, 'NR == 3 { sub(/,3$/, ",9") } { print }' "$DEMO/responses.csv" >"$TMP/sim9.csv"
run_cmd validate --data "$TMP/sim9.csv" --instrument "$DEMO/instrument.json"
expect_exit 2 "human_score 9 on a 0..3 scale"
expect_err_line "$TMP/sim9.csv:3:5: score 9 is outside the instrument's range 0..3 (column 'human_score')" \
    "the defect names line 3, column 5, the value and the range"
expect_err_line "sjtalign validate: 1 defect in $TMP/sim9.csv" "one defect counted"
expect_out_line "scores (range 0..3): score not present; human_score 15999 of 16000 scored; score_mode not present" \
    "the default score columns: absent ones not present, human_score checked"

run_cmd validate --data "$TMP/sim9.csv" --instrument "$DEMO/instrument.json" --score scroe
expect_exit 2 "a misspelt --score column"
expect_err_line "$TMP/sim9.csv:1: missing column 'scroe' (the header has 'person_id', 'group', 'item_id', 'response', 'human_score')" \
    "the misspelt column is named with the header"
expect_out_line "scores (range 0..3): scroe not present" "the summary shows it missing"

run_cmd validate --data "$DEMO/responses.csv" --instrument "$DEMO/instrument.json" --human human_score,score
expect_exit 2 "--human with a list naming a missing column"
expect_err_contains "responses.csv:1: missing column 'score' (the header" "the missing listed column is named"

run_cmd validate --data "$DEMO/responses.csv" --instrument "$DEMO/instrument.json" --group grp
expect_exit 2 "a named group column that is missing"
expect_err_contains "responses.csv:1: missing column 'grp'" "the missing group column is named"

# Every defect in one run, in file order: 2:5 score 9; 3:1 empty person;
# 4:2 unknown item; 5:4 empty group; 6:5 score 1.5 not whole; 7:1 p1
# answers i1 twice; 8:4 p2 in g3 after g2.
printf 'person_id,item_id,response,group,human_score\np1,i1,a,g1,9\n,i2,b,g1,1\np1,i9,c,g1,1\np2,i1,d,,2\np2,i2,e,g2,1.5\np1,i1,f,g1,2\np2,i3,g,g3,0\n' >"$TMP/many.csv"
run_cmd validate --data "$TMP/many.csv" --instrument "$TMP/ins.json"
expect_exit 2 "several defects"
n=$(printf '%s\n' "$ERR" | grep -c "^$TMP/many.csv:[0-9]*:[0-9]*: ")
[ "$n" = 7 ] && pass "all 7 defects reported, each as FILE:LINE:COL" || fail "expected 7 defect lines, got $n" "$ERR"
expect_err_line "$TMP/many.csv:2:5: score 9 is outside the instrument's range 0..3 (column 'human_score')" "defect 1: range"
expect_err_line "$TMP/many.csv:3:1: empty person id" "defect 2: empty person"
expect_err_line "$TMP/many.csv:4:2: unknown item 'i9': the instrument v3 has no such item" "defect 3: unknown item"
expect_err_line "$TMP/many.csv:5:4: empty group label in column 'group'" "defect 4: empty group"
expect_err_contains "$TMP/many.csv:6:5: column 'human_score': expected a whole number" "defect 5: not a whole number"
expect_err_line "$TMP/many.csv:7:1: person 'p1' answers item 'i1' twice (first on line 2)" "defect 6: duplicate answer"
expect_err_line "$TMP/many.csv:8:4: person 'p2' is in group 'g3' here but in group 'g2' on line 6 (a person belongs to one group)" \
    "defect 7: a person in two groups"
expect_err_line "sjtalign validate: 7 defects in $TMP/many.csv" "the count of defects"
order=$(printf '%s\n' "$ERR" | grep -o "^$TMP/many.csv:[0-9]*" | sed 's/.*://' | tr '\n' ' ')
[ "$order" = "2 3 4 5 6 7 8 " ] && pass "defects in file order" || fail "defects out of order: $order"
expect_out_line "2 groups (column 'group'): g1 1 person, g2 1 person; 1 person in two groups (a defect)" \
    "groups with sizes and the person in two groups"

# A clean file with groups and missing cells: p1 all three items, p2 lacks
# i2, p3 lacks i1 and i3, p4 all three. Missing cells are a warning.
printf 'person_id,item_id,response,group,score\np1,i1,a,A,0\np1,i2,a,A,1\np1,i3,a,A,2\np2,i1,a,B,3\np2,i3,a,B,\np3,i2,a,B,1\np4,i3,a,B,0\np4,i1,a,B,0\np4,i2,a,B,0\n' >"$TMP/gaps.csv"
run_cmd validate --data "$TMP/gaps.csv" --instrument "$TMP/ins.json"
expect_exit 0 "missing cells alone are not a defect"
expect_out_line "$TMP/gaps.csv: 9 responses, 4 persons, 3 of 3 items" "counts"
expect_out_line "2 groups (column 'group'): A 1 person, B 3 persons" "groups with their sizes"
expect_out_line "scores (range 0..3): score 8 of 9 scored; human_score not present; score_mode not present" "scored cells"
expect_out_line "items: 2 persons did not answer every item (3 missing cells; DIF leaves them out): p2 lacks i2; p3 lacks i1, i3" \
    "incomplete persons with examples"
# stderr: only which column dif, parity and audit would read (issue 18)
[ "$ERR" = "validate: scores from column 'score' (what dif, parity and audit read without --score)" ] &&
    pass "stderr of a valid file: only the score column dif, parity and audit read" ||
    fail "stderr of a valid file" "$ERR"

# No score column at all: fine for `sjtalign score`.
printf 'person_id,item_id,response\np1,i1,a\np1,i2,b\np1,i3,c\n' >"$TMP/noscore.csv"
run_cmd validate --data "$TMP/noscore.csv" --instrument "$TMP/ins.json"
expect_exit 0 "no score column"
expect_out_line "scores: no score column (score, human_score and score_mode not present): enough for \`sjtalign score\`; sft, dif and audit need one" \
    "the summary says what needs a score column"
expect_out_line "groups: no column 'group' (dif and audit need one; name it with --group)" "no group column"

# More defects than the cap: 60 unknown items, 50 shown.
{
    echo "person_id,item_id,response"
    for i in $(seq 1 60); do echo "p$i,x$i,a"; done
} >"$TMP/sixty.csv"
run_cmd validate --data "$TMP/sixty.csv" --instrument "$TMP/ins.json"
expect_exit 2 "60 defects"
n=$(printf '%s\n' "$ERR" | grep -c "unknown item")
[ "$n" = 50 ] && pass "the first 50 defects are listed" || fail "expected 50 listed, got $n"
expect_err_line "$TMP/sixty.csv:51:2: unknown item 'x50': the instrument v3 has no such item" "the 50th is line 51"
expect_err_line "... and 10 more" "the rest are counted"
expect_err_line "sjtalign validate: 60 defects in $TMP/sixty.csv" "all 60 counted"

# audit --human: a human score of 9 on the 0..3 scale is refused. Line 4 of
# the fixture (R000, sjt3) gets 9 in human_score (column 5).
awk -F, 'BEGIN { OFS = "," } NR == 4 { $5 = 9 } { print }' "$REPORT/before.csv" >"$TMP/human9.csv"
run_cmd audit --data "$TMP/human9.csv" --instrument "$REPORT/instrument.json" --group group \
    --reference ref --focal foc --human human_score --out "$TMP/audit9"
expect_exit 2 "audit --human with a score outside the range"
expect_err_contains "$TMP/human9.csv:4:5: score 9 is outside the instrument's range 0..3 (column 'human_score')" \
    "audit names the line, column, value and range"
expect_no_file "$TMP/audit9" "no report written"
run_cmd validate --data "$TMP/human9.csv" --instrument "$REPORT/instrument.json" --human human_score
expect_exit 2 "validate --human finds the same defect"
expect_err_line "$TMP/human9.csv:4:5: score 9 is outside the instrument's range 0..3 (column 'human_score')" \
    "validate and audit say the same"

# sft reads the same column and refuses it the same way.
run_cmd sft --instrument "$DEMO/instrument.json" --data "$TMP/sim9.csv" --out "$TMP/sft9" --steps 1
expect_exit 2 "sft with a human score outside the range"
expect_err_contains "$TMP/sim9.csv:3:5: score 9 is outside the instrument's range 0..3" "sft names the line and column"
expect_no_file "$TMP/sft9" "no model written"

