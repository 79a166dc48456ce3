#!/usr/bin/env bash
# The README's "Your own instrument and data" steps, run exactly as written.
# The commands are not copied here: they are read from the README's code
# blocks marked <!-- example-step --> and run verbatim, in order, from a
# folder where instruments/example is what the repository ships. Only the
# sizes shrink, so that the whole chain takes about a minute on one core:
# the copy's responses and expert pairs are cut to a few persons, and its
# two pipeline files get small models and few steps. A check below asserts
# that the copied pipeline files differ from the shipped ones in those size
# settings only, so the test runs the shipped pipelines, not others.
. "$(dirname "$0")/lib.sh"
ROOT="$SJTALIGN_ROOT"
README="$ROOT/README.md"

steps=$(awk '/<!-- example-step -->/ { marked = 1; next }
             marked && /^```sh/ { inside = 1; next }
             inside && /^```/ { inside = 0; marked = 0; next }
             inside { print }' "$README")
case "$steps" in
    "cp -r instruments/example my-study"*"sjtalign run my-study/for-experts.json"*"sjtalign run my-study/pipeline.json"*)
        pass "README: the own-data steps copy the example, then run its two pipelines" ;;
    *) fail "README: the own-data steps copy the example, then run its two pipelines" "$steps" ;;
esac

# The settings the small copy changes; every other key must stay as shipped.
SIZES='{
  "pretrain": {"steps": 8, "layers": 1, "heads": 2, "embd": 32, "ctx": 128, "vocab": 300, "batch": 8},
  "sft": {"steps": 8, "batch": 8, "eval_every": 4},
  "pairs": {"n": 40},
  "reward": {"steps": 6, "batch": 8, "eval_every": 3},
  "ppo": {"steps": 2, "batch": 8, "eval_every": 1, "eval_size": 16},
  "dpo": {"steps": 4, "batch": 8, "eval_every": 2},
  "audit": {"bootstrap": 20}
}'
export SIZES

# Cuts the copy to 60 persons and the pairs of 60 pairs, and sets SIZES in
# both pipeline files; runs once, before the steps' first sjtalign command.
shrink_copy() {
    python3 - my-study <<'EOF'
import csv, json, os, sys
study = sys.argv[1]
def cut(path, key_col, keep):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    col = rows[0].index(key_col)
    keys = []
    for r in rows[1:]:
        if r[col] not in keys:
            keys.append(r[col])
    kept = set(keys[:keep])
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([rows[0]] + [r for r in rows[1:] if r[col] in kept])
cut(os.path.join(study, "responses.csv"), "person_id", 60)
cut(os.path.join(study, "expert_pairs.csv"), "pair_id", 60)
sizes = json.loads(os.environ["SIZES"])
for name in ("for-experts.json", "pipeline.json"):
    path = os.path.join(study, name)
    p = json.load(open(path))
    for stage, settings in p["stages"].items():
        settings.update(sizes.get(stage, {}))
    json.dump(p, open(path, "w"), indent=2)
EOF
}
sjtalign() {
    if [ ! -e "$TMP/.shrunk" ]; then
        shrink_copy || return 1
        touch "$TMP/.shrunk"
    fi
    "$SJTALIGN" "$@"
}

mkdir -p "$TMP/repo"
ln -s "$ROOT/instruments" "$TMP/repo/instruments"
cd "$TMP/repo" || exit 1
(set -e; eval "$steps") >"$TMP/steps.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
    pass "the README's own-data steps run as written (exit 0)"
else
    fail "the README's own-data steps run as written: exit $rc" "$(tail -n 30 "$TMP/steps.out")"
fi

# The copies differ from the shipped files in the size settings only.
for name in for-experts.json pipeline.json; do
    if python3 - "$ROOT/instruments/example/$name" "my-study/$name" <<'EOF' 2>"$TMP/err"; then
import json, os, sys
shipped, copy = (json.load(open(p)) for p in sys.argv[1:3])
sizes = json.loads(os.environ["SIZES"])
def without_sizes(p):
    for stage, settings in p["stages"].items():
        for key in sizes.get(stage, {}):
            settings.pop(key, None)
    return p
assert without_sizes(shipped) == without_sizes(copy), (shipped, copy)
EOF
        pass "my-study/$name differs from the shipped file in sizes only"
    else
        fail "my-study/$name differs from the shipped file in sizes only" "$(cat "$TMP/err")"
    fi
done

# Step one wrote the pairs for the experts; step two reused its scorer.
for f in my-study/runs/pairs.csv my-study/runs/sft/model.safetensors my-study/runs/reward/panel.json \
    my-study/runs/ppo/config.json my-study/runs/dpo/config.json my-study/runs/scores/baseline.csv \
    my-study/reports/before/index.html my-study/reports/after/index.html \
    my-study/reports/after-dpo/index.html my-study/reports/baseline/index.html \
    my-study/reports/compare/index.html my-study/reports/compare/compare.json; do
    if [ -s "$f" ]; then pass "$f written"; else fail "$f written" "$(tail -n 20 "$TMP/steps.out")"; fi
done
rows=$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=""))))' \
    my-study/runs/pairs.csv 2>/dev/null)
if [ "$rows" = 40 ]; then pass "step one: 40 pairs for the experts"; else fail "step one: 40 pairs for the experts" "$rows"; fi
for stage in split pretrain sft; do
    n=$(grep -c "\] $stage: up to date, skipped" "$TMP/steps.out")
    if [ "$n" -eq 1 ]; then
        pass "step two reuses step one's $stage"
    else
        fail "step two reuses step one's $stage" "$(grep "\] $stage:" "$TMP/steps.out")"
    fi
done
case "$(cat "$TMP/steps.out")" in
    *"reports/compare/index.html"*) pass "run says where the compare report is" ;;
    *) fail "run says where the compare report is" "$(tail -n 20 "$TMP/steps.out")" ;;
esac
