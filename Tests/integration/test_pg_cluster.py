"""The multi-node test scaffolding itself: scripts/pg-cluster.sh gives a private PostgreSQL that psql reaches at
the printed URL (loopback only, socket inside its directory), and scripts/haproxy.sh proxies a TCP port."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
PG_CLUSTER = os.path.join(ROOT, "scripts", "pg-cluster.sh")
HAPROXY = os.path.join(ROOT, "scripts", "haproxy.sh")

have_postgres = any(os.path.exists(f"/usr/lib/postgresql/{v}/bin/initdb")
                    for v in (os.listdir("/usr/lib/postgresql") if os.path.isdir("/usr/lib/postgresql") else []))
needs_postgres = pytest.mark.skipif(not have_postgres or not shutil.which("psql"),
                                    reason="postgresql missing: run scripts/install-deps.sh --test")
needs_haproxy = pytest.mark.skipif(not shutil.which("haproxy") and not os.path.exists("/usr/sbin/haproxy"),
                                   reason="haproxy missing: run scripts/install-deps.sh --test")


def psql(url, sql):
    return subprocess.run(["psql", url, "-qAtX", "-c", sql], capture_output=True, text=True, timeout=60)


@pytest.fixture
def cluster():
    # Under /tmp, not pytest's tmp_path: when run as root the cluster belongs to an unprivileged user, who must
    # be able to reach the directory (pytest's base directory is private to root).
    d = tempfile.mkdtemp(prefix="pg-cluster-test-")
    try:
        out = subprocess.run(["bash", PG_CLUSTER, "start", d], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        yield d, out.stdout.strip()
    finally:
        subprocess.run(["bash", PG_CLUSTER, "stop", d], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)


@needs_postgres
def test_cluster_accepts_psql_at_its_url_on_loopback_only(cluster):
    d, url = cluster
    assert url.startswith("postgres://imagegate:") and "@127.0.0.1:" in url and url.endswith("?sslmode=disable")
    again = subprocess.run(["bash", PG_CLUSTER, "url", d], capture_output=True, text=True, timeout=30)
    assert again.returncode == 0 and again.stdout.strip() == url

    r = psql(url, "SELECT current_user, current_database(), current_setting('listen_addresses'),"
                  " current_setting('unix_socket_directories')")
    assert r.returncode == 0, r.stderr
    user, db, listen, sockdir = r.stdout.strip().split("|")
    assert (user, db, listen) == ("imagegate", "imagegate", "127.0.0.1")
    assert os.path.realpath(sockdir) == os.path.join(os.path.realpath(d), "sock")
    # The server is not the superuser's to run: it refuses root, so it belongs to an unprivileged user.
    r = psql(url, "SELECT pg_read_file('postmaster.pid')")
    assert r.returncode == 0, r.stderr
    pid = int(r.stdout.split("\n")[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0

    # The password is required: the same URL without it is refused.
    no_password = url.replace(url.split("@")[0], "postgres://imagegate")
    r = subprocess.run(["psql", no_password, "-qAtXw", "-c", "SELECT 1"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "PGPASSWORD": ""})
    assert r.returncode != 0

    stop = subprocess.run(["bash", PG_CLUSTER, "stop", d], capture_output=True, text=True, timeout=120)
    assert stop.returncode == 0, stop.stderr
    assert psql(url, "SELECT 1").returncode != 0
    assert not os.path.exists(os.path.join(d, "data", "postmaster.pid"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_haproxy
def test_haproxy_helper_proxies_a_tcp_port(tmp_path):
    # A backend that answers each connection with "node:" + what it received, so the proxied bytes are visible.
    backend = socket.socket()
    backend.bind(("127.0.0.1", 0))
    backend.listen(8)

    def serve():
        while True:
            try:
                conn, _ = backend.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(1024)
                conn.sendall(b"node:" + data)

    threading.Thread(target=serve, daemon=True).start()
    front = free_port()
    (tmp_path / "haproxy.cfg").write_text(f"""
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend sftp_like
    bind 127.0.0.1:{front}
    default_backend nodes
backend nodes
    server n1 127.0.0.1:{backend.getsockname()[1]}
""")
    started = subprocess.run(["bash", HAPROXY, "start", str(tmp_path)], capture_output=True, text=True, timeout=60)
    try:
        assert started.returncode == 0, started.stderr
        pid = int(started.stdout.strip())
        assert os.path.exists(f"/proc/{pid}")
        for payload in (b"hello", b"SSH-2.0-test\r\n"):
            with socket.create_connection(("127.0.0.1", front), timeout=10) as c:
                c.sendall(payload)
                c.shutdown(socket.SHUT_WR)
                got = b""
                while True:
                    chunk = c.recv(1024)
                    if not chunk:
                        break
                    got += chunk
            assert got == b"node:" + payload
        # A second start on the same directory is refused while the first runs.
        assert subprocess.run(["bash", HAPROXY, "start", str(tmp_path)], capture_output=True,
                              timeout=60).returncode != 0
    finally:
        stopped = subprocess.run(["bash", HAPROXY, "stop", str(tmp_path)], capture_output=True, text=True,
                                 timeout=60)
        backend.close()
    assert stopped.returncode == 0, stopped.stderr
    assert not (tmp_path / "haproxy.pid").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", front), timeout=5).close()


@needs_haproxy
def test_haproxy_helper_reports_a_bad_config(tmp_path):
    (tmp_path / "haproxy.cfg").write_text("frontend broken\n    bind 127.0.0.1:notaport\n")
    r = subprocess.run(["bash", HAPROXY, "start", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "notaport" in r.stderr
    assert not (tmp_path / "haproxy.pid").exists()
