#!/usr/bin/env bash
# sjtalign pretrain and bench: training writes a complete model directory,
# resuming an interrupted run gives bit-identical weights, bad input exits 2
# without leaving a model behind.
. "$(dirname "$0")/lib.sh"

data="$TMP/responses.csv"
{
    echo "person_id,item_id,response"
    i=0
    for who in Ana Ben Chloe Dev Eli Fay Gus Hana Ivo Jo; do
        for what in "I would talk to my manager about the deadline first" \
            "I would ask the team for help and share the work" \
            "I would tell the customer the truth, politely"; do
            i=$((i + 1))
            echo "$who,item$((i % 3)),\"$who: $what.\""
        done
    done
} >"$data"
tiny=(--layers 1 --heads 2 --embd 16 --ctx 16 --vocab 300 --batch 4 --threads 1 --seed 7)

run_cmd pretrain --help
expect_exit 0 "--help"

run_cmd pretrain --data "$data" --out "$TMP/m1" "${tiny[@]}" --steps 12 --eval-every 5 --save-every 4
expect_exit 0 "pretrain on a responses file"
for f in config.json tokenizer.json model.safetensors optimizer.safetensors train_log.jsonl; do
    if [ -s "$TMP/m1/$f" ]; then pass "model directory has $f"; else fail "model directory lacks $f"; fi
done
lines=$(wc -l <"$TMP/m1/train_log.jsonl")
if [ "$lines" -eq 12 ]; then pass "train_log.jsonl has one line per step"; else fail "train_log.jsonl has $lines lines, expected 12"; fi
first=$(head -n 1 "$TMP/m1/train_log.jsonl")
last=$(tail -n 1 "$TMP/m1/train_log.jsonl")
case "$first" in *'"step":1,'*'"loss":'*'"lr":'*'"tokens_per_s":'*'"val_loss":'*) pass "first log line has step, loss, lr, tokens_per_s, val_loss" ;; *) fail "first log line: $first" ;; esac
case "$last" in *'"step":12,'*'"val_loss":'*) pass "last log line has val_loss" ;; *) fail "last log line: $last" ;; esac
case "$(sed -n 2p "$TMP/m1/train_log.jsonl")" in *val_loss*) fail "val_loss at step 2 (eval-every 5)" ;; *) pass "val_loss only when evaluated" ;; esac
sha=$(sha256sum "$TMP/m1/model.safetensors" | cut -d' ' -f1)
if grep -q "\"weights_sha256\":[[:space:]]*\"$sha\"" "$TMP/m1/config.json"; then pass "config.json holds the weights' sha256"; else fail "weights_sha256 mismatch"; fi
expect_no_temporaries "$TMP" "no temporary files or folders left"

# Interrupted after 7 steps, then resumed: the same weights as straight through.
run_cmd pretrain --data "$data" --out "$TMP/m2" "${tiny[@]}" --steps 12 --eval-every 5 --save-every 4 --stop-after 7
expect_exit 0 "run stopped after step 7"
if grep -q '"steps_done":[[:space:]]*7' "$TMP/m2/config.json"; then pass "checkpoint at step 7"; else fail "checkpoint is not at step 7" "$(grep steps_done "$TMP/m2/config.json")"; fi
run_cmd pretrain --data "$data" --out "$TMP/m2" "${tiny[@]}" --steps 12 --eval-every 5 --save-every 4 --resume
expect_exit 0 "resumed run"
if cmp -s "$TMP/m1/model.safetensors" "$TMP/m2/model.safetensors"; then pass "resumed weights are bit-identical"; else fail "resumed weights differ from the uninterrupted run"; fi
if cmp -s "$TMP/m1/optimizer.safetensors" "$TMP/m2/optimizer.safetensors"; then pass "resumed optimizer state is bit-identical"; else fail "optimizer state differs"; fi
lines=$(wc -l <"$TMP/m2/train_log.jsonl")
if [ "$lines" -eq 12 ]; then pass "resumed log has 12 lines"; else fail "resumed log has $lines lines"; fi

# Another architecture cannot resume this checkpoint; the model stays as it was.
before=$(sha256sum "$TMP/m2/model.safetensors")
run_cmd pretrain --data "$data" --out "$TMP/m2" --layers 2 --heads 2 --embd 16 --ctx 16 --vocab 300 --batch 4 --threads 1 --steps 14 --resume
expect_exit 2 "resume with another architecture"
expect_err_contains "architecture" "message names the architecture"
if [ "$before" = "$(sha256sum "$TMP/m2/model.safetensors")" ]; then pass "checkpoint untouched"; else fail "checkpoint changed"; fi

# A damaged checkpoint is refused.
cp -r "$TMP/m2" "$TMP/m3"
head -c 1000 "$TMP/m2/model.safetensors" >"$TMP/m3/model.safetensors"
run_cmd pretrain --data "$data" --out "$TMP/m3" "${tiny[@]}" --steps 14 --resume
expect_exit 2 "resume from a truncated checkpoint"
expect_err_contains "checksum" "message names the checksum"

# Bad input: exit 2 and no model directory.
: >"$TMP/empty.txt"
run_cmd pretrain --corpus "$TMP/empty.txt" --out "$TMP/bad1" "${tiny[@]}" --steps 2
expect_exit 2 "empty corpus"
expect_err_contains "empty" "message says empty"
expect_no_file "$TMP/bad1" "no model after an empty corpus"
printf 'caf\xe9 au lait\n\nsecond paragraph\n' >"$TMP/latin1.txt"
run_cmd pretrain --corpus "$TMP/latin1.txt" --out "$TMP/bad2" "${tiny[@]}" --steps 2
expect_exit 2 "corpus that is not UTF-8"
expect_err_contains "UTF-8" "message says UTF-8"
expect_no_file "$TMP/bad2" "no model after a non-UTF-8 corpus"
run_cmd pretrain --data "$data" --out "$TMP/bad3" --heads 3 --embd 16 --steps 2
expect_exit 2 "embd not divisible by heads"
expect_err_contains "divisible" "message explains divisibility"
expect_no_file "$TMP/bad3" "no model after bad heads"
run_cmd pretrain --data "$data" --out "$TMP/bad4" --ctx 4 --steps 2
expect_exit 2 "ctx below 8"
expect_err_contains "--ctx" "message names --ctx"
expect_no_file "$TMP/bad4" "no model after bad ctx"
mkdir -p "$TMP/notmodel" && echo keep >"$TMP/notmodel/notes.txt"
run_cmd pretrain --data "$data" --out "$TMP/notmodel" "${tiny[@]}" --steps 2
expect_exit 2 "refuses to replace a folder that is not a model"
if [ -f "$TMP/notmodel/notes.txt" ]; then pass "foreign folder untouched"; else fail "foreign folder changed"; fi

# A corpus file trains too.
for k in 1 2 3 4 5 6; do printf 'Paragraph %s is about kind and fair scoring.\nIt has two lines.\n\n' "$k"; done >"$TMP/corpus.txt"
run_cmd pretrain --corpus "$TMP/corpus.txt" --out "$TMP/c1" "${tiny[@]}" --steps 3
expect_exit 0 "pretrain on a corpus"

# bench prints one JSON line with the documented fields.
run_cmd bench --layers 1 --heads 2 --embd 16 --ctx 16 --vocab 300 --batch 2 --steps 2 --threads 1
expect_exit 0 "bench"
n=$(printf '%s\n' "$OUT" | wc -l)
if [ "$n" -eq 1 ]; then pass "bench prints one line"; else fail "bench printed $n lines"; fi
for k in tokens_per_s step_ms gflops mfu blas_core threads params; do
    expect_out_contains "\"$k\":" "bench reports $k"
done
run_cmd bench --heads 3 --embd 16 --steps 1
expect_exit 2 "bench with embd not divisible by heads"
