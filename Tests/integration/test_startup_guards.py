"""Start-up guards (Docs/recovery.md): a lost, empty or damaged catalog and lost or garbled key files are
refused by name, by `serve` and by every CLI command, and nothing is deleted on the way; blobs without a
catalog row are quarantined (never deleted, never many at once); `/healthz` answers 200 only once the run
file holds the real listener ports, and `link mint` without a server says where its addresses came from."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import BIN, Server, free_port, run

OLD = 2 * 3600  # seconds: older than the default catalog.orphan_grace (1h)


def new_dir(tmp_path, images=2, name="data"):
    """A data directory in use: `images` small raw images imported by the CLI (no server). Returns (dir, ids)."""
    d = str(tmp_path / name)
    s = Server(d)
    ids = []
    for i in range(images):
        src = tmp_path / f"src-{name}-{i}.img"
        src.write_bytes(os.urandom(4096 + i))
        ids.append(s.import_image(str(src), f"image {i}")["id"])
    return d, ids


def files(d, sub):
    p = os.path.join(d, sub)
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def cli(d, *args, config=None):
    extra = ["--config", config] if config else []
    return run([BIN, *args, "--data-dir", d, *extra], timeout=120)


def serve_until_ready_or_exit(d, config=None):
    """Runs `serve` on port 0 everywhere. Returns ("exited", rc, stderr) if it refused, or ("ready", lines,
    stderr) after it reported every listener and was stopped with SIGTERM."""
    err_path = d.rstrip("/") + f".serve-{time.time_ns()}.err"
    args = [BIN, "serve", "--data-dir", d, "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--ftp",
            "127.0.0.1:0", "--sftp", "127.0.0.1:0", "--metrics", "off"] + (["--config", config] if config else [])
    with open(err_path, "w") as err:
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
    lines = []
    for line in p.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("sftp host key: rsa"):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
            with open(err_path) as f:
                return "ready", lines, f.read()
    rc = p.wait(timeout=30)
    with open(err_path) as f:
        return "exited", rc, f.read()


def write_config(tmp_path, text):
    p = tmp_path / f"guards-{time.time_ns()}.conf"
    p.write_text(text)
    return str(p)


def plant_blob(d, age, content=None):
    """A blob file named like an image id, with no catalog row, last modified `age` seconds ago."""
    image_id = "img-" + os.urandom(16).hex()
    path = os.path.join(d, "blobs", image_id)
    with open(path, "wb") as f:
        f.write(content if content is not None else os.urandom(1000))
    t = time.time() - age
    os.utime(path, (t, t))
    return image_id


# 1. A missing or empty catalog next to blobs and keys: refused by serve (twice) and by the CLI, nothing lost.

@pytest.mark.parametrize("damage", ["deleted", "truncated"])
def test_lost_catalog_is_refused_and_no_blob_is_deleted(tmp_path, damage):
    d, ids = new_dir(tmp_path, images=3)
    catalog = os.path.join(d, "catalog.sqlite3")
    if damage == "deleted":
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(catalog + suffix):
                os.unlink(catalog + suffix)
    else:
        open(catalog, "w").close()
    blobs_before = files(d, "blobs")
    assert sorted(blobs_before) == sorted(ids)

    expected = "is missing" if damage == "deleted" else "is empty (0 bytes)"
    for attempt in range(2):  # an operator retrying, or systemd's restart
        outcome, rc, err = serve_until_ready_or_exit(d)
        assert outcome == "exited", f"serve started on a {damage} catalog (attempt {attempt + 1})"
        assert rc != 0
        assert f"catalog {catalog} {expected}" in err and "Docs/recovery.md" in err, err
        assert "3 blobs in" in err
        assert files(d, "blobs") == blobs_before
        assert files(d, "quarantine") == []

    for args in (["image", "list", "--json"], ["link", "mint", ids[0], "--json"], ["key", "list"]):
        r = cli(d, *args)
        assert r.returncode != 0 and r.stdout == ""
        assert f"catalog {catalog} {expected}" in r.stderr, r.stderr
    assert files(d, "blobs") == blobs_before
    # The refusal created nothing in the catalog's place.
    assert (not os.path.exists(catalog)) if damage == "deleted" else os.path.getsize(catalog) == 0


def test_new_data_directory_still_starts(tmp_path):
    outcome, lines, err = serve_until_ready_or_exit(str(tmp_path / "fresh"))
    assert outcome == "ready", err


# 1. Orphan blobs: quarantined after the grace period, logged one by one; over the limit nothing moves.

def test_old_orphan_blob_is_quarantined_and_logged_young_one_waits(tmp_path):
    d, ids = new_dir(tmp_path, images=1)
    content = os.urandom(3000)
    old = plant_blob(d, OLD, content)
    young = plant_blob(d, 0)

    outcome, lines, err = serve_until_ready_or_exit(d)
    assert outcome == "ready", err

    quarantined = files(d, "quarantine")
    assert len(quarantined) == 1 and re.fullmatch(re.escape(old) + r"\.\d+", quarantined[0]), quarantined
    with open(os.path.join(d, "quarantine", quarantined[0]), "rb") as f:
        assert f.read() == content
    assert sorted(files(d, "blobs")) == sorted([ids[0], young])
    line = [l for l in err.splitlines() if old in l]
    assert len(line) == 1 and "has no catalog row: moved to" in line[0] and "/quarantine/" in line[0], err
    assert young not in err
    assert cli(d, "image", "show", ids[0], "--json").returncode == 0


def test_orphan_sweep_over_the_limit_moves_nothing_and_reports(tmp_path):
    d, ids = new_dir(tmp_path, images=1)
    orphans = sorted(plant_blob(d, OLD) for _ in range(6))

    outcome, lines, err = serve_until_ready_or_exit(d)
    assert outcome == "ready", err
    assert sorted(files(d, "blobs")) == sorted(orphans + ids)
    assert files(d, "quarantine") == []
    report = [l for l in err.splitlines() if "orphan blob sweep stopped" in l]
    assert len(report) == 1, err  # once, not once per sweep
    assert "6 blobs" in report[0] and "catalog.orphan_sweep_limit = 5" in report[0] and orphans[0] in report[0]

    # The operator checked the catalog and raises the limit: now they move (still not deleted).
    config = write_config(tmp_path, "catalog.orphan_sweep_limit = 6\n")
    outcome, lines, err = serve_until_ready_or_exit(d, config)
    assert outcome == "ready", err
    assert files(d, "blobs") == ids
    assert sorted(q.split(".")[0] for q in files(d, "quarantine")) == orphans
    assert sum("has no catalog row: moved to" in l for l in err.splitlines()) == 6


# 7. Key files: missing ones are refused while the catalog holds images or links; garbage is named.

@pytest.mark.parametrize("name", ["token-keys.json", "deployment-id"])
def test_missing_key_file_is_refused_by_name(tmp_path, name):
    d, ids = new_dir(tmp_path, images=1)
    assert cli(d, "link", "mint", ids[0], "--json").returncode == 0
    path = os.path.join(d, "keys", name)
    os.unlink(path)

    outcome, rc, err = serve_until_ready_or_exit(d)
    assert outcome == "exited", "serve made new key material while the catalog holds images and links"
    assert rc != 0 and f"{path} is missing" in err and "1 minted link(s)" in err, err
    r = cli(d, "image", "list", "--json")
    assert r.returncode != 0 and f"{path} is missing" in r.stderr
    assert not os.path.exists(path)

    # The deliberate way past it says what it did.
    r = cli(d, "key", "rotate", "--recreate-missing")
    assert r.returncode == 0, r.stderr
    assert f"made a new {path}" in r.stderr
    assert os.path.exists(path)
    assert cli(d, "image", "list", "--json").returncode == 0


def test_garbage_secrets_key_is_a_precise_error(tmp_path):
    d, ids = new_dir(tmp_path, images=1)
    path = os.path.join(d, "keys", "secrets.key")
    with open(path, "wb") as f:
        f.write(b"\x00garbage\xff not a key\n")
    before = open(path, "rb").read()
    for r in (cli(d, "image", "list", "--json"), None):
        if r is None:
            outcome, rc, err = serve_until_ready_or_exit(d)
            assert outcome == "exited"
        else:
            rc, err = r.returncode, r.stderr
        assert rc != 0
        assert f"{path} is damaged: it must hold one key of 64 hex digits" in err, err
        assert "File exists" not in err
    assert open(path, "rb").read() == before  # never replaced


# 7. A damaged index: quick_check refuses; catalog.quick_check = false starts anyway.

def corrupt_index(catalog, index):
    """Overwrites the cell area of `index`'s root page with garbage, leaving its page header alone, so only
    a structure check notices (the way a torn write or a bad sector would)."""
    db = sqlite3.connect(catalog)
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)).fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    with open(catalog, "r+b") as f:
        f.seek((root - 1) * page_size)
        page = bytearray(f.read(page_size))
        cells = int.from_bytes(page[3:5], "big")
        assert cells > 0, "the index must hold entries"
        start = int.from_bytes(page[5:7], "big")  # cell content area
        page[start:] = bytes((i * 37 + 11) % 256 for i in range(page_size - start))
        f.seek((root - 1) * page_size)
        f.write(page)


def test_damaged_index_is_refused_and_the_check_can_be_skipped(tmp_path):
    d, ids = new_dir(tmp_path, images=3)
    catalog = os.path.join(d, "catalog.sqlite3")
    corrupt_index(catalog, "images_by_tenant_status")
    quick = sqlite3.connect(catalog).execute("PRAGMA quick_check").fetchall()
    assert quick != [("ok",)]  # the damage is real

    outcome, rc, err = serve_until_ready_or_exit(d)
    assert outcome == "exited", "serve started on a damaged catalog"
    assert rc != 0 and f"catalog {catalog} is damaged; SQLite's quick_check reports:" in err, err
    assert "catalog.quick_check = false" in err
    r = cli(d, "image", "list", "--json")
    assert r.returncode != 0 and "quick_check" in r.stderr

    config = write_config(tmp_path, "catalog.quick_check = false\n")
    outcome, lines, err = serve_until_ready_or_exit(d, config)
    assert outcome == "ready", err


# 8. The run file exists, with the real ports, by the time /healthz answers 200.

def test_run_file_exists_when_healthz_first_answers_200(tmp_path):
    d = str(tmp_path / "data")  # a first start: certificates and host keys are made, a long window
    port = free_port()
    run_file = os.path.join(d, "run", "server.json")
    p = subprocess.Popen(
        [BIN, "serve", "--data-dir", d, "--http", f"127.0.0.1:{port}", "--https", "127.0.0.1:0", "--ftp",
         "127.0.0.1:0", "--sftp", "127.0.0.1:0", "--metrics", "off"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.time() + 300  # a first start on a busy machine makes an RSA host key
        while True:
            assert time.time() < deadline, "/healthz never answered 200"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    status = r.status
            except urllib.error.HTTPError as e:
                status = e.code
            except OSError:
                continue  # not listening yet
            if status == 200:
                break
            assert status == 503  # starting
        # Read at once, before looking at anything else the server printed.
        assert os.path.exists(run_file), "/healthz answered 200 before the run file was written"
        with open(run_file) as f:
            recorded = json.load(f)
        printed = {}
        for line in p.stdout:
            m = re.match(r"(https?|ftp|sftp): listening on \w+://(127\.0\.0\.1:\d+)", line)
            if m:
                printed[m.group(1)] = m.group(2)
            if line.startswith("sftp host key: rsa"):
                break
        assert recorded["pid"] == p.pid
        assert recorded["http"] == f"127.0.0.1:{port}" == printed["http"]
        assert recorded["https"] == printed["https"] and recorded["ftp"] == printed["ftp"]
        assert recorded["sftp"] == printed["sftp"]
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


# 8. link mint without a running server warns that its addresses come from the configuration.

def test_link_mint_without_a_server_warns(tmp_path):
    d, ids = new_dir(tmp_path, images=1)
    r = cli(d, "link", "mint", ids[0], "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["https"].startswith("https://127.0.0.1:8443/")
    assert "warning: no server is running" in r.stderr and "https 127.0.0.1:8443" in r.stderr, r.stderr

    s = Server(d).start()
    try:
        r = cli(d, "link", "mint", ids[0], "--json")
        assert r.returncode == 0 and r.stderr == "", r.stderr
        assert json.loads(r.stdout)["https"].startswith(f"https://127.0.0.1:{s.tls_port}/")
    finally:
        s.stop()


# 9. A setting that cannot be read stops serve with one line naming the key and the value (never dropped or
#    read another way): a malformed CIDR in imports.allow_private, a boolean that is not one of the words.

@pytest.mark.parametrize("line, expected", [
    ("imports.allow_private = 10.1.0.0/16, 10.300.0.0/16",
     'imports.allow_private: "10.300.0.0/16" is not an address range like 10.1.0.0/16'),
    ("ftp.allow_plain = maybe", 'ftp.allow_plain: expected true or false (also yes/no, on/off), got "maybe"'),
])
def test_a_setting_that_cannot_be_read_stops_serve_with_one_line(tmp_path, line, expected):
    d = str(tmp_path / "data")
    config = write_config(tmp_path, line + "\n")
    outcome, rc, err = serve_until_ready_or_exit(d, config)
    assert outcome == "exited" and rc != 0, err
    # The one line with the file, the line number, the key and the value; then only the hint every usage
    # error of the CLI ends with.
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 2 and lines[0].startswith(f"imagegate: error: {config}:1: "), err
    assert lines[0].endswith(expected) and lines[1] == "imagegate: run 'imagegate --help' for usage", err
