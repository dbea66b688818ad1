"""URL imports against real servers on loopback (allow-listed for these tests only): nginx over http and
https (dev CA), a redirect chain, a source killed mid-transfer and restarted, pyftpdlib with a user and
password; and SSRF attempts refused before any byte is fetched when nothing is allow-listed."""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import Server, free_port, run, sha256_file
from test_imports import API, MiB, random_file

CERTS = os.path.join(os.path.dirname(__file__), "..", "..", "Certs", "generate-dev-certs.sh")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    def __init__(self, root, tmp, ca_dir):
        self.root, self.tmp = root, tmp
        self.port, self.tls_port = free_port(), free_port()
        # The test data lives in a 0700 temp dir: the workers must run as the test's own user.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
daemon off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/error.log;
events {{ worker_connections 64; }}
http {{
  log_format ranges '$status $http_range $uri';
  access_log {tmp}/access.log ranges; client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
  uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  server {{
    listen 127.0.0.1:{self.port}; listen 127.0.0.1:{self.tls_port} ssl;
    ssl_certificate {ca_dir}/server.crt; ssl_certificate_key {ca_dir}/server.key;
    root {root};
    location /slow/ {{ alias {root}/; limit_rate 4m; }}
    location = /r1 {{ return 302 /r2; }}
    location = /r2 {{ return 301 /r3; }}
    location = /r3 {{ return 307 /disk.raw; }}
    location = /to-metadata {{ return 302 http://169.254.169.254/latest/meta-data/; }}
    location = /to-private {{ return 302 http://10.0.0.5/disk.raw; }}
  }}
}}"""
        self.conf = os.path.join(tmp, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        # Own process group: a SIGKILL must take the workers down with the master, or they would go on
        # serving the transfer the test means to cut.
        self.proc = subprocess.Popen([NGINX, "-p", self.tmp, "-c", self.conf], stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.send_signal(sig)
            self.proc.wait(timeout=10)
        # Wait until the port is free again (workers gone).
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                time.sleep(0.05)
            except OSError:
                return


@pytest.fixture(scope="module")
def sources(workdir):
    base = os.path.join(workdir, "url-sources")
    os.makedirs(base, exist_ok=True)
    ca = os.path.join(base, "ca")
    assert run(["bash", CERTS, ca]).returncode == 0
    root = os.path.join(base, "www")
    os.makedirs(root, exist_ok=True)
    digest = random_file(os.path.join(root, "disk.raw"), 24 * MiB + 7)
    tmp = os.path.join(base, "nginx")
    os.makedirs(tmp, exist_ok=True)
    ng = Nginx(root, tmp, ca).start()
    yield {"nginx": ng, "ca": ca, "root": root, "digest": digest}
    ng.stop()


@pytest.fixture(scope="module")
def importer(workdir, sources):
    conf = f"imports.allow_private = 127.0.0.0/8\nimports.ca_file = {sources['ca']}/ca.crt\n"
    s = Server(os.path.join(workdir, "data-url"), conf).start()
    yield API(s)
    s.stop()


def start_url_import(api, url, name, **fields):
    body = {"name": name, "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "Ubuntu",
            "os_version": "20.04", "architecture": "x86_64", "boot_mode": "UEFI", "source": {"url": url}}
    body.update(fields)
    status, _, js, payload = api.call("POST", "/api/v1/imports", body)
    assert status == 201, payload
    assert js["status"] == "uploading"
    return js


def test_http_https_and_redirect_chain(importer, sources):
    ng = sources["nginx"]
    for url in (f"http://127.0.0.1:{ng.port}/disk.raw", f"https://localhost:{ng.tls_port}/disk.raw",
                f"http://127.0.0.1:{ng.port}/r1"):
        img = start_url_import(importer, url, "from " + url.split(":")[0])
        done = importer.wait_status(img["id"], {"available", "failed"}, timeout=120)
        assert done["status"] == "available", done["failure_reason"]
        assert done["sha256"] == sources["digest"] and done["size"] == 24 * MiB + 7


@pytest.mark.slow
def test_source_killed_mid_transfer_is_resumed(importer, sources):
    ng = sources["nginx"]
    img = start_url_import(importer, f"http://127.0.0.1:{ng.port}/slow/disk.raw", "resumed",
                           sha256=sources["digest"])
    deadline = time.time() + 30
    while time.time() < deadline:
        p = importer.image(img["id"]).get("progress") or {}
        if p.get("bytes", 0) > 4 * MiB:
            break
        time.sleep(0.1)
    ng.stop(signal.SIGKILL)  # the source dies mid-transfer, workers included
    cut_at = (importer.image(img["id"]).get("progress") or {}).get("bytes", 0)
    assert cut_at < 24 * MiB
    time.sleep(0.3)
    ng.start()
    done = importer.wait_status(img["id"], {"available", "failed"}, timeout=120)
    assert done["status"] == "available", done["failure_reason"]
    assert done["sha256"] == sources["digest"]
    # The fetcher resumed with a Range request rather than starting over.
    with open(os.path.join(ng.tmp, "access.log")) as f:
        ranged = [l for l in f if l.startswith("206 bytes=") and "/slow/disk.raw" in l]
    assert ranged, "no resumed (206 Range) request reached the source"


def test_cancel_mid_import(importer, sources):
    ng = sources["nginx"]
    img = start_url_import(importer, f"http://127.0.0.1:{ng.port}/slow/disk.raw", "to cancel")
    time.sleep(1.0)
    status, _, js, _ = importer.call("POST", f"/api/v1/images/{img['id']}/cancel")
    assert status == 200 and js["status"] == "failed" and js["failure_reason"] == "cancelled"
    time.sleep(1.0)
    staging = os.path.join(importer.server.data_dir, "staging")
    assert not any(n.startswith(img["id"]) for n in os.listdir(staging))
    assert importer.image(img["id"])["status"] == "failed"


def test_wrong_sha256_and_oversize(importer, sources, workdir):
    ng = sources["nginx"]
    img = start_url_import(importer, f"http://127.0.0.1:{ng.port}/disk.raw", "bad sum", sha256="f" * 64)
    done = importer.wait_status(img["id"], {"available", "failed"}, timeout=60)
    assert done["status"] == "failed" and "sha256 mismatch" in done["failure_reason"]
    assert not os.path.exists(os.path.join(importer.server.data_dir, "blobs", img["id"]))


def test_ftp_with_user_and_password(importer, sources, tmp_path):
    port = free_port()
    ftpd = subprocess.Popen(["/usr/bin/python3", "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(port),
                             "-u", "imguser", "-P", "s3cret-pw", "-d", sources["root"]],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"ftp://imguser:s3cret-pw@127.0.0.1:{port}/disk.raw"
        img = start_url_import(importer, url, "over ftp")
        done = importer.wait_status(img["id"], {"available", "failed"}, timeout=120)
        assert done["status"] == "available", done["failure_reason"]
        assert done["sha256"] == sources["digest"]
        # The password is in no catalog row, audit record or log line.
        status, _, events, _ = importer.call("GET", "/api/v1/audit?limit=1000")
        text = json.dumps(events)
        assert "s3cret-pw" not in text and "imguser:***@" in text
        for root, _, files in os.walk(importer.server.data_dir):
            for name in files:
                if name.endswith((".sqlite3", ".sqlite3-wal", ".log")):
                    with open(os.path.join(root, name), "rb") as f:
                        assert b"s3cret-pw" not in f.read(), name
    finally:
        ftpd.kill()
        ftpd.wait()


@pytest.fixture(scope="module")
def strict(workdir):
    s = Server(os.path.join(workdir, "data-url-strict")).start()
    yield API(s)
    s.stop()


@pytest.mark.parametrize("url,word", [
    ("http://169.254.169.254/latest/meta-data/", "not allowed"),
    ("http://127.0.0.1:{port}/disk.raw", "not allowed"),
    ("http://2130706433:{port}/disk.raw", "not allowed"),
    ("http://0177.0.0.1:{port}/disk.raw", "not allowed"),
    ("http://[::1]:{port}/disk.raw", "not allowed"),
    ("http://[::ffff:10.0.0.1]/x", "not allowed"),
    ("http://[fd00:ec2::254]/x", "not allowed"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://127.0.0.1/x", "scheme"),
    ("dict://127.0.0.1:11211/stat", "scheme"),
    ("http://user:pw@example.com/x", "user"),
])
def test_ssrf_refused_before_any_byte(strict, sources, url, word):
    # A trap listener: nothing may connect to it.
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(8)
    trap.setblocking(False)
    port = trap.getsockname()[1]
    try:
        if word in ("scheme", "user"):
            # Wrong without any network lookup: refused when requested (400), and no image is created.
            body = {"name": "ssrf", "kind": "self_made", "format": "raw", "system_type": "Linux",
                    "platform": "Ubuntu", "os_version": "20.04", "architecture": "x86_64", "boot_mode": "UEFI",
                    "source": {"url": url.format(port=port)}}
            status, _, js, payload = strict.call("POST", "/api/v1/imports", body)
            assert status == 400 and word in js["error"]["message"].lower(), payload
        else:
            img = start_url_import(strict, url.format(port=port), "ssrf")
            done = strict.wait_status(img["id"], {"available", "failed"}, timeout=30)
            assert done["status"] == "failed", done
            assert word.lower() in done["failure_reason"].lower(), done["failure_reason"]
        with pytest.raises(BlockingIOError):
            trap.accept()
    finally:
        trap.close()


def test_redirect_to_private_or_metadata_refused(strict, workdir, sources):
    # The source itself must be reachable, so this server allow-lists exactly the nginx address (127.0.0.1/32);
    # the hops to 10.0.0.5 and 169.254.169.254 stay refused.
    s = Server(os.path.join(workdir, "data-url-redirect"), "imports.allow_private = 127.0.0.1/32\n").start()
    try:
        api = API(s)
        ng = sources["nginx"]
        for path in ("/to-private", "/to-metadata"):
            img = start_url_import(api, f"http://127.0.0.1:{ng.port}{path}", "redirected")
            done = api.wait_status(img["id"], {"available", "failed"}, timeout=30)
            assert done["status"] == "failed" and "not allowed" in done["failure_reason"].lower(), done
    finally:
        s.stop()


@pytest.mark.slow
def test_server_killed_mid_url_import_resumes_after_restart(workdir, sources):
    conf = f"imports.allow_private = 127.0.0.0/8\n"
    s = Server(os.path.join(workdir, "data-url-crash"), conf).start()
    try:
        api = API(s)
        ng = sources["nginx"]
        img = start_url_import(api, f"http://127.0.0.1:{ng.port}/slow/disk.raw", "crash mid import",
                               sha256=sources["digest"])
        deadline = time.time() + 30
        while time.time() < deadline:
            p = api.image(img["id"]).get("progress") or {}
            if p.get("bytes", 0) > 4 * MiB:
                break
            time.sleep(0.1)
        s.stop(signal.SIGKILL)  # the importer dies with its staging file half written
        with open(os.path.join(ng.tmp, "access.log")) as f:
            seen = len(f.readlines())
        staged = [n for n in os.listdir(os.path.join(s.data_dir, "staging")) if n.startswith(img["id"])]
        assert staged, "the partial bytes should survive the crash for the resume"
        s.start()
        api = API(s)
        done = api.wait_status(img["id"], {"available", "failed"}, timeout=120)
        assert done["status"] == "available", done["failure_reason"]
        assert done["sha256"] == sources["digest"]
        with open(os.path.join(ng.tmp, "access.log")) as f:
            after = f.readlines()[seen:]
        assert any(l.startswith("206 bytes=") for l in after), "the restarted import should resume with Range"
    finally:
        s.stop()
