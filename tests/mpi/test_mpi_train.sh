#!/usr/bin/env bash
# Data-parallel training under mpirun (pretrain, sft, reward, dpo): one rank
# computes what the non-MPI build computes, bit for bit; two runs with the
# same number of ranks give the same weights; the ranks' summed gradient is
# the one-process full-batch gradient up to rounding (tests/mpi/grad_check);
# rank 0 alone writes; --resume continues with the same number of ranks and
# refuses another; Ctrl-C to mpirun stops every rank with one checkpoint.
. "$(dirname "$0")/lib.sh"

make_tiny_chain_data
T=(--threads 1 --quiet)
SHAPE=(--layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280)

# The inputs of the stages: a small SFT model and pairs judged against the truth.
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/base" --steps 4 --batch 4 \
    "${SHAPE[@]}" --pretrain-steps 2 "${T[@]}"
expect_exit 0 "setup: sft model"
run_cmd pairs --model "$TMP/base" --instrument "$INS" --data "$TMP/responses.csv" --n 40 \
    --out "$TMP/pairs.csv" --seed 3 "${T[@]}"
run_cmd judge --truth "$TMP/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" --seed 1
expect_exit 0 "setup: judged pairs"

# The arguments of each stage up to --out (odd batches: the shares differ in size).
stage_args() {
    case $1 in
    pretrain) echo pretrain --data "$TMP/responses.csv" "${SHAPE[@]}" --steps 5 --batch 5 --eval-every 2 --save-every 0 ;;
    sft) echo sft --init "$TMP/base" --instrument "$INS" --data "$TMP/responses.csv" --steps 5 --batch 5 --eval-every 2 ;;
    reward) echo reward --init "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --steps 5 --batch 5 --eval-every 2 ;;
    dpo) echo dpo --policy "$TMP/base" --instrument "$INS" --pairs "$TMP/judged.csv" --steps 5 --batch 5 --eval-every 2 ;;
    esac
}

# The log without its timings (they differ from run to run).
log_without_timings() {
    sed -e 's/"tokens_per_s":[^,}]*,\{0,1\}//' -e 's/"time_s":[^,}]*,\{0,1\}//' "$1"
}

# first_loss LOG: the loss of step 1 (before any update every rank count
# starts from the same weights, so it must agree up to rounding).
first_loss() { grep '^{"step":1,' "$1" | sed 's/.*"loss":\([^,}]*\).*/\1/'; }

# close A B TOL: |A - B| <= TOL * |B|.
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(a != "" && d <= t * m) }'; }

# ---- one rank is the non-MPI build; N ranks repeat themselves ------------------
for stage in pretrain sft reward dpo; do
    read -r -a args <<<"$(stage_args $stage)"
    run_cmd "${args[@]}" --out "$TMP/$stage-plain" "${T[@]}"
    expect_exit 0 "$stage: the non-MPI build"
    run_mpi 1 "${args[@]}" --out "$TMP/$stage-n1" "${T[@]}"
    expect_exit 0 "$stage: mpirun -np 1"
    expect_same_file "$TMP/$stage-plain/model.safetensors" "$TMP/$stage-n1/model.safetensors" \
        "$stage: -np 1 weights are bit-identical to the non-MPI build's"
    if diff <(log_without_timings "$TMP/$stage-plain/train_log.jsonl") \
        <(log_without_timings "$TMP/$stage-n1/train_log.jsonl") >/dev/null; then
        pass "$stage: -np 1 log equals the non-MPI build's (timings aside)"
    else fail "$stage: -np 1 log differs" "$(diff <(log_without_timings "$TMP/$stage-plain/train_log.jsonl") <(log_without_timings "$TMP/$stage-n1/train_log.jsonl") | head -4)"; fi
    for n in 2 3; do
        run_mpi $n "${args[@]}" --out "$TMP/$stage-n$n" "${T[@]}"
        expect_exit 0 "$stage: mpirun -np $n"
        run_mpi $n "${args[@]}" --out "$TMP/$stage-n$n-again" "${T[@]}"
        expect_same_file "$TMP/$stage-n$n/model.safetensors" "$TMP/$stage-n$n-again/model.safetensors" \
            "$stage: two runs with -np $n give the same weights"
        # the loss is normalised by the whole batch: step 1 is the same step
        a=$(first_loss "$TMP/$stage-n$n/train_log.jsonl")
        b=$(first_loss "$TMP/$stage-plain/train_log.jsonl")
        if close "$a" "$b" 1e-6; then pass "$stage: -np $n step-1 loss $a = one process's $b within 1e-6"
        else fail "$stage: -np $n step-1 loss $a, one process $b"; fi
    done
    if grep -Eq '"ranks":[[:space:]]*3[,}[:space:]]' "$TMP/$stage-n3/config.json"; then pass "$stage: the model records its 3 ranks"
    else fail "$stage: config.json lacks \"ranks\":3"; fi
done

# ---- the gradient identity, through the steps' own share and exchange code ----
GRAD_CHECK="$SJTALIGN_ROOT/build/mpi/tests/grad_check"
for n in 1 2 3; do
    "${MPIRUN[@]}" -np $n "$GRAD_CHECK" "$TMP/base" "$INS" "$TMP/judged.csv" >"$TMP/gc$n" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && [ "$(grep -c ' ranks=' "$TMP/gc$n")" -eq 3 ]; then pass "grad_check -np $n ran (ce, reward, dpo)"
    else fail "grad_check -np $n failed (exit $rc)" "$(head -5 "$TMP/gc$n")"; fi
done
if grep -q 'ce_step_same=1' "$TMP/gc1"; then pass "the ce share [0, B) is sj_lm_ce_step bit for bit"
else fail "the ce share [0, B) differs from sj_lm_ce_step" "$(cat "$TMP/gc1")"; fi
for obj in ce reward dpo; do
    if grep "^$obj " "$TMP/gc1" | grep -q 'max_abs=0 rel_l2=0 loss_rel=0'; then
        pass "$obj: one rank's exchanged gradient is the one-process gradient exactly"
    else fail "$obj: -np 1 differs" "$(grep "^$obj " "$TMP/gc1")"; fi
    for n in 2 3; do
        line=$(grep "^$obj " "$TMP/gc$n")
        rel=$(sed 's/.*rel_l2=\([^ ]*\).*/\1/' <<<"$line")
        loss=$(sed 's/.*loss_rel=\([^ ]*\).*/\1/' <<<"$line")
        # float rounding of a few thousand terms: ~1e-7 relative; 1e-5 leaves room
        if awk -v r="$rel" -v l="$loss" 'BEGIN { exit !(r != "" && r <= 1e-5 && l <= 1e-6) }'; then
            pass "$obj: -np $n summed gradient = full-batch gradient (relative L2 $rel, loss $loss)"
        else fail "$obj: -np $n too far from the full-batch gradient" "$line"; fi
    done
done

# ---- rank 0 alone writes -------------------------------------------------------
# Rank 1 runs under strace: it must create, rename or remove nothing in $TMP.
if command -v strace >/dev/null; then
    cat >"$TMP/rank_trace.sh" <<EOF
#!/bin/sh
if [ "\$OMPI_COMM_WORLD_RANK" = 1 ]; then
    exec strace -f -qq -o "$TMP/trace.rank1" -e trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir "\$@"
fi
exec "\$@"
EOF
    chmod +x "$TMP/rank_trace.sh"
    read -r -a args <<<"$(stage_args sft)"
    "${MPIRUN[@]}" -np 2 "$TMP/rank_trace.sh" "$SJTALIGN_MPI" "${args[@]}" --out "$TMP/traced" \
        --steps 3 "${T[@]}" >"$TMP/.stdout" 2>"$TMP/.stderr"
    RC=$?
    ERR=$(cat "$TMP/.stderr")
    expect_exit 0 "sft -np 2 with rank 1 traced"
    writes=$(grep -F "$TMP" "$TMP/trace.rank1" | grep -E 'O_CREAT|O_WRONLY|O_RDWR|mkdir|rename|unlink|rmdir')
    if [ -s "$TMP/trace.rank1" ] && [ -z "$writes" ]; then pass "rank 1 creates, replaces and removes no file"
    else fail "rank 1 wrote in the test folder" "$(head -5 <<<"$writes")"; fi
fi
expect_no_temporaries "$TMP" "no temporaries left by the MPI runs"

# ---- --resume with the same number of ranks, and with another ----------------
for stage in pretrain dpo; do
    read -r -a args <<<"$(stage_args $stage)"
    run_mpi 2 "${args[@]}" --out "$TMP/$stage-parts" --stop-after 2 "${T[@]}"
    expect_exit 0 "$stage: -np 2 --stop-after 2"
    run_mpi 3 "${args[@]}" --out "$TMP/$stage-parts" --resume "${T[@]}"
    expect_exit 2 "$stage: --resume with -np 3 of a -np 2 run"
    expect_err_contains "was trained with 2 ranks (mpirun -np 2); this run has 3" "$stage: the refusal names both counts"
    run_cmd "${args[@]}" --out "$TMP/$stage-parts" --resume "${T[@]}"
    expect_exit 2 "$stage: --resume by the non-MPI build of a -np 2 run"
    run_mpi 2 "${args[@]}" --out "$TMP/$stage-parts" --resume "${T[@]}"
    expect_exit 0 "$stage: --resume with -np 2"
    expect_same_file "$TMP/$stage-n2/model.safetensors" "$TMP/$stage-parts/model.safetensors" \
        "$stage: stopped + resumed with -np 2 = one -np 2 run, bit for bit"
done

# ---- Ctrl-C to mpirun ------------------------------------------------------------
# Open MPI 4.1's mpirun answers SIGINT with SIGCONT to the ranks, then
# SIGTERM after odls_base_sigkill_timeout seconds, then SIGKILL after as
# many again: the ranks have that long to finish the step and save.
read -r -a args <<<"$(stage_args pretrain)"
ctrl_c_mpi "${args[@]}" --out "$TMP/pre-int" --steps 1000000 --eval-every 0 "${T[@]}"
if [ $RC -ne 0 ]; then pass "Ctrl-C: mpirun exits $RC"; else fail "Ctrl-C: mpirun exited 0"; fi
expect_err_contains "stopped by SIGTERM after step" "Ctrl-C: rank 0 reports the step it stopped after"
step=$(sed -n 's/.*stopped by SIGTERM after step \([0-9]*\) of.*/\1/p' <<<"$ERR" | head -1)
saved=$(sed -n 's/.*"steps_done":[[:space:]]*\([0-9]*\).*/\1/p' "$TMP/pre-int/config.json" 2>/dev/null)
if [ -n "$step" ] && [ "$step" = "$saved" ]; then pass "Ctrl-C: one complete checkpoint after step $step"
else fail "Ctrl-C: checkpoint step '$saved', reported '$step'" "$ERR"; fi
if grep -q 'MPI_ABORT' <<<"$ERR"; then fail "Ctrl-C: the ranks aborted" "$ERR"; else pass "Ctrl-C: the ranks left normally"; fi
expect_no_temporaries "$TMP" "Ctrl-C: no temporaries"
run_mpi 2 "${args[@]}" --out "$TMP/pre-int" --steps $((step + 3)) --eval-every 0 --resume "${T[@]}"
expect_exit 0 "Ctrl-C: --resume with -np 2 finishes"
done_steps=$(sed -n 's/.*"steps_done":[[:space:]]*\([0-9]*\).*/\1/p' "$TMP/pre-int/config.json")
if [ "$done_steps" = $((step + 3)) ]; then pass "Ctrl-C: the resumed run ends at step $done_steps"
else fail "Ctrl-C: resumed run ends at '$done_steps'"; fi
