#!/usr/bin/env python3
"""Hostile clients of a backend's hand-off port (tests/e2e/bad_input_*.sh).

  handoff_attack.py extract PCAP OUT   first complete HANDOFF message sent
                                       to port 7800 in PCAP -> OUT
  handoff_attack.py scan PCAP TEXT     prints JSON: messages (hand-off
                                       headers seen), found (TEXT in the
                                       stream to port 7800)
  handoff_attack.py send HOST PORT MODE [FILE]
      MODE garbage    random bytes
           badmac     a well-formed HANDOFF header whose MAC is wrong
           replay     FILE as it is (a captured, validly signed message)
           truncated  the first half of FILE, then the connection closes
      prints JSON: closed (server closed within 3 s), reply (bytes it sent)
  handoff_attack.py hold HOST PORT N SECONDS   N idle connections"""
import json
import os
import socket
import struct
import sys
import time

MAGIC = 0x5052484F
VERSION = 3  # lib/handoff.h HO_VERSION


def pcap_payloads(path):
    data = open(path, "rb").read()
    (magic,) = struct.unpack("<I", data[:4])
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, segs = 24, {}
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 54 or pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 0x0F) * 4
        tcp = pkt[14 + ihl:]
        dport = struct.unpack("!H", tcp[2:4])[0]
        seq = struct.unpack("!I", tcp[4:8])[0]
        payload = tcp[(tcp[12] >> 4) * 4:]
        if dport == 7800 and payload:
            segs[seq] = payload
    stream, nxt = b"", None
    for seq in sorted(segs):
        if nxt is not None and seq < nxt:
            continue
        stream += segs[seq]
        nxt = seq + len(segs[seq])
    return stream


def extract(pcap, out):
    s = pcap_payloads(pcap)
    i = 0
    while i + 44 <= len(s):
        magic, _ver, typ, _st, _r, length = struct.unpack("!IBBBBI", s[i:i + 12])
        if magic == MAGIC and typ == 1 and i + length <= len(s):
            open(out, "wb").write(s[i:i + length])
            return 0
        i += 1
    print("no complete HANDOFF in %s (%d stream bytes)" % (pcap, len(s)))
    return 1


def scan(pcap, text):
    s = pcap_payloads(pcap)
    msgs = s.count(struct.pack("!IB", MAGIC, VERSION))
    print(json.dumps({"messages": msgs, "found": text.encode() in s}))
    return 0


def badmac():
    tcp = bytes(68)
    pending = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    length = 44 + len(tcp) + len(pending) + 32
    head = struct.pack("!IBBBBIQQHHIII", MAGIC, VERSION, 1, 0, 0, length,
                       time.time_ns() + 10**12, 12345, 0, 0, len(pending), 0, 0)
    return head + tcp + pending + os.urandom(32)


def send(host, port, mode, path=None):
    if mode == "garbage":
        msg = os.urandom(4096)
    elif mode == "badmac":
        msg = badmac()
    else:
        msg = open(path, "rb").read()
        if mode == "truncated":
            msg = msg[:len(msg) // 2]
    s = socket.create_connection((host, port), timeout=3)
    s.sendall(msg)
    if mode == "truncated":
        s.shutdown(socket.SHUT_WR)
    reply, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            reply += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    print(json.dumps({"closed": closed, "reply": len(reply)}))
    return 0


def hold(host, port, n, seconds):
    socks = [socket.create_connection((host, port), timeout=3) for _ in range(n)]
    print("holding %d" % len(socks), flush=True)
    time.sleep(seconds)
    return 0


def main():
    a = sys.argv[1:]
    if a[0] == "extract":
        return extract(a[1], a[2])
    if a[0] == "scan":
        return scan(a[1], a[2])
    if a[0] == "send":
        return send(a[1], int(a[2]), a[3], a[4] if len(a) > 4 else None)
    if a[0] == "hold":
        return hold(a[1], int(a[2]), int(a[3]), float(a[4]))
    print(__doc__)
    return 2


sys.exit(main())
