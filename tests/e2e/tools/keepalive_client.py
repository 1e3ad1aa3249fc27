#!/usr/bin/env python3
"""One keep-alive connection, many GETs of /bytes/N: checks every body byte
for byte (byte i == i % 251), and reports which backend served each request
(X-Prism-Backend) and whether the connection was ever replaced.

Usage: keepalive_client.py HOST PORT SIZE[,SIZE...] [--count N] [--json]
Prints a JSON summary on stdout; exits 1 on the first wrong body."""
import http.client
import json
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
    conn = http.client.HTTPConnection(host, port, timeout=20)
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
    conn.close()
    print(json.dumps({"requests": len(backends), "backends": backends,
                      "connections": len(sock_ids), "bad": bad}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
