#!/usr/bin/env bash
# The scorer on real answers: 5-fold cross-validation over the answers of the
# UNT computer-science short-answer data (../shared/data/unt-short-answers,
# or REAL_DATA=folder holding instrument.json and responses.csv), every
# command with its default settings, training on `rater1`:
#   sjtalign sft --instrument I --data train.csv --score rater1 --out M
#   sjtalign score --model M --instrument I --data test.csv --out s.csv
# and on the same folds the transparent baseline (`sjtalign baseline`, its
# ordinal model and the word-overlap k-NN regression). Prints one table and
# one JSON line: Pearson r and RMSE of the expected score with `avg` (the
# graders' average), QWK of the modal score with rater1, the k-NN baseline's
# r, and the two graders' own agreement (human_r, human_qwk).
# usage: bench/bench_real.sh   (SJTALIGN, SJTALIGN_BUILD set by make bench)
# Environment: REAL_DATA, REAL_FOLDS (5), REAL_SEED (20261201), REAL_KEEP=1
# keeps the work folder.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sj=${SJTALIGN:-$root/build/sjtalign}
build=${SJTALIGN_BUILD:-$root/build}
folds_bin=$build/bench/real_folds
data=${REAL_DATA:-$root/../shared/data/unt-short-answers}
K=${REAL_FOLDS:-5}
seed=${REAL_SEED:-20261201}
if [ ! -f "$data/responses.csv" ] || [ ! -f "$data/instrument.json" ]; then
    echo "bench_real: no data at $data (set REAL_DATA); skipped"
    exit 0
fi
[ -x "$folds_bin" ] || { echo "bench_real: $folds_bin missing (make bench builds it)"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/sjtalign-real.XXXXXX")
[ "${REAL_KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
ins=$data/instrument.json
"$folds_bin" split "$data/responses.csv" "$K" "$seed" "$work" || exit 1

start=$(date +%s)
for f in $(seq "$K"); do
    d=$work/fold$f
    "$sj" sft --instrument "$ins" --data "$d/train.csv" --score rater1 --out "$d/model" --quiet \
        >"$d/sft.log" 2>&1 || { echo "bench_real: sft failed on fold $f"; cat "$d/sft.log"; exit 1; }
    "$sj" score --model "$d/model" --instrument "$ins" --data "$d/test.csv" \
        --out "$d/scores.csv" --quiet >"$d/score.log" 2>&1 ||
        { echo "bench_real: score failed on fold $f"; cat "$d/score.log"; exit 1; }
    for m in ordinal knn; do
        "$sj" baseline --instrument "$ins" --train "$d/train.csv" --score rater1 \
            --data "$d/test.csv" --method "$m" --out "$d/$m.csv" >"$d/$m.log" 2>&1 ||
            { echo "bench_real: baseline $m failed on fold $f"; cat "$d/$m.log"; exit 1; }
    done
    echo "fold $f done ($(($(date +%s) - start)) s)"
done
seconds=$(($(date +%s) - start))

fig() { "$folds_bin" eval score score_mode "$@"; }
scorer=$(fig "$work"/fold*/scores.csv) || exit 1
ordinal=$(fig "$work"/fold*/ordinal.csv) || exit 1
knn=$(fig "$work"/fold*/knn.csv) || exit 1
humans=$("$folds_bin" humans "$data/responses.csv") || exit 1
get() { printf '%s' "$1" | sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p"; }

printf '%-34s %8s %8s %11s\n' "scorer ($K-fold CV, $(get "$scorer" n) answers)" "r(avg)" "RMSE" "QWK(rater1)"
printf '%-34s %8s %8s %11s\n' "sjtalign sft + score (defaults)" "$(get "$scorer" r_avg)" \
    "$(get "$scorer" rmse_avg)" "$(get "$scorer" qwk_rater1)"
printf '%-34s %8s %8s %11s\n' "sjtalign baseline (ordinal)" "$(get "$ordinal" r_avg)" \
    "$(get "$ordinal" rmse_avg)" "$(get "$ordinal" qwk_rater1)"
printf '%-34s %8s %8s %11s\n' "word-overlap k-NN (baseline knn)" "$(get "$knn" r_avg)" \
    "$(get "$knn" rmse_avg)" "$(get "$knn" qwk_rater1)"
printf '%-34s %8s %8s %11s\n' "the two graders (rater1 ~ rater2)" "$(get "$humans" human_r)" "" \
    "$(get "$humans" human_qwk)"
printf '{"bench":"real","folds":%s,"seed":%s,"seconds":%s,"r_avg":%s,"rmse_avg":%s,"qwk_rater1":%s,"ordinal_r_avg":%s,"knn_r_avg":%s,"knn_rmse_avg":%s,"human_r":%s,"human_qwk":%s}\n' \
    "$K" "$seed" "$seconds" "$(get "$scorer" r_avg)" "$(get "$scorer" rmse_avg)" \
    "$(get "$scorer" qwk_rater1)" "$(get "$ordinal" r_avg)" "$(get "$knn" r_avg)" \
    "$(get "$knn" rmse_avg)" "$(get "$humans" human_r)" "$(get "$humans" human_qwk)"
