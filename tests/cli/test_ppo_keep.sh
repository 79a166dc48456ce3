#!/usr/bin/env bash
# PPO keeps, by default, the evaluated checkpoint with the best fixed-set
# reward within the KL budget, and writes which one and why to config.json
# and says it on standard error (stdout stays empty); --keep-last opts out; the rollout options are checked.
. "$(dirname "$0")/lib.sh"
make_tiny_chain_data
T="--threads 1 --quiet"

run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft" --steps 3 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280 --pretrain-steps 2 $T
run_cmd pairs --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" --n 40 --out "$TMP/pairs.csv" --seed 3 $T
run_cmd judge --truth "$TMP/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" --seed 1
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm" --steps 3 --batch 4 $T
expect_exit 0 "a tiny scorer and reward model"

PPO=(ppo --policy "$TMP/sft" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv"
    --steps 4 --batch 8 --minibatch 4 --lr 0.05 --eval-every 1 --eval-size 16)

# The kept step follows the rule applied by hand to the log's evaluations.
check_kept() { # DIR BUDGET
    python3 - "$1/config.json" "$1/train_log.jsonl" "$2" "$OUT" "$ERR" "$1" <<'PY'
import json, sys
prov = json.load(open(sys.argv[1]))["provenance"]
budget = float(sys.argv[3])
ev = [json.loads(l) for l in open(sys.argv[2])]
ev = [(d["step"], d["eval/reward"], d["eval/kl"]) for d in ev if "eval/reward" in d]
assert [s for s, _, _ in ev] == [0, 1, 2, 3, 4], ev
within = [e for e in ev if e[2] <= budget]
if within:
    want = max(within, key=lambda e: (e[1], -e[0]))
else:
    want = min(ev, key=lambda e: (e[2], e[0]))
k = prov["result"]["kept"]
assert k["rule"] == "best-within-kl-budget", k
assert k["step"] == want[0], (k, want, ev)
assert abs(k["eval_reward"] - want[1]) < 1e-12 and abs(k["eval_kl"] - want[2]) < 1e-12, (k, want)
assert k["kl_budget"] == budget and k["evaluations"] == 5 and k["within_budget"] == len(within), k
if within:
    assert k["why"] == "best fixed-set reward among %d of 5 evaluations within the KL budget of %g nats" % (len(within), budget), k
else:
    assert k["why"].startswith("no evaluation within the KL budget"), k
kb = prov["keep_best"]
assert kb["step"] == want[0] and kb["why"] == k["why"] and kb["value"] == k["eval_reward"], kb
assert prov["options"]["keep_best"] is True and prov["options"]["kl_budget"] == budget
assert sys.argv[4] == "", "stdout: " + sys.argv[4]
line = ("ppo: wrote %s after 4 steps; kept step %d: fixed-set reward %.3f, KL %.3f nats (%s)"
        % (sys.argv[6], k["step"], k["eval_reward"], k["eval_kl"], k["why"]))
assert line in sys.argv[5].splitlines(), (line, sys.argv[5])
PY
}

run_cmd "${PPO[@]}" --out "$TMP/ppo" $T
expect_exit 0 "ppo with the default keep-best"
check_kept "$TMP/ppo" 0.15 && pass "default: the best eval/reward within 0.15 nats, recorded with why" ||
    fail "default kept step" "$(cat "$TMP/ppo/train_log.jsonl")"

# The start has eval/kl 0 exactly: with a tiny budget, it is the only one within.
run_cmd "${PPO[@]}" --out "$TMP/ppo_tiny" --kl-budget 1e-12 $T
expect_exit 0 "ppo with a tiny KL budget"
check_kept "$TMP/ppo_tiny" 1e-12 && pass "tiny budget: the start, the only evaluation within it" ||
    fail "tiny budget kept step" "$(cat "$TMP/ppo_tiny/config.json")"
python3 -c "import json,sys; k=json.load(open(sys.argv[1]))['provenance']['result']['kept']; assert k['step']==0 and k['within_budget']==1 and k['eval_kl']==0, k" \
    "$TMP/ppo_tiny/config.json" && pass "tiny budget: kept step 0, one within" || fail "tiny budget: step 0"

run_cmd "${PPO[@]}" --out "$TMP/ppo_last" --keep-last $T
expect_exit 0 "ppo --keep-last"
python3 - "$TMP/ppo_last/config.json" <<'PY' && pass "--keep-last: the last model, said so" || fail "--keep-last provenance"
import json, sys
p = json.load(open(sys.argv[1]))["provenance"]
k = p["result"]["kept"]
assert k["rule"] == "last" and k["step"] == 4 and "keep_best" not in p, p
assert p["options"]["keep_best"] is False
PY

run_cmd "${PPO[@]}" --out "$TMP/ppo_both" --keep-last --keep-best $T
expect_exit 2 "--keep-best with --keep-last"
run_cmd "${PPO[@]}" --out "$TMP/ppo_rloo1" --estimator rloo $T
expect_exit 2 "rloo with one rollout per prompt"
expect_err_contains "--samples-per-prompt 2 or more" "rloo says it needs two rollouts per prompt"
run_cmd "${PPO[@]}" --out "$TMP/ppo_k3" --samples-per-prompt 3 $T
expect_exit 2 "a batch that is not a multiple of --samples-per-prompt"
expect_no_file "$TMP/ppo_k3" "no model written"

run_cmd "${PPO[@]}" --out "$TMP/ppo_rloo" --estimator rloo --samples-per-prompt 4 $T
expect_exit 0 "ppo --estimator rloo --samples-per-prompt 4"
python3 - "$TMP/ppo_rloo/train_log.jsonl" "$TMP/ppo_rloo/config.json" <<'PY' && pass "rloo: no value model, recorded" || fail "rloo log"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
steps = [d for d in lines if "loss/policy_avg" in d]
assert len(steps) == 4 and all(d["loss/value_avg"] is None for d in steps), steps
o = json.load(open(sys.argv[2]))["provenance"]["options"]
assert o["estimator"] == "rloo" and o["samples_per_prompt"] == 4, o
PY
