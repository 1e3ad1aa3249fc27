#!/usr/bin/env python3
"""Object-store client for tests/e2e/store.sh.  Prints one JSON object.

  store_client.py HOST roundtrip PREFIX SIZE,SIZE,...
      one keep-alive connection: for each size, PUT /obj/PREFIX-SIZE (body:
      seeded pseudo-random bytes), check 201/200 and the ETag (SHA-256), GET
      it back and compare the SHA-256; reports the local ports used.
  store_client.py HOST put PREFIX COUNT SIZE
      one keep-alive connection, COUNT PUTs of SIZE bytes (upload volume).
  store_client.py HOST fresh PREFIX COUNT SIZE
      COUNT connections, each one PUT of SIZE bytes (head and body in one
      write, on a window that has not grown yet) and a GET of it back.
  store_client.py HOST chunked KEY SIZE
      PUT with Transfer-Encoding: chunked (uneven chunks), then GET.
  store_client.py HOST pipeline KEY
      one write holding GET, PUT, GET, DELETE, GET of KEY; checks the five
      answers arrive in order: 404, 201, 200 (same bytes), 204, 404.
  store_client.py HOST interrupt KEY SENT TOTAL [--fin]
      PUT with Content-Length TOTAL, sends SENT body bytes, then resets the
      connection (or closes it with a FIN with --fin)."""
import hashlib
import http.client
import json
import random
import socket
import struct
import sys


def body_of(size, seed):
    rnd = random.Random(seed)
    return rnd.randbytes(size)


def etag_ok(resp, data):
    return resp.getheader("ETag") == '"%s"' % hashlib.sha256(data).hexdigest()


def roundtrip(host, prefix, sizes):
    conn = http.client.HTTPConnection(host, 80, timeout=60)
    bad, ports, backends = [], set(), []
    for size in sizes:
        key = "%s-%d" % (prefix, size)
        data = body_of(size, size)
        conn.request("PUT", "/obj/" + key, body=data)
        ports.add(conn.sock.getsockname()[1])
        r = conn.getresponse()
        r.read()
        if r.status not in (200, 201) or not etag_ok(r, data):
            bad.append([key, "put", r.status, r.getheader("ETag")])
            continue
        conn.request("GET", "/obj/" + key)
        ports.add(conn.sock.getsockname()[1])
        r = conn.getresponse()
        got = r.read()
        backends.append(r.getheader("X-Prism-Backend"))
        if (r.status != 200 or hashlib.sha256(got).digest() !=
                hashlib.sha256(data).digest() or not etag_ok(r, data)):
            bad.append([key, "get", r.status, len(got)])
    return {"requests": 2 * len(sizes), "bad": bad,
            "connections": len(ports), "backends": backends}


def put_many(host, prefix, count, size):
    conn = http.client.HTTPConnection(host, 80, timeout=120)
    data = body_of(size, 7)
    bad, ports = [], set()
    for i in range(count):
        conn.request("PUT", "/obj/%s-%d" % (prefix, i), body=data)
        ports.add(conn.sock.getsockname()[1])
        r = conn.getresponse()
        r.read()
        if r.status not in (200, 201) or not etag_ok(r, data):
            bad.append([i, r.status])
    return {"bytes": count * size, "bad": bad, "connections": len(ports),
            "sha256": hashlib.sha256(data).hexdigest()}


def fresh(host, prefix, count, size):
    bad = []
    for i in range(count):
        key = "%s-%d" % (prefix, i)
        data = body_of(size, i)
        conn = http.client.HTTPConnection(host, 80, timeout=60)
        conn.request("PUT", "/obj/" + key, body=data)
        r = conn.getresponse()
        r.read()
        if r.status not in (200, 201) or not etag_ok(r, data):
            bad.append([key, "put", r.status])
            conn.close()
            continue
        conn.request("GET", "/obj/" + key)
        r = conn.getresponse()
        got = r.read()
        if r.status != 200 or got != data:
            bad.append([key, "get", r.status, len(got)])
        conn.close()
    return {"requests": 2 * count, "bad": bad}


def chunked(host, key, size):
    data = body_of(size, 3)

    def pieces():
        off, n = 0, 1
        while off < len(data):
            yield data[off:off + n]
            off += n
            n = n * 3 + 17 if n < 400000 else 1000
    conn = http.client.HTTPConnection(host, 80, timeout=60)
    conn.request("PUT", "/obj/" + key, body=pieces(), encode_chunked=True,
                 headers={"Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    r.read()
    put = [r.status, etag_ok(r, data)]
    conn.request("GET", "/obj/" + key)
    r = conn.getresponse()
    got = r.read()
    return {"put": put, "get": r.status, "same": got == data}


def read_response(f):
    """One response from a buffered socket file: (status, body)."""
    line = f.readline()
    status = int(line.split()[1])
    length = None
    while True:
        h = f.readline()
        if h in (b"\r\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = f.read(length) if length and status != 204 else b""
    return status, body


def pipeline(host, key):
    data = body_of(300000, 11)
    get = ("GET /obj/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key).encode()
    req = (get + ("PUT /obj/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                  "\r\n" % (key, len(data))).encode() + data + get +
           ("DELETE /obj/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key).encode() + get)
    s = socket.create_connection((host, 80), timeout=30)
    s.sendall(req)
    f = s.makefile("rb")
    out = []
    for _ in range(5):
        status, body = read_response(f)
        out.append([status, len(body), body == data])
    s.close()
    return {"responses": out}


def interrupt(host, key, sent, total, fin):
    s = socket.create_connection((host, 80), timeout=10)
    s.sendall(("PUT /obj/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
               % (key, total)).encode() + body_of(sent, 5))
    if not fin:
        # linger 0: close() sends a RST
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    s.close()
    return {"sent": sent, "total": total, "fin": fin}


def main():
    host, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if cmd == "roundtrip":
        out = roundtrip(host, args[0], [int(x) for x in args[1].split(",")])
    elif cmd == "put":
        out = put_many(host, args[0], int(args[1]), int(args[2]))
    elif cmd == "fresh":
        out = fresh(host, args[0], int(args[1]), int(args[2]))
    elif cmd == "chunked":
        out = chunked(host, args[0], int(args[1]))
    elif cmd == "pipeline":
        out = pipeline(host, args[0])
    elif cmd == "interrupt":
        out = interrupt(host, args[0], int(args[1]), int(args[2]),
                        "--fin" in args)
    else:
        sys.exit("unknown command " + cmd)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
