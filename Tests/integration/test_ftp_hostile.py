"""FTP front under hostile input: every probe gets a clear reply (or a close) while other sessions go on.
Commands before login, PASS before AUTH TLS, overlong lines, active mode, a data connection from another
address, path escapes, bad REST, ABOR mid-transfer. Docs/protocols.md §6.3-6.4."""
import ftplib
import os
import re
import socket
import ssl

import pytest

from conftest import Server


def cert(server):
    return os.path.join(server.data_dir, "tls", "server.crt")


def credentials(url):
    m = re.match(r"ftp://([^:]+):([^@]+)@[^/]+/(.+)$", url)
    return m.group(1), m.group(2), m.group(3)


def ftps_session(server, image_id):
    user, token, name = credentials(server.mint(image_id)["ftp"])
    f = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=cert(server)), timeout=20)
    f.connect("127.0.0.1", server.ftp_port)
    f.login(user, token)  # AUTH TLS first: ftplib's FTP_TLS.login does it
    f.prot_p()
    return f, name


class Raw:
    """A bare control connection: send lines, read reply lines."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.s.makefile("rb")
        assert self.line().startswith("220 ")

    def line(self):
        return self.f.readline().decode("utf-8", "replace").rstrip("\r\n")

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.line()

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def bystander(server, big_image):
    """A logged-in FTPS session opened before the probes; it must still work after all of them."""
    f, name = ftps_session(server, big_image["id"])
    yield f, name
    f.close()


def test_commands_before_login_and_pass_before_auth_tls(server, bystander):
    c = Raw(server.ftp_port)
    try:
        assert c.cmd("PWD").startswith("530 Please login with USER and PASS")
        assert c.cmd("RETR x").startswith("530 ")
        assert c.cmd("PORT 127,0,0,1,4,1").startswith("530 ")
        # TLS required: USER and PASS in clear are refused, so the token is never accepted unprotected.
        assert c.cmd("USER anything").startswith("530 TLS required")
        assert c.cmd("PASS igt1.whatever").startswith("530 TLS required")
        assert c.cmd("PBSZ 0").startswith("503 ")
        assert c.cmd("PROT P").startswith("503 ")
        assert c.cmd("FEAT").startswith("211-")
        lines = []
        while not lines or not lines[-1].startswith("211 "):
            lines.append(c.line())
        assert " AUTH TLS" in lines and " REST STREAM" in lines and " EPSV" in lines
        assert c.cmd("QUIT").startswith("221 ")
    finally:
        c.close()


@pytest.mark.parametrize("payload", [b"NOOP " + b"A" * 5000 + b"\r\n", b"B" * 3000])
def test_overlong_line_is_500_and_close(server, payload, bystander):
    c = Raw(server.ftp_port)
    try:
        c.s.sendall(payload)
        assert c.line().startswith("500 Command line too long")
        assert c.f.readline() == b""  # closed
    finally:
        c.close()


def test_wrong_tokens_get_the_same_530(server, big_image, bystander):
    user, token, _ = credentials(server.mint(big_image["id"])["ftp"])
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    texts = []
    for bad in ("igt1.nonsense", tampered):
        f = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=cert(server)), timeout=20)
        f.connect("127.0.0.1", server.ftp_port)
        with pytest.raises(ftplib.error_perm) as e:
            f.login(user, bad)
        texts.append(str(e.value))
        f.close()
    assert texts[0] == texts[1] == "530 Login incorrect."
    log = [r for r in server.access_log() if r.get("method") == "PASS" and r["status"] == 530]
    assert log and all(token not in str(r) and tampered not in str(r) for r in log)


def test_active_mode_and_writes_refused(server, big_image, bystander):
    f, name = ftps_session(server, big_image["id"])
    try:
        for cmd in ("PORT 10,0,0,5,0,22", "PORT 127,0,0,1,200,10", "EPRT |1|198.51.100.9|8080|",
                    "EPRT |1|127.0.0.1|8080|"):
            with pytest.raises(ftplib.error_perm, match="^502 "):
                f.sendcmd(cmd)
        for cmd in ("STOR x", "DELE " + name, "MKD d", "RNFR " + name, "APPE " + name):
            with pytest.raises(ftplib.error_perm, match="^550 "):
                f.sendcmd(cmd)
        with pytest.raises(ftplib.error_perm, match="^534 "):
            f.sendcmd("PROT C")
    finally:
        f.close()


def test_path_escapes(server, big_image, bystander):
    f, name = ftps_session(server, big_image["id"])
    try:
        assert f.sendcmd("CWD ../..").startswith("250")
        assert f.pwd() == "/"
        for bad in ("/etc/passwd", "../../etc/passwd", "../" + name, "/etc/../" + name, "..\\..\\x"):
            with pytest.raises(ftplib.error_perm, match="^550 "):
                f.size(bad)
            with pytest.raises(ftplib.error_perm, match="^550 "):
                f.sendcmd("RETR " + bad)
        with pytest.raises(ftplib.error_perm, match="^550 "):
            f.cwd("/etc")
        assert f.size(name) == big_image["size"]
        assert f.size("/" + name) == big_image["size"]
        assert f.nlst() == [name]
        assert [n for n, _ in f.mlsd()] == [name]
    finally:
        f.close()


def test_rest_edge_cases_and_abor_mid_transfer(server, big_image, big_file, bystander):
    f, name = ftps_session(server, big_image["id"])
    size = big_image["size"]
    try:
        f.voidcmd("TYPE I")
        for bad in ("-1", "abc", "99999999999999999999"):
            with pytest.raises(ftplib.error_perm, match="^501 "):
                f.sendcmd("REST " + bad)
        with pytest.raises(ftplib.error_perm, match="^554 "):
            f.transfercmd("RETR " + name, rest=size + 1)
        # REST = size: 150, an empty data connection, 226.
        got = bytearray()
        f.retrbinary("RETR " + name, got.extend, rest=size)
        assert got == b""
        # ABOR while the server is sending: 426 for the transfer, 226 for the ABOR, and the session goes on.
        conn = f.transfercmd("RETR " + name)
        assert len(conn.recv(65536)) > 0
        f.sock.sendall(b"ABOR\r\n")
        assert f.getline().startswith("426")
        assert f.getline().startswith("226")
        conn.close()
        tail = bytearray()
        f.retrbinary("RETR " + name, tail.extend, rest=size - 100_000)
        with open(big_file[0], "rb") as src:
            src.seek(size - 100_000)
            assert bytes(tail) == src.read()
    finally:
        f.close()


def test_data_connection_from_another_address_is_refused(workdir, tmp_path):
    s = Server(os.path.join(workdir, "data-ftp-thief"), "ftp.allow_plain = true\n").start()
    try:
        data = os.urandom(300_000)
        p = tmp_path / "thief.img"
        p.write_bytes(data)
        rec = s.import_image(str(p), "thief test")
        user, token, name = credentials(s.mint(rec["id"])["ftp"])
        f = ftplib.FTP(timeout=20)
        f.connect("127.0.0.1", s.ftp_port)
        f.login(user, token)
        f.voidcmd("TYPE I")
        host, port = ftplib.parse227(f.sendcmd("PASV"))
        assert host == "127.0.0.1"
        thief = socket.socket()
        thief.bind(("127.0.0.2", 0))
        thief.settimeout(10)
        thief.connect((host, port))  # first in the queue, from the wrong address
        legit = socket.create_connection((host, port), timeout=10)
        assert f.sendcmd("RETR " + name).startswith("150")
        try:
            assert thief.recv(1) == b""  # closed by the server, nothing sent
        except ConnectionResetError:
            pass
        got = bytearray()
        while True:
            b = legit.recv(65536)
            if not b:
                break
            got += b
        legit.close()
        assert f.voidresp().startswith("226")
        assert bytes(got) == data
        f.quit()
    finally:
        s.stop()


def test_bystander_session_still_works(bystander, big_image, big_file):
    f, name = bystander
    assert f.voidcmd("NOOP").startswith("200")
    assert f.size(name) == big_image["size"]
    tail = bytearray()
    f.retrbinary("RETR " + name, tail.extend, rest=big_image["size"] - 4096)
    with open(big_file[0], "rb") as src:
        src.seek(big_image["size"] - 4096)
        assert bytes(tail) == src.read()
