"""A tus upload that hits ENOSPC (the data directory on a small tmpfs): 507 Insufficient Storage with a clear
message, the partial bytes freed first, then the image `failed` with the real cause, which a restart does not
change. Needs root to mount the tmpfs (skipped otherwise). Docs/imports.md, "When the disk is full"."""
import json
import os
import signal
import subprocess
import tempfile

import pytest

from conftest import OS_ARGS, Server
from test_imports import API, MiB

TMPFS_SIZE = 24 * MiB


@pytest.fixture
def small_disk():
    mnt = tempfile.mkdtemp(prefix="imagegate-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        pytest.skip(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", mnt], capture_output=True)
    os.rmdir(mnt)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def test_tus_upload_on_a_full_disk(small_disk):
    s = Server(os.path.join(small_disk, "data")).start()
    try:
        api = API(s)
        size = 48 * MiB  # twice the disk
        img = api.create_upload("too big for this disk", size)
        free_before = free_bytes(small_disk)
        body = os.urandom(size)
        status, headers, _, payload = api.tus("PATCH", img["upload_url"], offset=0, body=body)
        message = payload.decode()
        assert status == 507, message
        assert "ran out of disk space" in message and "No space left on device" in message
        # The partial bytes are gone (freed before the failure was recorded)...
        staging = os.path.join(s.data_dir, "staging")
        assert os.listdir(staging) == []
        assert free_bytes(small_disk) >= free_before - 2 * MiB
        # ...and the image says why, with no live upload left behind.
        rec = api.image(img["id"])
        assert rec["status"] == "failed", rec
        reason = rec["failure_reason"]
        assert "ran out of disk space" in reason and "No space left on device" in reason
        assert api.tus("HEAD", img["upload_url"])[0] == 404
        # A restart keeps the real cause.
        s.stop(signal.SIGTERM)
        s.start()
        rec = API(s).image(img["id"])
        assert rec["status"] == "failed" and rec["failure_reason"] == reason
    finally:
        s.stop()


def test_vm_content_and_cli_file_on_a_full_disk(small_disk, tmp_path):
    """The other byte streams on the same full disk: a VM disk PUT (507) and `image import --file` (an error that
    says the disk is full, not that the file was refused); both images failed with the cause, nothing left."""
    s = Server(os.path.join(small_disk, "data")).start()
    try:
        api = API(s)
        status, _, img, payload = api.call("POST", "/api/v1/imports", {
            "name": "made on a full disk", "kind": "self_made", "format": "raw", "system_type": "Linux",
            "platform": "Ubuntu", "os_version": "20.04", "architecture": "x86_64", "boot_mode": "UEFI",
            "source": {"vm": "vm-9"}})
        assert status == 201, payload
        status, _, js, payload = api.call("PUT", f"/api/v1/images/{img['id']}/content", raw=os.urandom(48 * MiB),
                                          headers={"Content-Type": "application/octet-stream"})
        assert status == 507, payload
        assert js["error"]["code"] == "insufficient_storage" and "No space left" in js["error"]["message"]
        rec = api.image(img["id"])
        assert rec["status"] == "failed" and "ran out of disk space" in rec["failure_reason"]

        big = tmp_path / "big.img"
        big.write_bytes(os.urandom(48 * MiB))
        r = s.cli("image", "import", "--file", str(big), "--name", "file on a full disk", *OS_ARGS, check=False)
        assert r.returncode == 1, r.stderr
        assert "import failed: the server ran out of disk space" in r.stderr and "refused" not in r.stderr
        failed = [i for i in json.loads(s.cli("image", "list", "--json").stdout)["items"]
                  if i["name"] == "file on a full disk"]
        assert len(failed) == 1 and failed[0]["status"] == "failed"
        assert "ran out of disk space" in failed[0]["failure_reason"]
        assert os.listdir(os.path.join(s.data_dir, "staging")) == []
    finally:
        s.stop()
