#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""dnsd.py - a tiny authoritative DNS server for tests/e2e/tls.sh.

Answers from a zone file that it rereads whenever its mtime changes, so a
test changes a record by writing a new file and renaming it into place.
Every answer carries the AD bit, so Postfix treats it as DNSSEC validated:
Postfix validates nothing itself, it trusts its resolver's AD bit (and
sets RES_TRUSTAD so that glibc passes the bit on).

Zone file lines (case-insensitive names, no trailing dot, '#' comments):
    mx.example.test    A     127.0.0.1
    example.test       MX    10 mx.example.test
    _25._tcp.mx.example.test  TLSA  3 1 1 <hex>
    .                  NS    ns.test     (the root: Postfix's DNSSEC probe)

A name with no record of the asked type answers NOERROR with no records
(NODATA); a name with no record at all answers NXDOMAIN.  UDP and TCP,
one thread, standard library only (python3-minimal).

Usage: dnsd.py ZONEFILE [ADDRESS [PORT]]   (default 127.0.0.1 53)
Prints "ready" on stdout once both sockets are bound.
"""
import os
import selectors
import socket
import struct
import sys

TYPES = {"A": 1, "NS": 2, "MX": 15, "TLSA": 52}
FLAG_QR, FLAG_AA, FLAG_RD, FLAG_RA, FLAG_AD = 0x8000, 0x0400, 0x0100, 0x0080, 0x0020
NOERROR, FORMERR, NXDOMAIN = 0, 1, 3
TTL = 5


def encode_name(name):
    out = b""
    for label in name.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\0"


def rdata(rtype, fields):
    if rtype == "A":
        return socket.inet_aton(fields[0])
    if rtype == "NS":
        return encode_name(fields[0])
    if rtype == "MX":
        return struct.pack("!H", int(fields[0])) + encode_name(fields[1])
    if rtype == "TLSA":
        return bytes([int(fields[0]), int(fields[1]), int(fields[2])]) + \
            bytes.fromhex("".join(fields[3:]))
    raise ValueError(rtype)


class Zone:
    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.records = {}

    def get(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return self.records
        if (st.st_mtime_ns, st.st_ino) != self.mtime:
            records = {}
            with open(self.path, encoding="ascii") as f:
                for line in f:
                    line = line.split("#", 1)[0].split()
                    if len(line) < 3:
                        continue
                    name, rtype = line[0].lower().rstrip("."), line[1].upper()
                    records.setdefault(name, []).append(
                        (TYPES[rtype], rdata(rtype, line[2:])))
            self.records = records
            self.mtime = (st.st_mtime_ns, st.st_ino)
        return self.records


def parse_question(msg):
    """(id, flags, qname, qtype, qclass, end of question) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & FLAG_QR or qdcount != 1:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n > 63 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, ".".join(labels).lower(), qtype, qclass, pos + 4


def answer(zone, msg):
    q = parse_question(msg)
    if q is None:
        if len(msg) >= 2:
            return msg[:2] + struct.pack("!HHHHH", FLAG_QR | FORMERR, 0, 0, 0, 0)
        return None
    qid, flags, qname, qtype, qclass, end = q
    records = zone.get()
    rrs = [d for (t, d) in records.get(qname, []) if t == qtype and qclass == 1]
    rcode = NOERROR if qname in records else NXDOMAIN
    out_flags = FLAG_QR | FLAG_AA | FLAG_RA | FLAG_AD | (flags & FLAG_RD) | rcode
    out = struct.pack("!HHHHHH", qid, out_flags, 1, len(rrs), 0, 0)
    out += msg[12:end]
    for d in rrs:
        out += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, TTL, len(d)) + d
    return out


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


def main():
    zone = Zone(sys.argv[1])
    addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 53
    zone.get()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, port))
    tcp.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "udp")
    sel.register(tcp, selectors.EVENT_READ, "tcp")
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data == "udp":
                msg, peer = udp.recvfrom(65535)
                out = answer(zone, msg)
                if out is not None:
                    udp.sendto(out, peer)
            elif key.data == "tcp":
                conn, _ = tcp.accept()
                conn.settimeout(2)
                sel.register(conn, selectors.EVENT_READ, "conn")
            else:
                conn = key.fileobj
                try:
                    hdr = recv_exact(conn, 2)
                    if len(hdr) == 2:
                        (n,) = struct.unpack("!H", hdr)
                        msg = recv_exact(conn, n)
                        out = answer(zone, msg)
                        if out is not None:
                            conn.sendall(struct.pack("!H", len(out)) + out)
                            continue
                except OSError:
                    pass
                sel.unregister(conn)
                conn.close()


if __name__ == "__main__":
    main()
