#!/usr/bin/env bash
# Crash safety: training killed with SIGKILL leaves a checkpoint that loads,
# and resuming it ends with the same weights as an uninterrupted run; SIGINT
# stops training with a checkpoint; a full or read-only output folder is an
# error that leaves no file behind, whole or partial.
. "$(dirname "$0")/lib.sh"

INS="$SJTALIGN_ROOT/tests/fixtures/io/instrument.json"
data="$TMP/responses.csv"
{
    echo "person_id,item_id,response"
    for who in Ana Ben Chloe Dev Eli Fay Gus Hana Ivo Jo; do
        for what in "I would talk to my manager about the deadline first" \
            "I would ask the team for help and share the work" \
            "I would tell the customer the truth, politely"; do
            echo "$who,deadline,\"$who: $what.\""
        done
    done
} >"$data"
printf 'person_id,item_id,response\np1,deadline,I would talk to them.\n' >"$TMP/one.csv"
tiny=(--layers 1 --heads 2 --embd 16 --ctx 64 --vocab 300 --batch 4 --threads 1 --seed 5)
STEPS=300

steps_done() { sed -n 's/.*"steps_done":[[:space:]]*\([0-9]*\).*/\1/p' "$1/config.json" 2>/dev/null; }

# Waits (up to 60 s) until MODEL holds a checkpoint, then SECONDS more.
wait_for_checkpoint() {
    local i
    for i in $(seq 1 6000); do
        [ -s "$1/config.json" ] && break
        kill -0 "$2" 2>/dev/null || break
        sleep 0.01
    done
    sleep "$3"
}

# The reference: one uninterrupted run.
run_cmd pretrain --data "$data" --out "$TMP/ref" "${tiny[@]}" --steps $STEPS --save-every 0
expect_exit 0 "uninterrupted reference run"

# ---- SIGKILL in the middle of a run that checkpoints after every step ----
# Checkpointing every step makes the kill likely to land inside a save.
"$SJTALIGN" pretrain --data "$data" --out "$TMP/killed" "${tiny[@]}" --steps $STEPS --save-every 1 \
    >/dev/null 2>&1 &
pid=$!
wait_for_checkpoint "$TMP/killed" $pid 0.3
kill -KILL $pid 2>/dev/null
{ wait $pid; } 2>/dev/null
done_at=$(steps_done "$TMP/killed")
if [ -n "$done_at" ] && [ "$done_at" -ge 1 ] && [ "$done_at" -lt $STEPS ]; then
    pass "SIGKILL left a checkpoint mid-run (step $done_at of $STEPS)"
else
    fail "SIGKILL left a checkpoint mid-run" "steps_done: '${done_at}'"
fi
run_cmd score --allow-any-model --model "$TMP/killed" --instrument "$INS" --data "$TMP/one.csv" --out "$TMP/scores.csv" --threads 1
expect_exit 0 "the checkpoint left by SIGKILL loads (score)"
# A save killed mid-way leaves a hidden temporary folder; the next save of
# the model removes those of processes that no longer exist.
true &
dead=$!
wait $dead
mkdir -p "$TMP/.killed.tmp.$dead"
echo partial >"$TMP/.killed.tmp.$dead/model.safetensors"
run_cmd pretrain --data "$data" --out "$TMP/killed" "${tiny[@]}" --steps $STEPS --save-every 0 --resume
expect_exit 0 "resume after SIGKILL"
if cmp -s "$TMP/ref/model.safetensors" "$TMP/killed/model.safetensors"; then
    pass "resumed after SIGKILL: weights bit-identical to the uninterrupted run"
else fail "resumed after SIGKILL: weights differ from the uninterrupted run"; fi
lines=$(wc -l <"$TMP/killed/train_log.jsonl")
if [ "$lines" -eq $STEPS ]; then pass "resumed log has one line per step"; else fail "resumed log has $lines lines, expected $STEPS"; fi

# ---- SIGINT: a clean stop with a checkpoint -----------------------------
# The signal is sent once training runs (the checkpoint at step 100 is there);
# validation after every step slows the run so that it arrives mid-run.
# Job control on: a background job of a script otherwise starts with SIGINT
# ignored, and then it stays ignored (as after nohup).
set -m
"$SJTALIGN" pretrain --data "$data" --out "$TMP/inter" "${tiny[@]}" --steps $STEPS --save-every 100 \
    --eval-every 1 >"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
set +m
wait_for_checkpoint "$TMP/inter" $pid 0
kill -INT $pid 2>/dev/null
wait $pid
RC=$?
ERR=$(cat "$TMP/int.err")
expect_exit 130 "SIGINT stops pretrain (exit 130)"
done_at=$(steps_done "$TMP/inter")
expect_err_contains "pretrain: interrupted (Ctrl-C) after step $done_at of $STEPS; the model trained so far is saved in $TMP/inter" \
    "SIGINT: message names the step and the checkpoint"
expect_err_contains "run the same command again with --resume" "SIGINT: message says how to continue"
if [ -n "$done_at" ] && [ "$done_at" -ge 100 ] && [ "$done_at" -lt $STEPS ]; then
    pass "SIGINT saved a checkpoint (step $done_at of $STEPS)"
else fail "SIGINT saved a checkpoint" "steps_done: '${done_at}'"; fi
run_cmd pretrain --data "$data" --out "$TMP/inter" "${tiny[@]}" --steps $STEPS --save-every 0 --eval-every 1 --resume
expect_exit 0 "resume after SIGINT"
# (validation every step must not change the weights either)
if cmp -s "$TMP/ref/model.safetensors" "$TMP/inter/model.safetensors"; then
    pass "resumed after SIGINT: weights bit-identical to the uninterrupted run"
else fail "resumed after SIGINT: weights differ from the uninterrupted run"; fi

expect_no_temporaries "$TMP" "no temporary files or folders left after the signals"
# (the alignment stages' SIGINT and --resume: tests/cli/test_resume.sh)

# ---- a save killed between its two renames -------------------------------
# Replacing a model moves the old one aside to .NAME.old.PID, then renames
# the new one into place. Killed in between, only the old one is left.
true &
dead=$!
wait $dead
cp -r "$TMP/ref" "$TMP/.lost.old.$dead"
run_cmd score --allow-any-model --model "$TMP/lost" --instrument "$INS" --data "$TMP/one.csv" --out "$TMP/scores.csv" --threads 1
expect_exit 2 "loading a model whose save was killed between the renames"
expect_err_contains "$TMP/lost is missing: a save to it was interrupted after moving the previous model aside to $TMP/.lost.old.$dead; restore that model with: mv '$TMP/.lost.old.$dead' '$TMP/lost'" \
    "the message names the folder left and how to restore it"
run_cmd pretrain --data "$data" --out "$TMP/lost" "${tiny[@]}" --steps $STEPS --resume
expect_exit 2 "--resume does not start afresh beside a model moved aside"
expect_err_contains "restore that model with: mv" "--resume: says how to restore it"
mv "$TMP/.lost.old.$dead" "$TMP/lost"
run_cmd score --allow-any-model --model "$TMP/lost" --instrument "$INS" --data "$TMP/one.csv" --out "$TMP/scores.csv" --threads 1
expect_exit 0 "the restored model loads"
# A new save to the path removes the superseded leftover once it succeeded.
mv "$TMP/lost" "$TMP/.lost.old.$dead"
run_cmd pretrain --data "$data" --out "$TMP/lost" "${tiny[@]}" --steps 2 --save-every 0
expect_exit 0 "a new model saved to the path"
expect_no_file "$TMP/.lost.old.$dead" "the leftover is removed after the new save"

# ---- a full or read-only output folder ----------------------------------
full="$TMP/full"
ro="$TMP/ro"
mkdir -p "$full" "$ro"
if mount -t tmpfs -o size=64k tmpfs "$full" 2>/dev/null; then
    trap 'umount "$full" 2>/dev/null; umount "$ro" 2>/dev/null; rm -rf "$TMP"' EXIT
    run_cmd pretrain --data "$data" --out "$full/model" "${tiny[@]}" --steps 3
    expect_exit 1 "pretrain into a full folder"
    expect_err_contains "No space left on device" "full folder: message names the cause"
    if [ -z "$(ls -A "$full")" ]; then pass "full folder: nothing left behind"; else fail "full folder: nothing left behind" "$(ls -A "$full")"; fi
    # Fill the folder, then ask for small outputs.
    head -c 65536 /dev/zero >"$full/filler" 2>/dev/null
    run_cmd score --allow-any-model --model "$TMP/ref" --instrument "$INS" --data "$TMP/one.csv" --out "$full/scores.csv" --threads 1
    expect_exit 1 "score into a full folder"
    expect_err_contains "cannot write $full/scores.csv: No space left on device" "full folder: score names the file"
    printf 'person_id,item_id,group,score\np1,deadline,ref,1\np2,deadline,ref,2\np3,deadline,foc,0\np4,deadline,foc,1\n' >"$TMP/g.csv"
    run_cmd parity --data "$TMP/g.csv" --reference ref --focal foc --out "$full/parity.json"
    expect_exit 1 "parity into a full folder"
    if [ "$(ls -A "$full")" = "filler" ]; then pass "full folder: no output and no temporary"; else fail "full folder: no output and no temporary" "$(ls -A "$full")"; fi

    mount -t tmpfs -o ro,size=64k tmpfs "$ro"
    run_cmd pretrain --data "$data" --out "$ro/model" "${tiny[@]}" --steps 3
    expect_exit 1 "pretrain into a read-only folder"
    expect_err_contains "Read-only file system" "read-only folder: message names the cause"
    run_cmd parity --data "$TMP/g.csv" --reference ref --focal foc --out "$ro/parity.json"
    expect_exit 1 "parity into a read-only folder"
    expect_err_contains "cannot write $ro/parity.json: Read-only file system" "read-only folder: message names the file"
    umount "$full"
    umount "$ro"
else
    echo "# skip: full and read-only folders need 'mount -t tmpfs' (run as root)"
fi
