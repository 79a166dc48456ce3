#!/usr/bin/env bash
# sft, score, pairs, reward, ppo, dpo on a tiny model: the chain runs, the
# outputs have the documented columns, bad input exits 2 naming file:line:col
# and leaves no output behind.
. "$(dirname "$0")/lib.sh"
make_tiny_chain_data
T="--threads 1 --quiet"

# prose_check STAGE DIR: standard output is empty and standard error has the
# stage's prose line, built here from the held-out figures in config.json
# (and, for sft, the QWK warning exactly when QWK <= 0.2).
prose_check() {
    if python3 - "$1" "$2" "$OUT" "$ERR" <<'PY'
import json, math, sys
stage, d, out, err = sys.argv[1:5]
h = json.load(open(d + "/config.json"))["provenance"]["held_out"]
f = lambda v: "none" if v is None or (isinstance(v, float) and math.isnan(v)) else "%.3f" % v
kept = "; kept the model of step %d (best held-out metric)" % h["kept_step"] if h.get("kept_step") is not None else ""
if stage == "sft":
    line = "sft: wrote %s (held-out persons: QWK %s, exact agreement %s, loss %s nats%s)" % (
        d, f(h["val_qwk"]), f(h["val_exact"]), f(h["val_loss"]), kept)
elif stage == "reward":
    line = "reward: wrote %s (held-out pairwise accuracy %s on %d pairs, loss %s%s)" % (
        d, f(h["val_accuracy"]), h["n_pairs"], f(h["val_loss"]), kept)
else:
    line = "dpo: wrote %s (held-out preference accuracy %s on %d pairs, loss %s, margin %s%s)" % (
        d, f(h["val_rewards/accuracies"]), h["n_pairs"], f(h["val_loss"]), f(h["val_rewards/margins"]), kept)
assert out == "", "stdout: " + out
lines = err.splitlines()
assert line in lines, (line, err)
warned = [l for l in lines if l.startswith("sft: warning: the held-out QWK")]
if stage == "sft":
    q = h["val_qwk"]
    want = q is not None and q <= 0.2
    assert bool(warned) == want, (q, warned)
    if want:
        assert warned[0] == ("sft: warning: the held-out QWK %.3f is at most 0.2: the scorer agrees "
            "with the human scores hardly better than chance, so its scores (and any alignment built "
            "on it) are not usable yet; train longer (--steps), on more scored responses, or check "
            "that the score column is the right one" % q), warned
PY
    then pass "$1: prose on standard error, nothing on standard output"; else fail "$1: prose summary" "$ERR"; fi
}

for c in sft score pairs reward ppo dpo; do
    run_cmd "$c" --help
    expect_exit 0 "$c --help"
done

run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft" --steps 3 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 280 --pretrain-steps 2 $T
expect_exit 0 "sft without --init pre-trains first"
prose_check sft "$TMP/sft"

# Every response is the same text and both items of a person have the same
# score: a scorer can only give one score per item, the held-out persons'
# item means are equal, so the covariance and QWK are 0 -> the warning.
{
    echo "person_id,group,item_id,response,human_score"
    for p in $(seq 1 24); do for it in A B; do echo "P$p,g,$it,I would help.,$((p % 4))"; done; done
} >"$TMP/flat.csv"
run_cmd sft --init "$TMP/sft" --instrument "$INS" --data "$TMP/flat.csv" --out "$TMP/flat" --steps 2 --batch 4 $T
expect_exit 0 "sft on responses that say nothing about the score"
expect_err_contains "sft: warning: the held-out QWK 0.000 is at most 0.2: the scorer agrees with the human scores hardly better than chance" \
    "a held-out QWK of 0 is warned about"
prose_check sft "$TMP/flat"
[ -s "$TMP/sft/model.safetensors" ] && [ -s "$TMP/sft-pretrain/config.json" ] &&
    pass "sft wrote the model and the pre-trained one" || fail "sft outputs"
if grep -q '"val_qwk"' "$TMP/sft/train_log.jsonl" && grep -q '"val_exact"' "$TMP/sft/train_log.jsonl"; then
    pass "sft log has held-out agreement"
else
    fail "sft log has held-out agreement" "$(cat "$TMP/sft/train_log.jsonl")"
fi

run_cmd score --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/scores.csv" $T
expect_exit 0 "score"
# With progress on (no --quiet, SJTALIGN_QUIET unset), an error is the last
# line: no progress line ("score: 0 done 0.0s") after it.
printf 'person_id,item_id,response\nP1,Z,I would help.\n' >"$TMP/unknown_item.csv"
SJTALIGN_QUIET= run_cmd score --model "$TMP/sft" --instrument "$INS" --data "$TMP/unknown_item.csv" \
    --out "$TMP/unknown_scores.csv" --threads 1
expect_exit 2 "score of an unknown item"
last=$(printf '%s\n' "$ERR" | tail -n 1)
case "$last" in "sjtalign score: error: "*"unknown item 'Z'"*) pass "the error is the last line, no progress line after it" ;;
    *) fail "a line follows the error" "$ERR" ;; esac
head -1 "$TMP/scores.csv" | grep -qx 'person_id,group,item_id,response,human_score,score,score_mode,p_0,p_1,p_2,p_3,ood' &&
    pass "score columns" || fail "score columns" "$(head -1 "$TMP/scores.csv")"
if python3 - "$TMP/scores.csv" <<'PY'
import csv, sys, json
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 48
for r in rows:
    p = [float(r['p_%d' % k]) for k in range(4)]
    assert abs(sum(p) - 1) < 1e-9, p
    assert abs(float(r['score']) - sum(k * q for k, q in enumerate(p))) < 1e-9
    assert int(r['score_mode']) == max(range(4), key=lambda k: (p[k], -k))
side = json.load(open(sys.argv[1] + '.json'))
assert len(side['model']['weights_sha256']) == 64 and len(side['model']['config']['sha256']) == 64
PY
then pass "probabilities sum to 1, score is their mean, provenance sidecar"; else fail "score values"; fi

run_cmd pairs --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" --n 40 --out "$TMP/pairs.csv" --seed 3 $T
expect_exit 0 "pairs"
if python3 - "$TMP/pairs.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 40
assert list(rows[0]) == ['pair_id','item_id','person_id','response','completion_a','completion_b','preferred','judge_id','group']
for r in rows:
    assert r['completion_a'] != r['completion_b'] and r['preferred'] == ''
    assert r['group'] == ('ref' if int(r['person_id'][1:]) % 2 == 0 else 'foc'), r
PY
then pass "pairs: 40 pairs of two different scorings with the response's group"; else fail "pairs content"; fi

run_cmd judge --truth "$TMP/truth.csv" --pairs "$TMP/pairs.csv" --out "$TMP/judged.csv" --seed 1
expect_exit 0 "judge fills the pairs"

run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/rm" --steps 3 --batch 4 $T
expect_exit 0 "reward"
prose_check reward "$TMP/rm"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); n=d['provenance']['reward_normalisation']; assert n['sd']>0" \
    "$TMP/rm/config.json" 2>/dev/null && pass "reward normalisation recorded" || fail "reward normalisation recorded"

run_cmd ppo --policy "$TMP/sft" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv" \
    --truth "$TMP/truth.csv" --out "$TMP/ppo" --steps 2 --batch 8 --minibatch 4 $T
expect_exit 0 "ppo"
if python3 - "$TMP/ppo/train_log.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l['step'] for l in lines] == [0, 1, 2]
for k in ('eval/reward', 'eval/kl', 'gold/eval', 'gold/eval_exact'):
    assert k in lines[0] and k in lines[2], k
for k in ('objective/kl', 'objective/entropy', 'objective/scores', 'objective/rlhf_reward',
          'policy/clipfrac_avg', 'policy/approxkl_avg', 'loss/policy_avg', 'loss/value_avg',
          'val/ratio', 'gold/scores', 'group/foc/mean_score', 'group/ref/mean_score'):
    assert k in lines[-1], k
PY
then pass "ppo log has TRL's names, gold and group scores"; else fail "ppo log names" "$(cat "$TMP/ppo/train_log.jsonl")"; fi

# The fixed evaluation set covering every response: before training its
# figures follow from `score`'s probabilities of the same model and the truth.
run_cmd ppo --policy "$TMP/sft" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv" \
    --truth "$TMP/truth.csv" --out "$TMP/ppo_eval" --steps 1 --batch 4 --minibatch 4 \
    --eval-size 1000 --eval-every 1 $T
expect_exit 0 "ppo with a fixed evaluation set"
if python3 - "$TMP/ppo_eval/train_log.jsonl" "$TMP/scores.csv" <<'PY'
import csv, json, sys
first = json.loads(open(sys.argv[1]).readline())
rows = list(csv.DictReader(open(sys.argv[2])))
gold = exact = 0.0
for r in rows:
    p = [float(r['p_%d' % k]) for k in range(4)]
    t = int(r['human_score'])  # the truth file repeats the human scores
    gold -= sum(q * abs(k - t) for k, q in enumerate(p))
    exact += int(r['score_mode']) == t
assert first['step'] == 0 and first['eval/kl'] == 0, first
assert abs(first['gold/eval'] - gold / len(rows)) < 1e-6, (first['gold/eval'], gold / len(rows))
assert first['gold/eval_exact'] == exact / len(rows), (first['gold/eval_exact'], exact / len(rows))
PY
then pass "fixed-set gold before training equals the one computed from score's probabilities"
else fail "fixed-set evaluation" "$(head -1 "$TMP/ppo_eval/train_log.jsonl")"; fi

run_cmd ppo --policy "$TMP/sft" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/ppo_stop" --steps 3 --batch 8 --minibatch 4 --kl-stop 0.000001 --kl-coef 0 --lr 0.05 $T
expect_exit 0 "ppo with a tiny KL bound"
expect_err_contains "stopping early" "early stop names the reason"

run_cmd dpo --policy "$TMP/sft" --instrument "$INS" --pairs "$TMP/judged.csv" --out "$TMP/dpo" --steps 2 --batch 4 $T
expect_exit 0 "dpo"
prose_check dpo "$TMP/dpo"
grep -q '"rewards/margins"' "$TMP/dpo/train_log.jsonl" && pass "dpo log has rewards/*" || fail "dpo log"

# ---- bad input ----------------------------------------------------------
sed '3s/,a,/,maybe,/; 3s/,b,/,maybe,/' "$TMP/judged.csv" >"$TMP/bad_pref.csv"
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/bad_pref.csv" --out "$TMP/rm_bad" $T
expect_exit 2 "preferred outside {a, b, tie, empty}"
expect_err_contains "bad_pref.csv:3:7:" "names file, line and column"
expect_no_file "$TMP/rm_bad" "no model written"

sed '2s/^\([^,]*\),A,/\1,Z,/; 2s/^\([^,]*\),B,/\1,Z,/' "$TMP/judged.csv" >"$TMP/bad_item.csv"
run_cmd dpo --policy "$TMP/sft" --instrument "$INS" --pairs "$TMP/bad_item.csv" --out "$TMP/dpo_bad" $T
expect_exit 2 "pairs naming an unknown item"
expect_err_contains "bad_item.csv:2:2:" "names the item cell"
expect_no_file "$TMP/dpo_bad" "no model written"

head -5 "$TMP/judged.csv" >"$TMP/few.csv"
run_cmd reward --init "$TMP/sft" --instrument "$INS" --pairs "$TMP/few.csv" --out "$TMP/rm_few" $T
expect_exit 2 "too few judged pairs"
expect_err_contains "needs at least 20" "says how many are needed"

run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/other" --steps 1 --batch 4 \
    --layers 1 --heads 2 --embd 16 --ctx 48 --vocab 300 --pretrain-steps 1 --seed 9 $T
run_cmd ppo --policy "$TMP/other" --reward "$TMP/rm" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/ppo_bad" --steps 1 $T
expect_exit 2 "reward model with another tokenizer"
expect_err_contains "different tokenizer" "says why"
expect_no_file "$TMP/ppo_bad" "no model written"

run_cmd ppo --policy "$TMP/sft" --reward "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/ppo_bad" --steps 1 $T
expect_exit 2 "a policy given as reward model"
expect_err_contains "not a reward model" "says what is missing"

run_cmd pairs --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/p.csv"
expect_exit 2 "pairs without --n"
expect_no_temporaries "$TMP" "no temporary files left"

# --keep-best reaches the driver: the kept step and the metric are recorded,
# and the summary names the kept step (the step itself is the driver's unit
# test; here: a step that was evaluated, 1..3 with --eval-every 1).
run_cmd sft --init "$TMP/sft-pretrain" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/sft_best" --steps 3 --batch 4 --eval-every 1 --keep-best $T
expect_exit 0 "sft --keep-best"
if python3 - "$TMP/sft_best/config.json" "$TMP/sft_best/train_log.jsonl" <<'PY'
import json, sys
kb = json.load(open(sys.argv[1]))["provenance"]["keep_best"]
log = [json.loads(l) for l in open(sys.argv[2])]
evals = {r["step"]: r["val_qwk"] for r in log if "val_qwk" in r}
assert kb["metric"] == "val_qwk" and kb["step"] in evals, (kb, evals)
assert kb["value"] == max(evals.values()), (kb, evals)
PY
then pass "sft --keep-best records the step with the best val_qwk"; else fail "sft --keep-best provenance"; fi
run_cmd sft --init "$TMP/sft-pretrain" --instrument "$INS" --data "$TMP/responses.csv" \
    --out "$TMP/sft_wf" --steps 3 --warmup-fraction 1.5 $T
expect_exit 2 "--warmup-fraction above 1"
expect_err_contains "--warmup-fraction must be between 0 and 1, got '1.5'" "names the range"
