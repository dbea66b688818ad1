#!/usr/bin/python3
"""RSS soak (issue #10 item 10): does the server's resident memory grow without bound under a mixed load?

    nice -n 19 python3 bench/rss_soak.py            # 25 minutes; SOAK_MINUTES=5 for a short run

Knobs: SOAK_MINUTES=25, SOAK_BIN (default .build/debug/imagegate, or .build/release/imagegate when it exists
and SOAK_RELEASE=1), SOAK_CLIENTS=4 (parallel load loops), SOAK_SERVER_WRAPPER: a command put in front of
the server only, e.g. SOAK_SERVER_WRAPPER="heaptrack -o /tmp/ig-heap" (the RSS samples then describe the
wrapper's process, so use it for the heap profile, not for the curve), SOAK_MALLOC_STATS=SECONDS (every that
many seconds gdb calls glibc's malloc_stats() in the server and the totals go into the CSV: live bytes that keep
rising are growth, bytes held that rise while live bytes stay flat are allocator retention; 0 = never),
SOAK_CSV (default bench/out/rss-soak.csv). Try MALLOC_ARENA_MAX=2 in the environment to see how much of the
curve is per-thread arenas keeping freed pages.

The mix, round-robin in every client loop: a full download of a 4 MiB image over HTTP, HTTPS, FTPS (explicit
TLS), SFTP (curl), a ranged HTTP request, an API list and an API image show, a link mint through the API,
a tus upload of 1 MiB that is then deleted and destroyed, and, in one loop only, a CLI `image import --file`
every tenth round. Every download's bytes are checked against the source.

Every 10 s: VmRSS, VmHWM, RssAnon, RssFile, threads and open fds of the server, written to
bench/out/rss-soak.csv (seconds, rss_kib, hwm_kib, anon_kib, file_kib, threads, fds, requests,
malloc_in_use_kib, malloc_system_kib; the last two empty between malloc_stats() samples). The summary
compares the median RSS of the second fifth of the run with that of the last fifth: a leak grows with the
number of requests; allocator retention rises early and then stays flat.
"""
import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import OUT, ROOT, Bench, Failure, log, median, start_imagegate  # noqa: E402

MINUTES = float(os.environ.get("SOAK_MINUTES", "25"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "4"))
RELEASE = os.path.join(ROOT, ".build", "release", "imagegate")
BIN = os.environ.get("SOAK_BIN") or (RELEASE if os.environ.get("SOAK_RELEASE") else
                                     os.path.join(ROOT, ".build", "debug", "imagegate"))
benchlib.BIN = BIN  # start_imagegate runs the binary under test
MALLOC_STATS_EVERY = float(os.environ.get("SOAK_MALLOC_STATS", "0"))
MiB = 1 << 20
# `image import --file` requires the operating system (Docs/imports.md); the soak's images are all the same.
OS_FLAGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
            "--boot-mode", "BIOS"]


def status_fields(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()[0] if v.split() else ""
    return out


def malloc_totals(pid, stderr_log):
    """(in use KiB, system KiB) of glibc's malloc_stats() "Total (incl. mmap)", called in the server by gdb; the
    function prints to the server's standard error, which the bench writes to stderr_log."""
    # --readnever: no DWARF (a debug build's takes gdb minutes on a busy machine); libc's symbols suffice.
    try:
        r = subprocess.run(["gdb", "--readnever", "-nx", f"/proc/{pid}/exe", "-p", str(pid), "-batch",
                            "-ex", "call ((void (*)(void)) malloc_stats)()"], capture_output=True, text=True,
                           timeout=600)
    except subprocess.TimeoutExpired:
        log("gdb malloc_stats timed out; no heap sample this time")
        return "", ""
    if r.returncode != 0:
        raise Failure(f"gdb malloc_stats: {r.stderr[-300:]}")
    text = open(stderr_log, errors="replace").read()
    block = text.rsplit("Total (incl. mmap):", 1)[-1]
    fields = {}
    for line in block.splitlines()[1:3]:
        k, _, v = line.partition("=")
        fields[k.strip()] = int(v.strip()) // 1024
    return fields["in use bytes"], fields["system bytes"]


def cli(data, *args):
    r = subprocess.run([BIN, *args, "--data-dir", data], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise Failure(f"imagegate {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


class Load:
    def __init__(self, data, addr, key, image, link, payload):
        self.data, self.addr, self.key = data, addr, key
        self.image, self.link, self.payload = image, link, payload
        self.digest = hashlib.sha256(payload).hexdigest()
        self.http_port = int(addr["http"].rsplit(":", 1)[1])
        self.requests = 0
        self.errors = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def api(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=60)
        h = {"Authorization": "Bearer " + self.key}
        h.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        return r.status, r.getheader("Location"), payload

    def curl(self, url, *extra):
        r = subprocess.run(["curl", "-sS", "-f", "-k", "--ssl-reqd" if url.startswith("ftp://") else "-s",
                            *extra, url, "-o", "-"], capture_output=True, timeout=120)
        if r.returncode != 0:
            # Never the token: it is the FTP/SFTP password (user info) or the last path segment.
            where = url.split("://", 1)[0] + "://" + url.split("@", 1)[-1].split("://", 1)[-1].split("/", 1)[0]
            raise Failure(f"curl {where}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout

    def check(self, label, got, want):
        if got != want:
            raise Failure(f"{label}: {len(got)} bytes, not the {len(want)} expected")

    def tus_round(self, n):
        size = MiB
        body = {"name": f"soak tus {n}", "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"upload": {"size": size}}}
        status, _, payload = self.api("POST", "/api/v1/imports", body)
        if status != 201:
            raise Failure(f"create upload: {status} {payload[:200]}")
        js = json.loads(payload)
        chunk = os.urandom(size)
        status, _, payload = self.api("PATCH", js["upload_url"], raw=chunk, headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
        if status != 204:
            raise Failure(f"PATCH: {status} {payload[:200]}")
        for _ in range(300):
            img = json.loads(self.api("GET", f"/api/v1/images/{js['id']}")[2])
            if img["status"] in ("available", "failed"):
                break
            time.sleep(0.1)
        self.api("DELETE", f"/api/v1/images/{js['id']}")
        self.api("POST", f"/api/v1/images/{js['id']}/destroy")

    def round(self, n, importer):
        link = self.link
        self.check("http", self.curl(link["http"]), self.payload)
        self.check("https", self.curl(link["https"]), self.payload)
        self.check("ftps", self.curl(link["ftp"]), self.payload)
        self.check("sftp", self.curl(link["sftp"]), self.payload)
        self.check("range", self.curl(link["http"], "-r", "1000-70999"), self.payload[1000:71000])
        self.api("GET", "/api/v1/images?page_size=50")
        self.api("GET", f"/api/v1/images/{self.image}")
        status, _, payload = self.api("POST", f"/api/v1/images/{self.image}/links", {"ttl": "1h"})
        if status != 201:
            raise Failure(f"mint: {status} {payload[:200]}")
        self.tus_round(n)
        if importer and n % 10 == 0:
            path = os.path.join(self.data, "..", f"soak-cli-{n}.raw")
            with open(path, "wb") as f:
                f.write(os.urandom(2 * MiB))
            js = json.loads(cli(self.data, "image", "import", "--file", path, "--name", f"soak cli {n}", "--json",
                                *OS_FLAGS))
            os.unlink(path)
            self.api("DELETE", f"/api/v1/images/{js['id']}")
            self.api("POST", f"/api/v1/images/{js['id']}/destroy")
        with self.lock:
            self.requests += 12

    def loop(self, importer):
        n = 0
        while not self.stop.is_set():
            try:
                self.round(n, importer)
            except Exception as e:  # noqa: BLE001 - reported, and ends the soak
                self.errors.append(str(e))
                self.stop.set()
            n += 1


def main():
    with Bench("rss-soak") as b:
        data = os.path.join(b.tmp, "data")
        conf = os.path.join(b.tmp, "imagegate.conf")
        with open(conf, "w") as f:
            # Its own metrics port (counting on, as by default), so soaks and other servers can run side by side.
            f.write("ftp.allow_plain = false\nmetrics.listen = 127.0.0.1:0\n")
        payload = os.urandom(4 * MiB)
        src = os.path.join(b.tmp, "soak.raw")
        with open(src, "wb") as f:
            f.write(payload)
        js = json.loads(cli(data, "image", "import", "--file", src, "--name", "soak", "--json", "--config", conf,
                             *OS_FLAGS))
        wrapper = os.environ.get("SOAK_SERVER_WRAPPER")
        if wrapper:
            script = os.path.join(b.tmp, "server-wrapper.sh")
            with open(script, "w") as f:
                f.write(f'#!/bin/sh\nexec {wrapper} "{BIN}" "$@"\n')
            os.chmod(script, 0o755)
            benchlib.BIN = script
        p, addr = start_imagegate(b, conf, data, ["http", "https", "ftp", "sftp"], startup_seconds=300 if wrapper else 20)
        with open(os.path.join(data, "keys", "admin-api-key")) as f:
            key = f.read().strip()
        link = json.loads(cli(data, "link", "mint", js["id"], "--ttl", "12h", "--json", "--config", conf))
        load = Load(data, addr, key, js["id"], link, payload)
        threads = [threading.Thread(target=load.loop, args=(i == 0,), daemon=True) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        csv = os.environ.get("SOAK_CSV") or os.path.join(OUT, "rss-soak.csv")
        last_stats = time.time()
        samples = []
        start = time.time()
        log(f"soak: {MINUTES} min, {CLIENTS} client loops, server pid {p.pid} ({BIN}); samples in {csv}")
        with open(csv, "w") as out:
            out.write("seconds,rss_kib,hwm_kib,anon_kib,file_kib,threads,fds,requests,"
                      "malloc_in_use_kib,malloc_system_kib\n")
            while time.time() - start < MINUTES * 60 and not load.stop.is_set():
                b.alive(p, "imagegate")
                st = status_fields(p.pid)
                row = (int(time.time() - start), int(st["VmRSS"]), int(st["VmHWM"]), int(st["RssAnon"]),
                       int(st["RssFile"]), int(st["Threads"]), len(os.listdir(f"/proc/{p.pid}/fd")), load.requests)
                samples.append(row)
                heap = ("", "")
                if MALLOC_STATS_EVERY and time.time() - last_stats >= MALLOC_STATS_EVERY:
                    last_stats = time.time()
                    heap = malloc_totals(p.pid, os.path.join(b.tmp, "imagegate.stderr.log"))
                out.write(",".join(map(str, row + heap)) + "\n")
                out.flush()
                log("t=%5ds rss=%6d KiB hwm=%6d anon=%6d threads=%3d fds=%3d requests=%d%s" % (
                    row[0], row[1], row[2], row[3], row[5], row[6], row[7],
                    " malloc in use=%s KiB held=%s KiB" % heap if heap[0] != "" else ""))
                load.stop.wait(10)
        load.stop.set()
        for t in threads:
            t.join(timeout=180)
        if load.errors:
            raise Failure("load failed: " + load.errors[0])
        fifth = max(1, len(samples) // 5)
        early = median([s[1] for s in samples[fifth:2 * fifth]])
        late = median([s[1] for s in samples[-fifth:]])
        log(f"median RSS, second fifth: {early} KiB; last fifth: {late} KiB; growth {late - early} KiB over "
            f"{samples[-1][7] - samples[fifth][7]} requests; threads {samples[0][5]}→{samples[-1][5]}, "
            f"fds {samples[0][6]}→{samples[-1][6]}")


if __name__ == "__main__":
    main()
