# Helpers for CLI test scripts: TAP-like "ok"/"not ok" lines that
# tests/run_tests.sh counts. Each script sources this file.
set -u
: "${SJTALIGN:?run through make test}"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
N_CHECK=0

pass() { N_CHECK=$((N_CHECK + 1)); echo "ok $N_CHECK - $1"; }
fail() { N_CHECK=$((N_CHECK + 1)); echo "not ok $N_CHECK - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# run_cmd: runs sjtalign with the given arguments, capturing stdout, stderr and
# the exit code in OUT, ERR and RC.
run_cmd() {
    "$SJTALIGN" "$@" >"$TMP/.stdout" 2>"$TMP/.stderr"
    RC=$?
    OUT=$(cat "$TMP/.stdout")
    ERR=$(cat "$TMP/.stderr")
}

# expect_exit CODE DESCRIPTION
expect_exit() {
    if [ "$RC" -eq "$1" ]; then pass "$2 (exit $1)"; else fail "$2: expected exit $1, got $RC" "stderr: $ERR"; fi
}

# expect_err_contains TEXT DESCRIPTION
expect_err_contains() {
    case "$ERR" in
        *"$1"*) pass "$2" ;;
        *) fail "$2: stderr lacks '$1'" "stderr: $ERR" ;;
    esac
}

expect_out_contains() {
    case "$OUT" in
        *"$1"*) pass "$2" ;;
        *) fail "$2: stdout lacks '$1'" "stdout: $OUT" ;;
    esac
}

expect_no_file() {
    if [ -e "$1" ]; then fail "$2: $1 exists"; else pass "$2"; fi
}

# No temporary files left behind in a folder.
expect_no_temporaries() {
    local left
    left=$(find "$1" -name '.*.tmp.*' 2>/dev/null)
    if [ -z "$left" ]; then pass "$2"; else fail "$2: temporaries left" "$left"; fi
}

# The tiny chain's data: a two-item instrument ($TMP/instrument.json), 24
# persons (even ids "ref", odd "foc") whose score k follows the word in
# "I would <word> help." ($TMP/responses.csv, column human_score) and the
# same scores as the truth ($TMP/truth.csv). Sets INS.
make_tiny_chain_data() {
    INS="$TMP/instrument.json"
    cat >"$INS" <<'JSON'
{"id": "tiny", "title": "Tiny", "score_min": 0, "score_max": 3, "items": [
 {"id": "A", "scenario": "s", "question": "What now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "B", "scenario": "s", "question": "And then?", "rubric": [{"score": 3, "anchor": "talks"}]}]}
JSON
    local words=(never rarely often always) p it k
    {
        echo "person_id,group,item_id,response,human_score"
        for p in $(seq 1 24); do
            for it in A B; do
                k=$(((p + $([ "$it" = B ] && echo 1 || echo 0)) % 4))
                echo "P$p,$([ $((p % 2)) -eq 0 ] && echo ref || echo foc),$it,I would ${words[$k]} help.,$k"
            done
        done
    } >"$TMP/responses.csv"
    {
        echo "person_id,item_id,true_score"
        tail -n +2 "$TMP/responses.csv" | awk -F, '{print $1","$3","$5}'
    } >"$TMP/truth.csv"
}

# write_tiny_study_pipeline DIR: DIR/pipeline.json, a reduced pipeline
# (120 persons, 3 items, a few steps of each stage) for the study tests.
write_tiny_study_pipeline() {
    cat >"$1/pipeline.json" <<'JSON'
{
  "name": "tiny",
  "seed": 1,
  "columns": {"person": "person_id", "item": "item_id", "text": "response",
              "group": "group", "human": "human_score"},
  "reference": "reference",
  "focal": "focal",
  "stages": {
    "simulate": {"persons": 120, "items": 3, "bias": "S02:0.6"},
    "pretrain": {"steps": 4, "layers": 1, "heads": 2, "embd": 32, "ctx": 128, "vocab": 300,
                 "batch": 8},
    "sft": {"steps": 4, "batch": 8},
    "pairs": {"n": 24},
    "judge": {"panel_size": 3},
    "reward": {"steps": 3, "batch": 8},
    "ppo": {"steps": 2, "batch": 8, "eval_every": 1},
    "dpo": {"steps": 2, "batch": 8},
    "score": {},
    "audit": {"bootstrap": 0},
    "compare": {}
  }
}
JSON
}
