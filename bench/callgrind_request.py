#!/usr/bin/python3
"""Callgrind instructions per HTTP download request, for comparing two builds on a busy machine (instruction counts
do not depend on what else runs, unlike requests/s or CPU time):

    python3 bench/callgrind_request.py .build/release/imagegate [N=2000] [--span BYTES] [--bad | --forged]
        [--conns C] [--tls] [--keep DIR]

One `imagegate serve` under callgrind (http.loops = 1, access log off), one 64 MiB image, one keep-alive connection
asking unaligned random ranges of --span bytes (default 65536; fixed seed, so both builds see the same offsets),
with the link's token, or with --bad the token the hot path benchmark's bad-token row sends (bench/hotpath.py: one
character added, so every answer is the 404), or with --forged a well-formed token whose MAC does not verify
(the 404 after the HMAC check). Requests are written as wrk writes them (Host, then Range). --conns C opens C
keep-alive connections instead of one and sends each round of requests on all of them before reading any answer
(the many-connections case of wrk -c256: the loop finds many ready sockets per wake-up); --tls asks over HTTPS
(TLS 1.3, the certificate of Certs/generate-dev-certs.sh; handshakes happen before the counters are zeroed, so only
keep-alive requests count).
bench/callgrind_nginx.py takes the same options, so both servers are counted the same way.
Counters are zeroed after 200 warm-up requests and dumped after N more: user-space instructions of every server
thread divided by N (`sendfile` itself runs in the kernel and is not counted), and calls to malloc per request.
Background threads (health checks, the loops' once-a-second tick) add a little per second of run time, so
differences under about 1 % are noise; the last number printed, the event loop thread without the once-a-second
re-verification of the cached link, leaves those out and is the one to compare between builds. --keep DIR keeps the
callgrind dumps there (for `callgrind_annotate --inclusive=yes DIR/cg.<pid>.1`).

Valgrind 3.19 (Debian 12) gives up on the DWARF 5 debug information of a release build ("Possibly corrupted
debuginfo file"), so the server runs from a copy without it (`strip --strip-debug`; symbols stay, so
callgrind_annotate still names functions). The server is stopped whatever happens (a failed start under a
loaded machine left valgrind running before)."""
import argparse
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, callgrind_range_requests, client_sockets  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("bin")
ap.add_argument("n", nargs="?", type=int, default=2000)
ap.add_argument("--span", type=int, default=65536)
ap.add_argument("--bad", action="store_true")
ap.add_argument("--forged", action="store_true")
ap.add_argument("--conns", type=int, default=1)
ap.add_argument("--tls", action="store_true")
ap.add_argument("--keep")
args = ap.parse_args()
BIN, N, SPAN = args.bin, args.n, args.span
OS_ARGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
           "--boot-mode", "BIOS"]
tmp = tempfile.mkdtemp(prefix="blobs-cg-")
data = tmp + "/data"
conf = tmp + "/c.conf"
certs = tmp + "/certs"
subprocess.run(["bash", ROOT + "/Certs/generate-dev-certs.sh", certs], stdout=subprocess.DEVNULL, check=True)
open(conf, "w").write("http.loops = 1\nhttp.max_requests_per_connection = 100000\n"
                      "http.max_connections_per_peer = 1000\nlog.access = off\nftp.listen = off\n"
                      f"metrics.listen = off\nlog.level = error\ntls.certificate = {certs}/server.crt\n"
                      f"tls.private_key = {certs}/server.key\n")
src = tmp + "/img.raw"
with open(src, "wb") as f:
    f.write(os.urandom(64 << 20))
common = ["--config", conf, "--data-dir", data]
img = json.loads(subprocess.run([BIN, "image", "import", "--file", src, "--name", "cg"] + OS_ARGS + common + ["--json"],
                                capture_output=True, text=True, check=True).stdout)
os.remove(src)
out = tmp + "/cg.out"
served = tmp + "/imagegate"
subprocess.run(["strip", "--strip-debug", "-o", served, BIN], check=True)
p = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + tmp + "/cg.%p", served, "serve",
                      "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--sftp", "127.0.0.1:0"] + common,
                     stdout=open(out, "w"), stderr=subprocess.STDOUT)
port = None
atexit.register(lambda: p.poll() is None and (p.kill(), p.wait()))
for _ in range(1200):
    scheme = "https" if args.tls else "http"
    m = re.search(rf"^{scheme}: listening on {scheme}://127\.0\.0\.1:(\d+)$", open(out).read(), re.M)
    if m:
        port = int(m.group(1))
        break
    time.sleep(0.5)
assert port, open(out).read()
link = json.loads(subprocess.run([BIN, "link", "mint", img["id"], "--json"] + common, capture_output=True, text=True,
                                 check=True).stdout)["https" if args.tls else "http"]
path = "/" + link.split("//", 1)[1].split("/", 1)[1]
if args.bad:
    path = path.rsplit("/", 1)[0] + "x/" + path.rsplit("/", 1)[1]
if args.forged:
    # Well-formed, right length, wrong MAC: the first character of the tag changed (refused at the MAC check).
    _, d, token, name = path.split("/")
    head, tag = token.rsplit(".", 1)
    path = f"/{d}/{head}.{'B' if tag[0] != 'B' else 'C'}{tag[1:]}/{name}"
size = img["size"]
socks = client_sockets(port, args.conns, tls=args.tls)
cipher = socks[0].cipher()[0] if args.tls else None
ok = b"HTTP/1.1 404" if args.bad or args.forged else b"HTTP/1.1 206"
dumps, total, N = callgrind_range_requests(p, socks, path, port, size, SPAN, ok, N, tmp + "/cg.*.1")
mallocs = 0
for d in dumps:
    # calls=<count> lines follow a cfn= line naming the callee; count every call into malloc.
    callee = None
    names = {}
    for line in open(d):
        m = re.match(r"(c?)fn=\((\d+)\)(?: (.*))?", line)
        if m:
            if m.group(3):
                names[m.group(2)] = m.group(3).strip()
            if m.group(1):
                callee = names.get(m.group(2))
            continue
        if line.startswith("calls=") and callee == "malloc":
            mallocs += int(line.split("=")[1].split()[0])
# The whole process also counts background threads (health checks, import pickup) and the loop's once-a-second
# re-verification of the cached link (DownloadAuthorizer.verify): all of it grows with the run's wall time, which
# valgrind stretches by however busy the machine is. The loop thread without the re-verification is the part
# that is per request only, the number to compare between builds.
annotated = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100"] + dumps,
                           capture_output=True, text=True).stdout


def inclusive(pattern):
    for line in annotated.splitlines():
        if re.search(pattern, line):
            return int(line.split()[0].replace(",", ""))
    return 0


loop = inclusive(r"HTTPServer9EventLoopC3runyyF ")
reverify = inclusive(r"DownloadAuthorizerV6verify")
if args.keep:
    os.makedirs(args.keep, exist_ok=True)
    for d in dumps:
        shutil.copy(d, args.keep)
shutil.rmtree(tmp, ignore_errors=True)
case = (f"{'bad token' if args.bad else 'forged token' if args.forged else 'valid token'}, {SPAN}-byte ranges, "
        f"{args.conns} connection{'s' if args.conns > 1 else ''}{', TLS ' + cipher if args.tls else ''}")
print(f"{BIN} ({case}): {N} requests, {total} Ir after zeroing, {total / N:.0f} Ir/request, "
      f"{mallocs / N:.1f} malloc calls/request (dumps {len(dumps)}); event loop {loop / N:.0f} Ir/request, "
      f"{(loop - reverify) / N:.0f} without the once-a-second re-verification")
