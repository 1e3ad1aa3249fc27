#!/usr/bin/env python3
"""One GET on HOST:PORT for a fault test; reports how the response ended.

Usage: fault_client.py HOST PORT PATH MARK_FILE [--mark-after N] [--timeout S]
  After the response head and N body bytes (default 100000) it writes the
  serving backend's name (X-Prism-Backend) to MARK_FILE, so that the test
  can kill or stop that backend mid-response, then reads on.
Prints JSON: status, backend, length (Content-Length), body (bytes read),
complete (body == length and every byte i == i mod 251), reset, eof,
timeout (no byte for S seconds, default 20),
t_end (time.time() when the connection ended or the body completed)."""
import json
import os
import socket
import sys
import time

# Body byte i is i mod 251; recv() returns at most 262144 bytes.
PATTERN = bytes(i % 251 for i in range(251 * 1100))


def main():
    host, port, path, mark = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    after, timeout = 100000, 20.0
    if "--timeout" in sys.argv:
        timeout = float(sys.argv[sys.argv.index("--timeout") + 1])
    if "--mark-after" in sys.argv:
        after = int(sys.argv[sys.argv.index("--mark-after") + 1])
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    buf, head = b"", None
    out = {"status": None, "backend": None, "length": None, "body": 0,
           "complete": False, "reset": False, "eof": False, "timeout": False}
    good, marked, length = True, False, None
    try:
        while True:
            if head is not None and length is not None and out["body"] >= length:
                break
            chunk = s.recv(262144)
            if not chunk:
                out["eof"] = True
                break
            if head is None:
                buf += chunk
                if b"\r\n\r\n" not in buf:
                    continue
                head, chunk = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                out["status"] = int(lines[0].split()[1])
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    if k.lower() == "content-length":
                        length = out["length"] = int(v)
                    if k.lower() == "x-prism-backend":
                        out["backend"] = v.strip()
            start = out["body"] % 251
            good = good and chunk == PATTERN[start:start + len(chunk)]
            out["body"] += len(chunk)
            if not marked and out["body"] >= after:
                with open(mark + ".tmp", "w") as f:
                    f.write(out["backend"] or "?")
                os.rename(mark + ".tmp", mark)
                marked = True
    except ConnectionResetError:
        out["reset"] = True
    except socket.timeout:
        out["timeout"] = True
    out["t_end"] = time.time()
    out["complete"] = good and length is not None and out["body"] == length
    print(json.dumps(out))


main()
