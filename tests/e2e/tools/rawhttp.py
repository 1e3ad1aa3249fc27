#!/usr/bin/env python3
"""Sends raw bytes to HOST:PORT and reports what came back.

Usage: rawhttp.py HOST PORT HEX_OR_TEXT [--read N] [--abort-after N]
  the request is given as a Python string literal (escapes allowed, e.g.
  'GET / HTTP/1.0\\r\\n\\r\\n'); --read N stops after N response bytes;
  --abort-after N reads N bytes, then closes with unread data pending
  (the client's kernel resets the connection).
Prints JSON: status (first status line's code or null), bytes received,
closed (the server closed: EOF seen), reset (connection reset)."""
import ast
import json
import socket
import sys


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    req = ast.literal_eval("'" + sys.argv[3].replace("'", "\\'") + "'")
    req = req.encode("latin-1")
    limit = abort = None
    if "--read" in sys.argv:
        limit = int(sys.argv[sys.argv.index("--read") + 1])
    if "--abort-after" in sys.argv:
        abort = int(sys.argv[sys.argv.index("--abort-after") + 1])
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    data, closed, reset = b"", False, False
    try:
        while True:
            if limit is not None and len(data) >= limit:
                break
            if abort is not None and len(data) >= abort:
                break
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except ConnectionResetError:
        reset = True
    except socket.timeout:
        pass
    s.close()
    status = None
    if data.startswith(b"HTTP/1."):
        status = int(data.split(b" ", 2)[1])
    print(json.dumps({"status": status, "bytes": len(data), "closed": closed,
                      "reset": reset,
                      "head": data.split(b"\r\n\r\n")[0].decode("latin-1")}))


if __name__ == "__main__":
    main()
