#!/usr/bin/env python3
"""Checks how a report page lays out in headless Chromium: no SVG path of a
single point, every legend label inside its chart (its swatch just left of
it), no chart text outside its chart, no table wider than its column
(layout_probe.js lists the rules).

usage: layout_check.py PAGE.html [--width PX] [--print]
--width PX: the window width (default 1100).
--print: lay the page out with its print rules (@media print applied on
  screen) at the width of an A4 page's text column (182 mm, 688 px), the
  narrowest paper the pages are printed on.
Prints "ok" or the problems found; exits 1 on any problem, 2 when Chromium
cannot measure the page."""
import html
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
A4_COLUMN_PX = 688  # 210 mm less 2 x 14 mm margins, at 96 px per inch


def probe_copy(page, print_rules):
    """The page with the probe script before </body>; with print_rules its
    @media print block applies on screen."""
    with open(page, encoding="utf-8") as f:
        text = f.read()
    with open(os.path.join(HERE, "layout_probe.js"), encoding="utf-8") as f:
        script = f.read()
    if print_rules:
        text = text.replace("@media print{", "@media all{")
    if "</body>" not in text:
        raise ValueError("the page has no </body>")
    return text.replace("</body>", "<script>\n" + script + "\n</script>\n</body>", 1)


def measure(page, width, print_rules):
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "probe.html")
        with open(copy, "w", encoding="utf-8") as f:
            f.write(probe_copy(page, print_rules))
        cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-default-apps", "--disable-extensions",
               "--hide-scrollbars", "--user-data-dir=" + os.path.join(tmp, "profile"),
               f"--window-size={width},2000", "--virtual-time-budget=5000", "--dump-dom",
               "file://" + copy]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r"<pre id=\"layout-probe\">(\{.*?)</pre>", run.stdout, re.S)
    if not m:
        raise RuntimeError("chromium gave no probe result: " + run.stderr.strip()[-300:])
    return json.loads(html.unescape(m.group(1)))


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print(__doc__)
        return 2
    page, width, print_rules = argv[1], 1100, False
    i = 2
    while i < len(argv):
        if argv[i] == "--width" and i + 1 < len(argv):
            width = int(argv[i + 1])
            i += 2
        elif argv[i] == "--print":
            print_rules, width = True, A4_COLUMN_PX
            i += 1
        else:
            print(f"unknown argument {argv[i]}")
            return 2
    try:
        result = measure(page, width, print_rules)
    except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"not ok: {page}: {e}")
        return 2
    mode = f"{'print rules, ' if print_rules else ''}{width} px"
    c = result["counts"]
    if result["problems"]:
        for p in result["problems"][:40]:
            print(f"not ok: {page} ({mode}): {p}")
        return 1
    print(f"ok: {page} ({mode}): {c['paths']} paths, {c['legend_labels']} legend labels, "
          f"{c['texts']} chart texts, {c['tables']} tables")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
