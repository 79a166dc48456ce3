#!/usr/bin/env python3
"""Checks a report page: well-formed (every non-void element closed, in
order; attributes quoted; one html/head/body), self-contained and inert
(no script, iframe, object, embed, link, base or meta refresh; no event
handler attributes; no URL reaching outside the page: src/href/xlink:href
only "#fragment", no url() or @import in CSS except url(#id)), and, given
--forbid TEXT, that TEXT never appears unescaped in the raw markup.

usage: check_html.py PAGE.html [--forbid TEXT]... [--expect TEXT]...
--expect TEXT: TEXT must occur in the page's text content (after
unescaping), e.g. a hostile item id shown as text.
Prints "ok" lines or the problems found; exits 1 on any problem."""
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "param", "source", "track", "wbr"}
# SVG leaf elements written self-closing (<rect/>) are void in practice.
FORBIDDEN_ELEMENTS = {"script", "iframe", "object", "embed", "link", "base", "frame",
                      "frameset", "applet", "img", "audio", "video", "source", "form", "input"}
URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "background", "poster",
                  "data"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.problems = []
        self.counts = {}
        self.text = []
        self.in_style = False
        self.styles = []

    def where(self):
        line, col = self.getpos()
        return f"line {line}, column {col + 1}"

    def check_attributes(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{self.where()}: event handler attribute {name} on <{tag}>")
            if value is None and name not in ("hidden", "open", "disabled", "checked"):
                continue
            if name in URL_ATTRIBUTES and not (value or "").startswith("#"):
                self.problems.append(f"{self.where()}: <{tag} {name}=\"{value}\"> refers outside the page")
            if name == "style" and re.search(r"url\s*\(\s*['\"]?(?!#)", value or "", re.I):
                self.problems.append(f"{self.where()}: style attribute with url()")
            if "://" in (value or "") and not (name == "xmlns" and value == "http://www.w3.org/2000/svg"):
                self.problems.append(f"{self.where()}: attribute {name} holds a URL")
            if name == "http-equiv" and (value or "").lower() == "refresh":
                self.problems.append(f"{self.where()}: meta refresh")

    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag in FORBIDDEN_ELEMENTS:
            self.problems.append(f"{self.where()}: forbidden element <{tag}>")
        self.check_attributes(tag, attrs)
        raw = self.get_starttag_text() or ""
        # Every attribute value must be quoted.
        inner = re.sub(r"^<[^\s/>]+", "", raw).rstrip(">").rstrip("/")
        for m in re.finditer(r"\s*([^\s=/>]+)(\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?", inner):
            if m.group(3) is not None and m.group(3)[0] not in "\"'":
                self.problems.append(
                    f"{self.where()}: unquoted attribute {m.group(1)} in {raw[:60]}")
        if tag == "title" and self.stack and self.stack[-1][0] == "head":
            self.counts["head>title"] = self.counts.get("head>title", 0) + 1
        if tag == "style":
            self.in_style = True
        if tag not in VOID:
            self.stack.append((tag, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag in FORBIDDEN_ELEMENTS:
            self.problems.append(f"{self.where()}: forbidden element <{tag}>")
        self.check_attributes(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
        if tag in VOID:
            self.problems.append(f"{self.where()}: end tag of void element </{tag}>")
            return
        if not self.stack:
            self.problems.append(f"{self.where()}: </{tag}> closes nothing")
            return
        open_tag, pos = self.stack.pop()
        if open_tag != tag:
            self.problems.append(
                f"{self.where()}: </{tag}> closes <{open_tag}> opened on line {pos[0]}")

    def handle_data(self, data):
        if self.in_style:
            self.styles.append(data)
        else:
            self.text.append(data)


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path = argv[1]
    forbid, expect = [], []
    i = 2
    while i < len(argv):
        if argv[i] == "--forbid" and i + 1 < len(argv):
            forbid.append(argv[i + 1])
        elif argv[i] == "--expect" and i + 1 < len(argv):
            expect.append(argv[i + 1])
        else:
            print(f"unknown argument {argv[i]}")
            return 2
        i += 2
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    c = Checker()
    c.feed(raw)
    c.close()
    problems = list(c.problems)
    if not raw.startswith("<!DOCTYPE html>"):
        problems.append("the page does not start with <!DOCTYPE html>")
    for tag, pos in c.stack:
        problems.append(f"<{tag}> opened on line {pos[0]} is never closed")
    for tag in ("html", "head", "body", "head>title", "main"):
        if c.counts.get(tag, 0) != 1:
            problems.append(f"expected exactly one <{tag}>, found {c.counts.get(tag, 0)}")
    css = "".join(c.styles)
    if re.search(r"@import|url\s*\(\s*['\"]?(?!#)", css, re.I):
        problems.append("the style sheet imports or refers to a URL")
    for text in forbid:
        if text in raw:
            at = raw.index(text)
            line = raw.count("\n", 0, at) + 1
            problems.append(f"forbidden text {text!r} appears unescaped on line {line}")
    page_text = "".join(c.text)
    for text in expect:
        if text not in page_text:
            problems.append(f"expected text {text!r} is not in the page text")
    if problems:
        for p in problems[:50]:
            print(f"not ok: {path}: {p}")
        return 1
    print(f"ok: {path}: well-formed, self-contained, {sum(c.counts.values())} elements")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
