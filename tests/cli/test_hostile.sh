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
