#!/usr/bin/env python3
"""Timed GETs of /bytes/N on keep-alive connections: every body checked
byte for byte (byte i == i % 251), every request timed.

  timed_client.py HOST PORT SIZE[,SIZE...] [--count N] [--parallel P]
                  [--timeout S]

P connections in parallel (threads), each doing N requests cycling through
the sizes.  Prints one JSON line: requests, bad bodies, resets, connections
replaced, and the time per request in ms: p50, p90, p99, max, and how many
took over 200 ms (also by size) and over 1 s.  Exit 1 on a wrong body or a reset."""
import http.client
import json
import sys
import threading
import time

PATTERN = bytes(i % 251 for i in range(251 * 4096))


def expected(n):
    full, rest = divmod(n, len(PATTERN))
    return PATTERN * full + PATTERN[:rest]


def worker(host, port, sizes, count, timeout, out, lock):
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    # The handshake is not a request: a lost SYN costs 1 s with any server.
    conn.connect()
    times, bad, resets, socks = [], 0, 0, set()
    for i in range(count):
        n = sizes[i % len(sizes)]
        t0 = time.monotonic()
        try:
            conn.request("GET", "/bytes/%d" % n)
            socks.add(conn.sock.getsockname()[1])
            r = conn.getresponse()
            body = r.read()
        except (ConnectionError, OSError):
            resets += 1
            conn.close()
            continue
        times.append(((time.monotonic() - t0) * 1000, n))
        if r.status != 200 or body != expected(n):
            bad += 1
    conn.close()
    with lock:
        out["times"] += times
        out["bad"] += bad
        out["resets"] += resets
        out["replaced"] += len(socks) - 1


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sizes = [int(s) for s in sys.argv[3].split(",")]

    def opt(name, default):
        return (int(sys.argv[sys.argv.index(name) + 1])
                if name in sys.argv else default)
    count, par, timeout = opt("--count", 100), opt("--parallel", 1), \
        opt("--timeout", 30)
    out = {"times": [], "bad": 0, "resets": 0, "replaced": 0}
    lock = threading.Lock()
    ts = [threading.Thread(target=worker, args=(host, port, sizes, count,
                                                 timeout, out, lock))
          for _ in range(par)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    t = sorted(x for x, _ in out["times"])
    slow = {}
    for x, n in out["times"]:
        if x > 200:
            slow[n] = slow.get(n, 0) + 1

    def pct(p):
        return round(t[min(len(t) - 1, int(p * len(t)))], 2) if t else None
    print(json.dumps({
        "requests": len(t), "bad": out["bad"], "resets": out["resets"],
        "replaced": out["replaced"], "p50_ms": pct(0.5), "p90_ms": pct(0.9),
        "p99_ms": pct(0.99), "max_ms": round(t[-1], 2) if t else None,
        "over_200ms": sum(1 for x in t if x > 200),
        "over_1s": sum(1 for x in t if x > 1000),
        "over_200ms_by_size": {str(k): v for k, v in sorted(slow.items())},
        "over_1s_sizes": sorted(n for x, n in out["times"] if x > 1000)}))
    return 1 if out["bad"] or out["resets"] else 0


if __name__ == "__main__":
    sys.exit(main())
