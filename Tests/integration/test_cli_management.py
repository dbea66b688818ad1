"""The management CLI (`imagegate image|link|tenant|account|apikey|audit …`) as a script sees it: the built
binary, its output, and its exit codes (0 ok, 3 not found, 4 refused: a conflict, a policy or a value the rules
refuse, 64 usage: a malformed command line)."""
import csv
import json
import os
import re

import pytest

from conftest import BIN, OS_ARGS, Server, run

NO_IMAGE = "img-" + "0" * 32


@pytest.fixture
def cli(tmp_path):
    d = str(tmp_path / "data")

    def ig(*args):
        return run([BIN] + list(args) + ["--data-dir", d])

    def js(*args):
        r = ig(*args, "--json")
        assert r.returncode == 0, (args, r.stderr)
        return json.loads(r.stdout)

    def image(name="img"):
        p = tmp_path / f"{name}-{os.urandom(4).hex()}.img"
        p.write_bytes(os.urandom(2048))
        return js("image", "import", "--file", str(p), "--name", name, *OS_ARGS)["id"]

    ig.json = js
    ig.image = image
    ig.dir = d
    return ig


def test_import_file_refuses_a_fifo_at_once(cli, tmp_path):
    """A FIFO is no image: `image import --file` refuses it at once instead of waiting for a writer."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    r = run([BIN, "image", "import", "--file", str(fifo), "--name", "pipe", *OS_ARGS, "--data-dir", cli.dir],
            timeout=60)
    assert r.returncode == 4, r.stderr
    assert "not a regular file" in r.stderr
    assert cli.json("image", "list")["items"] == []


def ok(r, pattern=None):
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    if pattern:
        assert re.search(pattern, r.stdout, re.M), (pattern, r.stdout)
    return r


def fails(r, code, pattern=None):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.startswith("imagegate: error: "), r.stderr
    if pattern:
        assert re.search(pattern, r.stderr, re.M), (pattern, r.stderr)
    return r


def test_help_lists_every_management_command():
    r = ok(run([BIN, "--help"]))
    for word in ("tenant", "account", "apikey", "audit list|verify", "link revoke", "rename", "recycle-bin",
                 "restore", "destroy", "export", "Exit codes: 0 success, 1 failure, 3 not found, 4 refused"):
        assert word in r.stdout, word
    for group in ("image", "link", "tenant", "account", "apikey", "audit"):
        ok(run([BIN, group, "--help"]), "Usage: imagegate")
        r = run([BIN, group])
        assert r.returncode == 64 and "Usage: imagegate" in r.stdout
        fails(run([BIN, group, "frobnicate"]), 64, "unknown subcommand frobnicate")
    for verb in ("rename", "remarks", "tag", "delete", "recycle-bin", "restore", "destroy", "export"):
        ok(run([BIN, "image", verb, "--help"]), "Usage: imagegate")


def test_image_rename_remarks_tag(cli):
    i = cli.image("first")
    ok(cli("image", "rename", i, "Second name"), r"^renamed to Second name$")
    ok(cli("image", "remarks", i, "some notes"), r"^remarks: some notes$")
    ok(cli("image", "tag", i, "linux", "lts", "linux"), r"^tags: linux,lts$")
    shown = cli.json("image", "show", i)
    assert (shown["name"], shown["remarks"], shown["tags"]) == ("Second name", "some notes", ["linux", "lts"])
    assert shown["file_name"] == "Second_name.img"
    ok(cli("image", "tag", i), r"^tags: -$")
    assert cli.json("image", "show", i)["tags"] == []
    # --json prints the API's answer.
    out = cli.json("image", "rename", i, "x'; DROP TABLE images;--")
    assert out["name"] == "x'; DROP TABLE images;--" and out["id"] == i
    # Not found, usage, invalid values.
    fails(cli("image", "rename", NO_IMAGE, "n"), 3, f"no image {NO_IMAGE}")
    fails(cli("image", "rename", "not-an-id", "n"), 64, "is not an image id")
    fails(cli("image", "rename", i), 64, "missing new name")
    fails(cli("image", "rename", i, "a", "b"), 64, "unexpected argument b")
    fails(cli("image", "rename", i, ""), 4, "image name must not be empty")
    fails(cli("image", "rename", i, "bad\x07name"), 4, "control characters")
    fails(cli("image", "remarks", i, "r" * 1025), 4, "longer than 1024")
    fails(cli("image", "tag", i, "bad/tag"), 4, "a tag may hold only")
    fails(cli("image", "rename", i, "n", "--bogus"), 64, "unknown option --bogus")
    assert cli.json("image", "show", i)["name"] == "x'; DROP TABLE images;--"


def test_delete_recycle_bin_restore_destroy(cli):
    a, b, c = cli.image("a"), cli.image("b"), cli.image("c")
    ok(cli("image", "attach-vm", c, "vm-7"), r"^VM vm-7 recorded$")
    ok(cli("image", "vms", c), r"vm-7")
    fails(cli("image", "delete", c), 4, "image is used by 1 VM: vm-7")
    ok(cli("image", "delete", a), rf"^moved to the recycle bin: {a}$")
    fails(cli("image", "delete", a), 4, "cannot delete an image that is deleted")
    fails(cli("image", "delete", NO_IMAGE), 3, "no image")
    fails(cli("image", "delete"), 64, "missing image ID")
    # Batch: one line per id; the exit code reports the first refusal.
    r = cli("image", "delete", b, c, NO_IMAGE)
    assert r.returncode == 4, r
    lines = r.stdout.splitlines()
    assert lines[0] == f"{b}  deleted"
    assert lines[1].startswith(f"{c}  refused: image is used by 1 VM: vm-7")
    assert lines[2] == f"{NO_IMAGE}  refused: no image {NO_IMAGE}"
    assert cli("image", "delete", NO_IMAGE, c).returncode == 3
    ok(cli("image", "detach-vm", c, "vm-7"), "VM reference released")
    fails(cli("image", "detach-vm", c, "vm-7"), 3, "has no VM vm-7")
    ok(cli("image", "delete", c), rf"^moved to the recycle bin: {c}$")
    # Recycle bin.
    r = ok(cli("image", "recycle-bin"), r"3 shown of 3 \(offset 0\)")
    for i in (a, b, c):
        assert i in r.stdout
    assert {x["id"] for x in cli.json("image", "recycle-bin")["items"]} == {a, b, c}
    assert cli.json("image", "list")["items"] == []
    # Restore.
    ok(cli("image", "restore", a), r"^restored; status available$")
    fails(cli("image", "restore", a), 4, "cannot restore an image that is available")
    fails(cli("image", "restore", NO_IMAGE), 3, "no image")
    fails(cli("image", "restore", a, b), 64, "unexpected argument")
    # Destroy.
    fails(cli("image", "destroy", a), 4, "cannot destroy an image that is available")
    blob = os.path.join(cli.dir, "blobs", b)
    assert os.path.exists(blob)
    ok(cli("image", "destroy", b), rf"^destroyed {b}$")
    assert not os.path.exists(blob)
    fails(cli("image", "destroy", b), 3, "no image")
    fails(cli("image", "show", b), 3, "no image")
    fails(cli("image", "destroy", "img-xyz"), 64)
    assert {x["id"] for x in cli.json("image", "recycle-bin")["items"]} == {c}


def test_batch_delete_exit_code_follows_the_first_refusal(cli):
    a, b = cli.image("a"), cli.image("b")
    r = cli("image", "delete", a, NO_IMAGE)
    assert r.returncode == 3 and r.stdout.splitlines()[0] == f"{a}  deleted"
    r = cli("image", "delete", b, a)
    assert r.returncode == 4
    assert cli("image", "delete", cli.image("c"), cli.image("d")).returncode == 0


def test_export_files(cli, tmp_path):
    import openpyxl
    a = cli.image("=cmd()")
    cli("image", "tag", a, "prod")
    b = cli.image("plain, name")
    xlsx, csv_path = str(tmp_path / "out.xlsx"), str(tmp_path / "out.csv")
    r = ok(cli("image", "export", "--output", xlsx), r"^wrote .*out\.xlsx \(\d+ bytes\)$")
    n = int(re.search(r"\((\d+) bytes\)", r.stdout).group(1))
    assert os.path.getsize(xlsx) == n
    ws = openpyxl.load_workbook(xlsx)["Images"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:4] == ("Name", "Resource ID", "Kind", "Status")
    assert {(r[0], r[1]) for r in rows[1:]} == {("=cmd()", a), ("plain, name", b)}
    ok(cli("image", "export", "--output", csv_path, "--format", "csv", "--tag", "prod"))
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[1][:2] == ["'=cmd()", a] and len(rows) == 2
    fails(cli("image", "export", "--output", xlsx, "--format", "pdf"), 64, "--format must be xlsx or csv")
    fails(cli("image", "export"), 64, "missing --output")
    fails(cli("image", "export", "--output", xlsx, "--sort", "bogus"), 4, "sort must be one of")
    fails(cli("image", "export", "--output", str(tmp_path / "no" / "such" / "dir.xlsx")), 1, "cannot write")


def test_link_mint_and_revoke(cli):
    i = cli.image("linked")
    link = cli.json("link", "mint", i)
    serial = link["serial"]
    assert re.fullmatch(r"[0-9a-f]{32}", serial)
    ok(cli("link", "revoke", serial), rf"^revoked link {serial}$")
    ok(cli("link", "revoke", serial))  # idempotent
    fails(cli("link", "revoke", "0" * 32), 3, "no link")
    fails(cli("link", "revoke", "garbage"), 3, "no such link")
    fails(cli("link", "revoke"), 64, "missing link serial")
    cli("image", "delete", i)
    fails(cli("link", "mint", i), 4, "image is deleted")
    events = cli.json("audit", "list", "--limit", "1000")["items"]
    assert [e["action"] for e in events if e["target"] in (i, serial)] == [
        "image.import", "image.import.finish", "link.mint", "link.revoke", "link.revoke", "image.delete"]


def test_tenant_account_apikey_commands(cli, tmp_path):
    r = ok(cli("tenant", "create", "Acme"), r"^tenant ten-[0-9a-f]{32} created; owner account acc-[0-9a-f]{32}$")
    tenant, owner = re.search(r"(ten-\S+) created; owner account (acc-\S+)", r.stdout).groups()
    r = ok(cli("tenant", "list"), "Acme")
    assert "default" in r.stdout and tenant in r.stdout
    fails(cli("tenant", "create", ""), 4, "tenant name must not be empty")
    fails(cli("tenant", "create"), 64, "missing tenant name")
    fails(cli("tenant", "create", "a", "b"), 64, "unexpected argument b")

    r = ok(cli("account", "create", "--name", "ops", "--permission", "manage", "--tenant", tenant))
    acc = re.search(r"^id:\s+(acc-\S+)$", r.stdout, re.M).group(1)
    assert re.search(r"^permission:\s+manage$", r.stdout, re.M)
    fails(cli("account", "create", "--name", "x", "--permission", "root", "--tenant", tenant), 4,
          "permission must be view or manage")
    fails(cli("account", "create", "--name", "x", "--permission", "view"), 4, "tenant is required")
    fails(cli("account", "create", "--name", "x", "--permission", "view", "--tenant", "ten-" + "0" * 32), 3,
          "no tenant")
    fails(cli("account", "create", "--name", "x", "--permission", "view", "--tenant", "acme"), 4)
    fails(cli("account", "create", "--permission", "view", "--tenant", tenant), 64, "missing --name")
    r = ok(cli("account", "list", "--tenant", tenant))
    assert acc in r.stdout and owner in r.stdout and "sub_account" in r.stdout
    ok(cli("account", "disable", acc), rf"^account {acc} disabled$")
    assert cli.json("account", "list", "--tenant", tenant)["items"][-1]["disabled"] in (True, False)
    fails(cli("apikey", "create", "--account", acc), 4, "is disabled")
    ok(cli("account", "enable", acc), rf"^account {acc} enabled$")
    fails(cli("account", "disable", "acc-" + "0" * 32), 3, "no account")

    r = ok(cli("apikey", "create", "--account", acc, "--expires-in", "7d"))
    secret = re.search(r"secret \(shown once, store it now\): (igk_\S+)$", r.stdout, re.M).group(1)
    kid = secret[:16]
    assert f"API key {kid} for account {acc}" in r.stdout
    r = ok(cli("apikey", "list", "--account", acc))
    assert kid in r.stdout and secret not in r.stdout and secret[17:] not in r.stdout
    listed = cli.json("apikey", "list", "--account", acc)["items"]
    assert [k["key_id"] for k in listed] == [kid] and "secret" not in listed[0] and listed[0]["expires_at"]
    r = ok(cli("apikey", "rotate", kid))
    new_secret = re.search(r"secret \(shown once, store it now\): (igk_\S+)$", r.stdout, re.M).group(1)
    assert new_secret != secret
    fails(cli("apikey", "rotate", kid), 4, "is revoked")
    ok(cli("apikey", "revoke", new_secret[:16]), rf"^revoked {new_secret[:16]}$")
    fails(cli("apikey", "revoke", "igk_" + "0" * 12), 3, "no API key")
    fails(cli("apikey", "create", "--account", "acc-nobody"), 3, "no account")
    fails(cli("apikey", "create", "--account", acc, "--expires-in", "never"), 4, "expires_in must be a duration")
    fails(cli("apikey", "revoke"), 64, "missing key id")
    # The secrets printed are not in the catalog.
    with open(os.path.join(cli.dir, "catalog.sqlite3"), "rb") as f:
        data = f.read()
    wal = os.path.join(cli.dir, "catalog.sqlite3-wal")
    if os.path.exists(wal):
        data += open(wal, "rb").read()
    for s in (secret, new_secret):
        assert s.encode() not in data and s[17:].encode() not in data


def test_audit_list_and_verify(cli):
    i = cli.image("audited")
    cli("image", "rename", i, "renamed")
    r = ok(cli("audit", "list"), r"^SEQ\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+SOURCE\s+OUTCOME\s+DETAILS$")
    # The details column reads key=value pairs.
    assert re.search(rf"local-admin\s+image\.update\s+{i}\s+cli\s+ok\s+cross_tenant=true fields=name name=renamed$",
                     r.stdout, re.M)
    events = cli.json("audit", "list")["items"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    after = cli.json("audit", "list", "--after", str(events[-2]["seq"]))["items"]
    assert [e["seq"] for e in after] == [events[-1]["seq"]]
    assert len(cli.json("audit", "list", "--limit", "1")["items"]) == 1
    fails(cli("audit", "list", "--limit", "x"), 4, "limit must be")
    fails(cli("audit", "list", "--after", "x"), 4, "after must be")
    fails(cli("audit", "list", "--tenant", "nope"), 4, "tenant must be a tenant id")
    ok(cli("audit", "verify"), r"^audit log intact$")
    # Tamper (the append-only trigger must be dropped first; the CLI runs no migration that restores it).
    import sqlite3
    db = sqlite3.connect(os.path.join(cli.dir, "catalog.sqlite3"))
    with pytest.raises(sqlite3.DatabaseError):
        db.execute("UPDATE audit_events SET target = 'x' WHERE seq = 2")
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET source = 'elsewhere' WHERE seq = 2")
    db.commit()
    db.close()
    r = cli("audit", "verify")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == "imagegate: audit log damaged: the hash chain breaks at record 2\n"


def test_cli_and_running_server_share_the_catalog(tmp_path):
    """The same commands with a server running on the data directory: the API sees what the CLI did."""
    import http.client
    s = Server(str(tmp_path / "data")).start()
    try:
        p = tmp_path / "x.img"
        p.write_bytes(os.urandom(1000))
        i = s.import_image(str(p), "shared")["id"]
        ok(s.cli("image", "rename", i, "shared 2"))
        key = s.admin_key
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        c.request("GET", f"/api/v1/images/{i}", headers={"Authorization": "Bearer " + key})
        assert json.loads(c.getresponse().read())["name"] == "shared 2"
        c.close()
        assert s.cli("image", "show", NO_IMAGE, check=False).returncode == 3
    finally:
        s.stop()
