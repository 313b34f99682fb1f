#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""listener.py - SMTP servers that misbehave, for tests/e2e/tls.sh.

  listener.py silent ADDRESS PORT
      Accepts connections and never says a word (a banner timeout).
  listener.py busy ADDRESS PORT STATEFILE
      Holds each connection for half a second, then answers
      "421 4.3.2 busy" and closes.  STATEFILE always holds
      "<most connections open at once> <connections so far>", so a test
      can tell whether a client ever had two connections open at once.

Prints "ready" once listening.  Standard library only (python3-minimal).
"""
import socket
import sys
import threading
import time


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(16)
    state = {"open": 0, "peak": 0, "total": 0}
    lock = threading.Lock()

    def record(delta):
        with lock:
            state["open"] += delta
            if delta > 0:
                state["total"] += 1
                state["peak"] = max(state["peak"], state["open"])
            with open(sys.argv[4], "w", encoding="ascii") as f:
                f.write("%d %d\n" % (state["peak"], state["total"]))

    def busy(conn):
        record(1)
        time.sleep(0.5)
        # counted as closed before the client can know: no false overlap
        record(-1)
        try:
            conn.sendall(b"421 4.3.2 busy\r\n")
        except OSError:
            pass
        conn.close()

    if mode == "busy":
        record(0)
    print("ready", flush=True)
    held = []
    while True:
        conn, _ = s.accept()
        if mode == "busy":
            threading.Thread(target=busy, args=(conn,), daemon=True).start()
        else:
            held.append(conn)


if __name__ == "__main__":
    main()
