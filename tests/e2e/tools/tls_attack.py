#!/usr/bin/env python3
"""Hostile TLS clients of the controller's HTTPS port (tests/e2e/tls.sh).

  tls_attack.py HOST PORT CAFILE MODE [WAIT]
    MODE garbage     plain HTTP instead of a ClientHello
         stalled     the first 20 bytes of a real ClientHello, then silence
         truncated   a handshake, then half of a record and our FIN
         badtag      a handshake, then an application-data record whose tag
                     cannot verify
         overlong    a handshake, then a record header over 2^14 + 256
         badtype     a handshake, then a record of content type 24
  Waits up to WAIT seconds (default 3) for the server to close and prints
  JSON: handshake (done), closed (the server closed or reset), reply
  (bytes it sent after our last write), alert (the first reply record's
  outer type, 21 for a plaintext alert, 23 for an encrypted one, or null)."""
import json
import os
import socket
import ssl
import sys
import time


def handshake(host, port, cafile):
    """A real TLS client's handshake over a raw socket we keep control of."""
    ctx = ssl.create_default_context(cafile=cafile)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=host)
    sock = socket.create_connection((host, port), timeout=5)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            sock.sendall(out.read())
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            inc.write(data)
    sock.sendall(out.read())
    # Let the server's tickets (TLS 1.3) arrive before our attack.
    sock.settimeout(0.3)
    try:
        while sock.recv(65536):
            pass
    except socket.timeout:
        pass
    return sock, obj, out


def first_hello(host, port, cafile):
    """The bytes a real client's ClientHello starts with."""
    ctx = ssl.create_default_context(cafile=cafile)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def wait_close(sock, seconds):
    sock.settimeout(seconds)
    reply, closed, t0 = b"", False, time.time()
    try:
        while time.time() - t0 < seconds:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            reply += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    return closed, reply


def main():
    host, port, cafile, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    wait = float(sys.argv[5]) if len(sys.argv) > 5 else 3.0
    done = False
    if mode == "garbage":
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    elif mode == "stalled":
        sock = socket.create_connection((host, port), timeout=5)
        sock.sendall(first_hello(host, port, cafile)[:20])
    else:
        sock, obj, out = handshake(host, port, cafile)
        done = True
        if mode == "truncated":
            obj.write(b"GET /bytes/10 HTTP/1.1\r\nHost: x\r\n\r\n")
            rec = out.read()
            sock.sendall(rec[:len(rec) // 2])
            sock.shutdown(socket.SHUT_WR)
        elif mode == "badtag":
            sock.sendall(b"\x17\x03\x03\x00\x30" + os.urandom(48))
        elif mode == "overlong":
            sock.sendall(b"\x17\x03\x03\x41\x01" + os.urandom(64))
        elif mode == "badtype":
            sock.sendall(b"\x18\x03\x03\x00\x20" + os.urandom(32))
        else:
            print(__doc__)
            return 2
    closed, reply = wait_close(sock, wait)
    sock.close()
    print(json.dumps({"handshake": done, "closed": closed, "reply": len(reply),
                      "alert": reply[0] if reply else None}))
    return 0


sys.exit(main())
