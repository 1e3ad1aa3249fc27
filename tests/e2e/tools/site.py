#!/usr/bin/env python3
"""Test fixtures for the built-in server: a site a browser renders, and a
check that it did.

  site.py make DIR [N]       DIR/index.html with N (24) images DIR/img/I.png,
                             each a solid 64x64 square of its own colour in an
                             8-wide grid, and a script that says how many
                             loaded once the page has
  site.py check-dom FILE N   the DOM Chromium dumped says N of N loaded
  site.py check-shot PNG N   each image's centre in the screenshot has its
                             colour
"""
import struct
import sys
import zlib

SIDE = 64
COLS = 8


def colour(i):
    return ((i * 37) % 256, (255 - i * 23) % 256, (i * 71 + 40) % 256)


def png(w, h, rgb):
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))

    def chunk(kind, data):
        c = struct.pack("!I", len(data)) + kind + data
        return c + struct.pack("!I", zlib.crc32(kind + data) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack("!IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def make(d, n):
    import os
    os.makedirs(d + "/img", exist_ok=True)
    imgs = []
    for i in range(n):
        with open("%s/img/%d.png" % (d, i), "wb") as f:
            f.write(png(SIDE, SIDE, colour(i)))
        imgs.append('<img src="img/%d.png" width="%d" height="%d">' %
                    (i, SIDE, SIDE))
    page = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>prism</title>
<style>body{margin:0;background:#fff} #g{width:%dpx;line-height:0}
img{display:inline-block;margin:0;border:0;vertical-align:top}
#r{font:12px monospace}</style></head>
<body><div id="g">%s</div><div id="r">waiting</div>
<script>
window.onload = function () {
  var ok = 0, imgs = document.images;
  for (var i = 0; i < imgs.length; i++)
    if (imgs[i].complete && imgs[i].naturalWidth === %d) ok++;
  document.getElementById("r").textContent =
    "loaded " + ok + " of " + imgs.length;
};
</script></body></html>
""" % (SIDE * COLS, "".join(imgs), SIDE)
    with open(d + "/index.html", "w") as f:
        f.write(page)


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack("!I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack("!IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), "depth/type %d/%d" % (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev, p = [], bytearray(stride), 0
    for _ in range(h):
        f, line = raw[p], bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[x] = (line[x] + pr) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_shot(path, n):
    w, h, bpp, rows = read_png(path)
    bad = []
    for i in range(n):
        x = (i % COLS) * SIDE + SIDE // 2
        y = (i // COLS) * SIDE + SIDE // 2
        if y >= h or x >= w:
            bad.append("image %d outside the %dx%d shot" % (i, w, h))
            continue
        px = tuple(rows[y][x * bpp:x * bpp + 3])
        want = colour(i)
        if any(abs(px[k] - want[k]) > 8 for k in range(3)):
            bad.append("image %d: pixel %s, want %s" % (i, px, want))
    print("\n".join(bad) if bad else "all %d images rendered" % n)
    return 1 if bad else 0


def main():
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 24)
        return 0
    if cmd == "check-dom":
        n = int(sys.argv[3])
        dom = open(sys.argv[2]).read()
        want = "loaded %d of %d" % (n, n)
        print(want if want in dom else "not found: " + want)
        return 0 if want in dom else 1
    return check_shot(sys.argv[2], int(sys.argv[3]))


if __name__ == "__main__":
    sys.exit(main())
