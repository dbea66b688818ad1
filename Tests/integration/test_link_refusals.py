"""Refused links tell their recipient why (issue 14 item 5, Docs/links.md "Refused links"): an authentic link that
expired, was revoked, was used up (max_downloads) or is used from a network address it is not bound to gets
410/403 with one sentence over
HTTP, a 530 with the sentence over FTP and the sentence in the SSH banner over SFTP; a token whose MAC does not
verify keeps the uniform 404. Refusals are audited as `download.refused`, once per rate window."""
import csv
import ftplib
import io
import os
import ssl
import subprocess
import time

from conftest import run
from test_sftp import SSH_OPTS, sftp_batch, token_of
from tokenforge import Forge, b64u, unb64u

EXPIRED = "This download address has expired: ask for a new download address."
REVOKED = "This download address was revoked: ask for a new download address."
USED_UP = "This download address has been used up: ask for a new download address."
ELSEWHERE = "This download address may not be used from your network address: ask for a new download address."
ANOTHER_NET = dict(ipfam=4, ipaddr=bytes([203, 0, 113, 0]) + b"\0" * 12, ipplen=24)
LOOPBACK_ONE = dict(ipfam=4, ipaddr=bytes([127, 0, 0, 1]) + b"\0" * 12, ipplen=32)


def token_in(url):
    # http://host:port/d/<token>/<name>; ftp://<image>:<token>@host:port/<name>
    return url.split("/")[4] if url.startswith("http") else url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]


def forged(server, link, **changes):
    """The link's token re-signed with other claims (same serial): authentic, so its holder is told why."""
    c = Forge.parse(token_in(link["http"]))
    return Forge(server.data_dir).mint(dict(c, **changes))


def expired(server, link):
    now = int(time.time())
    return forged(server, link, iat=now - 3600, exp=now - 120)


def curl_http(url, *extra):
    """(status, body) as curl sees them."""
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *extra, url], capture_output=True,
                       timeout=60)
    body, _, status = r.stdout.decode(errors="replace").rpartition("\n")
    return int(status), body


def refused_events(server, serial):
    events = server.cli_json("audit", "list", "--limit", "1000")["items"]
    return [e for e in events if e["action"] == "download.refused" and e["detail"].get("serial") == serial]


def test_http_says_why_and_bad_mac_stays_404(server, small_image):
    rec, _ = small_image
    link = server.mint(rec["id"])
    token = token_in(link["http"])
    http = link["http"]
    assert curl_http(http.replace(token, expired(server, link))) == (410, EXPIRED + "\n")
    # wget shows the status line; with --content-on-error it prints the sentence too.
    r = run(["wget", "-q", "-S", "--content-on-error", "-O", "-", http.replace(token, expired(server, link))])
    assert r.returncode != 0 and "410 Gone" in r.stderr and r.stdout == EXPIRED + "\n"
    assert curl_http(http.replace(token, forged(server, link, **ANOTHER_NET))) == (403, ELSEWHERE + "\n")
    # Bound to 127.0.0.1 only: fine from there, refused from 127.0.0.2 (another loopback address).
    one = http.replace(token, forged(server, link, **LOOPBACK_ONE))
    assert curl_http(one)[0] == 200
    assert curl_http(one, "--interface", "127.0.0.2") == (403, ELSEWHERE + "\n")
    # A token whose MAC does not verify: the uniform 404, expired or not.
    prefix, payload, tag = expired(server, link).split(".")
    raw = bytearray(unb64u(tag))
    raw[-1] ^= 0x80
    assert curl_http(http.replace(token, f"{prefix}.{payload}.{b64u(bytes(raw))}")) == (404, "Not Found\n")
    serial = Forge.parse(token)["serial"].hex()
    server.cli("link", "revoke", serial)
    deadline = time.time() + 5  # the authorization cache holds a verdict for at most 1 s
    while curl_http(http)[0] == 200 and time.time() < deadline:
        time.sleep(0.2)
    assert curl_http(http) == (410, REVOKED + "\n")


def test_ftp_530_says_why(server, small_image, tmp_path):
    rec, _ = small_image
    link = server.mint(rec["id"])
    ftp = link["ftp"].replace(token_in(link["ftp"]), expired(server, link))
    r = run(["curl", "-sS", "-v", "--ssl-reqd", "--cacert", server.ca_file, "-o", str(tmp_path / "x"), ftp])
    assert r.returncode != 0
    assert f"< 530 {EXPIRED}" in r.stderr.splitlines()
    settings = f"set ssl:ca-file {server.ca_file}; set ftp:ssl-force true; set net:max-retries 1;"
    r = run(["lftp", "-c", f"{settings} get {ftp} -o {tmp_path / 'y'}"], timeout=60)
    assert r.returncode != 0 and EXPIRED in r.stderr, r.stderr
    # A wrong MAC keeps the generic refusal.
    bad = link["ftp"].replace(token_in(link["ftp"]), "igt1." + "A" * 124 + "." + "B" * 43)
    r = run(["curl", "-sS", "-v", "--ssl-reqd", "--cacert", server.ca_file, "-o", str(tmp_path / "z"), bad])
    assert "< 530 Login incorrect." in r.stderr.splitlines()


def test_ftp_retr_after_revocation_says_why(server, small_image):
    """A session logged in before the revocation: its next RETR is told why (and audited), not just refused."""
    rec, data = small_image
    link = server.mint(rec["id"])
    token = token_in(link["ftp"])
    serial = Forge.parse(token)["serial"].hex()
    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=server.ca_file))
    ftp.connect("127.0.0.1", server.ftp_port, timeout=30)
    ftp.auth()
    ftp.login(link["ftp"].split("//", 1)[1].split(":", 1)[0], token)
    ftp.prot_p()
    got = bytearray()
    ftp.retrbinary(f"RETR {rec['file_name']}", got.extend)
    assert bytes(got) == data
    server.cli("link", "revoke", serial)
    try:
        ftp.retrbinary(f"RETR {rec['file_name']}", got.extend)
        raise AssertionError("RETR after the revocation succeeded")
    except ftplib.error_perm as e:
        assert str(e) == "530 " + REVOKED
    finally:
        ftp.close()
    events = refused_events(server, serial)
    assert [(e["detail"]["reason"], e["detail"]["protocol"]) for e in events] == [("revoked", "ftps")], events


def test_sftp_banner_says_why(server, small_image, tmp_path):
    rec, data = small_image
    link = server.mint(rec["id"])
    r = sftp_batch(server, expired(server, link), ["ls"], str(tmp_path))
    assert r.returncode != 0 and EXPIRED in r.stderr, r.stderr
    r = sftp_batch(server, "download", ["ls"], str(tmp_path), extra=["-o", "PreferredAuthentications=password"],
                   password=forged(server, link, **ANOTHER_NET))
    assert r.returncode != 0 and ELSEWHERE in r.stderr, r.stderr
    # The link itself still works, and a wrong MAC says nothing more than "Permission denied".
    r = sftp_batch(server, token_of(link), [f"get {rec['file_name']} ok.img"], str(tmp_path))
    assert r.returncode == 0 and (tmp_path / "ok.img").read_bytes() == data
    r = sftp_batch(server, "igt1." + "A" * 124 + "." + "B" * 43, ["ls"], str(tmp_path))
    assert r.returncode != 0 and "Permission denied" in r.stderr and "download address" not in r.stderr


def test_sftp_session_ended_by_revocation_says_why(server, small_image, tmp_path):
    """An open OpenSSH sftp session whose link is revoked ends at the next revalidation with the sentence as the
    SSH disconnect message."""
    rec, _ = small_image
    link = server.mint(rec["id"])
    serial = Forge.parse(token_of(link))["serial"].hex()
    p = subprocess.Popen(["sftp", *SSH_OPTS, "-P", str(server.sftp_port), "-b", "-", f"{token_of(link)}@127.0.0.1"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         cwd=str(tmp_path))
    try:
        p.stdin.write("ls\n")
        p.stdin.flush()
        while rec["file_name"] not in p.stdout.readline():  # the session is open and listed the file
            pass
        server.cli("link", "revoke", serial)
        deadline = time.time() + 30
        while not refused_events(server, serial) and time.time() < deadline:
            time.sleep(0.2)
        _, err = p.communicate("ls\n", timeout=60)
    finally:
        p.kill()
    assert REVOKED in err, err
    assert [e["detail"]["protocol"] for e in refused_events(server, serial)] == ["sftp"]


def test_used_up_link_says_why_on_every_front(server, workdir, tmp_path):
    """A link whose max_downloads allowance is reached: 410 over HTTP, 530 at FTP login and at the next RETR of a
    session that logged in before, the SSH banner over SFTP; audited with reason `exhausted`."""
    size = 8 * 1024 * 1024
    path = os.path.join(workdir, f"used-up-{time.time_ns()}.img")
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    rec = server.import_image(path, "used up")
    link = server.cli_json("link", "mint", rec["id"], "--max-downloads", "1")
    serial = link["serial"]
    ftp = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=server.ca_file))
    ftp.connect("127.0.0.1", server.ftp_port, timeout=30)
    ftp.auth()
    ftp.login(link["ftp"].split("//", 1)[1].split(":", 1)[0], token_in(link["ftp"]))
    ftp.prot_p()
    try:
        served = 0
        while served < link["byte_allowance"]:
            r = run(["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", link["http"]])
            assert r.stdout == "200", r.stderr
            served += size
            deadline = time.time() + 30  # usage is recorded when the server sees the connection end
            while server.cli_json("link", "show", serial)["bytes_served"] < served:
                assert time.time() < deadline, "usage never recorded"
                time.sleep(0.05)
        assert curl_http(link["http"]) == (410, USED_UP + "\n")
        try:
            ftp.retrbinary(f"RETR {rec['file_name']}", lambda _: None)
            raise AssertionError("RETR after the allowance was used up succeeded")
        except ftplib.error_perm as e:
            assert str(e) == "530 " + USED_UP
    finally:
        ftp.close()
    r = run(["curl", "-sS", "-v", "--ssl-reqd", "--cacert", server.ca_file, "-o", str(tmp_path / "x"), link["ftp"]])
    assert r.returncode != 0 and f"< 530 {USED_UP}" in r.stderr.splitlines()
    r = sftp_batch(server, token_of(link), ["ls"], str(tmp_path))
    assert r.returncode != 0 and USED_UP in r.stderr, r.stderr
    # One record per (serial, reason, client address) in the window: the first refusal's.
    events = refused_events(server, serial)
    assert [(e["detail"]["reason"], e["detail"]["protocol"]) for e in events] == [("exhausted", "http")], events


def test_refusals_audited_once_per_window(server, small_image, tmp_path):
    rec, _ = small_image
    link = server.mint(rec["id"])
    token = token_in(link["http"])
    serial = Forge.parse(token)["serial"].hex()
    stale = link["http"].replace(token, expired(server, link))
    for _ in range(5):
        assert curl_http(stale)[0] == 410
    assert curl_http(stale, "--interface", "127.0.0.2")[0] == 410
    ftp = link["ftp"].replace(token_in(link["ftp"]), expired(server, link))
    run(["curl", "-sS", "--ssl-reqd", "--cacert", server.ca_file, "-o", str(tmp_path / "x"), ftp])
    assert curl_http(link["http"].replace(token, forged(server, link, **ANOTHER_NET)))[0] == 403
    events = refused_events(server, serial)
    # One record per (serial, reason, client address): five HTTP attempts from 127.0.0.1 and the FTP one from
    # the same address are one record; 127.0.0.2 and the address refusal are one more each.
    keys = sorted((e["detail"]["reason"], e["detail"]["client"]) for e in events)
    assert keys == [("addressNotAllowed", "127.0.0.1"), ("expired", "127.0.0.1"), ("expired", "127.0.0.2")], events
    first = next(e for e in events if e["detail"]["client"] == "127.0.0.1" and e["detail"]["reason"] == "expired")
    assert first["detail"]["protocol"] == "http" and first["target"] == rec["id"] and first["outcome"] == "denied"
    assert token.split(".")[2][:20] not in str(events)


def test_audit_filters_readable_details_and_csv(server, small_image):
    rec, _ = small_image
    link = server.mint(rec["id"])
    token = token_in(link["http"])
    serial = Forge.parse(token)["serial"].hex()
    assert curl_http(link["http"].replace(token, expired(server, link)))[0] == 410
    mine = server.cli_json("audit", "list", "--serial", serial)["items"]
    assert [e["action"] for e in mine] == ["link.mint", "download.refused"]
    minted = mine[0]["detail"]
    # Readable: an RFC 3339 time and protocol names, not Unix seconds and a bit mask.
    assert minted["expires_at"].endswith("Z") and minted["expires_at"][:4].isdigit() and "T" in minted["expires_at"]
    assert set(minted["protocols"].split(",")) >= {"https", "sftp"} and not minted["protocols"].isdigit()
    plain = server.cli("audit", "list", "--serial", serial).stdout
    assert "reason=expired" in plain and "protocol=http " in plain and "expires_at=20" in plain, plain
    refused = server.cli_json("audit", "list", "--action", "download.refused", "--image", rec["id"])["items"]
    assert [e["detail"]["serial"] for e in refused] == [serial]
    newest = server.cli_json("audit", "list", "--newest-first", "--limit", "1")["items"]
    everything = server.cli_json("audit", "list", "--limit", "1000")["items"]
    assert newest[0]["seq"] == everything[-1]["seq"]
    assert server.cli_json("audit", "list", "--serial", serial, "--until", "2001-01-01")["items"] == []
    assert len(server.cli_json("audit", "list", "--serial", serial, "--since", "2001-01-01T00:00:00Z")["items"]) == 2
    bad = server.cli("audit", "list", "--since", "yesterday", check=False)
    assert bad.returncode != 0 and "since must be" in bad.stderr
    # The CSV export of the same filter, parsed.
    key = server.admin_key
    r = subprocess.run(["curl", "-sS", "-f", "-H", f"Authorization: Bearer {key}",
                        f"{server.base}/api/v1/audit/export.csv?serial={serial}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["action"] for row in rows] == ["link.mint", "download.refused"]
    assert "reason=expired" in rows[1]["detail"] and "protocol=http" in rows[1]["detail"]
    assert rows[0]["time"].endswith("Z") and rows[1]["target"] == rec["id"]
