#!/usr/bin/env bash
# Every relative link in README.md and docs/*.md resolves: the file exists
# and, for a #fragment into a markdown file, a heading of that file has that
# anchor (GitHub's rule: lower case, punctuation but '-' dropped, spaces to
# '-', a repeated heading numbered -1, -2, ...). Code blocks are skipped.
. "$(dirname "$0")/lib.sh"
if python3 - "$SJTALIGN_ROOT" >"$TMP/links" 2>&1 <<'PY'; then
import re, os, sys
root = sys.argv[1]
files = [os.path.join(root, 'README.md')] + sorted(
    os.path.join(root, 'docs', f) for f in os.listdir(os.path.join(root, 'docs')) if f.endswith('.md'))
def slug(h):
    h = h.strip().lower()
    h = re.sub(r'[^\w\- ]', '', h)  # GitHub: drop punctuation except - and space
    return h.replace(' ', '-')
def anchors(path):
    out = set(); inside = False; counts = {}
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'): inside = not inside
        if inside: continue
        m = re.match(r'^(#{1,6})\s+(.*?)\s*#*\s*$', line)
        if m:
            text = re.sub(r'`', '', m.group(2))
            text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', text)
            s = slug(text); n = counts.get(s, 0); counts[s] = n + 1
            out.add(s if n == 0 else '%s-%d' % (s, n))
    return out
bad = 0; n = 0
for f in files:
    text = open(f, encoding='utf-8').read()
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    for m in re.finditer(r'\]\(([^)\s]+)\)', text):
        t = m.group(1)
        if re.match(r'^[a-z]+:', t): continue
        n += 1
        path, _, frag = t.partition('#')
        target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.exists(target):
            print('%s: missing file %s' % (os.path.relpath(f, root), t)); bad += 1; continue
        if frag and target.endswith('.md') and frag not in anchors(target):
            print('%s: missing anchor %s' % (os.path.relpath(f, root), t)); bad += 1
print('%d relative links checked, %d broken' % (n, bad))
sys.exit(1 if bad else 0)
PY
    pass "README and docs: $(tail -n 1 "$TMP/links")"
else
    fail "README and docs: every relative link resolves" "$(cat "$TMP/links")"
fi
