"""`imagegate image verify` and the background scrub: a blob whose bytes were flipped (size kept) is found,
the image becomes failed with the reason, its links stop working, and the exit status says so."""
import hashlib
import json
import os
import time

from conftest import BIN, Server, parse_response, raw_request, run


def fetch(server, url):
    # http://host:port/d/<token>/<name>
    path = "/" + url.split("/", 3)[3]
    req = f"GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()
    return parse_response(raw_request(server.port, req))


def flip_byte(path, offset):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x20]))
    assert os.path.getsize(path) == size


def blob_path(server, image_id):
    return os.path.join(server.data_dir, "blobs", image_id)


def import_random(server, tmp_path, name, size):
    src = tmp_path / f"{name}.img"
    src.write_bytes(os.urandom(size))
    rec = server.import_image(str(src), name)
    assert rec["status"] == "available"
    return rec


def test_verify_finds_flipped_byte_and_stops_downloads(tmp_path):
    s = Server(str(tmp_path / "data")).start()
    try:
        good = import_random(s, tmp_path, "good", 300_000)
        bad = import_random(s, tmp_path, "bad", 1_500_000)
        link = s.mint(bad["id"])["http"]

        r = s.cli("image", "verify", "--all", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "2 checked, 0 corrupt" in r.stdout
        assert "verifying 1/2" in r.stderr  # progress on standard error

        flip_byte(blob_path(s, bad["id"]), 1_000_001)
        r = s.cli("image", "verify", "--all", check=False)
        assert r.returncode == 5, r.stdout + r.stderr
        line = next(l for l in r.stdout.splitlines() if bad["id"] in l)
        assert "WRONG_DIGEST" in line and "now failed" in line
        assert next(l for l in r.stdout.splitlines() if good["id"] in l).split()[1] == "intact"

        shown = s.cli_json("image", "show", bad["id"])
        assert shown["status"] == "failed"
        actual = hashlib.sha256(open(blob_path(s, bad["id"]), "rb").read()).hexdigest()
        assert actual in shown["failure_reason"] and bad["sha256"] in shown["failure_reason"]
        assert s.cli_json("image", "show", good["id"])["status"] == "available"

        events = s.cli_json("audit", "list", "--limit", "1000")
        events = events.get("items", events) if isinstance(events, dict) else events
        fails = [e for e in events if e["action"] == "image.verify.fail"]
        assert len(fails) == 1 and fails[0]["target"] == bad["id"]

        # The link minted while the image was available no longer downloads anything.
        status, _, body, _ = fetch(s, link)
        assert status == 404 and body == b"Not Found\n"

        # A failed image is not checked again; the intact one still is.
        out = s.cli_json("image", "verify", "--all")
        assert [x["id"] for x in out["results"]] == [good["id"]] and out["corrupt"] == 0
    finally:
        s.stop()


def test_verify_json_missing_blob_and_usage(tmp_path):
    d = str(tmp_path / "data")
    s = Server(d)
    a = import_random(s, tmp_path, "a", 70_000)
    b = import_random(s, tmp_path, "b", 80_000)

    r = s.cli("image", "verify", a["id"], b["id"], "--json", "--rate", "1MiB", check=False)
    assert r.returncode == 0
    out = json.loads(r.stdout)
    assert out["checked"] == 2 and out["corrupt"] == 0
    assert {x["id"]: x["result"] for x in out["results"]} == {a["id"]: "intact", b["id"]: "intact"}

    os.unlink(blob_path(s, b["id"]))
    flip_byte(blob_path(s, a["id"]), 0)
    r = s.cli("image", "verify", "--all", "--json", check=False)
    assert r.returncode == 5
    out = json.loads(r.stdout)
    by_id = {x["id"]: x for x in out["results"]}
    assert by_id[b["id"]]["result"] == "missing" and "missing" in by_id[b["id"]]["reason"]
    assert by_id[a["id"]]["result"] == "wrong_digest"
    assert by_id[a["id"]]["actual_sha256"] == hashlib.sha256(open(blob_path(s, a["id"]), "rb").read()).hexdigest()
    assert out["corrupt"] == 2
    assert s.cli_json("image", "show", b["id"])["status"] == "failed"

    # Named again: nothing left to check (both failed), so nothing found.
    out = s.cli_json("image", "verify", a["id"])
    assert out["results"][0]["result"] == "skipped"

    assert s.cli("image", "verify", check=False).returncode == 64
    assert s.cli("image", "verify", "--all", a["id"], check=False).returncode == 64
    assert s.cli("image", "verify", "--all", "--rate", "fast", check=False).returncode == 64
    assert s.cli("image", "verify", "img-" + "0" * 32, check=False).returncode == 3
    r = run([BIN, "image", "verify", "--help"])
    assert r.returncode == 0 and "Exit status" in r.stdout


def test_background_scrub_fails_corrupt_image_in_running_server(tmp_path):
    s = Server(str(tmp_path / "data"), config_text="imports.verify_interval = 1s\nimports.verify_rate = 10MiB\n")
    s.start()
    try:
        rec = import_random(s, tmp_path, "scrubbed", 200_000)
        link = s.mint(rec["id"])["http"]
        flip_byte(blob_path(s, rec["id"]), 123_456)
        # Waiting for the scrub's next pass; the deadline only bounds a hang, it is not what is tested.
        deadline = time.time() + 120
        while s.cli_json("image", "show", rec["id"])["status"] == "available":
            assert time.time() < deadline, "the scrub never failed the corrupt image"
            time.sleep(0.5)
        shown = s.cli_json("image", "show", rec["id"])
        assert shown["status"] == "failed" and "SHA-256" in shown["failure_reason"]
        status, _, _, _ = fetch(s, link)
        assert status == 404
    finally:
        s.stop()
    log = s.proc.stderr.read()
    assert f"blob scrub: {rec['id']} wrong_digest" in log
    assert "blob scrub: every 1s" in log
