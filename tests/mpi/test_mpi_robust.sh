#!/usr/bin/env bash
# Robustness under mpirun (issue 19): inputs that differ between the ranks,
# a usage error, a bad input every rank meets, a rank killed during
# training and during score, and a failure on one rank only. The job always
# stops with one clear message and leaves no half-written output behind.
. "$(dirname "$0")/lib.sh"
make_tiny_chain_data
tiny=(--layers 1 --heads 2 --embd 16 --ctx 64 --vocab 280 --threads 1 --quiet)
run_cmd sft --instrument "$INS" --data "$TMP/responses.csv" --out "$TMP/sft" --steps 2 --batch 4 \
    --pretrain-steps 2 "${tiny[@]}"
expect_exit 0 "sft on the tiny chain data"

# count_of TEXT: how many lines of stderr hold TEXT
count_of() { printf '%s\n' "$ERR" | grep -cF -- "$1"; }
expect_once() {
    local n
    n=$(count_of "$1")
    if [ "$n" -eq 1 ]; then pass "$2"; else fail "$2: '$1' appears $n times" "stderr: $ERR"; fi
}
expect_no_abort() {
    case "$ERR" in
        *MPI_ABORT*) fail "$1: the job was aborted" "stderr: $ERR" ;;
        *) pass "$1" ;;
    esac
}

# A wrapper as mpirun's program: each rank runs in its own folder r<rank>.
cat >"$TMP/per_rank.sh" <<WRAP
#!/usr/bin/env bash
cd "$TMP/r\$OMPI_COMM_WORLD_RANK" && exec "$SJTALIGN_MPI" "\$@"
WRAP
chmod +x "$TMP/per_rank.sh"
mkdir -p "$TMP/r0" "$TMP/r1" "$TMP/r2"

# ---- the same name, other bytes on rank 1 ------------------------------------
cp "$TMP/responses.csv" "$TMP/r0/data.csv"
cp "$TMP/responses.csv" "$TMP/r2/data.csv"
sed 's/never/hardly/' "$TMP/responses.csv" >"$TMP/r1/data.csv"
"${MPIRUN[@]}" -np 3 "$TMP/per_rank.sh" score --model "$TMP/sft" --instrument "$INS" \
    --data data.csv --out scores.csv --threads 1 --quiet >"$TMP/.stdout" 2>"$TMP/.stderr"
RC=$?
ERR=$(cat "$TMP/.stderr")
expect_exit 2 "score with a data file that differs on rank 1"
expect_once "data.csv differs between the ranks: rank 1 read other bytes than rank 0" \
    "one message names the input and the rank"
expect_no_abort "the ranks leave together"
for r in 0 1 2; do expect_no_file "$TMP/r$r/scores.csv" "no scores written in rank $r's folder"; done

# --resume: the checkpoint in --out is an input; rank 1 holds none
mkdir -p "$TMP/r0/pre" "$TMP/r1/pre"
"$SJTALIGN" pretrain --data "$TMP/responses.csv" --out "$TMP/r0/pre" --steps 2 --batch 4 \
    "${tiny[@]}" >/dev/null 2>&1
rmdir "$TMP/r1/pre"
"${MPIRUN[@]}" -np 2 "$TMP/per_rank.sh" pretrain --data "$TMP/responses.csv" --out pre --steps 4 \
    --batch 4 --resume "${tiny[@]}" >"$TMP/.stdout" 2>"$TMP/.stderr"
RC=$?
ERR=$(cat "$TMP/.stderr")
expect_exit 2 "pretrain --resume with a checkpoint on rank 0 only"
expect_once "pre differs between the ranks: rank 1" "one message names the checkpoint folder and the rank"
expect_no_file "$TMP/r1/pre" "rank 1 wrote no checkpoint"

# ---- a usage error, a bad input every rank meets ---------------------------------
for n in 2 3; do
    run_mpi "$n" score --model "$TMP/sft" --instrument "$INS" --data "$TMP/responses.csv" \
        --out "$TMP/u.csv" --batch 0
    expect_exit 2 "a usage error under -np $n"
    expect_once "--batch" "the usage error is said once under -np $n"
    expect_no_abort "the ranks leave together after a usage error (-np $n)"
done
printf 'person_id,group,item_id,response\np1,ref,Z,I would help.\n' >"$TMP/unknown.csv"
run_mpi 3 score --model "$TMP/sft" --instrument "$INS" --data "$TMP/unknown.csv" --out "$TMP/u.csv" \
    --threads 1 --quiet
expect_exit 2 "score of an unknown item under -np 3"
expect_once "unknown.csv:2:3: unknown item 'Z'" "the bad input is said once, with its line and column"
expect_no_abort "the ranks leave together after a bad input every rank met"
expect_no_file "$TMP/u.csv" "no scores written after the bad input"

# ---- a rank killed -----------------------------------------------------------------
# A wrapper that notes each rank's process id.
cat >"$TMP/note_pid.sh" <<WRAP
#!/usr/bin/env bash
echo \$\$ >"$TMP/pid.\$OMPI_COMM_WORLD_RANK"
exec "$SJTALIGN_MPI" "\$@"
WRAP
chmod +x "$TMP/note_pid.sh"
# kill_rank_1 WAIT_FOR ARGS...: starts the job, waits until the file
# WAIT_FOR exists (and 0.3 s more), SIGKILLs rank 1; RC and ERR as run_cmd.
kill_rank_1() {
    local wait_for=$1 i
    shift
    rm -f "$TMP"/pid.*
    "${MPIRUN[@]}" -np 2 "$TMP/note_pid.sh" "$@" >"$TMP/.stdout" 2>"$TMP/.stderr" &
    local job=$!
    for i in $(seq 1 600); do
        [ -s "$TMP/pid.1" ] && compgen -G "$wait_for" >/dev/null && break
        sleep 0.1
    done
    sleep 0.3
    kill -KILL "$(cat "$TMP/pid.1")" 2>/dev/null
    wait "$job"
    RC=$?
    ERR=$(cat "$TMP/.stderr")
}

mkdir -p "$TMP/train"
kill_rank_1 "$TMP/train/pre/config.json" pretrain --data "$TMP/responses.csv" --out "$TMP/train/pre" \
    --steps 100000 --batch 4 --save-every 20 "${tiny[@]}"
if [ "$RC" -ne 0 ]; then pass "pretrain with rank 1 killed stops (exit $RC)"; else fail "pretrain with rank 1 killed exited 0"; fi
expect_err_contains "rank 1" "the message names the killed rank"
expect_no_temporaries "$TMP/train" "no temporaries after the killed training"
steps=$(sed -n 's/.*"steps_done":[[:space:]]*\([0-9]*\).*/\1/p' "$TMP/train/pre/config.json" 2>/dev/null)
if [ ! -e "$TMP/train/pre" ] || { [ -n "$steps" ] && [ "$steps" -lt 100000 ]; }; then
    pass "the output is absent or an earlier checkpoint (step ${steps:-none})"
else fail "the output after the killed training" "steps_done: '$steps'"; fi
if [ -e "$TMP/train/pre" ]; then
    # with the same number of ranks, as the checkpoint records
    run_mpi 2 pretrain --data "$TMP/responses.csv" --out "$TMP/train/pre" --steps $((steps + 2)) \
        --batch 4 --save-every 20 --resume "${tiny[@]}"
    expect_exit 0 "the checkpoint left behind resumes under -np 2"
fi

# score: 60,000 rows take a few seconds on 2 ranks
python3 -c '
print("person_id,group,item_id,response")
for p in range(60000):
    item = "AB"[p % 2]
    print(f"P{p},ref,{item},I would help {p % 97} times.")' >"$TMP/many.csv"
mkdir -p "$TMP/sc"
kill_rank_1 "$TMP/sc/.scores.csv.tmp.*" score --model "$TMP/sft" --instrument "$INS" \
    --data "$TMP/many.csv" --out "$TMP/sc/scores.csv" --threads 1 --quiet
if [ "$RC" -ne 0 ]; then pass "score with rank 1 killed stops (exit $RC)"; else fail "score with rank 1 killed exited 0"; fi
expect_err_contains "rank 1" "the message names the killed rank"
expect_no_file "$TMP/sc/scores.csv" "no scores file after the killed score"
expect_no_temporaries "$TMP/sc" "no temporary after the killed score"

# ---- a failure on one rank only ----------------------------------------------------------
# Rank 0 (the writer) may write files of 64 KiB at most, and gets EFBIG
# rather than SIGXFSZ past it: its scores cannot be written, the other
# ranks' work is done. (Open MPI may warn that its shared memory file
# could not grow either; it then falls back on other transports.)
cat >"$TMP/small_files.sh" <<WRAP
#!/usr/bin/env bash
echo \$\$ >"$TMP/pid.\$OMPI_COMM_WORLD_RANK"
if [ "\$OMPI_COMM_WORLD_RANK" = 0 ]; then ulimit -f 64; trap '' XFSZ; fi
exec "$SJTALIGN_MPI" "\$@"
WRAP
chmod +x "$TMP/small_files.sh"
mkdir -p "$TMP/full"
"${MPIRUN[@]}" -np 2 "$TMP/small_files.sh" score --model "$TMP/sft" --instrument "$INS" \
    --data "$TMP/many.csv" --out "$TMP/full/scores.csv" --threads 1 --quiet >"$TMP/.stdout" 2>"$TMP/.stderr"
RC=$?
ERR=$(cat "$TMP/.stderr")
expect_exit 1 "score whose writer cannot write"
expect_once "error: cannot write $TMP/full/scores.csv" "rank 0's failure is said once"
expect_no_file "$TMP/full/scores.csv" "no scores file after the failed write"
expect_no_temporaries "$TMP/full" "no temporary after the failed write"

# Rank 0 cannot save a checkpoint while the other ranks train on: the job
# stops (MPI_Abort) with rank 0's message and exit code.
"${MPIRUN[@]}" -np 2 "$TMP/small_files.sh" pretrain --data "$TMP/responses.csv" \
    --out "$TMP/full/pre" --steps 100000 --batch 4 --save-every 5 --layers 1 --heads 2 --embd 128 \
    --ctx 64 --vocab 280 --threads 1 --quiet >"$TMP/.stdout" 2>"$TMP/.stderr"
RC=$?
ERR=$(cat "$TMP/.stderr")
expect_exit 1 "pretrain whose writer cannot save its checkpoint"
expect_err_contains "File too large" "rank 0's failure is said"
# rank 0 alone writes checkpoints, and its temporary folder is gone
expect_no_temporaries "$TMP/full" "no temporary checkpoint folder is left"
