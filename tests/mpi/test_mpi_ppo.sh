#!/usr/bin/env bash
# PPO under MPI (build/sjtalign-mpi under mpirun on loopback), on both of
# its paths: one action per rollout (one-token scores) and completions
# generated token by token (a scorer with rationales).
# - N = 1 under MPI gives the non-MPI build's weights and log, bit for bit;
# - N = 2 twice gives the same weights and log; N = 3 runs and finishes,
#   keeps the checkpoint the KL-budget rule picks from its log, and writes
#   the same files as one process;
# - one update's gradient summed over 2 and 3 ranks equals the one-process
#   gradient of the same minibatch within float rounding (relative L2
#   difference below 1e-6; measured: about 1e-7), its statistics too;
# - --stop-after then --resume with the same N ends as the uninterrupted
#   run; --resume with another N is refused (exit 2);
# - Ctrl-C to mpirun stops both ranks after the same step with one
#   checkpoint, which --resume continues.
. "$(dirname "$0")/lib.sh"

make_tiny_chain_data
T=(--threads 1 --quiet)
GRAD_CHECK="$SJTALIGN_ROOT/build/mpi/tests/grad_check_ppo"

log_without_timings() {
    sed -e 's/"tokens_per_s":[^,}]*,\{0,1\}//' -e 's/"time_s":[^,}]*,\{0,1\}//' "$1"
}

# expect_same_run A B DESCRIPTION: the same weights, and logs equal but for timings.
expect_same_run() {
    expect_same_file "$1/model.safetensors" "$2/model.safetensors" "$3: the same weights"
    if diff <(log_without_timings "$1/train_log.jsonl") <(log_without_timings "$2/train_log.jsonl") >/dev/null; then
        pass "$3: the same log (timings aside)"
    else
        fail "$3: the logs differ" "$(diff <(log_without_timings "$1/train_log.jsonl") \
            <(log_without_timings "$2/train_log.jsonl") 2>&1 | head -4)"
    fi
}

# Two tiny scorers with their reward models: "act" scores with one token
# (a rollout is one action), "gen" adds a rationale (generated completions).
for kind in act gen; do
    extra=()
    [ $kind = gen ] && extra=(--rationale)
    run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft_$kind" --steps 3 \
        --batch 4 --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280 --pretrain-steps 2 \
        "${extra[@]}" "${T[@]}"
    expect_exit 0 "setup: the $kind scorer"
    run_cmd pairs --model "$TMP/sft_$kind" --instrument "$INS" --data "$TMP/responses.csv" --n 40 \
        --out "$TMP/pairs_$kind.csv" --seed 3 "${T[@]}"
    run_cmd judge --truth "$TMP/truth.csv" --pairs "$TMP/pairs_$kind.csv" \
        --out "$TMP/judged_$kind.csv" --seed 1
    run_cmd reward --init "$TMP/sft_$kind" --instrument "$INS" --pairs "$TMP/judged_$kind.csv" \
        --out "$TMP/rm_$kind" --steps 3 --batch 4 "${T[@]}"
    expect_exit 0 "setup: the $kind reward model"
done

# ppo_args KIND [KEEP]: 4 steps of 8 rollouts, 2 per prompt, minibatches
# of 4, an evaluation every 2 steps; the last model is saved (--keep-last,
# unless KEEP is --keep-best), so the weights compared are the trained ones.
ppo_args() {
    echo ppo --policy "$TMP/sft_$1" --reward "$TMP/rm_$1" --instrument "$INS" \
        --data "$TMP/responses.csv" --truth "$TMP/truth.csv" --steps 4 --batch 8 --minibatch 4 \
        --samples-per-prompt 2 --lr 0.05 --eval-every 2 --eval-size 16 "${2:---keep-last}" \
        --threads 1 --quiet
}

# ---- N = 1 under MPI is the non-MPI build ---------------------------------------------
for kind in act gen; do
    read -r -a args <<<"$(ppo_args $kind)"
    run_cmd "${args[@]}" --out "$TMP/one_$kind"
    expect_exit 0 "$kind: ppo, non-MPI build"
    run_mpi 1 "${args[@]}" --out "$TMP/np1_$kind"
    expect_exit 0 "$kind: ppo, mpirun -np 1"
    expect_same_run "$TMP/one_$kind" "$TMP/np1_$kind" "$kind: N = 1 against the non-MPI build"
done
read -r -a args <<<"$(ppo_args act)"
run_cmd "${args[@]}" --estimator rloo --out "$TMP/one_rloo"
run_mpi 1 "${args[@]}" --estimator rloo --out "$TMP/np1_rloo"
expect_exit 0 "rloo: ppo, mpirun -np 1"
expect_same_run "$TMP/one_rloo" "$TMP/np1_rloo" "rloo: N = 1 against the non-MPI build"

# ---- N = 2 reproduces; N = 3 finishes -------------------------------------------------
for kind in act gen; do
    read -r -a args <<<"$(ppo_args $kind)"
    run_mpi 2 "${args[@]}" --out "$TMP/np2a_$kind"
    expect_exit 0 "$kind: ppo, mpirun -np 2"
    run_mpi 2 "${args[@]}" --out "$TMP/np2b_$kind"
    expect_same_run "$TMP/np2a_$kind" "$TMP/np2b_$kind" "$kind: N = 2, twice"
done

# N = 3 with the default keep-best: the kept step is the one the rule picks
# from the log's evaluations, and the folder holds what one process writes.
read -r -a args <<<"$(ppo_args act --keep-best)"
run_mpi 3 "${args[@]}" --out "$TMP/np3"
expect_exit 0 "act: ppo, mpirun -np 3 (8 rollouts in 4 prompts over 3 ranks)"
python3 - "$TMP/np3" <<'PY' && pass "N = 3: 4 steps logged, the kept step follows the KL-budget rule" ||
import json, sys
d = sys.argv[1]
log = [json.loads(l) for l in open(d + "/train_log.jsonl")]
assert [x["step"] for x in log if "loss" in x] == [1, 2, 3, 4], log
ev = [(x["step"], x["eval/reward"], x["eval/kl"]) for x in log if "eval/reward" in x]
assert [s for s, _, _ in ev] == [0, 2, 4], ev
within = [e for e in ev if e[2] <= 0.15]
want = max(within, key=lambda e: (e[1], -e[0])) if within else min(ev, key=lambda e: (e[2], e[0]))
k = json.load(open(d + "/config.json"))["provenance"]["result"]["kept"]
assert k["step"] == want[0] and k["eval_reward"] == want[1] and k["within_budget"] == len(within), (k, want)
PY
    fail "N = 3: log or kept step" "$(cat "$TMP/np3/train_log.jsonl")"
run_cmd "${args[@]}" --out "$TMP/one_keep"
if [ "$(cd "$TMP/np3" && find . | sort)" = "$(cd "$TMP/one_keep" && find . | sort)" ]; then
    pass "N = 3 writes the files one process writes, no more"
else
    fail "N = 3 wrote other files" "$(diff <(cd "$TMP/np3" && find . | sort) <(cd "$TMP/one_keep" && find . | sort))"
fi

# ---- the gradient identity ------------------------------------------------------------
# grad_check_ppo's float32 blocks (policy, value model, value head) and
# statistics: N ranks against one process (SJTALIGN_NO_MPI=1).
compare_grads() { # ONE.bin ONE.txt N.bin N.txt
    python3 - "$@" <<'PY'
import array, math, sys
def grads(p):
    a = array.array("f")
    a.frombytes(open(p, "rb").read())
    return a
def stats(p):
    return {l.split()[0]: float(l.split()[1]) for l in open(p)}
g1, gn, s1, sn = grads(sys.argv[1]), grads(sys.argv[3]), stats(sys.argv[2]), stats(sys.argv[4])
P, V = int(s1["policy_params"]), int(s1["value_params"])
assert len(g1) == len(gn) == P + V + int(s1["head_params"]), (len(g1), len(gn))
for name, lo, hi in (("policy", 0, P), ("value", P, P + V), ("head", P + V, len(g1))):
    a, b = g1[lo:hi], gn[lo:hi]
    norm = math.sqrt(sum(x * x for x in a))
    diff = math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))
    assert norm > 0 and sum(1 for x in a if x != 0) > (hi - lo) // 2, (name, "gradient mostly zero")
    assert diff <= 1e-6 * norm, (name, diff / norm)
    assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-6 * max(abs(x) for x in a), name
for k in ("pg_loss", "vf_loss", "clipfrac", "approxkl", "ratio", "ratio_sq"):
    assert abs(sn[k] - s1[k]) <= 1e-6 * max(abs(s1[k]), 1e-3), (k, s1[k], sn[k])
assert sn["n_tok"] == s1["n_tok"] and sn["n_updates"] == s1["n_updates"] == 1
assert 0 < s1["clipfrac"] < 1, s1["clipfrac"]  # ratios inside and outside the clip range
PY
}
if [ -x "$GRAD_CHECK" ]; then
    for kind in act gen; do
        gc_args=("$TMP/sft_$kind" "$TMP/rm_$kind" "$INS" "$TMP/responses.csv")
        SJTALIGN_NO_MPI=1 "$GRAD_CHECK" "${gc_args[@]}" "$TMP/g1_$kind.bin" >"$TMP/g1_$kind.txt" 2>"$TMP/g1.err"
        RC=$?
        ERR=$(cat "$TMP/g1.err")
        expect_exit 0 "$kind: one update's gradient, one process"
        # the path: 12 rollouts of one token, or 1 to 4 tokens each (30)
        want=$([ $kind = act ] && echo 12 || echo 30)
        if grep -qx "n_tok $want" "$TMP/g1_$kind.txt"; then
            pass "$kind: the gradient check ran the $kind path ($want tokens)"
        else fail "$kind: not the $kind path" "$(cat "$TMP/g1_$kind.txt")"; fi
        for n in 2 3; do
            "${MPIRUN[@]}" -np $n "$GRAD_CHECK" "${gc_args[@]}" "$TMP/g${n}_$kind.bin" >"$TMP/g${n}_$kind.txt" 2>"$TMP/gn.err"
            RC=$?
            ERR=$(cat "$TMP/gn.err")
            expect_exit 0 "$kind: one update's gradient over $n ranks"
            if out=$(compare_grads "$TMP/g1_$kind.bin" "$TMP/g1_$kind.txt" "$TMP/g${n}_$kind.bin" "$TMP/g${n}_$kind.txt" 2>&1); then
                pass "$kind: the gradient summed over $n ranks is the one-process gradient (relative L2 <= 1e-6)"
            else fail "$kind: $n ranks' gradient differs" "$out"; fi
        done
    done
else
    fail "the gradient check program $GRAD_CHECK is missing (make mpi builds it)"
fi

# ---- --resume with the same N, and only that --------------------------------------------
read -r -a args <<<"$(ppo_args gen)"
run_mpi 2 "${args[@]}" --out "$TMP/parts" --stop-after 2
expect_exit 0 "gen: N = 2 --stop-after 2"
run_mpi 3 "${args[@]}" --out "$TMP/parts" --resume
expect_exit 2 "gen: --resume with N = 3 of a run stopped with N = 2"
expect_err_contains "was trained with 2 ranks (mpirun -np 2); this run has 3" "the refusal names both counts"
run_cmd "${args[@]}" --out "$TMP/parts" --resume
expect_exit 2 "gen: --resume by the non-MPI build of an N = 2 run"
run_mpi 2 "${args[@]}" --out "$TMP/parts" --resume
expect_exit 0 "gen: --resume with N = 2"
expect_same_run "$TMP/np2a_gen" "$TMP/parts" "gen: N = 2 stopped and resumed against uninterrupted"

# ---- Ctrl-C to mpirun --------------------------------------------------------------------
# mpirun passes SIGINT on as SIGTERM after odls_base_sigkill_timeout seconds
# (then SIGKILL after as many again); the interrupt rides the next update's
# exchange, so every rank stops after the same step and rank 0 saves once.
read -r -a args <<<"$(ppo_args act)"
ctrl_c_mpi "${args[@]}" --out "$TMP/int" --steps 1000000 --eval-every 0 --lr 0.0001 --kl-stop 1e6
if [ $RC -ne 0 ]; then pass "Ctrl-C: mpirun exits $RC"; else fail "Ctrl-C: mpirun exited 0"; fi
expect_err_contains "stopped by SIGTERM after step" "Ctrl-C: rank 0 reports the step it stopped after"
step=$(sed -n 's/.*stopped by SIGTERM after step \([0-9]*\) of.*/\1/p' <<<"$ERR" | head -1)
saved=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resume"]["step"])' \
    "$TMP/int/config.json" 2>/dev/null)
if [ -n "$step" ] && [ "$step" = "$saved" ]; then pass "Ctrl-C: one complete checkpoint after step $step"
else fail "Ctrl-C: checkpoint step '$saved', reported '$step'" "$ERR"; fi
if grep -q 'MPI_ABORT' <<<"$ERR"; then fail "Ctrl-C: the ranks aborted" "$ERR"; else pass "Ctrl-C: the ranks left normally"; fi
expect_no_temporaries "$TMP" "Ctrl-C: no temporaries"
run_mpi 2 "${args[@]}" --out "$TMP/int" --steps 1000000 --eval-every 0 --lr 0.0001 --kl-stop 1e6 \
    --resume --stop-after $((step + 2))
expect_exit 0 "Ctrl-C: --resume with N = 2 continues"
saved=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["resume"]["step"])' \
    "$TMP/int/config.json" 2>/dev/null)
if [ "$saved" = $((step + 2)) ]; then pass "Ctrl-C: the resumed run went on to step $saved"
else fail "Ctrl-C: resumed run saved step '$saved'"; fi
