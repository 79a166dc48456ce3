# The hostile-input catalogue (tests/hostile/README.md): each bad input ends
# with exit 2 and a message naming file, line and column, and no output;
# valid oddities (BOM, CRLF, a huge field) succeed.
. "$(dirname "$0")/lib.sh"

INS="$SJTALIGN_ROOT/tests/fixtures/io/instrument.json"
H='person_id,item_id,response,score'

# hostile NAME EXIT MESSAGE ARGS...: runs sjtalign ARGS and checks the exit
# code, that stderr holds MESSAGE, and that the output folder stays empty.
hostile() {
    local name=$1 code=$2 message=$3
    shift 3
    mkdir -p "$TMP/out"
    run_cmd "$@"
    expect_exit "$code" "$name"
    if [ -n "$message" ]; then expect_err_contains "$message" "$name: message"; fi
    if [ -z "$(ls -A "$TMP/out")" ]; then pass "$name: no output"; else fail "$name: no output" "$(ls -A "$TMP/out")"; fi
}

csv() { printf "$2" >"$TMP/$1"; }

csv empty.csv ''
hostile "empty file" 2 "$TMP/empty.csv: the file is empty" validate --data "$TMP/empty.csv" --instrument "$INS"
csv header.csv "$H\n"
hostile "header only" 2 "$TMP/header.csv:2: no data rows after the header" validate --data "$TMP/header.csv" --instrument "$INS"
csv semicolons.csv 'person_id;item_id;response\np1;deadline;x\n'
hostile "wrong delimiter" 2 "missing column 'person_id' (the header has 'person_id;item_id;response')" validate --data "$TMP/semicolons.csv" --instrument "$INS"
csv ragged.csv 'person_id,item_id,response\np1,deadline,x\np2,deadline\n'
hostile "ragged row" 2 "$TMP/ragged.csv:3: ragged row: 2 fields, but the header has 3" validate --data "$TMP/ragged.csv" --instrument "$INS"
csv quote.csv 'person_id,item_id,response\np1,deadline,x\np2,deadline,"open\np3,deadline,y\n'
hostile "unbalanced quote" 2 "$TMP/quote.csv:3:3: unbalanced quote" validate --data "$TMP/quote.csv" --instrument "$INS"
{ printf 'person_id,item_id,response\np1,deadline,"'; head -c 10485760 /dev/zero | tr '\0' 'a'; printf '"\n'; } >"$TMP/huge.csv"
hostile "a 10 MB single field" 0 "" validate --data "$TMP/huge.csv" --instrument "$INS"
printf 'person_id,item_id,response\np1,deadline,a\0b\n' >"$TMP/nul.csv"
hostile "NUL byte" 2 "$TMP/nul.csv:2:3: a NUL byte" validate --data "$TMP/nul.csv" --instrument "$INS"
csv latin1.csv 'person_id,item_id,response\np1,deadline,caf\351\n'
hostile "invalid UTF-8" 2 "$TMP/latin1.csv:2:3: invalid UTF-8" validate --data "$TMP/latin1.csv" --instrument "$INS"
csv bom.csv '\357\273\277person_id,item_id,response\np1,deadline,x\n'
hostile "BOM" 0 "" validate --data "$TMP/bom.csv" --instrument "$INS"
csv crlf.csv 'person_id,item_id,response\r\np1,deadline,x\r\n'
hostile "CRLF" 0 "" validate --data "$TMP/crlf.csv" --instrument "$INS"
for bad in NaN Inf 1e999 -inf; do
    csv "num.csv" "$H\np1,deadline,x,$bad\n"
    hostile "score $bad" 2 "$TMP/num.csv:2:4: column 'score': expected a finite number, found '$bad'" validate --data "$TMP/num.csv" --instrument "$INS" --score score
done
csv range.csv "$H\np1,deadline,x,7\n"
hostile "score outside the range" 2 "$TMP/range.csv:2:4: score 7 is outside the instrument's range 0..2" validate --data "$TMP/range.csv" --instrument "$INS" --score score
csv dup.csv "$H\np1,deadline,x,1\np1,deadline,y,2\n"
hostile "duplicate person x item" 2 "$TMP/dup.csv:3:1: person 'p1' answers item 'deadline' twice" validate --data "$TMP/dup.csv" --instrument "$INS"
csv unknown.csv "$H\np1,lunch,x,1\n"
hostile "unknown item" 2 "$TMP/unknown.csv:2:2: unknown item 'lunch'" validate --data "$TMP/unknown.csv" --instrument "$INS"
csv ok.csv "$H\np1,deadline,x,1\n"
csv syntax.json '{\n  "id": "x",\n  "title": "t" "score_min": 0\n}\n'
hostile "instrument syntax error" 2 "$TMP/syntax.json:3:16: JSON syntax error" validate --data "$TMP/ok.csv" --instrument "$TMP/syntax.json"
sed 's/"score": 0/"score": 9/' "$INS" >"$TMP/rubric.json"
hostile "instrument rubric out of range" 2 "items[0].rubric[0].score: expected a score between score_min 0 and score_max 2" validate --data "$TMP/ok.csv" --instrument "$TMP/rubric.json"

# Pipeline files are checked before any stage runs.
cat >"$TMP/p_stage.json" <<JSON
{
  "instrument": "$INS",
  "data": "$TMP/ok.csv",
  "runs": "$TMP/out/runs",
  "stages": {
    "polish": {}
  }
}
JSON
hostile "pipeline: unknown stage" 2 "$TMP/p_stage.json:6:5: stages.polish: unknown stage" run "$TMP/p_stage.json"
printf '{\n  "instrument": "%s",\n  "runs": "%s",\n  "stages": {}\n}\n' "$INS" "$TMP/out/runs" >"$TMP/p_missing.json"
hostile "pipeline: missing required key" 2 "missing required key 'data'" run "$TMP/p_missing.json"
printf '{\n  "instrument": "%s",\n  "data": "%s",\n  "runs": "%s",\n  "stages": {}\n}\n' "$INS" "$TMP/nowhere.csv" "$TMP/out/runs" >"$TMP/p_path.json"
hostile "pipeline: path that does not exist" 2 "$TMP/p_path.json:3:3: data: $TMP/nowhere.csv does not exist" run "$TMP/p_path.json"

# ---- dif, parity, audit: groups, non-finite scores, duplicates ----------
# Six persons, two 0/1 items; persons 1-3 in 'ref', 4-6 in 'foc'.
{
    echo "person_id,item_id,group,score"
    for p in 1 2 3 4 5 6; do
        g=ref
        [ "$p" -gt 3 ] && g=foc
        echo "p$p,i1,$g,$((p % 2))"
        echo "p$p,i2,$g,$(((p + 1) % 2))"
    done
} >"$TMP/groups.csv"
G=(--reference ref --focal foc)
sed 's/,foc,/,ref,/' "$TMP/groups.csv" >"$TMP/onegroup.csv"
hostile "dif: one group only" 2 "group 'foc' does not occur in the group column (groups present: 'ref')" \
    dif --data "$TMP/onegroup.csv" "${G[@]}" --out "$TMP/out/dif.csv"
hostile "parity: one group only" 2 "group 'foc' does not occur in the group column" \
    parity --data "$TMP/onegroup.csv" --person person_id "${G[@]}" --out "$TMP/out/parity.json"
grep -v '^p[56],' "$TMP/groups.csv" >"$TMP/oneperson.csv"
hostile "parity: a group with one person" 2 "parity needs at least two scored observations per group; found 3 in 'ref' and 1 in 'foc'" \
    parity --data "$TMP/oneperson.csv" --person person_id "${G[@]}" --out "$TMP/out/parity.json"
# dif documents this case: the items are reported untested, with a note.
run_cmd dif --data "$TMP/oneperson.csv" "${G[@]}" --out "$TMP/out/dif.csv"
expect_exit 0 "dif: a group with one person (documented: items not tested)"
if grep -q '^i1,foc,dichotomous,0,4,3,1,.*"not tested: 3 reference and 1 focal persons, fewer than --min-cell 5"$' "$TMP/out/dif.csv"; then
    pass "dif: a group with one person: untested with a note"
else fail "dif: a group with one person: untested with a note" "$(cat "$TMP/out/dif.csv")"; fi
rm -f "$TMP/out/dif.csv"
for bad in NaN Inf 1e999 -inf; do
    sed "4s/,0\$/,$bad/" "$TMP/groups.csv" >"$TMP/nonfinite.csv"
    hostile "dif: score $bad" 2 "$TMP/nonfinite.csv:4:4: column 'score': DIF needs whole-number item scores (an ordinal scale), found '$bad'" \
        dif --data "$TMP/nonfinite.csv" "${G[@]}" --out "$TMP/out/dif.csv"
    hostile "parity: score $bad" 2 "$TMP/nonfinite.csv:4:4: column 'score': expected a finite number, found '$bad'" \
        parity --data "$TMP/nonfinite.csv" "${G[@]}" --out "$TMP/out/parity.json"
done
{ cat "$TMP/groups.csv"; echo "p1,i1,ref,1"; } >"$TMP/duprow.csv"
hostile "dif: duplicate person x item row" 2 "$TMP/duprow.csv:14:2: person 'p1' answers item 'i1' a second time" \
    dif --data "$TMP/duprow.csv" "${G[@]}" --out "$TMP/out/dif.csv"

# audit reads a scores file as `score` writes it (one item 'deadline', 0..2).
scores_file() { # N_REF: persons 1..N_REF are 'ref', the rest of 12 'foc'
    echo "person_id,item_id,response,group,human_score,score,score_mode,p_0,p_1,p_2"
    for p in $(seq 1 12); do
        g=ref
        [ "$p" -gt "$1" ] && g=foc
        echo "p$p,deadline,text $p,$g,$((p % 3)),$((p % 3)).0,$((p % 3)),0.2,0.3,0.5"
    done
}
scores_file 12 >"$TMP/scores_onegroup.csv"
hostile "audit: one group only" 2 "$TMP/scores_onegroup.csv: column 'group' has no group 'foc' (groups: 'ref')" \
    audit --data "$TMP/scores_onegroup.csv" --instrument "$INS" --group group "${G[@]}" --out "$TMP/out/audit"
scores_file 11 >"$TMP/scores_oneperson.csv"
hostile "audit: a group with one person" 2 "found 11 in 'ref' and 1 in 'foc'" \
    audit --data "$TMP/scores_oneperson.csv" --instrument "$INS" --group group "${G[@]}" --out "$TMP/out/audit"

# ---- damaged, foreign and inconsistent model directories ----------------
R="$TMP/resp.csv"
printf 'person_id,item_id,response,human\np1,deadline,I would talk to them.,2\np2,deadline,I would do it myself.,1\np3,deadline,I would complain.,0\n' >"$R"
tinylm=(--heads 2 --embd 8 --ctx 64 --vocab 270 --steps 2 --batch 2 --threads 1 --save-every 0)
"$SJTALIGN" pretrain --data "$R" --out "$TMP/m1" --layers 1 "${tinylm[@]}" 2>/dev/null
"$SJTALIGN" pretrain --data "$R" --out "$TMP/m2" --layers 2 "${tinylm[@]}" 2>/dev/null
model_copy() { rm -rf "$TMP/$2" && cp -r "$TMP/$1" "$TMP/$2"; }
set_config() { # DIR PYTHON-STATEMENT on the dict c
    python3 -c "import json, sys; c = json.load(open(sys.argv[1])); $2; json.dump(c, open(sys.argv[1], 'w'), indent=1)" "$1/config.json"
}
score_with() { hostile "$1" 2 "$2" score --model "$3" --instrument "$INS" --data "$R" --out "$TMP/out/scores.csv" --threads 1; }
sft_with() { hostile "$1" 2 "$2" sft --init "$3" --instrument "$INS" --data "$R" --score human --steps 1 --out "$TMP/out/sft" --threads 1; }

model_copy m1 trunc
head -c 1000 "$TMP/m1/model.safetensors" >"$TMP/trunc/model.safetensors"
score_with "score: truncated model.safetensors" "$TMP/trunc/model.safetensors: checksum" "$TMP/trunc"
sft_with "sft --init: truncated model.safetensors" "$TMP/trunc/model.safetensors: checksum" "$TMP/trunc"
model_copy m1 hfconfig
echo '{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 768}' >"$TMP/hfconfig/config.json"
score_with "score: foreign config.json" "$TMP/hfconfig/config.json: not an sjtalign model" "$TMP/hfconfig"
# A foreign weights file whose checksum config.json was made to match.
model_copy m1 foreign
head -c 40000 /dev/zero | tr '\0' 'x' >"$TMP/foreign/model.safetensors"
set_config "$TMP/foreign" "import hashlib; c['weights_sha256'] = hashlib.sha256(open(sys.argv[1][:-11] + 'model.safetensors', 'rb').read()).hexdigest()"
score_with "score: foreign model.safetensors" "$TMP/foreign/model.safetensors: not a safetensors file or truncated" "$TMP/foreign"
model_copy m1 bigger
set_config "$TMP/bigger" "c['architecture']['layers'] = 2"
score_with "score: config larger than the weights" "$TMP/bigger/model.safetensors: 15384 bytes, too small for the 4400 parameters that config.json describes: the config and the weights disagree" "$TMP/bigger"
model_copy m2 smaller
set_config "$TMP/smaller" "c['architecture']['layers'] = 1"
sft_with "sft --init: config smaller than the weights" "$TMP/smaller/model.safetensors: tensor \"h.1.ln_1.weight\" is neither part of the architecture in config.json nor one of its extra_tensors: the config and the weights disagree" "$TMP/smaller"
model_copy m1 wider
set_config "$TMP/wider" "c['architecture']['vocab'] = 200000"
sft_with "sft --init: config and weights disagree on the vocabulary" "the config and the weights disagree" "$TMP/wider"

# ---- judged pairs: invalid values and unknown items ---------------------
PH='pair_id,item_id,person_id,response,completion_a,completion_b,preferred,judge_id'
pairs_file() { printf '%s\nq1,deadline,p1,I would talk to them.,score: 2,score: 0,a,J1\n%s\n' "$PH" "$2" >"$TMP/$1"; }
pairs_file pref.csv 'q2,deadline,p2,I would do it myself.,score: 1,score: 2,maybe,J1'
hostile "reward: preferred is not a, b or empty" 2 "$TMP/pref.csv:3:7: preferred must be 'a', 'b' or empty, got 'maybe'" \
    reward --init "$TMP/m1" --instrument "$INS" --pairs "$TMP/pref.csv" --out "$TMP/out/rm"
pairs_file range.csv 'q2,deadline,p2,I would do it myself.,score: 9,score: 2,b,J1'
hostile "dpo: completion score outside the range" 2 "$TMP/range.csv:3:5: expected a completion 'score: k' with k in 0..2, got 'score: 9'" \
    dpo --policy "$TMP/m1" --instrument "$INS" --pairs "$TMP/range.csv" --out "$TMP/out/dpo"
pairs_file text.csv 'q2,deadline,p2,I would do it myself.,score: 1,great,b,J1'
hostile "dpo: completion that is not a scoring" 2 "$TMP/text.csv:3:6: expected a completion 'score: k' with k in 0..2, got 'great'" \
    dpo --policy "$TMP/m1" --instrument "$INS" --pairs "$TMP/text.csv" --out "$TMP/out/dpo"
pairs_file item.csv 'q2,lunch,p2,I would do it myself.,score: 1,score: 2,b,J1'
hostile "reward: unknown item in pairs" 2 "$TMP/item.csv:3:2: item 'lunch' is not in instrument 'cli-fixture'" \
    reward --init "$TMP/m1" --instrument "$INS" --pairs "$TMP/item.csv" --out "$TMP/out/rm"
hostile "dpo: unknown item in pairs" 2 "$TMP/item.csv:3:2: item 'lunch' is not in instrument 'cli-fixture'" \
    dpo --policy "$TMP/m1" --instrument "$INS" --pairs "$TMP/item.csv" --out "$TMP/out/dpo"
