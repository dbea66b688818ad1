"""Link administration (issue 14, Docs/links.md): each mint option enforced on HTTPS, HTTP, FTPS and SFTP by real
clients (curl, wget, aria2c, OpenSSH sftp), usage counted in the catalog, max_downloads surviving a resumed and a
segmented download and then exhausted, bulk minting (CLI and API), the inventory's filters and paging, and
revocation of every link of an image. Refusals are checked as refusals (the client fails); the exact texts are
test_link_refusals.py's."""
import csv
import json
import os
import subprocess
import time

import pytest

from conftest import BIN, Server, run, sha256_file
from test_sftp import QUIET, sftp_batch, token_of

SIZE = 4 * 1024 * 1024 + 1234
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-link-admin"), "http.plain_links = true\n").start()
    source = os.path.join(workdir, "link-admin.img")
    with open(source, "wb") as f:
        f.write(os.urandom(SIZE))
    s.image = s.import_image(source, "Link Admin")
    s.digest = sha256_file(source)
    yield s
    s.stop()


def https_get(srv, url, out, *extra):
    return run(["curl", "-fsS", "--cacert", srv.ca_file, "-o", str(out), *extra, url], timeout=60)


def ftps_get(srv, url, out, *extra):
    return run(["curl", "-fsS", "--ssl-reqd", "--cacert", srv.ca_file, "-o", str(out), *extra, url], timeout=60)


def sftp_get(srv, link, cwd, *extra):
    return sftp_batch(srv, token_of(link), [f"get {srv.image['file_name']}"], str(cwd), extra=list(QUIET) + list(extra),
                      timeout=60)


def show(srv, serial):
    return srv.cli_json("link", "show", serial)


def usage_reaches(srv, serial, at_least):
    """Usage is recorded when a session ends, which the server notices after the client has gone: wait for
    the catalog to count `at_least` bytes served (a condition, not a time), then return the link."""
    deadline = time.time() + 30
    while True:
        link = show(srv, serial)
        if link["bytes_served"] >= at_least or time.time() > deadline:
            return link
        time.sleep(0.05)


def test_address_binding_is_enforced_on_every_protocol(srv, tmp_path):
    # One CIDR (carried in the token too) and two CIDRs (the catalog's list): 127.0.0.2 is outside both.
    one = srv.mint(srv.image["id"], "--allow-ip", "127.0.0.1")
    two = srv.mint(srv.image["id"], "--allow-ip", "127.0.0.1/32", "--allow-ip", "10.0.0.0/8")
    assert one["allowed_ips"] == ["127.0.0.1/32"] and two["allowed_ips"] == ["127.0.0.1/32", "10.0.0.0/8"]
    for link in (one, two):
        assert https_get(srv, link["https"], tmp_path / "a").returncode == 0
        assert https_get(srv, link["https"], tmp_path / "b", "--interface", "127.0.0.2").returncode != 0
        assert run(["curl", "-fsS", "-o", str(tmp_path / "c"), "--interface", "127.0.0.2", link["http"]]).returncode != 0
        assert ftps_get(srv, link["ftp"], tmp_path / "d").returncode == 0
        assert ftps_get(srv, link["ftp"], tmp_path / "e", "--interface", "127.0.0.2").returncode != 0
        assert sftp_get(srv, link, tmp_path).returncode == 0
        assert sftp_get(srv, link, tmp_path, "-o", "BindAddress=127.0.0.2").returncode != 0
        assert sha256_file(tmp_path / "a") == sha256_file(tmp_path / "d") == srv.digest


def test_each_protocol_is_granted_on_its_own(srv, tmp_path):
    link = srv.mint(srv.image["id"], "--protocols", "http,sftp", "--label", "plain and sftp")
    assert link["protocols"] == ["http", "sftp"] and link["label"] == "plain and sftp"
    assert "https" not in link and "ftp" not in link and link["http"] and link["sftp"]
    assert run(["curl", "-fsS", "-o", str(tmp_path / "h"), link["http"]]).returncode == 0
    # The same token over TLS: the token's bits would allow it (plain HTTP needs the TLS bit), the link does not.
    https_url = link["http"].replace(f"http://127.0.0.1:{srv.port}", f"https://127.0.0.1:{srv.tls_port}")
    assert https_get(srv, https_url, tmp_path / "s").returncode != 0
    ftp_url = f"ftp://{srv.image['id']}:{token_of(link)}@127.0.0.1:{srv.ftp_port}/{srv.image['file_name']}"
    assert ftps_get(srv, ftp_url, tmp_path / "f").returncode != 0
    assert sftp_get(srv, link, tmp_path).returncode == 0
    only_https = srv.mint(srv.image["id"], "--protocols", "https")
    assert https_get(srv, only_https["https"], tmp_path / "o").returncode == 0
    plain = only_https["https"].replace(f"https://127.0.0.1:{srv.tls_port}", f"http://127.0.0.1:{srv.port}")
    assert run(["curl", "-fsS", "-o", str(tmp_path / "p"), plain]).returncode != 0
    # A name the server does not offer (plain FTP is off here) or does not know is refused at mint time.
    r = srv.cli("link", "mint", srv.image["id"], "--protocols", "ftp", check=False)
    assert r.returncode == 4 and "not offered" in r.stderr
    r = srv.cli("link", "mint", srv.image["id"], "--protocols", "gopher", check=False)
    assert r.returncode == 4 and "unknown protocol" in r.stderr


def test_max_downloads_survives_resume_and_segments_then_is_exhausted(srv, tmp_path):
    link = srv.mint(srv.image["id"], "--max-downloads", "1")
    serial, name = link["serial"], srv.image["file_name"]
    allowance = SIZE + SIZE // 10 + 16 * MiB
    assert link["max_downloads"] == 1 and link["byte_allowance"] == allowance and link["state"] == "active"
    # A download cut after 1 MB, resumed by wget -c: one copy's worth of bytes in all.
    out = tmp_path / name
    assert https_get(srv, link["https"], out, "-r", "0-999999").returncode == 0
    assert os.path.getsize(out) == 1000000
    r = run(["wget", "-q", "-c", "--ca-certificate", srv.ca_file, "-O", str(out), link["https"]], timeout=60)
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == srv.digest
    used = usage_reaches(srv, serial, SIZE)
    assert used["bytes_served"] == SIZE and used["completed_downloads"] == 1 and used["state"] == "active"
    assert used["sessions"] == 2 and used["last_client"] == "127.0.0.1" and used["last_used_at"]
    # aria2c in 4 segments. Its first connection asks for the whole file and is closed once its segment is
    # in, so a little more than one copy is sent (what the 10 % and 16 MiB margin are for): still active.
    seg = tmp_path / "seg"
    seg.mkdir()
    r = run(["aria2c", "-q", "-x4", "-s4", "-k1M", "--ca-certificate", srv.ca_file, "-d", str(seg), "-o", name,
             link["https"] + "?digest=off"], timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(seg / name) == srv.digest
    used = usage_reaches(srv, serial, 2 * SIZE)
    assert 2 * SIZE <= used["bytes_served"] < allowance and used["state"] == "active"
    # FTPS and SFTP count toward the same allowance.
    assert ftps_get(srv, link["ftp"], tmp_path / "ftp.img").returncode == 0
    used = usage_reaches(srv, serial, used["bytes_served"] + SIZE)
    assert sftp_get(srv, link, tmp_path).returncode == 0
    used = usage_reaches(srv, serial, used["bytes_served"] + SIZE)
    assert used["state"] == "active"
    # Whole copies over HTTPS while the allowance lasts: each is served in full (a transfer is never cut),
    # and the first request after the allowance is reached is refused, on every protocol.
    while used["bytes_served"] < allowance:
        more = tmp_path / "more"
        assert https_get(srv, link["https"], more).returncode == 0
        assert sha256_file(more) == srv.digest
        used = usage_reaches(srv, serial, used["bytes_served"] + SIZE)
    assert used["bytes_served"] - SIZE < allowance
    assert used["state"] == "exhausted" and used["completed_downloads"] == used["bytes_served"] // SIZE
    assert https_get(srv, link["https"], tmp_path / "no").returncode != 0
    assert ftps_get(srv, link["ftp"], tmp_path / "no2").returncode != 0
    assert sftp_get(srv, link, tmp_path).returncode != 0
    listed = srv.cli_json("link", "list", "--image", srv.image["id"], "--state", "exhausted")["items"]
    assert [l["serial"] for l in listed] == [serial]


def test_an_sftp_session_opens_no_new_download_once_the_allowance_is_used(srv, tmp_path):
    """Within one SFTP session each `get` is a new download: once this session's own bytes (reported or not)
    reach the allowance, the next OPEN is refused; the transfer that crossed it was served in full."""
    link = srv.mint(srv.image["id"], "--max-downloads", "1")
    allowance, name = link["byte_allowance"], srv.image["file_name"]
    copies = -(-allowance // SIZE)  # the gets that start below the allowance
    commands = [f"get {name} copy{i}" for i in range(copies)] + [f"-get {name} refused"]
    r = sftp_batch(srv, token_of(link), commands, str(tmp_path), extra=QUIET, timeout=120)
    assert r.returncode == 0, r.stderr
    for i in range(copies):
        assert sha256_file(tmp_path / f"copy{i}") == srv.digest
    assert not os.path.exists(tmp_path / "refused") or os.path.getsize(tmp_path / "refused") == 0
    used = usage_reaches(srv, link["serial"], copies * SIZE)
    assert used["bytes_served"] == copies * SIZE and used["state"] == "exhausted"
    # The refused OPEN is audited like a refused login (Docs/links.md "Refused links").
    events = srv.cli_json("audit", "list", "--limit", "1000")["items"]
    refused = [e["detail"] for e in events
               if e["action"] == "download.refused" and e["detail"].get("serial") == link["serial"]]
    assert [(d["reason"], d["protocol"]) for d in refused] == [("exhausted", "sftp")], refused


def test_bulk_mint_of_50_images_with_csv_and_json_output(srv, tmp_path):
    ids = []
    for i in range(50):
        p = tmp_path / f"bulk-{i}.img"
        p.write_bytes(os.urandom(1024))
        ids.append(srv.import_image(str(p), f"bulk {i}")["id"])
    missing = "img-" + "0" * 32
    out_csv = tmp_path / "links.csv"
    r = srv.cli("link", "mint", *ids, missing, "--ttl", "2h", "--label", "batch", "--output", str(out_csv), check=False)
    assert r.returncode == 4, r.stderr
    assert r.stdout.count("HTTPS:") == 50 and r.stdout.count("refused:") == 1
    with open(out_csv) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image_id", "image_name", "serial", "expires_at", "https", "http", "ftps", "ftp", "sftp"]
    assert [row[0] for row in rows[1:]] == ids
    assert all(row[1].startswith("bulk ") and row[4].startswith("https://") and row[6].startswith("ftp://")
               and row[7] == "" and row[8].startswith("sftp://") for row in rows[1:])
    # The same through the API (remote CLI, POST /api/v1/links), written as JSON.
    key = srv.admin_key
    out_json = tmp_path / "links.json"
    r = subprocess.run([BIN, "link", "mint", *ids[:5], missing, "--server", srv.base, "--protocols", "https,sftp",
                        "--output", str(out_json), "--json"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, IMAGEGATE_API_KEY=key))
    assert r.returncode == 4, r.stderr
    printed = json.loads(r.stdout)["results"]
    with open(out_json) as f:
        written = json.load(f)["results"]
    assert [x["image_id"] for x in written] == ids[:5] + [missing] == [x["image_id"] for x in printed]
    assert all(x["link"]["protocols"] == ["https", "sftp"] and "ftp" not in x["link"] for x in written[:5])
    assert written[5]["error"]["code"] == "not_found"
    batch = srv.cli_json("link", "list", "--limit", "1000")["items"]
    assert sum(1 for l in batch if l["label"] == "batch") == 50


def test_revoke_all_links_of_an_image_and_list_filters(srv, tmp_path):
    p = tmp_path / "other.img"
    p.write_bytes(os.urandom(4096))
    other = srv.import_image(str(p), "Other")
    mine = [srv.mint(other["id"], "--label", f"l{i}") for i in range(3)]
    keep = srv.mint(srv.image["id"])
    listed = srv.cli_json("link", "list", "--image", other["id"])["items"]
    # Newest first; links minted in the same second by serial, descending.
    assert sorted(l["serial"] for l in listed) == sorted(l["serial"] for l in mine)
    assert listed == sorted(listed, key=lambda l: (l["minted_at"], l["serial"]), reverse=True)
    page = srv.cli_json("link", "list", "--image", other["id"], "--limit", "1", "--offset", "1")["items"]
    assert [l["serial"] for l in page] == [listed[1]["serial"]]
    srv.cli("link", "revoke", mine[0]["serial"])
    r = srv.cli("link", "revoke", "--image", other["id"])
    assert "revoked 2 links" in r.stdout
    revoked = srv.cli_json("link", "list", "--image", other["id"], "--state", "revoked")["items"]
    assert len(revoked) == 3 and all(l["revoked_at"] for l in revoked)
    assert srv.cli_json("link", "list", "--image", other["id"], "--state", "active")["items"] == []
    for link in mine:
        assert https_get(srv, link["https"], tmp_path / "x").returncode != 0
    assert https_get(srv, keep["https"], tmp_path / "y").returncode == 0
    table = srv.cli("link", "list", "--image", other["id"]).stdout.splitlines()
    assert table[0].split()[:3] == ["SERIAL", "IMAGE", "STATE"] and len(table) == 4
    r = srv.cli("link", "revoke", "0" * 32, check=False)
    assert r.returncode == 3


@pytest.fixture(scope="module")
def long_image(srv, workdir):
    size = 96 * MiB + 77
    source = os.path.join(workdir, "link-admin-long.img")
    with open(source, "wb") as f:
        for _ in range(96):
            f.write(os.urandom(MiB))
        f.write(b"x" * 77)
    return srv.import_image(source, "Long"), size


@pytest.mark.slow
@pytest.mark.parametrize("proto", ["https", "ftps", "sftp"])
def test_usage_grows_during_a_long_transfer(srv, long_image, tmp_path, proto):
    """A long transfer reports every 64 MiB (Docs/links.md) on every front: other nodes see the link's usage grow
    while it runs, not only when it ends. curl is slowed down so the transfer is still running when 64 MiB are in."""
    image, size = long_image
    link = srv.mint(image["id"], "--max-downloads", "1")
    url = {"https": link["https"], "ftps": link["ftp"], "sftp": link["sftp"]}[proto]
    extra = {"https": ["--cacert", srv.ca_file], "ftps": ["--ssl-reqd", "--cacert", srv.ca_file], "sftp": ["-k"]}[proto]
    proc = subprocess.Popen(["curl", "-fsS", *extra, "--limit-rate", "16M", "-o", str(tmp_path / "long.img"), url])
    seen_while_running = None
    while proc.poll() is None:
        used = show(srv, link["serial"])
        if used["bytes_served"] >= 64 * MiB:
            seen_while_running = (used["bytes_served"], used["sessions"], proc.poll() is None)
            break
        time.sleep(0.1)
    assert proc.wait(timeout=120) == 0
    assert seen_while_running is not None and seen_while_running[2], seen_while_running
    assert seen_while_running[1] == 0  # the session itself counts when it ends
    done = usage_reaches(srv, link["serial"], size)
    assert done["bytes_served"] == size and done["sessions"] == 1 and done["state"] == "active"
