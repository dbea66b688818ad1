"""Consistency check of a data directory after a crash, used by the fault-injection suite.

It reads the catalog with Python's sqlite3 (read-only, WAL: safe while the server runs) and the files under
blobs/, staging/ and quarantine/, and returns a list of findings (empty = consistent):

- every `available` image has a blob whose size and sha256 match its row;
- no blob without a row and no quarantined file, except for ids the caller names (a destroy that was
  killed between removing the row and unlinking the bytes leaves exactly that: Docs/management.md);
- every staging file belongs to an `uploading`/`making` row with a live holder, and no such row has a
  blob already (a finalize that renamed but never committed);
- no row stays `uploading`/`making` without a live lease, nor `deleting`, after a bounded wait
  (recovery and the recycle-bin pass at start-up are what should settle them);
- `imagegate audit verify` accepts the audit hash chain.
"""
import hashlib
import os
import sqlite3
import subprocess
import time

LEASE_TIMEOUT = 600  # CatalogRecovery.leaseTimeout: a heartbeat older than this is dead
BUSY = ("uploading", "making", "deleting")


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pid_alive(pid):
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (a killed child nobody reaped yet) is not a holder.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def read_catalog(data_dir, names=False):
    """(rows by id: (status, size, sha256, failure_reason[, name]), live lease ids)"""
    uri = "file:" + os.path.join(data_dir, "catalog.sqlite3") + "?mode=ro"
    db = sqlite3.connect(uri, uri=True, timeout=30)
    try:
        columns = "id, status, size, sha256, failure_reason" + (", name" if names else "")
        rows = {r[0]: r[1:] for r in db.execute(f"SELECT {columns} FROM images")}
        now = int(time.time())
        live = {image for image, pid, beat in db.execute("SELECT image_id, pid, heartbeat FROM import_leases")
                if now - beat <= LEASE_TIMEOUT and pid_alive(pid)}
    finally:
        db.close()
    return rows, live


def listdir(data_dir, sub):
    p = os.path.join(data_dir, sub)
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def stuck_rows(data_dir):
    rows, live = read_catalog(data_dir)
    return {i: r[0] for i, r in rows.items()
            if r[0] == "deleting" or (r[0] in ("uploading", "making") and i not in live)}


def check(data_dir, bin_path, common_args, allowed_orphans=(), settle=30):
    """Returns a list of human-readable inconsistencies (empty when the directory is consistent)."""
    problems = []
    deadline = time.time() + settle
    stuck = stuck_rows(data_dir)
    while stuck and time.time() < deadline:
        time.sleep(0.2)
        stuck = stuck_rows(data_dir)
    for image, status in sorted(stuck.items()):
        problems.append(f"{image} stays {status} without a live holder")

    # Staging and blobs are listed before the rows are read (as the server's own sweeps do), so an import
    # that finishes in between cannot look like an orphan.
    staging = listdir(data_dir, "staging")
    blobs = listdir(data_dir, "blobs")
    quarantined = listdir(data_dir, "quarantine")
    rows, live = read_catalog(data_dir)

    for image, (status, size, digest, _reason) in sorted(rows.items()):
        if status in ("uploading", "making") and image in blobs:
            # Between a finalize's rename and its commit only; after the settle it is an import nobody finishes.
            problems.append(f"{image} is {status} but already has a blob")
        if status != "available":
            continue
        path = os.path.join(data_dir, "blobs", image)
        if not os.path.exists(path):
            problems.append(f"{image} is available but has no blob")
            continue
        actual = os.path.getsize(path)
        if actual != size:
            problems.append(f"{image} is available with size {size} but its blob holds {actual} bytes")
        elif sha256_of(path) != digest:
            problems.append(f"{image} is available but its blob does not match sha256 {digest}")

    allowed = set(allowed_orphans)
    for name in blobs:
        if name not in rows and name not in allowed:
            problems.append(f"orphan blob {name} (no catalog row)")
    for name in quarantined:
        if name.split(".", 1)[0] not in allowed:
            problems.append(f"quarantined file {name} after a normal run")
    for name in staging:
        image = name.split(".", 1)[0]
        if rows.get(image, ("gone",))[0] not in ("uploading", "making") or image not in live:
            problems.append(f"staging file {name} has no live import")

    r = subprocess.run([bin_path, "audit", "verify"] + list(common_args), capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        problems.append(f"audit verify exited {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    return problems
