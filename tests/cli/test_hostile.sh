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
if grep -q '^i1,foc,dichotomous,FALSE,4,3,1,.*"not tested: 3 reference and 1 focal persons, fewer than --min-cell 5"$' "$TMP/out/dif.csv"; then
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
hostile "reward: preferred is not a, b, tie or empty" 2 "$TMP/pref.csv:3:7: preferred must be 'a', 'b', 'tie' or empty, got 'maybe'" \
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

# ---- issue 13: our own outputs read back as written ---------------------
# Cells that look like formulas are written with a quote before them and
# read back without it (README "Files"): a person id @P0001, item ids
# starting with = and -, and responses starting with "- " go from score to
# audit, and from pairs to judge and reward, as the same text.
cat >"$TMP/neut.json" <<'JSON'
{"id": "neut", "title": "Formula-like ids", "score_min": 0, "score_max": 2, "items": [
 {"id": "=sum", "scenario": "s", "question": "What now?", "rubric": [{"score": 0, "anchor": "nothing"}]},
 {"id": "-minus", "scenario": "s", "question": "And then?", "rubric": [{"score": 2, "anchor": "talks"}]}]}
JSON
{
    echo "person_id,item_id,response,group,human"
    for p in $(seq 1 12); do
        g=ref
        [ "$p" -gt 6 ] && g=foc
        id=$(printf '@P%04d' "$p")
        echo "$id,=sum,- bullet answer $p,$g,$((p % 3))"
        echo "$id,-minus,I would talk to them $p.,$g,$(((p + 1) % 3))"
    done
} >"$TMP/neut_resp.csv"
{
    echo "person_id,item_id,true_score"
    tail -n +2 "$TMP/neut_resp.csv" | awk -F, '{print $1","$2","$5}'
} >"$TMP/neut_truth.csv"
run_cmd score --allow-any-model --model "$TMP/m1" --instrument "$TMP/neut.json" --data "$TMP/neut_resp.csv" --out "$TMP/neut_scores.csv" --threads 1
expect_exit 0 "neutralised cells: score"
if grep -q "^'@P0001,'=sum,'- bullet answer 1,ref," "$TMP/neut_scores.csv"; then
    pass "neutralised cells: scores.csv holds the quoted forms on disk"
else fail "neutralised cells: scores.csv holds the quoted forms on disk" "$(head -3 "$TMP/neut_scores.csv")"; fi
run_cmd audit --data "$TMP/neut_scores.csv" --instrument "$TMP/neut.json" --group group --reference ref --focal foc \
    --human human --out "$TMP/neut_audit"
expect_exit 0 "neutralised cells: audit reads score's output (no unknown item)"
if grep -q "^'=sum," "$TMP/neut_audit/dif.csv" && grep -q "^'-minus," "$TMP/neut_audit/dif.csv"; then
    pass "neutralised cells: audit names both items"
else fail "neutralised cells: audit names both items" "$(cat "$TMP/neut_audit/dif.csv")"; fi
run_cmd pairs --model "$TMP/m1" --instrument "$TMP/neut.json" --data "$TMP/neut_resp.csv" --n 24 --out "$TMP/neut_pairs.csv" --seed 3 --threads 1
expect_exit 0 "neutralised cells: pairs"
run_cmd judge --truth "$TMP/neut_truth.csv" --pairs "$TMP/neut_pairs.csv" --out "$TMP/neut_judged.csv" --seed 1 --overlap 0
expect_exit 0 "neutralised cells: judge finds every person and item of the pairs in the truth"
# Judge reads the pairs and writes them again: a reader that kept the quote
# would make the writer add a second one.
if python3 - "$TMP/neut_resp.csv" "$TMP/neut_pairs.csv" "$TMP/neut_judged.csv" <<'PY'
import csv, re, sys
shape = re.compile(r"^'+[=+\-@\t\r]")
def read(path):  # the documented rule: one quote off a cell of that shape
    return [{k: v[1:] if shape.match(v) else v for k, v in r.items()} for r in csv.DictReader(open(path, newline=''))]
orig = {(r['person_id'], r['item_id']): r['response'] for r in read(sys.argv[1])}
pairs, judged = read(sys.argv[2]), read(sys.argv[3])
assert len(pairs) == 24 and len(judged) == 24
for p, j in zip(pairs, judged):
    assert p['response'] == orig[(p['person_id'], p['item_id'])], p
    for k in ('pair_id', 'item_id', 'person_id', 'response', 'completion_a', 'completion_b'):
        assert j[k] == p[k], (k, j[k], p[k])
    assert j['preferred'] in ('a', 'b')
raw = open(sys.argv[3]).read()
assert "'- bullet answer" in raw and "''" not in raw
PY
then pass "neutralised cells: pairs and judged read back as the original text"
else fail "neutralised cells: pairs and judged read back as the original text" "$(head -3 "$TMP/neut_judged.csv")"; fi
run_cmd reward --init "$TMP/m1" --instrument "$TMP/neut.json" --pairs "$TMP/neut_judged.csv" --out "$TMP/neut_rm" --steps 1 --batch 4 --threads 1 --quiet
expect_exit 0 "neutralised cells: reward reads the judged pairs"
run_cmd dpo --policy "$TMP/m1" --instrument "$TMP/neut.json" --pairs "$TMP/neut_judged.csv" --out "$TMP/neut_dpo" --steps 1 --batch 4 --threads 1 --quiet
expect_exit 0 "neutralised cells: dpo reads the judged pairs"

# ---- issue 13: bounded, regular inputs; what is wrong, said plainly -----
hostile "data is /dev/zero" 2 "/dev/zero is a character device; expected a regular file" \
    validate --data /dev/zero --instrument "$INS"
run_cmd validate --data - --instrument "$INS" </dev/zero
expect_exit 2 "data on standard input from /dev/zero"
expect_err_contains "<stdin>:1:1: a NUL byte in a field: this is not a text file" "standard input /dev/zero: the NUL byte at once"
python3 -c "import sys; open(sys.argv[1], 'wb').write('person_id,item_id,response\np1,deadline,x\n'.encode('utf-16'))" "$TMP/utf16.csv"
hostile "UTF-16 data" 2 "$TMP/utf16.csv:1: the file looks like UTF-16; save it as UTF-8" \
    validate --data "$TMP/utf16.csv" --instrument "$INS"
python3 -c "import sys; open(sys.argv[1], 'wb').write(open(sys.argv[2], 'rb').read().decode().encode('utf-16-le'))" "$TMP/utf16.json" "$INS"
hostile "UTF-16 instrument without a BOM" 2 "$TMP/utf16.json:1: the file looks like UTF-16; save it as UTF-8" \
    validate --data "$TMP/ok.csv" --instrument "$TMP/utf16.json"
python3 -c "import sys; open(sys.argv[1], 'w').write(','.join('c%d' % i for i in range(1000000)) + '\n')" "$TMP/wide.csv"
SECONDS=0
hostile "a header of 1,000,000 columns" 2 "$TMP/wide.csv:1: the header row has 1000000 columns, more than the 10000 a table may have" \
    validate --data "$TMP/wide.csv" --instrument "$INS"
if [ "$SECONDS" -lt 30 ]; then pass "a header of 1,000,000 columns: refused in ${SECONDS}s"; else fail "a header of 1,000,000 columns: took ${SECONDS}s"; fi
python3 -c "import sys; print('[' * 1001 + ']' * 1001)" >"$TMP/deep.json"
hostile "instrument nested 1001 levels" 2 "$TMP/deep.json:1:1001: nested deeper than 1000 levels of brackets and braces" \
    validate --data "$TMP/ok.csv" --instrument "$TMP/deep.json"
sed 's/"title": "One-item instrument for command-line tests",/&\n  "id": "other",/' "$INS" >"$TMP/dupkey.json"
hostile "instrument with a duplicate key" 2 "$TMP/dupkey.json:4:3: duplicate key 'id' (first at line 2)" \
    validate --data "$TMP/ok.csv" --instrument "$TMP/dupkey.json"
printf '{\n  "instrument": "%s",\n  "data": "%s",\n  "runs": "%s",\n  "data": "%s",\n  "stages": {}\n}\n' "$INS" "$TMP/ok.csv" "$TMP/out/runs" "$TMP/ok.csv" >"$TMP/p_dup.json"
hostile "pipeline: duplicate key" 2 "$TMP/p_dup.json:5:3: duplicate key 'data' (first at line 3)" run "$TMP/p_dup.json"
model_copy m1 dupcfg
sed -i '0,/"format":/s//"format": "x",\n\t"format":/' "$TMP/dupcfg/config.json"
score_with "score: config.json with a duplicate key" "$TMP/dupcfg/config.json:3:2: duplicate key 'format' (first at line 2)" "$TMP/dupcfg"
score_with "score: a model path that is a file" "$R is a file, not a model folder" "$R"
model_copy m1 zero
ln -sf /dev/zero "$TMP/zero/model.safetensors"
score_with "score: weights linked to /dev/zero" "$TMP/zero/model.safetensors is a character device; expected a regular file" "$TMP/zero"
model_copy m1 fifo
rm "$TMP/fifo/config.json" && mkfifo "$TMP/fifo/config.json"
SECONDS=0
run_cmd_timed() { timeout 30 "$SJTALIGN" "$@" >"$TMP/.stdout" 2>"$TMP/.stderr"; RC=$?; ERR=$(cat "$TMP/.stderr"); }
run_cmd_timed score --model "$TMP/fifo" --instrument "$INS" --data "$R" --out "$TMP/out/scores.csv" --threads 1
expect_exit 2 "score: config.json is a FIFO (never blocks)"
expect_err_contains "$TMP/fifo/config.json is a FIFO (named pipe); expected a regular file" "score: config.json is a FIFO: message"
if [ -z "$(ls -A "$TMP/out")" ]; then pass "score: config.json is a FIFO: no output"; else fail "score: config.json is a FIFO: no output" "$(ls -A "$TMP/out")"; fi
model_copy m1 alias
python3 - "$TMP/alias" <<'PY'
import hashlib, json, struct, sys
d = sys.argv[1]
raw = open(d + '/model.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
h = json.loads(raw[8:8 + n])
h['wpe']['data_offsets'] = [h['wte']['data_offsets'][0], h['wte']['data_offsets'][0] + h['wpe']['data_offsets'][1] - h['wpe']['data_offsets'][0]]
t = json.dumps(h).encode()
t += b' ' * (-len(t) % 8)
out = struct.pack('<Q', len(t)) + t + raw[8 + n:]
open(d + '/model.safetensors', 'wb').write(out)
c = json.load(open(d + '/config.json'))
c['weights_sha256'] = hashlib.sha256(out).hexdigest()
json.dump(c, open(d + '/config.json', 'w'), indent=1)
PY
# m1's vocabulary is 266 (the tokenizer finds 6 merges in three responses):
# wte is 266 x 8 floats = 8512 bytes at offset 0, wpe 64 x 8 floats = 2048.
score_with "score: wpe aliasing wte (checksum recomputed)" "$TMP/alias/model.safetensors: tensors \"wpe\" [0, 2048] and \"wte\" [0, 8512] overlap" "$TMP/alias"
