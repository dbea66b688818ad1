"""`imagegate image import --url` without `--format` takes the format from the bytes, as `--file` does (it used to
assume qcow2 and fail on raw content). Served from loopback by Python's http.server (allow-listed here)."""
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading

import pytest

from conftest import OS_ARGS, Server, sha256_file


@pytest.fixture(scope="module")
def source(workdir):
    root = os.path.join(workdir, "url-format-www")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "disk.raw"), "wb") as f:
        f.write(os.urandom(3 * 1024 * 1024 + 99))
    if shutil.which("qemu-img"):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", os.path.join(root, "disk.qcow2"), "64M"],
                       check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def data(workdir):
    # No server needed: the local CLI fetches URL imports itself, on the data directory.
    return Server(os.path.join(workdir, "data-url-format"), "imports.allow_private = 127.0.0.0/8\n")


def url_import(data, url, name, *extra):
    r = data.cli("image", "import", "--url", url, "--name", name, "--json", *OS_ARGS, *extra, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_raw_content_without_format_is_imported_as_raw(data, source):
    root, base = source
    rec = url_import(data, base + "/disk.raw", "raw from a url")
    assert rec["status"] == "available" and rec["format"] == "raw" and rec["kind"] == "self_made"
    assert rec["sha256"] == sha256_file(os.path.join(root, "disk.raw"))
    assert rec["file_name"].endswith(".img")


def test_self_made_kind_without_format_detects_too(data, source):
    root, base = source
    rec = url_import(data, base + "/disk.raw", "raw, kind given", "--kind", "self_made")
    assert rec["status"] == "available" and rec["format"] == "raw"


@pytest.mark.skipif(not shutil.which("qemu-img"), reason="needs qemu-img (qemu-utils)")
def test_qcow2_content_without_format_is_imported_as_qcow2(data, source):
    root, base = source
    rec = url_import(data, base + "/disk.qcow2", "qcow2 from a url")
    assert rec["status"] == "available" and rec["format"] == "qcow2" and rec["file_name"].endswith(".qcow2")
    assert rec["virtual_size"] == 64 * 1024 * 1024


def test_a_declared_format_is_still_checked(data, source):
    _, base = source
    r = data.cli("image", "import", "--url", base + "/disk.raw", "--name", "declared wrong", "--format", "qcow2",
                 "--json", *OS_ARGS, check=False)
    assert r.returncode != 0
    assert json.loads(r.stdout)["status"] == "failed"
