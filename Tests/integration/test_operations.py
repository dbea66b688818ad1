"""Operations (issue #16, Docs/operations.md): Prometheus metrics checked by promtool and scraped by a real
Prometheus, /readyz naming the catalog when it is unreachable, READY=1 on $NOTIFY_SOCKET after the listeners
are bound, and the version line."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import BIN, Server, free_port, run


def get(port, path, timeout=10):
    """(status, body text) of GET http://127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_for(predicate, what, seconds=60):
    """Polls until predicate() is truthy; the bound only keeps a broken build from hanging the suite."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def sample(text, name, **labels):
    """The value of one series in an exposition text, None when absent."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == (f"{name}{{{want}}}" if want else name):
            return float(value)
    return None


@pytest.fixture
def ops_server(tmp_path):
    s = Server(str(tmp_path / "data")).start()
    yield s
    s.stop()


def image_of(server, tmp_path, size):
    path = tmp_path / "disk.img"
    path.write_bytes(os.urandom(size))
    rec = server.import_image(str(path), "ops test")
    return rec, server.mint(rec["id"])["http"]


def test_promtool_accepts_a_scrape_taken_during_downloads(ops_server, tmp_path):
    if not shutil.which("promtool"):
        pytest.fail("promtool missing: scripts/install-deps.sh --test installs the prometheus package")
    _, url = image_of(ops_server, tmp_path, 32 << 20)
    stop = threading.Event()

    def downloader():
        while not stop.is_set():
            # --limit-rate keeps responses in flight while the scrape is taken.
            subprocess.run(["curl", "-s", "-o", "/dev/null", "--limit-rate", "20M", url], timeout=120)

    threads = [threading.Thread(target=downloader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        text = wait_for(lambda: (lambda t: t if (sample(t, "imagegate_downloads_active", protocol="http") or 0) > 0
                                 else None)(get(ops_server.metrics_port, "/metrics")[1]), "a download in flight")
    finally:
        stop.set()
        for t in threads:
            t.join()
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert sample(text, "imagegate_build_info", version=re.search(r'version="([^"]+)"', text).group(1)) == 1
    for family in ("imagegate_bytes_sent_total", "imagegate_download_sessions_total", "imagegate_downloads_active",
                   "imagegate_connections_open", "imagegate_requests_total", "imagegate_token_rejections_total",
                   "imagegate_imports_total", "imagegate_import_bytes_total", "imagegate_imports_active",
                   "imagegate_catalog_seconds", "imagegate_authorization_cache_hits_total",
                   "imagegate_authorization_cache_misses_total", "imagegate_images", "imagegate_image_bytes",
                   "imagegate_cache_hits_total", "imagegate_cache_misses_total", "imagegate_cache_evictions_total",
                   "imagegate_cache_corrupt_slices_total", "imagegate_cache_fetched_bytes_total",
                   "imagegate_cache_fetch_failures_total", "imagegate_cache_fetch_seconds"):
        assert f"# TYPE {family} " in text, family
    assert sample(text, "imagegate_images", status="available") == 1
    assert sample(text, "imagegate_catalog_seconds_count") > 0


def test_counters_follow_what_clients_did(ops_server, tmp_path):
    rec, url = image_of(ops_server, tmp_path, 100_000)
    assert run(["curl", "-sf", "-o", "/dev/null", url]).returncode == 0
    assert run(["curl", "-sf", "-o", "/dev/null", "-r", "0-999", url]).returncode == 0
    expired = url.replace("/d/igt1.", "/d/igt1.A")  # a broken token: refused, counted by reason
    assert run(["curl", "-s", "-o", "/dev/null", expired]).returncode == 0
    assert get(ops_server.port, "/api/v1/images")[0] == 401
    # A request is counted when its access line is written, just after its last byte left, on whichever
    # event loop owns the connection: a client can read the answer a moment before the count exists. Wait
    # (bounded) until all four requests are counted, then check every series.
    def counted():
        text = get(ops_server.metrics_port, "/metrics")[1]
        done = sum((sample(text, "imagegate_requests_total", front=f, status_class=c) or 0)
                   for f, c in (("http", "2xx"), ("http", "4xx"), ("api", "4xx")))
        return text if done >= 4 else None
    text = wait_for(counted, "the four requests counted")
    assert sample(text, "imagegate_bytes_sent_total", protocol="http") == 101_000
    assert sample(text, "imagegate_download_sessions_total", protocol="http", outcome="ok") == 2
    assert sample(text, "imagegate_requests_total", front="http", status_class="2xx") == 2
    assert sample(text, "imagegate_requests_total", front="http", status_class="4xx") == 1
    assert sample(text, "imagegate_requests_total", front="api", status_class="4xx") == 1
    assert sample(text, "imagegate_token_rejections_total", reason="token_malformed") == 1
    hits = sample(text, "imagegate_authorization_cache_hits_total")
    misses = sample(text, "imagegate_authorization_cache_misses_total")
    # The malformed token is refused before the authorization cache (Docs/http-range.md): never looked up.
    assert hits + misses == 2 and misses >= 1
    assert sample(text, "imagegate_image_bytes", status="available") == 100_000
    assert sample(text, "imagegate_downloads_active", protocol="http") == 0


def test_prometheus_scrapes_the_bytes_a_client_downloaded(ops_server, tmp_path):
    if not shutil.which("prometheus"):
        pytest.fail("prometheus missing: scripts/install-deps.sh --test installs it")
    _, url = image_of(ops_server, tmp_path, 3_000_000)
    got = 0
    for extra in ([], ["-r", "0-65535"], ["-r", "1000000-"]):
        out = tmp_path / "out.bin"
        assert run(["curl", "-sf", "-o", str(out)] + extra + [url]).returncode == 0
        got += out.stat().st_size
    assert got == 3_000_000 + 65536 + 2_000_000
    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        f"scrape_configs:\n  - job_name: imagegate\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{ops_server.metrics_port}']\n")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={conf}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "w"))
    try:
        def scraped():
            q = urllib.parse.quote('imagegate_bytes_sent_total{job="imagegate",protocol="http"}')
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query={q}", timeout=5) as r:
                    result = json.load(r)["data"]["result"]
            except (OSError, ValueError):
                return None
            return result[0]["value"][1] if result else None
        value = wait_for(scraped, "Prometheus to scrape ImageGate", seconds=90)
        assert int(float(value)) == got
    finally:
        prom.terminate()
        prom.wait(timeout=30)


def test_readyz_names_the_catalog_while_it_is_unreachable(ops_server):
    """Failure mode: the catalog file disappears from its path (data volume moved or unmounted). The serving
    connection would go on using its open descriptor; the readiness probe opens the path afresh and fails."""
    for port in (ops_server.metrics_port, ops_server.port):
        assert get(port, "/readyz") == (200, "ready\n")
        assert get(port, "/healthz")[0] == 200
    catalog = os.path.join(ops_server.data_dir, "catalog.sqlite3")
    os.rename(catalog, catalog + ".away")
    try:
        status, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(get(ops_server.metrics_port, "/readyz")),
                                "/readyz to fail")
        assert body.startswith("catalog: "), body
        status, body = get(ops_server.port, "/readyz")
        assert status == 503 and "catalog" in body
        assert get(ops_server.metrics_port, "/healthz")[0] == 200  # alive all the same
    finally:
        os.rename(catalog + ".away", catalog)
    wait_for(lambda: get(ops_server.metrics_port, "/readyz")[0] == 200, "/readyz to recover")
    assert get(ops_server.port, "/readyz") == (200, "ready\n")


def test_readiness_rounds_never_disturb_the_serving_catalog(ops_server, tmp_path):
    """Regression: a probe that opened and closed the catalog file with raw open/close dropped the serving
    connection's POSIX locks each round (closing any descriptor of a file drops all of a process's locks on it),
    and after the CLI, another process, wrote the catalog the server answered "database disk image is malformed".
    Imports by the CLI with readiness rounds between them must each be read back by the server."""
    key = ops_server.admin_key
    for n in range(4):
        time.sleep(1.5)  # let at least one readiness round run (they run once a second) before this write
        rec, _ = image_of(ops_server, tmp_path, 4096 + n)
        req = urllib.request.Request(f"http://127.0.0.1:{ops_server.port}/api/v1/images/{rec['id']}",
                                     headers={"Authorization": "Bearer " + key})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.load(r)["id"] == rec["id"]
        listing = urllib.request.Request(f"http://127.0.0.1:{ops_server.port}/api/v1/images",
                                         headers={"Authorization": "Bearer " + key})
        with urllib.request.urlopen(listing, timeout=10) as r:
            assert json.load(r)["total"] == n + 1
    assert get(ops_server.port, "/readyz") == (200, "ready\n")


def test_ready_is_notified_after_every_listener_is_bound(tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(60)
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, WATCHDOG_USEC="3000000")
    out = open(tmp_path / "out.txt", "w+")
    proc = subprocess.Popen(
        [BIN, "serve", "--data-dir", str(tmp_path / "data"), "--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
         "--ftp", "127.0.0.1:0", "--sftp", "127.0.0.1:0", "--metrics", "127.0.0.1:0"],
        stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        messages = sock.recv(4096).decode().split("\n")
        assert "READY=1" in messages
        out.seek(0)
        ports = [int(p) for p in re.findall(r"listening on \w+://127\.0\.0\.1:(\d+)", out.read())]
        assert len(ports) == 5, ports  # http, https, ftp, metrics, sftp
        for p in ports:
            socket.create_connection(("127.0.0.1", p), timeout=10).close()
        assert sock.recv(4096).decode() == "WATCHDOG=1"
        proc.terminate()
        wait_for(lambda: "STOPPING=1" in sock.recv(4096).decode(), "STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def test_metrics_listener_off_and_version_line(tmp_path):
    out = tmp_path / "out.txt"
    proc = subprocess.Popen(
        [BIN, "serve", "--data-dir", str(tmp_path / "data"), "--http", "127.0.0.1:0", "--https", "127.0.0.1:0",
         "--ftp", "off", "--sftp", "127.0.0.1:0", "--metrics", "off"], stdout=open(out, "w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "sftp: listening" in out.read_text(), "the listeners")
        assert "metrics: off" in out.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    r = run([BIN, "--version"])
    assert re.fullmatch(r"imagegate \d+\.\d+\.\d+ \((unknown commit|[0-9a-f]{12}(-dirty)?)\)\n", r.stdout), r.stdout
    assert run([BIN, "serve", "--metrics", "nonsense"]).returncode == 64


def test_ftps_and_sftp_transfers_are_counted(ops_server, tmp_path):
    rec, _ = image_of(ops_server, tmp_path, 200_000)
    link = ops_server.mint(rec["id"])
    cert = os.path.join(ops_server.data_dir, "tls", "server.crt")
    r = run(["curl", "-sS", "--ssl-reqd", "--cacert", cert, "-o", str(tmp_path / "a"), link["ftp"]])
    assert r.returncode == 0, r.stderr
    pin = link["sftp_commands"]["curl"].split("--hostpubsha256 '", 1)[1].split("'", 1)[0]
    r = run(["curl", "-sS", "--hostpubsha256", pin, "-o", str(tmp_path / "b"), link["sftp"]])
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a").stat().st_size == (tmp_path / "b").stat().st_size == 200_000

    def counted():
        # The SFTP session's line is written when the session ends, just after curl has its bytes.
        text = get(ops_server.metrics_port, "/metrics")[1]
        return text if sample(text, "imagegate_bytes_sent_total", protocol="sftp") == 200_000 else None
    text = wait_for(counted, "the SFTP session to end")
    assert sample(text, "imagegate_bytes_sent_total", protocol="ftps") == 200_000
    assert sample(text, "imagegate_bytes_sent_total", protocol="ftp") == 0
    assert sample(text, "imagegate_download_sessions_total", protocol="ftps", outcome="complete") == 1
    sftp_sessions = [l for l in text.splitlines() if l.startswith('imagegate_download_sessions_total{protocol="sftp"')]
    assert sum(float(l.rpartition(" ")[2]) for l in sftp_sessions) == 1, sftp_sessions


def test_sighup_reopens_the_access_log_as_logrotate_expects(ops_server, tmp_path):
    """Config/imagegate.logrotate renames the log and sends SIGHUP (no copytruncate): lines after the signal go
    to a fresh file at the configured path, nothing more to the renamed one."""
    _, url = image_of(ops_server, tmp_path, 1000)
    log = os.path.join(ops_server.data_dir, "logs", "access.log")
    assert run(["curl", "-sf", "-o", "/dev/null", url]).returncode == 0
    wait_for(lambda: os.path.exists(log) and os.path.getsize(log) > 0, "the first access line")
    os.rename(log, log + ".1")
    ops_server.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(log), "the access log to be reopened")
    rotated = open(log + ".1").read()
    assert run(["curl", "-sf", "-o", "/dev/null", "-r", "0-9", url]).returncode == 0
    wait_for(lambda: '"status":206' in open(log).read(), "the line after SIGHUP")
    assert open(log + ".1").read() == rotated
