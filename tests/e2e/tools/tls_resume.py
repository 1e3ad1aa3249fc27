#!/usr/bin/env python3
"""TLS session resumption through the VIP (tests/e2e/tls.sh).

  tls_resume.py HOST CAFILE SIZE

For TLS 1.3 and 1.2: a connection with a full handshake and one GET of
/bytes/SIZE, then a second connection offering the first one's session (a
ticket) and another GET.  Prints one line per version,
"VERSION resumed=0|1 ok=0|1" (ok: both bodies exact), and exits 1 unless
every second connection was resumed and every body was exact.

  tls_resume.py HOST CAFILE SIZE --pause DIR
TLS 1.3 only, and between the two connections it creates DIR/ready and
waits (up to 60 s) for DIR/go: the caller restarts the server meanwhile.
Prints "resumed=0|1 ok=0|1"; exits 1 only when a body was wrong."""
import http.client
import os
import socket
import ssl
import sys
import time

PATTERN = bytes(i % 251 for i in range(251 * 64))


def get(sock, size):
    sock.sendall(b"GET /bytes/%d HTTP/1.1\r\nHost: x\r\n\r\n" % size)
    r = http.client.HTTPResponse(sock)
    r.begin()
    body = r.read()
    want = (PATTERN * (size // len(PATTERN) + 1))[:size]
    return r.status == 200 and body == want


def across_restart(host, cafile, size, pause):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    s = ctx.wrap_socket(socket.create_connection((host, 443), timeout=10),
                        server_hostname=host)
    ok = get(s, size)
    session = s.session
    s.close()
    open(os.path.join(pause, "ready"), "w").close()
    for _ in range(600):
        if os.path.exists(os.path.join(pause, "go")):
            break
        time.sleep(0.1)
    s = ctx.wrap_socket(socket.create_connection((host, 443), timeout=10),
                        server_hostname=host, session=session)
    ok = get(s, size) and ok
    print("resumed=%d ok=%d" % (s.session_reused, ok))
    s.close()
    return 0 if ok else 1


def main():
    host, cafile, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if "--pause" in sys.argv:
        return across_restart(host, cafile, size,
                              sys.argv[sys.argv.index("--pause") + 1])
    good = True
    for ver in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.minimum_version = ctx.maximum_version = ver
        session, ok, resumed = None, True, False
        for _ in range(2):
            raw = socket.create_connection((host, 443), timeout=10)
            s = ctx.wrap_socket(raw, server_hostname=host, session=session)
            ok = get(s, size) and ok
            resumed = s.session_reused
            session = s.session
            s.close()
        print("%s resumed=%d ok=%d" % (ver.name, resumed, ok))
        good = good and ok and resumed
    return 0 if good else 1


sys.exit(main())
