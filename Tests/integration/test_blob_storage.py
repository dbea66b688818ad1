"""blobs.url: image bytes in a directory of their own, on another file system than the data directory, shared
by two `imagegate serve` nodes that also share a catalog (catalog.url = sqlite:///…); and the one revalidation
rule of FTP and SFTP sessions (a revocation on one node ends a session on the other). Docs/architecture.md
("Blob storage"), Docs/tokens.md ("Sessions")."""
import ftplib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import Server, run, sha256_file
from test_imports import API, MiB
from test_sftp import QUIET, SSH_OPTS, sftp_batch, token_of


def other_file_system_dir(near):
    """A new directory on another file system than `near` (tmpfs /dev/shm when there is one)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else os.path.dirname(near)
    return tempfile.mkdtemp(prefix="imagegate-blobs-", dir=base)


@pytest.fixture(scope="module")
def nodes(workdir):
    """Two nodes: own data directories (keys copied, as the shared-identity work will make unnecessary), one
    SQLite catalog file, one blob directory on another file system."""
    blob_root = other_file_system_dir(workdir)
    catalog_dir = os.path.join(workdir, "shared-catalog")
    os.makedirs(catalog_dir, exist_ok=True)
    conf = (f"catalog.url = sqlite://{catalog_dir}/catalog.sqlite3\nblobs.url = file://{blob_root}\n"
            "ftp.allow_plain = true\n")
    n1 = Server(os.path.join(workdir, "node1"), conf).start()
    n2_dir = os.path.join(workdir, "node2")
    os.makedirs(n2_dir, mode=0o700)
    shutil.copytree(os.path.join(n1.data_dir, "keys"), os.path.join(n2_dir, "keys"))
    n2 = Server(n2_dir, conf).start()
    yield n1, n2, blob_root
    n2.stop()
    n1.stop()
    shutil.rmtree(blob_root, ignore_errors=True)


def curl(url, out, *extra):
    r = run(["curl", "-sS", "-f", "-D", out + ".head", "-o", out, *extra, url])
    assert r.returncode == 0, r.stderr
    with open(out + ".head") as f:
        return f.read()


def etag(head):
    return next(l.split(":", 1)[1].strip() for l in head.splitlines() if l.lower().startswith("etag:"))


def link_on(node, link, key="http"):
    """The minted link pointed at `node`'s own port (links carry the minting node's address)."""
    url = link[key]
    rest = url.split("//", 1)[1].split("/", 1)[1]
    return f"http://127.0.0.1:{node.port}/{rest}"


def test_import_and_download_with_blobs_on_another_file_system(nodes, tmp_path):
    n1, _, blob_root = nodes
    src = tmp_path / "disk.img"
    src.write_bytes(os.urandom(3 * MiB + 17))
    img = n1.import_image(str(src), "blob root elsewhere")
    assert img["status"] == "available"

    if os.path.isdir("/dev/shm"):
        assert os.stat(blob_root).st_dev != os.stat(n1.data_dir).st_dev  # really another file system
    assert os.path.getsize(os.path.join(blob_root, "blobs", img["id"])) == img["size"]
    assert os.listdir(os.path.join(blob_root, "staging")) == []
    # The data directory holds the node's own things only: no blobs, no staging, no quarantine.
    for d in ("blobs", "staging", "quarantine"):
        assert not os.path.exists(os.path.join(n1.data_dir, d))

    out = str(tmp_path / "got.img")
    curl(link_on(n1, n1.mint(img["id"])), out)
    assert sha256_file(out) == sha256_file(str(src))
    head = curl(link_on(n1, n1.mint(img["id"])), out + ".part", "-r", "1000-66535")
    assert head.startswith("HTTP/1.1 206")
    with open(str(src), "rb") as f:
        f.seek(1000)
        assert open(out + ".part", "rb").read() == f.read(65536)


def test_tus_upload_stages_in_the_shared_blob_directory(nodes):
    n1, n2, blob_root = nodes
    api = API(n2)
    data = os.urandom(2 * MiB + 5)
    img = api.create_upload("tus into shared blobs", len(data), sha256=hashlib.sha256(data).hexdigest())
    half = len(data) // 2
    assert api.tus("PATCH", img["upload_url"], offset=0, body=data[:half])[0] == 204
    staged = [n for n in os.listdir(os.path.join(blob_root, "staging")) if n.startswith(img["id"])]
    assert len(staged) == 1 and os.path.getsize(os.path.join(blob_root, "staging", staged[0])) == half
    assert api.tus("PATCH", img["upload_url"], offset=half, body=data[half:])[0] == 204
    done = api.wait_status(img["id"], {"available", "failed"})
    assert done["status"] == "available", done
    with open(os.path.join(blob_root, "blobs", img["id"]), "rb") as f:
        assert f.read() == data
    # Uploaded through node 2, served by node 1.
    out = os.path.join(os.path.dirname(blob_root), os.path.basename(blob_root) + "-tus.out")
    try:
        curl(link_on(n1, n1.mint(img["id"])), out)
        assert open(out, "rb").read() == data
    finally:
        for p in (out, out + ".head"):
            if os.path.exists(p):
                os.remove(p)


def test_two_nodes_serve_the_same_image_byte_identically(nodes, tmp_path):
    n1, n2, _ = nodes
    src = tmp_path / "shared.img"
    src.write_bytes(os.urandom(5 * MiB + 3))
    want = sha256_file(str(src))
    img = n1.import_image(str(src), "shared by two nodes")
    link = n1.mint(img["id"])

    heads = []
    for node in (n1, n2):
        out = str(tmp_path / f"http-{node.port}")
        heads.append(curl(link_on(node, link), out))
        assert sha256_file(out) == want
    assert etag(heads[0]) == etag(heads[1])

    # Resume across nodes: the first half from node 1, the rest from node 2.
    out = str(tmp_path / "resumed")
    curl(link_on(n1, link), out, "-r", "0-2097151")
    r = run(["curl", "-sS", "-f", "-C", "-", "-o", out, link_on(n2, link)])
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == want

    token = token_of(link)
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", n2.ftp_port, timeout=30)
    ftp.login(img["id"], token)
    h = hashlib.sha256()
    ftp.retrbinary("RETR " + img["file_name"], h.update)
    ftp.quit()
    assert h.hexdigest() == want

    r = sftp_batch(n2, token, [f"get {img['file_name']} sftp.out"], str(tmp_path), extra=QUIET)
    assert r.returncode == 0, r.stderr
    assert sha256_file(str(tmp_path / "sftp.out")) == want


def test_ftp_revocation_on_one_node_ends_a_session_on_the_other(nodes, tmp_path):
    n1, n2, _ = nodes
    src = tmp_path / "ftp.img"
    src.write_bytes(os.urandom(MiB))
    img = n1.import_image(str(src), "ftp revocation")
    link = n1.mint(img["id"])
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", n2.ftp_port, timeout=30)
    ftp.login(img["id"], token_of(link))
    got = bytearray()
    ftp.retrbinary("RETR " + img["file_name"], got.extend)
    assert len(got) == img["size"]

    n1.cli("link", "revoke", link["serial"])
    # The next transfer re-checks the grant (GrantRevalidation): revoked → 530 and the session ends.
    with pytest.raises(ftplib.error_perm) as refused:
        ftp.retrbinary("RETR " + img["file_name"], lambda b: None)
    assert str(refused.value).startswith("530")
    with pytest.raises((EOFError, OSError, ftplib.Error)):
        ftp.voidcmd("NOOP")
    ftp.close()


def test_sftp_revocation_on_one_node_ends_a_running_transfer_on_the_other(nodes, tmp_path):
    n1, n2, _ = nodes
    src = tmp_path / "sftp.img"
    src.write_bytes(os.urandom(8 * MiB))
    img = n1.import_image(str(src), "sftp revocation")
    link = n1.mint(img["id"])
    tok, name = token_of(link), img["file_name"]
    (tmp_path / "b").write_text(f"get {name}\n")
    # -l 800 (kbit/s): about 80 s for the whole file, so the revocation lands mid-transfer.
    p = subprocess.Popen(
        ["sftp"] + SSH_OPTS + QUIET + ["-l", "800", "-P", str(n2.sftp_port), "-b", "b", f"{tok}@127.0.0.1"],
        cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not ((tmp_path / name).exists() and (tmp_path / name).stat().st_size > 100_000):
            assert time.time() < deadline and p.poll() is None
            time.sleep(0.1)
        n1.cli("link", "revoke", link["serial"])
        p.wait(timeout=30)  # re-checked every 3 s
    finally:
        if p.poll() is None:
            p.kill()
    assert (tmp_path / name).stat().st_size < img["size"]
    time.sleep(0.5)
    assert any(l.get("proto") == "sftp" and l["outcome"] == "revoked" and l["path"] == "/" + name
               for l in n2.access_log())
