"""CLI `image import --file` runs in progress belong to their process (Docs/imports.md, "Who owns an import"):
a server starting meanwhile and the sweeps of a running server leave them alone, and the import ends available
with the right sha256; an importing process that is killed gets the truthful reason ("the importing process
stopped") and its partial bytes removed, from a running server's sweep or from the next server start."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import BIN, OS_ARGS, Server

# A sweep every second, and its debug line in the log, so a test can tell that sweeps ran.
CONF = "imports.sweep_interval = 1s\nlog.level = debug\n"
STOPPED = "the importing process stopped"


class LoggedServer(Server):
    """A server whose log (stderr) goes to a file the test reads while the server runs."""

    def start(self):
        self.log_path = self.data_dir.rstrip("/") + ".log"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [BIN, "serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0", "--ftp", "off",
                 "--sftp", "127.0.0.1:0", "--metrics", "off"] + self.common(), stdout=subprocess.PIPE, stderr=log, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited: " + self.log())
            m = re.match(r"http: listening on http://127\.0\.0\.1:(\d+)$", line.strip())
            if m:
                self.port = int(m.group(1))
            if line.startswith("sftp host key: rsa"):
                return self
        raise RuntimeError("server did not start")

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def sweeps(self):
        return self.log().count("import sweep: ")

    def wait_sweeps(self, n, timeout=120):
        deadline = time.time() + timeout
        while self.sweeps() < n:
            assert time.time() < deadline, "the server's import sweep did not run"
            time.sleep(0.1)


class Throttle:
    """Lets a process run 10 ms in every 250 ms (SIGSTOP/SIGCONT), like a very slow disk under it: its import
    takes ~25 times longer, and it is never stopped long enough for its lease (30 s) to lapse, since its
    heartbeat thread runs whenever the process does."""

    def __init__(self, pid):
        self.pid = pid
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            while not self.done.is_set():
                os.kill(self.pid, signal.SIGSTOP)
                self.done.wait(0.24)
                os.kill(self.pid, signal.SIGCONT)
                time.sleep(0.01)
        except ProcessLookupError:
            pass

    def stop(self):
        self.done.set()
        self.thread.join()
        try:
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


def start_cli_import(server, path, name):
    return subprocess.Popen([BIN, "image", "import", "--file", path, "--name", name, "--json", *OS_ARGS] + server.common(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_staging(server, proc, timeout=120):
    """The image id of the import whose staging file appeared (the import is then streaming)."""
    staging = os.path.join(server.data_dir, "staging")
    deadline = time.time() + timeout
    while time.time() < deadline:
        names = os.listdir(staging) if os.path.isdir(staging) else []
        if names:
            return names[0].split(".")[0]
        assert proc.poll() is None, "the import ended before it streamed: " + proc.stderr.read()
        time.sleep(0.005)
    raise AssertionError("no staging file appeared")


def staging_files(server, image_id):
    staging = os.path.join(server.data_dir, "staging")
    return [n for n in os.listdir(staging) if n.startswith(image_id)] if os.path.isdir(staging) else []


def show(server, image_id):
    return json.loads(server.cli("image", "show", image_id, "--json").stdout)


def wait_status(server, image_id, status, timeout=120):
    deadline = time.time() + timeout
    while True:
        rec = show(server, image_id)
        if rec["status"] == status or time.time() > deadline:
            return rec
        time.sleep(0.2)


def finish(proc, throttle):
    """Lets the import run at full speed and returns its result."""
    assert proc.poll() is None, "the import ended while it was throttled; the sweeps did not overlap it"
    throttle.stop()
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def running(workdir):
    s = LoggedServer(os.path.join(workdir, "data-live"), CONF).start()
    yield s
    s.stop()


@pytest.mark.slow
def test_a_starting_server_leaves_a_cli_import_in_progress_alone(workdir, big_file):
    path, digest = big_file
    s = LoggedServer(os.path.join(workdir, "data-live-start"), CONF)
    s.cli("image", "list")  # the data directory exists before either process uses it
    proc = start_cli_import(s, path, "imported while a server starts")
    throttle = Throttle(proc.pid)
    try:
        image_id = wait_for_staging(s, proc)
        s.start()  # start-up: adoption, recovery, the first sweep
        s.wait_sweeps(3)
        assert show(s, image_id)["status"] == "uploading"
        assert staging_files(s, image_id)
        rec = finish(proc, throttle)
        assert rec["id"] == image_id and rec["status"] == "available" and rec["sha256"] == digest
        assert rec["size"] == os.path.getsize(path)
        assert "upload expired" not in s.log() and STOPPED not in s.log()
    finally:
        throttle.stop()
        if proc.poll() is None:
            proc.kill()
        s.stop()


def test_sweeps_of_a_running_server_leave_a_cli_import_in_progress_alone(running, big_file):
    path, digest = big_file
    proc = start_cli_import(running, path, "imported across sweeps")
    throttle = Throttle(proc.pid)
    try:
        image_id = wait_for_staging(running, proc)
        running.wait_sweeps(running.sweeps() + 3)
        assert show(running, image_id)["status"] == "uploading"
        rec = finish(proc, throttle)
        assert rec["id"] == image_id and rec["status"] == "available" and rec["sha256"] == digest
    finally:
        throttle.stop()
        if proc.poll() is None:
            proc.kill()


def test_a_killed_cli_import_fails_with_the_true_reason_at_the_next_sweep(running, big_file):
    proc = start_cli_import(running, big_file[0], "killed mid-import")
    throttle = Throttle(proc.pid)
    try:
        image_id = wait_for_staging(running, proc)
    finally:
        throttle.stop()
        proc.kill()
        proc.wait()
    rec = wait_status(running, image_id, "failed")
    assert rec["status"] == "failed" and rec["failure_reason"] == STOPPED
    assert staging_files(running, image_id) == []
    assert f"import {image_id}: its importing process stopped" in running.log()


def test_a_killed_cli_import_fails_with_the_true_reason_at_the_next_start(workdir, big_file):
    s = LoggedServer(os.path.join(workdir, "data-live-killed"), CONF)
    s.cli("image", "list")
    proc = start_cli_import(s, big_file[0], "killed before the server starts")
    throttle = Throttle(proc.pid)
    try:
        image_id = wait_for_staging(s, proc)
    finally:
        throttle.stop()
        proc.kill()
        proc.wait()
    assert show(s, image_id)["status"] == "uploading"
    try:
        s.start()
        rec = show(s, image_id)
        assert rec["status"] == "failed" and rec["failure_reason"] == STOPPED
        assert staging_files(s, image_id) == []
    finally:
        s.stop()
