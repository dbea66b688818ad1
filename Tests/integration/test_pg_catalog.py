"""The PostgreSQL catalog end to end: `imagegate serve --catalog URL` and the CLI with `--catalog URL` on a private
cluster (scripts/pg-cluster.sh): import, list, mint, download byte-identical, the row visible to psql; two CLIs
initializing an empty database at once; the password never printed; a wrong password refused in one line."""
import concurrent.futures
import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, Server, run, sha256_file
from test_pg_cluster import PG_CLUSTER, needs_postgres, psql

pytestmark = needs_postgres


@pytest.fixture(scope="module")
def cluster():
    # Under /tmp: when run as root the cluster belongs to an unprivileged user who must reach the directory.
    d = tempfile.mkdtemp(prefix="pg-catalog-test-")
    try:
        out = subprocess.run(["bash", PG_CLUSTER, "start", d], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        yield out.stdout.strip()
    finally:
        subprocess.run(["bash", PG_CLUSTER, "stop", d], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def database(cluster):
    """A fresh empty database on the cluster, and its URL."""
    name = "it_" + os.urandom(6).hex()
    r = psql(cluster, f"CREATE DATABASE {name}")
    assert r.returncode == 0, r.stderr
    yield cluster.replace("/imagegate?", f"/{name}?")
    psql(cluster, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def password_of(url):
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


class PGServer(Server):
    """`imagegate serve` (and its CLI) on a data directory of its own and the catalog at `url`."""

    def __init__(self, data_dir, url):
        super().__init__(data_dir)
        self.url = url

    def common(self):
        return super().common() + ["--catalog", self.url]


def test_serve_and_cli_share_a_postgres_catalog(database, tmp_path):
    url = database
    source = tmp_path / "disk.img"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    server = PGServer(str(tmp_path / "node"), url).start()
    try:
        rec = server.import_image(str(source), "pg catalog image")
        assert rec["status"] == "available" and rec["sha256"] == sha256_file(str(source))
        listed = server.cli("image", "list").stdout
        assert rec["id"] in listed and "pg catalog image" in listed

        # The catalog is PostgreSQL's: psql sees the row the CLI wrote.
        r = psql(url, f"SELECT name, status, size FROM images WHERE id = '{rec['id']}'")
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"pg catalog image|available|{source.stat().st_size}"

        link = server.mint(rec["id"])["http"]
        out = tmp_path / "download"
        r = run(["curl", "-sS", "-f", "-o", str(out), link], timeout=120)
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == source.read_bytes()
        r = psql(url, f"SELECT count(*) FROM token_issues WHERE image_id = '{rec['id']}'")
        assert r.stdout.strip() == "1"
    finally:
        server.stop()
        stdout, stderr = server.proc.communicate(timeout=30)

    # The URL's password is never printed: not in serve's output, not in its logs (the URL is, redacted).
    password = password_of(url)
    printed = "\n".join(server.lines) + stdout + stderr
    assert password not in printed
    assert "catalog: postgres://imagegate:***@" in printed
    for path in glob.glob(os.path.join(server.data_dir, "logs", "*")):
        with open(path, errors="replace") as f:
            assert password not in f.read(), path


def test_clis_starting_at_once_initialize_an_empty_database_once(database, tmp_path):
    url = database
    # The schema first (as a node that crashed right after migrating would leave it), so that the processes
    # below all reach first-use initialization at the same moment instead of queueing behind the migration.
    r = run([BIN, "account", "list", "--data-dir", str(tmp_path / "migrator"), "--catalog", url], timeout=120)
    assert r.returncode == 0, r.stderr
    r = psql(url, "DELETE FROM api_keys; DELETE FROM accounts; DELETE FROM tenants; DELETE FROM shared_documents")
    assert r.returncode == 0, r.stderr
    dirs = [str(tmp_path / f"cli{i}") for i in range(4)]

    def first_use(d):
        return run([BIN, "account", "list", "--data-dir", d, "--catalog", url], timeout=120)

    with concurrent.futures.ThreadPoolExecutor(len(dirs)) as pool:
        results = list(pool.map(first_use, dirs))
    for r in results:
        assert r.returncode == 0, r.stderr
    r = psql(url, "SELECT count(*) FROM accounts WHERE kind = 'platform_admin'")
    assert r.stdout.strip() == "1"
    r = psql(url, "SELECT count(*) FROM tenants")
    assert r.stdout.strip() == "1"
    # Exactly one of them created the administrator, and only that one holds its key.
    written = [d for d in dirs if os.path.exists(os.path.join(d, "keys", "admin-api-key"))]
    assert len(written) == 1
    with open(os.path.join(written[0], "keys", "admin-api-key")) as f:
        secret = f.read().strip()
    r = psql(url, "SELECT key_id FROM api_keys")
    assert r.stdout.split() == [secret[:16]]
    # A third process later finds it all done.
    r = first_use(str(tmp_path / "later"))
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(str(tmp_path / "later" / "keys" / "admin-api-key"))
    assert psql(url, "SELECT count(*) FROM accounts").stdout.strip() == "1"


def test_a_wrong_password_is_one_clear_line(database, tmp_path):
    url = database
    bad = url.replace(":" + password_of(url) + "@", ":not-the-password@")
    r = run([BIN, "image", "list", "--data-dir", str(tmp_path / "d"), "--catalog", bad], timeout=120)
    assert r.returncode == 1  # like other configuration and I/O failures
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "password authentication failed" in lines[0] and "catalog unavailable" in lines[0]
    assert "not-the-password" not in r.stderr + r.stdout
    assert "postgres://imagegate:***@" in lines[0]
