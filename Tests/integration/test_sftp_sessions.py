"""SFTP sessions under stress: raw hostile packets over the real subsystem, revocation mid-transfer, the
access log, and a clean stop with transfers in progress."""
import os
import signal
import sqlite3
import struct
import subprocess
import time

import pytest

from conftest import Server, run
from test_sftp import QUIET, SSH_OPTS, sftp_batch, token_of
from tokenforge import Forge


def pkt(ptype, body=b""):
    return struct.pack(">IB", len(body) + 1, ptype) + body


def s(b):
    return struct.pack(">I", len(b)) + b


class RawSFTP:
    """The sftp subsystem through `ssh -s sftp`, speaking raw SFTP v3 on its stdin/stdout."""

    def __init__(self, server, token):
        self.p = subprocess.Popen(
            ["ssh"] + SSH_OPTS + QUIET + ["-p", str(server.sftp_port), "-s", f"{token}@127.0.0.1", "sftp"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def recv(self):
        head = self.p.stdout.read(4)
        if len(head) < 4:
            return None
        n = struct.unpack(">I", head)[0]
        body = self.p.stdout.read(n)
        return body[0], body[1:]

    def status(self, reply):
        ptype, body = reply
        assert ptype == 101, ptype
        return struct.unpack(">II", body[:8])


def test_raw_hostile_packets_end_only_that_session(server, small_image):
    rec, data = small_image
    tok, name = token_of(server.mint(rec["id"])), rec["file_name"].encode()
    c = RawSFTP(server, tok)
    try:
        c.send(pkt(1, struct.pack(">I", 3)))
        ptype, body = c.recv()
        assert ptype == 2 and struct.unpack(">I", body[:4])[0] == 3 and b"limits@openssh.com" in body
        # OPEN with WRITE|CREAT|TRUNC (0x1A): permission denied.
        c.send(pkt(3, struct.pack(">I", 7) + s(b"/" + name) + struct.pack(">II", 0x1A, 0)))
        assert c.status(c.recv()) == (7, 3)
        # READ with a 300-byte handle: failure/bad message, session goes on.
        c.send(pkt(5, struct.pack(">I", 8) + s(b"h" * 300) + struct.pack(">QI", 0, 10)))
        assert c.status(c.recv())[1] in (4, 5)
        c.send(pkt(3, struct.pack(">I", 9) + s(b"/" + name) + struct.pack(">II", 1, 0)))
        ptype, body = c.recv()
        assert ptype == 102
        handle = body[4:]
        # READ at the end: EOF. READ past the end: EOF. Oversize READ: clamped to what is there.
        for i, off in enumerate([len(data), len(data) + 10**9]):
            c.send(pkt(5, struct.pack(">I", 10 + i) + handle + struct.pack(">QI", off, 10)))
            assert c.status(c.recv()) == (10 + i, 1)
        c.send(pkt(5, struct.pack(">I", 12) + handle + struct.pack(">QI", 100, 0xFFFFFFFF)))
        ptype, body = c.recv()
        assert ptype == 103 and body[8:] == data[100:]
        # Unknown packet type: unsupported.
        c.send(pkt(77, struct.pack(">I", 13)))
        assert c.status(c.recv()) == (13, 8)
        # A 4 GiB length: the session ends (the server allocates nothing for it).
        c.send(struct.pack(">I", 0xFFFFFFFF) + b"\x05")
        assert c.recv() is None
        c.p.wait(timeout=15)
    finally:
        if c.p.poll() is None:
            c.p.kill()
    # Everything else is unaffected.
    r = sftp_batch(server, tok, ["ls"], "/tmp", extra=QUIET)
    assert r.returncode == 0 and rec["file_name"] in r.stdout


def revoke(server, token):
    serial = Forge.parse(token)["serial"].hex()
    db = sqlite3.connect(os.path.join(server.data_dir, "catalog.sqlite3"), timeout=10)
    with db:
        db.execute("INSERT INTO revoked_serials (serial, expires_at) VALUES (?, ?)", (serial, int(time.time()) + 86400))
    db.close()


@pytest.mark.slow
def test_revocation_ends_a_running_transfer_and_access_log(server, big_image, tmp_path):
    tok, name = token_of(server.mint(big_image["id"])), big_image["file_name"]
    (tmp_path / "b").write_text(f"get {name}\n")
    p = subprocess.Popen(
        ["sftp"] + SSH_OPTS + QUIET + ["-l", "8000", "-P", str(server.sftp_port), "-b", "b", f"{tok}@127.0.0.1"],
        cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not ((tmp_path / name).exists() and (tmp_path / name).stat().st_size > 100_000):
            assert time.time() < deadline and p.poll() is None
            time.sleep(0.1)
        revoke(server, tok)
        t0 = time.time()
        p.wait(timeout=20)
        assert time.time() - t0 < 10  # re-checked every 3 s
    finally:
        if p.poll() is None:
            p.kill()
    assert (tmp_path / name).stat().st_size < big_image["size"]
    time.sleep(0.5)
    lines = [l for l in server.access_log() if l.get("proto") == "sftp"]
    assert any(l["outcome"] == "revoked" and l["path"] == "/" + name for l in lines)
    # A revoked token cannot log in again.
    assert sftp_batch(server, tok, ["ls"], str(tmp_path), extra=QUIET).returncode != 0
    # The log never holds a token: only redacted labels.
    with open(os.path.join(server.data_dir, "logs", "access.log")) as f:
        assert tok not in f.read() and tok.split(".")[2] not in "".join(str(l) for l in lines)
    for l in lines:
        assert l["user"] == "-" or (l["user"].startswith("igt1.") and l["user"].endswith("…"))
        assert {"time", "peer", "path", "bytes", "duration_ms", "outcome"} <= set(l)


def test_stop_ends_sessions_promptly(workdir, small_image, tmp_path):
    rec, _ = small_image
    srv = Server(os.path.join(workdir, "data-sftp-stop")).start()
    try:
        big = tmp_path / "src.img"
        big.write_bytes(os.urandom(8 << 20))
        img = srv.import_image(str(big), "stop test")
        tok, name = token_of(srv.mint(img["id"])), img["file_name"]
        (tmp_path / "b").write_text(f"get {name}\n")
        procs = [subprocess.Popen(
            ["sftp"] + SSH_OPTS + QUIET + ["-l", "800", "-P", str(srv.sftp_port), "-b", "b", f"{tok}@127.0.0.1"],
            cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(3)]
        # Plus one connection that never even starts SSH: it must not hold the stop up.
        import socket
        idle = socket.create_connection(("127.0.0.1", srv.sftp_port))
        time.sleep(2)
        t0 = time.time()
        assert srv.stop(timeout=20) == 0
        assert time.time() - t0 < 8
        for p in procs:
            p.wait(timeout=10)
        idle.close()
    finally:
        srv.stop()


@pytest.mark.slow
def test_login_idle_and_stall_timeouts_free_sessions(workdir, tmp_path):
    """Deadlines cut sessions wherever libssh blocks: before key exchange, waiting for a request, and in a write
    to a client that stopped reading (window closed)."""
    import socket
    srv = Server(os.path.join(workdir, "data-sftp-timeouts"),
                 config_text="sftp.login_timeout = 2s\nsftp.idle_timeout = 2s\nsftp.stall_timeout = 2s\n").start()
    try:
        src = tmp_path / "src.img"
        src.write_bytes(os.urandom(24 << 20))
        img = srv.import_image(str(src), "timeouts")
        tok, name = token_of(srv.mint(img["id"])), img["file_name"].encode()
        silent = socket.create_connection(("127.0.0.1", srv.sftp_port))
        idle = RawSFTP(srv, tok)
        idle.send(pkt(1, struct.pack(">I", 3)))
        assert idle.recv()[0] == 2
        stall = RawSFTP(srv, tok)
        stall.send(pkt(1, struct.pack(">I", 3)))
        assert stall.recv()[0] == 2
        stall.send(pkt(3, struct.pack(">I", 1) + s(b"/" + name) + struct.pack(">II", 1, 0)))
        handle = stall.recv()[1][4:]
        # 24 MiB requested and never read: far more than the SSH window and the pipes hold.
        for i in range(96):
            stall.send(pkt(5, struct.pack(">I", 10 + i) + handle + struct.pack(">QI", i * 261120, 261120)))
        silent.settimeout(10)
        t0 = time.time()
        assert silent.recv(4096).startswith(b"SSH-2.0-")  # the banner, then nothing: cut at the login deadline
        assert silent.recv(4096) == b""
        assert time.time() - t0 < 8
        idle.p.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline:
            outcomes = {l["outcome"] for l in srv.access_log() if l.get("proto") == "sftp"}
            if {"login_timeout", "idle_timeout", "stall_timeout"} <= outcomes:
                break
            time.sleep(0.2)
        assert {"login_timeout", "idle_timeout", "stall_timeout"} <= outcomes, outcomes
        stall.p.kill()
        silent.close()
    finally:
        srv.stop()
