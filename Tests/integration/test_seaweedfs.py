"""The S3 test store itself: scripts/seaweedfs.sh starts SeaweedFS with every listener on loopback at the ports it
recorded, gives a key that cannot create buckets (so a missing bucket stays missing) and is refused with a wrong
secret, and `stop` leaves no process and no socket behind."""
import os
import shutil
import subprocess
import tempfile

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SEAWEEDFS = os.path.join(ROOT, "scripts", "seaweedfs.sh")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not shutil.which("curl"), reason="curl missing: run scripts/install-deps.sh --test"),
]


def listening_tcp(pid):
    """The local (address, port) of every listening TCP socket process `pid` holds, from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    addr, port = cols[1].split(":")
                    found.append((addr, int(port, 16)))
    return found


def s3(creds, method, url, region="us-east-1", cacert=None):
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}"] + (["--cacert", cacert] if cacert else [])
                         + ["--aws-sigv4", f"aws:amz:{region}:s3",
                          "--user", creds, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-X", method, url],
                         capture_output=True, text=True, timeout=30)
    return out.stdout


def test_store_listens_on_loopback_only_with_a_limited_key_and_stops_clean():
    d = tempfile.mkdtemp(prefix="seaweedfs-test-")
    pid = None
    try:
        out = subprocess.run(["bash", SEAWEEDFS, "start", d], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        env = dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.split("\n") if line)
        again = subprocess.run(["bash", SEAWEEDFS, "env", d], capture_output=True, text=True, timeout=30)
        assert again.stdout == out.stdout
        assert oct(os.stat(os.path.join(d, "env")).st_mode & 0o777) == "0o600"
        endpoint = env["IMAGEGATE_TEST_S3_ENDPOINT"]
        assert endpoint.startswith("http://127.0.0.1:")

        pid = int(open(os.path.join(d, "weed.pid")).read())
        ports = [int(p) for p in open(os.path.join(d, "ports")).read().split()]
        listening = listening_tcp(pid)
        # Every listener is one of the nine given ports (HTTP and gRPC of master, volume, filer, S3; S3 over
        # HTTPS), on
        # 127.0.0.1 (0100007F in /proc's byte order): nothing on a default port, nothing on another address.
        assert sorted(port for _, port in listening) == sorted(ports)
        assert {addr for addr, _ in listening} == {"0100007F"}
        assert "-master.telemetry=false" in open(f"/proc/{pid}/cmdline").read().split("\0")

        key = f'{env["IMAGEGATE_TEST_S3_KEY"]}:{env["IMAGEGATE_TEST_S3_SECRET"]}'
        bucket, missing = env["IMAGEGATE_TEST_S3_BUCKET"], env["IMAGEGATE_TEST_S3_MISSING_BUCKET"]
        assert s3(key, "HEAD", f"{endpoint}/{bucket}") == "200"
        https, ca = env["IMAGEGATE_TEST_S3_HTTPS_ENDPOINT"], env["IMAGEGATE_TEST_S3_CA_FILE"]
        assert https == f"https://127.0.0.1:{ports[8]}" and os.path.isfile(ca)
        assert s3(key, "HEAD", f"{https}/{bucket}", cacert=ca) == "200"
        # The test key cannot create buckets, not even one it may use, so the missing bucket stays missing.
        assert s3(key, "PUT", f"{endpoint}/{missing}") == "403"
        assert s3(key, "GET", f"{endpoint}/{missing}/x") == "404"
        assert s3(key + "x", "GET", f"{endpoint}/{bucket}/x") == "403"
    finally:
        stop = subprocess.run(["bash", SEAWEEDFS, "stop", d], capture_output=True, text=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)
    assert stop.returncode == 0, stop.stderr
    if pid is not None:
        # Gone, or exited and waiting for whoever adopted it to reap it (a zombie holds no port and no file).
        assert not os.path.exists(f"/proc/{pid}") or "State:\tZ" in open(f"/proc/{pid}/status").read()
        grpc = [ports[1], ports[3], ports[5], ports[7]]
        assert not [p for p in grpc for n in ("master", "volume", "filer", "s3")
                    if os.path.exists(f"/tmp/seaweedfs-{n}-grpc-{p}.sock")]
