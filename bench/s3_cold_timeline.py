#!/usr/bin/python3
"""Where a cold-cache download from an S3-backed node spends its time (issue 13; Docs/benchmarks.md).

    python3 bench/s3_cold_timeline.py                      # 1 GiB, read-ahead 0 and 2, two rounds each
    python3 bench/s3_cold_timeline.py --bytes 536870912 --readahead 0,2,4 --rounds 3

One S3 node (release, `http.loops = 2`, `log.level = debug`) on the SeaweedFS of scripts/seaweedfs.sh; before each
download the node is stopped, its read cache removed and the node started again (as bench/s3_store.py part (b)).
The client is this script: it reads the response and notes when each slice's first byte arrived; the node's
debug log (`store GET … slice=<n> … ms=<fetch ms>`, read from its stderr as it is written) says when each slice's
fetch ended. Per download:

- MB/s, node CPU s/GiB (all threads, /proc) and how much of it the fetch threads took (the node's CPU minus its
  long-lived threads'; `slice-fetch` threads end with their queue, so /proc forgets them);
- fetch ms per slice (median, max) and the most fetches in flight at once;
- stall: the time to the first byte (slice 0 fetched and checked before the head goes out), and the sum of the
  gaps at slice boundaries: from the last byte of slice n to the first of slice n+1, seen by the client (the
  writer parked on slice n+1 once the socket buffer drained). With read-ahead keeping up, the gaps are near 0.

No goal and no Docs section: a diagnostic, printed. The machine's load average is printed with it; on a shared
machine compare rows of one run, not numbers across runs. Knobs: --bytes, --rounds, --readahead (BENCH_BYTES,
BENCH_ROUNDS, BENCH_READAHEAD), BENCH_NO_BUILD / BENCH_BIN as in benchlib.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import BIN, HZ, Bench, build, cached_file, cpu_ticks, die, log, median, mint  # noqa: E402
from s3_store import Node, SeaweedFS, s3_settings  # noqa: E402

MiB = 1 << 20
SLICE = 16 * MiB
GET = re.compile(r"store GET key=\S+ slice=(\d+) range=\S+ status=(\w+) ms=(\d+)")


class LoggedNode(Node):
    """A node whose stderr is read line by line as it comes, each store GET stamped with its arrival time."""

    def start(self):
        self.gets = []  # (monotonic s at the log line, slice, fetch ms)
        # The server logs at debug level (its store GET lines); the CLI (import, mint) keeps the quiet config.
        debug = self.conf + ".debug"
        with open(self.conf) as f, open(debug, "w") as out:
            out.write(f.read().replace("log.level = warn", "log.level = debug"))
        self.proc = subprocess.Popen([BIN, "serve", "--config", debug, "--data-dir", self.data, "--http",
                                      "127.0.0.1:0"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.b.procs.append(("imagegate", self.proc))
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                now = time.monotonic()
                if line.startswith("http: listening on "):
                    self.base = line.split()[3]
                    found.set()
                m = GET.search(line)
                if m and m.group(2) == "ok":
                    self.gets.append((now, int(m.group(1)), int(m.group(3))))

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(30):
            die("the node did not report its http listener")
        return self

    def threads_cpu(self):
        """CPU ticks of the threads alive now (the loops, the listener, the sweeps)."""
        total = 0
        for t in os.listdir(f"/proc/{self.proc.pid}/task"):
            try:
                f = open(f"/proc/{self.proc.pid}/task/{t}/stat").read().rsplit(")", 1)[1].split()
                total += int(f[11]) + int(f[12])
            except OSError:
                pass
        return total


def download(url, size):
    """GET url; returns (wall s, time to the first body byte, [gap at each slice boundary, s])."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(f"GET {u.path}?{u.query} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
    t0 = time.monotonic()
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(65536)
        if not chunk:
            die(f"no answer head: {head[:200]!r}")
        head += chunk
    head, body = head.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 200"):
        die(f"answer {head[:100]!r}")
    got = 0
    first = None
    last = t0
    gaps = []

    def account(n, now):
        nonlocal got, first, last
        if n and first is None:
            first = now
        elif n and got % SLICE == 0:
            gaps.append(now - last)  # this chunk starts a slice: the wait since the previous one ended
        got += n
        last = now

    account(len(body), time.monotonic())
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    while True:
        n = s.recv_into(view)
        if n == 0:
            break
        account(n, time.monotonic())
    s.close()
    if got != size:
        die(f"got {got} of {size} bytes")
    return time.monotonic() - t0, first - t0, gaps


def one(b, node, image_id, size):
    cache = os.path.join(b.tmp, "cache-s3")
    if node.proc:
        node.stop()
    shutil.rmtree(cache, ignore_errors=True)
    node.start()
    url = mint(node.conf, node.data, image_id)["http"]
    c0, l0 = cpu_ticks([node.proc.pid]), node.threads_cpu()
    wall, ttfb, gaps = download(url, size)
    time.sleep(0.2)  # the last log lines
    cpu = (cpu_ticks([node.proc.pid]) - c0) / HZ
    loops = (node.threads_cpu() - l0) / HZ
    # A fetch's log line comes a little after its last byte: 5 ms less at the end, so that one fetch ending as the
    # next starts does not count as two at once.
    starts = [(at - ms / 1000, at - 0.005) for at, _, ms in node.gets]
    # Most fetches in flight at once.
    events = sorted([(s, 1) for s, _ in starts] + [(e, -1) for _, e in starts])
    depth = peak = 0
    for _, d in events:
        depth += d
        peak = max(peak, depth)
    ms = [m for _, _, m in node.gets]
    return dict(mbs=size / wall / 1e6, cpu=cpu / (size / (1 << 30)), fetch_share=(cpu - loops) / cpu if cpu else 0,
                fetch_med=median(ms) if ms else 0, fetch_max=max(ms) if ms else 0, peak=peak,
                stall=sum(gaps), stall0=ttfb, slices=(size + SLICE - 1) // SLICE, gets=len(ms))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bytes", type=int, default=int(os.environ.get("BENCH_BYTES", str(1 << 30))))
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "2")))
    p.add_argument("--readahead", default=os.environ.get("BENCH_READAHEAD", "0,2"))
    a = p.parse_args()
    depths = [int(x) for x in a.readahead.split(",")]
    with Bench("s3-cold-timeline") as b:
        build()
        src = cached_file(a.bytes)
        store = SeaweedFS(b.tmp)
        try:
            store.start()
            base = s3_settings(store, b, a.bytes)
            nodes = {d: LoggedNode(b, f"s3ra{d}", base + f"cache.readahead_slices = {d}\n") for d in depths}
            for n in nodes.values():
                n.data = nodes[depths[0]].data  # one data dir, one catalog: each config differs only in read-ahead
            first = nodes[depths[0]]
            rec, _, _ = first.import_file(src, "timeline.bin")
            rows = {d: [] for d in depths}
            for r in range(a.rounds):
                for d in (depths if r % 2 == 0 else list(reversed(depths))):
                    node = nodes[d]
                    row = one(b, node, rec["id"], a.bytes)
                    node.stop()
                    node.proc = None
                    rows[d].append(row)
                    log(f"round {r + 1} readahead {d}: {row['mbs']:.0f} MB/s, node {row['cpu']:.2f} CPU-s/GiB "
                        f"({row['fetch_share']:.0%} in fetch threads), fetch ms median {row['fetch_med']:.0f} max "
                        f"{row['fetch_max']}, {row['peak']} fetches at once at most, first byte after {row['stall0']:.2f} s, "
                        f"gaps at slice boundaries {row['stall']:.2f} s, {row['gets']} GETs for {row['slices']} slices")
        finally:
            store.stop()
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print("| readahead | MB/s | node CPU s/GiB | in fetch threads | fetch ms (median, max) | fetches at once | "
          "first byte s | boundary gaps s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for d, rs in rows.items():
        r = sorted(rs, key=lambda x: x["mbs"])[len(rs) // 2]
        print(f"| {d} | {r['mbs']:.0f} | {r['cpu']:.2f} | {r['fetch_share']:.0%} | {r['fetch_med']:.0f}, "
              f"{r['fetch_max']} | {r['peak']} | {r['stall0']:.2f} | {r['stall']:.2f} |")


if __name__ == "__main__":
    main()
