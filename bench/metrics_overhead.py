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
from benchlib import (HZ, ROOT, GiB, Bench, build, cached_file, cpu_ticks, die, finish, fmt_ratio,  # noqa: E402
                      import_file, log, machine, median, mint, need, start_imagegate)

SIZE = int(os.environ.get("BENCH_BYTES", str(2 * GiB)))
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RANGE = 64 * 1024


def main():
    need("wrk")
    with Bench("metrics") as b:
        run(b)


def wrk(url, server_pid):
    """(requests/s, server CPU µs per request, client CPU share of one core per wrk thread)."""
    lua = os.path.join(ROOT, "bench", "random-range.lua")
    subprocess.run(["wrk", "-t2", "-c16", "-d2s", "-s", lua, url, "--", str(SIZE), str(RANGE)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # warm-up, not recorded
    before = cpu_ticks([server_pid])
    client_before = os.times()
    r = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECONDS}s", "-s", lua, url, "--", str(SIZE), str(RANGE)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server_s = (cpu_ticks([server_pid]) - before) / HZ
    t = os.times()
    client_s = (t.children_user - client_before.children_user) + (t.children_system - client_before.children_system)
    m = re.search(r"BENCH requests=(\d+) bytes=(\d+) duration_us=(\d+) non206=(\d+) badlen=(\d+)", r.stdout)
    if r.returncode != 0 or not m:
        die(f"wrk failed: {r.stdout[-2000:]}")
    requests, _, duration_us, non206, badlen = map(int, m.groups())
    if non206 or badlen:
        die(f"wrk saw {non206} non-206 answers and {badlen} wrong lengths")
    seconds = duration_us / 1e6
    return requests / seconds, server_s * 1e6 / requests, client_s / seconds / 2


def measure(b, conf, data, image_id, metrics_on):
    listeners = ["http", "metrics"] if metrics_on else ["http"]
    extra = ["--metrics", "127.0.0.1:0" if metrics_on else "off"]
    p, urls = start_imagegate(b, conf, data, listeners, extra=extra)
    url = mint(conf, data, image_id)["http"]
    stop = threading.Event()
    scrapes = []
    failed = []

    def scraper():
        while not stop.wait(1.0):
            try:
                with urllib.request.urlopen(urls["metrics"] + "/metrics", timeout=5) as r:
                    scrapes.append(len(r.read()))
            except OSError as e:  # counted and reported: a scrape that fails is a finding, not a crash here
                failed.append(str(e))

    t = threading.Thread(target=scraper) if metrics_on else None
    if t:
        t.start()
    try:
        rps = wrk(url, p.pid)
    finally:
        stop.set()
        if t:
            t.join()
        b.stop(p)
    if metrics_on and (failed or not scrapes):
        die(f"{len(scrapes)} scrapes succeeded and {len(failed)} failed during the run: {failed[:3]}")
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
    rps_on, rps_off = median([x[0] for x in on]), median([x[0] for x in off])
    cpu_on, cpu_off = median([x[1] for x in on]), median([x[1] for x in off])
    client = max(x[2] for x in on + off)
    bound = (f"**client-bound**: wrk used up to {client:.0%} of a core per thread, so requests/s compare the "
             "client more than the servers; the server CPU per request is the measure to read"
             if client > 0.8 else f"wrk used at most {client:.0%} of a core per thread")
    body = (f"{m['date']}, commit {m['commit']}, {m['machine']}, load {' '.join(m['load'])}, {m['swift']}\n\n"
            f"64 KiB random ranges, wrk -t2 -c16 -d{SECONDS}s, {ROUNDS} rounds alternating, medians; {bound}.\n\n"
            "| metrics listener | requests/s | ratio | server CPU µs/request | ratio |\n|---|---:|---:|---:|---:|\n"
            f"| on (scraped every 1 s) | {rps_on:.0f} | {fmt_ratio(rps_on, rps_off)} | {cpu_on:.1f} | "
            f"{fmt_ratio(cpu_on, cpu_off)} |\n"
            f"| off | {rps_off:.0f} | 1.00x | {cpu_off:.1f} | 1.00x |\n")
    finish("metrics", "bench/metrics_overhead.py", body)


if __name__ == "__main__":
    main()
