# `sjtalign run` checks the whole pipeline before the first stage starts:
# every stage setting against its command's option table (name, JSON type,
# range), every stage output against the pipeline's inputs and the other
# stages' outputs, simulate's folder, and the runs and reports folders. Each
# refusal is exit 2 with the pipeline file's line:col and key path, from
# `run` and `run --dry-run` alike, and nothing runs or is written.
. "$(dirname "$0")/lib.sh"

# The pipeline every case edits. Its lines and columns are what the
# expected messages name: line 5 "data", 10 "runs", 11 "reports", 13-17 the
# stages, each stage key at column 5 and its first setting at column 13
# ("sft") or 15 ("audit").
write_pipeline() { # FILE
    cat >"$1" <<'JSON'
{
  "name": "checks",
  "seed": 3,
  "instrument": "data/instrument.json",
  "data": "data/responses.csv",
  "truth": "data/truth.csv",
  "columns": {"human": "human_score"},
  "reference": "reference",
  "focal": "focal",
  "runs": "runs",
  "reports": "reports",
  "stages": {
    "simulate": {"persons": 60, "items": 3},
    "pretrain": {"steps": 2, "layers": 1, "heads": 2, "embd": 32, "ctx": 128, "vocab": 300},
    "sft": {"steps": 2, "batch": 4},
    "score": {},
    "audit": {}
  }
}
JSON
}

# A fresh study folder holding p.json edited by the sed script; the
# working folder becomes the study.
study() { # NAME SED-SCRIPT
    mkdir -p "$TMP/$1"
    cd "$TMP/$1" || exit 1
    write_pipeline base.json
    sed "$2" base.json >p.json
    rm base.json
}

expect_err_is() { # TEXT DESCRIPTION
    if [ "$ERR" = "$1" ]; then pass "$2"; else fail "$2" "expected: $1" "got:      $ERR"; fi
}

# Nothing ran: no stage output, no stamp, no data set.
expect_nothing_written() { # DESCRIPTION
    local left
    left=$(ls -A | grep -v -x -e p.json -e "${KEEP:-p.json}")
    if [ -z "$left" ]; then pass "$1: nothing written"; else fail "$1: nothing written" "$left"; fi
}

# Both `run` and `run --dry-run` refuse with exactly MESSAGE.
refused() { # DESCRIPTION MESSAGE
    run_cmd run p.json
    expect_exit 2 "$1"
    expect_err_is "sjtalign run: error: $2" "$1: message"
    expect_nothing_written "$1"
    run_cmd run --dry-run p.json
    expect_exit 2 "$1 (--dry-run)"
    expect_err_is "sjtalign run: error: $2" "$1 (--dry-run): message"
    case "$OUT" in
        *"[1/"*) fail "$1 (--dry-run): no plan printed" "$OUT" ;;
        *) pass "$1 (--dry-run): no plan printed" ;;
    esac
}

# ---- settings: type, range, name ------------------------------------------------

study purify 's/"audit": {}/"audit": {"purify": "yes"}/'
refused "a switch given a string" \
    'p.json:17:15: stages.audit.purify: --purify is a switch: expected true or false, got the string "yes"'

study steps_text 's/"sft": {"steps": 2/"sft": {"steps": "3 --out x"/'
refused "a number given as text with an option in it" \
    'p.json:15:13: stages.sft.steps: --steps expects a number, got the string "3 --out x"'

study steps_negative 's/"sft": {"steps": 2/"sft": {"steps": -1/'
refused "steps -1" 'p.json:15:13: stages.sft.steps: --steps must be between 1 and 10000000, got '"'"'-1'"'"

study steps_fraction 's/"sft": {"steps": 2/"sft": {"steps": 2.5/'
refused "steps 2.5" \
    'p.json:15:13: stages.sft.steps: --steps expected a whole number from 1 to 10000000, got '"'"'2.5'"'"

study misspelt 's/"sft": {"steps": 2/"sft": {"stpes": 2/'
refused "a misspelt setting" \
    'p.json:15:13: stages.sft.stpes: the sft command has no option --stpes (see sjtalign sft --help); did you mean "steps" (--steps)?'

study resume 's/"sft": {"steps": 2/"sft": {"resume": true/'
refused "resume as a setting" \
    'p.json:15:13: stages.sft.resume: --resume is for the command line only, not a pipeline setting (run continues an interrupted stage by itself)'

study out_setting 's/"score": {}/"score": {"out": "mine.csv"}/'
refused "an output as a setting" \
    'p.json:16:15: stages.score.out: --out names an output; the pipeline places every output itself (under runs and reports)'

# ---- the held-out share ------------------------------------------------------------

study heldout_one 's/"seed": 3,/"seed": 3, "heldout": 1,/'
refused "heldout 1" \
    'p.json:3:14: heldout: expected the share of persons held out for evaluation, a number from 0 (no split) up to but not including 1, got the number 1'
study heldout_text 's/"seed": 3,/"seed": 3, "heldout": "0.3",/'
refused "heldout as text" \
    'p.json:3:14: heldout: expected the share of persons held out for evaluation, a number from 0 (no split) up to but not including 1, got the string "0.3"'
study heldout_negative 's/"seed": 3,/"seed": 3, "heldout": -0.1,/'
refused "heldout below 0" \
    'p.json:3:14: heldout: expected the share of persons held out for evaluation, a number from 0 (no split) up to but not including 1, got the number -0.1'

# ---- runs and reports ------------------------------------------------------------

study reports_file 's/"reports": "reports"/"reports": "notes.txt"/'
echo "my notes" >notes.txt
KEEP=notes.txt refused "reports is a file" 'p.json:11:3: reports: notes.txt is a file, not a folder'
if [ "$(cat notes.txt)" = "my notes" ]; then pass "reports file: intact"; else fail "reports file: intact"; fi

study reports_proc 's|"reports": "reports"|"reports": "/proc/sjtalign-reports"|'
refused "reports under /proc" \
    'p.json:11:3: reports: /proc/sjtalign-reports lies under /proc, which holds no files of yours'

study runs_blocked 's|"runs": "runs"|"runs": "blocker/runs"|'
echo "a file" >blocker
KEEP=blocker refused "runs below a file" \
    'p.json:10:3: runs: blocker/runs cannot be created: blocker is a file, not a folder'

# ---- outputs against inputs and against each other ---------------------------

# Without a simulate stage, data that a stage writes.
study data_is_output '/"simulate":/d; s|"data": "data/responses.csv"|"data": "runs/scores/sft.csv"|'
refused "data is the score stage's output" \
    'p.json:5:3: data: runs/scores/sft.csv is also written by the score-sft stage (placed by "runs" at 10:3); a pipeline never writes over its own input'

study data_is_split '/"simulate":/d; s|"data": "data/responses.csv"|"data": "runs/split/heldout.csv"|'
refused "data is the split stage's output" \
    'p.json:5:3: data: runs/split/heldout.csv is also written by the split stage (placed by "runs" at 10:3); a pipeline never writes over its own input'

study data_in_report '/"simulate":/d; s|"data": "data/responses.csv"|"data": "reports/before/scores.csv"|'
refused "data inside an audit folder" \
    'p.json:5:3: data: reports/before/scores.csv lies in reports/before, which the audit-before stage replaces (placed by "reports" at 11:3); a pipeline never writes over its own input'

# With a simulate stage, the data set's folder is also an audit's folder.
study two_writers 's|"data/|"reports/before/|g'
refused "two stages write one folder" \
    'p.json:5:3: data: reports/before is written by both the simulate stage and the audit-before stage (placed by "reports" at 11:3); every stage needs a place of its own'

study other_instrument 's|"instrument": "data/instrument.json"|"instrument": "mine/instrument.json"|'
refused "simulate with an instrument of its own" \
    'p.json:4:3: instrument: with a simulate stage, instrument is the file simulate writes into the folder of data: data/instrument.json, not mine/instrument.json'

# The demo's simulate stage kept with a user's own responses: refused
# before anything runs, the file intact.
study own_responses 's|"data/|"mine/|g'
mkdir mine
printf 'person_id,item_id,response\nP1,S01,my own answer\n' >mine/responses.csv
cp mine/responses.csv "$TMP/own_copy.csv"
for dry in "" --dry-run; do
    run_cmd run $dry p.json
    expect_exit 2 "simulate over the user's own responses $dry"
    expect_err_contains "sjtalign run: error: p.json:5:3: data: the simulate stage writes the data set into mine and cannot replace that folder: mine/responses.csv was not written by sjtalign" \
        "simulate over the user's own responses $dry: message names the file"
    if cmp -s mine/responses.csv "$TMP/own_copy.csv" && [ "$(ls -A mine)" = responses.csv ]; then
        pass "simulate over the user's own responses $dry: the file is intact, nothing added"
    else
        fail "simulate over the user's own responses $dry: the file is intact" "$(ls -A mine)"
    fi
    KEEP=mine expect_nothing_written "simulate over the user's own responses $dry"
done

# ---- a path setting is resolved against the pipeline and is an input --------

mkdir -p "$TMP/corpus/study"
cd "$TMP/corpus" || exit 1
write_pipeline study/base.json
sed 's|"pretrain": {"steps": 2|"pretrain": {"corpus": "none.txt", "steps": 2|' study/base.json >study/missing.json
run_cmd run --dry-run study/missing.json
expect_exit 2 "a path setting that does not exist"
expect_err_is "sjtalign run: error: study/missing.json:14:18: stages.pretrain.corpus: study/none.txt does not exist" \
    "a path setting that does not exist: message"
sed 's|"pretrain": {"steps": 2|"pretrain": {"corpus": "corpus.txt", "steps": 2|' study/base.json >study/p.json
printf 'the first corpus\n' >study/corpus.txt
run_cmd run --dry-run study/p.json
expect_exit 0 "corpus setting: dry run"
expect_out_contains "sjtalign pretrain --data study/runs/split/train.csv --text response --out study/runs/pretrain --seed 3 --corpus study/corpus.txt --steps 2" \
    "corpus setting: resolved against the pipeline's folder"
run_cmd run study/p.json
expect_exit 0 "corpus setting: first run"
run_cmd run --dry-run study/p.json
case "$OUT" in
    *"[3/6] pretrain: training the tokenizer and the base model (up to date)"*) pass "corpus setting: pretrain up to date after the run" ;;
    *) fail "corpus setting: pretrain up to date after the run" "$OUT" ;;
esac
if python3 -c '
import json, sys
s = json.load(open("study/runs/stamps/pretrain.json"))
assert "--corpus" in s["command"] and "study/corpus.txt" in s["command"], s["command"]
' 2>"$TMP/err"; then pass "corpus setting: the stamp records it"; else fail "corpus setting: the stamp records it" "$(cat "$TMP/err")"; fi
printf 'a changed corpus\n' >study/corpus.txt
run_cmd run --dry-run study/p.json
expect_exit 0 "corpus changed: dry run"
case "$OUT" in
    *"[1/6] simulate: simulating the data set (up to date)"*"[2/6] split: holding out persons for evaluation (up to date)"*"[3/6] pretrain: training the tokenizer and the base model (would run)"*)
        pass "corpus changed: pretrain would run again, simulate and split would not" ;;
    *) fail "corpus changed: pretrain would run again, simulate and split would not" "$OUT" ;;
esac
run_cmd run study/p.json
expect_exit 0 "corpus changed: run"
if grep -q '\] simulate: up to date, skipped' "$TMP/.stdout" && grep -q '\] pretrain: done in' "$TMP/.stdout"; then
    pass "corpus changed: pretrain ran again"
else
    fail "corpus changed: pretrain ran again" "$OUT"
fi
