#!/usr/bin/python3
"""What one /metrics scrape costs the server, and what the once-a-second health round costs (issue #16).

    python3 bench/metrics_scrape.py [--bin PATH] [--label TEXT]     # or: bash bench/run.sh metrics-scrape

Knobs: BENCH_SCRAPES=1000, BENCH_IDLE_SECONDS=20, BENCH_NO_BUILD=1, BENCH_NO_DOC=1. `--bin` measures another
build (an older commit's release binary, say); its results are printed, and written to Docs/benchmarks.md only
for this checkout's own binary.

Method: a release server with the metrics listener on (2 loops, access log off, HTTPS and SFTP listening, as in
bench/metrics_overhead.py), 2,000 keep-alive 64 KiB range requests first so every loop thread has counted, then
BENCH_SCRAPES scrapes one after another, each on a new connection as the listener closes it. CPU time comes from
/proc/PID/task/TID/schedstat (nanoseconds on a CPU, user and kernel together, per thread): the `metrics` thread
serves every scrape and does nothing else, so its time divided by the scrapes is the cost of one scrape (the
catalog query included: it runs on that thread). The `health` thread's time over BENCH_IDLE_SECONDS of no load
is the cost of its once-a-second round, which runs with metrics on and off alike.
"""
import http.client
import os
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import Bench, build, die, finish, import_file, log, machine, mint, start_imagegate  # noqa: E402

SCRAPES = int(os.environ.get("BENCH_SCRAPES", "1000"))
IDLE = float(os.environ.get("BENCH_IDLE_SECONDS", "20"))
SIZE = 64 << 20
RANGE = 64 * 1024


def threads_named(pid):
    """{comm: [tid, …]} of the server's threads."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                out.setdefault(f.read().strip(), []).append(int(tid))
        except OSError:
            pass
    return out


def cpu_ns(pid, tid=None):
    """Nanoseconds on a CPU: one thread's (schedstat), or the whole process's (every live thread summed)."""
    tids = [tid] if tid else [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    total = 0
    for t in tids:
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def load(port, path, count):
    """`count` keep-alive range requests over 4 connections, so both loops count something."""
    rnd = random.Random(count)
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(4)]
    for i in range(count):
        c = conns[i % len(conns)]
        first = rnd.randrange(0, SIZE - RANGE)
        c.request("GET", path, headers={"Range": f"bytes={first}-{first + RANGE - 1}"})
        r = c.getresponse()
        if r.status != 206 or len(r.read()) != RANGE:
            die(f"range request answered {r.status}")
    for c in conns:
        c.close()


def measure(b, conf, data, image_id):
    p, urls = start_imagegate(b, conf, data, ["http", "metrics"], extra=["--metrics", "127.0.0.1:0"])
    url = urllib.parse.urlsplit(mint(conf, data, image_id)["http"])
    load(int(urls["http"].rsplit(":", 1)[1]), url.path + (f"?{url.query}" if url.query else ""), 2000)
    names = threads_named(p.pid)
    if len(names.get("metrics", [])) != 1 or len(names.get("health", [])) != 1:
        die(f"expected one metrics and one health thread, found {sorted(names)}")
    metrics_tid, health_tid = names["metrics"][0], names["health"][0]

    time.sleep(1)
    h0, p0, t0 = cpu_ns(p.pid, health_tid), cpu_ns(p.pid), time.time()
    time.sleep(IDLE)
    h1, p1, t1 = cpu_ns(p.pid, health_tid), cpu_ns(p.pid), time.time()
    health_us_per_s = (h1 - h0) / 1e3 / (t1 - t0)
    idle_us_per_s = (p1 - p0) / 1e3 / (t1 - t0)

    m0, p0 = cpu_ns(p.pid, metrics_tid), cpu_ns(p.pid)
    size = 0
    for _ in range(SCRAPES):
        with urllib.request.urlopen(urls["metrics"] + "/metrics", timeout=30) as r:
            size = len(r.read())
    m1, p1 = cpu_ns(p.pid, metrics_tid), cpu_ns(p.pid)
    b.stop(p)
    return {"scrape_us": (m1 - m0) / 1e3 / SCRAPES, "process_us": (p1 - p0) / 1e3 / SCRAPES, "bytes": size,
            "health_us_per_s": health_us_per_s, "idle_us_per_s": idle_us_per_s}


def run(b, own_binary, label):
    if own_binary:
        build()
    src = os.path.join(b.tmp, "src.bin")
    subprocess.run(f"head -c {SIZE} /dev/urandom > '{src}'", shell=True, check=True)
    conf = f"{b.tmp}/imagegate.conf"
    data = f"{b.tmp}/data"
    with open(conf, "w") as f:
        f.write(f"data_dir = {data}\nhttp.loops = 2\nlog.level = warn\nlog.access = off\n"
                "https.listen = 127.0.0.1:0\nftp.listen = off\nsftp.listen = 127.0.0.1:0\n")
    js, _ = import_file(conf, data, src)
    r = measure(b, conf, data, js["id"])
    m = machine()
    body = (f"{m['date']}, {label}, {m['machine']}, load {' '.join(m['load'])}, {m['swift']}\n\n"
            f"CPU time per thread from /proc schedstat; release build, 2 loops, access log off, HTTPS and SFTP "
            f"listening, 2,000 range requests served before.\n\n"
            "| what | CPU |\n|---|---:|\n"
            f"| one scrape, `metrics` thread ({SCRAPES} scrapes, {r['bytes']:,} bytes each) | "
            f"{r['scrape_us']:.0f} µs |\n"
            f"| one scrape, whole process | {r['process_us']:.0f} µs |\n"
            f"| `health` thread, idle, per second (one readiness round) | {r['health_us_per_s']:.0f} µs |\n"
            f"| whole process, idle, per second | {r['idle_us_per_s']:.0f} µs |\n")
    if own_binary:
        finish("metrics-scrape", "bench/metrics_scrape.py", body)
    else:
        print(body)


if __name__ == "__main__":
    benchlib.main_with_bin("metrics-scrape", __doc__, run)
