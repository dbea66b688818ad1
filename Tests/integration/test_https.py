"""HTTPS: TLS 1.2/1.3 only, a development CA from Certs/, real clients resuming over TLS, certificate
reload on SIGHUP, and plain-HTTP links as an opt-in."""
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import Server, parse_response, raw_request, run, sha256_file
from test_clients_resume import start_and_kill

CERTS = os.path.join(os.path.dirname(__file__), "..", "..", "Certs", "generate-dev-certs.sh")


@pytest.fixture(scope="module")
def dev_ca(workdir):
    out = os.path.join(workdir, "dev-ca")
    r = run(["bash", CERTS, out])
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def tls_server(workdir, dev_ca, big_file):
    conf = f"tls.certificate = {dev_ca}/server.crt\ntls.private_key = {dev_ca}/server.key\n"
    s = Server(os.path.join(workdir, "data-tls"), conf).start()
    s.big = s.import_image(big_file[0], "tls big")
    yield s
    s.stop()


@pytest.mark.slow
def test_wget_https_interrupted_then_continue(tls_server, dev_ca, big_file, tmp_path):
    url = tls_server.mint(tls_server.big["id"])["https"]
    assert url.startswith(f"https://127.0.0.1:{tls_server.tls_port}/d/igt1.")
    target = tmp_path / tls_server.big["file_name"]
    ca = f"--ca-certificate={dev_ca}/ca.crt"
    got = start_and_kill(["wget", "-q", ca, "--limit-rate=20m", url], str(target), 24 << 20, str(tmp_path))
    assert 0 < got < tls_server.big["size"]
    r = run(["wget", "-c", ca, url], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "206 Partial Content" in r.stderr
    assert sha256_file(str(target)) == big_file[1]


@pytest.mark.slow
def test_curl_https_interrupted_then_continue(tls_server, dev_ca, big_file, tmp_path):
    url = tls_server.mint(tls_server.big["id"])["https"]
    target = tmp_path / tls_server.big["file_name"]
    ca = ["--cacert", f"{dev_ca}/ca.crt"]
    got = start_and_kill(["curl", "-s"] + ca + ["--limit-rate", "20M", "-O", url], str(target), 24 << 20,
                         str(tmp_path))
    assert 0 < got < tls_server.big["size"]
    r = run(["curl", "-sS", "-f"] + ca + ["-C", "-", "-O", url], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sha256_file(str(target)) == big_file[1]


@pytest.mark.slow
def test_aria2c_https_four_connections_interrupted_then_continue(tls_server, dev_ca, big_file, tmp_path):
    url = tls_server.mint(tls_server.big["id"])["https"]
    target = tmp_path / tls_server.big["file_name"]
    common = ["aria2c", "-x4", "-s4", "--min-split-size=8M", "--file-allocation=none", "--console-log-level=warn",
              "--summary-interval=0", f"--ca-certificate={dev_ca}/ca.crt"]
    start_and_kill(common + ["--max-overall-download-limit=20M", url], str(target), 16 << 20, str(tmp_path))
    assert (tmp_path / (tls_server.big["file_name"] + ".aria2")).exists()
    r = run(common + ["-c", url], cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(str(target)) == big_file[1]


@pytest.mark.parametrize("flag,ok", [("-tls1_3", True), ("-tls1_2", True), ("-tls1_1", False), ("-tls1", False)])
def test_protocol_versions(tls_server, dev_ca, flag, ok):
    r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.tls_port}", flag, "-CAfile",
             f"{dev_ca}/ca.crt", "-verify_return_error", "-brief"], input="", timeout=30)
    out = r.stdout + r.stderr
    if ok:
        assert r.returncode == 0, out
        assert "Verification: OK" in out
        assert ("TLSv1.3" if flag == "-tls1_3" else "TLSv1.2") in out
    else:
        assert r.returncode != 0, out


def test_weak_tls12_ciphers_refused(tls_server):
    for cipher in ["AES128-SHA", "ECDHE-RSA-AES128-SHA", "DES-CBC3-SHA"]:
        r = run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls_server.tls_port}", "-tls1_2", "-cipher",
                 cipher, "-brief"], input="", timeout=30)
        assert r.returncode != 0, cipher


def test_https_ranges_match_plain_semantics(tls_server, dev_ca, tmp_path):
    url = tls_server.mint(tls_server.big["id"])["https"]
    r = run(["curl", "-sS", "--cacert", f"{dev_ca}/ca.crt", "-D", "-", "-o", "/dev/null", "-r", "-100", url])
    head = r.stdout.lower()
    assert "206 partial content" in head
    assert f"content-range: bytes {tls_server.big['size'] - 100}-{tls_server.big['size'] - 1}/{tls_server.big['size']}" in head
    r = run(["curl", "-sS", "--cacert", f"{dev_ca}/ca.crt", "-D", "-", "-o", "/dev/null", "-H",
             f"Range: bytes={tls_server.big['size']}-", url])
    assert "416" in r.stdout.splitlines()[0] and f"content-range: bytes */{tls_server.big['size']}" in r.stdout.lower()


def test_plain_bytes_on_tls_port_do_not_hurt(tls_server, dev_ca):
    try:
        answer = raw_request(tls_server.tls_port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", timeout=15)
    except ConnectionResetError:
        answer = b""  # closed after the failed handshake: the expected outcome
    assert not answer.startswith(b"HTTP/1.1 200")
    r = run(["curl", "-sS", "--cacert", f"{dev_ca}/ca.crt", f"https://127.0.0.1:{tls_server.tls_port}/healthz"])
    assert r.stdout.strip() == "ok"


@pytest.mark.slow
def test_sighup_reloads_certificate(workdir, tmp_path):
    s = Server(os.path.join(workdir, "data-reload")).start()
    try:
        fp = lambda: run(["bash", "-c", f"openssl s_client -connect 127.0.0.1:{s.tls_port} </dev/null 2>/dev/null"
                          " | openssl x509 -noout -fingerprint -sha256"]).stdout.strip()
        ftp_fp = lambda: run(["bash", "-c", f"openssl s_client -starttls ftp -connect 127.0.0.1:{s.ftp_port}"
                              " </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"]).stdout.strip()
        before = fp()
        assert before and ftp_fp() == before  # FTPS and HTTPS present the same certificate
        other = tmp_path / "other"
        assert run(["bash", CERTS, str(other)]).returncode == 0
        os.replace(other / "server.crt", os.path.join(s.data_dir, "tls", "server.crt"))
        os.replace(other / "server.key", os.path.join(s.data_dir, "tls", "server.key"))
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while time.time() < deadline and fp() == before:
            time.sleep(0.2)
        assert fp() != before
        assert ftp_fp() == fp()  # the reload reached the FTPS listener too
        assert s.proc.poll() is None
    finally:
        s.stop()


def test_plain_links_opt_in(workdir, small_image, tmp_path):
    s = Server(os.path.join(workdir, "data-noplain"), "http.plain_links = false\n").start()
    try:
        src = tmp_path / "x.img"
        src.write_bytes(b"hello world" * 100)
        rec = s.import_image(str(src), "x")
        link = s.mint(rec["id"])
        assert "http" not in link and link["https"].startswith("https://")
        token_path = "/" + link["https"].split("/", 3)[3]
        # The https-only token is refused on the plain listener with the uniform answer.
        s_, _, body, _ = parse_response(raw_request(s.port, f"GET {token_path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode()))
        assert s_ == 404
        r = run(["curl", "-sS", "-f", "--cacert", s.ca_file, link["https"]])
        assert r.returncode == 0 and r.stdout == "hello world" * 100
    finally:
        s.stop()


def test_interleaved_slow_https_readers_get_their_own_bytes(tls_server, big_file):
    """HTTPS file bytes go through a buffer (`pread`, then `SSL_write` one record at a time), and a record the
    socket did not take must be written again from the same bytes once it drains (Transport.swift, TLSTransport).
    Six keep-alive connections with small receive buffers ask ranges at once and are read a little at a time in
    turn, so each one's socket fills while the loop serves the others: every body must be exactly the file's
    bytes of its own range."""
    url = tls_server.mint(tls_server.big["id"])["https"]
    path = "/" + url.split("/", 3)[3]
    size = tls_server.big["size"]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    socks = []
    for _ in range(6):
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        raw.settimeout(30)
        raw.connect(("127.0.0.1", tls_server.tls_port))
        socks.append(ctx.wrap_socket(raw))
    rng = random.Random(17)
    with open(big_file[0], "rb") as f:
        for _ in range(3):
            wanted = []
            for s in socks:
                length = rng.choice([65536, 4 << 20, 1, 16385])
                start = rng.randrange(0, size - length)
                s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nRange: bytes={start}-{start + length - 1}\r\n\r\n"
                          .encode())
                wanted.append((start, length))
            got = [b""] * len(socks)
            done = [False] * len(socks)
            while not all(done):
                for i, s in enumerate(socks):
                    if done[i]:
                        continue
                    chunk = s.recv(4096)
                    assert chunk, "connection closed"
                    got[i] += chunk
                    if b"\r\n\r\n" in got[i]:
                        head, body = got[i].split(b"\r\n\r\n", 1)
                        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                        done[i] = len(body) >= length
            for i, (start, length) in enumerate(wanted):
                head, body = got[i].split(b"\r\n\r\n", 1)
                assert head.startswith(b"HTTP/1.1 206"), head
                f.seek(start)
                assert body == f.read(length), f"connection {i}: range {start}+{length}"
    for s in socks:
        s.close()
