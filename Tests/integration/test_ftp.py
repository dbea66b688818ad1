"""FTP/FTPS front: real clients (wget, curl, lftp) download a ≥ 256 MiB image, are killed part-way, resume and
end sha256-identical; hostile input is refused with clear replies while other sessions go on. Docs/ftp.md."""
import ftplib
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Server, run, sha256_file
from test_clients_resume import start_and_kill


@pytest.fixture
def out_dir(tmp_path):
    return str(tmp_path)


@pytest.fixture(scope="module")
def plain_server(workdir, big_file):
    """A second server that allows plain FTP (ftp.allow_plain = true), with the big image imported."""
    s = Server(os.path.join(workdir, "data-ftp-plain"), "ftp.allow_plain = true\n").start()
    rec = s.import_image(big_file[0], "plain ftp big")
    assert rec["status"] == "available"
    s.big = rec
    yield s
    s.stop()


def cert(server):
    return os.path.join(server.data_dir, "tls", "server.crt")


def new_retrs(server, before, proto=None):
    """RETR access lines written since the log had `before` lines."""
    return [r for r in server.access_log()[before:]
            if r.get("method") == "RETR" and (proto is None or r["proto"] == proto)]


def test_ftp_banner_and_minted_link(server, big_image):
    assert server.ftp_port
    assert any(l.startswith(f"ftp: listening on ftp://127.0.0.1:{server.ftp_port} (explicit TLS required)")
               for l in server.lines)
    link = server.mint(big_image["id"])
    url = link["ftp"]
    m = re.match(r"ftp://(img-[0-9a-f]{32}):(igt1\.[A-Za-z0-9_.-]+)@127\.0\.0\.1:(\d+)/(.+)$", url)
    assert m, url
    assert m.group(1) == big_image["id"] and int(m.group(3)) == server.ftp_port
    assert m.group(4) == big_image["file_name"]
    assert len(m.group(2)) > 150  # the whole token as the password
    assert set(link["commands"]) >= {"ftp_wget", "ftp_curl", "ftp_lftp", "ftp_lftp_parallel"}
    assert "ftps://" in link["commands"]["ftp_wget"] and "--ssl-reqd" in link["commands"]["ftp_curl"]


@pytest.mark.slow
def test_wget_ftps_explicit_interrupted_then_continue(server, big_image, big_file, out_dir):
    url = server.mint(big_image["id"])["ftp"].replace("ftp://", "ftps://", 1)
    target = os.path.join(out_dir, big_image["file_name"])
    ca = f"--ca-certificate={cert(server)}"
    got = start_and_kill(["wget", "-q", ca, "--limit-rate=20m", url], target, 24 << 20, out_dir)
    assert 0 < got < big_image["size"]
    before = len(server.access_log())
    r = run(["wget", "-c", ca, url], cwd=out_dir)
    assert r.returncode == 0, r.stderr
    assert sha256_file(target) == big_file[1]
    retrs = new_retrs(server, before, "ftps")
    assert retrs and retrs[-1]["offset"] >= got and retrs[-1]["outcome"] == "complete"
    assert retrs[-1]["data_tls"] in ("resumed", "full_handshake")


@pytest.mark.slow
def test_wget_plain_ftp_interrupted_then_continue(plain_server, big_file, out_dir):
    rec = plain_server.big
    url = plain_server.mint(rec["id"])["ftp"]
    target = os.path.join(out_dir, rec["file_name"])
    got = start_and_kill(["wget", "-q", "--limit-rate=20m", url], target, 24 << 20, out_dir)
    assert 0 < got < rec["size"]
    before = len(plain_server.access_log())
    r = run(["wget", "-c", url], cwd=out_dir)
    assert r.returncode == 0, r.stderr
    assert "REST" in r.stderr
    assert sha256_file(target) == big_file[1]
    retrs = new_retrs(plain_server, before, "ftp")
    assert retrs[-1]["offset"] >= got and retrs[-1]["outcome"] == "complete" and "data_tls" not in retrs[-1]
    # Complete already: wget sees SIZE == local size and leaves the file alone.
    r = run(["wget", "-c", url], cwd=out_dir)
    assert r.returncode == 0, r.stderr
    assert sha256_file(target) == big_file[1]


@pytest.mark.slow
def test_curl_ssl_reqd_interrupted_then_continue(server, big_image, big_file, out_dir):
    url = server.mint(big_image["id"])["ftp"]
    target = os.path.join(out_dir, big_image["file_name"])
    base = ["curl", "-sS", "--ssl-reqd", "--cacert", cert(server)]
    got = start_and_kill(base + ["--limit-rate", "20M", "-O", url], target, 24 << 20, out_dir)
    assert 0 < got < big_image["size"]
    before = len(server.access_log())
    r = run(base + ["-C", "-", "-O", url], cwd=out_dir)
    assert r.returncode == 0, r.stderr
    assert sha256_file(target) == big_file[1]
    retrs = new_retrs(server, before, "ftps")
    assert retrs[-1]["offset"] >= got and retrs[-1]["outcome"] == "complete"
    # Rerun on the complete file: curl compares SIZE with the local size and does not RETR.
    before = len(server.access_log())
    r = run(base + ["-C", "-", "-O", url], cwd=out_dir)
    assert r.returncode == 0, r.stderr
    assert sha256_file(target) == big_file[1]
    assert new_retrs(server, before) == []


def pget_progress(target):
    """True once lftp's pget status file shows the first chunk moved (its `0.pos` is past 0)."""
    try:
        with open(target + ".lftp-pget-status") as f:
            fields = dict(l.strip().split("=", 1) for l in f if "=" in l)
        return int(fields.get("0.pos", "0")) > 0 and "3.limit" in fields
    except (OSError, ValueError):
        return False


def lftp_interrupted(server, url, target, out_dir, settings, get):
    # pget saves its chunk positions every 10 s by default; every second here, so the kill finds them saved.
    p = subprocess.Popen(["lftp", "-c", f"{settings} set pget:save-status 1s; set net:limit-total-rate 20M; "
                                        f"{get} {url}"], cwd=out_dir,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    try:
        # lftp pget writes chunks at their offsets: watch the blocks written, not the length, and (pget) wait
        # until the status file records progress of the first chunk.
        while time.time() < deadline:
            if os.path.exists(target) and os.stat(target).st_blocks * 512 >= (24 << 20) and (
                    "pget" not in get or pget_progress(target)):
                break
            assert p.poll() is None, "lftp finished before it could be interrupted"
            time.sleep(0.05)
        else:
            raise AssertionError("lftp made no progress")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.wait()


def test_lftp_get_negotiates_tls_interrupted_then_continue(server, big_image, big_file, out_dir):
    url = server.mint(big_image["id"])["ftp"]
    target = os.path.join(out_dir, big_image["file_name"])
    settings = f"set ssl:ca-file {cert(server)};"
    lftp_interrupted(server, url, target, out_dir, settings, "get")
    got = os.path.getsize(target)
    assert 0 < got < big_image["size"]
    before = len(server.access_log())
    r = run(["lftp", "-c", f"{settings} get -c {url}"], cwd=out_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(target) == big_file[1]
    retrs = new_retrs(server, before, "ftps")  # lftp upgraded with AUTH TLS by itself
    assert retrs[-1]["offset"] > 0 and retrs[-1]["outcome"] == "complete"


@pytest.mark.slow
def test_lftp_pget_four_over_plain_ftp_interrupted_then_continue(plain_server, big_file, out_dir):
    rec = plain_server.big
    url = plain_server.mint(rec["id"])["ftp"]
    target = os.path.join(out_dir, rec["file_name"])
    settings = "set ftp:ssl-allow false;"
    before = len(plain_server.access_log())
    lftp_interrupted(plain_server, url, target, out_dir, settings, "pget -n 4")
    assert os.path.exists(target + ".lftp-pget-status")
    resumed_from = len(plain_server.access_log())
    r = run(["lftp", "-c", f"{settings} pget -c -n 4 {url}"], cwd=out_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not os.path.exists(target + ".lftp-pget-status")
    assert sha256_file(target) == big_file[1]
    # Access lines are written when a transfer ends (the killed ones once the server notices): wait for them.
    deadline = time.time() + 10
    while True:
        retrs = new_retrs(plain_server, before)
        if len({x["offset"] for x in retrs}) >= 4 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert all(x["proto"] == "ftp" for x in retrs)
    assert len({x["offset"] for x in retrs}) >= 4, retrs  # several control connections, each REST + RETR
    resumed = new_retrs(plain_server, resumed_from)
    assert any(x["offset"] > 0 for x in resumed), resumed
    # A transfer of the killed first run may be noticed (control_lost) and logged only after the resume began.
    assert all(x["outcome"] in ("complete", "aborted", "peer_closed", "control_lost") for x in resumed), [
        (x["offset"], x["bytes"], x["outcome"], x["status"]) for x in resumed]


@pytest.mark.slow
def test_lftp_ftps_forced_pget_interrupted_then_continue(server, big_image, big_file, out_dir):
    url = server.mint(big_image["id"])["ftp"]
    target = os.path.join(out_dir, big_image["file_name"])
    settings = f"set ssl:ca-file {cert(server)}; set ftp:ssl-force true; set ftp:ssl-protect-data true;"
    lftp_interrupted(server, url, target, out_dir, settings, "pget -n 4")
    before = len(server.access_log())
    r = run(["lftp", "-c", f"{settings} pget -c -n 4 {url}"], cwd=out_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(target) == big_file[1]
    retrs = new_retrs(server, before)
    assert retrs and all(x["proto"] == "ftps" and "data_tls" in x for x in retrs)


def test_minted_commands_run_as_printed(server, small_image, tmp_path):
    rec, data = small_image
    cmds = server.mint(rec["id"])["commands"]
    for name in ("ftp_wget", "ftp_curl", "ftp_lftp", "ftp_lftp_parallel"):
        d = tmp_path / name
        d.mkdir()
        for _ in range(2):  # the second run finds the complete file and must leave it intact
            r = subprocess.run(cmds[name], shell=True, cwd=d, capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, name + ": " + r.stdout + r.stderr
            assert (d / rec["file_name"]).read_bytes() == data, name
