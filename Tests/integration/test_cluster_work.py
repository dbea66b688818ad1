"""Work claimed once by several `imagegate serve` nodes on one catalog (Docs/imports.md, "Who owns an import").

The nodes share a `sqlite:///` catalog file (several processes on one host, the stand-in for PostgreSQL) and,
through symbolic links from each node's data directory, one blob directory, one staging directory and one keys
directory: what a shared blob store (`blobs.url`) and identity kept in the catalog give a real cluster. Each node
has its own `node.id`, ports and data directory (run file, logs, TLS certificate)."""
import ftplib
import hashlib
import http.server
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import BIN, OS_ARGS, Server, free_port, run, sha256_file
from test_imports import API, MiB, random_file

HAPROXY_SH = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "haproxy.sh")


class Source:
    """An HTTP source on loopback serving one file, with Range, at `rate` bytes per second; it counts the GET
    requests per path, their start offsets, and how many transfers ran at once at most."""

    def __init__(self, path, rate=None):
        self.path, self.rate = path, rate
        self.size = os.path.getsize(path)
        self.requests = []  # (url path, start offset, arrival time)
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                start = 0
                m = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
                if m:
                    start = int(m.group(1))
                with source.lock:
                    source.requests.append((self.path, start, time.time()))
                    source.active += 1
                    source.max_active = max(source.max_active, source.active)
                try:
                    self.send_response(206 if m else 200)
                    self.send_header("Content-Length", str(source.size - start))
                    self.send_header("ETag", '"fixed"')
                    self.send_header("Accept-Ranges", "bytes")
                    if m:
                        self.send_header("Content-Range", f"bytes {start}-{source.size - 1}/{source.size}")
                    self.end_headers()
                    with open(source.path, "rb") as f:
                        f.seek(start)
                        chunk = 64 * 1024
                        while True:
                            b = f.read(chunk)
                            if not b:
                                break
                            self.wfile.write(b)
                            if source.rate:
                                time.sleep(len(b) / source.rate)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with source.lock:
                        source.active -= 1

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def gets(self, name):
        with self.lock:
            return [off for p, off, _ in self.requests if p == "/" + name]

    def arrivals(self, name):
        with self.lock:
            return [t for p, _, t in self.requests if p == "/" + name]

    def close(self):
        self.httpd.shutdown()


class Cluster:
    """`count` nodes on one shared catalog, blob, staging and keys directory (see the module's docstring)."""

    def __init__(self, base, count, extra=""):
        self.base = base
        self.catalog = os.path.join(base, "catalog.sqlite3")
        shared = os.path.join(base, "shared")
        for d in ("blobs", "staging"):
            os.makedirs(os.path.join(shared, d))
        self.nodes = []
        for i in range(count):
            d = os.path.join(base, f"n{i + 1}")
            os.makedirs(d)
            for sub in ("blobs", "staging"):
                os.symlink(os.path.join(shared, sub), os.path.join(d, sub))
            if i > 0:
                os.symlink(os.path.join(base, "n1", "keys"), os.path.join(d, "keys"))
            conf = (f"catalog.url = sqlite://{self.catalog}\nnode.id = node{i + 1}\n"
                    f"imports.allow_private = 127.0.0.0/8\n" + extra)
            self.nodes.append(Server(d, conf))

    def start(self):
        for n in self.nodes:  # the first creates the keys the others share
            n.start()
        return self

    def stop(self):
        for n in self.nodes:
            n.stop()

    def db(self):
        return sqlite3.connect(self.catalog, timeout=30)

    def lease_holders(self, image_id):
        with self.db() as c:
            return [r[0] for r in c.execute("SELECT node FROM import_leases WHERE image_id = ?", (image_id,))]

    def log(self, node):
        """Everything a node wrote to standard error so far (it has stopped)."""
        return node.proc.stderr.read() if node.proc else ""


def start_url_import(api, url, name, **fields):
    body = {"name": name, "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS", "source": {"url": url}}
    body.update(fields)
    status, _, js, payload = api.call("POST", "/api/v1/imports", body)
    assert status == 201, payload
    return js


@pytest.mark.slow
def test_sigkill_mid_url_import_another_node_resumes_it(workdir):
    base = os.path.join(workdir, "cluster-sigkill")
    os.makedirs(base)
    digest = random_file(os.path.join(base, "disk.raw"), 24 * MiB + 5)
    src = Source(os.path.join(base, "disk.raw"), rate=2 * MiB)
    cluster = Cluster(base, 3).start()
    n1, n2, n3 = cluster.nodes
    try:
        img = start_url_import(API(n1), src.url("disk.raw"), "killed mid import", sha256=digest)
        deadline = time.time() + 60
        while time.time() < deadline and (API(n1).image(img["id"]).get("progress") or {}).get("bytes", 0) < 4 * MiB:
            time.sleep(0.1)
        assert cluster.lease_holders(img["id"]) == ["node1"], "the node that created the import fetches it"
        n1.stop(signal.SIGKILL)
        killed_at = time.time()
        # Until the lease expires (30 s after node1's last heartbeat) nobody else touches the import.
        holders = set()
        api2 = API(n2)
        while True:
            done = api2.image(img["id"])
            holders.update(cluster.lease_holders(img["id"]))
            if done["status"] != "uploading" or time.time() - killed_at > 90:
                break
            time.sleep(0.2)
        assert done["status"] == "available", done.get("failure_reason")
        assert done["sha256"] == digest
        # Another node took the import over within 60 s of the kill (its lease expired after 30 s).
        assert 0 < src.arrivals("disk.raw")[1] - killed_at < 60
        # Resumed from the persisted offset (a ranged request), by exactly one of the two other nodes.
        offsets = src.gets("disk.raw")
        assert offsets[0] == 0 and len(offsets) == 2 and offsets[1] > 0, offsets
        assert src.max_active == 1, "two nodes fetched the import at once"
        assert holders <= {"node1", "node2", "node3"} and len(holders - {"node1"}) == 1, holders
        n2.stop()
        n3.stop()
        picked = [n for n in (n2, n3) if f"import {img['id']}: fetch picked up" in cluster.log(n)]
        assert len(picked) == 1
    finally:
        cluster.stop()
        src.close()


def test_url_imports_are_fetched_by_exactly_one_node(workdir):
    base = os.path.join(workdir, "cluster-once")
    os.makedirs(base)
    digest = random_file(os.path.join(base, "disk.raw"), 3 * MiB + 1)
    src = Source(os.path.join(base, "disk.raw"))
    cluster = Cluster(base, 2).start()
    n1, n2 = cluster.nodes
    try:
        ids = []
        for i in range(6):
            # Recorded unclaimed (--no-wait, shared catalog): both nodes race for every one of them.
            r = n1.cli("image", "import", "--url", src.url("disk.raw") + f"?copy={i}", "--name", f"once {i}",
                       "--format", "raw", "--no-wait", "--json", *OS_ARGS)
            ids.append(json.loads(r.stdout)["id"])
            assert "a server node of the catalog fetches" in r.stderr
        for image_id in ids:
            done = API(n2).wait_status(image_id, {"available", "failed"}, timeout=60)
            assert done["status"] == "available" and done["sha256"] == digest, done
        for i in range(6):
            assert len(src.gets(f"disk.raw?copy={i}")) == 1, src.requests
    finally:
        cluster.stop()
        src.close()
    logs = [cluster.log(n) for n in (n1, n2)]
    for image_id in ids:
        assert sum(f"import {image_id}: fetch picked up" in log for log in logs) == 1


def test_cli_url_import_with_a_shared_catalog_records_and_waits(workdir):
    base = os.path.join(workdir, "cluster-cli")
    os.makedirs(base)
    digest = random_file(os.path.join(base, "disk.raw"), 6 * MiB + 3)
    src = Source(os.path.join(base, "disk.raw"), rate=4 * MiB)
    cluster = Cluster(base, 2).start()
    try:
        # An admin host: its own data directory (keys shared like the nodes'), no server running there.
        admin = os.path.join(base, "admin")
        os.makedirs(admin)
        os.symlink(os.path.join(base, "n1", "keys"), os.path.join(admin, "keys"))
        r = run([BIN, "image", "import", "--url", src.url("disk.raw"), "--name", "from the cli", "--format", "raw",
                 "--sha256", digest, *OS_ARGS, "--json", "--data-dir", admin,
                 "--catalog", f"sqlite://{cluster.catalog}"])
        assert r.returncode == 0, r.stderr
        img = json.loads(r.stdout)
        assert img["status"] == "available" and img["sha256"] == digest
        assert re.search(r"waiting for img-\w+ \(uploading", r.stderr), r.stderr
        assert not os.path.exists(os.path.join(admin, "staging")), "the CLI fetched by itself"
        assert len(src.gets("disk.raw")) == 1
    finally:
        cluster.stop()
        src.close()
    logs = [cluster.log(n) for n in cluster.nodes]
    assert sum(f"import {img['id']}: fetch picked up" in log for log in logs) == 1


def test_tus_patches_through_different_nodes(workdir):
    base = os.path.join(workdir, "cluster-tus")
    os.makedirs(base)
    cluster = Cluster(base, 3, "imports.upload_ttl = 1h\n").start()
    try:
        apis = [API(n) for n in cluster.nodes]
        data = os.urandom(3 * MiB + 11)
        up = apis[0].create_upload("no sticky sessions", len(data))
        path, offset = up["upload_url"], 0
        for i, (lo, hi) in enumerate([(0, MiB), (MiB, 2 * MiB), (2 * MiB, len(data))]):
            api = apis[(i + 1) % 3]  # node2, node3, node1
            status, h, _, _ = api.tus("HEAD", path)
            assert status == 200 and int(h["upload-offset"]) == lo, (i, h)
            status, h, _, body = api.tus("PATCH", path, offset=lo, body=data[lo:hi])
            assert status == 204 and int(h["upload-offset"]) == hi, (i, status, body)
            if hi < len(data):
                # Between PATCHes nobody holds the upload: the next one may reach any node.
                with cluster.db() as c:
                    (run_id,) = c.execute("SELECT run FROM import_leases WHERE image_id = ?", (up["id"],)).fetchone()
                assert run_id == ""
        done = apis[1].wait_status(up["id"], {"available", "failed"})
        assert done["status"] == "available" and done["sha256"] == hashlib.sha256(data).hexdigest(), done
    finally:
        cluster.stop()


def test_a_tus_patch_is_refused_while_another_node_holds_the_upload(workdir):
    base = os.path.join(workdir, "cluster-tus-held")
    os.makedirs(base)
    cluster = Cluster(base, 2, "imports.upload_ttl = 1h\n").start()
    try:
        a1, a2 = API(cluster.nodes[0]), API(cluster.nodes[1])
        up = a1.create_upload("held", 2 * MiB)
        # node1 is in the middle of a PATCH: its head is sent, its body has not all arrived.
        s = socket.create_connection(("127.0.0.1", cluster.nodes[0].port))
        s.sendall((f"PATCH {up['upload_url']} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {a1.key}\r\n"
                   f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n"
                   f"Content-Length: {2 * MiB}\r\n\r\n").encode() + b"\0" * MiB)
        deadline = time.time() + 10
        while time.time() < deadline:
            with cluster.db() as c:
                (node, run_id) = c.execute("SELECT node, run FROM import_leases WHERE image_id = ?",
                                           (up["id"],)).fetchone()
            if run_id:
                break
            time.sleep(0.05)
        assert node == "node1" and run_id, "node1 holds the upload while its PATCH runs"
        status, _, _, body = a2.tus("PATCH", up["upload_url"], offset=0, body=b"\1" * 1024)
        assert status == 409 and b"node node1" in body, (status, body)
        s.sendall(b"\0" * MiB)
        s.recv(4096)
        s.close()
        done = a2.wait_status(up["id"], {"available", "failed"})
        assert done["status"] == "available"
        assert done["sha256"] == hashlib.sha256(b"\0" * (2 * MiB)).hexdigest()
    finally:
        cluster.stop()


def test_recycle_bin_purge_runs_on_one_node(workdir):
    base = os.path.join(workdir, "cluster-purge")
    os.makedirs(base)
    cluster = Cluster(base, 2, "catalog.recycle_retention = 1s\n")
    n1, n2 = cluster.nodes
    n1.start()
    ids = []
    for i in range(3):
        path = os.path.join(base, f"img{i}.raw")
        random_file(path, 64 * 1024)
        ids.append(n1.import_image(path, f"purge {i}")["id"])
        n1.cli("image", "delete", ids[-1])
    n1.stop()
    time.sleep(1.5)  # the retention ran out while no node was running
    try:
        cluster.start()  # node1 starts first and claims the purge; node2 finds it held
    finally:
        time.sleep(1)
        cluster.stop()
    logs = [cluster.log(n) for n in (n1, n2)]
    assert "recycle-bin-purge: this node (node1) runs it" in logs[0], logs[0]
    assert "recycle bin: destroyed 3 expired image(s)" in logs[0]
    assert "recycle-bin-purge: another node runs it" in logs[1], logs[1]
    assert "recycle bin: destroyed" not in logs[1]
    with cluster.db() as c:
        purges = [r[0] for r in c.execute("SELECT target FROM audit_events WHERE action = 'image.purge'")]
        assert sorted(purges) == sorted(ids)
        assert [r[0] for r in c.execute("SELECT holder FROM task_leases WHERE name = 'recycle-bin-purge'")] == []


def ftp_cluster_node(base, ctl, lo, hi):
    """One node whose FTP front sits behind a TCP balancer on 127.0.0.2 (ftp.public_host)."""
    cluster = Cluster(base, 1, f"ftp.allow_plain = true\nftp.passive_ports = {lo}-{hi}\n"
                               f"ftp.public_host = 127.0.0.2:{ctl}\nsftp.public_host = sftp.example.net:22\n")
    node = cluster.nodes[0].start()
    path = os.path.join(base, "img.raw")
    digest = random_file(path, 2 * MiB + 9)
    img = node.import_image(path, "behind a balancer")
    return cluster, node, img, digest


def test_ftp_227_names_the_public_host_and_links_name_the_balancer(workdir):
    base = os.path.join(workdir, "cluster-ftp")
    os.makedirs(base)
    lo = random.randrange(20000, 30000, 10)
    ctl = free_port()
    cluster, node, img, digest = ftp_cluster_node(base, ctl, lo, lo + 9)
    try:
        urls = node.mint(img["id"])
        assert f"@127.0.0.2:{ctl}/" in urls["ftp"], urls
        assert "@sftp.example.net:22/" in urls["sftp"], urls
        token = urls["ftp"].split(":")[2].split("@")[0]
        # Straight to the node: 227 carries the public address; the listener is bound to the control
        # connection's local address (127.0.0.1), where a client reaching the node directly connects.
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", node.ftp_port, timeout=10)
        ftp.login(img["id"], token)
        reply = ftp.sendcmd("PASV")
        m = re.match(r"227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)", reply)
        assert m and m.group(1, 2, 3, 4) == ("127", "0", "0", "2"), reply
        port = int(m.group(5)) * 256 + int(m.group(6))
        assert lo <= port <= lo + 9
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        assert ftp.sendcmd("EPSV").startswith("229 Entering Extended Passive Mode (|||")
        ftp.close()
    finally:
        cluster.stop()


def test_ftp_through_a_tcp_balancer(workdir):
    base = os.path.join(workdir, "cluster-ftp-haproxy")
    os.makedirs(base)
    lo = random.randrange(30000, 40000, 10)
    ctl = free_port()
    cluster, node, img, digest = ftp_cluster_node(base, ctl, lo, lo + 9)
    hp = os.path.join(base, "haproxy")
    os.makedirs(hp)
    with open(os.path.join(hp, "haproxy.cfg"), "w") as f:
        f.write(f"""global
    maxconn 64
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend ftp_control
    bind 127.0.0.2:{ctl}
    default_backend node1_control
backend node1_control
    server node1 127.0.0.1:{node.ftp_port}
frontend ftp_passive
    bind 127.0.0.2:{lo}-{lo + 9}
    default_backend node1_passive
backend node1_passive
    server node1 127.0.0.1
""")
    r = run(["bash", HAPROXY_SH, "start", hp])
    assert r.returncode == 0, r.stderr
    try:
        urls = node.mint(img["id"])
        for extra in (["--disable-epsv"], []):  # PASV (227 names 127.0.0.2), then EPSV (229: the port only)
            out = os.path.join(base, "out.raw")
            r = run(["curl", "-fsS", *extra, "-o", out, urls["ftp"]])
            assert r.returncode == 0, r.stderr
            assert sha256_file(out) == digest
            os.unlink(out)
    finally:
        run(["bash", HAPROXY_SH, "stop", hp])
        cluster.stop()
