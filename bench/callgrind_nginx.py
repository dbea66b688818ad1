#!/usr/bin/python3
"""The nginx side of bench/callgrind_request.py: user-space instructions per request of nginx serving the same
requests, as the target the ImageGate counts are read against (same config as bench/hotpath.py: sendfile on,
tcp_nodelay, no open_file_cache, access log off; one process here, `master_process off`, so callgrind sees it all):

    python3 bench/callgrind_nginx.py [N=2000] [--span BYTES] [--bad] [--plain] [--conns C] [--tls] [--keep DIR]

--plain asks /plain/ (no check), otherwise /d/ with an MD5 secure_link; --bad sends a wrong md5 (403).
--conns C and --tls as in callgrind_request.py: C keep-alive connections, each round of requests sent on all of
them before any answer is read; HTTPS with `ssl_protocols TLSv1.3` and the certificate of Certs/generate-dev-certs.sh
(bench/hotpath.py's TLS listener). --keep DIR keeps the callgrind dumps there.
Counters are zeroed after 200 warm-up requests and dumped after N more, as in callgrind_request.py."""
import argparse
import atexit
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import ROOT, callgrind_range_requests, client_sockets  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("n", nargs="?", type=int, default=2000)
ap.add_argument("--span", type=int, default=65536)
ap.add_argument("--bad", action="store_true")
ap.add_argument("--plain", action="store_true")
ap.add_argument("--conns", type=int, default=1)
ap.add_argument("--tls", action="store_true")
ap.add_argument("--keep")
args = ap.parse_args()
N, SPAN = args.n, args.span
SECRET = "imagegate-bench-secret"
tmp = tempfile.mkdtemp(prefix="nginx-cg-")
os.makedirs(tmp + "/blobs")
os.makedirs(tmp + "/t")
size = 64 << 20
with open(tmp + "/blobs/img", "wb") as f:
    f.write(os.urandom(size))
s0 = socket.socket()
s0.bind(("127.0.0.1", 0))
port = s0.getsockname()[1]
s0.close()
user = "user root;" if os.geteuid() == 0 else ""
certs = tmp + "/certs"
subprocess.run(["bash", ROOT + "/Certs/generate-dev-certs.sh", certs], stdout=subprocess.DEVNULL, check=True)
listen = f"listen 127.0.0.1:{port}" + (f""" ssl;
        ssl_certificate {certs}/server.crt;
        ssl_certificate_key {certs}/server.key;
        ssl_protocols TLSv1.3""" if args.tls else "")
open(tmp + "/nginx.conf", "w").write(f"""
{user}
worker_processes 1;
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush off;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 30s;
    default_type application/octet-stream;
    client_body_temp_path {tmp}/t/body;
    proxy_temp_path {tmp}/t/proxy;
    fastcgi_temp_path {tmp}/t/fastcgi;
    uwsgi_temp_path {tmp}/t/uwsgi;
    scgi_temp_path {tmp}/t/scgi;
    server {{
        {listen};
        location /d/ {{
            secure_link $arg_md5,$arg_expires;
            secure_link_md5 "$secure_link_expires$uri {SECRET}";
            if ($secure_link = "") {{ return 403; }}
            if ($secure_link = "0") {{ return 410; }}
            alias {tmp}/blobs/;
        }}
        location /plain/ {{ alias {tmp}/blobs/; }}
    }}
}}
""")
p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.%p", "nginx", "-p", tmp,
                      "-e", tmp + "/error.log", "-c", tmp + "/nginx.conf"],
                     stdout=open(tmp + "/out", "w"), stderr=subprocess.STDOUT)
atexit.register(lambda: p.poll() is None and (p.kill(), p.wait()))
expires = int(time.time()) + 7200
md5 = base64.urlsafe_b64encode(hashlib.md5(f"{expires}/d/img {SECRET}".encode()).digest()).decode().rstrip("=")
if args.bad:
    md5 = "AAAA" + md5[4:]
path = "/plain/img" if args.plain else f"/d/img?md5={md5}&expires={expires}"
socks = client_sockets(port, args.conns, tls=args.tls)
cipher = socks[0].cipher()[0] if args.tls else None
ok = b"HTTP/1.1 403" if args.bad else b"HTTP/1.1 206"
dumps, total, N = callgrind_range_requests(p, socks, path, port, size, SPAN, ok, N, tmp + "/cg.*.1")
if args.keep:
    os.makedirs(args.keep, exist_ok=True)
    for d in dumps:
        shutil.copy(d, args.keep)
shutil.rmtree(tmp, ignore_errors=True)
case = (f"{'plain' if args.plain else 'secure_link'}{', bad md5' if args.bad else ''}, {SPAN}-byte ranges, "
        f"{args.conns} connection{'s' if args.conns > 1 else ''}{', TLS ' + cipher if args.tls else ''}")
print(f"nginx ({case}): {N} requests, {total} Ir after zeroing, {total / N:.0f} Ir/request (dumps {len(dumps)})")
