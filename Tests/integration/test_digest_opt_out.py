"""`?digest=off` on a download link leaves out Digest and Repr-Digest, so aria2c skips the whole-file SHA-256 it
otherwise runs after every download (it has no option of its own for that; Docs/http-range.md)."""
import os

from conftest import run


def headers_of(url, *extra):
    r = run(["curl", "-s", "-D", "-", "-o", "/dev/null", *extra, url])
    assert r.returncode == 0, r.stderr
    return {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in r.stdout.splitlines()[1:]) if v}


def test_digest_headers_by_default_and_gone_with_digest_off(server, small_image):
    rec, data = small_image
    url = server.mint(rec["id"])["http"]
    h = headers_of(url)
    assert h["digest"].startswith("SHA-256=") and h["repr-digest"].startswith("sha-256=:")
    for extra in ([], ["-r", "10-19"], ["-r", "0-0,5-6"]):
        off = headers_of(url + "?digest=off", *extra)
        assert "digest" not in off and "repr-digest" not in off
        assert off["etag"] == h["etag"]  # same representation, only the digests are left out
    # Anything else in the query changes nothing.
    assert "digest" in headers_of(url + "?digest=on&x=digest=off2")
    r = run(["curl", "-sf", "-o", "/dev/null", url + "?foo=1&digest=off"])
    assert r.returncode == 0


def test_aria2c_verifies_only_when_the_digest_is_sent(server, small_image, tmp_path):
    rec, data = small_image
    url = server.mint(rec["id"])["http"]
    for query, verified in (("", True), ("?digest=off", False)):
        out = tmp_path / ("with" if verified else "without")
        logf = out / "aria2.log"
        os.makedirs(out)
        r = run(["aria2c", "-x4", "--log-level=info", "-l", str(logf), "-d", str(out), "-o", "f.bin", url + query])
        assert r.returncode == 0, r.stdout + r.stderr
        assert (out / "f.bin").read_bytes() == data
        log = logf.read_text(errors="replace")
        # aria2c re-reads and hashes the finished file only when a Digest header came with it.
        assert ("Verification finished successfully" in log) == verified
