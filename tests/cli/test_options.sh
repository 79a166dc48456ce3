#!/usr/bin/env bash
# The option tables of the training and scoring commands: misspelt options,
# values out of range or not numbers, outputs that would replace an input
# (exit 2 before any work, the input untouched), options a command does not
# read, --quiet for pretrain, and --help generated from the table.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# expect_err_exact TEXT DESCRIPTION: standard error of the last run is
# exactly TEXT; usage COMMAND MESSAGE is a usage error as printed.
expect_err_exact() {
    if [ "$ERR" = "$1" ]; then pass "$2"; else fail "$2" "expected: $1" "got:      $ERR"; fi
}
usage() { printf '%s\nTry '\''sjtalign %s --help'\''.' "$2" "$1"; }

run_cmd sft --step 3
expect_exit 2 "sft --step"
expect_err_exact "$(usage sft "sjtalign sft: unknown option '--step'; did you mean '--steps'?")" \
    "a shortened option gets 'did you mean'"

run_cmd pretrain --layers 0
expect_exit 2 "pretrain --layers 0"
expect_err_exact "$(usage pretrain "sjtalign pretrain: --layers must be between 1 and 256, got '0'")" \
    "a value out of range names the range"

run_cmd ppo --steps 3x
expect_exit 2 "ppo --steps 3x"
expect_err_exact "$(usage ppo "sjtalign ppo: --steps expected a whole number from 1 to 10000000, got '3x'")" \
    "a value that is not a number says what was expected"

run_cmd score --max-input-mb 0
expect_exit 2 "score --max-input-mb 0"
expect_err_exact "$(usage score "sjtalign score: --max-input-mb must be between 1 and 1048576, got '0'")" \
    "score takes --max-input-mb with its range"

# Outputs that are inputs: refused before anything is read or written.
printf 'person_id,item_id,response\nP1,A,yes\n' >d.csv
cp d.csv d.orig
run_cmd score --model m --instrument i.json --data d.csv --out d.csv
expect_exit 2 "score --out equal to --data"
expect_err_exact "$(usage score "sjtalign score: --out d.csv is also the input --data d.csv; sjtalign never writes over its own input")" \
    "score names both options"
if cmp -s d.csv d.orig; then pass "score: the data is untouched"; else fail "score changed its input"; fi

run_cmd score --model m --instrument s.csv.json --data d.csv --out s.csv
expect_exit 2 "score's provenance file equal to --instrument"
expect_err_exact "$(usage score "sjtalign score: --out s.csv also writes its provenance to s.csv.json, which is the input --instrument s.csv.json; sjtalign never writes over its own input")" \
    "score checks FILE.json too"

mkdir m
cp d.csv m/resp.csv
run_cmd pretrain --data m/resp.csv --out m --steps 2
expect_exit 2 "pretrain --out is the folder holding --data"
expect_err_exact "$(usage pretrain "sjtalign pretrain: --out m would replace the folder that holds the input --data m/resp.csv; choose another --out")" \
    "pretrain names the folder and the input"
if cmp -s m/resp.csv d.orig && [ "$(ls -A m)" = resp.csv ]; then pass "pretrain: the folder is as it was"; else fail "pretrain changed the folder" "$(ls -A m)"; fi

run_cmd sft --init m --instrument i.json --data d.csv --out m
expect_exit 2 "sft --out equal to --init"
expect_err_exact "$(usage sft "sjtalign sft: --out m is also the input --init m; sjtalign never writes over its own input")" \
    "sft names --init"

mkdir -p s-pretrain
cp d.csv s-pretrain/d.csv
run_cmd sft --instrument i.json --data s-pretrain/d.csv --out s
expect_exit 2 "sft without --init would pre-train into the folder holding --data"
expect_err_exact "$(usage sft "sjtalign sft: without --init, --out s also writes s-pretrain, the folder that holds the input --data s-pretrain/d.csv; choose another --out")" \
    "sft checks MODEL-pretrain/ too"

run_cmd ppo --policy p --reward r --instrument i.json --data d.csv --out p
expect_exit 2 "ppo --out equal to --policy"
expect_err_exact "$(usage ppo "sjtalign ppo: --out p is also the input --policy p; sjtalign never writes over its own input")" \
    "ppo names --policy"

# reward and dpo read the pairs format's fixed columns: no column options.
run_cmd reward --init m --instrument i.json --pairs p.csv --out r --person person_id
expect_exit 2 "reward --person"
expect_err_exact "$(usage reward "sjtalign reward: unknown option '--person'")" "reward has no --person"
run_cmd dpo --policy m --instrument i.json --pairs p.csv --out r --group group
expect_exit 2 "dpo --group"
expect_err_exact "$(usage dpo "sjtalign dpo: unknown option '--group'")" "dpo has no --group"

# pretrain --quiet: no progress line, only the closing one.
{
    echo "response"
    for k in 1 2 3 4 5 6; do echo "answer number $k is a fair one"; done
} >docs.csv
tiny=(--layers 1 --heads 2 --embd 16 --ctx 16 --vocab 270 --steps 3 --batch 2 --threads 1)
env -u SJTALIGN_QUIET "$SJTALIGN" pretrain --data docs.csv --out loud "${tiny[@]}" 2>loud.err
env -u SJTALIGN_QUIET "$SJTALIGN" pretrain --data docs.csv --out quiet "${tiny[@]}" --quiet 2>quiet.err
RC=$?
expect_exit 0 "pretrain --quiet"
if grep -q '^pretrain: 3/3 (100%)' loud.err; then pass "without --quiet: a progress line"; else fail "no progress line" "$(cat loud.err)"; fi
if [ "$(wc -l <quiet.err)" -eq 1 ] && grep -q '^pretrain: wrote quiet (validation loss ' quiet.err; then
    pass "with --quiet: only the closing line"
else
    fail "pretrain --quiet printed more" "$(cat quiet.err)"
fi
if cmp -s loud/model.safetensors quiet/model.safetensors; then pass "--quiet changes nothing else"; else fail "--quiet changed the weights"; fi

# --help comes from the table: its defaults, no printf escapes, examples.
run_cmd sft --help
expect_exit 0 "sft --help"
case "$OUT" in *%%*) fail "sft --help shows '%%'" ;; *) pass "sft --help has no '%%'" ;; esac
expect_out_contains "  --lr X              peak learning rate (linear warm-up, then cosine decay) (default 0.002)" \
    "sft --help shows the table's learning rate"
expect_out_contains "  --layers N          without --init: transformer blocks (default 2)" \
    "sft --help shows the model defaults"
expect_out_contains "Examples:
  sjtalign sft --init runs/demo/pretrain" "sft --help ends with examples"
for c in pretrain sft score pairs reward ppo dpo bench; do
    run_cmd "$c" --help
    case "$OUT" in *"Examples:
  sjtalign $c"*) pass "$c --help has examples" ;; *) fail "$c --help lacks examples" ;; esac
done
