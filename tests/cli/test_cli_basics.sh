# The command-line skeleton: help, version, exit codes, and bad input that
# names file, line and column and writes nothing.
. "$(dirname "$0")/lib.sh"

run_cmd --help
expect_exit 0 "--help"
expect_out_contains "usage: sjtalign COMMAND" "--help shows usage"

run_cmd
expect_exit 2 "no command"

run_cmd frobnicate
expect_exit 2 "unknown command"
expect_err_contains "unknown command 'frobnicate'" "unknown command is named"

run_cmd --version
expect_exit 0 "--version"
expect_out_contains "sjtalign 0." "--version prints the version"
core=$(echo "$OUT" | sed -n 's/^blas: OpenBLAS, core \([A-Za-z0-9]*\),.*/\1/p')
case "$core" in
    ""|Prescott|Core2|Katmai|Nehalem|Penryn|Atom|Dunnington|unknown)
        fail "--version names a non-fallback BLAS core" "got: $OUT" ;;
    *) pass "--version names a non-fallback BLAS core ($core)" ;;
esac

# With the variable unset, the tool's own choice must not be a fallback core.
OUT=$(env -u OPENBLAS_CORETYPE "$SJTALIGN" --version)
core=$(echo "$OUT" | sed -n 's/^blas: OpenBLAS, core \([A-Za-z0-9]*\),.*/\1/p')
case "$core" in
    ""|Prescott|Core2|Katmai|Nehalem|Penryn|Atom|Dunnington|unknown)
        fail "unset OPENBLAS_CORETYPE still gives a non-fallback core" "got: $OUT" ;;
    *) pass "unset OPENBLAS_CORETYPE still gives a non-fallback core ($core)" ;;
esac

# A value the user set is never overridden, even a slow one.
OUT=$(OPENBLAS_CORETYPE=Prescott "$SJTALIGN" --version)
case "$OUT" in
    *"core Prescott"*) pass "a user-set OPENBLAS_CORETYPE is honoured" ;;
    *) fail "a user-set OPENBLAS_CORETYPE is honoured" "got: $OUT" ;;
esac

# Every listed command answers --help with exit 0.
for c in $("$SJTALIGN" --help | sed -n 's/^  \([a-z]*\)  .*/\1/p'); do
    run_cmd "$c" --help
    if [ "$RC" -eq 0 ] && [ -n "$OUT" ]; then pass "$c --help"; else fail "$c --help" "exit $RC: $ERR"; fi
done

# Bad CSV input: an unbalanced quote on line 3.
printf 'person_id,item_id,response\np1,deadline,fine\np2,deadline,"never closed\np3,deadline,ok\n' >"$TMP/bad.csv"
run_cmd validate --data "$TMP/bad.csv" --instrument "$SJTALIGN_ROOT/tests/fixtures/io/instrument.json"
expect_exit 2 "validate: unbalanced quote"
expect_err_contains "$TMP/bad.csv:3:3: unbalanced quote" "validate names file, line 3 and column"

# A valid file with a BOM and CRLF line ends passes.
printf '\xef\xbb\xbfperson_id,item_id,response,score\r\np1,deadline,"talk, then act",2\r\np2,deadline,wait,0\r\n' >"$TMP/ok.csv"
run_cmd validate --data "$TMP/ok.csv" --instrument "$SJTALIGN_ROOT/tests/fixtures/io/instrument.json" --score score
expect_exit 0 "validate: BOM and CRLF accepted"
expect_out_contains "2 responses, 2 persons, 1 of 1 items
groups: no column 'group' (dif and audit need one; name it with --group)
scores (range 0..2): score 2 of 2 scored" "validate summary"

# Out-of-range score, unknown item, duplicate person x item.
printf 'person_id,item_id,response,score\np1,deadline,x,5\n' >"$TMP/range.csv"
run_cmd validate --data "$TMP/range.csv" --instrument "$SJTALIGN_ROOT/tests/fixtures/io/instrument.json" --score score
expect_exit 2 "validate: score out of range"
expect_err_contains "range.csv:2:4: score 5 is outside the instrument's range 0..2" "out-of-range score named"
printf 'person_id,item_id,response\np1,lunch,x\n' >"$TMP/item.csv"
run_cmd validate --data "$TMP/item.csv" --instrument "$SJTALIGN_ROOT/tests/fixtures/io/instrument.json"
expect_exit 2 "validate: unknown item"
expect_err_contains "item.csv:2:2: unknown item 'lunch'" "unknown item named"
printf 'person_id,item_id,response\np1,deadline,x\np2,deadline,y\np1,deadline,z\n' >"$TMP/dup.csv"
run_cmd validate --data "$TMP/dup.csv" --instrument "$SJTALIGN_ROOT/tests/fixtures/io/instrument.json"
expect_exit 2 "validate: duplicate person x item"
expect_err_contains "dup.csv:4:1: person 'p1' answers item 'deadline' twice (first on line 2)" "duplicate named"

run_cmd validate --data "$TMP/ok.csv"
expect_exit 2 "validate: missing --instrument"
run_cmd validate --data "$TMP/ok.csv" --instrument x --bogus
expect_exit 2 "validate: unknown option"

# Counts on the demo data, checked against the shipped file's known design
# (3,000 persons x 8 items, two groups, every response scored by two raters).
run_cmd validate --data "$SJTALIGN_ROOT/data/demo/responses.csv" --instrument "$SJTALIGN_ROOT/data/demo/instrument.json" --score rater_1,rater_2
expect_exit 0 "validate: demo data"
expect_out_contains "24000 responses, 3000 persons, 8 of 8 items
2 groups (column 'group'): focal 900 persons, reference 2100 persons
scores (range 0..3): rater_1 24000 of 24000 scored; rater_2 24000 of 24000 scored" "validate counts persons, items and groups"

# Idle OpenMP threads sleep unless the user chose otherwise.
OUT=$(env -u OMP_WAIT_POLICY "$SJTALIGN" --version)
case "$OUT" in
    *"wait policy PASSIVE"*) pass "OMP_WAIT_POLICY defaults to PASSIVE" ;;
    *) fail "OMP_WAIT_POLICY defaults to PASSIVE" "got: $OUT" ;;
esac
OUT=$(OMP_WAIT_POLICY=ACTIVE "$SJTALIGN" --version)
case "$OUT" in
    *"wait policy ACTIVE"*) pass "a user-set OMP_WAIT_POLICY is honoured" ;;
    *) fail "a user-set OMP_WAIT_POLICY is honoured" "got: $OUT" ;;
esac

# The portable program hands over to its x86-64-v3 sibling when the sibling
# is there and /proc/cpuinfo lists AVX2, FMA and BMI2; SJTALIGN_KERNELS=portable
# keeps the portable kernels. (Under the valgrind script, $SJTALIGN is a
# wrapper that runs the chosen build itself: nothing to choose there.)
if [ -z "${SJTALIGN_WRAPPED:-}" ]; then
OUT=$(SJTALIGN_KERNELS=portable "$SJTALIGN" --version)
case "$OUT" in
    *"lm kernels: portable"*) pass "SJTALIGN_KERNELS=portable keeps the portable kernels" ;;
    *) fail "SJTALIGN_KERNELS=portable" "got: $OUT" ;;
esac
flags=$(grep -m1 '^flags' /proc/cpuinfo)
expected=portable
if [ -x "$SJTALIGN-x86-64-v3" ] && [[ " $flags " == *" avx2 "* ]] && [[ " $flags " == *" fma "* ]] &&
    [[ " $flags " == *" bmi2 "* ]]; then expected=x86-64-v3; fi
OUT=$("$SJTALIGN" --version)
case "$OUT" in
    *"lm kernels: $expected"*) pass "the kernels this CPU can run are chosen ($expected)" ;;
    *) fail "kernels chosen at start: expected $expected" "got: $OUT" ;;
esac
fi
