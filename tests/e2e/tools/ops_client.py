#!/usr/bin/env python3
"""Raw keep-alive HTTP/1.1 client for the controller operations test.

ops_client.py HOST PORT seq PATH[,PATH...] [--header NAME:V1,V2,...]
                           [--host VIRTUAL-HOST]
    One connection; GET each path in turn (with header NAME: Vi when
    given).  Prints JSON: {"reqs": [[path, status, backend, bytes], ...],
    "ports": [local ports seen], "error": null}.  bytes counts the whole
    response (head and body), as the access log does.
ops_client.py HOST PORT busy SECONDS SIZE
    One connection kept busy with GET /bytes/SIZE for SECONDS; prints JSON
    {"count": n, "backends": {name: n}, "ports": [...], "error": msg|null,
     "log": [[unix time of completion, backend], ...]}."""
import json
import socket
import sys
import time


class Conn:
    def __init__(self, host, port):
        self.s = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def get(self, path, headers=(), host="vip"):
        extra = "".join("%s: %s\r\n" % h for h in headers)
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" %
                        (path, host, extra)).encode())
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("connection closed in a response head")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdr = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
        n = int(hdr.get("content-length", "0"))
        while len(self.buf) < n:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError("connection closed in a body")
            self.buf += d
        self.buf = self.buf[n:]
        return status, hdr.get("x-prism-backend"), len(head) + 4 + n

    def port(self):
        return self.s.getsockname()[1]


def seq(host, port, args):
    paths = args[0].split(",")
    hname, hvals = None, []
    if "--header" in args:
        spec = args[args.index("--header") + 1]
        hname, vals = spec.split(":", 1)
        hvals = vals.split(",")
    vhost = args[args.index("--host") + 1] if "--host" in args else "vip"
    out = {"reqs": [], "ports": [], "error": None}
    c = Conn(host, port)
    try:
        for i, p in enumerate(paths):
            h = [(hname, hvals[i % len(hvals)])] if hname else []
            st, be, n = c.get(p, h, vhost)
            out["reqs"].append([p, st, be, n])
            if c.port() not in out["ports"]:
                out["ports"].append(c.port())
    except Exception as e:  # reported, the test decides
        out["error"] = repr(e)
    print(json.dumps(out))


def busy(host, port, args):
    secs, size = float(args[0]), int(args[1])
    out = {"count": 0, "backends": {}, "ports": [], "error": None, "log": []}
    c = Conn(host, port)
    t0 = time.time()
    try:
        while time.time() - t0 < secs:
            st, be, n = c.get("/bytes/%d" % size)
            if st != 200:
                raise ValueError("status %d" % st)
            out["count"] += 1
            out["backends"][be] = out["backends"].get(be, 0) + 1
            out["log"].append([time.time(), be])
            if c.port() not in out["ports"]:
                out["ports"].append(c.port())
    except Exception as e:
        out["error"] = repr(e)
    print(json.dumps(out))


def main():
    host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    (seq if mode == "seq" else busy)(host, port, sys.argv[4:])


if __name__ == "__main__":
    main()
