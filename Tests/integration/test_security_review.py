"""Issue #11's security review with real clients: the FTP login deadline (16), `key retire` ending FTP and
SFTP sessions (17), tokens redacted in every logged line (18)."""
import ftplib
import json
import os
import socket
import struct
import time

from conftest import Server, raw_request, run
from test_sftp import token_of
from test_sftp_sessions import RawSFTP, pkt


def _image(srv, tmp_path, name="review", size=64 * 1024):
    src = tmp_path / f"{name}.img"
    src.write_bytes(os.urandom(size))
    return srv.import_image(str(src), name)


def _ftp_token(link):
    return link["ftp"].split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]


def test_ftp_connection_that_never_logs_in_is_closed_at_the_login_deadline(workdir):
    srv = Server(os.path.join(workdir, "data-ftp-login-deadline"),
                 config_text="ftp.login_timeout = 1s\nftp.allow_plain = true\n").start()
    try:
        s = socket.create_connection(("127.0.0.1", srv.ftp_port), timeout=120)
        f = s.makefile("rb")
        assert f.readline().startswith(b"220")
        # Chatter does not keep a connection alive without a login.
        s.sendall(b"NOOP\r\n")
        assert f.readline()[:3] in (b"200", b"530")
        assert f.readline().startswith(b"421 Login time exceeded")
        assert f.readline() == b""
        s.close()
    finally:
        srv.stop()


def test_key_retire_ends_ftp_and_sftp_sessions_and_http_links(workdir, tmp_path):
    srv = Server(os.path.join(workdir, "data-key-retire"), config_text="ftp.allow_plain = true\n").start()
    try:
        img = _image(srv, tmp_path)
        link = srv.mint(img["id"])
        old_kid = srv.cli_json("key", "list")["keys"][0]["kid"]
        sftp = RawSFTP(srv, token_of(link))
        sftp.send(pkt(1, struct.pack(">I", 3)))
        assert sftp.recv()[0] == 2
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", srv.ftp_port, timeout=30)
        ftp.login(img["id"], _ftp_token(link))
        assert ftp.size(img["file_name"]) == img["size"]
        # Retiring the active key is refused (exit 4); after a rotation the old key can be retired.
        r = srv.cli("key", "retire", old_kid, check=False)
        assert r.returncode == 4 and "rotate first" in r.stderr
        srv.cli("key", "rotate")
        r = srv.cli("key", "retire", old_kid)
        assert "retired" in r.stdout
        assert old_kid not in [k["kid"] for k in srv.cli_json("key", "list")["keys"]]
        # SFTP: the periodic re-check ends the session (the subsystem's stdout closes).
        assert sftp.recv() is None
        sftp.p.wait(timeout=60)
        # FTP: the next transfer is refused and the control connection is closed.
        with __import__("pytest").raises(ftplib.error_perm, match="530"):
            ftp.retrbinary(f"RETR {img['file_name']}", lambda b: None)
        ftp.close()
        # HTTP: the link answers the uniform 404.
        http_path = "/" + link["http"].split("/", 3)[3]
        raw = raw_request(srv.port, f"GET {http_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert raw.startswith(b"HTTP/1.1 404")
        outcomes = [l["outcome"] for l in srv.access_log() if l.get("proto") == "sftp"]
        assert "revoked" in outcomes
        r = srv.cli("key", "retire", "zzzz", check=False)
        assert r.returncode == 64
    finally:
        srv.stop()


def test_tokens_are_redacted_in_every_logged_line(workdir, tmp_path):
    srv = Server(os.path.join(workdir, "data-redaction"),
                 config_text="ftp.allow_plain = true\nlog.level = debug\n").start()
    try:
        img = _image(srv, tmp_path)
        link = srv.mint(img["id"])
        tok = token_of(link)
        tag = tok.split(".")[2]
        name = img["file_name"]
        paths = [f"/D/{tok}/{name}", f"/d/../d/{tok}/{name}", f"/{tok}", f"/console/{tok}",
                 f"/d/{tok.upper()}/{name}", f"/d/{tok.replace('.', '%2E')}/{name}", f"/d/{tok}/{name}?x={tok}"]
        for p in paths:
            raw_request(srv.port, f"GET {p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        # FTP: the token as a path and as the user name.
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", srv.ftp_port, timeout=30)
        try:
            ftp.login(tok, "x")
        except ftplib.error_perm:
            pass
        ftp.close()
        ftp = ftplib.FTP()
        ftp.connect("127.0.0.1", srv.ftp_port, timeout=30)
        ftp.login(img["id"], _ftp_token(link))
        try:
            ftp.retrbinary(f"RETR /{tok}", lambda b: None)
        except ftplib.error_perm:
            pass
        ftp.quit()
        # A URL import whose URL is another ImageGate link (refused: loopback); its warning names the URL.
        body = {"name": "from-link", "kind": "self_made", "format": "raw", "system_type": "Linux",
                "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
                "source": {"url": f"http://127.0.0.1:{srv.port}/d/{tok}/{name}"}}
        status, _, out = _api(srv, "POST", "/api/v1/imports", body)
        assert status in (201, 400), out
        time.sleep(1)
        # SFTP: a tampered token as the user name.
        bad = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
        run(["ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "BatchMode=yes", "-p", str(srv.sftp_port), "-s", f"{bad}@127.0.0.1", "sftp"], timeout=60)
        time.sleep(1)
    finally:
        srv.stop()
    with open(os.path.join(srv.data_dir, "logs", "access.log")) as f:
        access = f.read()
    diagnostics = srv.proc.stderr.read()
    for text, what in ((access, "access log"), (diagnostics, "server log")):
        assert tag not in text and tag.upper() not in text, what
        assert tok.split(".")[1][:40] not in text and tok.split(".")[1][:40].upper() not in text, what
        assert bad.split(".")[2] not in text, what
    lines = [json.loads(l) for l in access.splitlines() if l.strip()]
    http_paths = [l["path"] for l in lines if l.get("proto") == "http" and not l["path"].startswith("/api/")]
    assert len(http_paths) >= len(paths) and all("igt1." in p or "<redacted>" in p for p in http_paths), http_paths


# --- HTTP and the management API (items 14, 19, 20, 21, 25) -------------------------------------------------

def _raw(srv, method, path, headers=(), body=b"", version="HTTP/1.1"):
    head = f"{method} {path} {version}\r\nHost: a\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    raw = raw_request(srv.port, head.encode() + b"\r\n" + body)
    status_line = raw.split(b"\r\n", 1)[0].decode()
    return status_line, raw


def _api(srv, method, path, body=None, content_type="application/json"):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    h = {"Authorization": "Bearer " + srv.admin_key}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = content_type
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read()
    c.close()
    return r.status, r.reason, (json.loads(payload) if payload.startswith(b"{") else payload)


def test_api_key_lifetime_is_bounded(server):
    # Found by schemathesis: an expires_in of centuries gave an expiry in year 156317, not an RFC 3339 date.
    status, _, out = _api(server, "POST", "/api/v1/api-keys", {"expires_in": "99999999d"})
    assert status == 400 and "at most 3650" in out["error"]["message"], out
    status, _, out = _api(server, "POST", "/api/v1/api-keys", {"expires_in": "3650d"})
    assert status == 201 and out["expires_at"][:4].isdigit() and out["expires_at"][4] == "-", out
    assert _api(server, "DELETE", "/api/v1/api-keys/" + out["key_id"])[0] == 200


def test_api_request_shape_and_reason_phrases(server):
    key = server.admin_key
    body = json.dumps({"name": "shape-tenant"}).encode()
    line, raw = _raw(server, "POST", "/api/v1/tenants", [("Authorization", f"Bearer {key}"),
                                                       ("Content-Type", "text/plain")], body)
    assert line == "HTTP/1.1 415 Unsupported Media Type", line
    line, _ = _raw(server, "POST", "/api/v1/tenants", [("Authorization", f"Bearer {key}"),
                                                     ("Content-Type", "application/x-www-form-urlencoded")], body)
    assert line.startswith("HTTP/1.1 415")
    line, _ = _raw(server, "GET", "/api/v1/me", [("Authorization", f"Bearer {key}"), ("Authorization", "Bearer x")])
    assert line.startswith("HTTP/1.1 400"), line
    line, _ = _raw(server, "HEAD", "/uploads/x", [("Authorization", f"Bearer {key}"), ("Authorization", f"Bearer {key}"),
                                                 ("Tus-Resumable", "1.0.0")])
    assert line.startswith("HTTP/1.1 400"), line
    status, _, out = _api(server, "POST", "/api/v1/tenants", {"name": "shape-tenant-json"},
                          content_type="application/json; charset=utf-8")
    assert status == 201, out


def test_download_paths_http10_and_healthz(server, small_image):
    rec, data = small_image
    link = server.mint(rec["id"])["http"]
    path = "/" + link.split("/", 3)[3]
    line, raw = _raw(server, "GET", path, version="HTTP/1.0")
    assert line == "HTTP/1.1 200 OK" and raw.endswith(data)
    for bad in (path + "/", path.replace("/d/", "/d//"), path + "/..", "/d/%ZZ/x"):
        line, _ = _raw(server, "GET", bad)
        assert line == "HTTP/1.1 404 Not Found", (bad, line)
    assert _raw(server, "GET", "/healthz")[0] == "HTTP/1.1 200 OK"
    assert _raw(server, "HEAD", "/healthz")[0] == "HTTP/1.1 200 OK"
    for method in ("TRACE", "POST", "DELETE", "OPTIONS"):
        line, raw = _raw(server, method, "/healthz")
        assert line == "HTTP/1.1 405 Method Not Allowed", (method, line)
        assert b"\r\nAllow: GET, HEAD\r\n" in raw


def test_tus_head_after_completion_and_checksum_reason(server):
    import base64
    import hashlib
    import http.client
    key = server.admin_key
    body = {"name": "tus-done", "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
            "source": {"upload": {"size": 4096}}}
    status, _, img = _api(server, "POST", "/api/v1/imports", body)
    assert status == 201, img
    url = img["upload_url"]
    chunk = os.urandom(4096)

    def tus(method, extra=None, data=None):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        h = {"Authorization": "Bearer " + key, "Tus-Resumable": "1.0.0"}
        h.update(extra or {})
        c.request(method, url, body=data, headers=h)
        r = c.getresponse()
        r.read()
        c.close()
        return r.status, r.reason, dict((k.lower(), v) for k, v in r.getheaders())

    bad = "sha1 " + base64.b64encode(hashlib.sha1(b"other").digest()).decode()
    status, reason, _ = tus("PATCH", {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
                                      "Upload-Checksum": bad}, chunk)
    assert (status, reason) == (460, "Checksum Mismatch")
    status, _, h = tus("PATCH", {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, chunk)
    assert status == 204 and h["upload-offset"] == "4096"
    deadline = time.time() + 60
    while _api(server, "GET", f"/api/v1/images/{img['id']}")[2]["status"] != "available":
        assert time.time() < deadline
        time.sleep(0.2)
    # The client lost the last PATCH reply: HEAD confirms the upload is complete.
    status, _, h = tus("HEAD")
    assert status == 200 and h["upload-offset"] == "4096" and h["upload-length"] == "4096"


def test_text_bounds_and_invisible_characters_through_the_api(server, small_image):
    rec, _ = small_image
    # 20 000 marks (40 KB, under the API's body limit; 400 000 are refused earlier, 413) on one letter.
    zalgo = "a" + "\u0301" * 20_000
    for field in ("name", "remarks", "project_group"):
        status, _, out = _api(server, "PATCH", f"/api/v1/images/{rec['id']}", {field: zalgo})
        assert status == 400 and out["error"]["code"] == "invalid_request", (field, out)
    for mark in ("\u200e", "\u200f", "\u061c", "\u200b", "\ufeff"):
        status, _, out = _api(server, "PATCH", f"/api/v1/images/{rec['id']}", {"name": f"Cent{mark}OS"})
        assert status == 400, (mark, out)
        status, _, out = _api(server, "POST", "/api/v1/tenants", {"name": f"ten{mark}ant"})
        assert status == 400, (mark, out)
    status, _, out = _api(server, "POST", "/api/v1/tenants", {"name": "t" + "\u0301" * 20_000})
    assert status == 400
    # The CLI goes through the same rules.
    r = server.cli("image", "rename", rec["id"], "x" + "\u0301" * 20, check=False)
    assert r.returncode != 0 and "combining" in r.stderr
    assert _api(server, "GET", f"/api/v1/images/{rec['id']}")[2]["name"] == rec["name"]


def test_csv_formula_guard_looks_at_scalars(server, small_image):
    rec, _ = small_image
    name = "=\u0301HYPERLINK(\"http://evil.example\")"
    status, _, out = _api(server, "PATCH", f"/api/v1/images/{rec['id']}", {"name": name})
    assert status == 200, out
    import csv
    import io
    status, _, payload = _api(server, "GET", "/api/v1/export.csv")
    assert status == 200
    rows = list(csv.reader(io.StringIO(payload.decode())))
    cells = [c for row in rows for c in row if "HYPERLINK" in c]
    assert cells and all(c.startswith("'=") for c in cells), cells


def test_url_import_refusal_does_not_reveal_the_address(server):
    body = {"name": "internal", "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
            "source": {"url": "http://localhost:9/disk.raw"}}
    status, _, img = _api(server, "POST", "/api/v1/imports", body)
    if status == 201:
        deadline = time.time() + 60
        while img["status"] not in ("failed", "available"):
            assert time.time() < deadline
            time.sleep(0.2)
            img = _api(server, "GET", f"/api/v1/images/{img['id']}")[2]
        reason = img["failure_reason"]
    else:
        reason = img["error"]["message"]
    assert "not allowed" in reason
    for leak in ("127.0.0.1", "::1", "blocked range", "/8"):
        assert leak not in reason, reason
