#!/usr/bin/env bash
# Renders the audit and compare pages of the report fixtures in headless
# Chromium (Debian's package; installed when missing): the screenshot must
# show a page with its charts, and print-to-PDF must give the expected
# number of pages on A4 and on Letter. Prints ok / not ok lines and a
# closing "N passed, N failed" line.
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
"$SJTALIGN" compare --before "$TMP/before" --after "$TMP/after" --training-log "$FIX/train_log.jsonl" \
    --labels "SFT,PPO" --out "$TMP/cmp" 2>/dev/null
if [ -s "$TMP/before/index.html" ] && [ -s "$TMP/cmp/index.html" ]; then
    pass "fixture reports written"
else
    fail "fixture reports written"
fi

# page:expected pages on A4:on Letter (measured with Debian 12's chromium and
# DejaVu fonts; one page of slack either way for font differences).
for spec in "before/index.html:5:5" "cmp/index.html:5:5"; do
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
