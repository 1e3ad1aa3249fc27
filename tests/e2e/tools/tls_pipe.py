#!/usr/bin/env python3
"""Pipelined requests over TLS whose records do not line up with them
(tests/e2e/tls.sh): a first record with half a request head, then one
record of 2^14 bytes (the most a record holds) that ends that head and
carries N more requests (the last one padded to fill the record).

  tls_pipe.py HOST PORT CAFILE NAME N
NAME: the server name to verify.  Prints "responses R of N+1"; exits 1
unless every response came, each a 200 with /bytes/10's exact body."""
import socket
import ssl
import sys


def main():
    host, port, cafile, name, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=name)
    req = b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n"
    s.sendall(req[:20])  # one record: half a head
    rest = req[20:] + req * (n - 1)
    # The last request padded so that the record is a full 2^14 bytes:
    # it does not fit behind the half head in a 16 KB buffer.
    last = b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n"
    pad = 16384 - len(rest) - len(last % b"")
    assert 0 < pad < 8000, pad
    rest += last % (b"a" * pad)
    assert len(rest) == 16384, len(rest)
    s.sendall(rest)      # one record: the rest, and N more requests
    want = bytes(range(10))
    got, buf = 0, b""
    while got < n + 1:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while True:
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                break
            head = buf[:head_end].decode("latin-1")
            if len(buf) < head_end + 4 + 10:
                break
            body = buf[head_end + 4:head_end + 14]
            if not head.startswith("HTTP/1.1 200") or body != want:
                print("bad response %d: %r" % (got, head[:40]))
                return 1
            buf = buf[head_end + 14:]
            got += 1
    print("responses %d of %d" % (got, n + 1))
    return 0 if got == n + 1 else 1


sys.exit(main())
