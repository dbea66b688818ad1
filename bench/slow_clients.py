#!/usr/bin/python3
"""Open N concurrent slow downloads against one URL, then stop reading and hold them.

    slow_clients.py URL [--connections 1000] [--read-bytes 4096] [--hold 10] [--rcvbuf 65536]

Each connection sends one `GET` of the URL (HTTP/1.1), reads the status line and at least
--read-bytes bytes of the response, then stops reading: the client's receive buffer and the
server's send buffer fill, and the server must park the response until the peer drains it.
When every connection has its first bytes (or failed), prints one line

    READY ok=N failed=N statuses=200:N,503:N,...

on standard output, holds all sockets open for --hold seconds without reading, closes them,
and prints `DONE`. Exit status 0 when every connection got status 200, 1 otherwise.

Loopback only: the script refuses any host other than 127.0.0.1 / localhost / ::1.
Uses plain non-blocking sockets (no asyncio StreamReader, which would keep draining the socket
into user space); SO_RCVBUF is set before connect so the backlog per connection stays bounded.
"""
import argparse
import asyncio
import collections
import resource
import socket
import sys
import urllib.parse


async def one(loop, host, port, target, read_bytes, rcvbuf, sem, results, keep):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setblocking(False)
    try:
        async with sem:  # bound the connects in flight so the listen backlog never overflows
            await asyncio.wait_for(loop.sock_connect(s, (host, port)), 20)
        req = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: imagegate-bench-slow\r\n\r\n"
        await loop.sock_sendall(s, req.encode())
        got = b""
        while len(got) < read_bytes:
            chunk = await asyncio.wait_for(loop.sock_recv(s, read_bytes - len(got) if b"\r\n" in got else 1024), 20)
            if not chunk:
                break
            got += chunk
        line = got.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        status = parts[1] if len(parts) > 1 and line.startswith("HTTP/") else ("eof" if not got else "garbage")
        results[status] += 1
        keep.append(s)  # never read again: the socket backs up
    except Exception as e:  # connection refused/reset/timeout: count, do not crash the others
        results[type(e).__name__] += 1
        s.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--read-bytes", type=int, default=4096)
    ap.add_argument("--hold", type=float, default=10.0)
    ap.add_argument("--rcvbuf", type=int, default=65536)
    ap.add_argument("--concurrent-connects", type=int, default=128)
    a = ap.parse_args()

    u = urllib.parse.urlsplit(a.url)
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("slow_clients.py: loopback http:// URLs only")
    host = "127.0.0.1" if u.hostname == "localhost" else u.hostname
    target = u.path + ("?" + u.query if u.query else "")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.connections + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(a.concurrent_connects)
    results = collections.Counter()
    keep = []
    await asyncio.gather(*(one(loop, host, u.port, target, a.read_bytes, a.rcvbuf, sem, results, keep)
                           for _ in range(a.connections)))
    ok = results.get("200", 0)
    statuses = ",".join(f"{k}:{v}" for k, v in sorted(results.items()))
    print(f"READY ok={ok} failed={a.connections - ok} statuses={statuses}", flush=True)
    await asyncio.sleep(a.hold)
    for s in keep:
        s.close()
    print("DONE", flush=True)
    return 0 if ok == a.connections else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
