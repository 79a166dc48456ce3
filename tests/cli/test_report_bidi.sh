#!/usr/bin/env bash
# Report pages isolate strings from the data from bidirectional reordering:
# an item id holding a right-to-left override (U+202E) stays inside <bdi>
# in element content, becomes U+FFFD where no element can isolate it (SVG
# text, tooltips, <title>), and the figures after it in the summary sentence
# are the same as for a plain id and outside the isolate.
. "$(dirname "$0")/lib.sh"
FIX="$SJTALIGN_ROOT/tests/fixtures/report"
CHECK="$SJTALIGN_ROOT/tests/report/check_html.py"

# The audit fixture with item sjt3 renamed to "sjt<U+202E>3" and the
# reference group to "ref<U+202E>" in the data and the instrument.
python3 - "$FIX" "$TMP" <<'EOF'
import csv, json, sys
fix, tmp = sys.argv[1], sys.argv[2]
ins = json.load(open(f"{fix}/instrument.json"))
ins["items"][2]["id"] = "sjt\u202e3"
json.dump(ins, open(f"{tmp}/ins.json", "w"), ensure_ascii=False)
rows = list(csv.reader(open(f"{fix}/before.csv")))
for r in rows[1:]:
    r[2] = "sjt\u202e3" if r[2] == "sjt3" else r[2]
    r[1] = "ref\u202e" if r[1] == "ref" else r[1]
csv.writer(open(f"{tmp}/bidi.csv", "w", newline=""), lineterminator="\n").writerows(rows)
EOF

run_cmd audit --data "$FIX/before.csv" --instrument "$FIX/instrument.json" --group group \
    --reference ref --focal foc --out "$TMP/plain"
expect_exit 0 "audit of the plain fixture"
run_cmd audit --data "$TMP/bidi.csv" --instrument "$TMP/ins.json" --group group \
    --reference $'ref\u202e' --focal foc --out "$TMP/bidi"
expect_exit 0 "audit with a right-to-left override in an item id and a group label"
if python3 "$CHECK" "$TMP/bidi/index.html" >"$TMP/check" 2>&1; then
    pass "the page is well-formed"
else
    fail "the page is well-formed" "$(cat "$TMP/check")"
fi

# Every U+202E in the page is inside a <bdi> holding nothing but text.
python3 - "$TMP/bidi/index.html" >"$TMP/check" 2>&1 <<'EOF'
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
isolated = re.findall(r"<bdi>[^<]*</bdi>", page)
assert any("\u202e" in s for s in isolated), "no isolated override"
outside = re.sub(r"<bdi>[^<]*</bdi>", "", page)
assert "\u202e" not in outside, outside[max(0, outside.find("\u202e") - 80):][:160]
EOF
[ $? -eq 0 ] && pass "every override is inside <bdi>" || fail "an override outside <bdi>" "$(cat "$TMP/check")"

# The summary sentence: the same figures as for the plain id, after </bdi>.
plain=$(grep -o '<strong><bdi>sjt3</bdi></strong> ([^)]*)' "$TMP/plain/index.html" | head -1)
bidi=$(grep -o $'<strong><bdi>sjt\u202e3</bdi></strong> ([^)]*)' "$TMP/bidi/index.html" | head -1)
if [ -n "$plain" ] && [ "${plain/sjt3/$'sjt\u202e3'}" = "$bidi" ]; then
    pass "summary figures unchanged and outside the isolate: ${plain#*</strong> }"
else
    fail "summary sentence differs" "plain: $plain" "bidi:  $bidi"
fi
grep -qF $'Reference group <bdi>ref\u202e</bdi>, focal group <bdi>foc</bdi> ' "$TMP/bidi/index.html" &&
    pass "subtitle group labels isolated one by one" || fail "subtitle group labels isolated one by one"
# SVG labels and tooltips cannot hold <bdi>: the override becomes U+FFFD.
grep -qF $'<title>sjt\ufffd3</title>sjt\ufffd3</text>' "$TMP/bidi/index.html" &&
    pass "SVG label and tooltip show U+FFFD" || fail "SVG label and tooltip show U+FFFD"

# The comparison page of two such audits keeps the same rule.
run_cmd compare --before "$TMP/bidi" --after "$TMP/bidi" --labels $'SFT,PPO\u202e' --out "$TMP/cmp"
expect_exit 0 "compare of the two audits"
python3 - "$TMP/cmp/index.html" >"$TMP/check" 2>&1 <<'EOF'
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
assert "<bdi>PPO\u202e</bdi>" in page, "label not isolated"
outside = re.sub(r"<bdi>[^<]*</bdi>", "", page)
assert "\u202e" not in outside, outside[max(0, outside.find("\u202e") - 80):][:160]
EOF
[ $? -eq 0 ] && pass "compare page: every override is inside <bdi>" || fail "compare page: an override outside <bdi>" "$(cat "$TMP/check")"
