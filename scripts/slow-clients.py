#!/usr/bin/env python3
"""Slow clients against an ecsd on 127.0.0.1, to measure what the connection limits hold off
(README, "Connection limits"). Standard library only.

  slow-clients.py rss PORT PID [N] [SIZE]
      Holds N connections (default 300), each sending SIZE bytes (default 350000) of request
      headers that never end, and prints the server's RSS (VmRSS of PID) before and while they
      are held, and how many of them the server has closed.
  slow-clients.py starve PORT [N]
      Opens N connections (default 50) with half-sent requests, then times one complete
      request on a new connection (at most 60 s). Run ecsd under `ulimit -n 64` to see the
      descriptor limit's part.
"""
import socket
import sys
import time


def rss(port, pid, count=300, size=350_000):
    def rss_mib():
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024

    print(f"RSS before: {rss_mib():.1f} MiB")
    head = b"GET /v1/p/cloudservers/detail HTTP/1.1\r\nHost: a\r\n"
    pad = b"".join(b"X-Pad-%05d: %s\r\n" % (i, b"a" * 1000) for i in range(size // 1014 + 1))
    payload = (head + pad)[:size]  # never the blank line that ends the headers
    conns, sent = [], []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        conns.append(s)
        sent.append(0)
    deadline = time.time() + 20
    while time.time() < deadline and any(n < size for n in sent):
        for i, s in enumerate(conns):
            if sent[i] < size:
                try:
                    sent[i] += s.send(payload[sent[i]:sent[i] + 65536])
                except BlockingIOError:
                    pass
                except OSError:
                    sent[i] = size  # closed by the server
        time.sleep(0.01)
    time.sleep(1)

    def closed(s):
        try:
            s.recv(65536)  # end of stream, or the server's 431 before it closes
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True  # reset

    shut = sum(1 for s in conns if closed(s))
    print(f"RSS holding {count} x {size} B: {rss_mib():.1f} MiB; closed by the server: {shut}")


def starve(port, count=50):
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        held.append(s)
    time.sleep(0.5)
    start = time.time()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"GET /v1/p/jobs/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    try:
        answer = s.recv(64)
        print(f"answered after {time.time() - start:.1f} s: {answer[:20]!r}")
    except socket.timeout:
        print(f"no answer after {time.time() - start:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("rss", "starve"):
        sys.exit(__doc__)
    numbers = [int(arg) for arg in sys.argv[2:]]
    (rss if sys.argv[1] == "rss" else starve)(*numbers)
