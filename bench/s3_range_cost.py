#!/usr/bin/python3
"""What one warm 64 KiB range request costs on an S3-backed node (slices in the read cache) against a local-disk
node, in user-space instructions (callgrind) and system calls (strace -c), both repeatable on a busy machine
(unlike requests/s or CPU time):

    python3 bench/s3_range_cost.py [--bin PATH] [--requests N] [--mode callgrind,strace] [--mib 256]

Set-up: a SeaweedFS store (scripts/seaweedfs.sh; WEED=/path/to/weed to use an installed binary), one random image
of `--mib` MiB imported into two data dirs, one with `blobs.url = s3://…` (16 MiB slices, a cache large enough
for the image) and one local. Each node runs alone with `http.loops = 1`, access log and metrics off, and is
first warmed natively: a whole download (which fills the S3 node's cache), so every slice is cached and
verified before anything is counted.

- callgrind: the node under `valgrind --tool=callgrind --separate-threads=yes`; 300 keep-alive requests of
  unaligned random 64 KiB ranges (fixed seed, the same offsets on both nodes; they also make a restarted node
  hash each slice once), counters zeroed, N more requests, counters dumped: instructions per request of the
  event-loop threads (where every request is parsed, answered and sent) and of all threads (adds per-second
  work: health checks, the S3 node's HeadBucket), and from the busiest loop thread the request path without
  the download authorization (whose catalog re-checks run on a timer, so their cost per request follows the
  run's length) and the write path (`WriteJob.advance`), where the two nodes differ. `sendfile` and every other system call run in the kernel and
  are not counted. `--keep` keeps the per-thread dumps for callgrind_annotate.
- cpu (not in the default modes: wall-clock noise, only for a machine with nothing else running): the node
  native, its threads' time on a CPU (schedstat) and user/system split per request over N requests.
- strace: the node native; 300 warm-up requests, then `strace -f -c -p PID` attached for N requests:
  system calls of every thread / N (the loop's once-a-second tick adds a few per second of run time).

Prints one table; writes nothing. The store and the nodes are stopped whatever happens.
"""
import argparse
import atexit
import glob
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RANGE = 64 * 1024
WARM = 300
OS_ARGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
           "--boot-mode", "BIOS"]
procs = []


def stop_all():
    for p in procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def cli(binary, conf, data, *args):
    r = subprocess.run([binary, *args, "--config", conf, "--data-dir", data], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args[:3])} failed: {r.stdout}{r.stderr}")
    return r.stdout


def serve(argv, out):
    p = subprocess.Popen(argv, stdout=open(out, "w"), stderr=subprocess.STDOUT)
    procs.append(p)
    for _ in range(1200):
        m = re.search(r"^http: listening on http://127\.0\.0\.1:(\d+)$", open(out).read(), re.M)
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            break
        time.sleep(0.25)
    sys.exit(f"node did not start: {open(out).read()[-2000:]}")


def stop(p):
    p.send_signal(signal.SIGTERM)
    p.wait(300)


class Client:
    """One keep-alive connection asking unaligned random 64 KiB ranges (or the whole image)."""

    def __init__(self, port, path, size, seed):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.path, self.size, self.rng, self.buf = path, size, random.Random(seed), b""

    def get(self, first=None, length=RANGE):
        rng = "" if first is None else f"Range: bytes={first}-{first + length - 1}\r\n"
        self.s.sendall(f"GET {self.path} HTTP/1.1\r\nHost: x\r\n{rng}\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            self.recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.split(b" ")[1] in (b"200", b"206"), head
        n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        got = len(self.buf)
        while got < n:
            self.buf += self.s.recv(1 << 22)
            got = len(self.buf)
        body, self.buf = self.buf[:n], self.buf[n:]
        return body

    def recv(self):
        chunk = self.s.recv(1 << 20)
        assert chunk, "connection closed"
        self.buf += chunk

    def ranges(self, n):
        for _ in range(n):
            first = self.rng.randrange(0, self.size - RANGE)
            assert len(self.get(first)) == RANGE


def cpu_of(pid):
    """µs on a CPU of every thread (schedstat, ns precision) and the user / system split (stat, in ticks)."""
    run = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        run += int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    tick = 1e6 / os.sysconf("SC_CLK_TCK")
    return {"cpu µs": run / 1000, "user µs": int(f[11]) * tick, "system µs": int(f[12]) * tick}


def measure(binary, stripped, tmp, label, conf, data, image, mode, n):
    common = ["--config", conf, "--data-dir", data]
    link = json.loads(cli(binary, conf, data, "link", "mint", image["id"], "--json"))["http"]
    path = "/" + link.split("//", 1)[1].split("/", 1)[1]
    out = f"{tmp}/{label}-{mode}.out"
    if mode == "callgrind":
        argv = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={tmp}/cg.{label}.%p",
                stripped, "serve",
                "--http", "127.0.0.1:0"] + common
    else:
        argv = [binary, "serve", "--http", "127.0.0.1:0"] + common
    p, port = serve(argv, out)
    c = Client(port, path, image["size"], seed=17)
    c.ranges(WARM)
    if mode == "callgrind":
        subprocess.run(["callgrind_control", "-z", str(p.pid)], check=True, capture_output=True)
        c.ranges(n)
        subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True, capture_output=True)
        stop(p)
        total = loop = busiest = 0
        for d in glob.glob(f"{tmp}/cg.{label}.{p.pid}.1-*"):  # the dump after zeroing, one file per thread
            text = open(d, errors="replace").read()
            m = re.search(r"^summary: (\d+)", text, re.M)
            if not m:
                continue
            total += int(m.group(1))
            # The HTTP event loops' threads (every request's parsing, answer and sendfile calls); the others run
            # per second (health checks, the store's HeadBucket), not per request.
            if "EventLoop" in text and not re.search(r"^thread: 1$", text, re.M):
                loop += int(m.group(1))
                if int(m.group(1)) > busiest:
                    busiest = int(m.group(1))
                    shutil.copy(d, f"{tmp}/cg.{label}.loop")
        r = {"loop Ir/request": round(loop / n), "all threads Ir/request": round(total / n)}
        r.update({k: round(v / n) for k, v in request_path(f"{tmp}/cg.{label}.loop").items()})
        return r
    if mode == "cpu":
        before = cpu_of(p.pid)
        c.ranges(n)
        after = cpu_of(p.pid)
        stop(p)
        return {k: round((after[k] - before[k]) / n, 2) for k in before}
    trace = f"{tmp}/strace.{label}"
    s = subprocess.Popen(["strace", "-f", "-c", "-o", trace, "-p", str(p.pid)], stderr=subprocess.DEVNULL)
    procs.append(s)
    time.sleep(1.5)  # attached to every thread
    c.ranges(n)
    s.send_signal(signal.SIGINT)
    s.wait(60)
    stop(p)
    calls = {}
    for line in open(trace):
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    return {"syscalls/request": sum(calls.values()) / n,
            "by call": {k: round(v / n, 3) for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v / n >= 0.01}}


# Inclusive costs in the busiest loop thread. `decide` (the download authorization) re-checks the catalog on a
# timer, so its share per request grows with how long the run took (the machine's load): "drive - decide" is the
# request path without it, and "write" (WriteJob.advance: prepare, extent, sendfile calls) is the part where a
# slice-cache reader and a local blob differ.
PATH_FUNCTIONS = {"drive": "EventLoopC5drive", "decide": "DownloadAuthorizerV6decide", "write": "WriteJobV7advance"}


def request_path(dump):
    r = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", dump], capture_output=True,
                       text=True)
    found = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \(", line)
        for k, fn in PATH_FUNCTIONS.items():
            if m and k not in found and fn in line:
                found[k] = int(m.group(1).replace(",", ""))
    found["drive - decide"] = found.get("drive", 0) - found.get("decide", 0)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(REPO, ".build/release/imagegate"))
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--mode", default="callgrind,strace")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (callgrind dumps) and print it")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    tmp = tempfile.mkdtemp(prefix="s3-range-cost-")
    store = f"{tmp}/store"
    os.mkdir(store)
    atexit.register(lambda: (stop_all(), subprocess.run([f"{REPO}/scripts/seaweedfs.sh", "stop", store],
                                                        capture_output=True),
                             None if a.keep else shutil.rmtree(tmp, ignore_errors=True)))
    subprocess.run([f"{REPO}/scripts/seaweedfs.sh", "start", store], check=True, capture_output=True)
    env = dict(re.findall(r"^export (\w+)=(.*)$", open(f"{store}/env").read(), re.M))
    env = {k: v.strip("'\"") for k, v in env.items()}
    creds = f"{tmp}/s3-credentials"
    with open(creds, "w") as f:
        f.write(f"[default]\naws_access_key_id = {env['IMAGEGATE_TEST_S3_KEY']}\n"
                f"aws_secret_access_key = {env['IMAGEGATE_TEST_S3_SECRET']}\n")
    os.chmod(creds, 0o600)
    base = ("http.loops = 1\nhttp.max_requests_per_connection = 1000000\nlog.access = off\nlog.level = error\n"
            "ftp.listen = off\nmetrics.listen = off\nhttps.listen = 127.0.0.1:0\nsftp.listen = 127.0.0.1:0\n")
    url = (f"s3://{env['IMAGEGATE_TEST_S3_BUCKET']}/cost?endpoint={env['IMAGEGATE_TEST_S3_ENDPOINT']}"
           f"&region={env['IMAGEGATE_TEST_S3_REGION']}&path_style=true")
    nodes = {"local": base, "s3": base + f"blobs.url = {url}\nblobs.credentials_file = {creds}\n"
             f"cache.dir = {tmp}/cache\ncache.max_bytes = {2 * a.mib + 256}MiB\n"}
    src = f"{tmp}/img.raw"
    with open(src, "wb") as f:
        f.write(os.urandom(a.mib << 20))
    stripped = f"{tmp}/imagegate"
    subprocess.run(["strip", "--strip-debug", "-o", stripped, binary], check=True)
    images = {}
    for label, text in nodes.items():
        conf, data = f"{tmp}/{label}.conf", f"{tmp}/{label}-data"
        open(conf, "w").write(text)
        images[label] = json.loads(cli(binary, conf, data, "image", "import", "--file", src, "--name", "cost",
                                       *OS_ARGS, "--json"))
        # Natively: the TLS and SSH keys, and (S3) every slice fetched into the cache.
        link = json.loads(cli(binary, conf, data, "link", "mint", images[label]["id"], "--json"))["http"]
        p, port = serve([binary, "serve", "--http", "127.0.0.1:0", "--config", conf, "--data-dir", data],
                        f"{tmp}/{label}-warm.out")
        c = Client(port, "/" + link.split("//", 1)[1].split("/", 1)[1], images[label]["size"], seed=1)
        whole = c.get()
        assert whole == open(src, "rb").read(), f"{label}: whole download differs"
        stop(p)
    if len(os.listdir(f"{tmp}/cache")) < a.mib // 16:
        sys.exit("the S3 node's cache does not hold the image")
    results = {}
    for mode in a.mode.split(","):
        for label in nodes:
            r = measure(binary, stripped, tmp, label, f"{tmp}/{label}.conf", f"{tmp}/{label}-data", images[label],
                        mode, a.requests)
            results[(mode, label)] = r
            print(f"{mode:9} {label:5} {json.dumps(r)}", flush=True)
    if a.keep:
        print(f"kept {tmp}")


if __name__ == "__main__":
    main()
