"""Two `imagegate serve` nodes on one shared catalog (catalog.url = sqlite:///…, each with its own data directory
and ports, started at the same moment): one identity for both. A link minted on either node downloads from both;
`key rotate` on one node is in force on the other's running server; `key remove` ends links and FTP/SFTP sessions
on both; both present the same SSH host keys (ssh-keyscan, sftp with StrictHostKeyChecking against a known_hosts
file written from node 1); console sessions live in the catalog (made on node 1, used and ended on node 2, and
surviving a restart). A data directory that ran on its own catalog brings its keys along when its catalog moves;
key files of another deployment are refused. PostgreSQL goes through the same store protocol (Docs/tokens.md)."""
import ftplib
import http.client
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import threading
import time

import pytest

from conftest import Server, run
from test_sftp import QUIET, token_of
from test_sftp_sessions import RawSFTP, pkt
from tokenforge import Forge

SETTLE = 30  # seconds a change may take to reach the other node (the keyring refresh is about one second)


def config(db, extra=""):
    return f"catalog.url = sqlite://{db}\nftp.allow_plain = true\n" + extra


def start_together(nodes):
    """Starts the nodes at the same moment, so first use of the empty catalog is a race they must settle."""
    errors = []

    def go(n):
        try:
            n.start()
        except Exception as e:  # reported below, with the node's own message
            errors.append(e)

    threads = [threading.Thread(target=go, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("shared-identity")


@pytest.fixture(scope="module")
def cluster(base):
    db = base / "shared" / "catalog.sqlite3"
    db.parent.mkdir()
    n1, n2 = base / "n1", base / "n2"
    # Blobs stay per data directory until shared blob storage lands; node 2 reads node 1's blob folder.
    (n1 / "blobs").mkdir(parents=True, mode=0o700)
    n2.mkdir(mode=0o700)
    os.symlink(n1 / "blobs", n2 / "blobs")
    nodes = [Server(str(d), config(db)) for d in (n1, n2)]
    start_together(nodes)
    yield nodes, db
    for n in nodes:
        n.stop()


@pytest.fixture(scope="module")
def image(cluster, base):
    (n1, _), _ = cluster
    src = base / "shared-image.img"
    data = os.urandom(200 * 1024 + 7)
    src.write_bytes(data)
    return n1.import_image(str(src), "shared image"), data


def admin_key(nodes):
    for n in nodes:
        p = os.path.join(n.data_dir, "keys", "admin-api-key")
        if os.path.exists(p):
            with open(p) as f:
                return f.read().strip()
    raise AssertionError("no node wrote the admin API key")


def call(node, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    payload = r.read()
    c.close()
    try:
        js = json.loads(payload) if payload and r.getheader("Content-Type", "").startswith("application/json") else None
    except ValueError:
        js = None
    return r.status, r.getheaders(), js, payload


def download_path(link):
    return "/" + link["http"].split("/", 3)[3]


def wait_for(what, check):
    """Polls `check` until it is true; the deadline only bounds a failure, it asserts no timing."""
    deadline = time.time() + SETTLE
    while True:
        if check():
            return
        assert time.time() < deadline, what
        time.sleep(0.2)


def documents(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {name: (body, version) for name, body, version in
                con.execute("SELECT name, body, version FROM shared_documents")}
    finally:
        con.close()


def test_both_nodes_use_one_keyring_made_once(cluster):
    nodes, db = cluster
    lists = [n.cli_json("key", "list") for n in nodes]
    assert lists[0]["storage"] == "catalog" and "key_file" not in lists[0]
    assert lists[0]["keys"] == lists[1]["keys"] and len(lists[0]["keys"]) == 1
    docs = documents(db)
    # Made once by whichever node won the race, used by both: no second write, no key files on disk.
    for name in ("token-keyring", "deployment-id", "secrets-key", "ssh-host-key-ed25519", "ssh-host-key-rsa"):
        assert docs[name][1] == 1, name
    assert len(docs["deployment-id"][0].strip()) == 32 and len(docs["secrets-key"][0].strip()) == 64
    for n in nodes:
        for name in ("token-keys.json", "deployment-id", "secrets.key"):
            assert not os.path.exists(os.path.join(n.data_dir, "keys", name)), (n.data_dir, name)
        assert any("token keys: shared catalog" in line for line in n.lines)


def test_a_link_minted_on_either_node_downloads_from_both(cluster, image, tmp_path):
    nodes, _ = cluster
    rec, data = image
    for minter in nodes:
        link = minter.mint(rec["id"])
        for node in nodes:
            out = tmp_path / "out.img"
            r = run(["curl", "-fsS", "-o", str(out), f"http://127.0.0.1:{node.port}{download_path(link)}"])
            assert r.returncode == 0, (minter.data_dir, node.data_dir, r.stderr)
            assert out.read_bytes() == data


def keyscan(node):
    r = run(["ssh-keyscan", "-p", str(node.sftp_port), "-t", "ed25519,rsa", "127.0.0.1"], timeout=60)
    return sorted(line.split(" ", 1)[1] for line in r.stdout.splitlines() if line and not line.startswith("#"))


def test_every_node_presents_the_same_host_keys(cluster, image, tmp_path):
    (n1, n2), _ = cluster
    rec, data = image
    shown = [{k["type"]: k for k in n.cli_json("key", "host")["host_keys"]} for n in (n1, n2)]
    assert set(shown[0]) == {"ed25519", "rsa"}
    assert {t: k["fingerprint"] for t, k in shown[0].items()} == {t: k["fingerprint"] for t, k in shown[1].items()}
    scans = [keyscan(n) for n in (n1, n2)]
    assert len(scans[0]) == 2 and scans[0] == scans[1]
    assert scans[0] == sorted(k["public_key"] for k in shown[0].values())
    for t, k in shown[1].items():
        st = os.stat(k["path"])
        assert st.st_mode & 0o777 == 0o600, k["path"]
        with open(k["path"], "rb") as a, open(shown[0][t]["path"], "rb") as b:
            assert a.read() == b.read()
    # A known_hosts file written from node 1's keys (under node 2's address) is what node 2 presents,
    # whichever key type the client asks for.
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"[127.0.0.1]:{n2.sftp_port} {k['public_key']}\n" for k in shown[0].values()))
    token = token_of(n1.mint(rec["id"]))
    for algorithms in ("ssh-ed25519", "rsa-sha2-512"):
        out = tmp_path / algorithms
        out.mkdir()
        r = run(["sftp", "-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}",
                 "-o", f"HostKeyAlgorithms={algorithms}"] + QUIET
                + ["-P", str(n2.sftp_port), "-b", "-", f"{token}@127.0.0.1"],
                input=f"get {rec['file_name']}\n", cwd=str(out))
        assert r.returncode == 0, (algorithms, r.stderr)
        assert (out / rec["file_name"]).read_bytes() == data


def active_kid(node):
    return next(k["kid"] for k in node.cli_json("key", "list")["keys"] if k["state"] == "active")


def test_rotation_on_one_node_is_in_force_on_the_other(cluster, image):
    nodes, _ = cluster
    n1, n2 = nodes
    rec, data = image
    old_link = n1.mint(rec["id"])
    old_kid = active_kid(n1)
    n2.cli("key", "rotate")
    new_kid = active_kid(n2)
    assert new_kid != old_kid and active_kid(n1) == new_kid
    key = admin_key(nodes)
    minted = {}

    def node1_server_mints_with_the_new_key():
        status, _, js, _ = call(n1, "POST", f"/api/v1/images/{rec['id']}/links", {},
                                {"Authorization": "Bearer " + key})
        assert status == 201, js
        minted["link"] = js
        return Forge.parse(download_path(js).split("/")[2])["kid"] == int(new_kid, 16)

    # Node 1's running server picks up the rotation made through node 2 (about a second).
    wait_for("node 1's server never minted with the rotated key", node1_server_mints_with_the_new_key)
    for link in (old_link, minted["link"]):
        for node in nodes:
            status, _, _, body = call(node, "GET", download_path(link))
            assert status == 200 and body == data


def test_key_remove_ends_links_and_sessions_on_every_node(cluster, image):
    nodes, _ = cluster
    n1, n2 = nodes
    rec, data = image
    link = n1.mint(rec["id"])
    kid = active_kid(n1)
    # Sessions on node 2, opened with a link signed by the key that is about to go.
    sftp = RawSFTP(n2, token_of(link))
    sftp.send(pkt(1, struct.pack(">I", 3)))
    assert sftp.recv()[0] == 2
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", n2.ftp_port, timeout=30)
    ftp.login(rec["id"], link["ftp"].split("//", 1)[1].split("@", 1)[0].split(":", 1)[1])
    assert ftp.size(rec["file_name"]) == rec["size"]
    assert call(n1, "GET", download_path(link))[0] == 200
    # The active key cannot go (exit 4, with the way out); an unknown one is not found (3).
    r = n1.cli("key", "remove", kid, check=False)
    assert r.returncode == 4 and "rotate" in r.stderr and "active key" in r.stderr
    assert n1.cli("key", "remove", "00000000", check=False).returncode == 3
    n1.cli("key", "rotate")
    r = n1.cli("key", "remove", kid)
    assert "removed" in r.stdout
    assert kid not in [k["kid"] for k in n2.cli_json("key", "list")["keys"]]
    # SFTP on node 2: its periodic re-check ends the session (the subsystem's stdout closes).
    assert sftp.recv() is None
    sftp.p.wait(timeout=60)
    # FTP on node 2: the next transfer is refused and the control connection closed.
    with pytest.raises(ftplib.error_perm, match="530"):
        ftp.retrbinary(f"RETR {rec['file_name']}", lambda b: None)
    ftp.close()
    # HTTP: the next request is refused on both nodes.
    for node in nodes:
        wait_for(f"{node.data_dir} still serves a removed key's link",
                 lambda: call(node, "GET", download_path(link))[0] == 404)
    events = n2.cli_json("audit", "list", "--limit", "1000")["items"]
    removed = [e for e in events if e["action"] == "key.remove"]
    assert [e["target"] for e in removed] == [kid] and removed[0]["source"] == "cli"
    assert {"key.rotate"} <= {e["action"] for e in events}


def sign_in(node, key):
    status, headers, js, _ = call(node, "POST", "/api/v1/session", {"api_key": key})
    assert status == 200, js
    cookie = next(v for k, v in headers if k.lower() == "set-cookie").split(";")[0]
    return {"Cookie": cookie}, js["csrf_token"]


def test_a_console_session_made_on_one_node_works_and_ends_on_the_other(cluster):
    nodes, _ = cluster
    n1, n2 = nodes
    cookie, csrf = sign_in(n1, admin_key(nodes))
    status, _, js, _ = call(n2, "GET", "/api/v1/session", headers=cookie)
    assert status == 200 and js["csrf_token"] == csrf
    assert call(n2, "POST", "/api/v1/tenants", {"name": "from node 2"}, headers=cookie)[0] == 403  # no CSRF token
    status, _, made, _ = call(n2, "POST", "/api/v1/tenants", {"name": "from node 2"},
                              headers={**cookie, "X-CSRF-Token": csrf})
    assert status == 201, made
    status, _, out, _ = call(n2, "DELETE", "/api/v1/session", headers={**cookie, "X-CSRF-Token": csrf})
    assert status == 200 and out["signed_out"] is True
    assert call(n1, "GET", "/api/v1/me", headers=cookie)[0] == 401
    assert call(n1, "GET", "/api/v1/session", headers=cookie)[0] == 401


def test_a_console_session_survives_a_restart(cluster):
    nodes, _ = cluster
    n1 = nodes[0]
    cookie, csrf = sign_in(n1, admin_key(nodes))
    n1.stop()
    n1.start()
    status, _, js, _ = call(n1, "GET", "/api/v1/session", headers=cookie)
    assert status == 200 and js["csrf_token"] == csrf


def test_embedded_console_sessions_survive_a_restart(base):
    srv = Server(str(base / "embedded-sessions")).start()
    try:
        cookie, csrf = sign_in(srv, admin_key([srv]))
        srv.stop()
        srv.start()
        status, _, js, _ = call(srv, "GET", "/api/v1/session", headers=cookie)
        assert status == 200 and js["csrf_token"] == csrf
    finally:
        srv.stop()


def copy_catalog(src, dst):
    dst.parent.mkdir(exist_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    try:
        a.backup(b)
    finally:
        a.close()
        b.close()


def test_a_gateway_moving_to_a_shared_catalog_brings_its_keys(base, tmp_path):
    # A gateway on its own (embedded) catalog, with an image and a link.
    e = Server(str(base / "e1")).start()
    src = tmp_path / "moved.img"
    data = os.urandom(50 * 1024)
    src.write_bytes(data)
    try:
        rec = e.import_image(str(src), "moved")
        link = e.mint(rec["id"])
        kids = [k["kid"] for k in e.cli_json("key", "list")["keys"]]
    finally:
        e.stop()
    with open(os.path.join(e.data_dir, "keys", "secrets.key")) as f:
        local_secret = f.read().strip()
    db = base / "shared2" / "catalog.sqlite3"
    copy_catalog(os.path.join(e.data_dir, "catalog.sqlite3"), db)
    # A node without those keys may not make new ones for a catalog full of links.
    fresh = Server(str(base / "f1"), config(db))
    r = fresh.cli("image", "list", "--json", check=False)
    assert r.returncode != 0 and "no token keyring" in r.stderr and "--recreate-missing" in r.stderr
    assert "token-keyring" not in documents(db)
    # Unless the operator gives up every outstanding link on purpose (on a copy of the catalog here).
    db3 = base / "shared3" / "catalog.sqlite3"
    copy_catalog(os.path.join(e.data_dir, "catalog.sqlite3"), db3)
    r = Server(str(base / "f3"), config(db3)).cli("key", "rotate", "--recreate-missing")
    assert "warning: made a new shared catalog document 'token-keyring'" in r.stderr
    assert "warning: made a new shared catalog document 'deployment-id'" in r.stderr
    # The gateway's own data directory on the shared catalog: its keys are imported, its link keeps working.
    moved = Server(e.data_dir, config(db)).start()
    try:
        listed = moved.cli_json("key", "list")
        assert listed["storage"] == "catalog" and [k["kid"] for k in listed["keys"]] == kids
        status, _, _, body = call(moved, "GET", download_path(link))
        assert status == 200 and body == data
        assert documents(db)["secrets-key"][0].strip() == local_secret
        # Its own SSH host keys became the cluster's (its clients' known_hosts stay right).
        for kind in ("ed25519", "rsa"):
            with open(os.path.join(e.data_dir, "ssh", f"ssh_host_{kind}_key")) as f:
                assert documents(db)[f"ssh-host-key-{kind}"][0] == f.read()
        # Now the fresh node joins: it uses the imported keys.
        assert [k["kid"] for k in fresh.cli_json("key", "list")["keys"]] == kids
    finally:
        moved.stop()
    # Another gateway's key files (another deployment) are refused by name, and nothing changes.
    other = Server(str(base / "o1")).start()
    other.stop()
    before = documents(db)
    joined = Server(other.data_dir, config(db))
    r = joined.cli("key", "list", check=False)
    assert r.returncode != 0 and "another deployment" in r.stderr and "keys/deployment-id" in r.stderr
    assert documents(db)["token-keyring"] == before["token-keyring"]
    # Moving them away is the deliberate way in.
    for name in ("token-keys.json", "deployment-id"):
        shutil.move(os.path.join(other.data_dir, "keys", name), str(tmp_path / name))
    assert [k["kid"] for k in joined.cli_json("key", "list")["keys"]] == kids
    # Its own host keys were set aside (never deleted) for the cluster's.
    ssh = os.path.join(other.data_dir, "ssh")
    for kind in ("ed25519", "rsa"):
        with open(os.path.join(ssh, f"ssh_host_{kind}_key")) as f:
            assert documents(db)[f"ssh-host-key-{kind}"][0] == f.read()
        assert [n for n in os.listdir(ssh) if n.startswith(f"ssh_host_{kind}_key.replaced-")], os.listdir(ssh)
