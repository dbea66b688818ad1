"""Webhooks (issue #14 item 7): signed deliveries to a local receiver, a receiver that is down for a while
(delivered once each, in order per image), a server restart in between (the outbox is in the catalog), and the
SSRF rules for webhook addresses (Docs/webhooks.md)."""
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, Server, free_port, run
from test_pg_catalog import cluster, database  # noqa: F401 (fixtures)
from test_pg_cluster import needs_postgres

EVENTS = "image.available,image.failed,image.deleted,link.minted,link.revoked,download.completed"
CONFIG = """\
webhooks.allow_plain_http = true
webhooks.allow_private = 127.0.0.0/8
webhooks.first_retry = 1s
"""


class Receiver:
    """A webhook receiver on 127.0.0.1:port that records every POST; stop() makes the port refuse connections."""

    def __init__(self, port):
        self.port = port
        self.received = []
        self.lock = threading.Lock()
        self.httpd = None

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, b in self.received]

    def wait_for(self, predicate, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate(self.bodies()):
                return self.bodies()
            time.sleep(0.2)
        raise AssertionError(f"receiver never got what was expected; got {[b['type'] for b in self.bodies()]}")


@pytest.fixture(scope="module")
def gateway(workdir):
    s = Server(os.path.join(workdir, "webhooks-data"), config_text=CONFIG).start()
    yield s
    s.stop()


def import_small(server, workdir, name):
    path = os.path.join(workdir, f"wh-{time.time_ns()}.img")
    with open(path, "wb") as f:
        f.write(os.urandom(3000))
    return server.import_image(path, name)


def add_webhook(server, url, events=EVENTS):
    hook = server.cli_json("webhook", "add", url, "--events", events)
    assert hook["secret"] and hook["id"].startswith("whk-")
    return hook


def wait_delivered(server, hook_id, count, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        log = server.cli_json("webhook", "deliveries", hook_id)["items"]
        if len(log) >= count and all(d["state"] == "delivered" for d in log):
            return log
        time.sleep(0.3)
    raise AssertionError(f"not all delivered: {log}")


def test_deliveries_are_signed_with_the_secret(gateway, workdir):
    receiver = Receiver(free_port()).start()
    try:
        hook = add_webhook(gateway, receiver.url)
        # The secret is shown once: never in the list.
        listed = gateway.cli_json("webhook", "list")["items"]
        assert any(h["id"] == hook["id"] for h in listed)
        assert all("secret" not in h for h in listed)
        rec = import_small(gateway, workdir, "signed")
        link = gateway.mint(rec["id"])
        r = run(["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", link["http"]])
        assert r.stdout == "200", r.stderr
        gateway.cli("link", "revoke", link["serial"])
        wanted = {"image.available", "link.minted", "download.completed", "link.revoked"}
        receiver.wait_for(lambda bodies: wanted <= {b["type"] for b in bodies if b["data"].get("image_id") == rec["id"]})
        with receiver.lock:
            received = list(receiver.received)
        for headers, body in received:
            expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-ImageGate-Signature"], expected)
            event = json.loads(body)
            assert sorted(event) == ["data", "id", "time", "type"]
            assert headers["X-ImageGate-Event"] == event["type"]
            assert headers["X-ImageGate-Delivery"] == event["id"]
            assert headers["Content-Type"] == "application/json"
        mine = {b["type"]: b for b in receiver.bodies() if b["data"].get("image_id") == rec["id"]}
        assert mine["link.minted"]["data"]["serial"] == link["serial"]
        assert mine["download.completed"]["data"]["bytes"] == 3000
        assert mine["image.available"]["data"]["sha256"] == rec["sha256"]
        # A body signed with another secret would not verify: the check above is not vacuous.
        _, body = received[0]
        other = "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
        assert other != received[0][0]["X-ImageGate-Signature"]
        log = wait_delivered(gateway, hook["id"], 4)
        assert {d["type"] for d in log} >= wanted
        gateway.cli("webhook", "remove", hook["id"])
    finally:
        receiver.stop()


def test_link_first_use_and_exhausted_are_sent_once_each(gateway, workdir):
    """The usage accounting's transitions (Docs/links.md, `LinkUseEvent`) become webhook events: the first
    download under a link sends link.first_use, the one that makes its bytes reach the max_downloads allowance
    sends link.exhausted; later downloads (and the refused one) send neither again."""
    receiver = Receiver(free_port()).start()
    try:
        hook = add_webhook(gateway, receiver.url, events="link.first_use,link.exhausted")
        size = 4 * 1024 * 1024
        path = os.path.join(workdir, f"wh-usage-{time.time_ns()}.img")
        with open(path, "wb") as f:
            f.write(os.urandom(size))
        rec = gateway.import_image(path, "usage")
        link = gateway.mint(rec["id"], "--max-downloads", "1")
        allowance, served = link["byte_allowance"], 0
        while served < allowance:
            r = run(["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", link["http"]])
            assert r.stdout == "200", r.stderr
            served += size
            deadline = time.time() + 30  # usage is reported when the server sees the connection end
            while gateway.cli_json("link", "show", link["serial"])["bytes_served"] < served:
                assert time.time() < deadline, "usage never reported"
                time.sleep(0.05)
        r = run(["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", link["http"]])
        assert r.stdout == "410", r.stderr

        def mine(bodies):
            return [b for b in bodies if b["data"].get("serial") == link["serial"]]

        receiver.wait_for(lambda b: {"link.first_use", "link.exhausted"} <= {e["type"] for e in mine(b)})
        wait_delivered(gateway, hook["id"], 2)
        events = {e["type"]: e for e in mine(receiver.bodies())}
        assert sorted(e["type"] for e in mine(receiver.bodies())) == ["link.exhausted", "link.first_use"]
        first = events["link.first_use"]["data"]
        assert first["image_id"] == rec["id"] and first["protocol"] in ("http", "https")
        assert first["client"] == "127.0.0.1"
        exhausted = events["link.exhausted"]["data"]
        assert exhausted["allowance"] == allowance and exhausted["bytes_served"] == served >= allowance
        gateway.cli("webhook", "remove", hook["id"])
    finally:
        receiver.stop()


def test_receiver_down_then_up_across_a_restart_gets_each_event_once_in_order(workdir):
    data_dir = os.path.join(workdir, "webhooks-restart")
    server = Server(data_dir, config_text=CONFIG).start()
    receiver = Receiver(free_port())  # not started yet: connections are refused
    try:
        hook = add_webhook(server, receiver.url)
        images = [import_small(server, workdir, f"ordered-{i}") for i in range(2)]
        expected = {}
        for rec in images:
            link = server.mint(rec["id"])
            server.cli("link", "revoke", link["serial"])
            server.cli("image", "delete", rec["id"])
            expected[rec["id"]] = ["image.available", "link.minted", "link.revoked", "image.deleted"]
        # Failed attempts are logged with the reason and scheduled again.
        deadline = time.time() + 30
        while time.time() < deadline:
            log = server.cli_json("webhook", "deliveries", hook["id"])["items"]
            if any(d["attempts"] >= 2 for d in log):
                break
            time.sleep(0.3)
        assert all(d["state"] == "pending" for d in log)
        tried = [d for d in log if d["attempts"] >= 1]
        assert tried and all(d["last_status"] is None and "connect" in d["last_error"] for d in tried)
        # Only the first event of each image was tried: the later ones wait for it.
        assert {d["type"] for d in tried} == {"image.available"}
        server.stop()
        server = Server(data_dir, config_text=CONFIG).start()
        receiver.start()
        bodies = receiver.wait_for(lambda b: len(b) >= 8)
        wait_delivered(server, hook["id"], 8)
        time.sleep(2)  # a second delivery of anything would arrive within the retry interval
        bodies = receiver.bodies()
        ids = [b["id"] for b in bodies]
        assert len(ids) == len(set(ids)) == 8
        for image_id, types in expected.items():
            assert [b["type"] for b in bodies if b["data"]["image_id"] == image_id] == types
    finally:
        server.stop()
        if receiver.httpd:
            receiver.stop()


def test_private_and_plain_targets_are_refused_without_the_settings(gateway, workdir):
    port = free_port()
    # The same data directory without the webhook settings: the default rules.
    bare = [BIN, "webhook", "add", "--data-dir", gateway.data_dir, "--events", "image.available"]
    r = subprocess.run(bare + [f"http://127.0.0.1:{port}/hook"], capture_output=True, text=True)
    assert r.returncode == 4 and "webhooks.allow_plain_http" in r.stderr
    r = subprocess.run(bare + [f"https://127.0.0.1:{port}/hook"], capture_output=True, text=True)
    assert r.returncode == 4 and "destination not allowed" in r.stderr and "webhooks.allow_private" in r.stderr
    r = subprocess.run(bare + ["https://10.1.2.3/hook"], capture_output=True, text=True)
    assert r.returncode == 4 and "blocked range 10.0.0.0/8" in r.stderr
    assert not any(h["url"].endswith(f":{port}/hook") for h in gateway.cli_json("webhook", "list")["items"])


def test_a_server_without_the_allow_setting_refuses_to_deliver_to_loopback(workdir):
    """The rules hold at delivery time too: a webhook stored while loopback was allowed is not delivered by a
    server whose configuration does not allow it; the log says why."""
    data_dir = os.path.join(workdir, "webhooks-ssrf")
    receiver = Receiver(free_port()).start()
    server = Server(data_dir, config_text="webhooks.allow_plain_http = true\n").start()
    try:
        allowing = server.config + ".allowing"
        with open(allowing, "w") as f:
            f.write(CONFIG)
        r = subprocess.run([BIN, "webhook", "add", receiver.url, "--events", "image.available", "--json",
                            "--data-dir", data_dir, "--config", allowing], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        hook = json.loads(r.stdout)
        import_small(server, workdir, "ssrf")
        deadline = time.time() + 30
        while time.time() < deadline:
            log = server.cli_json("webhook", "deliveries", hook["id"])["items"]
            if log and log[0]["attempts"] >= 1:
                break
            time.sleep(0.3)
        assert log[0]["state"] == "pending"
        assert log[0]["last_error"].startswith("destination_not_allowed")
        assert "127.0.0.0/8" in log[0]["last_error"]
        assert receiver.bodies() == []
    finally:
        server.stop()
        receiver.stop()


@pytest.mark.slow
@needs_postgres
def test_two_nodes_on_one_postgres_catalog_deliver_each_event_once_in_order(database, workdir):
    """Both nodes' delivery threads claim from the same outbox (FOR UPDATE SKIP LOCKED): no event twice, and
    one image's events still in order."""
    base = os.path.join(workdir, f"webhooks-pg-{time.time_ns()}")
    os.makedirs(base + "/blobs")
    receiver = Receiver(free_port())  # down until the events are queued, so both nodes compete for them

    def node(k):
        s = Server(os.path.join(base, f"node{k}"),
                   config_text=CONFIG + f"node.id = wh-node{k}\nblobs.url = file://{base}/blobs\n")
        s.common = lambda s=s: Server.common(s) + ["--catalog", database]
        return s

    nodes = [node(1).start(), node(2).start()]
    try:
        hook = add_webhook(nodes[0], receiver.url, events="image.available,link.minted,link.revoked")
        expected = {}
        for i in range(2):
            rec = import_small(nodes[i], workdir, f"pg-{i}")
            types = ["image.available"]
            for _ in range(5):
                link = nodes[i].mint(rec["id"])
                nodes[1 - i].cli("link", "revoke", link["serial"])
                types += ["link.minted", "link.revoked"]
            expected[rec["id"]] = types
        receiver.start()
        total = sum(len(t) for t in expected.values())
        receiver.wait_for(lambda b: len(b) >= total, timeout=90)
        wait_delivered(nodes[1], hook["id"], total, timeout=60)
        time.sleep(2)
        bodies = receiver.bodies()
        ids = [b["id"] for b in bodies]
        assert len(ids) == len(set(ids)) == total
        for image_id, types in expected.items():
            assert [b["type"] for b in bodies if b["data"]["image_id"] == image_id] == types
    finally:
        for n in nodes:
            n.stop()
        if receiver.httpd:
            receiver.stop()
