#!/usr/bin/python3
"""Callgrind instructions per HTTP download request, for comparing two builds on a busy machine (instruction counts
do not depend on what else runs, unlike requests/s or CPU time):

    python3 bench/callgrind_request.py .build/release/imagegate [N=2000]

One `imagegate serve` under callgrind (http.loops = 1, access log off), one 64 MiB image, one keep-alive connection
asking 64 KiB unaligned random ranges (fixed seed, so both builds see the same offsets). Counters are zeroed after
200 warm-up requests and dumped after N more: user-space instructions of every server thread divided by N
(`sendfile` itself runs in the kernel and is not counted). Background threads (health checks, the loops' once-a-second
tick) add a little per second of run time, so differences under about 1 % are noise.

Valgrind 3.19 (Debian 12) gives up on the DWARF 5 debug information of a release build ("Possibly corrupted
debuginfo file"), so the server runs from a copy without it (`strip --strip-debug`; symbols stay, so
callgrind_annotate still names functions). The server is stopped whatever happens (a failed start under a
loaded machine left valgrind running before)."""
import atexit
import glob
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
OS_ARGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
           "--boot-mode", "BIOS"]
tmp = tempfile.mkdtemp(prefix="blobs-cg-")
data = tmp + "/data"
conf = tmp + "/c.conf"
open(conf, "w").write("http.loops = 1\nhttp.max_requests_per_connection = 100000\nlog.access = off\nftp.listen = off\nmetrics.listen = off\nlog.level = error\n")
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
    m = re.search(r"^http: listening on http://127\.0\.0\.1:(\d+)$", open(out).read(), re.M)
    if m:
        port = int(m.group(1))
        break
    time.sleep(0.5)
assert port, open(out).read()
link = json.loads(subprocess.run([BIN, "link", "mint", img["id"], "--json"] + common, capture_output=True, text=True,
                                 check=True).stdout)["http"]
path = "/" + link.split("//", 1)[1].split("/", 1)[1]
size = img["size"]
rng = random.Random(17)
s = socket.create_connection(("127.0.0.1", port))
buf = b""
def one():
    global buf
    start = rng.randrange(0, size - 65536)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nRange: bytes={start}-{start + 65535}\r\n\r\n".encode())
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(1 << 20)
        assert chunk, "connection closed"
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 206"), head
    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(buf) < n:
        chunk = s.recv(1 << 20)
        assert chunk, "connection closed"
        buf += chunk
    buf = buf[n:]
for _ in range(200):
    one()
subprocess.run(["callgrind_control", "-z", str(p.pid)], check=True, capture_output=True)
for _ in range(N):
    one()
subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True, capture_output=True)
s.close()
p.terminate(); p.wait()
dumps = sorted(glob.glob(tmp + "/cg.*.1"))  # the dump taken after zeroing
total = sum(int(line.split()[1]) for d in dumps for line in open(d) if line.startswith("summary:"))
shutil.rmtree(tmp, ignore_errors=True)
print(f"{BIN}: {N} requests, {total} Ir after zeroing, {total / N:.0f} Ir/request (dumps {len(dumps)})")
