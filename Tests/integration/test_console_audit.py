"""The console's audit page in a real headless Chromium (the Selenium fixtures of test_console.py): a refused
download of a valid link shows up with its readable details; the filters narrow the list and live in the URL;
"Export CSV" downloads the same events, which parse as CSV; a view-only sub-account has no audit page."""
import csv
import os
import subprocess
import time

import pytest

from conftest import Server
from test_console import API, browser, css, downloads, shot, sign_in, wait  # noqa: F401 (fixtures)
from tokenforge import Forge


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-console-audit")).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def admin(srv):
    return API(srv, srv.admin_key)


def refused_link(srv, tmp_path):
    """A minted link, then one download with an expired copy of it (410, audited as download.refused)."""
    path = tmp_path / "audit-page.img"
    path.write_bytes(b"audit page " * 100)
    image = srv.import_image(str(path), "audit page")
    link = srv.mint(image["id"])
    token = link["http"].split("/")[4]
    c = Forge.parse(token)
    now = int(time.time())
    stale = Forge(srv.data_dir).mint(dict(c, iat=now - 3600, exp=now - 120))
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", link["http"].replace(token, stale)],
                       capture_output=True, text=True)
    assert r.stdout == "410"
    return image, c["serial"].hex()


def test_audit_page_filters_and_csv(browser, srv, admin, downloads, tmp_path):
    image, serial = refused_link(srv, tmp_path)
    d = browser
    sign_in(d, srv, admin.key)
    css(d, 'nav a[href="/console/audit"]')[0].click()
    wait(d, lambda: css(d, "#audit-table tbody tr[data-seq]"), what="audit rows")
    # Filter by the link's serial through the form: the URL keeps it, the list shows the mint and the refusal.
    box = css(d, '#audit-filters input[name="serial"]')[0]
    box.send_keys(serial)
    css(d, "#apply-audit-filters")[0].click()
    wait(d, lambda: "serial=" + serial in d.current_url and len(css(d, "#audit-table tbody tr[data-seq]")) == 2,
         what="filtered rows")
    actions = [r.find_element("css selector", "th").text for r in css(d, "#audit-table tbody tr[data-seq]")]
    assert actions == ["download.refused", "link.mint"]  # newest first
    refused = css(d, "#audit-table tbody tr[data-seq]")[0].text
    assert "expired" in refused and "http" in refused and "127.0.0.1" in refused
    minted = css(d, "#audit-table tbody tr[data-seq]")[1].text
    assert "sftp" in minted and "Z" in minted  # protocol names and an RFC 3339 expiry, not bits and seconds
    shot(d, "audit-filtered")
    # An action filter from the URL, and a time range that excludes everything.
    d.get(srv.base + f"/console/audit?action=download.refused&image={image['id']}")
    wait(d, lambda: len(css(d, "#audit-table tbody tr[data-seq]")) == 1, what="action filter")
    d.get(srv.base + f"/console/audit?serial={serial}&until=2001-01-01")
    wait(d, lambda: css(d, "#audit-table tbody td[colspan]"), what="empty list")
    # Export the serial's events.
    d.get(srv.base + f"/console/audit?serial={serial}")
    wait(d, lambda: len(css(d, "#audit-table tbody tr[data-seq]")) == 2, what="rows again")
    target = os.path.join(downloads, "audit.csv")
    if os.path.exists(target):
        os.remove(target)
    css(d, "#export-audit")[0].click()
    wait(d, lambda: os.path.exists(target) and os.path.getsize(target) > 0, what="CSV download")
    time.sleep(0.3)
    with open(target, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["action"] for r in rows] == ["download.refused", "link.mint"]
    assert "reason=expired" in rows[0]["detail"] and rows[0]["target"] == image["id"]


def test_owner_sees_own_tenant_and_viewer_has_no_audit_page(browser, srv, admin, tmp_path):
    _, default_serial = refused_link(srv, tmp_path)
    status, made = admin.call("POST", "/api/v1/tenants", {"name": "audit-acme"})
    assert status == 201, made
    tenant, owner = made["tenant"]["id"], made["owner"]["id"]
    status, owner_key = admin.call("POST", "/api/v1/api-keys", {"account_id": owner})
    assert status == 201, owner_key
    status, viewer = admin.call("POST", "/api/v1/accounts", {"name": "audit viewer", "permission": "view",
                                                            "tenant": tenant})
    assert status == 201, viewer
    status, viewer_key = admin.call("POST", "/api/v1/api-keys", {"account_id": viewer["id"]})
    assert status == 201, viewer_key
    d = browser
    for key in (owner_key, viewer_key):
        if css(d, "#sign-out"):
            css(d, "#sign-out")[0].click()
            wait(d, lambda: css(d, "#api-key"), what="signed out")
        sign_in(d, srv, key["secret"])
        if key is owner_key:
            # The owner's audit page: their tenant's events (the viewer account made for it), nothing of the
            # default tenant's link.
            css(d, 'nav a[href="/console/audit"]')[0].click()
            wait(d, lambda: css(d, "#audit-table tbody tr[data-seq]"), what="owner's rows")
            text = css(d, "#audit-table")[0].text
            assert default_serial not in text and not css(d, '#audit-filters select[name="tenant"]')
            d.get(srv.base + f"/console/audit?serial={default_serial}")
            wait(d, lambda: css(d, "#audit-table tbody td[colspan]"), what="no rows of another tenant")
        else:
            assert not css(d, 'nav a[href="/console/audit"]')
            d.get(srv.base + "/console/audit")
            wait(d, lambda: css(d, "#main [role=alert]"), what="refusal")
