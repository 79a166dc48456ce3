#!/usr/bin/env bash
# Peak memory and wall time of `sjtalign score` on 1,000,000 responses
# (streamed). The data are the demo responses repeated with new person ids;
# the model has the demo's architecture (the pretrain defaults) with a short
# training, which does not change the cost of scoring. Everything is made
# under a temporary folder and removed at the end.
# usage: bench/bench_score_1m.sh   (SJTALIGN=path/to/sjtalign; set by make bench)
# Environment: SCORE_ROWS (default 1000000), SCORE_THREADS (default 1).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sj=${SJTALIGN:-$root/build/sjtalign}
rows=${SCORE_ROWS:-1000000}
threads=${SCORE_THREADS:-1}
demo="$root/data/demo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -x /usr/bin/time ]; then
    echo "skip: GNU time (/usr/bin/time) is not installed"
    exit 0
fi

# The demo file has one response per line (no line breaks inside fields) and
# the person id first, so copy k renames person P0001 to C<k>-P0001.
awk -v want="$rows" 'NR == 1 { header = $0; next } { line[++n] = $0 }
    END {
        print header
        for (k = 0; made < want; k++)
            for (i = 1; i <= n && made < want; i++) {
                print "C" k "-" line[i]
                made++
            }
    }' "$demo/responses.csv" >"$tmp/responses.csv"
echo "input: $rows responses, $(du -m "$tmp/responses.csv" | cut -f1) MB"

"$sj" pretrain --data "$demo/responses.csv" --out "$tmp/pre" --steps 20 --threads "$threads" \
    --save-every 0 2>/dev/null || { echo "pretrain failed"; exit 1; }
"$sj" sft --init "$tmp/pre" --instrument "$demo/instrument.json" --data "$demo/responses.csv" \
    --score rater_1,rater_2 --out "$tmp/sft" --steps 10 --eval-every 0 --threads "$threads" \
    --quiet >/dev/null 2>&1 ||
    { echo "sft failed"; exit 1; }

/usr/bin/time -v "$sj" score --model "$tmp/sft" --instrument "$demo/instrument.json" \
    --data "$tmp/responses.csv" --out "$tmp/scores.csv" --threads "$threads" --quiet \
    2>"$tmp/time.txt" || { cat "$tmp/time.txt"; echo "score failed"; exit 1; }
scored=$(($(wc -l <"$tmp/scores.csv") - 1))
wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/time.txt")
rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$tmp/time.txt")
user=$(sed -n 's/.*User time (seconds): //p' "$tmp/time.txt")
sys=$(sed -n 's/.*System time (seconds): //p' "$tmp/time.txt")
echo "score --threads $threads: $scored responses scored, wall $wall (CPU ${user} s user + ${sys} s system), peak RSS $rss kB ($((rss / 1024)) MiB)"
[ "$scored" -eq "$rows" ] || { echo "expected $rows scored rows"; exit 1; }
