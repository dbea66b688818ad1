#!/usr/bin/python3
"""What counting costs on the download hot path: 64 KiB random ranges (wrk, bench/random-range.lua) against
ImageGate with the metrics listener on (scraped once a second, as Prometheus would) and off, in one run.

    python3 bench/metrics_overhead.py     # or: bash bench/run.sh metrics

Knobs: BENCH_BYTES=2147483648 (the file bench/run.sh caches), BENCH_WRK_SECONDS=10, BENCH_ROUNDS=2,
BENCH_NO_BUILD=1, BENCH_NO_DOC=1. Goal (issue #16): requests/s with metrics on ≥ 0.98x of metrics off.

One data dir, one imported file; the server is restarted for each measurement, alternating on/off
(on, off, on, off, …) so drift of a shared machine hits both alike. Access log off, 2 event loops, like
bench/run.sh. With `--metrics off` nothing is counted (each count site is one relaxed atomic load), so the
ratio is the whole cost: per-thread counting, the listener and the scrapes.
"""
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (ROOT, GiB, Bench, build, cached_file, die, finish, fmt_ratio, import_file, log,  # noqa: E402
                      machine, median, mint, need, start_imagegate)

SIZE = int(os.environ.get("BENCH_BYTES", str(2 * GiB)))
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RANGE = 64 * 1024


def main():
    need("wrk")
    with Bench("metrics") as b:
        run(b)


def wrk(url):
    lua = os.path.join(ROOT, "bench", "random-range.lua")
    subprocess.run(["wrk", "-t2", "-c16", "-d2s", "-s", lua, url, "--", str(SIZE), str(RANGE)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm-up, not recorded
    r = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECONDS}s", "-s", lua, url, "--", str(SIZE), str(RANGE)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r"BENCH requests=(\d+) bytes=(\d+) duration_us=(\d+) non206=(\d+) badlen=(\d+)", r.stdout)
    if r.returncode != 0 or not m:
        die(f"wrk failed: {r.stdout[-2000:]}")
    requests, _, duration_us, non206, badlen = map(int, m.groups())
    if non206 or badlen:
        die(f"wrk saw {non206} non-206 answers and {badlen} wrong lengths")
    return requests / (duration_us / 1e6)


def measure(b, conf, data, image_id, metrics_on):
    listeners = ["http", "metrics"] if metrics_on else ["http"]
    extra = ["--metrics", "127.0.0.1:0" if metrics_on else "off"]
    p, urls = start_imagegate(b, conf, data, listeners, extra=extra)
    url = mint(conf, data, image_id)["http"]
    stop = threading.Event()
    scrapes = []

    def scraper():
        while not stop.wait(1.0):
            with urllib.request.urlopen(urls["metrics"] + "/metrics", timeout=5) as r:
                scrapes.append(len(r.read()))

    t = threading.Thread(target=scraper) if metrics_on else None
    if t:
        t.start()
    try:
        rps = wrk(url)
    finally:
        stop.set()
        if t:
            t.join()
        b.stop(p)
    if metrics_on and not scrapes:
        die("no scrape succeeded during the run")
    return rps


def run(b):
    build()
    src = cached_file(SIZE)
    conf = f"{b.tmp}/imagegate.conf"
    data = f"{b.tmp}/data"
    with open(conf, "w") as f:
        f.write(f"data_dir = {data}\nhttp.loops = 2\nlog.level = warn\nlog.access = off\n"
                "https.listen = 127.0.0.1:0\nftp.listen = off\nsftp.listen = 127.0.0.1:0\n")
    js, _ = import_file(conf, data, src)
    on, off = [], []
    for i in range(ROUNDS):
        log(f"round {i + 1}/{ROUNDS}: metrics on")
        on.append(measure(b, conf, data, js["id"], True))
        log(f"round {i + 1}/{ROUNDS}: metrics off")
        off.append(measure(b, conf, data, js["id"], False))
    m = machine()
    body = (f"{m['date']}, commit {m['commit']}, {m['machine']}, load {' '.join(m['load'])}, {m['swift']}\n\n"
            f"64 KiB random ranges, wrk -t2 -c16 -d{SECONDS}s, {ROUNDS} rounds alternating, median requests/s:\n\n"
            "| metrics listener | requests/s | ratio |\n|---|---:|---:|\n"
            f"| on (scraped every 1 s) | {median(on):.0f} | {fmt_ratio(median(on), median(off))} |\n"
            f"| off | {median(off):.0f} | 1.00x |\n")
    finish("metrics", "bench/metrics_overhead.py", body)


if __name__ == "__main__":
    main()
