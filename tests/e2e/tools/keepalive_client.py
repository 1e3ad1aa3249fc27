#!/usr/bin/env python3
"""One keep-alive connection, many GETs of /bytes/N: checks every body byte
for byte (byte i == i % 251), and reports which backend served each request
(X-Prism-Backend) and whether the connection was ever replaced.

Usage: keepalive_client.py HOST PORT SIZE[,SIZE...] [--count N] [--json]
                           [--tls CAFILE [--tls-version 1.2|1.3]]
--tls: HTTPS, the server's certificate checked against CAFILE (for HOST);
the summary then names the TLS version and cipher.
Prints a JSON summary on stdout; exits 1 on the first wrong body."""
import http.client
import json
import ssl
import sys

PATTERN = bytes(i % 251 for i in range(251 * 4096))


def expected(n):
    full, rest = divmod(n, len(PATTERN))
    return PATTERN * full + PATTERN[:rest]


def main():
    host, port, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sizes = [int(s) for s in sizes.split(",")]
    count = len(sizes)
    if "--count" in sys.argv:
        count = int(sys.argv[sys.argv.index("--count") + 1])
    if "--tls" in sys.argv:
        ctx = ssl.create_default_context(
            cafile=sys.argv[sys.argv.index("--tls") + 1])
        if "--tls-version" in sys.argv:
            v = sys.argv[sys.argv.index("--tls-version") + 1]
            ver = {"1.2": ssl.TLSVersion.TLSv1_2,
                   "1.3": ssl.TLSVersion.TLSv1_3}[v]
            ctx.minimum_version = ctx.maximum_version = ver
        conn = http.client.HTTPSConnection(host, port, timeout=20,
                                           context=ctx)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=20)
    tls = None
    backends, sock_ids, bad = [], set(), []
    for i in range(count):
        n = sizes[i % len(sizes)]
        conn.request("GET", "/bytes/%d" % n)
        if conn.sock is not None:
            sock_ids.add(conn.sock.getsockname()[1])
        r = conn.getresponse()
        body = r.read()
        backends.append(r.getheader("X-Prism-Backend"))
        if r.status != 200 or body != expected(n):
            bad.append({"i": i, "size": n, "status": r.status,
                        "got": len(body)})
            break
        if conn.sock is not None:
            sock_ids.add(conn.sock.getsockname()[1])
            if hasattr(conn.sock, "version"):
                tls = [conn.sock.version(), conn.sock.cipher()[0]]
    conn.close()
    print(json.dumps({"requests": len(backends), "backends": backends,
                      "connections": len(sock_ids), "bad": bad,
                      "tls": tls}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
