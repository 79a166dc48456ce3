#!/usr/bin/env bash
# Renders the audit and compare pages of the report fixtures in headless
# Chromium (Debian's package; installed when missing): the screenshot must
# show a page with its charts, print-to-PDF must give the expected number
# of pages on A4 and on Letter, and the layout check (layout_check.py) must
# find no SVG path of a single point, no legend label outside its chart and
# no table wider than its column, on screen at 1100 px and with the print
# rules at an A4 column. Each layout rule is shown to fail on a small bad
# page (tests/report/fixtures/bad_*.html). When the demo's audits are there
# (reports/demo, runs/demo: `make demo`), its compare page is rebuilt with
# this build and checked too. Prints ok / not ok lines and a closing
# "N passed, N failed" line.
# usage: tests/report/browser_test.sh BUILD_DIR
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/../.." && pwd)
SJTALIGN="$root/$build/sjtalign"
FIX="$root/tests/fixtures/report"
HERE="$root/tests/report"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

if ! command -v chromium >/dev/null 2>&1; then
    echo "installing chromium (Debian package)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v chromium >/dev/null 2>&1; then
    fail "chromium is available"
    echo "$passed passed, $failed failed"
    exit 1
fi

# No network, no first-run work, a fresh profile every run.
chrome() {
    local profile
    profile=$(mktemp -d "$TMP/profile.XXXXXX")
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-default-apps --disable-extensions --hide-scrollbars --user-data-dir="$profile" \
        "$@" >"$TMP/chrome.log" 2>&1
}

# Page count of a PDF: its page objects.
pdf_pages() {
    python3 -c "import re,sys; print(len(re.findall(rb'/Type\s*/Page(?![s\w])', open(sys.argv[1],'rb').read())))" "$1"
}

# A copy of a page that asks for one paper size (the page itself leaves it
# to the printer).
with_paper() {
    sed "s|</head>|<style>@page{size:$2;}</style></head>|" "$1" >"$3"
}

for name in before after; do
    "$SJTALIGN" audit --data "$FIX/$name.csv" --instrument "$FIX/instrument.json" --group group \
        --reference ref --focal foc --human human_score --cut 9 --out "$TMP/$name" 2>/dev/null
done
# The fixture log with a fixed-set series logged every 5th step, as PPO
# logs eval/reward every --eval-every steps: its line must be drawn.
python3 - "$FIX/train_log.jsonl" "$TMP/train_log.jsonl" <<'PY'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        row = json.loads(line)
        if row["step"] % 5 == 0:
            row["eval/reward"] = round(row["objective/scores"] * 0.8, 6)
        out.write(json.dumps(row) + "\n")
PY
"$SJTALIGN" compare --before "$TMP/before" --after "$TMP/after" --training-log "$TMP/train_log.jsonl" \
    --labels "SFT,PPO" --out "$TMP/cmp" 2>/dev/null
if [ -s "$TMP/before/index.html" ] && [ -s "$TMP/cmp/index.html" ]; then
    pass "fixture reports written"
else
    fail "fixture reports written"
fi

# page:expected pages on A4:on Letter (measured with Debian 12's chromium and
# DejaVu fonts; one page of slack either way for font differences).
for spec in "before/index.html:8:9" "cmp/index.html:6:7"; do
    IFS=: read -r page want_a4 want_letter <<<"$spec"
    label=${page%%/*}
    shot="$TMP/$label.png"
    if chrome --window-size=1000,3000 --screenshot="$shot" "file://$TMP/$page" && [ -s "$shot" ]; then
        # Okabe-Ito blue (#0072B2) and vermillion (#D55E00) are on the charts.
        if python3 "$HERE/png_check.py" "$shot" --min-ink 0.03 --colour 0072B2:200 --colour D55E00:200 \
            >"$TMP/png.log" 2>&1; then
            pass "$label: screenshot shows the page and its charts ($(head -1 "$TMP/png.log" | cut -d: -f2-))"
        else
            fail "$label: screenshot shows the page and its charts" "$(cat "$TMP/png.log")"
        fi
    else
        fail "$label: chromium takes a screenshot" "$(tail -3 "$TMP/chrome.log")"
    fi
    for paper in A4 letter; do
        want=$want_a4
        [ "$paper" = letter ] && want=$want_letter
        with_paper "$TMP/$page" "$paper" "$TMP/$label-$paper.html"
        pdf="$TMP/$label-$paper.pdf"
        if chrome --no-pdf-header-footer --print-to-pdf="$pdf" "file://$TMP/$label-$paper.html" && [ -s "$pdf" ]; then
            n=$(pdf_pages "$pdf")
            if [ "$n" -ge $((want - 1)) ] && [ "$n" -le $((want + 1)) ]; then
                pass "$label: prints to $n pages on $paper (expected $want)"
            else
                fail "$label: prints to $want pages on $paper" "got $n"
            fi
        else
            fail "$label: chromium prints to PDF on $paper" "$(tail -3 "$TMP/chrome.log")"
        fi
    done
done

# Layout: on screen at 1100 px and with the print rules at the width of an
# A4 column.
layout_ok() {
    local page=$1 label=$2
    for mode in screen print; do
        local args=()
        [ "$mode" = print ] && args=(--print)
        if python3 "$HERE/layout_check.py" "$page" "${args[@]}" >"$TMP/layout.log" 2>&1; then
            pass "$label: layout ($mode): $(sed 's/^ok: [^(]*//' "$TMP/layout.log")"
        else
            fail "$label: layout ($mode): no single-point path, legend outside its chart or table wider than its column" \
                "$(head -10 "$TMP/layout.log")"
        fi
    done
}
layout_ok "$TMP/before/index.html" before
layout_ok "$TMP/cmp/index.html" cmp

# Each layout rule must be able to fail: a page breaking it is rejected
# for that rule.
for spec in "bad_single_point:(a) path with a single point" \
    "bad_legend_outside:(b) legend label" "bad_wide_table:(c) table"; do
    IFS=: read -r name want <<<"$spec"
    python3 "$HERE/layout_check.py" "$HERE/fixtures/$name.html" >"$TMP/layout.log" 2>&1
    rc=$?
    if [ "$rc" -eq 1 ] && grep -qF "$want" "$TMP/layout.log"; then
        pass "layout check rejects $name.html ($want)"
    else
        fail "layout check rejects $name.html ($want)" "exit $rc" "$(head -5 "$TMP/layout.log")"
    fi
done

# The demo's compare page, rebuilt with this build, when the demo is there.
demo="$root/reports/demo"
if [ -f "$demo/before/audit.json" ] && [ -f "$demo/after/audit.json" ] &&
    [ -f "$demo/after-dpo/audit.json" ] && [ -f "$root/runs/demo/ppo/train_log.jsonl" ]; then
    extra=()
    [ -f "$demo/baseline/audit.json" ] && extra+=(--baseline "$demo/baseline")
    [ -f "$root/runs/demo/reward/panel.json" ] && extra+=(--panel "$root/runs/demo/reward/panel.json")
    if "$SJTALIGN" compare --before "$demo/before" --after "$demo/after" --after "$demo/after-dpo" \
        --training-log "$root/runs/demo/ppo/train_log.jsonl" "${extra[@]}" --labels SFT,PPO,DPO \
        --out "$TMP/demo-cmp" 2>"$TMP/demo.log"; then
        layout_ok "$TMP/demo-cmp/index.html" "demo compare"
    else
        fail "demo compare page rebuilt" "$(tail -3 "$TMP/demo.log")"
    fi
else
    echo "ok - demo compare page # SKIP no demo (make demo)"
fi

# The screenshot check must be able to fail: a blank page is rejected.
printf '<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>' >"$TMP/blank.html"
if chrome --window-size=1000,800 --screenshot="$TMP/blank.png" "file://$TMP/blank.html" &&
    ! python3 "$HERE/png_check.py" "$TMP/blank.png" --min-ink 0.03 >/dev/null 2>&1; then
    pass "a blank page is recognised as blank"
else
    fail "a blank page is recognised as blank"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
