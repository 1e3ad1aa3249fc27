#!/usr/bin/env python3
"""The switch control protocol written a second time, from docs/switch.md,
for tests: build, corrupt and send raw datagrams, check the answers.

  switch_wire.py build KEY PEER_ID SEQ OP CLIENT:PORT VIP:PORT [BACKEND [TAIL]] > F
  switch_wire.py corrupt KEY KIND < F > G      (KIND: see CORRUPTIONS)
  switch_wire.py send AGENT:PORT SRC_IP KEY < F
      prints "seq=N status=S,..." and the answer in hex, or "no answer"
      (exit 3)
"""
import hashlib
import hmac
import socket
import struct
import sys

MAGIC = 0x50525357
HDR = struct.Struct('!IBBHIQ')  # magic version type count peer_id seq
MAC_LEN = 32
VERSION = 2
OPS = {'lock': 1, 'lock-tail': 2, 'delete': 3, 'own': 4, 'own-open': 5}


def load_key(path):
    with open(path, 'rb') as f:
        return f.read().rstrip(b'\r\n')


def mac(key, body):
    return hmac.new(key, body, hashlib.sha256).digest()


def hostport(s):
    host, port = s.rsplit(':', 1)
    return socket.inet_aton(host), struct.pack('!H', int(port))


def build(key, peer_id, seq, op, client, vip, backend=None, tail=0):
    cip, cport = hostport(client)
    vip_ip, vport = hostport(vip)
    bip = socket.inet_aton(backend) if backend and backend != '-' \
        else b'\0' * 4
    body = HDR.pack(MAGIC, VERSION, 1, 1, peer_id, seq)
    body += struct.pack('!B3x', OPS[op]) + bip + struct.pack('!I', int(tail))
    body += cip + vip_ip + cport + vport
    return body + mac(key, body)


def resign(key, msg):
    body = msg[:-MAC_LEN]
    return body + mac(key, body)


def set_byte(i, v):
    def f(key, m):
        m = bytearray(m)
        m[i] = v
        return resign(key, bytes(m))
    return f


def flip_mac(key, m):
    return m[:-1] + bytes([m[-1] ^ 1])


CORRUPTIONS = {
    'badmac': flip_mac,
    'magic': set_byte(0, ord('Q')),
    'version': set_byte(4, VERSION + 1),
    'type': set_byte(5, 2),
    'count': set_byte(7, 65),
    'truncate': lambda key, m: m[:-7],
    'extra': lambda key, m: resign(key, m[:-MAC_LEN] + b'\0' + m[-MAC_LEN:]),
    'unknown-op': set_byte(HDR.size, 9),
}


def send(agent, src, key, msg, timeout=0.5):
    host, port = agent.rsplit(':', 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(timeout)
    s.sendto(msg, (host, int(port)))
    try:
        ans, _ = s.recvfrom(2048)
    except socket.timeout:
        print('no answer')
        return 3
    if len(ans) < HDR.size + MAC_LEN or \
            not hmac.compare_digest(mac(key, ans[:-MAC_LEN]),
                                    ans[-MAC_LEN:]):
        print('bad answer ' + ans.hex())
        return 4
    magic, ver, typ, count, peer, seq = HDR.unpack_from(ans)
    st = struct.unpack_from('!%dI' % count, ans, HDR.size)
    ok = magic == MAGIC and ver == VERSION and typ == 2 and \
        len(ans) == HDR.size + 4 * count + MAC_LEN
    print('%s seq=%d status=%s %s' % ('answer' if ok else 'bad',
                                      seq, ','.join(map(str, st)), ans.hex()))
    return 0 if ok else 4


def main(argv):
    cmd = argv[1]
    if cmd == 'build':
        key = load_key(argv[2])
        msg = build(key, int(argv[3]), int(argv[4]), *argv[5:])
        sys.stdout.buffer.write(msg)
        return 0
    if cmd == 'corrupt':
        key = load_key(argv[2])
        msg = sys.stdin.buffer.read()
        sys.stdout.buffer.write(CORRUPTIONS[argv[3]](key, msg))
        return 0
    if cmd == 'send':
        return send(argv[2], argv[3], load_key(argv[4]),
                    sys.stdin.buffer.read())
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
