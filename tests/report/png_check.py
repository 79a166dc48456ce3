#!/usr/bin/env python3
"""Checks that a screenshot shows a page, not a blank: decodes the PNG
(8-bit RGB or RGBA, as Chromium writes it; standard library only) and
prints the share of non-white pixels and the number of pixels close to
each of the given colours.

usage: png_check.py FILE.png [--min-ink SHARE] [--colour RRGGBB:MIN_PIXELS]...
Exits 1 when the ink share is below SHARE (default 0.02) or a colour has
fewer pixels than asked."""
import struct
import sys
import zlib


def decode(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, width, height, channels = 8, [], 0, 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour_type not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}")
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    i = 0
    for _ in range(height):
        kind = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    path, min_ink, colours = argv[1], 0.02, []
    i = 2
    while i < len(argv):
        if argv[i] == "--min-ink":
            min_ink = float(argv[i + 1])
        elif argv[i] == "--colour":
            hexa, count = argv[i + 1].split(":")
            colours.append((tuple(int(hexa[k:k + 2], 16) for k in (0, 2, 4)), int(count)))
        i += 2
    width, height, channels, rows = decode(path)
    ink, total = 0, width * height
    found = [0] * len(colours)
    for line in rows:
        for x in range(0, width * channels, channels):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if r < 235 or g < 235 or b < 235:
                ink += 1
            for k, (rgb, _) in enumerate(colours):
                if abs(r - rgb[0]) < 24 and abs(g - rgb[1]) < 24 and abs(b - rgb[2]) < 24:
                    found[k] += 1
    share = ink / total if total else 0
    problems = []
    if share < min_ink:
        problems.append(f"only {share:.3%} of the pixels are not white (at least {min_ink:.1%} expected)")
    for k, (rgb, need) in enumerate(colours):
        if found[k] < need:
            problems.append(f"colour #{bytes(rgb).hex()} on {found[k]} pixels (at least {need} expected)")
    print(f"{path}: {width}x{height}, {share:.1%} ink, colours {found}")
    for p in problems:
        print(f"problem: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
