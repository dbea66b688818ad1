"""Three nodes on one PostgreSQL catalog behind HAProxy (Tests/integration/cluster.py) with their blobs in
SeaweedFS (scripts/seaweedfs.sh, through test_s3_blobs.py's `store` fixture) and each node's read cache
(Docs/object-storage.md, "Read cache") at 1 MiB slices, so a few-MiB image is several slices:

- cold and warm downloads over HTTP, HTTPS, FTPS and SFTP, and downloads resumed across nodes;
- 50 parallel range requests for one cold slice cause one GET to the store;
- a cached slice corrupted on disk is detected (changed mtime, or a restart) and fetched again;
- the store stopped mid-download: the transfer is cut, a new request answers 503 with Retry-After, and the
  download resumes once the store is back;
- eviction under a small cache.max_bytes.

Store GETs are counted from each node's debug log (`store GET key=<hash> slice=<n> … status=ok`, one line per
GET the cache sends, Docs/object-storage.md "Single flight"). The nodes reach the store through a small TCP relay
(store_relay.StoreRelay): freezing it holds every connection open and silent, which is what the nodes see when
the weed process is SIGSTOPped, without stopping a store that scripts/test.sh may share with other modules."""
import hashlib
import http.client
import os
import re
import shutil
import subprocess
import threading
import time
import uuid

import pytest

from cluster import Cluster, run
from conftest import OS_ARGS, sha256_file
from test_multinode import (have_postgres, interrupt_then_resume, mint, node_url, pg, sftp, started,  # noqa: F401
                            token_of)
from store_relay import StoreRelay
from test_s3_blobs import node_config, store  # noqa: F401

MiB = 1 << 20
SLICE = MiB
STORE_TIMEOUT = 3  # blobs.timeout, seconds

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_postgres or not shutil.which("psql"),
                       reason="postgresql missing: run scripts/install-deps.sh --test"),
    pytest.mark.skipif(not shutil.which("haproxy") and not os.path.exists("/usr/sbin/haproxy"),
                       reason="haproxy missing: run scripts/install-deps.sh --test"),
]


@pytest.fixture(scope="module")
def relay(store):
    host, port = store["IMAGEGATE_TEST_S3_ENDPOINT"].split("://", 1)[1].rsplit(":", 1)
    r = StoreRelay((host, int(port)))
    yield r
    r.close()


@pytest.fixture(scope="module")
def cluster(pg, store, relay):
    prefix = "t-" + uuid.uuid4().hex[:12]
    via_relay = dict(store, IMAGEGATE_TEST_S3_ENDPOINT=f"http://127.0.0.1:{relay.port}")
    extra = dict(line.split(" = ", 1) for line in node_config(via_relay, prefix).strip().split("\n"))
    extra.update({"cache.slice_bytes": "1MiB", "cache.max_bytes": "256MiB", "blobs.timeout": f"{STORE_TIMEOUT}s",
                  "log.level": "debug"})
    c = started(Cluster(nodes=3, catalog="postgres", pg=pg, extra_settings=extra))
    c.prefix = prefix
    yield c
    c.close()


@pytest.fixture(scope="module")
def key(cluster):
    return cluster.admin_key()


def random_file(path, size):
    data = os.urandom(size)
    with open(path, "wb") as f:
        f.write(data)
    return hashlib.sha256(data).hexdigest()


def new_image(cluster, size, name):
    """An image of `size` random bytes imported with node 1's CLI; (record, source path, sha256)."""
    path = os.path.join(cluster.base, f"src-{uuid.uuid4().hex[:8]}.raw")
    digest = random_file(path, size)
    rec = cluster.nodes[0].cli_json("image", "import", "--file", path, "--name", name, *OS_ARGS)
    assert rec["status"] == "available" and rec["sha256"] == digest
    return rec, path, digest


def key_hash(cluster, image_id, generation=1):
    return hashlib.sha256(f"{cluster.prefix}/images/{image_id}/{generation}".encode()).hexdigest()[:32]


def store_gets(node, image_id, status="ok"):
    """The slice indexes of this node's GETs to the store for the image (its debug log)."""
    pattern = re.compile(rf"store GET key={key_hash(node.cluster, image_id)} slice=(\d+) .*status={status}")
    return [int(m.group(1)) for m in pattern.finditer(node.log())]


def slice_files(node, image_id):
    d = os.path.join(node.data_dir, "cache")
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.startswith(key_hash(node.cluster, image_id) + "-")
                  and f.endswith(".slice"))


def metric(node, name):
    c = http.client.HTTPConnection(node.host, node.cluster.ports.metrics, timeout=10)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    m = re.search(rf"(?m)^{name}(?:{{[^}}]*}})? (\S+)$", body)
    return float(m.group(1)) if m else 0.0


def first_difference(path_a, path_b):
    with open(path_a, "rb") as a, open(path_b, "rb") as b:
        x, y = a.read(), b.read()
    return next((i for i in range(min(len(x), len(y))) if x[i] != y[i]), None if len(x) == len(y) else min(len(x), len(y)))


def fetch(cluster, node, link, image_id, protocol, out):
    """Downloads the link's file from `node` directly with a real client; returns the CompletedProcess."""
    name = link["file_name"]
    if protocol == "http":
        return run(["wget", "-q", "-O", out, node_url(node, link)])
    if protocol == "https":
        return run(["curl", "-sS", "-f", "--cacert", cluster.ca, "-o", out, node_url(node, link, "https")])
    if protocol == "ftps":
        return run(["curl", "-sS", "--ssl-reqd", "--cacert", cluster.ca, "-u", f"{image_id}:{token_of(link)}",
                    "-o", out, f"ftp://{node.host}:{cluster.ports.ftp}/{name}"])
    assert protocol == "sftp"
    d = os.path.dirname(out)
    return sftp(node.host, cluster.ports.sftp, token_of(link), [f"get {name} {os.path.basename(out)}"], d)


@pytest.mark.parametrize("protocol", ["http", "https", "ftps", "sftp"])
def test_cold_then_warm_download_is_byte_identical(cluster, key, protocol, tmp_path):
    """Node 2 has never read the image: the first download fetches every slice from the store once, the second
    fetches nothing; both are the imported bytes."""
    rec, _, digest = new_image(cluster, 4 * SLICE + 12345, f"cold warm {protocol}")
    n2 = cluster.nodes[1]
    link = mint(cluster, cluster.nodes[0], rec["id"], key)
    assert store_gets(n2, rec["id"]) == []
    for attempt in ("cold", "warm"):
        out = str(tmp_path / attempt)
        r = fetch(cluster, n2, link, rec["id"], protocol, out)
        assert r.returncode == 0, r.stderr
        assert sha256_file(out) == digest, attempt
        assert sorted(store_gets(n2, rec["id"])) == [0, 1, 2, 3, 4], attempt  # the warm read added none


@pytest.mark.parametrize("client", ["wget", "curl", "sftp"])
def test_download_interrupted_on_node1_resumed_on_node3_is_byte_identical(cluster, key, client, tmp_path):
    """Started cold on node 1 with a rate-limited client, SIGKILLed part-way, resumed on node 3 (cold too)."""
    rec, source, digest = new_image(cluster, 12 * SLICE + 7, f"resume {client}")
    n1, n3 = cluster.nodes[0], cluster.nodes[2]
    link = mint(cluster, n1, rec["id"], key)
    target, got = interrupt_then_resume(cluster, link, client, n1, n3, tmp_path, rate_mib=2, kill_after=3 * MiB)
    assert 0 < got < rec["size"]
    assert sha256_file(target) == digest, f"resumed at {got}, first wrong byte at {first_difference(target, source)}"
    # Node 3 fetched only what the client still needed: not the slices wholly before the resume offset.
    assert min(store_gets(n3, rec["id"])) >= got // SLICE - 1


def test_50_parallel_range_requests_for_one_cold_slice_cause_one_store_get(cluster, key):
    rec, path, _ = new_image(cluster, 3 * SLICE + 99, "single flight")
    n2 = cluster.nodes[1]
    link = mint(cluster, cluster.nodes[0], rec["id"], key)
    url_path = "/d/" + link["https"].split("/d/", 1)[1]
    with open(path, "rb") as f:
        source = f.read()
    ranges = [(SLICE + i * 1000, SLICE + i * 1000 + 4095) for i in range(50)]  # all inside slice 1
    results = [None] * 50
    gate = threading.Barrier(50)

    def one(i):
        c = http.client.HTTPConnection(n2.host, cluster.ports.http, timeout=60)
        gate.wait()
        first, last = ranges[i]
        c.request("GET", url_path, headers={"Range": f"bytes={first}-{last}"})
        r = c.getresponse()
        results[i] = (r.status, r.read())
        c.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (status, body) in enumerate(results):
        first, last = ranges[i]
        assert status == 206 and body == source[first:last + 1], i
    assert store_gets(n2, rec["id"]) == [1]
    assert store_gets(n2, rec["id"], status="failed") == []


def corrupt(path):
    """Flips bytes in the middle of a file, keeping its length."""
    with open(path, "r+b") as f:
        f.seek(1000)
        b = f.read(16)
        f.seek(1000)
        f.write(bytes(x ^ 0xFF for x in b))


def test_a_corrupted_cache_slice_is_detected_and_fetched_again(cluster, key, tmp_path):
    """Both documented triggers: a slice file whose mtime changed is checked at its next open; one corrupted
    with its length and mtime kept is checked after a restart. Either way it is evicted, fetched again, and the
    download is the imported bytes."""
    rec, _, digest = new_image(cluster, 4 * SLICE + 5, "corrupt slice")
    n2 = cluster.nodes[1]
    link = mint(cluster, cluster.nodes[0], rec["id"], key)
    out = str(tmp_path / "x")
    r = run(["curl", "-sS", "-f", "-o", out, node_url(n2, link)])
    assert r.returncode == 0 and sha256_file(out) == digest, r.stderr
    files = slice_files(n2, rec["id"])
    assert len(files) == 5, files
    assert sorted(store_gets(n2, rec["id"])) == [0, 1, 2, 3, 4]
    before = metric(n2, "imagegate_cache_corrupt_slices_total")

    # 1. Changed in place (length kept, mtime changed by the write).
    victim = files[2]
    size = os.path.getsize(victim)
    corrupt(victim)
    assert os.path.getsize(victim) == size
    r = run(["curl", "-sS", "-f", "-o", out, node_url(n2, link)])
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == digest
    assert sorted(store_gets(n2, rec["id"])) == [0, 1, 2, 2, 3, 4]
    assert metric(n2, "imagegate_cache_corrupt_slices_total") > before

    # 2. Changed with length and mtime put back: caught when first opened after a restart.
    victim = slice_files(n2, rec["id"])[3]
    st = os.stat(victim)
    corrupt(victim)
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))
    n2.restart()
    r = run(["curl", "-sS", "-f", "-o", out, node_url(n2, link)])
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == digest
    assert sorted(store_gets(n2, rec["id"])) == [0, 1, 2, 2, 3, 3, 4]


def test_store_stopped_mid_download_cuts_the_transfer_and_the_download_resumes(cluster, key, relay, tmp_path):
    # Larger than what loopback socket buffers hold (tcp_rmem up to 32 MiB here, plus the sender's): with 8 slices
    # the node could send the whole image into the buffers, fetching every slice, before the relay froze, and
    # the download then ended complete (seen with the unchanged release binary as with this one).
    rec, _, digest = new_image(cluster, 48 * SLICE + 3, "store stops")
    n3 = cluster.nodes[2]
    link = mint(cluster, cluster.nodes[0], rec["id"], key)
    url = node_url(n3, link)
    out = str(tmp_path / "x")
    p = subprocess.Popen(["curl", "-sS", "--limit-rate", "1M", "-o", out, url], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not (os.path.exists(out) and os.path.getsize(out) >= MiB):
            assert p.poll() is None and time.time() < deadline, "curl ended before the store was stopped"
            time.sleep(0.05)
        relay.freeze()
        _, err = p.communicate(timeout=120)
        # Cut short of Content-Length: curl reports a partial transfer, never a complete download.
        assert p.returncode in (18, 56), (p.returncode, err)
        got = os.path.getsize(out)
        assert 0 < got < rec["size"]
        # A new request for what is missing answers 503 with Retry-After once blobs.timeout has passed.
        c = http.client.HTTPConnection(n3.host, cluster.ports.http, timeout=60)
        c.request("GET", "/d/" + link["https"].split("/d/", 1)[1], headers={"Range": f"bytes={got}-"})
        r = c.getresponse()
        r.read()
        c.close()
        assert r.status == 503 and r.getheader("Retry-After"), (r.status, r.getheaders())
    finally:
        relay.thaw()
        if p.poll() is None:
            p.kill()
            p.wait()
    r = run(["curl", "-sS", "-f", "-C", "-", "-o", out, url])
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == digest


def test_cache_stays_within_a_small_max_bytes_and_downloads_stay_identical(cluster, key, tmp_path):
    """Node 3 restarted with cache.max_bytes = 4 slices; three images of 3 slices each are downloaded, then
    again after a restart, each download evicting the others' slices. The slice files on disk stay within the cap once a download
    ends (soft: while one is served it may exceed the cap by the slices in flight, at most one here)."""
    n3 = cluster.nodes[2]
    plain = n3.settings
    n3.settings = lambda: {**plain(), "cache.max_bytes": "4MiB"}
    try:
        n3.restart()
        images = [new_image(cluster, 3 * SLICE - 17, f"evict {i}") for i in range(3)]
        cache = os.path.join(n3.data_dir, "cache")
        peak = [0]
        done = threading.Event()

        def watch():
            while not done.is_set():
                total = 0
                for f in os.listdir(cache):
                    if f.endswith(".slice"):
                        try:
                            total += os.path.getsize(os.path.join(cache, f))
                        except FileNotFoundError:
                            pass
                peak[0] = max(peak[0], total)
                time.sleep(0.01)

        watcher = threading.Thread(target=watch)
        try:
            for round_ in range(2):
                if round_:
                    # Within a second of its last use a reader from the open-file cache still serves the slices
                    # it holds open, evicted or not (their bytes stay until it lets go; Docs/object-storage.md,
                    # "Eviction"); a restart lets go of them all, so the second round reads the cache as left.
                    n3.restart()
                for rec, _, digest in images:
                    link = mint(cluster, cluster.nodes[0], rec["id"], key)
                    out = str(tmp_path / f"{rec['id']}-{round_}")
                    r = run(["curl", "-sS", "-f", "-o", out, node_url(n3, link)])
                    assert r.returncode == 0, r.stderr
                    assert sha256_file(out) == digest
                    on_disk = sum(os.path.getsize(os.path.join(cache, f)) for f in os.listdir(cache)
                                  if f.endswith(".slice"))
                    assert on_disk <= 4 * SLICE, on_disk
                    # The cache opens (and trims what earlier tests left) at the node's first download.
                    if not watcher.is_alive():
                        watcher.start()
        finally:
            done.set()
            if watcher.is_alive():
                watcher.join()
        assert peak[0] <= 5 * SLICE, peak[0]
        # Since the restart: the second round's nine fetches into a full cache of four slices.
        assert metric(n3, "imagegate_cache_evictions_total") >= 5
        # The second round found its slices evicted: fetched again.
        # The first image, least recently used, was wholly evicted by the other two: fetched again.
        gets = [store_gets(n3, rec["id"]) for rec, _, _ in images]
        assert sorted(gets[0]) == [0, 0, 1, 1, 2, 2], gets
    finally:
        del n3.settings
        n3.restart()
