"""Integration harness: starts the real `imagegate serve` on 127.0.0.1 with a port chosen at run time,
in a temporary data directory, and gives tests helpers to run the CLI and real clients."""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("IMAGEGATE_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", ".build", "debug", "imagegate")
# The operating system every import declares (the same rule on the CLI, the API and the console).
OS_ARGS = ["--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9", "--architecture", "x86_64",
           "--boot-mode", "BIOS"]
BIG_SIZE = 256 * 1024 * 1024 + 12345  # ≥ 256 MiB and deliberately not a multiple of any chunk size


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


class Server:
    """One running `imagegate serve` and the data directory it owns."""

    def __init__(self, data_dir, config_text=None, log_path=None):
        """`log_path`: the server's stderr (its log) goes to that file instead of a pipe (read it with `log()`;
        a pipe nobody reads would stall a server logging at debug level)."""
        self.data_dir = data_dir
        self.log_path = log_path
        self.config = None
        if config_text is not None:
            self.config = data_dir.rstrip("/") + ".conf"
            with open(self.config, "w") as f:
                f.write(config_text)
        self.proc = None
        self.port = None
        self.tls_port = None
        self.ftp_port = None
        self.sftp_port = None
        self.metrics_port = None
        self.lines = []

    @property
    def admin_key(self):
        """The administrator's API key, written to keys/admin-api-key when the data directory was initialized."""
        with open(os.path.join(self.data_dir, "keys", "admin-api-key")) as f:
            return f.read().strip()

    def common(self):
        args = ["--data-dir", self.data_dir]
        if self.config:
            args += ["--config", self.config]
        return args

    def start(self):
        err = open(self.log_path, "a") if self.log_path else subprocess.PIPE
        self.proc = subprocess.Popen(
            [BIN, "serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--ftp", "127.0.0.1:0",
             "--sftp", "127.0.0.1:0", "--metrics", "127.0.0.1:0"] + self.common(),
            stdout=subprocess.PIPE, stderr=err, text=True)
        if self.log_path:
            err.close()  # the child has its own descriptor
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited: " + (self.log() if self.log_path else self.proc.stderr.read()))
            self.lines.append(line.rstrip("\n"))
            m = re.match(r"(https?): listening on https?://127\.0\.0\.1:(\d+)$", line.strip())
            if m and m.group(1) == "http":
                self.port = int(m.group(2))
            elif m:
                self.tls_port = int(m.group(2))
            m = re.match(r"ftp: listening on ftp://127\.0\.0\.1:(\d+) ", line.strip())
            if m:
                self.ftp_port = int(m.group(1))
            m = re.match(r"metrics: listening on http://127\.0\.0\.1:(\d+) ", line.strip())
            if m:
                self.metrics_port = int(m.group(1))
            m = re.match(r"sftp: listening on sftp://127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                self.sftp_port = int(m.group(1))
            # Listener lines come in the order http, https, ftp ("ftp: off" when disabled), sftp, and the
            # SFTP host keys last (ed25519, then rsa).
            if self.port and self.tls_port and self.sftp_port and line.startswith("sftp host key: rsa"):
                return self
        raise RuntimeError("server did not report its port")

    def log(self):
        """The server's log so far (only with `log_path`)."""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def ca_file(self):
        """The self-signed certificate the server generated (its own trust anchor)."""
        return os.path.join(self.data_dir, "tls", "server.crt")

    def cli(self, *args, check=True):
        """Runs `imagegate <args> --data-dir D` and returns the CompletedProcess."""
        r = subprocess.run([BIN] + list(args) + self.common(), capture_output=True, text=True, timeout=600)
        if check and r.returncode != 0:
            raise AssertionError(f"imagegate {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def import_image(self, path, name):
        return self.cli_json("image", "import", "--file", path, "--name", name, *OS_ARGS)

    def mint(self, image_id, *extra):
        return self.cli_json("link", "mint", image_id, *extra)

    def access_log(self):
        p = os.path.join(self.data_dir, "logs", "access.log")
        if not os.path.exists(p):
            return []
        with open(p) as f:
            return [json.loads(l) for l in f if l.strip()]


def pytest_configure(config):
    # `scripts/test.sh --quick` deselects these (-m "not slow"); the full run (CI) includes them.
    config.addinivalue_line("markers", "slow: long-running test, left out of scripts/test.sh --quick")


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="imagegate-it-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def big_file(workdir):
    """A random file of at least 256 MiB and its sha256."""
    path = os.path.join(workdir, "source-disk.qcow2.raw")
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = BIG_SIZE
        while left:
            n = min(left, 8 << 20)
            b = os.urandom(n)
            h.update(b)
            f.write(b)
            left -= n
    return path, h.hexdigest()


@pytest.fixture(scope="session")
def server(workdir):
    s = Server(os.path.join(workdir, "data")).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def big_image(server, big_file):
    path, digest = big_file
    rec = server.import_image(path, "CentOS 7.9 big test")
    assert rec["status"] == "available"
    assert rec["sha256"] == digest
    assert rec["size"] == os.path.getsize(path)
    return rec


@pytest.fixture
def small_image(server, workdir):
    """A fresh 1000-byte image (the nginx range.t size) with known bytes."""
    data = bytes((i * 7 + 3) % 256 for i in range(1000))
    path = os.path.join(workdir, f"small-{time.time_ns()}.img")
    with open(path, "wb") as f:
        f.write(data)
    rec = server.import_image(path, "small")
    return rec, data


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def run(cmd, timeout=600, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def raw_request(port, data, timeout=10, read_all=True):
    """Sends raw bytes and returns everything the server answers until it closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def parse_response(raw):
    """Splits one response into (status, headers dict lowercased, body bytes, rest)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    return status, headers, rest[:n], rest[n:]
