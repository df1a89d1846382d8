#!/usr/bin/env python3
"""Time to first byte of a streaming answer, measured from inside one client process.

    bench/peer/ttfb.py PORT PATH MODEL [COUNT] [LABEL]      (COUNT default 2000)

Like ../shared/peer-bench/ttfb.sh (a new connection per request, one request at a time, pinned to
CPU 0), but without starting a curl process per request: curl's start-up leaves the CPUs idle and
the caches cold between requests, which is part of what ttfb.sh measures. Prints p50/p90 of the
time from connect() to the first response byte. GAP=SECONDS sleeps between requests.
UNTIL=event measures to the first SSE event ("data:") instead: a gateway that forwards the upstream's
head on its own (nginx) and one that sends it with the first event (baton, which can still fail over
until then) are then timed to the same thing, the first token.
"""
import os
import socket
import sys
import time

os.sched_setaffinity(0, {0})
port, path, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
label = sys.argv[5] if len(sys.argv) > 5 else str(port)
gap = float(os.environ.get("GAP", "0"))
until_event = os.environ.get("UNTIL", "byte") == "event"
body = ('{"model":"%s","stream":true,"messages":[{"role":"user","content":"Say hello."}]}' % model).encode()
request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
           f"Authorization: Bearer sk-bench\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def complete(data):
    """The whole response is here (sized or chunked), so the connection can be closed cleanly."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = data[:end].lower()
    at = head.find(b"content-length:")
    if at >= 0:
        return len(data) - end - 4 >= int(head[at + 15:].split(b"\r\n")[0])
    return data.endswith(b"0\r\n\r\n")


samples = []
for _ in range(count):
    start = time.perf_counter_ns()
    conn = socket.create_connection(("127.0.0.1", port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.sendall(request)
    data = conn.recv(65536)
    while until_event and data and b"data:" not in data:
        data += conn.recv(65536)
    first = time.perf_counter_ns()
    if not data.startswith(b"HTTP/1.1 200"):
        sys.exit(f"{label}: not a 200: {data[:80]!r}")
    while not complete(data):
        more = conn.recv(65536)
        if not more:
            break
        data += more
    conn.close()
    samples.append((first - start) / 1000)
    if gap:
        time.sleep(gap)
samples.sort()
print(f"{'TTFE' if until_event else 'TTFB'} {label}: p50 {samples[count // 2]:.0f} us  p90 {samples[count * 9 // 10]:.0f} us  ({count} requests)")
