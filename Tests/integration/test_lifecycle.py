"""The CLI and the server's life: help, exit codes, import/list/show, clean stop mid-transfer and resume,
crash during import, and the embedded default data directory."""
import json
import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from conftest import BIN, OS_ARGS, Server, run, sha256_file


def test_help_texts():
    r = run([BIN, "--help"])
    assert r.returncode == 0
    for word in ("serve", "image import", "image list", "image show", "link mint", "key rotate"):
        assert word in r.stdout
    for cmd in (["serve"], ["image"], ["link"], ["key"], ["image", "import"], ["link", "mint"], ["key", "rotate"]):
        r = run([BIN] + cmd + ["--help"])
        assert r.returncode == 0, cmd
        assert "Usage: imagegate" in r.stdout, cmd


def test_usage_errors_and_exit_codes(tmp_path):
    d = str(tmp_path / "d")
    assert run([BIN, "frobnicate"]).returncode == 64
    assert run([BIN, "image", "list", "--bogus", "--data-dir", d]).returncode == 64
    assert run([BIN, "image", "import", "--name", "x", "--data-dir", d]).returncode == 64
    r = run([BIN, "image", "show", "img-" + "0" * 32, "--data-dir", d])
    assert r.returncode == 3 and "no image" in r.stderr
    assert run([BIN, "image", "show", "not-an-id", "--data-dir", d]).returncode == 64
    assert run([BIN, "link", "mint", "img-" + "0" * 32, "--ttl", "soon", "--data-dir", d]).returncode == 64
    r = run([BIN, "image", "import", "--file", str(tmp_path / "missing"), "--name", "x", "--data-dir", d, *OS_ARGS])
    assert r.returncode != 0 and "missing" in r.stderr
    bad_conf = tmp_path / "bad.conf"
    bad_conf.write_text("http.listen = 127.0.0.1:8080\nhttp.lisen = 1\n")
    r = run([BIN, "image", "list", "--config", str(bad_conf), "--data-dir", d])
    assert r.returncode == 64 and "unknown setting" in r.stderr


@pytest.mark.slow
def test_import_list_show_and_mint_json(tmp_path):
    d = str(tmp_path / "d")
    src = tmp_path / "My Disk (v2).img"
    payload = os.urandom(70000)
    src.write_bytes(payload)
    rec = json.loads(run([BIN, "image", "import", "--file", str(src), "--name", "My Disk (v2)", "--json", *OS_ARGS,
                          "--data-dir", d]).stdout)
    assert rec["status"] == "available" and rec["size"] == len(payload) and rec["format"] == "raw"
    assert rec["id"].startswith("img-") and len(rec["id"]) == 36
    assert rec["file_name"].endswith(".img") and "/" not in rec["file_name"] and " " not in rec["file_name"]
    listed = json.loads(run([BIN, "image", "list", "--json", "--data-dir", d]).stdout)
    assert [i["id"] for i in listed["items"]] == [rec["id"]] and listed["total"] == 1
    shown = json.loads(run([BIN, "image", "show", rec["id"], "--json", "--data-dir", d]).stdout)
    assert shown == rec
    table = run([BIN, "image", "list", "--data-dir", d]).stdout
    assert rec["id"] in table and "available" in table
    link = json.loads(run([BIN, "link", "mint", rec["id"], "--ttl", "2h", "--json", "--data-dir", d]).stdout)
    assert link["http"].startswith("http://127.0.0.1:8080/d/igt1.")
    assert link["http"].endswith("/" + rec["file_name"])
    exp = time.mktime(time.strptime(link["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(exp - (time.time() + 7200)) < 120
    r = run([BIN, "link", "mint", rec["id"], "--ttl", "30d", "--data-dir", d])
    assert r.returncode == 4 and "max_ttl" in r.stderr
    # Blob and key material are private to the service user.
    blob_dir = os.path.join(d, "blobs")
    for name in os.listdir(blob_dir):
        assert stat.S_IMODE(os.stat(os.path.join(blob_dir, name)).st_mode) == 0o600


def test_default_data_dir_is_dot_data(tmp_path):
    r = run([BIN, "image", "list", "--json"], cwd=str(tmp_path))
    assert r.returncode == 0 and json.loads(r.stdout)["items"] == []
    assert os.path.isfile(tmp_path / "data" / "catalog.sqlite3")
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "keys" / "token-keys.json").st_mode) == 0o600


@pytest.mark.slow
def test_sigterm_mid_transfer_then_resume_after_restart(workdir, big_file, tmp_path):
    s = Server(workdir + "/data-term").start()
    try:
        rec = s.import_image(big_file[0], "term test")
        url = s.mint(rec["id"])["http"]
        out = tmp_path / rec["file_name"]
        c = subprocess.Popen(["curl", "-s", "--limit-rate", "20M", "-o", str(out), url])
        while not out.exists() or out.stat().st_size < (8 << 20):
            time.sleep(0.05)
        t0 = time.time()
        assert s.stop(signal.SIGTERM) == 0
        assert time.time() - t0 < 10
        c.wait(timeout=20)
        assert c.returncode != 0  # the transfer was cut, not completed
        assert 0 < out.stat().st_size < rec["size"]
        assert not os.path.exists(os.path.join(s.data_dir, "run", "server.json"))
        s.start()
        url2 = s.mint(rec["id"])["http"]
        assert url2.rsplit("/", 1)[1] == url.rsplit("/", 1)[1]  # same file name: -C - continues the same file
        r = run(["curl", "-sS", "-f", "-C", "-", "-o", str(out), url2])
        assert r.returncode == 0, r.stderr
        assert sha256_file(str(out)) == big_file[1]
    finally:
        s.stop()


def test_crash_during_import_never_leaves_available(workdir, big_file):
    d = workdir + "/data-crash"
    s = Server(d)
    p = subprocess.Popen([BIN, "image", "import", "--file", big_file[0], "--name", "crashy", "--data-dir", d, *OS_ARGS],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = os.path.join(d, "staging")
    deadline = time.time() + 30
    while time.time() < deadline:
        files = os.listdir(staging) if os.path.isdir(staging) else []
        if files and os.path.getsize(os.path.join(staging, files[0])) > (16 << 20):
            break
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    images = s.cli_json("image", "list")["items"]
    assert len(images) == 1 and images[0]["status"] == "uploading"
    assert images[0]["status"] != "available"
    s.start()  # start-up recovery: the importer is dead, so the import failed; staging swept
    try:
        images = s.cli_json("image", "list")["items"]
        assert images[0]["status"] == "failed" and images[0]["failure_reason"]
        assert os.listdir(staging) == []
        blobs = os.path.join(d, "blobs")
        assert not os.path.exists(blobs) or os.listdir(blobs) == []
    finally:
        s.stop()


def test_run_file_lets_cli_find_the_server(server):
    with open(os.path.join(server.data_dir, "run", "server.json")) as f:
        rf = json.load(f)
    assert rf["http"] == f"127.0.0.1:{server.port}" and rf["pid"] == server.proc.pid


def test_many_idle_connections_do_not_stop_service(server):
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(200)]
    try:
        r = run(["curl", "-sS", "-f", f"{server.base}/healthz"])
        assert r.returncode == 0 and r.stdout.strip() == "ok"
    finally:
        for c in socks:
            c.close()
