"""The console's webhook page in Chromium (Docs/webhooks.md): an administrator adds a webhook for a local
receiver and sees its secret once, the receiver gets a delivery signed with that secret, the delivery log shows
it delivered, and removing the webhook empties the list."""
import hashlib
import hmac
import json
import os

import pytest

from conftest import Server
from test_console import browser, css, downloads, shot, sign_in, wait  # noqa: F401 (fixtures and helpers)
from test_webhooks import CONFIG, Receiver, free_port, import_small

from selenium.webdriver.common.by import By  # noqa: E402


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-console-webhooks"), CONFIG).start()
    yield s
    s.stop()


def test_add_see_the_secret_once_read_the_log_and_remove(browser, srv, workdir):
    d = browser
    receiver = Receiver(free_port()).start()
    try:
        sign_in(d, srv, srv.admin_key)
        nav = [a for a in css(d, "nav a") if a.text == "Webhooks"]
        assert nav, "administrators see the Webhooks page in the navigation"
        nav[0].click()
        wait(d, lambda: css(d, "#webhook-form"), what="webhook form")
        css(d, "#webhook-url")[0].send_keys(receiver.url)
        for box in css(d, '#webhook-form input[name="event"]'):
            if box.get_attribute("value") in ("image.available", "link.minted"):
                box.click()
        css(d, "#webhook-form button[type=submit]")[0].click()
        secret = wait(d, lambda: css(d, "#webhook-secret")[0].text, what="the secret")
        hook_id = wait(d, lambda: css(d, "#webhook-table tr[data-id]")[0].get_attribute("data-id"), what="row")
        shot(d, "webhooks-added")
        listed = srv.cli_json("webhook", "list")["items"]
        assert [h["id"] for h in listed] == [hook_id] and listed[0]["events"] == ["image.available", "link.minted"]

        rec = import_small(srv, workdir, "console-webhook")
        bodies = receiver.wait_for(lambda b: any(x["data"].get("image_id") == rec["id"] for x in b))
        with receiver.lock:
            headers, body = receiver.received[0]
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-ImageGate-Signature"], expected)
        assert json.loads(body)["type"] == "image.available" and bodies[0]["type"] == "image.available"

        def delivered_row():
            css(d, f'#webhook-table tr[data-id="{hook_id}"] .op-log')[0].click()
            return css(d, '#delivery-table tr[data-state="delivered"]')
        wait(d, delivered_row, what="a delivered row in the log")
        shot(d, "webhooks-log")

        css(d, f'#webhook-table tr[data-id="{hook_id}"] .op-remove')[0].click()
        wait(d, lambda: css(d, "dialog[open] button.danger"), what="confirm dialog")[0].click()
        wait(d, lambda: not css(d, "#webhook-table tr[data-id]"), what="the row to go")
        assert srv.cli_json("webhook", "list")["items"] == []
        # The secret is not shown again anywhere: reloading the page shows no secret.
        d.get(srv.base + "/console/webhooks")
        wait(d, lambda: css(d, "#webhook-form"), what="webhook form after reload")
        assert not css(d, "#webhook-secret")
        assert secret not in d.find_element(By.TAG_NAME, "body").text
    finally:
        receiver.stop()
