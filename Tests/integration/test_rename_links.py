"""A link names the image, not its current name: after `image rename`, the file name in an outstanding link keeps
working on every protocol, resumes included (OpenSSH sftp reget, lftp get -c over SFTP, FTP and FTPS, curl -C -
over FTP and FTPS, curl -C - over HTTPS), and the new name works too. Docs/sftp.md, Docs/ftp.md."""
import os
import urllib.parse

import pytest

from conftest import Server, run, sha256_file
from test_sftp import QUIET, SSH_OPTS, lftp, sftp_batch, token_of

SIZE = 3 * 1024 * 1024 + 4321
HALF = 1024 * 1024 + 17


@pytest.fixture(scope="module")
def renamed(workdir):
    """A server (plain FTP allowed, so both FTP and FTPS can be tried), an image, a link minted under its first
    name, and the image renamed after that."""
    s = Server(os.path.join(workdir, "data-rename"), "ftp.allow_plain = true\n").start()
    source = os.path.join(workdir, "rename-source.img")
    with open(source, "wb") as f:
        f.write(os.urandom(SIZE))
    rec = s.import_image(source, "Original Name")
    assert rec["status"] == "available"
    link = s.mint(rec["id"])
    s.cli("image", "rename", rec["id"], "Brand New Name")
    after = s.cli_json("image", "show", rec["id"])
    assert after["file_name"] != rec["file_name"]
    s.info = {"id": rec["id"], "old": rec["file_name"], "new": after["file_name"], "link": link,
              "digest": sha256_file(source), "source": source}
    yield s
    s.stop()


def partial(path, source, n=HALF):
    """A download cut after `n` bytes: what the resuming client finds on disk."""
    with open(source, "rb") as f, open(path, "wb") as out:
        out.write(f.read(n))


def retrs_since(server, before):
    return [r for r in server.access_log()[before:] if r.get("method") == "RETR"]


def test_openssh_sftp_get_and_reget_by_the_minted_name(renamed, tmp_path):
    info = renamed.info
    tok, old = token_of(info["link"]), info["old"]
    assert info["link"]["sftp"].endswith("/" + urllib.parse.quote(old))
    r = sftp_batch(renamed, tok, ["ls -l", f"get {old}"], str(tmp_path), extra=QUIET)
    assert r.returncode == 0, r.stderr
    assert sha256_file(tmp_path / old) == info["digest"]
    # The listing shows the name the link was minted with.
    listing = [l for l in r.stdout.splitlines() if l.startswith("-r--r--r--")]
    assert len(listing) == 1 and listing[0].endswith(old)
    # Resume of a cut download: reget continues from the local size.
    os.remove(tmp_path / old)
    partial(tmp_path / old, info["source"])
    r = sftp_batch(renamed, tok, [f"reget {old}"], str(tmp_path), extra=QUIET)
    assert r.returncode == 0, r.stderr
    assert sha256_file(tmp_path / old) == info["digest"]


def test_sftp_the_current_name_works_too(renamed, tmp_path):
    info = renamed.info
    r = sftp_batch(renamed, token_of(info["link"]), [f"get {info['new']}"], str(tmp_path), extra=QUIET)
    assert r.returncode == 0, r.stderr
    assert sha256_file(tmp_path / info["new"]) == info["digest"]


def test_lftp_sftp_get_c_by_the_minted_name(renamed, tmp_path):
    info = renamed.info
    old = info["old"]
    url = f"sftp://{token_of(info['link'])}:@127.0.0.1:{renamed.sftp_port}/{old}"
    partial(tmp_path / old, info["source"])
    r = lftp(renamed, f"get -c {url}", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sha256_file(tmp_path / old) == info["digest"]


def cert(server):
    return os.path.join(server.data_dir, "tls", "server.crt")


@pytest.mark.parametrize("tls", [True, False], ids=["ftps", "ftp"])
def test_curl_resume_over_ftp_by_the_minted_name(renamed, tmp_path, tls):
    info = renamed.info
    url, old = info["link"]["ftp"], info["old"]
    assert url.endswith("/" + old)
    base = ["curl", "-sS"] + (["--ssl-reqd", "--cacert", cert(renamed)] if tls else [])
    partial(tmp_path / old, info["source"])
    before = len(renamed.access_log())
    r = run(base + ["-C", "-", "-O", url], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sha256_file(tmp_path / old) == info["digest"]
    retrs = retrs_since(renamed, before)
    assert retrs and retrs[-1]["offset"] == HALF and retrs[-1]["outcome"] == "complete"
    assert retrs[-1]["proto"] == ("ftps" if tls else "ftp")


@pytest.mark.parametrize("tls", [True, False], ids=["ftps", "ftp"])
def test_lftp_get_c_over_ftp_by_the_minted_name(renamed, tmp_path, tls):
    info = renamed.info
    url, old = info["link"]["ftp"], info["old"]
    settings = (f"set ssl:ca-file {cert(renamed)}; set ftp:ssl-force true; set ftp:ssl-protect-data true;" if tls
                else "set ftp:ssl-allow false;")
    partial(tmp_path / old, info["source"])
    before = len(renamed.access_log())
    r = run(["lftp", "-c", f"{settings} get -c {url}"], cwd=str(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert sha256_file(tmp_path / old) == info["digest"]
    retrs = retrs_since(renamed, before)
    assert retrs and retrs[-1]["offset"] == HALF and retrs[-1]["outcome"] == "complete"
    assert retrs[-1]["proto"] == ("ftps" if tls else "ftp")


def test_https_link_keeps_working_and_resumes(renamed, tmp_path):
    info = renamed.info
    url, old = info["link"]["https"], info["old"]
    assert url.endswith("/" + urllib.parse.quote(old))
    partial(tmp_path / old, info["source"])
    r = run(["curl", "-sS", "-f", "--cacert", cert(renamed), "-C", "-", "-o", old, url], cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sha256_file(tmp_path / old) == info["digest"]


def test_a_link_minted_after_the_rename_uses_the_new_name(renamed, tmp_path):
    info = renamed.info
    link = renamed.mint(info["id"])
    assert link["ftp"].endswith("/" + info["new"])
    r = sftp_batch(renamed, token_of(link), ["ls -l", f"get {info['new']}"], str(tmp_path), extra=QUIET)
    assert r.returncode == 0, r.stderr
    listing = [l for l in r.stdout.splitlines() if l.startswith("-r--r--r--")]
    assert len(listing) == 1 and listing[0].endswith(info["new"])
    assert sha256_file(tmp_path / info["new"]) == info["digest"]
