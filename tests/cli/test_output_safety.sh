#!/usr/bin/env bash
# Outputs never destroy a user's file (issue 13, points 1-3): a device, FIFO
# or symbolic link given as --out is refused and left as it is; a folder
# output (report, model, simulation) carries a manifest of the files
# sjtalign wrote and replaces only a folder holding nothing else, unchanged.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
AUDIT_ARGS=(--instrument "$FIX/instrument.json" --group group --reference ref --focal foc)
printf 'person_id,item_id,score,group\np1,i1,1,a\np1,i2,0,a\np2,i1,0,b\np2,i2,1,b\n' >"$TMP/dif.csv"
DIF_ARGS=(--data "$TMP/dif.csv" --reference a --focal b)

# expect_same FILE CONTENT DESCRIPTION: FILE is a regular file holding CONTENT.
expect_same() {
    if [ -f "$1" ] && [ ! -L "$1" ] && [ "$(cat "$1")" = "$2" ]; then pass "$3"
    else fail "$3" "$(ls -la "$1" 2>&1)"; fi
}

# ---- devices, FIFOs and symbolic links --------------------------------------------
mkdir "$TMP/d"
if mknod "$TMP/d/null" c 1 3 2>/dev/null; then
    run_cmd dif "${DIF_ARGS[@]}" --out "$TMP/d/null"
    expect_exit 2 "dif --out a character device"
    expect_err_contains "$TMP/d/null is a character device" "the message names the device"
    if [ -c "$TMP/d/null" ]; then pass "the device is still a character device"; else fail "the device was replaced" "$(ls -la "$TMP/d")"; fi
    run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/d/null"
    expect_exit 2 "audit --out a character device (a folder output)"
    if [ -c "$TMP/d/null" ]; then pass "the device is still a character device after audit"; else fail "audit replaced the device"; fi
    if [ "$(ls -A "$TMP/d")" = null ]; then pass "nothing written beside the device"; else fail "files beside the device" "$(ls -A "$TMP/d")"; fi
else
    echo "# skip: mknod needs root"
fi
mkfifo "$TMP/fifo"
run_cmd simulate --out "$TMP/fifo" --persons 5 --items 2
expect_exit 2 "simulate --out a FIFO"
if [ -p "$TMP/fifo" ]; then pass "the FIFO is left as it is"; else fail "the FIFO was replaced"; fi

echo "the user's table" >"$TMP/target.csv"
ln -s "$TMP/target.csv" "$TMP/link.csv"
run_cmd dif "${DIF_ARGS[@]}" --out "$TMP/link.csv"
expect_exit 2 "dif --out a symbolic link"
if [ -L "$TMP/link.csv" ]; then pass "the link is still a link"; else fail "the link was replaced"; fi
expect_same "$TMP/target.csv" "the user's table" "the link's target is untouched"

mkdir "$TMP/real"
echo "notes" >"$TMP/real/notes.txt"
ln -s "$TMP/real" "$TMP/linkdir"
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/linkdir"
expect_exit 2 "audit --out a symbolic link to a folder"
expect_err_contains "$TMP/linkdir is a symbolic link" "the message names the link"
if [ -L "$TMP/linkdir" ]; then pass "the folder link is still a link"; else fail "the folder link was replaced"; fi
if [ "$(ls -A "$TMP/real")" = notes.txt ]; then pass "the linked folder is untouched"; else fail "the linked folder changed" "$(ls -A "$TMP/real")"; fi

# ---- report folders ---------------------------------------------------------------------
mkdir "$TMP/f"
echo '{}' >"$TMP/f/audit.json"
printf 'PK\003\004 my thesis' >"$TMP/f/thesis.docx"
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/f"
expect_exit 2 "audit --out a folder holding someone's thesis"
expect_err_contains "$TMP/f/audit.json (and 1 more) was not written by sjtalign" "the message names the files"
expect_err_contains "choose another --out or move them" "the message says what to do"
expect_same "$TMP/f/thesis.docx" "$(printf 'PK\003\004 my thesis')" "thesis.docx intact"
expect_same "$TMP/f/audit.json" "{}" "the user's audit.json intact"
expect_no_temporaries "$TMP" "no temporary folder left"

run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/rep"
expect_exit 0 "audit into a new folder"
if python3 -c "
import hashlib, json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, '.sjtalign-manifest.json')))
assert m['format'] == 'sjtalign-output-manifest' and m['format_version'] == 1, m
assert m['command'] == 'audit', m['command']
names = sorted(e['name'] for e in m['files'])
assert names == sorted(n for n in os.listdir(d) if n != '.sjtalign-manifest.json'), names
for e in m['files']:
    data = open(os.path.join(d, e['name']), 'rb').read()
    assert e['bytes'] == len(data) and e['sha256'] == hashlib.sha256(data).hexdigest(), e
" "$TMP/rep" 2>"$TMP/err"; then pass "the manifest lists every file with its size and sha256"
else fail "the manifest lists every file with its size and sha256" "$(cat "$TMP/err")"; fi
run_cmd audit --data "$FIX/after.csv" "${AUDIT_ARGS[@]}" --out "$TMP/rep"
expect_exit 0 "audit again into its own report folder"
if grep -q after.csv "$TMP/rep/audit.json"; then pass "the report was replaced"; else fail "the report was not replaced"; fi
echo "my comments" >"$TMP/rep/comments.txt"
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/rep"
expect_exit 2 "a user's file added to the report blocks the next replacement"
expect_err_contains "$TMP/rep/comments.txt was not written by sjtalign" "the message names the user's file"
expect_same "$TMP/rep/comments.txt" "my comments" "the user's file intact"
if grep -q after.csv "$TMP/rep/audit.json"; then pass "the earlier report is kept"; else fail "the earlier report changed"; fi
rm "$TMP/rep/comments.txt"

# An input inside the output folder is not in the manifest: refused.
cp "$FIX/before.csv" "$TMP/rep/scores.csv"
run_cmd audit --data "$TMP/rep/scores.csv" "${AUDIT_ARGS[@]}" --out "$TMP/rep"
expect_exit 2 "audit --data rep/scores.csv --out rep"
if cmp -s "$FIX/before.csv" "$TMP/rep/scores.csv"; then pass "the input inside the folder is intact"; else fail "the input was changed"; fi
rm "$TMP/rep/scores.csv"

# A file of the report edited by hand is not replaced either.
echo "<!-- my annotations -->" >>"$TMP/rep/index.html"
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/rep"
expect_exit 2 "a report file edited by hand blocks the replacement"
expect_err_contains "$TMP/rep/index.html was changed after sjtalign wrote it" "the message names the edited file"
if tail -1 "$TMP/rep/index.html" | grep -q "my annotations"; then pass "the edit is kept"; else fail "the edit was lost"; fi

# compare never replaces an audit it reads (nor any folder another command wrote).
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/b"
run_cmd audit --data "$FIX/after.csv" "${AUDIT_ARGS[@]}" --out "$TMP/a"
before_sum=$(cat "$TMP"/b/* | sha256sum)
run_cmd compare --before "$TMP/b" --after "$TMP/a" --out "$TMP/b"
expect_exit 2 "compare --out its own --before audit"
expect_err_contains "--out $TMP/b is also the input --before $TMP/b; sjtalign never writes over its own input" \
    "the message names the output and the input"
if [ "$(cat "$TMP"/b/* | sha256sum)" = "$before_sum" ]; then pass "the before-audit is intact"; else fail "the before-audit changed"; fi
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/other"
other_sum=$(cat "$TMP"/other/* | sha256sum)
run_cmd compare --before "$TMP/b" --after "$TMP/a" --out "$TMP/other"
expect_exit 2 "compare --out an audit it does not read"
expect_err_contains "was written by \`sjtalign audit\`" "the message names the command that wrote it"
if [ "$(cat "$TMP"/other/* | sha256sum)" = "$other_sum" ]; then pass "that audit is intact"; else fail "that audit changed"; fi
run_cmd compare --before "$TMP/b" --after "$TMP/a" --out "$TMP/cmp"
expect_exit 0 "compare into a new folder"
run_cmd compare --before "$TMP/b" --after "$TMP/a" --out "$TMP/cmp"
expect_exit 0 "compare again into its own folder"

# ---- simulate ------------------------------------------------------------------------------
mkdir "$TMP/s"
echo "person_id,item_id,response" >"$TMP/s/responses.csv"
echo "P1,S01,my real participant's answer" >>"$TMP/s/responses.csv"
keep=$(cat "$TMP/s/responses.csv")
run_cmd simulate --out "$TMP/s" --persons 5 --items 2
expect_exit 2 "simulate --out a folder holding a user's responses.csv"
expect_err_contains "$TMP/s/responses.csv was not written by sjtalign" "the message names responses.csv"
expect_same "$TMP/s/responses.csv" "$keep" "the user's responses.csv intact"
if [ "$(ls -A "$TMP/s")" = responses.csv ]; then pass "nothing else written into the folder"; else fail "files written beside it" "$(ls -A "$TMP/s")"; fi

run_cmd simulate --out "$TMP/sim" --persons 5 --items 2 --seed 1
expect_exit 0 "simulate into a new folder"
run_cmd simulate --out "$TMP/sim" --persons 5 --items 2 --seed 2
expect_exit 0 "simulate again into its own folder"
# The user's own data copied over the simulated responses is never replaced.
cp "$TMP/s/responses.csv" "$TMP/sim/responses.csv"
run_cmd simulate --out "$TMP/sim" --persons 5 --items 2 --seed 3
expect_exit 2 "simulate over its folder whose responses.csv the user replaced"
expect_err_contains "$TMP/sim/responses.csv was changed after sjtalign wrote it" "the message names responses.csv"
expect_same "$TMP/sim/responses.csv" "$keep" "the user's responses.csv survives"

# A pipeline whose data is the user's own and that keeps a simulate stage.
mkdir -p "$TMP/study/data"
cp "$TMP/s/responses.csv" "$TMP/study/data/responses.csv"
cat >"$TMP/study/pipeline.json" <<'JSON'
{
  "name": "own data, simulate stage kept",
  "seed": 3,
  "instrument": "data/instrument.json",
  "data": "data/responses.csv",
  "reference": "reference",
  "focal": "focal",
  "runs": "runs",
  "reports": "reports",
  "stages": {"simulate": {"persons": 5, "items": 2}}
}
JSON
(cd "$TMP/study" && "$SJTALIGN" run pipeline.json >"$TMP/.stdout" 2>"$TMP/.stderr")
RC=$?
ERR=$(cat "$TMP/.stderr")
expect_exit 2 "run: a simulate stage over the user's data folder"
expect_err_contains "data/responses.csv was not written by sjtalign" "run: the message names the user's file"
expect_same "$TMP/study/data/responses.csv" "$keep" "run: the user's responses.csv intact"

# ---- model folders ----------------------------------------------------------------------------
{
    echo "person_id,item_id,response"
    for who in Ana Ben Chloe Dev Eli Fay; do
        echo "$who,deadline,\"$who would talk to the manager about the deadline first.\""
    done
} >"$TMP/resp.csv"
tiny=(--layers 1 --heads 2 --embd 16 --ctx 64 --vocab 300 --batch 4 --threads 1 --seed 5 --steps 2)
mkdir "$TMP/m"
cp "$TMP/resp.csv" "$TMP/m/resp.csv"
run_cmd pretrain --data "$TMP/m/resp.csv" --out "$TMP/m" "${tiny[@]}"
expect_exit 2 "pretrain --out a folder holding the user's resp.csv"
if cmp -s "$TMP/resp.csv" "$TMP/m/resp.csv" && [ "$(ls -A "$TMP/m")" = resp.csv ]; then
    pass "resp.csv intact and alone"
else fail "resp.csv intact and alone" "$(ls -A "$TMP/m")"; fi

run_cmd pretrain --data "$TMP/resp.csv" --out "$TMP/model" "${tiny[@]}"
expect_exit 0 "pretrain into a new folder"
run_cmd pretrain --data "$TMP/resp.csv" --out "$TMP/model" "${tiny[@]}"
expect_exit 0 "pretrain again into its own model folder"
if grep -q '"command":[[:space:]]*"pretrain"' "$TMP/model/.sjtalign-manifest.json"; then
    pass "the model's manifest names pretrain"
else fail "the model's manifest names pretrain" "$(cat "$TMP/model/.sjtalign-manifest.json")"; fi
weights=$(sha256sum <"$TMP/model/model.safetensors")
run_cmd audit --data "$FIX/before.csv" "${AUDIT_ARGS[@]}" --out "$TMP/model"
expect_exit 2 "audit --out a model folder (a mistyped --out)"
if [ "$(sha256sum <"$TMP/model/model.safetensors")" = "$weights" ] && [ -f "$TMP/model/config.json" ]; then
    pass "the model is intact"
else fail "the model changed"; fi
expect_no_temporaries "$TMP" "no temporaries left anywhere"
