#!/usr/bin/python3
"""What counting costs per download request, in instructions: valgrind's callgrind counts the user-space
instructions ImageGate's event loops execute for 64 KiB random ranges, with the metrics listener on and off.
Unlike requests/s or CPU time, the count barely moves when other work shares the machine, so it is the
comparison to trust on a busy 2-core box (bench/metrics_overhead.py measures the wall-clock side).

    python3 bench/metrics_callgrind.py [--bin PATH] [--label TEXT]

Knobs: BENCH_CG_FEW=300, BENCH_CG_MANY=1800 (requests per server run), BENCH_ROUNDS=1, BENCH_NO_BUILD=1,
BENCH_NO_DOC=1. `--bin` measures another build (an older commit's release binary, say) with the same client;
its results are printed, and written to Docs/benchmarks.md only for this checkout's own binary.

Method: per configuration two server runs under `valgrind --tool=callgrind --separate-threads=yes`, one
serving FEW and one MANY keep-alive requests on one connection (unaligned random 64 KiB ranges, one token);
(instructions of MANY - instructions of FEW) / (MANY - FEW) is the cost of one request, start-up and shutdown
cancelling out. "Loop threads" sums the threads that ran the HTTP event loop (every request's parsing,
authorization, response and counting happens there); "all threads" adds the health checker and the metrics
listener, whose work is per second, not per request (no scrape runs during the requests). With metrics on, the
counters are read back at the end and must equal the requests made.
"""
import glob
import http.client
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import (Bench, build, die, finish, import_file, log, machine, mint, need,  # noqa: E402
                      start_imagegate)

FEW = int(os.environ.get("BENCH_CG_FEW", "300"))
MANY = int(os.environ.get("BENCH_CG_MANY", "1800"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
SIZE = 64 << 20
RANGE = 64 * 1024


def start(b, conf, data, label, metrics_on):
    """A server under callgrind; returns (Popen, http port, metrics port or None)."""
    out = os.path.join(b.tmp, f"{label}.out.txt")
    argv = ["valgrind", "--tool=callgrind", "--separate-threads=yes",
            f"--callgrind-out-file={b.tmp}/cg.{label}.%p", measured_binary(b), "serve", "--config", conf,
            "--data-dir", data, "--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0" if metrics_on else "off"]
    p = b.spawn(label, argv, stdout=out)
    want = ["http"] + (["metrics"] if metrics_on else [])
    found = {}
    deadline = time.time() + 300  # start-up under valgrind is slow, more so on a loaded machine
    while time.time() < deadline and len(found) < len(want):
        b.alive(p, label)
        for line in open(out).read().splitlines():
            for name in want:
                if line.startswith(f"{name}: listening on "):
                    found[name] = int(line.split()[3].rsplit(":", 1)[1].split("/")[0])
        time.sleep(0.2)
    if len(found) < len(want):
        die(f"{label}: listeners {want} not up within 300 s (got {found})")
    return p, found["http"], found.get("metrics")


def measured_binary(b):
    """The binary without its DWARF (symbols stay, so callgrind still names functions): valgrind 3.19 reads
    Swift 6.3's DWARF 5 only partly and gives up on some builds ("Possibly corrupted debuginfo file")."""
    path = os.path.join(b.tmp, "imagegate-stripped")
    if not os.path.exists(path):
        subprocess.run(["strip", "--strip-debug", "-o", path, benchlib.BIN], check=True)
    return path


def requests(port, path, count, seed):
    """`count` keep-alive GETs of unaligned random 64 KiB ranges on one connection; every answer must be a
    206 of exactly 64 KiB."""
    rnd = random.Random(seed)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(count):
        first = rnd.randrange(0, SIZE - RANGE)
        c.request("GET", path, headers={"Range": f"bytes={first}-{first + RANGE - 1}"})
        r = c.getresponse()
        body = r.read()
        if r.status != 206 or len(body) != RANGE:
            die(f"expected 206 with {RANGE} bytes, got {r.status} with {len(body)}")
    c.close()


def counted(metrics_port):
    """(download sessions ok, http 2xx requests) as /metrics reports them."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=60) as r:
        text = r.read().decode()

    def value(series):
        m = re.search("^" + re.escape(series) + r" (\S+)$", text, re.M)
        return float(m.group(1)) if m else 0.0
    return (value('imagegate_download_sessions_total{protocol="http",outcome="ok"}'),
            value('imagegate_requests_total{front="http",status_class="2xx"}'))


# Functions of the counting code, by their mangled Swift names (GateCore's Metrics, MetricSlots, MetricCounter…,
# HTTPMetrics, ImageGateMetrics, TransferCounters, DownloadAuthorizer.rejectionCounter) and the thread-local
# lookup every bump makes.
COUNTING = re.compile(r"Metric|TransferCounters|rejectionCounter|pthread_getspecific")


def counting_self_cost(path):
    """Instructions executed in the counting functions themselves (self cost, callees not included: in this
    code a bump calls nothing but pthread_getspecific, but an older build's string building is mostly in
    malloc and String internals, which this leaves out)."""
    r = subprocess.run(["callgrind_annotate", "--threshold=100", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    n = 0
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)$", line)
        if m and COUNTING.search(m.group(2)) and "PROGRAM TOTALS" not in line:
            n += int(m.group(1).replace(",", ""))
    return n


def instructions(b, label, pid):
    """(loop threads, all threads, counting code in loop threads): instructions summed over the per-thread
    files callgrind wrote."""
    loops = total = counting = 0
    files = glob.glob(f"{b.tmp}/cg.{label}.{pid}*")
    if not files:
        die(f"callgrind wrote no file for {label}")
    for f in files:
        text = open(f, errors="replace").read()
        if not text:  # the process's own file stays empty with --separate-threads
            continue
        m = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
        if not m:
            die(f"no totals in {f}")
        n = int(m.group(1))
        total += n
        # Mangled Swift names of HTTPServer's EventLoop methods; thread 1 (main) only builds and stops loops.
        if "EventLoop" in text and not re.search(r"^thread: 1$", text, re.M):
            loops += n
            counting += counting_self_cost(f)
    return loops, total, counting


def one_run(b, conf, data, image_id, metrics_on, count, tag):
    label = f"{'on' if metrics_on else 'off'}-{count}-{tag}"
    p, port, mport = start(b, conf, data, label, metrics_on)
    url = mint(conf, data, image_id)["http"]  # with the server up: its addresses, no warning
    u = urllib.parse.urlsplit(url)
    requests(port, u.path + (f"?{u.query}" if u.query else ""), count, seed=count)
    if mport:
        # A request is counted when its access line is written, just after its last byte left: the client can
        # read the answer first, so the last count may be a moment late (slower still under valgrind).
        deadline = time.time() + 60
        while (got := counted(mport)) != (count, count) and time.time() < deadline:
            time.sleep(0.5)
        if got != (count, count):
            die(f"{label}: /metrics counted {got[0]} download sessions and {got[1]} 2xx requests, expected {count}")
    b.stop(p, grace=120)
    return instructions(b, label, p.pid)


def run(b, own_binary, label):
    need("valgrind")
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
    # The first start makes the TLS certificate and the SSH host keys: natively, it takes a moment; under
    # valgrind, minutes. Measured runs start on a data directory that has them.
    p, _ = start_imagegate(b, conf, data, ["http"])
    b.stop(p)
    results = {True: [], False: []}
    for i in range(ROUNDS):
        for on in (True, False):
            log(f"round {i + 1}/{ROUNDS}: metrics {'on' if on else 'off'}, {FEW} and {MANY} requests")
            few = one_run(b, conf, data, js["id"], on, FEW, i)
            many = one_run(b, conf, data, js["id"], on, MANY, i)
            results[on].append(tuple((m - f) / (MANY - FEW) for m, f in zip(many, few)))
    m = machine()
    rows = ""
    for on in (True, False):
        for i, (loops, total, counting) in enumerate(results[on]):
            rows += f"| {'on' if on else 'off'} | {i + 1} | {loops:,.0f} | {total:,.0f} | {counting:,.0f} |\n"
    on_loops = sum(x[0] for x in results[True]) / ROUNDS
    off_loops = sum(x[0] for x in results[False]) / ROUNDS
    on_counting = sum(x[2] for x in results[True]) / ROUNDS
    body = (f"{m['date']}, {label}, {m['machine']}, load {' '.join(m['load'])}, {m['swift']}\n\n"
            f"Instructions per 64 KiB range request (unaligned, keep-alive, one connection), callgrind, "
            f"({MANY} - {FEW} requests) / {MANY - FEW}; release build, 2 loops, access log off.\n\n"
            "| metrics listener | round | loop threads | all threads | counting code (self) |\n"
            "|---|---:|---:|---:|---:|\n" + rows +
            f"\nMetrics on / off, loop threads: {on_loops / off_loops:.4f}x "
            f"({on_loops - off_loops:+,.0f} instructions per request); the counting code itself, metrics on: "
            f"{on_counting:,.0f} instructions per request ({on_counting / off_loops:.2%} of a request with metrics off).\n")
    if own_binary:
        finish("metrics-callgrind", "bench/metrics_callgrind.py", body)
    else:
        print(body)


if __name__ == "__main__":
    benchlib.main_with_bin("metrics-callgrind", __doc__, run)
