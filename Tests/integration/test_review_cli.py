"""Issue 11 (CLI, API and links as a new user meets them): URL imports created by the CLI and fetched by the
running server, `image watch` that says what it waits for and gives up, schemes refused at request time, plain
refusal messages, start-up output, CLI consistency, the link policy of the running server, and ready download
commands that work for the person who downloads (run here exactly as printed)."""
import ftplib
import functools
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import sqlite3
import ssl
import subprocess
import threading
import time

import pytest

from conftest import BIN, OS_ARGS, Server, run

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


class FileSource:
    """A loopback HTTP server for URL imports (allow-listed through imports.allow_private)."""

    def __init__(self, root):
        handler = functools.partial(_QuietHandler, directory=root)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def stop(self):
        self.httpd.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("url-source")
    data = os.urandom(3 * 1024 * 1024 + 5)
    (root / "disk.raw").write_bytes(data)
    s = FileSource(str(root))
    yield s, data
    s.stop()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    d = tmp_path_factory.mktemp("review-cli")
    s = Server(str(d / "data"), "imports.allow_private = 127.0.0.0/8\n").start()
    yield s
    s.stop()


def api(s, method, path, key, body=None):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    headers = {"Authorization": "Bearer " + key}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, (json.loads(payload) if payload.startswith(b"{") else None)


def bare(*args, data_dir, env=None):
    """The CLI with only --data-dir: no --config, as a person on the server host types it."""
    return run([BIN] + list(args) + ["--data-dir", data_dir], env=env)


def small_image(s, tmp_path, name="review"):
    p = tmp_path / f"{name}-{os.urandom(4).hex()}.img"
    data = os.urandom(4096 + 3)
    p.write_bytes(data)
    return s.import_image(str(p), name), data


# Item 1: a URL import created with --no-wait while the server runs is fetched by the server at once.
def test_no_wait_url_import_is_fetched_by_the_running_server(srv, source):
    s, data = source
    r = srv.cli("image", "import", "--url", s.url("disk.raw"), "--name", "from url", "--format", "raw", "--no-wait", "--json",
                *OS_ARGS)
    rec = json.loads(r.stdout)
    assert rec["status"] == "uploading"
    assert "running server" in r.stderr and "image watch" in r.stderr, r.stderr
    r = srv.cli("image", "watch", rec["id"], "--timeout", "2m", "--json")
    assert "waiting for " + rec["id"] in r.stderr, r.stderr
    done = json.loads(r.stdout)
    assert done["status"] == "available", done
    assert done["sha256"] == hashlib.sha256(data).hexdigest() and done["size"] == len(data)


# Item 1: with nobody to fetch, `image watch` says so and gives up after --timeout with a clear message.
def test_watch_says_what_it_waits_for_and_gives_up(tmp_path, source):
    s, _ = source
    d = str(tmp_path / "data")
    r = bare("image", "import", "--url", s.url("disk.raw"), "--name", "nobody fetches", "--format", "raw", "--no-wait", "--json",
             *OS_ARGS, data_dir=d)
    assert r.returncode == 0, r.stderr
    assert "no server is running" in r.stderr, r.stderr
    image_id = json.loads(r.stdout)["id"]
    r = bare("image", "watch", image_id, "--timeout", "2s", data_dir=d)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "waiting for " + image_id in r.stderr and "no server is running" in r.stderr, r.stderr
    assert "gave up after 2s without progress" in r.stderr and "still uploading" in r.stderr, r.stderr
    assert bare("image", "watch", image_id, "--timeout", "soon", data_dir=d).returncode == 64


# Item 8: schemes that can never be fetched are refused with 400 before any image exists (API and CLI).
def test_unfetchable_schemes_refused_at_request_time(srv):
    key = srv.admin_key
    before = api(srv, "GET", "/api/v1/images?limit=500", key)[1]["total"]
    for url in ("file:///etc/passwd", "sftp://127.0.0.1/disk.raw", "gopher://127.0.0.1/x"):
        body = {"name": "bad scheme", "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"url": url}}
        status, js = api(srv, "POST", "/api/v1/imports", key, body)
        assert status == 400 and "not allowed" in js["error"]["message"], (url, status, js)
        r = srv.cli("image", "import", "--url", url, "--name", "bad scheme", *OS_ARGS, check=False)
        assert r.returncode == 4 and "not allowed" in r.stderr, (url, r.returncode, r.stderr)
    assert api(srv, "GET", "/api/v1/images?limit=500", key)[1]["total"] == before


# Item 13: a failed URL import names its source once.
def test_url_failure_reason_names_the_url_once(srv, source):
    s, _ = source
    url = s.url("missing.raw")
    r = srv.cli("image", "import", "--url", url, "--name", "missing", "--format", "raw", "--json", *OS_ARGS, check=False)
    assert r.returncode == 4, r.stderr
    reason = json.loads(r.stdout)["failure_reason"]
    assert "404" in reason and reason.count(url) == 1, reason


# Item 9: refusals in plain words; a view-only sub-account revokes its own links, not others'.
def test_refusals_in_plain_words_and_viewer_revokes_own_link(srv, tmp_path):
    tenant = srv.cli_json("tenant", "create", "review tenant")["tenant"]["id"]
    viewer = srv.cli_json("account", "create", "--name", "viewer", "--permission", "view", "--tenant", tenant)
    key = srv.cli_json("apikey", "create", "--account", viewer["id"])["secret"]
    p = tmp_path / "tenant.img"
    p.write_bytes(os.urandom(2048))
    img = srv.cli_json("image", "import", "--file", str(p), "--name", "tenant image", "--tenant", tenant, *OS_ARGS)
    status, js = api(srv, "DELETE", f"/api/v1/images/{img['id']}", key)
    assert status == 403 and js["error"]["message"] == "your account (view only) may not delete images", js
    status, own = api(srv, "POST", f"/api/v1/images/{img['id']}/links", key, {})
    assert status in (200, 201), own
    status, js = api(srv, "DELETE", f"/api/v1/links/{own['serial']}", key)
    assert status == 200 and js["revoked"] is True, js
    other = srv.mint(img["id"])
    status, js = api(srv, "DELETE", f"/api/v1/links/{other['serial']}", key)
    assert status == 403 and "may not revoke download links made by others" in js["error"]["message"], js


# Item 10: start-up names the console and the administrator's key file; the README mentions the console.
def test_serve_prints_console_and_admin_key_file(srv):
    lines = "\n".join(srv.lines)
    m = re.search(r"^web console: (https://127\.0\.0\.1:(\d+)/console/)", lines, re.M)
    assert m and int(m.group(2)) == srv.tls_port, lines
    m = re.search(r"^admin API key: (/\S+)$", lines, re.M)
    assert m and os.path.samefile(m.group(1), os.path.join(srv.data_dir, "keys", "admin-api-key")), lines
    five = open(README).read().split("## Five minutes", 1)[1].split("\n## ", 1)[0]
    assert "/console/" in five and "admin-api-key" in five


# Item 11: one rule for the operating system, labelled link output (local and remote), exit codes.
def test_cli_consistency(srv, tmp_path):
    p = tmp_path / "no-os.img"
    p.write_bytes(os.urandom(2048))
    r = srv.cli("image", "import", "--file", str(p), "--name", "no os", check=False)
    assert r.returncode == 64 and "operating system is required" in r.stderr, r.stderr
    env = dict(os.environ, IMAGEGATE_API_KEY=srv.admin_key)
    r = run([BIN, "image", "import", "--file", str(p), "--name", "no os", "--server", srv.base], env=env)
    assert r.returncode == 64 and "operating system is required" in r.stderr, r.stderr

    rec, _ = small_image(srv, tmp_path)
    for r in (srv.cli("link", "mint", rec["id"]),
              run([BIN, "link", "mint", rec["id"], "--server", srv.base], env=env)):
        assert r.returncode == 0, r.stderr
        assert not r.stdout.lstrip().startswith("{"), r.stdout
        labels = dict(re.findall(r"^(HTTPS|HTTP|FTP|SFTP|serial|expires):\s+(\S+)", r.stdout, re.M))
        assert labels["HTTPS"].startswith("https://") and labels["SFTP"].startswith("sftp://"), r.stdout
        assert labels["FTP"].startswith("ftp://") and re.fullmatch(r"[0-9a-f]{32}", labels["serial"]), r.stdout
    r = srv.cli("link", "mint", rec["id"], "--ttl", "30d", check=False)
    assert r.returncode == 4 and "max_ttl" in r.stderr, r.stderr
    for cmd in (["audit", "verify", "extra-arg"], ["key", "list", "extra"], ["image", "watch", rec["id"], "x"]):
        r = srv.cli(*cmd, check=False)
        assert r.returncode == 64 and "unexpected argument" in r.stderr, (cmd, r.returncode, r.stderr)


# Item 22: what a token may do follows the running server's policy, whoever mints it.
def test_link_policy_follows_the_running_server(tmp_path):
    s = Server(str(tmp_path / "data"), "http.plain_links = false\nftp.allow_plain = true\n").start()
    try:
        rec, data = small_image(s, tmp_path)
        r = bare("link", "mint", rec["id"], "--json", data_dir=s.data_dir)  # no --config: CLI defaults differ
        assert r.returncode == 0 and "no server is running" not in r.stderr, r.stderr
        link = json.loads(r.stdout)
        assert "http" not in link, link
        token_path = link["https"].split("/", 3)[3]
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", "/" + token_path)
        assert c.getresponse().status != 200
        m = re.match(r"ftp://([^:]+):([^@]+)@127\.0\.0\.1:(\d+)/(.+)$", link["ftp"])
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", int(m.group(3)), timeout=10)
        ftp.login(m.group(1), m.group(2))  # plain FTP, allowed by this server
        got = bytearray()
        ftp.retrbinary("RETR " + m.group(4), got.extend)
        ftp.quit()
        assert bytes(got) == data
    finally:
        s.stop()
    r = bare("link", "mint", rec["id"], "--json", data_dir=s.data_dir)
    assert r.returncode == 0 and "no server is running" in r.stderr, r.stderr


# Item 4: the certificate is served, and every printed command works as printed, pinning it.
def test_ca_certificate_served_and_printed_commands_work(srv, tmp_path):
    with open(srv.ca_file, "rb") as f:
        pem = f.read()
    digest = hashlib.sha256(pem).hexdigest()
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.request("GET", "/ca.crt")
    assert c.getresponse().read() == pem
    c.request("GET", "/ca.sha256")
    assert c.getresponse().read().decode() == f"{digest}  imagegate-ca.crt\n"
    ctx = ssl.create_default_context(cafile=srv.ca_file)
    c = http.client.HTTPSConnection("127.0.0.1", srv.tls_port, timeout=10, context=ctx)
    c.request("GET", "/ca.crt")
    assert c.getresponse().read() == pem

    rec, data = small_image(srv, tmp_path)
    env = dict(os.environ, IMAGEGATE_API_KEY=srv.admin_key)
    remote = json.loads(run([BIN, "link", "mint", rec["id"], "--server", srv.base, "--json"], env=env).stdout)
    for link in (srv.mint(rec["id"]), remote):
        assert link["ca_certificate"] == f"{srv.base}/ca.crt" and link["ca_sha256"] == digest
        cmds = link["commands"]
        names = ["https_wget", "https_curl", "ftp_wget", "ftp_curl", "ftp_lftp", "ftp_lftp_parallel"]
        if shutil.which("aria2c"):
            names.append("https_aria2c")
        for name in names:
            cmd = cmds[name]
            assert srv.data_dir not in cmd and "server.crt" not in cmd, cmd
            assert f"echo '{digest}  imagegate-ca.crt' | sha256sum -c" in cmd, cmd
            d = tmp_path / f"{name}-{os.urandom(3).hex()}"
            d.mkdir()
            r = subprocess.run(cmd, shell=True, cwd=d, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, name + ": " + r.stdout + r.stderr
            assert (d / rec["file_name"]).read_bytes() == data, name
    # A certificate that does not match the printed digest stops the command before any download.
    d = tmp_path / "tampered"
    d.mkdir()
    r = subprocess.run(cmds["https_curl"].replace(digest, "0" * 64), shell=True, cwd=d, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0 and not (d / rec["file_name"]).exists()


# Item 26: PATCH /images/{id} needs a body (the document says required); `{}` changes nothing.
def test_patch_image_without_body_is_400(srv, tmp_path):
    rec, _ = small_image(srv, tmp_path)
    key = srv.admin_key
    status, js = api(srv, "PATCH", f"/api/v1/images/{rec['id']}", key)
    assert status == 400 and "body is required" in js["error"]["message"], js
    status, js = api(srv, "PATCH", f"/api/v1/images/{rec['id']}", key, {})
    assert status == 200 and js["name"] == rec["name"], js


# Item 4: after SIGHUP reloads a new certificate, /ca.crt serves it and new links pin it.
def test_reloaded_certificate_is_served_and_pinned(tmp_path):
    s = Server(str(tmp_path / "data")).start()
    try:
        rec, _ = small_image(s, tmp_path)
        old = s.mint(rec["id"])["ca_sha256"]
        tls = os.path.join(s.data_dir, "tls")
        for name in os.listdir(tls):
            os.unlink(os.path.join(tls, name))  # a fresh self-signed pair is made on reload
        s.proc.send_signal(signal.SIGHUP)
        new = old
        for _ in range(100):  # the reload is asynchronous: poll, do not time it
            new = json.load(open(os.path.join(s.data_dir, "run", "server.json")))["links"]["ca_sha256"]
            if new != old:
                break
            time.sleep(0.1)
        assert new != old
        with open(s.ca_file, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == new
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", "/ca.sha256")
        assert c.getresponse().read().decode().split()[0] == new
        assert s.mint(rec["id"])["ca_sha256"] == new
    finally:
        s.stop()


class _SlowRangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves `data` slowly (so a test can act mid-transfer), honouring `Range: bytes=N-`."""
    data = b""

    def do_GET(self):
        start, status = 0, 200
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if m:
            start, status = int(m.group(1)), 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(self.data) - start))
        self.send_header("ETag", '"v1"')
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(self.data) - 1}/{len(self.data)}")
        self.end_headers()
        try:
            for i in range(start, len(self.data), 64 * 1024):
                self.wfile.write(self.data[i:i + 64 * 1024])
                time.sleep(0.04)
        except OSError:
            pass

    def log_message(self, *args):
        pass


def _lease_pid(data_dir, image_id):
    db = sqlite3.connect(f"file:{os.path.join(data_dir, 'catalog.sqlite3')}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT pid FROM import_leases WHERE image_id = ?", (image_id,)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


# Item 1: the server never takes a URL import a live CLI is fetching, and takes it over (resuming) when the
# CLI dies: one import is never fetched by two processes.
@pytest.mark.slow
def test_server_leaves_a_live_cli_fetch_alone_and_takes_over_when_it_dies(srv):
    data = os.urandom(12 * 1024 * 1024 + 11)
    handler = type("H", (_SlowRangeHandler,), {"data": data})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/disk.raw"
        cli = subprocess.Popen([BIN, "image", "import", "--url", url, "--name", "cli fetch", "--format", "raw",
                                "--json", *OS_ARGS] + srv.common(), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        image_id, seen = None, 0
        for _ in range(600):  # until the CLI has fetched a part; bounded, not timed
            items = srv.cli_json("image", "list", "--search", "cli fetch")["items"]
            if items:
                image_id = items[0]["id"]
                assert _lease_pid(srv.data_dir, image_id) == cli.pid  # never the server's while the CLI lives
                seen += 1
                if srv.cli_json("image", "show", image_id).get("progress", {}).get("bytes", 0) >= 2 << 20 and seen > 3:
                    break
            time.sleep(0.1)
        assert image_id and cli.poll() is None, "the CLI finished before the test could interrupt it"
        cli.kill()
        cli.wait()
        r = srv.cli("image", "watch", image_id, "--timeout", "2m", "--json")
        done = json.loads(r.stdout)
        assert done["status"] == "available", done
        assert done["sha256"] == hashlib.sha256(data).hexdigest() and done["size"] == len(data)
    finally:
        httpd.shutdown()
