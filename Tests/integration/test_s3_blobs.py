"""Blobs on S3-compatible object storage (blobs.url = s3://…, Docs/object-storage.md), against SeaweedFS from
scripts/seaweedfs.sh: local-file, tus and URL imports land as objects PREFIX/images/<id>/<generation> (listed and
read back through the S3 API, SHA-256 compared); a tus upload interrupted by a killed server continues the SAME
multipart upload after the restart (ListMultipartUploads/ListParts); cancel aborts the multipart upload;
recovery aborts a multipart upload no import owns; wrong credentials and a missing bucket stop `serve` with a
one-line reason."""
import datetime
import functools
import hashlib
import hmac
import http.client
import json
import http.server
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from conftest import BIN, Server, sha256_file
from test_imports import API

MiB = 1 << 20
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
SEAWEEDFS = os.path.join(ROOT, "scripts", "seaweedfs.sh")

pytestmark = pytest.mark.skipif(not shutil.which("curl"), reason="curl missing: run scripts/install-deps.sh --test")


@pytest.fixture(scope="module")
def store():
    """The test store's variables: the one scripts/test.sh started, or a private one for this module."""
    if os.environ.get("IMAGEGATE_TEST_S3_ENDPOINT"):
        yield {k: v for k, v in os.environ.items() if k.startswith("IMAGEGATE_TEST_S3_")}
        return
    d = tempfile.mkdtemp(prefix="igs3-")
    try:
        out = subprocess.run(["bash", SEAWEEDFS, "start", d], capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        yield dict(line.removeprefix("export ").split("=", 1) for line in out.stdout.split("\n") if line)
    finally:
        subprocess.run(["bash", SEAWEEDFS, "stop", d], capture_output=True, text=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)


class S3:
    """A small AWS Signature Version 4 client (the test's own, independent of the server's S3Client)."""

    def __init__(self, env, secret=None, bucket=None):
        self.endpoint = env["IMAGEGATE_TEST_S3_ENDPOINT"]
        self.host = self.endpoint.split("://", 1)[1]
        self.region = env["IMAGEGATE_TEST_S3_REGION"]
        self.key = env["IMAGEGATE_TEST_S3_KEY"]
        self.secret = secret or env["IMAGEGATE_TEST_S3_SECRET"]
        self.bucket = bucket or env["IMAGEGATE_TEST_S3_BUCKET"]

    def request(self, method, key="", query=None, body=b""):
        path = "/" + self.bucket + ("/" + quote(key, safe="/~") if key else "")
        pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in (query or {}).items())
        cq = "&".join(f"{k}={v}" for k, v in pairs)
        amz = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        ph = hashlib.sha256(body).hexdigest()
        headers = {"host": self.host, "x-amz-content-sha256": ph, "x-amz-date": amz}
        signed = ";".join(sorted(headers))
        canonical = "\n".join([method, path, cq, "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)), signed, ph])
        scope = f"{amz[:8]}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        k = ("AWS4" + self.secret).encode()
        for part in (amz[:8], self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = f"AWS4-HMAC-SHA256 Credential={self.key}/{scope}, SignedHeaders={signed}, Signature={sig}"
        c = http.client.HTTPConnection(self.host, timeout=60)
        c.request(method, path + ("?" + cq if cq else ""), body=body or None, headers=headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    @staticmethod
    def elements(xml_bytes, name):
        """Every element `name` (namespace ignored) as a dict of its children's text."""
        root = ET.fromstring(xml_bytes)
        out = []
        for e in root.iter():
            if e.tag.split("}")[-1] == name:
                out.append({c.tag.split("}")[-1]: (c.text or "") for c in e})
        return out

    def objects(self, prefix):
        status, body = self.request("GET", query={"list-type": "2", "prefix": prefix})
        assert status == 200, body
        return {o["Key"]: int(o["Size"]) for o in self.elements(body, "Contents")}

    def uploads(self, prefix):
        status, body = self.request("GET", query={"uploads": "", "prefix": prefix})
        assert status == 200, body
        return [(u["Key"], u["UploadId"]) for u in self.elements(body, "Upload")]

    def parts(self, key, upload_id):
        status, body = self.request("GET", key, query={"uploadId": upload_id})
        assert status == 200, body
        return [int(p["PartNumber"]) for p in self.elements(body, "Part")]

    def sha256(self, key):
        status, body = self.request("GET", key)
        assert status == 200, body[:200]
        return hashlib.sha256(body).hexdigest()


def node_config(store, prefix, extra=""):
    """A node storing blobs under s3://BUCKET/PREFIX, with its credentials in a 0600 file."""
    creds = os.path.join(tempfile.mkdtemp(prefix="igs3creds-"), "credentials")
    with open(creds, "w") as f:
        f.write(f"[default]\naws_access_key_id = {store['IMAGEGATE_TEST_S3_KEY']}\n"
                f"aws_secret_access_key = {store['IMAGEGATE_TEST_S3_SECRET']}\n")
    os.chmod(creds, 0o600)
    url = (f"s3://{store['IMAGEGATE_TEST_S3_BUCKET']}/{prefix}?endpoint={store['IMAGEGATE_TEST_S3_ENDPOINT']}"
           f"&region={store['IMAGEGATE_TEST_S3_REGION']}&path_style=true")
    return (f"blobs.url = {url}\nblobs.credentials_file = {creds}\nblobs.part_size = 16MiB\n"
            f"imports.upload_ttl = 1h\nimports.allow_private = 127.0.0.0/8\n" + extra)


@pytest.fixture
def node(store, tmp_path):
    prefix = "t-" + uuid.uuid4().hex[:12]
    s = Server(str(tmp_path / "data"), node_config(store, prefix)).start()
    s.prefix = prefix
    yield s
    s.stop()


def random_file(path, size):
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    return sha256_file(path)


def test_local_file_import_lands_as_one_object_per_version(store, node, tmp_path):
    s3 = S3(store)
    path = str(tmp_path / "disk.raw")
    digest = random_file(path, 40 * MiB + 123)  # three parts of 16 MiB, the last one short
    rec = node.import_image(path, "s3 local file")
    assert rec["status"] == "available" and rec["sha256"] == digest
    key = f"{node.prefix}/images/{rec['id']}/1"
    assert s3.objects(f"{node.prefix}/") == {key: 40 * MiB + 123}
    assert s3.sha256(key) == digest
    assert s3.uploads(f"{node.prefix}/") == []
    # Delete bumps the generation but keeps the bytes (and the object); destroy removes the object.
    node.cli("image", "delete", rec["id"])
    assert s3.objects(f"{node.prefix}/") == {key: 40 * MiB + 123}
    node.cli("image", "destroy", rec["id"])
    assert s3.objects(f"{node.prefix}/") == {}


def test_an_object_without_a_catalog_row_is_quarantined_not_deleted(store, tmp_path):
    s3 = S3(store)
    prefix = "t-" + uuid.uuid4().hex[:12]
    orphan = f"{prefix}/images/img-{uuid.uuid4().hex}/3"
    assert s3.request("PUT", orphan, body=b"orphan bytes")[0] == 200
    time.sleep(2.1)  # older than the grace period below (the store's Last-Modified has whole seconds)
    s = Server(str(tmp_path / "data"), node_config(store, prefix, "catalog.orphan_grace = 1s\n")).start()
    try:
        moved = s3.objects(f"{prefix}/quarantine/")
        assert len(moved) == 1 and s3.objects(f"{prefix}/images/") == {}
        (qkey,) = moved
        assert re.fullmatch(re.escape(orphan.replace("/images/", "/quarantine/")) + r"\.\d+", qkey), qkey
        assert s3.request("GET", qkey)[1] == b"orphan bytes"
    finally:
        s.stop()


@pytest.mark.slow
def test_tus_upload_continues_the_same_multipart_upload_after_a_restart(store, node, tmp_path):
    s3 = S3(store)
    api = API(node)
    data = os.urandom(40 * MiB + 7)
    job = api.create_upload("s3 tus", len(data))
    url = job["upload_url"]
    status, headers, _, _ = api.tus("PATCH", url, offset=0, body=data[:20 * MiB])
    assert status == 204 and headers["upload-offset"] == str(20 * MiB)
    # One 16 MiB part is stored; the 4 MiB after it were saved as the tail object when the PATCH ended.
    (key, upload_id), = s3.uploads(f"{node.prefix}/images/")
    assert key == f"{node.prefix}/images/{job['id']}/1"
    assert s3.parts(key, upload_id) == [1]
    tails = s3.objects(f"{node.prefix}/staging/")
    assert list(tails.values()) == [4 * MiB] and upload_id in next(iter(tails))

    node.stop(signal.SIGKILL)
    node.start()
    api = API(node)
    status, headers, _, _ = api.tus("HEAD", url)
    assert status == 200 and headers["upload-offset"] == str(20 * MiB)
    assert s3.uploads(f"{node.prefix}/images/") == [(key, upload_id)], "the restarted node must continue it"
    status, headers, _, _ = api.tus("PATCH", url, offset=20 * MiB, body=data[20 * MiB:])
    assert status == 204 and headers["upload-offset"] == str(len(data))
    done = api.wait_status(job["id"], {"available", "failed"})
    assert done["status"] == "available", done
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    assert s3.sha256(key) == done["sha256"]
    assert s3.uploads(f"{node.prefix}/") == []
    assert s3.objects(f"{node.prefix}/staging/") == {}


def test_finalize_sends_the_last_part_once(store, tmp_path):
    """A tus upload in one PATCH: one 16 MiB part while it arrives, 4 MiB + 7 bytes after it. Finalize sends those
    once, as the last part (recorded with the final checkpoint, Docs/object-storage.md "Imports"), never also
    as a tail object; counted from the node's own debug lines, one per store request."""
    prefix = "t-" + uuid.uuid4().hex[:12]
    node = Server(str(tmp_path / "data"), node_config(store, prefix, "log.level = debug\n"),
                  log_path=str(tmp_path / "node.log")).start()
    try:
        data = os.urandom(20 * MiB + 7)
        api = API(node)
        job = api.create_upload("s3 once", len(data))
        status, headers, _, _ = api.tus("PATCH", job["upload_url"], offset=0, body=data)
        assert status == 204 and headers["upload-offset"] == str(len(data))
        done = api.wait_status(job["id"], {"available", "failed"})
        assert done["status"] == "available", done
        assert S3(store).sha256(f"{prefix}/images/{job['id']}/1") == hashlib.sha256(data).hexdigest()
        sent = re.findall(rf"s3: (\w+) key={re.escape(prefix)}/\S+ status=2\d\d sent=(\d+)", node.log())
        assert [op for op, _ in sent if op == "PutObject"] == [], sent
        assert [int(n) for op, n in sent if op == "UploadPart"] == [16 * MiB, 4 * MiB + 7], sent
    finally:
        node.stop()


def test_url_import_lands_as_an_object(store, node, tmp_path):
    s3 = S3(store)
    src = tmp_path / "www"
    src.mkdir()
    digest = random_file(str(src / "disk.raw"), 18 * MiB + 5)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(src))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        api = API(node)
        body = {"name": "s3 url", "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"url": f"http://127.0.0.1:{web.server_address[1]}/disk.raw"}}
        status, _, js, payload = api.call("POST", "/api/v1/imports", body)
        assert status == 201, payload
        done = api.wait_status(js["id"], {"available", "failed"})
        assert done["status"] == "available", done
        assert done["sha256"] == digest
        key = f"{node.prefix}/images/{js['id']}/1"
        assert s3.objects(f"{node.prefix}/images/") == {key: 18 * MiB + 5}
        assert s3.sha256(key) == digest
    finally:
        web.shutdown()


def test_cancel_aborts_the_multipart_upload(store, node):
    s3 = S3(store)
    api = API(node)
    job = api.create_upload("s3 cancel", 40 * MiB)
    status, _, _, _ = api.tus("PATCH", job["upload_url"], offset=0, body=os.urandom(17 * MiB))
    assert status == 204
    assert len(s3.uploads(f"{node.prefix}/images/")) == 1
    assert len(s3.objects(f"{node.prefix}/staging/")) == 1
    assert api.tus("DELETE", job["upload_url"])[0] == 204
    img = api.image(job["id"])
    assert img["status"] == "failed" and img["failure_reason"] == "cancelled"
    assert s3.uploads(f"{node.prefix}/") == []
    assert s3.objects(f"{node.prefix}/") == {}


def test_recovery_aborts_a_multipart_upload_no_import_owns(store, node):
    s3 = S3(store)
    orphan_key = f"{node.prefix}/images/img-{uuid.uuid4().hex}/1"
    status, body = s3.request("POST", orphan_key, query={"uploads": ""})
    assert status == 200, body
    (upload_id,) = [u["UploadId"] for u in [dict((c.tag.split('}')[-1], c.text) for c in ET.fromstring(body))]]
    assert s3.uploads(f"{node.prefix}/") == [(orphan_key, upload_id)]
    node.stop()
    node.start()
    assert s3.uploads(f"{node.prefix}/") == []
    node.stop()  # flushes the log
    log = "\n".join(node.lines) + node.proc.stderr.read()
    assert f"aborted multipart upload {upload_id} of {orphan_key}" in log


def refusal(store, tmp_path, extra="", **change):
    """Runs `serve` against a changed store and returns (exit code, stderr)."""
    conf = tmp_path / "bad.conf"
    conf.write_text(node_config(dict(store, **change), "refused", extra))
    r = subprocess.run([BIN, "serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--ftp", "127.0.0.1:0",
                        "--sftp", "127.0.0.1:0", "--metrics", "off", "--data-dir", str(tmp_path / "d"),
                        "--config", str(conf)], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


def test_wrong_credentials_or_missing_bucket_stop_serve_with_one_line(store, tmp_path):
    code, err = refusal(store, tmp_path, IMAGEGATE_TEST_S3_SECRET="x" * 40)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "credentials refused" in lines[0], err
    assert "x" * 40 not in err
    code, err = refusal(store, tmp_path, IMAGEGATE_TEST_S3_BUCKET=store["IMAGEGATE_TEST_S3_MISSING_BUCKET"])
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "bucket missing" in lines[0], err
    # 10,000 parts of 16 MiB hold 156 GiB: a larger import limit is refused before anything starts.
    code, err = refusal(store, tmp_path, "imports.max_bytes = 200GiB\n")
    assert code != 0 and "blobs.part_size" in err and "too small" in err, err


have_postgres = os.path.isdir("/usr/lib/postgresql") and any(
    os.path.exists(f"/usr/lib/postgresql/{v}/bin/initdb") for v in os.listdir("/usr/lib/postgresql"))


@pytest.mark.slow
@pytest.mark.skipif(not have_postgres, reason="PostgreSQL server binaries missing (postgresql package)")
def test_tus_upload_started_on_one_node_continues_the_same_multipart_upload_on_another(store, tmp_path):
    """Two nodes on one PostgreSQL catalog and one bucket: the first PATCH reaches node 1, the rest node 2,
    which continues node 1's multipart upload from the catalog's record (parts, checkpoint, tail)."""
    from cluster import API as NodeAPI, Cluster, PostgresServer

    s3 = S3(store)
    prefix = "t-" + uuid.uuid4().hex[:12]
    extra = dict(line.split(" = ", 1) for line in node_config(store, prefix).strip().split("\n"))
    pg = PostgresServer(os.environ.get("IMAGEGATE_TEST_PG_URL")).start()
    c = Cluster(nodes=2, catalog="postgres", pg=pg, balancer=False, strict=False, extra_settings=extra)
    try:
        c.start()
        n1, n2 = NodeAPI.of(c, c.nodes[0]), NodeAPI.of(c, c.nodes[1])
        data = os.urandom(36 * MiB + 3)
        body = {"name": "two nodes", "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"upload": {"size": len(data)}}}
        status, _, created, payload = n1.call("POST", "/api/v1/imports", body)
        assert status == 201, payload
        url = created["upload_url"]

        def patch(api, offset, chunk):
            return api.call("PATCH", url, raw=chunk, headers={
                "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream"})

        status, headers, _, payload = patch(n1, 0, data[:18 * MiB])
        assert status == 204 and headers["upload-offset"] == str(18 * MiB), payload
        (key, upload_id), = s3.uploads(f"{prefix}/images/")
        status, headers, _, _ = n2.call("HEAD", url, headers={"Tus-Resumable": "1.0.0"})
        assert status == 200 and headers["upload-offset"] == str(18 * MiB)
        status, headers, _, payload = patch(n2, 18 * MiB, data[18 * MiB:])
        assert status == 204 and headers["upload-offset"] == str(len(data)), payload
        deadline = time.time() + 60
        while time.time() < deadline:
            img = n1.call("GET", f"/api/v1/images/{created['id']}")[2]
            if img["status"] != "uploading":
                break
            time.sleep(0.2)
        assert img["status"] == "available", img
        assert img["sha256"] == hashlib.sha256(data).hexdigest()
        assert key == f"{prefix}/images/{created['id']}/1" and s3.sha256(key) == img["sha256"]
        assert s3.uploads(f"{prefix}/") == []
    finally:
        c.close()
        pg.stop()


class SlowRangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves one file slowly (1 MiB steps), honouring `Range: bytes=N-`, and records each request's range."""
    data = b""
    ranges = []
    step_seconds = 0.05

    def do_GET(self):
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if m:
            start = int(m.group(1))
        type(self).ranges.append(start)
        body = self.data[start:]
        self.send_response(206 if m else 200)
        if m:
            self.send_header("Content-Range", f"bytes {start}-{len(self.data) - 1}/{len(self.data)}")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"fixed"')
        self.end_headers()
        try:
            for i in range(0, len(body), MiB):
                self.wfile.write(body[i:i + MiB])
                time.sleep(type(self).step_seconds)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_url_import_killed_mid_transfer_resumes_from_its_last_part(store, node):
    """The node dies with a part stored; after the restart the fetch continues with a Range request from the
    last recorded part's end (the checkpoint), not from byte 0, and the object has the source's bytes."""
    s3 = S3(store)
    data = os.urandom(56 * MiB + 9)
    # 0.1 s per MiB: about 5.6 s in all, so the kill below lands with parts still to come even on a busy machine.
    SlowRangeHandler.data, SlowRangeHandler.ranges, SlowRangeHandler.step_seconds = data, [], 0.1
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowRangeHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        api = API(node)
        body = {"name": "s3 url resume", "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"url": f"http://127.0.0.1:{web.server_address[1]}/disk.raw"}}
        status, _, js, payload = api.call("POST", "/api/v1/imports", body)
        assert status == 201, payload
        # Kill once two parts are in the store: parts are uploaded in order and a part's checkpoint is recorded
        # before the next part is uploaded, so the first part's checkpoint is then in the catalog. (Waiting on the
        # progress counter instead raced the part upload on a loaded machine: the fetch runs up to a part ahead.)
        deadline, parts = time.time() + 60, []
        while time.time() < deadline and len(parts) < 2:
            uploads = s3.uploads(f"{node.prefix}/images/")
            parts = s3.parts(*uploads[0]) if uploads else []
            time.sleep(0.05)
        node.stop(signal.SIGKILL)
        (key, upload_id), = s3.uploads(f"{node.prefix}/images/")
        parts = s3.parts(key, upload_id)
        assert len(parts) >= 2 and parts == list(range(1, len(parts) + 1)), parts
        node.start()
        api = API(node)
        done = api.wait_status(js["id"], {"available", "failed"}, timeout=120)
        assert done["status"] == "available", done
        assert done["sha256"] == hashlib.sha256(data).hexdigest() == s3.sha256(key)
        # Resumed at a part boundary the catalog recorded (the last part, or the one before it if the node died
        # between storing a part and recording its checkpoint), never from 0.
        resumed = SlowRangeHandler.ranges[-1]
        assert SlowRangeHandler.ranges[0] == 0 and len(SlowRangeHandler.ranges) == 2, SlowRangeHandler.ranges
        assert resumed > 0 and resumed % (16 * MiB) == 0 and resumed <= 16 * MiB * len(parts), SlowRangeHandler.ranges
    finally:
        web.shutdown()


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "Sources", "SliceCache")),
                    reason="downloads from an object store read through the slice cache (Sources/SliceCache), "
                           "not in this tree yet")
def test_download_of_an_s3_image_is_byte_identical_whole_and_ranged(store, node, tmp_path):
    """Cold then warm: the whole image and a range across a slice boundary, over HTTP with curl; the ETag does
    not depend on the storage (the same on both reads)."""
    path = str(tmp_path / "disk.raw")
    digest = random_file(path, 20 * MiB + 11)  # two slices of 16 MiB, the second short
    rec = node.import_image(path, "s3 download")
    link = node.mint(rec["id"])["http"]
    url = f"http://127.0.0.1:{node.port}/" + link.split("//", 1)[1].split("/", 1)[1]
    heads = []
    for attempt in ("cold", "warm"):
        out = str(tmp_path / f"{attempt}.raw")
        r = subprocess.run(["curl", "-sS", "-f", "-D", out + ".head", "-o", out, url], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert sha256_file(out) == digest
        heads.append([l for l in open(out + ".head").read().splitlines() if l.lower().startswith("etag:")])
    assert heads[0] == heads[1] and heads[0]
    out = str(tmp_path / "range.raw")
    first, last = 16 * MiB - 1000, 16 * MiB + 1000
    r = subprocess.run(["curl", "-sS", "-f", "-r", f"{first}-{last}", "-o", out, url], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(path, "rb") as f:
        f.seek(first)
        assert open(out, "rb").read() == f.read(last - first + 1)


def test_the_cli_reads_credentials_from_the_environment_without_a_file(store, tmp_path):
    """`blobs.credentials_file` empty: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, as the server reads them; neither
    is a refusal naming both ways."""
    prefix = "t-" + uuid.uuid4().hex[:12]
    conf = tmp_path / "env.conf"
    conf.write_text("\n".join(l for l in node_config(store, prefix).split("\n")
                              if not l.startswith("blobs.credentials_file")) + "\n")
    path = str(tmp_path / "disk.raw")
    digest = random_file(path, 3 * MiB + 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base = [BIN, "image", "import", "--file", path, "--name", "env creds", "--json", "--data-dir",
            str(tmp_path / "d"), "--config", str(conf), "--system-type", "Linux", "--platform", "CentOS",
            "--os-version", "7.9", "--architecture", "x86_64", "--boot-mode", "BIOS"]
    r = subprocess.run(base, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode != 0 and "no S3 credentials" in r.stderr.splitlines()[0], r.stderr
    assert "AWS_ACCESS_KEY_ID" in r.stderr.splitlines()[0] and "credentials file" in r.stderr.splitlines()[0]
    env.update(AWS_ACCESS_KEY_ID=store["IMAGEGATE_TEST_S3_KEY"], AWS_SECRET_ACCESS_KEY=store["IMAGEGATE_TEST_S3_SECRET"])
    r = subprocess.run(base, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert S3(store).sha256(f"{prefix}/images/{json.loads(r.stdout)['id']}/1") == digest
