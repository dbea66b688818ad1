"""First use of a new SQLite catalog by several processes at the same moment (Docs/deployment.md, Docs/recovery.md).

Before the opening lock (SQLiteCatalogStore.withOpeningLock), one round in about 25 of six CLIs started together on
a fresh `sqlite:///` catalog refused it: one process saw the file another had just created still empty next to its
WAL and took it for a lost catalog; under load, a switch to WAL mode answered "catalog busy" at once and a node
failed to start. Every process must come up, and the catalog must end with one administrator."""
import os
import sqlite3
import subprocess

import pytest

from conftest import BIN

ROUNDS = 12
PROCESSES = 6


@pytest.mark.slow
def test_processes_opening_a_new_catalog_at_once_all_succeed(tmp_path):
    failures = []
    for r in range(ROUNDS):
        db = tmp_path / f"round{r}" / "catalog.sqlite3"
        procs = [
            subprocess.Popen(
                [BIN, "image", "list", "--json", "--catalog", f"sqlite://{db}", "--data-dir",
                 str(tmp_path / f"round{r}" / f"n{k}")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for k in range(PROCESSES)
        ]
        for p in procs:
            out, err = p.communicate(timeout=120)
            if p.returncode != 0:
                failures.append((r, p.returncode, err.decode(errors="replace").strip()))
        with sqlite3.connect(db) as c:
            admins = c.execute("SELECT count(*) FROM accounts WHERE kind = 'platform_admin'").fetchone()[0]
        assert admins == 1, f"round {r}: {admins} administrators"
        keys = [k for k in range(PROCESSES)
                if os.path.exists(tmp_path / f"round{r}" / f"n{k}" / "keys" / "admin-api-key")]
        assert len(keys) == 1, f"round {r}: the administrator's key was written by {keys}"
    assert failures == []
