#!/usr/bin/env bash
# Language-model training step: sjtalign vs PyTorch (Debian's python3-torch)
# on the same model and step, measured in the same run, alternating the two
# programs ROUNDS times and comparing medians (a shared machine is noisy).
# Done for the BLAS core the environment selects and, when the CPU has
# AVX-512, for SkylakeX kernels too (both programs get the same
# OPENBLAS_CORETYPE; PyTorch's own kernels may not depend on it). Both run
# with OMP_WAIT_POLICY=PASSIVE: OpenMP threads sleep instead of spinning at
# barriers, which matters when other processes share the cores.
# usage: bench/bench_lm.sh   (SJTALIGN=path/to/sjtalign; set by make bench)
# Environment: LM_LAYERS LM_HEADS LM_EMBD LM_CTX LM_VOCAB LM_BATCH LM_STEPS
#              LM_THREADS LM_ROUNDS override the defaults below.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sj=${SJTALIGN:-$root/build/sjtalign}
L=${LM_LAYERS:-4} H=${LM_HEADS:-4} C=${LM_EMBD:-256} T=${LM_CTX:-256} V=${LM_VOCAB:-4096}
B=${LM_BATCH:-8} STEPS=${LM_STEPS:-10} THREADS=${LM_THREADS:-2} ROUNDS=${LM_ROUNDS:-3}
# Debian's interpreter (python3-torch, python3-numpy) may be shadowed on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
have_torch=1
"$py" -c 'import torch' 2>/dev/null || have_torch=0

run_config() {
    local label=$1 ours_all="" theirs_all="" ours theirs
    echo "-- $label (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
    for r in $(seq "$ROUNDS"); do
        ours=$(OMP_WAIT_POLICY=PASSIVE "$sj" bench --layers "$L" --heads "$H" --embd "$C" --ctx "$T" --vocab "$V" \
            --batch "$B" --steps "$STEPS" --threads "$THREADS") || { echo "sjtalign bench failed"; return 1; }
        echo "sjtalign: $ours"
        ours_all="$ours_all$ours"$'\n'
        [ "$have_torch" -eq 1 ] || continue
        theirs=$(OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=PASSIVE "$py" "$root/bench/torch_step.py" \
            "$L" "$H" "$C" "$T" "$V" "$B" "$STEPS" "$THREADS") || { echo "torch bench failed"; return 1; }
        echo "pytorch:  $theirs"
        theirs_all="$theirs_all$theirs"$'\n'
    done
    if [ "$have_torch" -eq 0 ]; then
        echo "pytorch:  skipped (python3-torch is not installed: apt-get install python3-torch)"
    fi
    "$py" - "$ours_all" "$theirs_all" <<'PY'
import json, statistics, sys
ours = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
theirs = [json.loads(l) for l in sys.argv[2].splitlines() if l.strip()]
med = lambda rows, k: statistics.median(r[k] for r in rows)
line = "median of %d: sjtalign %.0f tokens/s, MFU %.1f%% (of its measured sgemm peak %.1f GFLOP/s)" % (
    len(ours), med(ours, "tokens_per_s"), 100 * med(ours, "mfu"), med(ours, "peak_gflops"))
if theirs:
    line += "; pytorch %.0f tokens/s; ratio %.2f" % (
        med(theirs, "tokens_per_s"), med(ours, "tokens_per_s") / med(theirs, "tokens_per_s"))
print(line)
PY
}

echo "model: layers $L heads $H embd $C ctx $T vocab $V batch $B, $STEPS steps, $THREADS threads, $ROUNDS rounds"
run_config "environment's BLAS core"
if grep -q avx512f /proc/cpuinfo && [ "${OPENBLAS_CORETYPE:-}" != "SkylakeX" ]; then
    OPENBLAS_CORETYPE=SkylakeX run_config "AVX-512 kernels"
fi
