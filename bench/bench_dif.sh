#!/usr/bin/env bash
# DIF speed: sjtalign's every-method DIF on 20 items x 100,000 persons against
# R's glm running only the logistic-regression DIF loop on the same data,
# measured in one run. Prints both times and the ratio.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SJTALIGN_BUILD:-$root/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
persons=${BENCH_DIF_PERSONS:-100000}
c_line=$("$build/bench/bench_dif" "$tmp/bench.csv" "$persons") || exit 1
echo "sjtalign: $c_line"
if ! command -v Rscript >/dev/null; then
    echo "R baseline skipped: Rscript is not installed (apt-get install r-base-core)"
    exit 0
fi
r_seconds=$(Rscript "$root/bench/bench_dif_glm.R" "$tmp/bench.csv") || exit 1
c_seconds=$(printf '%s' "$c_line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["c_seconds_dichotomous"])')
echo "R glm loop (logistic DIF only, 20 items x 3 models): ${r_seconds} s"
python3 -c "import sys; r, c = float(sys.argv[1]), float(sys.argv[2]); print(f'ratio R glm / sjtalign all methods: {r / c:.0f}x')" "$r_seconds" "$c_seconds"
