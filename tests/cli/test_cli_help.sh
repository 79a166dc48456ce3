#!/usr/bin/env bash
# Help for every command (issue 18): `sjtalign help CMD` is CMD's --help,
# every --help has an example, the usage line shows options that have a
# default in brackets, and choices are accepted in any letter case.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/stats"
COMMANDS="simulate judge validate split pretrain sft score baseline pairs reward ppo dpo dif parity
audit compare run study bench"

for c in $COMMANDS; do
    run_cmd "$c" --help
    want="$OUT"
    run_cmd help "$c"
    if [ "$RC" -eq 0 ] && [ "$OUT" = "$want" ] && [ -n "$want" ]; then
        pass "sjtalign help $c prints $c --help"
    else
        fail "sjtalign help $c prints $c --help" "exit $RC" "$(printf '%s' "$OUT" | head -2)"
    fi
done
run_cmd help nosuch
expect_exit 2 "help of an unknown command"
expect_err_contains "sjtalign help: unknown command 'nosuch'" "names the unknown command"
run_cmd help
expect_exit 0 "help alone"
expect_out_contains "sjtalign help COMMAND" "the general help says how to get a command's help"

# Every command's --help ends with an Examples section of sjtalign lines.
for c in $COMMANDS; do
    run_cmd "$c" --help
    case "$OUT" in *"Examples:
  sjtalign $c"[[:space:]]*) pass "$c --help has an example" ;; *) fail "$c --help lacks an example" ;; esac
done

# The usage line (up to the first blank line) shows every option whose
# help gives a default only inside brackets: remove the bracketed parts,
# and no defaulted option may remain.
for c in $COMMANDS; do
    run_cmd "$c" --help
    bad=$(printf '%s\n' "$OUT" | python3 -c '
import re, sys
text = sys.stdin.read()
usage = text.split("\n\n", 1)[0]
options = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
defaulted, current = set(), None
for line in options.splitlines():
    m = re.match(r"  --([a-z0-9-]+)", line)
    if m:
        current = m.group(1)
    if current and ("(default" in line or "default:" in line):
        defaulted.add(current)
bare = usage
while True:
    stripped = re.sub(r"\[[^\[\]]*\]", "", bare)
    if stripped == bare:
        break
    bare = stripped
print(" ".join(sorted(o for o in defaulted if re.search(r"--" + re.escape(o) + r"\b", bare))))')
    if [ -z "$bad" ]; then pass "$c: options with defaults are in brackets in the usage line"
    else fail "$c: usage line shows options with defaults as required: $bad"; fi
done
run_cmd bench --help
case "$OUT" in "usage: sjtalign bench"*"[--profile]"*"Options:"*) pass "bench's usage line has --profile" ;;
    *) fail "bench's usage line lacks --profile" ;; esac
run_cmd parity --help
expect_out_contains "usage: sjtalign parity --data FILE --reference R --focal F[,F2...] --out FILE|-
                       [--score COL] [--group COL] [--person COL | --rows]" \
    "parity's usage line: --score and --group in brackets"
run_cmd audit --help
expect_out_contains "usage: sjtalign audit --data scores.csv --instrument FILE [--group COL]" \
    "audit's usage line: --group in brackets (it defaults to group)"

# Choices in any letter case; a wrong one lists the values.
run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1 --adjust BH --format JSON --out -
expect_exit 0 "dif --adjust BH --format JSON"
adjust=$(printf '%s' "$OUT" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["adjust"], "mh_p_adj" in d["items"][0])')
[ "$adjust" = "bh True" ] && pass "--adjust BH is bh (adjusted p-values in the JSON)" ||
    fail "--adjust BH is bh" "$adjust"
run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1 --adjust Holm --match REST --out -
expect_exit 0 "dif --adjust Holm --match REST"
run_cmd dif --data "$FIX/sim_dif.csv" --reference R --focal F1 --adjust bonferroni --out -
expect_exit 2 "an unknown --adjust"
expect_err_contains "--adjust expected one of none|holm|bh, got 'bonferroni'" "the error lists the values"
