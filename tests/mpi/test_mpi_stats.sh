#!/usr/bin/env bash
# dif, parity and audit under mpirun: each rank tabulates the DIF counts of
# its share of the persons and the tables are summed; the bootstraps share
# out their replicates. Every output at N = 1, 2, 3 must be byte-identical
# to the non-MPI build's (the expected files come from build/sjtalign, an
# independent single-process run), rank 0 alone writes, and the ranks fail
# together on bad input.
. "$(dirname "$(readlink -f "$0")")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures"
# provenance records the time: fixed, so that two runs can be compared
export SOURCE_DATE_EPOCH=1700000000
MPIRUN+=(-x SOURCE_DATE_EPOCH)

# ---- data ---------------------------------------------------------------------------

# 300 persons x 6 items scored 0..3 (polytomous), two items biased against
# the focal group, three raters: DIF with purification, parity, and the
# audit with several raters.
"$SJTALIGN" simulate --out "$TMP/sim" --persons 300 --items 6 --bias S03:0.8,S05:0.8 \
    --raters 3 --seed 5 >/dev/null 2>&1 || fail "simulate"
SIM="$TMP/sim/responses.csv"
# A focal group so small that only the last rank's share holds it: the
# last 8 persons (of 300, in order of first appearance) relabelled "tiny";
# at N = 3 ranks 0 and 1 hold none of them.
python3 - "$SIM" "$TMP/tiny.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
order = list(dict.fromkeys(r['person_id'] for r in rows))
last = set(order[-8:])
with open(sys.argv[2], 'w', newline='') as f:
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
    w.writeheader()
    for r in rows:
        if r['person_id'] in last:
            r['group'] = 'tiny'
        w.writerow(r)
EOF

# same_as_serial NAME OUT ARGS...: the non-MPI build writes OUT (a file or a
# folder) once; each N = 1, 2, 3 writes the same path again, and must leave
# byte-identical files (same path, so the command line in provenance
# matches).
same_as_serial() {
    local name=$1 out=$2
    shift 2
    rm -rf "$out" "$TMP/expected"
    if ! "$SJTALIGN" "$@" >"$TMP/serial.out" 2>"$TMP/serial.err"; then
        fail "$name: the non-MPI build fails" "$(cat "$TMP/serial.err")"
        return
    fi
    mv "$out" "$TMP/expected"
    for n in 1 2 3; do
        run_mpi "$n" "$@"
        if [ "$RC" -ne 0 ]; then
            fail "$name at N = $n: exit $RC" "$ERR"
            rm -rf "$out"
            continue
        fi
        if diff -r "$TMP/expected" "$out" >"$TMP/diff" 2>&1; then
            pass "$name at N = $n is byte-identical to the non-MPI build"
        else
            fail "$name at N = $n is byte-identical to the non-MPI build" "$(head -20 "$TMP/diff")"
        fi
        rm -rf "$out"
    done
}

# ---- dif ------------------------------------------------------------------------------

# The R-checked fixture: dichotomous and polytomous items, two focal
# groups, incomplete persons, purification and BH adjustment.
same_as_serial "dif: mixed items, two focal groups, purification, BH (json)" "$TMP/d.json" \
    dif --data "$FIX/stats/sim_dif.csv" --reference R --focal F1,F2 --purify --adjust bh \
    --out "$TMP/d.json"
same_as_serial "dif: mixed items, rest score, no Tarone (csv)" "$TMP/d.csv" \
    dif --data "$FIX/stats/sim_dif.csv" --reference R --focal F2 --match rest --no-tarone \
    --out "$TMP/d.csv"
same_as_serial "dif: polytomous simulated items with purification" "$TMP/p.json" \
    dif --data "$SIM" --score rater_1 --reference reference --focal focal --purify \
    --out "$TMP/p.json"
same_as_serial "dif: a focal group only the last rank holds" "$TMP/t.json" \
    dif --data "$TMP/tiny.csv" --score rater_1 --reference reference --focal tiny,focal \
    --min-cell 2 --out "$TMP/t.json"
# the tiny group was really tested (not a table of nothing)
if python3 - "$TMP/expected" <<'EOF' 2>"$TMP/err"; then
import json, sys
d = json.load(open(sys.argv[1]))
tiny = [i for i in d['items'] if i['focal'] == 'tiny']
assert len(tiny) == 6 and all(i['n_focal'] == 8 and i['tested'] for i in tiny), tiny
EOF
    pass "dif: the tiny focal group's 8 persons are counted and tested"
else
    fail "dif: the tiny focal group's 8 persons are counted and tested" "$(cat "$TMP/err")"
fi

# ---- parity ---------------------------------------------------------------------------

same_as_serial "parity: person totals with a cut (csv)" "$TMP/par.csv" \
    parity --data "$SIM" --person person_id --score rater_1 --group group \
    --reference reference --focal focal --cut 9 --out "$TMP/par.csv"
same_as_serial "parity: responses with a human score, two focal groups (json)" "$TMP/par.json" \
    parity --data "$TMP/tiny.csv" --rows --score rater_1 --human rater_2 --group group \
    --reference reference --focal focal,tiny --out "$TMP/par.json"

# ---- audit ----------------------------------------------------------------------------

same_as_serial "audit: the report fixture with purification and the bootstrap" "$TMP/aud" \
    audit --data "$FIX/report/before.csv" --instrument "$FIX/report/instrument.json" \
    --group group --reference ref --focal foc --human human_score --cut 9 --purify \
    --bootstrap 50 --seed 3 --out "$TMP/aud"
same_as_serial "audit: three raters (raters bootstrap), simulated data" "$TMP/aud3" \
    audit --data "$SIM" --instrument "$TMP/sim/instrument.json" --score rater_3 \
    --human rater_1,rater_2 --reference reference --focal focal --bootstrap 40 --out "$TMP/aud3"

# ---- failures -------------------------------------------------------------------------

# Bad input meets every rank at the same point: exit 2, rank 0's message
# once, no output, no MPI abort.
run_mpi 3 dif --data "$FIX/stats/sim_dif.csv" --reference R --focal nobody --out "$TMP/bad.json"
expect_exit 2 "dif: an absent focal group exits 2 on 3 ranks"
expect_err_contains "group 'nobody' does not occur" "the message names the absent group"
[ "$(grep -c "does not occur" <<<"$ERR")" = 1 ] && pass "the message is printed once" ||
    fail "the message is printed once" "$ERR"
if grep -q "MPI_ABORT" <<<"$ERR"; then fail "no MPI_Abort on bad input" "$ERR"; else pass "no MPI_Abort on bad input"; fi
expect_no_file "$TMP/bad.json" "no output after bad input"

run_mpi 2 parity --data - --reference reference --focal focal --out "$TMP/bad.csv" <"$SIM"
expect_exit 2 "parity --data - is refused under mpirun (standard input reaches rank 0 only)"
expect_err_contains "only rank 0 reads standard input" "the message says why"

run_mpi 2 audit --data "$SIM" --instrument "$TMP/sim/instrument.json" --score rater_3 \
    --reference reference --focal nobody --bootstrap 10 --out "$TMP/badaud"
expect_exit 2 "audit: an absent focal group exits 2 on 2 ranks"
expect_no_file "$TMP/badaud" "no report folder after bad input"


