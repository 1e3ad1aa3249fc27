#!/usr/bin/env python3
"""Clients that half-close and pipeline, for tests: raw sockets, every body
checked byte for byte (byte i == i % 251), one JSON line on stdout.

  pipeline_client.py halfclose HOST PORT SIZE [--after-ms MS] [--count N]
      N requests (default 1) for /bytes/SIZE written at once, then the
      sending side shut down (SHUT_WR) at once or MS after the first
      response byte (the backend serving), then everything read until EOF.
  pipeline_client.py pipeline HOST PORT SIZES --depth D --count N
      N requests cycling through SIZES, D outstanding at any time (the
      first D written at once, one more each time a response completes).

Reports the responses, their backends, how the connection ended ("eof":
an orderly close after the last response; "reset"; "timeout"), seconds
taken and the longest gap between two responses.  Exit 1 on a wrong body,
a missing response or a reset."""
import json
import socket
import sys
import time

PATTERN = bytes(i % 251 for i in range(251 * 4096))


def expected(n):
    full, rest = divmod(n, len(PATTERN))
    return PATTERN * full + PATTERN[:rest]


class Reader:
    """Parses responses off a socket, in order."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.eof = False

    def fill(self):
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            raise
        if not data:
            self.eof = True
        self.buf += data

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            if self.eof:
                return None
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", "0"))
        while len(self.buf) < n:
            if self.eof:
                return None
            self.fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body


def request(size, close=False):
    return ("GET /bytes/%d HTTP/1.1\r\nHost: prism.test\r\n%s\r\n" %
            (size, "Connection: close\r\n" if close else "")).encode()


def check(resp, size, out):
    if resp is None:
        out["bad"].append({"size": size, "got": "no response"})
        return False
    status, hdrs, body = resp
    out["backends"].append(hdrs.get("x-prism-backend"))
    if status != 200 or body != expected(size):
        out["bad"].append({"size": size, "status": status, "got": len(body)})
        return False
    out["responses"] += 1
    return True


def finish(r, out):
    """After the last response: the close must be orderly, nothing more."""
    try:
        while not r.eof:
            r.fill()
        out["end"] = "eof" if not r.buf else "extra bytes"
    except ConnectionResetError:
        out["end"] = "reset"
    except socket.timeout:
        out["end"] = "timeout"


def halfclose(host, port, size, after_ms, count):
    s = socket.create_connection((host, port), timeout=10)
    out = {"responses": 0, "backends": [], "bad": [], "end": None}
    t0 = time.monotonic()
    s.sendall(b"".join(request(size) for _ in range(count)))
    r = Reader(s)
    if after_ms is None:
        s.shutdown(socket.SHUT_WR)
    else:
        while not r.buf and not r.eof:
            r.fill()
        time.sleep(after_ms / 1000.0)
        s.shutdown(socket.SHUT_WR)
    try:
        for _ in range(count):
            if not check(r.response(), size, out):
                break
        finish(r, out)
    except ConnectionResetError:
        out["end"] = "reset"
    except socket.timeout:
        out["end"] = "timeout"
    out["seconds"] = round(time.monotonic() - t0, 3)
    return out


def pipeline(host, port, sizes, depth, count):
    s = socket.create_connection((host, port), timeout=10)
    out = {"responses": 0, "backends": [], "bad": [], "end": None,
           "max_gap_ms": 0}
    r = Reader(s)
    t0 = last = time.monotonic()
    sent = 0
    first = min(depth, count)
    s.sendall(b"".join(request(sizes[i % len(sizes)]) for i in range(first)))
    sent = first
    try:
        for i in range(count):
            if not check(r.response(), sizes[i % len(sizes)], out):
                break
            now = time.monotonic()
            out["max_gap_ms"] = max(out["max_gap_ms"],
                                    round((now - last) * 1000, 1))
            last = now
            if sent < count:
                s.sendall(request(sizes[sent % len(sizes)],
                                  close=sent == count - 1))
                sent += 1
        if out["responses"] == count:
            s.shutdown(socket.SHUT_WR)
            finish(r, out)
    except ConnectionResetError:
        out["end"] = "reset"
    except socket.timeout:
        out["end"] = "timeout"
    out["seconds"] = round(time.monotonic() - t0, 3)
    out["rate"] = round(out["responses"] / max(out["seconds"], 1e-6), 1)
    return out


def opt(name, default, conv=int):
    if name in sys.argv:
        return conv(sys.argv[sys.argv.index(name) + 1])
    return default


def main():
    cmd, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if cmd == "halfclose":
        out = halfclose(host, port, int(sys.argv[4]),
                        opt("--after-ms", None, float), opt("--count", 1))
        want = opt("--count", 1)
    else:
        sizes = [int(x) for x in sys.argv[4].split(",")]
        want = opt("--count", 100)
        out = pipeline(host, port, sizes, opt("--depth", 4), want)
    print(json.dumps(out))
    return 0 if out["responses"] == want and out["end"] == "eof" else 1


if __name__ == "__main__":
    sys.exit(main())
