"""The HTTP front keeps blob descriptors open between requests (Docs/architecture.md, open-file cache):
a deleted or restored image is never served from a stale descriptor, and a destroyed image's descriptor is
closed by the server on its own (its disk space is freed) without any further request."""
import os
import time
import urllib.error
import urllib.request

from conftest import Server


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def blob_descriptors(pid, blob):
    """Descriptors of the server that name the blob (also once it is unlinked: 'PATH (deleted)')."""
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target == blob or target == blob + " (deleted)":
            out.append(target)
    return out


def wait_for(predicate, seconds=15):
    """Polls a condition the server reaches by itself (cache windows of about a second); fails after a bound
    far beyond those windows, so a slow machine does not fail it but a descriptor held forever does."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_destroyed_image_descriptor_is_closed_without_traffic(tmp_path):
    s = Server(str(tmp_path / "data")).start()
    try:
        data = os.urandom(300_000)
        src = tmp_path / "a.img"
        src.write_bytes(data)
        rec = s.import_image(str(src), "cached")
        link = s.mint(rec["id"])["http"]
        blob = os.path.join(s.data_dir, "blobs", rec["id"])
        assert fetch(link, {"Range": "bytes=10-19"}) == (206, data[10:20])
        assert fetch(link, {"Range": "bytes=100-199"}) == (206, data[100:200])
        # The cache is in effect: the server holds the blob open between requests.
        assert len(blob_descriptors(s.proc.pid, blob)) == 1
        s.cli("image", "delete", rec["id"])
        assert wait_for(lambda: fetch(link)[0] == 404)
        s.cli("image", "destroy", rec["id"])
        assert not os.path.exists(blob)
        # No request comes any more; the server must still let go of the unlinked file.
        assert wait_for(lambda: blob_descriptors(s.proc.pid, blob) == [])
    finally:
        s.stop()


def test_restored_image_serves_through_a_fresh_descriptor_and_old_link_dies(tmp_path):
    s = Server(str(tmp_path / "data")).start()
    try:
        data = os.urandom(200_000)
        src = tmp_path / "b.img"
        src.write_bytes(data)
        rec = s.import_image(str(src), "restored")
        old = s.mint(rec["id"])["http"]
        blob = os.path.join(s.data_dir, "blobs", rec["id"])
        assert fetch(old) == (200, data)
        s.cli("image", "delete", rec["id"])
        assert wait_for(lambda: fetch(old)[0] == 404)
        s.cli("image", "restore", rec["id"])
        fresh = s.mint(rec["id"])["http"]
        assert fetch(fresh) == (200, data)
        assert fetch(fresh, {"Range": "bytes=5-9"}) == (206, data[5:10])
        # Generation bumped twice: the old link stays dead even though the bytes are back.
        assert fetch(old)[0] == 404
        # One descriptor for the blob, whatever generations were served.
        assert len(blob_descriptors(s.proc.pid, blob)) == 1
    finally:
        s.stop()
