"""Console sessions and the console's static files, without a browser: cookie flags over HTTP and HTTPS, CSRF
refusals on the API and on tus, idle expiry, sign-out, revoked keys, login-CSRF guards, static headers."""
import http.client
import json
import os
import ssl
import time

import pytest

from conftest import Server


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-sessions"), "console.session_timeout = 2s\n").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def key(srv):
    return srv.admin_key


def call(srv, method, path, body=None, headers=None, tls=False):
    if tls:
        ctx = ssl.create_default_context(cafile=srv.ca_file)
        ctx.check_hostname = False
        c = http.client.HTTPSConnection("127.0.0.1", srv.tls_port, context=ctx, timeout=30)
    else:
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read()
    c.close()
    try:
        js = json.loads(payload) if payload else None
    except ValueError:
        js = None
    return r.status, r.getheaders(), js


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


def sign_in(srv, key, tls=False):
    status, headers, js = call(srv, "POST", "/api/v1/session", {"api_key": key}, tls=tls)
    assert status == 200, js
    cookie = header(headers, "Set-Cookie")[0]
    return cookie, cookie.split(";")[0], js


def test_cookie_flags_and_answer(srv, key):
    cookie, pair, js = sign_in(srv, key)
    name, value = pair.split("=", 1)
    assert name == "ig_session" and len(value) == 43  # 32 random bytes, base64url
    flags = [f.strip() for f in cookie.split(";")[1:]]
    assert set(flags) == {"Path=/", "HttpOnly", "SameSite=Strict"}  # plain HTTP: no Secure
    assert js["principal"]["kind"] == "platform_admin" and len(js["csrf_token"]) == 43
    assert js["idle_timeout_seconds"] == 2 and js["console"]["recycle_retention_seconds"] == 604800
    cookie, _, _ = sign_in(srv, key, tls=True)
    assert "Secure" in [f.strip() for f in cookie.split(";")]
    # The session id itself never appears in the answer, and GET /session restates the session.
    status, _, again = call(srv, "GET", "/api/v1/session", headers={"Cookie": pair})
    assert status == 200 and again["csrf_token"] == js["csrf_token"] and value not in json.dumps(again)


def test_csrf_required_for_changes(srv, key):
    _, pair, js = sign_in(srv, key)
    cookie = {"Cookie": pair}
    assert call(srv, "GET", "/api/v1/images", headers=cookie)[0] == 200
    body = {"name": "csrf tenant"}
    for extra in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": js["csrf_token"][:-1]}):
        status, _, err = call(srv, "POST", "/api/v1/tenants", body, headers={**cookie, **extra})
        assert status == 403 and err["error"]["code"] == "permission_denied" and "CSRF" in err["error"]["message"]
    status, _, made = call(srv, "POST", "/api/v1/tenants", body, headers={**cookie, "X-CSRF-Token": js["csrf_token"]})
    assert status == 201, made
    acc = made["owner"]
    # Another session's token does not fit this one.
    _, _, other = sign_in(srv, key)
    assert call(srv, "PATCH", f"/api/v1/accounts/{acc['id']}", {"disabled": True},
                headers={**cookie, "X-CSRF-Token": other["csrf_token"]})[0] == 403
    # A Bearer key needs no CSRF token (it is never sent by a browser on its own).
    assert call(srv, "GET", "/api/v1/me", headers={"Authorization": "Bearer " + key})[0] == 200
    # tus with the cookie: HEAD reads, PATCH without the token is refused.
    status, _, img = call(srv, "POST", "/api/v1/imports", {
        "name": "csrf", "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
        "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS", "source": {"upload": {"size": 10}}},
        headers={**cookie, "X-CSRF-Token": js["csrf_token"]})
    assert status == 201, img
    tus = {**cookie, "Tus-Resumable": "1.0.0"}
    status, headers, _ = call(srv, "HEAD", img["upload_url"], headers=tus)
    assert status == 200 and header(headers, "Upload-Offset") == ["0"]
    patch = {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}
    assert call(srv, "PATCH", img["upload_url"], b"0123456789", headers=patch)[0] == 401
    status, headers, _ = call(srv, "PATCH", img["upload_url"], b"0123456789",
                              headers={**patch, "X-CSRF-Token": js["csrf_token"]})
    assert status == 204 and header(headers, "Upload-Offset") == ["10"]


def test_sign_out_and_bad_sign_ins(srv, key):
    _, pair, js = sign_in(srv, key)
    cookie = {"Cookie": pair}
    assert call(srv, "DELETE", "/api/v1/session", headers=cookie)[0] == 403  # sign-out needs the token too
    status, headers, out = call(srv, "DELETE", "/api/v1/session", headers={**cookie, "X-CSRF-Token": js["csrf_token"]})
    assert status == 200 and out["signed_out"] is True
    assert "Max-Age=0" in header(headers, "Set-Cookie")[0]
    assert call(srv, "GET", "/api/v1/images", headers=cookie)[0] == 401
    assert call(srv, "GET", "/api/v1/session", headers=cookie)[0] == 401
    assert call(srv, "POST", "/api/v1/session", {"api_key": "igk_000000000000_" + "A" * 43})[0] == 401
    assert call(srv, "POST", "/api/v1/session", {"api_key": key, "extra": 1})[0] == 400
    # Login CSRF: a form post (text/plain) and another site's Origin are refused.
    assert call(srv, "POST", "/api/v1/session", json.dumps({"api_key": key}).encode(),
                headers={"Content-Type": "text/plain"})[0] == 415
    assert call(srv, "POST", "/api/v1/session", {"api_key": key}, headers={"Origin": "https://evil.example"})[0] == 403
    assert call(srv, "POST", "/api/v1/session", {"api_key": key},
                headers={"Origin": f"http://127.0.0.1:{srv.port}"})[0] == 200
    assert call(srv, "PUT", "/api/v1/session", {})[0] == 405


@pytest.mark.slow
def test_idle_expiry_and_revoked_key(srv, key):
    _, pair, _ = sign_in(srv, key)
    cookie = {"Cookie": pair}
    for _ in range(3):  # requests keep it alive
        time.sleep(1)
        assert call(srv, "GET", "/api/v1/me", headers=cookie)[0] == 200
    time.sleep(2.5)
    assert call(srv, "GET", "/api/v1/me", headers=cookie)[0] == 401
    # Revoking the key ends its sessions at once.
    status, _, k = call(srv, "POST", "/api/v1/api-keys", {}, headers={"Authorization": "Bearer " + key})
    assert status == 201, k
    _, pair2, _ = sign_in(srv, k["secret"])
    assert call(srv, "GET", "/api/v1/me", headers={"Cookie": pair2})[0] == 200
    assert call(srv, "DELETE", f"/api/v1/api-keys/{k['key_id']}", headers={"Authorization": "Bearer " + key})[0] == 200
    assert call(srv, "GET", "/api/v1/me", headers={"Cookie": pair2})[0] == 401


def test_static_files(srv):
    status, headers, _ = call(srv, "GET", "/console/")
    assert status == 200 and header(headers, "Content-Type") == ["text/html; charset=utf-8"]
    csp = header(headers, "Content-Security-Policy")[0]
    assert csp == ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                   "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    assert header(headers, "X-Content-Type-Options") == ["nosniff"]
    assert header(headers, "Referrer-Policy") == ["no-referrer"] and header(headers, "Cache-Control") == ["no-cache"]
    for path, ctype in (("/console/app.js", "text/javascript"), ("/console/style.css", "text/css"),
                        ("/console/strings.en.js", "text/javascript"), ("/console/custom-image-guide.md", "text/markdown"),
                        ("/console/recycle-bin", "text/html"), ("/console/images/x/download", "text/html")):
        status, headers, _ = call(srv, "GET", path)
        assert status == 200 and header(headers, "Content-Type")[0].startswith(ctype), path
    etag = header(call(srv, "GET", "/console/app.js")[1], "ETag")[0]
    assert call(srv, "GET", "/console/app.js", headers={"If-None-Match": etag})[0] == 304
    assert call(srv, "HEAD", "/console/app.js")[0] == 200
    assert call(srv, "GET", "/console")[0] == 301
    for bad in ("/console/../keys/admin-api-key", "/console/%2e%2e/catalog.sqlite3", "/console/app.js.bak",
                "/console/.env", "/console/x.png"):
        assert call(srv, "GET", bad)[0] in (400, 404), bad
    status, headers, _ = call(srv, "POST", "/console/", {})
    assert status == 405 and header(headers, "Allow") == ["GET, HEAD"]
