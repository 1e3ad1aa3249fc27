#!/usr/bin/env python3
"""PUT /obj/KEY over TLS with head and body in one write (so the body's
records reach the controller together with the head's), then GET it back
on the same connection (tests/e2e/tls.sh).

  tls_put.py HOST CAFILE SIZE...
Prints "SIZE status/ok" per size; exits 1 unless every body came back."""
import http.client
import os
import socket
import ssl
import sys


def main():
    host, cafile = sys.argv[1], sys.argv[2]
    ctx = ssl.create_default_context(cafile=cafile)
    s = ctx.wrap_socket(socket.create_connection((host, 443), timeout=10),
                        server_hostname=host)
    good, out = True, []
    for i, size in enumerate(int(a) for a in sys.argv[3:]):
        body = os.urandom(size)
        s.sendall(b"PUT /obj/p%d-%d HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: %d\r\n\r\n" % (i, size, size) + body)
        r = http.client.HTTPResponse(s)
        r.begin()
        r.read()
        put = r.status
        s.sendall(b"GET /obj/p%d-%d HTTP/1.1\r\nHost: x\r\n\r\n" % (i, size))
        r = http.client.HTTPResponse(s)
        r.begin()
        back = r.read()
        ok = put in (200, 201, 204) and back == body
        out.append("%d %d/%d" % (size, put, ok))
        good = good and ok
    s.close()
    print(" ".join(out))
    return 0 if good else 1


sys.exit(main())
