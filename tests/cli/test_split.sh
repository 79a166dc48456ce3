#!/usr/bin/env bash
# sjtalign split: the two CSV files (every column, rows in input order,
# neutralised text read back as written), split.json, a summary line,
# determinism, exit 2 with file:line:col on bad input and nothing written,
# no overwriting of its input; audit --split: the "evaluation" object, the
# sentence on the page and the refusal of a training person's scores.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"

run_cmd split --help
expect_exit 0 "--help"
expect_out_contains "--heldout-out FILE" "help names the options"
expect_out_contains "at least 1 and at most n - 1" "help says how many persons a group holds out"

# The tiny case of tests/unit/test_io_split.c with a third column of text:
# seed 7, fraction 0.4 hold out P1 and P4 of group a and Q1 of group b
# (worked out by tests/fixtures/io/split_expected.py). One text cell is a
# formula, one has a comma and a line break.
cd "$TMP" || exit 1
cat >data.csv <<'CSV'
person_id,item_id,group,response
P3,i1,a,plain
Q2,i1,b,"=HYPERLINK(""x"")"
P1,i1,a,"one, two
three"
P5,i1,a,x
Q1,i1,b,y
P2,i1,a,z
P4,i1,a,-2
Q3,i1,b,w
P1,i2,a,again
Q1,i2,b,"=1+1"
CSV
cp data.csv data.orig
run_cmd split --data data.csv --train-out train.csv --heldout-out heldout.csv \
    --split-out split.json --fraction 0.4 --seed 7
expect_exit 0 "split of the tiny file"
expect_err_contains "split: 8 persons (10 rows) -> 5 train, 3 held out (5 rows) by group: a 2 of 5, b 1 of 3; seed 7 -> train.csv, heldout.csv, split.json" \
    "one summary line on stderr"
if python3 - <<'EOF' 2>"$TMP/err"
import csv, hashlib, json
def rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))
data = rows("data.csv")
train, held = rows("train.csv"), rows("heldout.csv")
assert train[0] == held[0] == data[0], (train[0], held[0])
out = {"P1", "P4", "Q1"}
want_held = [r for r in data[1:] if r[0] in out]
want_train = [r for r in data[1:] if r[0] not in out]
# A formula cell is written with a leading quote (the number -2 is not).
def neutral(r):
    return [("'" + c) if c[:1] in "=+-@" and c != "-2" else c for c in r]
assert held[1:] == [neutral(r) for r in want_held], held
assert train[1:] == [neutral(r) for r in want_train], train
assert [r[0] for r in held[1:]] == ["P1", "Q1", "P4", "P1", "Q1"]
d = json.load(open("split.json"))
assert d["kind"] == "sjtalign-split" and d["schema_version"] == 1
assert d["fraction"] == 0.4 and d["seed"] == 7 and d["stratified_by"] == "group"
assert d["person_column"] == "person_id"
assert d["persons"] == {"total": 8, "train": 5, "heldout": 3}, d["persons"]
assert d["rows"] == {"total": 10, "train": 5, "heldout": 5}, d["rows"]
assert d["by_group"] == {"a": {"total": 5, "train": 3, "heldout": 2},
                         "b": {"total": 3, "train": 2, "heldout": 1}}, d["by_group"]
assert d["heldout_persons"] == ["P1", "P4", "Q1"]
assert d["train_persons"] == ["P2", "P3", "P5", "Q2", "Q3"]
for key, path in (("train", "train.csv"), ("heldout", "heldout.csv"), ("data", "data.csv")):
    assert d[key]["path"] == path, d[key]
    assert d[key]["sha256"] == hashlib.sha256(open(path, "rb").read()).hexdigest(), key
EOF
then
    pass "both sides in input order, neutralised, and split.json with counts, lists and checksums"
else
    fail "both sides in input order, neutralised, and split.json with counts, lists and checksums" "$(cat "$TMP/err")"
fi
# The neutralised cells read back as the original text: split the held-out
# file again and its rows come out written exactly as before (one quote,
# not two).
run_cmd split --data heldout.csv --train-out t2.csv --heldout-out h2.csv --split-out s2.json \
    --fraction 0.5 --seed 7
expect_exit 0 "the written file splits again"
if python3 -c "
import csv
rows = lambda p: list(csv.reader(open(p, newline='')))
h, t2, h2 = rows('heldout.csv'), rows('t2.csv'), rows('h2.csv')
assert sorted(t2[1:] + h2[1:]) == sorted(h[1:]), (t2, h2)
assert any(r[3] == \"'=1+1\" for r in h[1:])
" 2>"$TMP/err"; then
    pass "neutralised cells read back as written and are written the same again"
else
    fail "neutralised cells read back as written and are written the same again" "$(cat "$TMP/err")"
fi
if cmp -s data.csv data.orig; then pass "the input is unchanged"; else fail "the input is unchanged"; fi

# Determinism: the same seed gives byte-identical files; another seed
# (8: P3 and P5 of a, Q1 of b) another split.
mkdir again
run_cmd split --data data.csv --train-out again/train.csv --heldout-out again/heldout.csv \
    --split-out again/split.json --fraction 0.4 --seed 7
if cmp -s train.csv again/train.csv && cmp -s heldout.csv again/heldout.csv; then
    pass "same seed, same files"
else
    fail "same seed, same files"
fi
run_cmd split --data data.csv --train-out again/train.csv --heldout-out again/heldout.csv \
    --split-out again/split.json --fraction 0.4 --seed 8
if python3 -c "import json; d = json.load(open('again/split.json')); assert d['heldout_persons'] == ['P3', 'P5', 'Q1'], d['heldout_persons']" 2>"$TMP/err"; then
    pass "seed 8 holds out P3, P5 and Q1"
else
    fail "seed 8 holds out P3, P5 and Q1" "$(cat "$TMP/err")"
fi

# ---- refusals: exit 2, nothing written ---------------------------------------

refused() { # DESCRIPTION MESSAGE ARGS...
    local what=$1 message=$2
    shift 2
    rm -rf out && mkdir out
    run_cmd split "$@"
    expect_exit 2 "$what"
    expect_err_contains "$message" "$what: message"
    if [ -z "$(ls -A out)" ]; then pass "$what: nothing written"; else fail "$what: nothing written" "$(ls -A out)"; fi
}
OUTS=(--train-out out/t.csv --heldout-out out/h.csv --split-out out/s.json)
printf 'person_id,item_id,group\nP1,i1,a\nP2,i1,b\nP1,i2,b\n' >two_groups.csv
refused "a person in two groups" \
    "two_groups.csv:4:3: person 'P1' is in group 'b' here but in group 'a' on line 2; a person belongs to one group" \
    --data two_groups.csv "${OUTS[@]}"
printf 'person_id,item_id,group\nP1,i1,a\n,i1,b\n' >no_id.csv
refused "an empty person id" "no_id.csv:3:1: empty person id in column 'person_id'" --data no_id.csv "${OUTS[@]}"
printf 'person_id,item_id,site\nP1,i1,a\n' >no_group.csv
refused "no group column" "no_group.csv:1: missing column 'group' (the header has 'person_id', 'item_id', 'site')" --data no_group.csv "${OUTS[@]}"
printf 'person_id,item_id,group\nP1,i1,a\nP2,i1\n' >ragged.csv
refused "a ragged row" "ragged.csv:3:" --data ragged.csv "${OUTS[@]}"
refused "fraction 0" "--fraction must lie strictly between 0 and 1, got 0" --data data.csv "${OUTS[@]}" --fraction 0
refused "fraction 1" "--fraction must lie strictly between 0 and 1, got 1" --data data.csv "${OUTS[@]}" --fraction 1
refused "two outputs in one file" "--train-out and --heldout-out name the same file out/t.csv" \
    --data data.csv --train-out out/t.csv --heldout-out out/t.csv --split-out out/s.json
refused "the input as an output" \
    "--train-out data.csv is also the input --data data.csv; sjtalign never writes over its own input" \
    --data data.csv --train-out data.csv --heldout-out out/h.csv --split-out out/s.json
if cmp -s data.csv data.orig; then pass "the input is still unchanged"; else fail "the input is still unchanged"; fi

# ---- audit --split ------------------------------------------------------------

# The report fixture (240 persons, 120 per group, six items) split 30%:
# 36 of each group held out.
run_cmd split --data "$FIX/before.csv" --train-out fx_train.csv --heldout-out fx_heldout.csv \
    --split-out fx_split.json --seed 3
expect_exit 0 "split of the report fixture"
expect_err_contains "-> 168 train, 72 held out (432 rows) by group: foc 36 of 120, ref 36 of 120" \
    "30% of each group held out"
AUDIT=(--instrument "$FIX/instrument.json" --group group --reference ref --focal foc --human human_score)
run_cmd audit --data fx_heldout.csv "${AUDIT[@]}" --split fx_split.json --out held
expect_exit 0 "audit of the held-out scores with --split"
if python3 - <<'EOF' 2>"$TMP/err"
import hashlib, json
a = json.load(open("held/audit.json"))
e = a["evaluation"]
sha = hashlib.sha256(open("fx_split.json", "rb").read()).hexdigest()
assert e == {"sample": "held-out persons", "fraction": 0.3, "persons_heldout": 72,
             "persons_total": 240, "seed": 3, "split_sha256": sha,
             "split_file": "fx_split.json", "persons_audited": 72}, e
assert a["data"]["n_persons"] == 72
assert a["summary"][0] == "Evaluated on 72 held-out persons (30% of 240) whom no model trained on.", a["summary"]
roles = [i["role"] for i in a["provenance"]["inputs"]]
assert "split" in roles, roles
EOF
then
    pass "audit.json: the evaluation object, the summary line and the split among the inputs"
else
    fail "audit.json: the evaluation object, the summary line and the split among the inputs" "$(cat "$TMP/err")"
fi
if grep -q "<strong>Evaluated on 72 held-out persons (30% of 240) whom no model trained on.</strong>" held/index.html; then
    pass "the page says on which persons it was evaluated"
else
    fail "the page says on which persons it was evaluated"
fi
if python3 "$SJTALIGN_ROOT/tests/report/check_html.py" held/index.html >"$TMP/check" 2>&1; then
    pass "the page is well-formed"
else
    fail "the page is well-formed" "$(cat "$TMP/check")"
fi
run_cmd audit --data fx_heldout.csv "${AUDIT[@]}" --out nosplit
expect_exit 0 "audit without --split"
if python3 -c "
import json; a = json.load(open('nosplit/audit.json'))
assert a['evaluation'] == {'sample': 'all responses in the scores file'}, a['evaluation']
assert not a['summary'][0].startswith('Evaluated'), a['summary']
" 2>"$TMP/err" && grep -q "Evaluated on all responses in the scores file" nosplit/index.html; then
    pass "without --split: every response evaluated, said on the page"
else
    fail "without --split: every response evaluated, said on the page" "$(cat "$TMP/err")"
fi

# A scores file with training persons: the first row of one (in file order,
# found here from the split's train list) is named, exit 2, no report.
want=$(python3 - "$FIX/before.csv" <<'EOF'
import csv, json, sys
train = set(json.load(open("fx_split.json"))["train_persons"])
with open(sys.argv[1], newline="") as f:
    for line, r in enumerate(csv.DictReader(f), start=2):
        if r["person_id"] in train:
            print("before.csv:%d:1: person '%s' is a training person of the split fx_split.json" % (line, r["person_id"]))
            break
EOF
)
run_cmd audit --data "$FIX/before.csv" "${AUDIT[@]}" --split fx_split.json --out mixed
expect_exit 2 "audit of scores with training persons"
expect_err_contains "$want" "names the first training person, its line and column"
expect_no_file mixed "no report written"
printf 'person_id,group,item_id,human_score,score_mode\nZ9,ref,sjt1,1,1\nZ8,foc,sjt1,1,2\n' >stranger.csv
run_cmd audit --data stranger.csv "${AUDIT[@]}" --split fx_split.json --out stranger
expect_exit 2 "a person the split never saw"
expect_err_contains "stranger.csv:2:1: person 'Z9' is not a person of the split fx_split.json" "the stranger is named"

bad_split() { # DESCRIPTION PYTHON-EDIT MESSAGE
    python3 -c "
import json; d = json.load(open('fx_split.json'))
$2
json.dump(d, open('bad.json', 'w'))"
    run_cmd audit --data fx_heldout.csv "${AUDIT[@]}" --split bad.json --out badout
    expect_exit 2 "$1"
    expect_err_contains "$3" "$1: message"
    expect_no_file badout "$1: no report"
}
bad_split "a split file of another kind" "d['kind'] = 'sjtalign-audit'" \
    "bad.json: not a split file of \`sjtalign split\` (kind \"sjtalign-split\")"
bad_split "counts that do not add up" "d['persons']['train'] = 100" \
    "bad.json: persons: train (100) and heldout (72) must add up to total (240)"
bad_split "a fraction out of range" "d['fraction'] = 1.5" \
    "bad.json: fraction: expected a number strictly between 0 and 1"
bad_split "a person list shorter than its count" "d['heldout_persons'].pop()" \
    "bad.json: heldout_persons: expected an array of 72 person ids (the count in persons)"
bad_split "a person on both sides" "d['train_persons'][0] = d['heldout_persons'][0]" \
    "is both a training and a held-out person"
bad_split "a negative count" "d['persons']['heldout'] = -1" \
    "bad.json: persons.heldout: expected a whole number of 0 or more"
