#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""fake-tlspolicyd - a stand-in for tlspolicyd, to check the e2e tests.

Not part of the product.  It takes the daemon's command line as run.sh
starts it (-f --listen inet:HOST:PORT --database CONNINFO ...) and answers
socketmap requests.  FAKE_MODE selects its behaviour:

  db        (default) a naive reference: reads tls_policy with psql on
            every request, lowercases the key, exact match then the
            Postfix parent walk; TEMP when the database cannot be read.
            run.sh passes with it, which shows the harness itself works.
  notfound  answers NOTFOUND to everything: a broken daemon.
            run.sh must fail with it.
  may       answers "OK may" to everything: a downgrading daemon.
            run.sh must fail with it.

Usage: TLSPOLICYD=tests/e2e/fake-tlspolicyd.py FAKE_MODE=notfound \
       tests/e2e/run.sh
"""

import os
import signal
import socket
import subprocess
import sys
import threading

MODE = os.environ.get("FAKE_MODE", "db")


def rows(conninfo):
    out = subprocess.run(
        ["psql", "-X", "-At", "-F", "\t", "-d", conninfo, "-c",
         "SELECT lower(target), policy, parameters FROM tls_policy"
         " WHERE active"],
        capture_output=True, text=True, timeout=5)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    table = {}
    for line in out.stdout.splitlines():
        target, policy, params = (line.split("\t") + ["", ""])[:3]
        table[target] = " ".join([policy.strip().lower()] +
                                 params.replace(",", " ").split())
    return table


def answer(conninfo, key):
    if MODE == "notfound":
        return "NOTFOUND "
    if MODE == "may":
        return "OK may"
    try:
        table = rows(conninfo)
    except Exception as e:  # noqa: BLE001 - any failure is a TEMP
        return "TEMP database: %s" % e
    name = key.lower()
    walk = all(c.isalnum() or c in ".-" for c in name) and \
        not name.endswith(".")
    while True:
        if name in table:
            return "OK " + table[name]
        if not walk:
            return "NOTFOUND "
        dot = name.find(".", 1)
        if dot < 0:
            return "NOTFOUND "
        name = name[dot:]


def serve(conn, conninfo):
    buf = b""
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while b":" in buf:
                length, rest = buf.split(b":", 1)
                n = int(length)
                if len(rest) < n + 1:
                    break
                payload, buf = rest[:n], rest[n + 1:]
                _, _, key = payload.decode().partition(" ")
                reply = answer(conninfo, key).encode()
                conn.sendall(b"%d:%s," % (len(reply), reply))


def main():
    args = sys.argv[1:]
    listen = conninfo = None
    i = 0
    while i < len(args):
        if args[i] == "--listen":
            listen = args[i + 1]
            i += 1
        elif args[i] == "--database":
            conninfo = args[i + 1]
            i += 1
        elif args[i] == "--help":
            print("fake-tlspolicyd: a stand-in for the e2e tests")
            return 0
        i += 1
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    _, host, port = listen.split(":")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, conninfo),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
