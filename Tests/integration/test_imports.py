"""Imports through the API: resumable uploads (tus 1.0, real client tuspy and raw dropped connections),
in-line checks (sha256, format inspection, quotas), cancel, VM content, and server restarts mid-upload."""
import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

import cluster
from conftest import Server, sha256_file

MiB = 1 << 20


class API(cluster.API):
    """The management API of one test server (conftest.Server), with its admin key."""

    def __init__(self, server):
        super().__init__("127.0.0.1", server.port, server.admin_key)
        self.server = server

    def create_upload(self, name, size, **fields):
        body = {"name": name, "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"upload": {"size": size}}}
        body.update(fields)
        status, _, js, payload = self.call("POST", "/api/v1/imports", body)
        assert status == 201, payload
        assert js["status"] == "uploading" and js["upload_url"].startswith("/uploads/")
        return js

    def tus(self, method, path, offset=None, body=b"", extra=None):
        h = {"Tus-Resumable": "1.0.0"}
        if offset is not None:
            h["Upload-Offset"] = str(offset)
            h["Content-Type"] = "application/offset+octet-stream"
        h.update(extra or {})
        return self.call(method, path, headers=h, raw=body if method == "PATCH" else None)


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-imports"), "imports.upload_ttl = 1h\n").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api(srv):
    return API(srv)


def random_file(path, size):
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            b = os.urandom(min(left, 4 * MiB))
            f.write(b)
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def offset_of(api, upload_url):
    status, headers, _, _ = api.tus("HEAD", upload_url)
    assert status == 200
    return int(headers["upload-offset"])


def drop_mid_patch(api, upload_url, offset, data, send):
    """Starts a PATCH of `data` at `offset`, sends only `send` bytes of it, and drops the connection."""
    s = socket.create_connection(("127.0.0.1", api.server.port))
    head = (f"PATCH {upload_url} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {api.key}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    s.sendall(head + data[:send])
    time.sleep(0.3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    time.sleep(0.3)


TUSPY_UPLOAD = r'''
import sys, time
from tusclient import client
base, key, url, path, rate = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
class Slow:
    """A file whose reads take time, so the upload can be interrupted part-way for real."""
    def __init__(self, f): self.f = f
    def read(self, n=-1):
        b = self.f.read(n)
        if rate > 0: time.sleep(len(b) / rate)
        return b
    def seek(self, *a): return self.f.seek(*a)
    def tell(self): return self.f.tell()
c = client.TusClient(base + "/uploads", headers={"Authorization": "Bearer " + key})
with open(path, "rb") as f:
    u = c.uploader(file_stream=Slow(f), url=base + url, chunk_size=2 * 1024 * 1024, upload_checksum=True)
    u.upload()
print("done", u.offset)
'''


def tuspy(api, url, path, rate=0.0):
    return subprocess.Popen([sys.executable, "-c", TUSPY_UPLOAD, api.server.base, api.key, url, path, str(rate)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_upload_interrupted_twice_then_completed(api, srv, tmp_path):
    size = 48 * MiB + 123
    path = str(tmp_path / "disk.raw")
    digest = random_file(path, size)
    img = api.create_upload("resumable upload", size, sha256=digest)
    url = img["upload_url"]
    with open(path, "rb") as f:
        data = f.read()
    # 1: a dropped connection in the middle of a PATCH; the bytes that arrived are kept.
    drop_mid_patch(api, url, 0, data[:8 * MiB], 3 * MiB)
    first = offset_of(api, url)
    assert 0 < first <= 3 * MiB
    # 2: the real tus client (tuspy), killed part-way.
    p = tuspy(api, url, path, rate=8 * MiB)
    deadline = time.time() + 30
    while offset_of(api, url) < first + 6 * MiB and time.time() < deadline:
        time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    second = offset_of(api, url)
    assert first < second < size
    progress = api.image(img["id"])["progress"]
    assert progress["bytes"] <= second and progress["total"] == size
    # 3: resume to the end with the same client.
    p = tuspy(api, url, path)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    done = api.wait_status(img["id"], {"available", "failed"})
    assert done["status"] == "available", done
    assert done["sha256"] == digest and done["size"] == size
    # The bytes are served as imported.
    status, _, link, _ = api.call("POST", f"/api/v1/images/{img['id']}/links", {"ttl": "1h"})
    assert status == 201
    r = subprocess.run(["curl", "-sS", "-f", "--cacert", srv.ca_file, "-o", str(tmp_path / "back"), link["https"]])
    assert r.returncode == 0 and sha256_file(str(tmp_path / "back")) == digest


def test_tus_protocol_details(api):
    status, headers, _, _ = api.call("OPTIONS", "/uploads")
    assert status == 204 and headers["tus-version"] == "1.0.0"
    assert set(headers["tus-extension"].split(",")) == {"creation", "termination", "checksum"}
    img = api.create_upload("protocol", 4 * MiB)
    url = img["upload_url"]
    chunk = os.urandom(MiB)
    # Creation names an existing import.
    meta = "image_id " + base64.b64encode(img["id"].encode()).decode()
    status, headers, _, _ = api.tus("POST", "/uploads", extra={"Upload-Length": str(4 * MiB), "Upload-Metadata": meta})
    assert status == 201 and headers["location"] == url
    # Wrong offset: 409, nothing written.
    assert api.tus("PATCH", url, offset=5, body=chunk)[0] == 409
    # Checksum mismatch: 460 and the chunk is discarded.
    bad = "sha1 " + base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    assert api.tus("PATCH", url, offset=0, body=chunk, extra={"Upload-Checksum": bad})[0] == 460
    assert offset_of(api, url) == 0
    good = "sha1 " + base64.b64encode(hashlib.sha1(chunk).digest()).decode()
    status, headers, _, _ = api.tus("PATCH", url, offset=0, body=chunk, extra={"Upload-Checksum": good})
    assert status == 204 and headers["upload-offset"] == str(MiB)
    # Past Upload-Length: 413. No Tus-Resumable: 412. No key: 401.
    assert api.tus("PATCH", url, offset=MiB, body=os.urandom(4 * MiB))[0] == 413
    assert api.call("HEAD", url)[0] == 412
    assert http_status("HEAD", api.server.port, url, {"Tus-Resumable": "1.0.0"}) == 401
    # Termination cancels the import.
    assert api.tus("DELETE", url)[0] == 204
    img2 = api.image(img["id"])
    assert img2["status"] == "failed" and img2["failure_reason"] == "cancelled"
    assert api.tus("HEAD", url)[0] == 404


def http_status(method, port, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, headers=headers)
    r = c.getresponse()
    r.read()
    return r.status


def test_cancel_mid_upload_removes_partial_bytes(api, srv):
    img = api.create_upload("to cancel", 16 * MiB)
    url = img["upload_url"]
    assert api.tus("PATCH", url, offset=0, body=os.urandom(2 * MiB))[0] == 204
    staging = os.path.join(srv.data_dir, "staging")
    assert any(n.startswith(img["id"]) for n in os.listdir(staging))
    status, _, js, _ = api.call("POST", f"/api/v1/images/{img['id']}/cancel")
    assert status == 200 and js["status"] == "failed" and js["failure_reason"] == "cancelled"
    assert not any(n.startswith(img["id"]) for n in os.listdir(staging))
    assert api.tus("PATCH", url, offset=2 * MiB, body=b"x")[0] == 404
    # Cancelled images are deletable.
    assert api.call("DELETE", f"/api/v1/images/{img['id']}")[0] == 200


def upload_all(api, img, data):
    status, headers, js, payload = api.tus("PATCH", img["upload_url"], offset=0, body=data)
    return status, payload


def test_wrong_sha256_fails_and_leaves_nothing(api, srv):
    data = os.urandom(3 * MiB)
    img = api.create_upload("wrong sha", len(data), sha256="0" * 64)
    upload_all(api, img, data)
    done = api.wait_status(img["id"], {"available", "failed"})
    assert done["status"] == "failed" and "sha256 mismatch" in done["failure_reason"]
    assert not os.path.exists(os.path.join(srv.data_dir, "blobs", img["id"]))


def qemu_img(*args):
    r = subprocess.run(["qemu-img"] + list(args), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) not installed")


@needs_qemu
@pytest.mark.parametrize("case,expect", [
    ("qcow2_ok", None),
    ("qcow2_backing", "backing file"),
    ("qcow2_data_file", "external data file"),
    ("vmdk", "VMDK"),
    ("gzip", "compressed"),
])
def test_format_inspection_while_streaming(api, srv, tmp_path, case, expect):
    path = tmp_path / "img"
    fmt = "qcow2"
    if case == "qcow2_ok":
        qemu_img("create", "-f", "qcow2", str(path), "64M")
    elif case == "qcow2_backing":
        qemu_img("create", "-f", "qcow2", str(tmp_path / "base"), "64M")
        qemu_img("create", "-f", "qcow2", "-F", "qcow2", "-b", str(tmp_path / "base"), str(path))
    elif case == "qcow2_data_file":
        qemu_img("create", "-f", "qcow2", "-o", f"data_file={tmp_path / 'data.raw'}", str(path), "64M")
    elif case == "vmdk":
        qemu_img("create", "-f", "vmdk", str(path), "64M")
    else:
        subprocess.run(["sh", "-c", f"head -c 300000 /dev/urandom | gzip > {path}"], check=True)
    data = path.read_bytes()
    img = api.create_upload(case, len(data), format=fmt)
    upload_all(api, img, data)
    done = api.wait_status(img["id"], {"available", "failed"})
    if expect is None:
        assert done["status"] == "available", done
        assert done["format"] == "qcow2" and done["virtual_size"] == 64 * MiB
    else:
        assert done["status"] == "failed", done
        assert expect.lower() in done["failure_reason"].lower(), done["failure_reason"]
        assert not os.path.exists(os.path.join(srv.data_dir, "blobs", img["id"]))


def test_declared_kind_must_match_content(api, tmp_path):
    data = b"QFI\xfb" + b"\0" * 200000
    img = api.create_upload("raw with qcow2 header", len(data), format="raw")
    upload_all(api, img, data)
    done = api.wait_status(img["id"], {"available", "failed"})
    assert done["status"] == "failed" and "qcow2" in done["failure_reason"].lower()


@pytest.mark.parametrize("fields,word", [
    ({"platform": "CentOS", "architecture": "aarch64", "os_version": "7.4"}, "versions"),
    ({"platform": "Ubuntu", "os_version": "22.04"}, "versions"),
    ({"system_type": "Plan9"}, "system type"),
    ({"boot_mode": "Legacy"}, "boot mode"),
    ({"features": ["cloud-init", "magic"]}, "agent"),
    ({"kind": "iso", "features": ["qemu-ga"]}, "self-made"),
    ({"sha256": "xyz"}, "sha256"),
    ({"name": "bad\u0007name"}, "name"),
    ({"bogus": 1}, "unknown field"),
])
def test_import_request_validation(api, fields, word):
    body = {"name": "v", "kind": "self_made", "format": "qcow2", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "UEFI", "source": {"upload": {"size": 10}}}
    body.update(fields)
    status, _, js, payload = api.call("POST", "/api/v1/imports", body)
    assert status == 400, payload
    assert word.lower() in js["error"]["message"].lower(), js


def test_os_matrix_served(api):
    status, _, js, _ = api.call("GET", "/api/v1/os-matrix")
    assert status == 200
    ubuntu = [e for e in js["entries"] if e["platform"] == "Ubuntu" and e["architecture"] == "aarch64"]
    assert ubuntu[0]["versions"] == ["16.04", "18.04"]
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "Config", "os-matrix.json")) as f:
        assert json.load(f) == js


def test_image_made_from_a_vm(api, tmp_path):
    status, _, img, payload = api.call("POST", "/api/v1/imports", {
        "name": "made from vm-7", "kind": "self_made", "format": "raw", "system_type": "Linux",
        "platform": "Ubuntu", "os_version": "20.04", "architecture": "x86_64", "boot_mode": "UEFI",
        "source": {"vm": "vm-7"}})
    assert status == 201 and img["status"] == "making", payload
    data = os.urandom(5 * MiB)
    status, _, js, payload = api.call("PUT", f"/api/v1/images/{img['id']}/content", raw=data,
                                      headers={"Content-Type": "application/octet-stream"})
    assert status == 202, payload
    done = api.wait_status(img["id"], {"available", "failed"})
    assert done["status"] == "available" and done["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_upload_survives_server_restarts(workdir, tmp_path):
    s = Server(os.path.join(workdir, "data-imports-restart")).start()
    try:
        api = API(s)
        size = 20 * MiB
        path = str(tmp_path / "d.raw")
        digest = random_file(path, size)
        data = open(path, "rb").read()
        img = api.create_upload("survivor", size, sha256=digest)
        url = img["upload_url"]
        assert api.tus("PATCH", url, offset=0, body=data[:6 * MiB])[0] == 204
        s.stop(signal.SIGTERM)
        s.start()
        api = API(s)
        assert offset_of(api, url) == 6 * MiB
        assert api.tus("PATCH", url, offset=6 * MiB, body=data[6 * MiB:12 * MiB])[0] == 204
        s.stop(signal.SIGKILL)  # a crash this time
        s.start()
        api = API(s)
        off = offset_of(api, url)
        assert off == 12 * MiB
        assert api.image(img["id"])["status"] == "uploading"
        assert api.tus("PATCH", url, offset=off, body=data[off:])[0] == 204
        done = api.wait_status(img["id"], {"available", "failed"})
        assert done["status"] == "available" and done["sha256"] == digest
    finally:
        s.stop()


def test_tenant_quota_enforced_at_the_first_byte_over(workdir):
    s = Server(os.path.join(workdir, "data-imports-quota"), "imports.tenant_quota_bytes = 4MiB\n").start()
    try:
        api = API(s)
        status, _, js, _ = api.call("POST", "/api/v1/imports", {
            "name": "too big", "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS", "source": {"upload": {"size": 5 * MiB}}})
        assert status == 403 and "quota" in js["error"]["message"]
        img = api.create_upload("fits", 3 * MiB)
        assert api.tus("PATCH", img["upload_url"], offset=0, body=os.urandom(3 * MiB))[0] == 204
        assert api.wait_status(img["id"], {"available", "failed"})["status"] == "available"
        status, _, js, _ = api.call("POST", "/api/v1/imports", {
            "name": "over", "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS", "source": {"upload": {"size": 2 * MiB}}})
        assert status == 403
    finally:
        s.stop()


def test_cli_remote_import_refuses_a_fifo_at_once(api, srv, tmp_path):
    """A FIFO is no image: a remote `image import --file` refuses it before any request, without waiting for a
    writer."""
    from conftest import BIN, OS_ARGS
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    env = dict(os.environ, IMAGEGATE_API_KEY=api.key)
    r = subprocess.run([BIN, "image", "import", "--file", str(fifo), "--name", "pipe", "--server", srv.base,
                        *OS_ARGS], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 4, r.stderr
    assert "not a non-empty regular file" in r.stderr


def test_cli_remote_import_and_commands(api, srv, tmp_path):
    from conftest import BIN
    path = str(tmp_path / "remote.raw")
    digest = random_file(path, 20 * MiB + 5)
    env = dict(os.environ, IMAGEGATE_API_KEY=api.key)
    base = f"https://127.0.0.1:{srv.tls_port}"
    r = subprocess.run([BIN, "image", "import", "--file", path, "--name", "via CLI", "--server", base,
                        "--cacert", srv.ca_file, "--system-type", "Linux", "--platform", "Ubuntu",
                        "--os-version", "18.04", "--architecture", "aarch64", "--boot-mode", "UEFI",
                        "--sha256", digest, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    img = json.loads(r.stdout)
    assert img["status"] == "available" and img["sha256"] == digest and img["os_release"] == "Ubuntu 18.04 aarch64"
    # The same CLI commands reach the remote server.
    r = subprocess.run([BIN, "image", "show", img["id"], "--server", srv.base, "--json"], capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == img["id"]
    bad = dict(env, IMAGEGATE_API_KEY="igk_000000000000_" + "A" * 43)
    r = subprocess.run([BIN, "image", "list", "--server", srv.base], capture_output=True, text=True, env=bad)
    assert r.returncode == 4 and "API key" in r.stderr
    # A remote import outside the OS matrix is refused before any byte moves.
    r = subprocess.run([BIN, "image", "import", "--file", path, "--name", "bad os", "--server", srv.base,
                        "--system-type", "Linux", "--platform", "Ubuntu", "--os-version", "12.04",
                        "--architecture", "x86_64", "--boot-mode", "BIOS"], capture_output=True, text=True, env=env)
    assert r.returncode == 4 and "versions supported" in r.stderr
