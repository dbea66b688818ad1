"""Fault injection (issue #10 item 11): SIGKILL of the server at random points during imports (CLI local
file, tus upload through the server, URL import from a throttled nginx) and during delete, restore,
destroy and key rotation, each kill followed by a restart and a consistency check (consistency.py); and a
full disk (a small tmpfs as the data directory) on every import path.

The kill points are drawn from a seeded generator. The seed is printed (pytest shows it with a failure) and
is taken from IMAGEGATE_FAULT_SEED when set, so a failing run can be replayed; IMAGEGATE_FAULT_KILLS sets
the number of kills (default 48).

The corrupted-state cases of issue #10 (catalog missing or empty with blobs, token-keys.json or
deployment-id missing, secrets.key garbage, damaged catalog index) are covered by test_startup_guards.py.
"""
import hashlib
import http.client
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.request

import pytest

import consistency
from conftest import BIN, OS_ARGS, Server, run, sha256_file
from test_imports import API, MiB, random_file, tuspy
from test_url_imports import CERTS, Nginx, start_url_import

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("IMAGEGATE_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))
KILLS = int(os.environ.get("IMAGEGATE_FAULT_KILLS") or 48)
FILE_SIZE = 6 * MiB + 123  # about 1.5 s through the 4 MiB/s throttles below


@pytest.fixture(scope="module")
def nginx(workdir):
    """A throttled URL source: nginx serves www/ at /slow/ at 4 MiB/s (Range supported)."""
    base = os.path.join(workdir, "fault-sources")
    ca, www, tmp = (os.path.join(base, d) for d in ("ca", "www", "nginx"))
    for d in (www, tmp):
        os.makedirs(d, exist_ok=True)
    assert run(["bash", CERTS, ca]).returncode == 0
    digest = random_file(os.path.join(www, "disk.raw"), FILE_SIZE)
    ng = Nginx(www, tmp, ca).start()
    yield ng, digest
    ng.stop()


def local_file(workdir, name, size):
    path = os.path.join(workdir, name)
    if not os.path.exists(path):
        random_file(path, size)
    return path


def quiet_call(api, method, path):
    """An API call that may be cut by the kill: any transport error just means "no answer"."""
    try:
        return api.call(method, path)[0]
    except (OSError, http.client.HTTPException):
        return None


def rows(s):
    return consistency.read_catalog(s.data_dir)[0]


def download(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


class Campaign:
    """One server under fire and what the test knows about the images it made."""

    def __init__(self, server, nginx, workdir):
        self.s, self.workdir = server, workdir
        self.ng, self.url_digest = nginx
        self.rng = random.Random(SEED)
        self.cli_file = local_file(workdir, "fault-cli.raw", 24 * MiB + 5)
        self.tus_file = local_file(workdir, "fault-tus.raw", FILE_SIZE)
        self.destroying = set()  # ids a destroy was in flight for when the server died
        self.log = []

    @property
    def api(self):
        return API(self.s)

    def kill_and_restart(self, after):
        time.sleep(after)
        self.s.stop(signal.SIGKILL)
        self.s.start()

    # Each scenario starts some work, kills the server at a random moment of it, restarts the server and
    # brings the work to an end (resume, retry, or nothing), so the next check sees a settled directory.

    def url_import(self):
        img = start_url_import(self.api, f"http://127.0.0.1:{self.ng.port}/slow/disk.raw", "fault url",
                               sha256=self.url_digest)
        self.kill_and_restart(self.rng.uniform(0.0, 1.6))
        done = self.api.wait_status(img["id"], {"available", "failed"}, timeout=60)
        assert done["status"] == "available", f"URL import not resumed after a kill: {done}"

    def tus_upload(self):
        up = self.api.create_upload("fault tus", os.path.getsize(self.tus_file))
        client = tuspy(self.api, up["upload_url"], self.tus_file, rate=4 * MiB)
        self.kill_and_restart(self.rng.uniform(0.2, 1.8))
        client.kill()
        client.wait()
        # The client resumes from the server's offset after the restart.
        client = tuspy(self.api, up["upload_url"], self.tus_file)
        out, err = client.communicate(timeout=60)
        assert client.returncode == 0, err
        done = self.api.wait_status(up["id"], {"available", "failed"}, timeout=60)
        assert done["status"] == "available", f"tus upload not resumable after a kill: {done}"

    def cli_import(self):
        # The CLI imports in its own process: the kill hits the server next to it, and the restart's
        # recovery must leave the live import alone (issue #10 item 2: see test_server_restart_leaves_a_live_cli_import_alone).
        p = subprocess.Popen([BIN, "image", "import", "--file", self.cli_file, "--name", "fault cli", "--json", *OS_ARGS]
                             + self.s.common(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.kill_and_restart(self.rng.uniform(0.0, 0.4))
        _, err = p.communicate(timeout=120)
        if p.returncode != 0:
            self.log.append(f"(cli import failed: {err.strip()[-120:]})")

    def remote_cli_import(self):
        # `image import --file --server URL`: the CLI uploads through the server's tus endpoint. The restarted
        # server listens on a new port, so the CLI cannot resume; its upload is cancelled, like an operator
        # would after a failed run.
        name = f"fault remote cli {len(self.log)}"
        env = dict(os.environ, IMAGEGATE_API_KEY=self.api.key)
        p = subprocess.Popen([BIN, "image", "import", "--file", self.cli_file, "--name", name, "--format", "raw",
                              "--server", self.s.base, "--json", *OS_ARGS], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.kill_and_restart(self.rng.uniform(0.0, 0.5))
        if p.poll() is None:
            p.kill()
        p.communicate(timeout=60)
        for image, row in consistency.read_catalog(self.s.data_dir, names=True)[0].items():
            if row[-1] == name and row[0] == "uploading":
                assert quiet_call(self.api, "POST", f"/api/v1/images/{image}/cancel") == 200

    def lifecycle(self):
        by_status = {}
        for image, (status, *_rest) in rows(self.s).items():
            if image != self.anchor["id"]:
                by_status.setdefault(status, []).append(image)
        choices = [("DELETE", "", i) for i in by_status.get("available", []) + by_status.get("failed", [])]
        choices += [(m, v, i) for i in by_status.get("deleted", [])
                    for m, v in (("POST", "/restore"), ("POST", "/destroy"))]
        if not choices:
            return self.url_import()
        method, verb, image = self.rng.choice(choices)
        if verb == "/destroy":
            self.destroying.add(image)
        api = self.api
        t = threading.Thread(target=quiet_call, args=(api, method, f"/api/v1/images/{image}{verb}"))
        t.start()
        self.kill_and_restart(self.rng.uniform(0.0, 0.03))
        t.join()

    def key_rotate(self):
        p = subprocess.Popen([BIN, "key", "rotate"] + self.s.common(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(self.rng.uniform(0.0, 0.08))
        p.kill()
        p.wait()
        self.kill_and_restart(0)
        self.s.cli("key", "list")
        # A link minted before any rotation still verifies: rotation keeps the old keys.
        # (The restarted server listens on a new port: the link's path is what carries the token.)
        path = self.anchor_link.split("/", 3)[3]
        assert download(f"{self.s.base}/{path}") == self.anchor_bytes, "an old link stopped working after a rotation"

    def run(self):
        data = os.urandom(64 * 1024)
        path = os.path.join(self.workdir, "fault-anchor.raw")
        with open(path, "wb") as f:
            f.write(data)
        self.anchor = self.s.import_image(path, "fault anchor")
        self.anchor_link = self.s.mint(self.anchor["id"], "--ttl", "2h")["http"]
        self.anchor_bytes = data
        scenarios = [self.url_import, self.tus_upload, self.cli_import, self.remote_cli_import, self.lifecycle,
                     self.lifecycle, self.key_rotate]
        for n in range(KILLS):
            # Every scenario runs at least once in a run, in a seeded order; then seeded choices.
            scenario = scenarios[n] if n < len(scenarios) else self.rng.choice(scenarios)
            self.log.append(scenario.__name__)
            scenario()
            problems = consistency.check(self.s.data_dir, BIN, self.s.common(), allowed_orphans=self.destroying)
            assert not problems, (f"after kill {n + 1} ({scenario.__name__}), seed {SEED}: "
                                  + "; ".join(problems))


def test_sigkill_at_random_points_leaves_a_consistent_catalog(workdir, nginx):
    print(f"fault injection seed {SEED}, {KILLS} kills (replay: IMAGEGATE_FAULT_SEED={SEED})")
    conf = "imports.allow_private = 127.0.0.0/8\nimports.upload_ttl = 1h\n"
    s = Server(os.path.join(workdir, "data-faults"), conf).start()
    c = Campaign(s, nginx, workdir)
    try:
        c.run()
    finally:
        print("scenarios:", " ".join(c.log))
        s.stop()
    assert sum(1 for n in c.log if not n.startswith("(")) == KILLS


# A live CLI import next to a server that restarts (issue #10 item 2).

def test_server_restart_leaves_a_live_cli_import_alone(workdir):
    s = Server(os.path.join(workdir, "data-live-cli")).start()
    path = local_file(workdir, "fault-live-cli.raw", 64 * MiB + 9)
    staging = os.path.join(s.data_dir, "staging")
    p = subprocess.Popen([BIN, "image", "import", "--file", path, "--name", "live cli", "--json", *OS_ARGS] + s.common(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Freeze the importer as soon as its staging file exists: it is alive, with its lease, mid-copy,
        # for as long as the server takes to restart (no timing decides the outcome).
        while not (os.path.isdir(staging) and os.listdir(staging)):
            assert p.poll() is None, "the import ended before it could be caught in flight"
        os.kill(p.pid, signal.SIGSTOP)
        s.stop(signal.SIGKILL)
        s.start()
        os.kill(p.pid, signal.SIGCONT)
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        live = [r for r in rows(s).values() if r[0] != "available"]
        assert not live, live
        assert not consistency.check(s.data_dir, BIN, s.common())
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGCONT)
            p.kill()
            p.wait()
        s.stop()


# Disk full: a small tmpfs as the data directory, for every import path.

TMPFS_SIZE = 4 * MiB  # the fresh data directory takes well under 1 MiB; FILE_SIZE does not fit


@pytest.fixture
def full_disk(tmp_path, workdir):
    """A server whose data directory is a 4 MiB tmpfs holding one small served image and its link."""
    data = str(tmp_path / "data")
    os.makedirs(data)
    r = run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700", "tmpfs", data])
    if r.returncode != 0:
        pytest.skip(f"disk-full cases need to mount a tmpfs (root or CAP_SYS_ADMIN): {r.stderr.strip()}")
    s = Server(data, "imports.allow_private = 127.0.0.0/8\n")
    try:
        s.start()
        small = os.urandom(256 * 1024)
        path = os.path.join(str(tmp_path), "small.raw")
        with open(path, "wb") as f:
            f.write(small)
        rec = s.import_image(path, "served while the disk is full")
        s.served = (s.mint(rec["id"])["http"], small)
        yield s
    finally:
        s.stop()
        run(["umount", "-l", data])


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def space(path):
    """(free bytes, bytes allocated to the files one can see under `path`): the catalog's WAL and the logs
    grow on the same small disk while an import fails, and that growth is visible; partial bytes held by a
    file that is deleted but still open would be the only invisible use."""
    seen = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                seen += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return free_bytes(path), seen


def assert_failed_cleanly(s, image, before):
    """The image failed for lack of space, nothing partial stays, the space is back, others are served."""
    rows_now = rows(s)
    status, _size, _sha, reason = rows_now[image]
    assert status == "failed" and "space" in (reason or "").lower(), (status, reason)
    print(f"{image} failed: {reason}")
    assert not os.path.exists(os.path.join(s.data_dir, "blobs", image))
    assert consistency.listdir(s.data_dir, "staging") == []
    # What the disk lost beyond the growth of visible files (catalog, logs) is held by no file one can see:
    # it must be small, the partial bytes (MiBs) gone with their file.
    (free_before, seen_before), (free_after, seen_after) = before, space(s.data_dir)
    hidden = (free_before - free_after) - (seen_after - seen_before)
    assert hidden <= 256 * 1024, (free_before, free_after, seen_before, seen_after)
    url, data = s.served
    assert download(url) == data
    assert not consistency.check(s.data_dir, BIN, s.common())


def image_named(s, name):
    found = [i for i, r in consistency.read_catalog(s.data_dir, names=True)[0].items() if r[-1] == name]
    assert len(found) == 1, found
    return found[0]


def test_disk_full_during_cli_import(full_disk, workdir):
    s = full_disk
    before = space(s.data_dir)
    path = local_file(workdir, "fault-tus.raw", FILE_SIZE)
    r = s.cli("image", "import", "--file", path, "--name", "too big for the disk", *OS_ARGS, check=False)
    assert r.returncode != 0 and "space" in r.stderr.lower(), r.stderr
    assert_failed_cleanly(s, image_named(s, "too big for the disk"), before)


def test_disk_full_during_url_import(full_disk, nginx):
    s, (ng, _digest) = full_disk, nginx
    before = space(s.data_dir)
    img = start_url_import(API(s), f"http://127.0.0.1:{ng.port}/disk.raw", "url too big for the disk")
    API(s).wait_status(img["id"], {"available", "failed"}, timeout=60)
    assert_failed_cleanly(s, img["id"], before)


def test_disk_full_during_tus_upload(full_disk, workdir):
    s = full_disk
    api = API(s)
    before = space(s.data_dir)
    path = local_file(workdir, "fault-tus.raw", FILE_SIZE)
    up = api.create_upload("tus too big for the disk", FILE_SIZE)
    statuses = []
    with open(path, "rb") as f:
        offset = 0
        while offset < FILE_SIZE:
            chunk = f.read(MiB)
            status, headers, _, _ = api.tus("PATCH", up["upload_url"], offset=offset, body=chunk)
            statuses.append(status)
            if status != 204:
                break
            offset = int(headers["upload-offset"])
    assert statuses[-1] != 204, "a 6 MiB upload fitted on a 4 MiB disk"
    # The answer comes after the catalog records the failure: no wait needed, but allow the row to settle.
    api.wait_status(up["id"], {"failed"}, timeout=10)
    assert_failed_cleanly(s, up["id"], before)


def test_consistency_check_sees_damage(tmp_path):
    """The checker itself: each kind of damage it exists to find is reported (it must be able to fail)."""
    s = Server(str(tmp_path / "data")).start()
    try:
        path = str(tmp_path / "a.raw")
        random_file(path, 300 * 1024)
        rec = s.import_image(path, "checked")
        stuck = s.import_image(path, "stuck")
        assert consistency.check(s.data_dir, BIN, s.common()) == []
        db = sqlite3.connect(os.path.join(s.data_dir, "catalog.sqlite3"), timeout=30)
        with db:  # an import nobody holds (no lease)
            db.execute("UPDATE images SET status = 'uploading' WHERE id = ?", (stuck["id"],))
        db.close()
        blob = os.path.join(s.data_dir, "blobs", rec["id"])
        with open(blob, "r+b") as f:  # same size, one flipped byte
            f.seek(1000)
            b = f.read(1)
            f.seek(1000)
            f.write(bytes([b[0] ^ 0xFF]))
        orphan = "img-" + "ab" * 16
        with open(os.path.join(s.data_dir, "blobs", orphan), "wb") as f:
            f.write(b"x")
        os.makedirs(os.path.join(s.data_dir, "quarantine"), exist_ok=True)
        with open(os.path.join(s.data_dir, "quarantine", "img-" + "cd" * 16 + ".1"), "wb") as f:
            f.write(b"x")
        with open(os.path.join(s.data_dir, "staging", "img-" + "ef" * 16 + ".0123456789abcdef"), "wb") as f:
            f.write(b"x")
        problems = "\n".join(consistency.check(s.data_dir, BIN, s.common(), settle=0))
        assert f"{rec['id']} is available but its blob does not match" in problems
        assert f"orphan blob {orphan}" in problems
        assert "quarantined file img-cdcd" in problems
        assert "staging file img-efef" in problems
        assert f"{stuck['id']} stays uploading without a live holder" in problems
        assert consistency.check(s.data_dir, BIN, s.common(), allowed_orphans={orphan}, settle=0) != []
    finally:
        s.stop()


@pytest.mark.parametrize("stage", ["staged", "renamed"])
def test_upload_complete_when_the_server_died_is_finished_after_restart(tmp_path, stage):
    """Found by the kill campaign: a kill between a tus upload's final 204 and the catalog commit (while the
    background finalize syncs or renames) left the image `uploading` until the upload expired, since the client
    sends nothing more; after the rename, HEAD even answered offset 0. The state is built by hand so no timing
    decides the outcome: every byte staged ("staged"), or already renamed into blobs/ ("renamed")."""
    s = Server(str(tmp_path / "data"), "imports.upload_ttl = 1h\n").start()
    try:
        data = os.urandom(3 * MiB + 1)
        digest = hashlib.sha256(data).hexdigest()
        up = API(s).create_upload("complete when killed", len(data), sha256=digest)
        assert API(s).tus("PATCH", up["upload_url"], offset=0, body=data[:-1])[0] == 204
        s.stop(signal.SIGKILL)
        [name] = consistency.listdir(s.data_dir, "staging")
        staged = os.path.join(s.data_dir, "staging", name)
        with open(staged, "ab") as f:  # the last byte, written just before the kill
            f.write(data[-1:])
        if stage == "renamed":
            os.makedirs(os.path.join(s.data_dir, "blobs"), exist_ok=True)
            os.rename(staged, os.path.join(s.data_dir, "blobs", up["id"]))
        s.start()
        done = API(s).wait_status(up["id"], {"available", "failed"}, timeout=30)
        assert done["status"] == "available" and done["sha256"] == digest, done
        assert download(s.mint(up["id"])["http"]) == data
        assert not consistency.check(s.data_dir, BIN, s.common())
    finally:
        s.stop()


@pytest.mark.parametrize("stage", ["staged", "renamed"])
def test_url_import_complete_when_the_server_died_is_finished_after_restart(workdir, nginx, tmp_path, stage):
    """The URL import's counterpart of the test above: every byte fetched (or already renamed into blobs/)
    when the server died, the row still `uploading`. The resumed fetch must not end in a 416 or refetch
    into a failure: the import ends `available` with the source's bytes."""
    ng, digest = nginx
    s = Server(str(tmp_path / "data"), "imports.allow_private = 127.0.0.0/8\n").start()
    try:
        img = start_url_import(API(s), f"http://127.0.0.1:{ng.port}/slow/disk.raw", "url complete when killed",
                               sha256=digest)
        staging = os.path.join(s.data_dir, "staging")
        while not consistency.listdir(s.data_dir, "staging"):
            time.sleep(0.05)
        s.stop(signal.SIGKILL)
        [name] = consistency.listdir(s.data_dir, "staging")
        staged = os.path.join(staging, name)
        with open(os.path.join(ng.root, "disk.raw"), "rb") as src, open(staged, "r+b") as f:
            f.write(src.read())  # the rest of the bytes, as if they had all arrived before the kill
        if stage == "renamed":
            os.makedirs(os.path.join(s.data_dir, "blobs"), exist_ok=True)
            os.rename(staged, os.path.join(s.data_dir, "blobs", img["id"]))
        s.start()
        done = API(s).wait_status(img["id"], {"available", "failed"}, timeout=60)
        assert done["status"] == "available" and done["sha256"] == digest, done
        assert not consistency.check(s.data_dir, BIN, s.common())
    finally:
        s.stop()
