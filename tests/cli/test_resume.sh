#!/usr/bin/env bash
# Stopping and resuming the training stages sft, reward, ppo and dpo: a run
# stopped with --stop-after and continued with --resume ends with the same
# weights (byte for byte) as an uninterrupted one; Ctrl-C (SIGINT) mid-run
# exits 130 with a checkpoint that loads; `run` reports an interrupted stage
# and continues it with --resume; --resume refuses other options.
. "$(dirname "$0")/lib.sh"

make_tiny_chain_data
T=(--threads 1 --quiet)

# A small SFT model, pairs judged against the truth: the inputs of the stages.
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/base" --steps 4 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280 --pretrain-steps 2 "${T[@]}"
expect_exit 0 "setup: sft model"
run_cmd pairs --model "$TMP/base" --instrument "$INS" --data "$TMP/responses.csv" --n 40 \
    --out "$TMP/pairs.csv" --seed 3 "${T[@]}"
run_cmd judge --truth "$TMP/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" --seed 1
expect_exit 0 "setup: judged pairs"
run_cmd reward --init "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm" \
    --steps 3 --batch 4 "${T[@]}"
expect_exit 0 "setup: reward model"

# The arguments of each stage, up to --out.
stage_args() {
    case $1 in
    sft) echo sft --init "$TMP/base" --instrument "$INS" --data "$TMP/responses.csv" --batch 4 --eval-every 3 ;;
    reward) echo reward --init "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --batch 4 --eval-every 3 ;;
    ppo) echo ppo --policy "$TMP/base" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv" \
        --truth "$TMP/truth.csv" --batch 8 --minibatch 4 --kl-target 0.1 ;;
    dpo) echo dpo --policy "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --batch 4 --eval-every 3 ;;
    esac
}

# The log without its timings (they differ from run to run).
log_without_timings() {
    sed -e 's/"tokens_per_s":[^,}]*,\{0,1\}//' -e 's/"time_s":[^,}]*,\{0,1\}//' "$1"
}

# ---- --stop-after, then --resume: the same bytes as one run ---------------
for stage in sft reward ppo dpo; do
    steps=7
    stop=3
    [ "$stage" = ppo ] && steps=4 && stop=2
    read -r -a args <<<"$(stage_args $stage)"
    run_cmd "${args[@]}" --out "$TMP/$stage-whole" --steps $steps "${T[@]}"
    expect_exit 0 "$stage: uninterrupted run"
    run_cmd "${args[@]}" --out "$TMP/$stage-parts" --steps $steps --stop-after $stop "${T[@]}"
    expect_exit 0 "$stage: --stop-after $stop"
    expect_err_contains "stopped (--stop-after) after step $stop of $steps; the model trained so far is saved in $TMP/$stage-parts" \
        "$stage: the message names the step and the checkpoint"
    expect_err_contains "run the same command again with --resume" "$stage: the message says how to continue"
    # step lines 1..stop (ppo's log also opens with its step-0 evaluation)
    lines=$(grep -vc '^{"step":0,' "$TMP/$stage-parts/train_log.jsonl")
    if [ "$lines" -eq $stop ]; then pass "$stage: checkpoint log has $stop lines"; else fail "$stage: checkpoint log has $lines lines, expected $stop"; fi
    run_cmd score --allow-any-model --model "$TMP/$stage-parts" --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/s.csv" "${T[@]}"
    expect_exit 0 "$stage: the checkpoint loads for scoring"
    run_cmd "${args[@]}" --out "$TMP/$stage-parts" --steps $((steps + 1)) --resume "${T[@]}"
    expect_exit 2 "$stage: --resume with another --steps"
    expect_err_contains "used steps $steps, this command $((steps + 1))" "$stage: names the option that differs"
    run_cmd "${args[@]}" --out "$TMP/$stage-parts" --steps $steps --resume "${T[@]}"
    expect_exit 0 "$stage: --resume"
    if cmp -s "$TMP/$stage-whole/model.safetensors" "$TMP/$stage-parts/model.safetensors"; then
        pass "$stage: stopped + resumed weights are bit-identical to the uninterrupted run"
    else fail "$stage: stopped + resumed weights differ from the uninterrupted run"; fi
    if diff <(log_without_timings "$TMP/$stage-whole/train_log.jsonl") \
        <(log_without_timings "$TMP/$stage-parts/train_log.jsonl") >/dev/null; then
        pass "$stage: the resumed log equals the uninterrupted one (timings aside)"
    else fail "$stage: resumed log differs" "$(diff <(log_without_timings "$TMP/$stage-whole/train_log.jsonl") <(log_without_timings "$TMP/$stage-parts/train_log.jsonl") | head -5)"; fi
    if grep -q '"resume"' "$TMP/$stage-parts/config.json"; then
        fail "$stage: the finished model still carries resume state"
    else pass "$stage: the finished model carries no resume state"; fi
    run_cmd "${args[@]}" --out "$TMP/$stage-parts" --steps $steps --resume "${T[@]}"
    expect_exit 2 "$stage: --resume of a finished model"
    expect_err_contains "holds a finished model, not an interrupted run" "$stage: says there is nothing to continue"
done

# An interrupted reward model is not a reward model yet.
run_cmd reward --init "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm-half" \
    --steps 5 --stop-after 2 "${T[@]}"
run_cmd ppo --policy "$TMP/base" --reward "$TMP/rm-half" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/ppo-x" --steps 1 "${T[@]}"
expect_exit 2 "ppo refuses an interrupted reward model"
expect_err_contains "interrupted after step 2 of 5; finish it with the same \`sjtalign reward\` command and --resume" \
    "says how to finish it"
# Another instrument (the questions are in every prompt).
sed 's/What now?/What next?/' "$INS" >"$TMP/instrument2.json"
run_cmd reward --init "$TMP/base" --instrument "$TMP/instrument2.json" --pairs "$TMP/judged.csv" \
    --out "$TMP/rm-half" --steps 5 --resume "${T[@]}"
expect_exit 2 "reward --resume with another instrument"
expect_err_contains "used another instrument file than $TMP/instrument2.json" "names the instrument"
# A checkpoint of another stage.
run_cmd dpo --policy "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm-half" \
    --steps 5 --resume "${T[@]}"
expect_exit 2 "dpo --resume on a reward checkpoint"
expect_err_contains "holds an interrupted \`reward\` run, not \`dpo\`" "names both stages"
# --resume with nothing to resume starts afresh.
run_cmd dpo --policy "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/dpo-new" \
    --steps 7 --eval-every 3 --batch 4 --resume "${T[@]}"
expect_exit 0 "--resume without a checkpoint starts afresh"
cmp -s "$TMP/dpo-new/model.safetensors" "$TMP/dpo-whole/model.safetensors" &&
    pass "... and gives the uninterrupted result" || fail "--resume without a checkpoint: other weights"

# ---- Ctrl-C mid-run -------------------------------------------------------
# 0 when a process of process group $1 running `sjtalign $2` catches SIGINT
# (the stages install their handler just before training).
group_catches_sigint() {
    local f line rest fields key value args
    for f in /proc/[0-9]*/stat; do
        # builtins only: this runs every 50 ms
        read -r line <"$f" 2>/dev/null || continue
        rest=${line##*) }
        read -r -a fields <<<"$rest"
        [ "${fields[2]:-}" = "$1" ] || continue
        mapfile -d '' -t args <"${f%/stat}/cmdline" 2>/dev/null
        [ "${args[1]:-}" = "$2" ] || continue
        while read -r key value; do
            [ "$key" = "SigCgt:" ] && [ $((0x$value & 2)) -ne 0 ] && return 0
        done <"${f%/stat}/status" 2>/dev/null
    done
    return 1
}

# interrupt_run COMMAND ARGS...: starts sjtalign ARGS in the background as
# its own process group (job control on, so SIGINT is not ignored), waits
# until a process of it running `sjtalign COMMAND` catches SIGINT, lets it
# train a moment, sends SIGINT to the group as a terminal's Ctrl-C does, and
# waits. Sets RC, OUT, ERR.
interrupt_run() {
    local want=$1
    shift
    set -m
    "$SJTALIGN" "$@" >"$TMP/.int.out" 2>"$TMP/.int.err" &
    local pid=$! i
    set +m
    (sleep 90 && kill -KILL -- -$pid) 2>/dev/null &
    local watchdog=$!
    for i in $(seq 1 1200); do
        group_catches_sigint $pid "$want" && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.05
    done
    sleep 0.5
    kill -"${SIGNAL:-INT}" -- -$pid 2>/dev/null
    wait $pid
    RC=$?
    kill $watchdog 2>/dev/null
    wait $watchdog 2>/dev/null
    OUT=$(cat "$TMP/.int.out")
    ERR=$(cat "$TMP/.int.err")
}

saved_step() {
    python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["resume"]["step"]))' "$1/config.json" 2>/dev/null
}

for stage in sft reward ppo dpo; do
    read -r -a args <<<"$(stage_args $stage)"
    interrupt_run $stage "${args[@]}" --out "$TMP/$stage-int" --steps 100000 "${T[@]}"
    expect_exit 130 "$stage: Ctrl-C mid-run"
    expect_err_contains "sjtalign $stage: interrupted (Ctrl-C) after step" "$stage: Ctrl-C message names the step"
    at=$(saved_step "$TMP/$stage-int")
    if [ -n "$at" ] && [ "$at" -ge 1 ] && [ "$at" -lt 100000 ]; then
        pass "$stage: Ctrl-C saved a checkpoint (step $at)"
    else fail "$stage: Ctrl-C saved a checkpoint" "step: '$at'" "$ERR"; fi
    expect_err_contains "after step $at of 100000" "$stage: the message gives the saved step"
    run_cmd score --allow-any-model --model "$TMP/$stage-int" --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/s.csv" "${T[@]}"
    expect_exit 0 "$stage: the Ctrl-C checkpoint loads for scoring"
done
# SIGTERM (a scheduler's or `kill`'s default) stops the same way.
read -r -a args <<<"$(stage_args dpo)"
SIGNAL=TERM interrupt_run dpo "${args[@]}" --out "$TMP/dpo-term" --steps 100000 "${T[@]}"
expect_exit 143 "dpo: SIGTERM mid-run (128 + 15)"
expect_err_contains "sjtalign dpo: stopped by SIGTERM after step" "dpo: SIGTERM message"
at=$(saved_step "$TMP/dpo-term")
[ -n "$at" ] && [ "$at" -ge 1 ] && pass "dpo: SIGTERM saved a checkpoint (step $at)" || fail "dpo: SIGTERM saved a checkpoint"
expect_no_temporaries "$TMP" "no temporary folders left after the signals"

# ---- `run`: an interrupted training stage, then continued ----------------
mkdir -p "$TMP/study"
cat >"$TMP/study/pipeline.json" <<'JSON'
{
  "name": "interrupted", "seed": 11,
  "instrument": "data/instrument.json", "data": "data/responses.csv", "truth": "data/truth.csv",
  "columns": {"person": "person_id", "item": "item_id", "text": "response",
              "group": "group", "human": "human_score"},
  "reference": "reference", "focal": "focal", "runs": "runs", "reports": "reports",
  "stages": {
    "simulate": {"persons": 40, "items": 2},
    "pretrain": {"steps": 2, "layers": 1, "heads": 2, "embd": 16, "ctx": 64, "vocab": 280, "batch": 4},
    "sft": {"steps": 100000, "batch": 4}
  }
}
JSON
cd "$TMP/study" || exit 1
interrupt_run sft run pipeline.json
expect_exit 130 "run: Ctrl-C during the sft stage"
expect_err_contains "stage sft was interrupted" "run: names the interrupted stage"
expect_err_contains "its training continues from the checkpoint it saved" "run: says the training continues"
first=$(saved_step runs/sft)
interrupt_run sft run pipeline.json
expect_exit 130 "run again, Ctrl-C again"
expect_out_contains "sft: continuing the interrupted run (--resume)" "run: the second run resumes sft"
second=$(saved_step runs/sft)
if [ -n "$first" ] && [ -n "$second" ] && [ "$second" -gt "$first" ]; then
    pass "run: the resumed sft went on from step $first to $second"
else fail "run: resumed sft" "first '$first', second '$second'"; fi
# Other settings cannot continue that checkpoint: the stage fails and says
# how to start it afresh.
sed -i 's/"steps": 100000/"steps": 99999/' pipeline.json
run_cmd run pipeline.json
expect_exit 2 "run with other sft settings than the interrupted run"
expect_err_contains "used steps 100000, this command 99999" "run: the stage names the setting that differs"
expect_err_contains "remove its --out folder to train that stage afresh" "run: says how to start afresh"
