#!/usr/bin/env bash
# Language-model training step: sjtalign vs PyTorch (Debian's python3-torch)
# on the same model and step, measured in the same run. Prints both JSON
# lines, the tokens/s ratio and sjtalign's MFU, for the BLAS core the
# environment selects and, when the CPU has AVX-512, also for SkylakeX
# kernels (both programs get the same OPENBLAS_CORETYPE).
# usage: bench/bench_lm.sh   (SJTALIGN=path/to/sjtalign; set by make bench)
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
sj=${SJTALIGN:-$root/build/sjtalign}
L=${LM_LAYERS:-4} H=${LM_HEADS:-4} C=${LM_EMBD:-256} T=${LM_CTX:-256} V=${LM_VOCAB:-4096}
B=${LM_BATCH:-8} STEPS=${LM_STEPS:-10} THREADS=${LM_THREADS:-2}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
have_torch=1
"$py" -c 'import torch' 2>/dev/null || have_torch=0

run_pair() {
    local label=$1
    echo "-- $label (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
    local ours theirs
    ours=$("$sj" bench --layers "$L" --heads "$H" --embd "$C" --ctx "$T" --vocab "$V" \
        --batch "$B" --steps "$STEPS" --threads "$THREADS") || { echo "sjtalign bench failed"; return 1; }
    echo "sjtalign: $ours"
    if [ "$have_torch" -eq 0 ]; then
        echo "pytorch:  skipped (python3-torch is not installed: apt-get install python3-torch)"
        return 0
    fi
    theirs=$(OMP_NUM_THREADS=$THREADS OMP_WAIT_POLICY=PASSIVE "$py" "$root/bench/torch_step.py" \
        "$L" "$H" "$C" "$T" "$V" "$B" "$STEPS" "$THREADS") || { echo "torch bench failed"; return 1; }
    echo "pytorch:  $theirs"
    "$py" - "$ours" "$theirs" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("ratio tokens/s sjtalign/pytorch = %.2f ; sjtalign MFU = %.1f%% of %.1f GFLOP/s sgemm peak"
      % (a["tokens_per_s"] / b["tokens_per_s"], 100 * a["mfu"], a["peak_gflops"]))
PY
}

echo "model: layers $L heads $H embd $C ctx $T vocab $V batch $B, $STEPS steps, $THREADS threads"
run_pair "environment's BLAS core"
if grep -q avx512f /proc/cpuinfo && [ "${OPENBLAS_CORETYPE:-}" != "SkylakeX" ]; then
    OPENBLAS_CORETYPE=SkylakeX run_pair "AVX-512 kernels"
fi
