"""RFC 9110 range and validator behaviour of the real server, checked over raw sockets and with curl."""
import re

from conftest import parse_response, raw_request, run


def path_of(url):
    return "/" + url.split("/", 3)[3]


def get(server, path, extra="", method="GET"):
    req = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n".encode()
    return parse_response(raw_request(server.port, req))


def test_single_suffix_open_and_clamped_ranges(server, small_image):
    rec, data = small_image
    p = path_of(server.mint(rec["id"])["http"])
    cases = [
        ("bytes=0-9", "bytes 0-9/1000", data[0:10]),
        ("bytes=-10", "bytes 990-999/1000", data[990:]),
        ("bytes=990-", "bytes 990-999/1000", data[990:]),
        ("bytes=0-999999", "bytes 0-999/1000", data),
        ("bytes=0-18446744073709551615", "bytes 0-999/1000", data),
        ("bytes=-20000", "bytes 0-999/1000", data),
        ("bytes=0-0", "bytes 0-0/1000", data[0:1]),
        ("bytes=0-9,5-14", "bytes 0-14/1000", data[0:15]),
    ]
    for rng, content_range, body in cases:
        status, h, b, _ = get(server, p, f"Range: {rng}\r\n")
        assert status == 206, rng
        assert h["content-range"] == content_range, rng
        assert int(h["content-length"]) == len(body), rng
        assert b == body, rng
        assert "etag" in h and "last-modified" in h and h["accept-ranges"] == "bytes"


def test_unsatisfiable_and_ignored_ranges(server, small_image):
    rec, data = small_image
    p = path_of(server.mint(rec["id"])["http"])
    for rng in ["bytes=1000-", "bytes=-0", "bytes=99999999999999999999999-", "bytes=0-,0-,0-"]:
        status, h, b, _ = get(server, p, f"Range: {rng}\r\n")
        assert status == 416, rng
        assert h["content-range"] == "bytes */1000", rng
        assert h["content-length"] == "0" and b == b"", rng
    for rng in ["bytes=5-4", "items=0-5", "bytes 0-5", "bytes=abc"]:
        status, h, b, _ = get(server, p, f"Range: {rng}\r\n")
        assert status == 200, rng
        assert b == data and "content-range" not in h, rng


def test_multipart_byteranges(server, small_image):
    rec, data = small_image
    p = path_of(server.mint(rec["id"])["http"])
    status, h, b, _ = get(server, p, "Range: bytes=0-9,20-29\r\n")
    assert status == 206
    assert "content-range" not in h
    m = re.match(r"multipart/byteranges; boundary=(\S+)$", h["content-type"])
    assert m
    assert len(b) == int(h["content-length"])
    assert b"Content-Range: bytes 0-9/1000\r\n\r\n" + data[0:10] in b
    assert b"Content-Range: bytes 20-29/1000\r\n\r\n" + data[20:30] in b
    assert b.endswith(b"--" + m.group(1).encode() + b"--\r\n")


def test_head_mirrors_get_and_ignores_range(server, small_image):
    rec, _ = small_image
    p = path_of(server.mint(rec["id"])["http"])
    raw = raw_request(server.port, f"HEAD {p} HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n".encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: 1000" in head
    assert body == b""


def test_if_range_and_conditionals(server, small_image):
    rec, data = small_image
    p = path_of(server.mint(rec["id"])["http"])
    _, h, _, _ = get(server, p)
    etag, lm = h["etag"], h["last-modified"]
    assert etag.startswith('"') and not etag.startswith("W/")
    s, h2, b, _ = get(server, p, f"Range: bytes=100-\r\nIf-Range: {etag}\r\n")
    assert s == 206 and h2["content-range"] == "bytes 100-999/1000" and b == data[100:]
    s, _, b, _ = get(server, p, 'Range: bytes=100-\r\nIf-Range: "stale"\r\n')
    assert s == 200 and b == data
    s, _, b, _ = get(server, p, f"Range: bytes=100-\r\nIf-Range: W/{etag}\r\n")
    assert s == 200 and b == data
    s, h3, b, _ = get(server, p, f"Range: bytes=0-9\r\nIf-None-Match: {etag}\r\n")
    assert s == 304 and "content-range" not in h3 and b == b""
    s, _, _, _ = get(server, p, 'If-Match: "nope"\r\n')
    assert s == 412
    s, _, b, _ = get(server, p, f"If-Modified-Since: {lm}\r\n")
    assert s == 304


def test_etag_stable_across_restart_and_links(server, small_image):
    rec, _ = small_image
    p1 = path_of(server.mint(rec["id"])["http"])
    p2 = path_of(server.mint(rec["id"])["http"])
    _, h1, _, _ = get(server, p1)
    _, h2, _, _ = get(server, p2)
    assert h1["etag"] == h2["etag"] and h1["last-modified"] == h2["last-modified"]


def test_no_compression_and_download_headers(server, small_image):
    rec, _ = small_image
    p = path_of(server.mint(rec["id"])["http"])
    s, h, _, _ = get(server, p, "Accept-Encoding: gzip, br\r\n")
    assert s == 200
    assert "content-encoding" not in h and "transfer-encoding" not in h and "vary" not in h
    assert h["content-type"] == "application/octet-stream"
    assert h["content-disposition"] == f'attachment; filename="{rec["file_name"]}"'
    assert h["cache-control"] == "private, no-store"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-content-type-options"] == "nosniff"


def test_pipelined_requests_answered_in_order(server, small_image):
    rec, data = small_image
    p = path_of(server.mint(rec["id"])["http"])
    req = (f"GET {p} HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n\r\n"
           f"GET {p} HTTP/1.1\r\nHost: a\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n").encode()
    raw = raw_request(server.port, req)
    s1, h1, b1, rest = parse_response(raw)
    s2, h2, b2, rest2 = parse_response(rest)
    assert (s1, h1["content-range"], b1) == (206, "bytes 0-9/1000", data[0:10])
    assert (s2, h2["content-range"], b2) == (206, "bytes 10-19/1000", data[10:20])
    assert rest2 == b""


def test_http10_closes_and_keepalive_on_request(server, small_image):
    rec, data = small_image
    p = path_of(server.mint(rec["id"])["http"])
    raw = raw_request(server.port, f"GET {p} HTTP/1.0\r\n\r\n".encode())
    s, h, b, rest = parse_response(raw)
    assert raw.startswith(b"HTTP/1.1 200")
    assert s == 200 and b == data and h.get("connection") == "close" and rest == b""
    assert "transfer-encoding" not in h


def test_method_not_allowed(server, small_image):
    rec, _ = small_image
    p = path_of(server.mint(rec["id"])["http"])
    s, h, _, _ = get(server, p, "", method="DELETE")
    assert s == 405 and h["allow"] == "GET, HEAD"


def test_curl_range_and_digest_verified_by_aria2(server, small_image, tmp_path):
    rec, data = small_image
    url = server.mint(rec["id"])["http"]
    out = tmp_path / "part"
    r = run(["curl", "-sS", "-f", "-r", "10-19", "-o", str(out), url])
    assert r.returncode == 0 and out.read_bytes() == data[10:20]
    # aria2c checks the Digest header against what it downloaded (reports a digest mismatch otherwise).
    r = run(["aria2c", "--console-log-level=warn", "--summary-interval=0", "-d", str(tmp_path), "-o", "whole", url])
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "whole").read_bytes() == data
