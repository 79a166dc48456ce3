#!/usr/bin/env bash
# Inputs are regular files read within bounds: devices, FIFOs and folders
# are refused at once, and the memory a CSV table or a JSON document takes
# stays within a small multiple of its size (README "Files").
. "$(dirname "$0")/lib.sh"

INS="$SJTALIGN_ROOT/tests/fixtures/io/instrument.json"
printf 'person_id,item_id,response\np1,deadline,x\n' >"$TMP/ok.csv"

# peak_kb CMD...: runs CMD (output to $TMP/.stdout, .stderr), sets RC and
# PEAK_KB, the peak resident memory of the command in KiB.
peak_kb() {
    local out
    out=$(python3 -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:], stdout=open(sys.argv[1] + "/.stdout", "w"), stderr=open(sys.argv[1] + "/.stderr", "w")).returncode
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$TMP" "$@")
    RC=${out% *}
    PEAK_KB=${out#* }
    ERR=$(cat "$TMP/.stderr")
}

# expect_peak_under KIB DESCRIPTION: the last peak_kb stayed under KIB. The
# sanitizer build (SJTALIGN_SANITIZED set by make test-asan) carries shadow
# memory and quarantined blocks, so there the bound is not measured (the
# plain build's run checks it).
expect_peak_under() {
    if [ -n "${SJTALIGN_SANITIZED:-}" ]; then
        echo "# not measured under sanitizers: $2 (${PEAK_KB} KiB)"
    elif [ "$PEAK_KB" -lt "$1" ]; then pass "$2: ${PEAK_KB} KiB"
    else fail "$2: peak ${PEAK_KB} KiB"; fi
}

# ---- not regular files: refused at once, nothing written --------------
mkfifo "$TMP/fifo.csv"
mkdir "$TMP/folder.csv" "$TMP/out"
for bad in /dev/zero "$TMP/fifo.csv" "$TMP/folder.csv"; do
    case $bad in
        /dev/zero) what="a character device" ;;
        *fifo*) what="a FIFO (named pipe)" ;;
        *) what="a folder" ;;
    esac
    run_cmd_t() { timeout 30 "$SJTALIGN" "$@" >"$TMP/.stdout" 2>"$TMP/.stderr"; RC=$?; ERR=$(cat "$TMP/.stderr"); }
    run_cmd_t dif --data "$bad" --reference a --focal b --out "$TMP/out/dif.csv"
    expect_exit 2 "dif --data $what"
    expect_err_contains "$bad is $what; expected a regular file" "dif --data $what: message"
    run_cmd_t validate --data "$TMP/ok.csv" --instrument "$bad"
    expect_exit 2 "validate --instrument $what"
    expect_err_contains "$bad is $what; expected a regular file" "validate --instrument $what: message"
done
if [ -z "$(ls -A "$TMP/out")" ]; then pass "no output written"; else fail "no output written" "$(ls -A "$TMP/out")"; fi

# ---- memory: a JSON document ---------------------------------------------
# 8 MB of one-digit numbers ([1,1,...]): 4 million values, more than
# 65536 + 8000000 / 8 = 1065536 allowed, so refused before cJSON builds a
# tree of 4 million 80-byte nodes (320 MB).
python3 -c '
import sys
head = "{\"id\": \"x\", \"title\": \"t\", \"score_min\": 0, \"score_max\": 2, \"items\": [], \"pad\": ["
open(sys.argv[1], "w").write(head + ",".join(["1"] * 4000000) + "]}")' "$TMP/huge.json"
peak_kb "$SJTALIGN" validate --data "$TMP/ok.csv" --instrument "$TMP/huge.json"
expect_exit 2 "an 8 MB instrument of 4 million numbers"
# 4000013 = the 4 million numbers, 6 keys, 4 other values, the object and
# two arrays.
expect_err_contains "$TMP/huge.json: 4000013 values and keys in " "an 8 MB instrument: message names the count"
expect_peak_under 40000 "an 8 MB instrument refused (under 40 MB)"

# The densest document allowed (one value per 8 bytes: "100000, ") parses
# within about 10 times its size: 1 million values of 80 bytes, 80 MB.
python3 -c '
import sys
head = "{\"id\": \"x\", \"title\": \"t\", \"score_min\": 0, \"score_max\": 2, \"items\": [{\"id\": \"deadline\", \"scenario\": \"s\", \"question\": \"q\", \"rubric\": [{\"score\": 0, \"anchor\": \"a\"}]}], \"pad\": ["
open(sys.argv[1], "w").write(head + ", ".join(["100000"] * 1000000) + "]}")' "$TMP/dense.json"
peak_kb "$SJTALIGN" validate --data "$TMP/ok.csv" --instrument "$TMP/dense.json"
expect_exit 0 "an 8 MB instrument at the allowed density loads"
expect_peak_under 110000 "an 8 MB instrument at the allowed density (under 110 MB)"

# ---- memory: a CSV table ---------------------------------------------------
# 8 MB of one-character cells (1 million rows of "1,2,3,4"): 4 million
# cells at a pointer and two bytes each, about 40 MB with the row index;
# one allocation per cell took 24 times the file. validate's cross-row
# checks (duplicates, persons in two groups, missing cells) add about 36
# bytes a row: 36 MB here, so the bound is 100 MB (12 times this worst-case
# file; ordinary rows cost far less relative to their size).
python3 -c '
import sys
open(sys.argv[1], "w").write("person_id,item_id,response,score\n" + "1,2,3,4\n" * 1000000)' "$TMP/tiny_cells.csv"
peak_kb "$SJTALIGN" validate --data "$TMP/tiny_cells.csv" --instrument "$INS"
expect_exit 2 "8 MB of one-character cells: read whole (then item '2' is unknown)"
expect_err_contains "tiny_cells.csv:2:2: unknown item '2'" "8 MB of one-character cells: message"
expect_peak_under 100000 "8 MB of one-character cells (under 100 MB)"
