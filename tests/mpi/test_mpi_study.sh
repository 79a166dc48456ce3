#!/usr/bin/env bash
# study under mpirun (issue 19): the replications spread over the ranks
# (each a plain child process, SJTALIGN_NO_MPI=1), rank 0 collects and
# writes; study.json carries the non-MPI run's figures, a failed
# replication on rank 1 is counted, and a second run runs nothing again.
. "$(dirname "$0")/lib.sh"

# make_study DIR: a tiny study (2 seeds x 2 conditions, one of which
# cannot simulate) in DIR.
make_study() {
    mkdir -p "$1"
    write_tiny_study_pipeline "$1"
    cat >"$1/study.json" <<'JSON'
{
  "name": "tiny",
  "pipeline": "pipeline.json",
  "seeds": [3, 4],
  "conditions": [
    {"name": "one", "simulate": {"bias": "S01:0.6,S03:0.4", "impact": 0}},
    {"name": "broken", "simulate": {"bias": "S09:0.5"}}
  ],
  "out": "out",
  "jobs": 1
}
JSON
}
make_study "$TMP/plain"
make_study "$TMP/mpi"

(cd "$TMP/plain" && run_cmd study study.json && echo "$RC" >rc)
cd "$TMP/mpi" || exit 1
run_mpi 2 study study.json
expect_exit "$(cat "$TMP/plain/rc")" "study under -np 2 exits as the non-MPI run (a replication failed)"
for f in study.json study.csv index.html; do
    if [ -s "out/$f" ]; then pass "out/$f written under -np 2"; else fail "out/$f written under -np 2"; fi
done
expect_no_temporaries out "no temporary files left in out/"

# study.json without what differs run to run: the time it was made, the
# seconds, the command line (the program's path), and the study's own
# folder in the replications' paths.
figures() {
    python3 - "$1" "$2" <<'PY'
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in ("seconds", "command", "created")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    if isinstance(x, str):
        return x.replace(sys.argv[2], "STUDY")
    return x
print(json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True, indent=1))
PY
}
figures "$TMP/plain/out/study.json" "$TMP/plain" >"$TMP/plain.fig"
figures out/study.json "$TMP/mpi" >"$TMP/mpi.fig"
if cmp -s "$TMP/plain.fig" "$TMP/mpi.fig"; then
    pass "study.json under -np 2 has the non-MPI run's figures (all but timings)"
else fail "study.json under -np 2 differs from the non-MPI run" "$(diff "$TMP/plain.fig" "$TMP/mpi.fig" | head -20)"; fi
expect_same_file "$TMP/plain/out/study.csv" out/study.csv "study.csv under -np 2 is the non-MPI run's"
# rank 1 ran seed 4 of "one" and seed 4 of "broken" (the 2nd and 4th to run)
for c in one broken; do
    for seed in 3 4; do
        if [ -s "out/$c/seed-$seed/run.log" ]; then pass "$c seed $seed ran (its run.log)"; else fail "$c seed $seed has no run.log"; fi
    done
done
counts=$(python3 -c "import json; c = json.load(open('out/study.json'))['counts']; print(c['replications'], c['ran'], c['up_to_date'], c['failed'])")
if [ "$counts" = "4 2 0 2" ]; then pass "4 replications: 2 ran, 2 failed"; else fail "4 replications: 2 ran, 2 failed" "$counts"; fi

# again: the finished replications are up to date, the failed ones run again
run_mpi 2 study study.json
expect_exit "$(cat "$TMP/plain/rc")" "the study again under -np 2"
counts=$(python3 -c "import json; c = json.load(open('out/study.json'))['counts']; print(c['replications'], c['ran'], c['up_to_date'], c['failed'])")
if [ "$counts" = "4 0 2 2" ]; then pass "again: 2 up to date, the 2 failed ones failed again"; else fail "again: 2 up to date, 2 failed" "$counts"; fi

# a bad study file: one message, exit 2
echo '{"name": "x"' >bad.json
run_mpi 2 study bad.json
expect_exit 2 "a bad study file under -np 2"
n=$(printf '%s\n' "$ERR" | grep -c "bad.json")
if [ "$n" -eq 1 ]; then pass "the bad study file is named once"; else fail "the bad study file named $n times" "$ERR"; fi
