"""SFTP front under the security review (issue #11 items 15, 23, 24; issue #10 item 4): per-token session caps
that tell the client and lock nobody out, pre-auth connections counted apart from sessions, a per-address
connection rate, the algorithm lists and compression, checked with real OpenSSH (and ssh-audit when present)."""
import os
import shutil
import socket
import subprocess
import time

from conftest import Server, run
from test_sftp import QUIET, SSH_OPTS, sftp_batch, token_of
from test_sftp_sessions import RawSFTP, pkt

import struct


def _image(srv, tmp_path, name="sec"):
    src = tmp_path / f"{name}.img"
    src.write_bytes(os.urandom(64 * 1024))
    return srv.import_image(str(src), name)


def _wait_for_outcome(srv, outcome, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(l.get("proto") == "sftp" and l.get("outcome") == outcome for l in srv.access_log()):
            return True
        time.sleep(0.2)
    return False


def test_token_session_cap_says_so_and_locks_no_one_out(workdir, tmp_path):
    """#10.4: a session refused for the per-token cap is told "session limit reached" and is not a failed
    login: far more refusals than sftp.max_auth_failures leave other tokens from the address working."""
    srv = Server(os.path.join(workdir, "data-sftp-cap"),
                 config_text="sftp.max_sessions_per_token = 1\nsftp.max_auth_failures = 3\n").start()
    try:
        img = _image(srv, tmp_path)
        tok_a, tok_b = token_of(srv.mint(img["id"])), token_of(srv.mint(img["id"]))
        held = RawSFTP(srv, tok_a)
        held.send(pkt(1, struct.pack(">I", 3)))
        assert held.recv()[0] == 2
        for i in range(6):
            # Both login routes: the token as user name and as the keyboard-interactive answer.
            r = (sftp_batch(srv, tok_a, ["pwd"], str(tmp_path)) if i % 2 == 0 else
                 sftp_batch(srv, "download", ["pwd"], str(tmp_path), password=tok_a))
            assert r.returncode != 0
            assert "session limit reached" in r.stderr, r.stderr[-800:]
        r = sftp_batch(srv, tok_b, ["pwd"], str(tmp_path))
        assert r.returncode == 0, r.stderr[-800:]
        assert "Remote working directory: /" in r.stdout
        held.p.kill()
        outcomes = [l["outcome"] for l in srv.access_log() if l.get("proto") == "sftp"]
        assert outcomes.count("token_session_cap") >= 6 and "auth_failed" not in outcomes
    finally:
        srv.stop()


def _banners(conns):
    got = 0
    for c in conns:
        c.settimeout(5)
        try:
            if c.recv(64).startswith(b"SSH-"):
                got += 1
        except OSError:
            pass
    return got


def test_silent_connections_from_one_address_leave_room_for_others(workdir, tmp_path):
    """#11.15: 80 silent TCP connections from one address take at most its pre-auth share, never the
    session slots: a client from another address still logs in and downloads."""
    srv = Server(os.path.join(workdir, "data-sftp-preauth"),
                 config_text="sftp.max_sessions = 64\nsftp.connections_per_second = 100\n").start()
    try:
        img = _image(srv, tmp_path)
        tok = token_of(srv.mint(img["id"]))
        silent = []
        for _ in range(80):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", srv.sftp_port))
            silent.append(s)
        assert _banners(silent) <= 10
        r = sftp_batch(srv, tok, ["pwd", f"get {img['file_name']}"], str(tmp_path))
        assert r.returncode == 0, r.stderr[-800:]
        assert (tmp_path / img["file_name"]).stat().st_size == img["size"]
        assert _wait_for_outcome(srv, "preauth_address_cap")
        for s in silent:
            s.close()
    finally:
        srv.stop()


def test_silent_connection_is_cut_at_the_kex_deadline(workdir):
    """#11.15: the pre-auth deadline (sftp.kex_timeout) is separate from, and shorter than, the login one."""
    srv = Server(os.path.join(workdir, "data-sftp-kex"),
                 config_text="sftp.kex_timeout = 1s\nsftp.login_timeout = 10m\n").start()
    try:
        s = socket.create_connection(("127.0.0.1", srv.sftp_port))
        s.settimeout(120)
        assert s.recv(4096).startswith(b"SSH-2.0-")
        assert s.recv(4096) == b""
        s.close()
        assert _wait_for_outcome(srv, "kex_timeout")
    finally:
        srv.stop()


def test_new_connections_per_address_are_rate_limited(workdir):
    """#11.24: a burst of connects from one address gets banners (and so key exchanges) only up to the
    per-address rate; the rest are closed before the banner and logged as rate_limited."""
    srv = Server(os.path.join(workdir, "data-sftp-rate"),
                 config_text="sftp.connections_per_second = 2\n").start()
    try:
        conns = []
        for _ in range(30):
            s = socket.socket()
            s.bind(("127.0.0.3", 0))
            s.connect(("127.0.0.1", srv.sftp_port))
            conns.append(s)
        got = _banners(conns)
        # Burst 4, plus 2 per second for however long the 30 connects took.
        assert 1 <= got <= 10, got
        assert _wait_for_outcome(srv, "rate_limited")
        for s in conns:
            s.close()
    finally:
        srv.stop()


def _ssh_debug(srv, *opts):
    """`ssh -vv` to the server with the given options; the output says what was negotiated."""
    return run(["ssh"] + SSH_OPTS + ["-vv", "-o", "BatchMode=yes", "-p", str(srv.sftp_port)] + list(opts)
               + ["nobody@127.0.0.1", "true"], timeout=60)


def test_algorithms_and_compression(server, tmp_path):
    """#11.23/#11.24: no NIST-curve key exchange, no zlib even when the client asks for it, ETM MACs first."""
    r = _ssh_debug(server, "-o", "Compression=yes")
    assert "compression: none" in r.stderr and "zlib" not in r.stderr.split("peer server KEXINIT proposal")[1]
    proposal = r.stderr.split("peer server KEXINIT proposal")[1]
    kex = [l for l in proposal.splitlines() if "KEX algorithms:" in l][0]
    assert "ecdh-sha2-nistp" not in kex and "group14" not in kex and "curve25519-sha256" in kex
    macs = [l for l in proposal.splitlines() if "MACs ctos:" in l][0]
    assert macs.split("MACs ctos: ")[1].startswith("hmac-sha2-256-etm@openssh.com")
    r = _ssh_debug(server, "-o", "KexAlgorithms=ecdh-sha2-nistp256")
    assert "no matching key exchange method" in r.stderr


def test_strict_and_compression_settings(workdir):
    """sftp.algorithms = strict drops the non-ETM MACs; sftp.compression = true offers zlib."""
    srv = Server(os.path.join(workdir, "data-sftp-strict"),
                 config_text="sftp.algorithms = strict\nsftp.compression = true\n").start()
    try:
        r = _ssh_debug(srv, "-o", "MACs=hmac-sha2-256", "-o", "Ciphers=aes128-ctr")
        assert "no matching MAC found" in r.stderr, r.stderr[-1500:]
        r = _ssh_debug(srv, "-o", "Compression=yes")
        assert "compression: zlib@openssh.com" in r.stderr, r.stderr[-1500:]
    finally:
        srv.stop()


def test_ssh_audit_finds_no_failures(workdir):
    """ssh-audit (PyPI) against the strict set: no failed algorithm and no DHEat (rate) warning."""
    import importlib.util
    import sys
    if os.environ.get("SSH_AUDIT"):
        tool = [os.environ["SSH_AUDIT"]]
    elif importlib.util.find_spec("ssh_audit"):
        tool = [sys.executable, "-m", "ssh_audit"]  # installed in the test venv (requirements.txt)
    elif shutil.which("ssh-audit"):
        tool = [shutil.which("ssh-audit")]
    else:
        import pytest
        pytest.skip("ssh-audit not installed (Tests/integration/requirements.txt: ssh-audit)")
    srv = Server(os.path.join(workdir, "data-sftp-audit"), config_text="sftp.algorithms = strict\n").start()
    try:
        r = run(tool + ["-p", str(srv.sftp_port), "127.0.0.1"], timeout=180)
        out = r.stdout
        assert "[fail]" not in out, out
        # Only the post-quantum note may warn (libssh 0.10 has no sntrup761/mlkem768 key exchange).
        warns = [l for l in out.splitlines() if "[warn]" in l and "post-quantum" not in l]
        assert not warns, warns
        assert "DHEat" not in out, out
    finally:
        srv.stop()


def test_openssh_df_reports_the_virtual_file_system(server, small_image, tmp_path):
    """#11.25: OpenSSH `df` (statvfs@openssh.com) works and shows the one file, nothing free."""
    rec, _ = small_image
    tok = token_of(server.mint(rec["id"]))
    r = sftp_batch(server, tok, ["df", "df -i"], str(tmp_path))
    assert r.returncode == 0, r.stderr[-800:]
    lines = [l.split() for l in r.stdout.splitlines() if l.strip() and l.split()[0].isdigit()]
    # df: Size Used Avail (Root) %Capacity in KiB: 1000 bytes = one 4 KiB block; df -i: 1 inode, 0 free.
    assert lines[0][:3] == ["4", "4", "0"], r.stdout
    assert lines[1][:3] == ["1", "1", "0"], r.stdout
