#!/usr/bin/python3
"""What counting costs on the download hot path: 64 KiB random ranges (wrk, bench/random-range.lua) against
ImageGate with the metrics listener on (scraped once a second, as Prometheus would) and off, in one run.

    python3 bench/metrics_overhead.py     # or: bash bench/run.sh metrics

Knobs: BENCH_BYTES=2147483648 (the file bench/run.sh caches), BENCH_WRK_SECONDS=10, BENCH_ROUNDS=4,
BENCH_NO_BUILD=1, BENCH_NO_DOC=1. Goal (issue #16): requests/s with metrics on ≥ 0.98x of metrics off.

Method (Docs/benchmarks.md, "Results: metrics", says why each step is there):
- The server is configured as in bench/hotpath.py (2 loops, access log off, 1,000 requests per connection,
  every front listening) and wrk sends the same requests (unaligned 64 KiB ranges, wrk -t2 -c16), so this
  section's "on" row and the hot path's ImageGate 64 KiB -t2 -c16 row (its server has the default metrics
  listener, not scraped) measure the same request.
- One data dir, one imported file, then one unrecorded settling measurement. The server is restarted for
  each measurement (metrics on or off is a startup setting); each round runs both, and the order alternates
  between rounds (on, off, off, on, on, off, …, "ABBA"), so a drift of the machine during a run falls on both
  alike. BENCH_ROUNDS is even by default, so each order comes up equally often.
- Before each measurement the blob is checked to be in the page cache (`fincore`) and read into it if not;
  after it, checked once more. The report says the least share seen and flags a run below 99.9 %: a
  measurement that read from the disk paid for work the other did not.
- Per measurement the log shows requests/s, server CPU per request (all threads, /proc/PID/stat), the event
  loops' share (per-thread schedstat), each loop's CPU and the connections each loop owned (logged by the
  server at shutdown): an uneven split between the loops shows up there.
- The result is the median over rounds of each round's on/off ratio (both taken minutes apart at most), and
  the medians of each side.

With `--metrics off` nothing is counted (each count site is one relaxed atomic load), so the ratio is the whole
cost: per-thread counting, the listener and the scrapes.
"""
import os
import re
import subprocess
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (HZ, ROOT, GiB, Bench, build, cached_file, cpu_ticks, die, finish, fmt_ratio,  # noqa: E402
                      import_file, log, machine, median, mint, need, start_imagegate)

SIZE = int(os.environ.get("BENCH_BYTES", str(2 * GiB)))
SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
RANGE = 64 * 1024
LOOPS = 2
LUA = os.path.join(ROOT, "bench", "random-range.lua")


def main():
    need("wrk", "fincore")
    with Bench("metrics") as b:
        run(b)


def resident(path):
    """(bytes of `path` in the page cache, its size), from util-linux's fincore."""
    r = subprocess.run(["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES,SIZE", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        die(f"fincore {path} failed: {r.stdout}")
    res, size = map(int, r.stdout.split())
    return res, size


def cached(path):
    """Reads the file into the page cache unless all of it is there (up to three times); returns the share
    resident afterwards. Pages can go on vanishing while nothing reads them (seen on the shared VM, with no
    reclaim counted in /proc/vmstat), so the share is reported rather than required: the report flags a run in
    which any measurement began or ended with less than 99.9 % of the file cached."""
    for _ in range(3):
        res, size = resident(path)
        if res >= size:
            break
        subprocess.run(f"cat '{path}' > /dev/null", shell=True, check=True)
    res, size = resident(path)
    return res / size


def thread_cpu_ns(pid):
    """{thread name: nanoseconds on a CPU} of every live thread of pid (schedstat; same names add up)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ns = int(f.read().split()[0])
        except OSError:
            continue
        out[name] = out.get(name, 0) + ns
    return out


def wrk(url, server_pid):
    """One recorded wrk run after a warm-up: requests/s, server CPU µs per request (all of it, the event loops'
    part), CPU ms of each loop, client CPU share of one core per wrk thread."""
    args = ["-s", LUA, url, "--", str(SIZE), str(RANGE), "0", "206"]
    subprocess.run(["wrk", "-t2", "-c16", "-d2s"] + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before, threads_before = cpu_ticks([server_pid]), thread_cpu_ns(server_pid)
    client_before = os.times()
    r = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECONDS}s"] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server_s = (cpu_ticks([server_pid]) - before) / HZ
    threads = thread_cpu_ns(server_pid)
    t = os.times()
    client_s = (t.children_user - client_before.children_user) + (t.children_system - client_before.children_system)
    m = re.search(r"BENCH requests=(\d+) bytes=(\d+) duration_us=(\d+) non206=(\d+) badlen=(\d+)", r.stdout)
    if r.returncode != 0 or not m:
        die(f"wrk failed: {r.stdout[-2000:]}")
    requests, _, duration_us, non206, badlen = map(int, m.groups())
    if non206 or badlen:
        die(f"wrk saw {non206} non-206 answers and {badlen} wrong lengths")
    seconds = duration_us / 1e6
    loops = [(threads.get(f"http-loop-{i}", 0) - threads_before.get(f"http-loop-{i}", 0)) / 1e6 for i in range(LOOPS)]
    return {"rps": requests / seconds, "cpu_us": server_s * 1e6 / requests,
            "loops_us": sum(loops) * 1e3 / requests, "loops_ms": loops, "client": client_s / seconds / 2}


def measure(b, conf, data, image_id, blob, metrics_on):
    before = cached(blob)
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
        result = wrk(url, p.pid)
    finally:
        stop.set()
        if t:
            t.join()
        b.stop(p)
    if metrics_on and (failed or not scrapes):
        die(f"{len(scrapes)} scrapes succeeded and {len(failed)} failed during the run: {failed[:3]}")
    # The server logs the connections each loop owned when it stops (info); the log keeps every restart's lines.
    owned = re.findall(r"http: connections per loop: ([0-9 ]+)", open(f"{b.tmp}/imagegate.stderr.log").read())
    result["owned"] = owned[-1].strip() if owned else "?"
    res, size = resident(blob)
    result["cached"] = (before, res / size)
    log(f"  metrics {'on ' if metrics_on else 'off'}: {result['rps']:.0f} req/s, server {result['cpu_us']:.1f} µs/req "
        f"(loops {result['loops_us']:.1f}), loop CPU ms {[round(x) for x in result['loops_ms']]}, "
        f"connections per loop {result['owned']}, wrk {result['client']:.0%} of a core per thread, "
        f"blob in the page cache {before:.4%} before, {res / size:.4%} after")
    return result


def run(b):
    build()
    src = cached_file(SIZE)
    conf = f"{b.tmp}/imagegate.conf"
    data = f"{b.tmp}/data"
    # As bench/hotpath.py: 2 loops, 1,000 requests per connection, every front listening (on free ports here),
    # access log off; info, so the server logs how many connections each loop owned.
    with open(conf, "w") as f:
        f.write(f"data_dir = {data}\nhttp.loops = {LOOPS}\nhttp.max_requests_per_connection = 1000\n"
                "http.max_connections_per_peer = 1000\nlog.level = info\nlog.access = off\n"
                "https.listen = 127.0.0.1:0\nftp.listen = 127.0.0.1:0\nsftp.listen = 127.0.0.1:0\n")
    js, blob = import_file(conf, data, src)
    # Not recorded: the first measurement after the import meets a machine still busy with it (write-back,
    # a cold server binary), whichever side it would be.
    log("settling run (not recorded)")
    measure(b, conf, data, js["id"], blob, False)
    on, off = [], []
    for i in range(ROUNDS):
        order = (True, False) if i % 2 == 0 else (False, True)
        log(f"round {i + 1}/{ROUNDS}: metrics {' then '.join('on' if x else 'off' for x in order)}")
        for metrics_on in order:
            (on if metrics_on else off).append(measure(b, conf, data, js["id"], blob, metrics_on))
    report(on, off)


def report(on, off):
    m = machine()
    rps_on, rps_off = median([x["rps"] for x in on]), median([x["rps"] for x in off])
    cpu_on, cpu_off = median([x["cpu_us"] for x in on]), median([x["cpu_us"] for x in off])
    loops_on, loops_off = median([x["loops_us"] for x in on]), median([x["loops_us"] for x in off])
    paired_rps = median([a["rps"] / b["rps"] for a, b in zip(on, off)])
    paired_cpu = median([a["cpu_us"] / b["cpu_us"] for a, b in zip(on, off)])
    client = max(x["client"] for x in on + off)
    bound = (f"**client-bound**: wrk used up to {client:.0%} of a core per thread, so requests/s compare the "
             "client more than the servers; the server CPU per request is the measure to read"
             if client > 0.8 else f"wrk used at most {client:.0%} of a core per thread")
    least = min(min(x["cached"]) for x in on + off)
    rounds = "; ".join(f"{a['rps'] / b['rps']:.2f}x / {a['cpu_us'] / b['cpu_us']:.2f}x" for a, b in zip(on, off))
    body = (f"{m['date']}, commit {m['commit']}, {m['machine']}, load {' '.join(m['load'])}, {m['swift']}\n\n"
            f"Unaligned 64 KiB random ranges, wrk -t2 -c16 -d{SECONDS}s, {len(on)} rounds in ABBA order (on first "
            "in odd rounds, off first in even ones), medians; blob in the page cache before and after every "
            f"measurement (fincore): at least {least:.2%}"
            + (" (**below 99.9 %: some measurements read from the disk, so the run is not comparable**)"
               if least < 0.999 else "") + f"; {bound}.\n\n"
            "| metrics listener | requests/s | ratio | server CPU µs/request | ratio | event loops µs/request |\n"
            "|---|---:|---:|---:|---:|---:|\n"
            f"| on (scraped every 1 s) | {rps_on:.0f} | {fmt_ratio(rps_on, rps_off)} | {cpu_on:.1f} | "
            f"{fmt_ratio(cpu_on, cpu_off)} | {loops_on:.1f} |\n"
            f"| off | {rps_off:.0f} | 1.00x | {cpu_off:.1f} | 1.00x | {loops_off:.1f} |\n\n"
            f"Median of the rounds' own on/off ratios: **{paired_rps:.2f}x requests/s, {paired_cpu:.2f}x server CPU "
            f"per request** (per round, requests/s / CPU: {rounds}). Connections per loop (on / off, per round): "
            + "; ".join(f"{a['owned']} / {b['owned']}" for a, b in zip(on, off)) + ".\n")
    finish("metrics", "bench/metrics_overhead.py", body)


if __name__ == "__main__":
    main()
