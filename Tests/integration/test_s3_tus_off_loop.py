"""A tus PATCH into the object store never holds up its HTTP event loop (Docs/object-storage.md, "tus PATCH off
the event loop"): one node with a single event loop (`http.loops = 1`) reaches SeaweedFS (test_s3_blobs.py's
`store`) through a relay that can be frozen (store_relay.StoreRelay). The store is frozen while a PATCH fills a
part, so that part's upload hangs; a range download of a warm image from the same node (the same loop) is
answered meanwhile, and once the store is back the PATCH ends with 204 and the offset of every byte sent, and
the upload completes with the right SHA-256."""
import hashlib
import http.client
import os
import socket
import threading
import time
import uuid

import pytest

from conftest import Server
from store_relay import StoreRelay
from test_imports import API
from test_s3_blobs import node_config, store  # noqa: F401

MiB = 1 << 20
PART = 16 * MiB  # blobs.part_size of node_config


@pytest.fixture
def relayed_node(store, tmp_path):  # noqa: F811
    host, port = store["IMAGEGATE_TEST_S3_ENDPOINT"].split("://", 1)[1].rsplit(":", 1)
    relay = StoreRelay((host, int(port)))
    via_relay = dict(store, IMAGEGATE_TEST_S3_ENDPOINT=f"http://127.0.0.1:{relay.port}")
    prefix = "t-" + uuid.uuid4().hex[:12]
    # One loop, so the download shares it with the PATCH; a store timeout far beyond the freeze, so the part
    # upload that waits through it completes in its first attempt.
    extra = "http.loops = 1\nblobs.timeout = 60s\ncache.slice_bytes = 1MiB\n"
    s = Server(str(tmp_path / "data"), node_config(via_relay, prefix, extra), log_path=str(tmp_path / "log")).start()
    s.prefix = prefix
    yield s, relay
    relay.thaw()
    s.stop()
    relay.close()


def range_get(node, path, first, last, timeout):
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Range": f"bytes={first}-{last}"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def start_patch_held_at_the_store(node, api, relay, data, url, offset=0):
    """Starts a PATCH of `data` at `offset` whose body crosses a part boundary with the store frozen: returns
    the socket and an Event set once every byte was sent, when the part's upload waits at the relay."""
    s = socket.create_connection(("127.0.0.1", node.port), timeout=120)
    head = (f"PATCH {url} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {api.key}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    before = PART - MiB - offset % PART
    s.sendall(head + data[:before])
    # The bytes before the part boundary are taken (the PATCH has started and holds them in its part buffer).
    deadline = time.time() + 60
    while api.tus("HEAD", url)[1].get("upload-offset") != str(offset + before):
        assert time.time() < deadline, "the PATCH's first bytes were not taken"
        time.sleep(0.05)
    relay.freeze()
    sent = threading.Event()

    def rest():
        try:
            s.sendall(data[before:])
        except OSError:
            pass
        sent.set()
    threading.Thread(target=rest, daemon=True).start()
    # The part's upload reached the store and hangs there.
    deadline = time.time() + 60
    while not any(h.startswith(b"PUT ") and b"uploadId=" in h.split(b"\r\n", 1)[0] for h in relay.held):
        assert time.time() < deadline, "the part upload did not start"
        time.sleep(0.05)
    return s, sent


def read_head(s):
    """The status and fields of the response on `s`."""
    s.settimeout(120)
    raw = b""
    while b"\r\n\r\n" not in raw:
        chunk = s.recv(65536)
        assert chunk, raw
        raw += chunk
    status_line, _, fields = raw.partition(b"\r\n\r\n")[0].decode().partition("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, _, v in (l.partition(":") for l in fields.split("\r\n")))
    return int(status_line.split(" ")[1]), headers


@pytest.mark.slow
def test_a_download_is_served_while_a_patch_waits_for_the_frozen_store(relayed_node, tmp_path):
    node, relay = relayed_node
    api = API(node)
    # A warm image: downloaded once, so its slices are in the node's cache and serving it needs no store call.
    src = tmp_path / "warm.raw"
    warm = os.urandom(3 * MiB + 11)
    src.write_bytes(warm)
    rec = node.import_image(str(src), "warm")
    path = "/d/" + node.mint(rec["id"])["https"].split("/d/", 1)[1]
    status, body = range_get(node, path, 0, len(warm) - 1, timeout=60)
    assert status == 206 and body == warm

    data = os.urandom(PART + 4 * MiB + 5)
    job = api.create_upload("off the loop", len(data))
    url = job["upload_url"]
    s, sent = start_patch_held_at_the_store(node, api, relay, data, url)
    try:
        # Same node, same (only) loop: answered while the part upload waits. Before the PATCH left the loop, the
        # loop waited in the upload and this request with it.
        status, body = range_get(node, path, MiB - 10, MiB + 9, timeout=30)
        assert status == 206 and body == warm[MiB - 10:MiB + 10]
        assert not relay.running.is_set(), "the store was thawed before the download was answered"
    finally:
        relay.thaw()
    assert sent.wait(120)
    status, headers = read_head(s)
    s.close()
    assert status == 204, (status, headers)
    assert headers["upload-offset"] == str(len(data))
    done = api.wait_status(job["id"], {"available", "failed"})
    assert done["status"] == "available", done
    assert done["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_a_client_that_hangs_up_while_its_part_uploads_loses_no_byte(relayed_node):
    """The client goes away while its PATCH's part upload waits for the frozen store: once the store is back the
    PATCH's thread stores what it had taken, HEAD reports it, and a new PATCH from there completes the upload
    with the right SHA-256 (no byte lost, none twice)."""
    node, relay = relayed_node
    api = API(node)
    data = os.urandom(2 * PART + 3 * MiB + 1)
    job = api.create_upload("hang-up", len(data))
    url = job["upload_url"]
    s, _ = start_patch_held_at_the_store(node, api, relay, data, url)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # a reset: the node sees the hang-up while the PATCH is parked
    relay.thaw()
    # The PATCH ends (its lease released) with at least the first part stored; HEAD says how far.
    deadline = time.time() + 120
    while True:
        status, headers, _, _ = api.tus("HEAD", url)
        offset = int(headers.get("upload-offset", "0"))
        patch = api.tus("PATCH", url, offset=offset, body=data[offset:]) if offset >= PART else None
        if patch and patch[0] == 204:
            break
        assert time.time() < deadline, (offset, patch and patch[0])
        time.sleep(0.2)
    assert patch[1]["upload-offset"] == str(len(data))
    done = api.wait_status(job["id"], {"available", "failed"})
    assert done["status"] == "available", done
    assert done["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_a_cancel_while_a_part_uploads_leaves_nothing(relayed_node, store):  # noqa: F811
    """DELETE (tus termination) while the PATCH's part upload waits for the frozen store: once the store is back
    the cancel is answered, the PATCH gets its failure answer, the image is failed as cancelled and no multipart
    upload is left in the bucket."""
    from test_s3_blobs import S3
    node, relay = relayed_node
    api = API(node)
    data = os.urandom(PART + 2 * MiB)
    job = api.create_upload("cancel", len(data))
    url = job["upload_url"]
    s, _ = start_patch_held_at_the_store(node, api, relay, data, url)
    deleted = []
    t = threading.Thread(target=lambda: deleted.append(api.tus("DELETE", url)[0]), daemon=True)
    t.start()
    # The cancel has reached the store (its listing of the image's uploads waits at the relay too) while the
    # PATCH's part upload still waits: the cancel found the sink being written and left it to the PATCH.
    deadline = time.time() + 60
    while not any(h.startswith(b"GET ") and b"uploads" in h.split(b"\r\n", 1)[0] for h in relay.held):
        assert time.time() < deadline, "the cancel did not reach the store"
        time.sleep(0.05)
    relay.thaw()
    t.join(120)
    assert deleted == [204]
    status, _ = read_head(s)
    s.close()
    assert status in (400, 500), status
    img = api.wait_status(job["id"], {"failed"})
    assert img["failure_reason"] == "cancelled", img
    assert S3(store).uploads(f"{node.prefix}/images/{job['id']}/") == []
