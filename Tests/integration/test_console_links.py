"""The console's link administration in Chromium (Docs/console.md, Docs/links.md): the mint options on the download
page (lifetime up to tokens.max_ttl, protocols, max downloads, label) reach the minted link, the "Download links"
page lists it with its state and usage, revokes it, and "Revoke all links of this image" revokes the rest."""
import os
import subprocess

import pytest

from conftest import Server
from test_console import API, css, sign_in, wait

from selenium.webdriver.common.by import By  # noqa: E402  (test_console skips the module without Chromium)


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-console-links"), "tokens.max_ttl = 7d\n").start()
    source = os.path.join(workdir, "console-links.img")
    with open(source, "wb") as f:
        f.write(os.urandom(1 << 20))
    s.image = s.import_image(source, "Console Links")
    s.api = API(s, s.admin_key)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    from test_console import CHROMIUM, DRIVER, webdriver
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900", "--disable-gpu",
              "--lang=en-US"):
        opts.add_argument(a)
    d = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    yield d
    d.quit()


def links_of(srv, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    return srv.api.call("GET", "/api/v1/links?" + qs)[1]["items"]


def test_mint_options_list_and_revoke_in_the_console(browser, srv, tmp_path):
    d, img = browser, srv.image
    sign_in(d, srv, srv.api.key)
    d.get(srv.base + f"/console/images/{img['id']}/download")
    wait(d, lambda: css(d, "#mint-options"), what="mint options")
    css(d, "#mint-options summary")[0].click()
    # Lifetimes up to tokens.max_ttl (7 days), none above; the note states the chosen one.
    choices = [o.get_attribute("value") for o in css(d, "#mint-ttl option")]
    assert max(int(c) for c in choices) == 7 * 86400 and "86400" in choices
    css(d, "#mint-ttl")[0].find_element(By.CSS_SELECTOR, 'option[value="3600"]').click()
    wait(d, lambda: "1 hour" in css(d, "#validity-note")[0].text, what="lifetime note")
    css(d, "#mint-proto-https")[0].click()
    css(d, "#mint-max-downloads")[0].send_keys("2")
    css(d, "#mint-label")[0].send_keys("from the console")
    css(d, "#generate-link")[0].click()
    wait(d, lambda: css(d, "input.url-https"), what="addresses")
    assert not css(d, "input.url-sftp") and not css(d, "input.url-ftp")
    minted = links_of(srv, image=img["id"])
    assert len(minted) == 1
    link = minted[0]
    assert link["protocols"] == ["https"] and link["max_downloads"] == 2 and link["label"] == "from the console"
    https = css(d, "input.url-https")[0].get_attribute("value")
    r = subprocess.run(["curl", "-fsS", "--cacert", srv.ca_file, "-o", str(tmp_path / "x"), https], capture_output=True)
    assert r.returncode == 0, r.stderr
    # The inventory page shows it, with its usage once the download's session has ended; revoke it there.
    d.get(srv.base + "/console/links")
    wait(d, lambda: css(d, f'tr[data-serial="{link["serial"]}"]'), what="link row")

    def usage_shown():
        d.refresh()
        rows = wait(d, lambda: css(d, f'tr[data-serial="{link["serial"]}"]'), what="link row")
        return "1 complete downloads" in rows[0].text
    wait(d, usage_shown, what="usage")
    rowtext = css(d, f'tr[data-serial="{link["serial"]}"]')[0].text
    assert "Active" in rowtext and "from the console" in rowtext and "at most 2 downloads" in rowtext
    css(d, f'tr[data-serial="{link["serial"]}"] .op-revoke')[0].click()
    wait(d, lambda: css(d, "dialog[open] button.danger"), what="confirm dialog")
    css(d, "dialog[open] button.danger")[0].click()
    wait(d, lambda: "Revoked" in css(d, f'tr[data-serial="{link["serial"]}"] .link-state')[0].text, what="revoked")
    assert links_of(srv, image=img["id"])[0]["state"] == "revoked"
    # Two more links, then "Revoke all links of this image" on the download page.
    for _ in range(2):
        assert srv.api.call("POST", f"/api/v1/images/{img['id']}/links", {})[0] == 201
    d.get(srv.base + f"/console/images/{img['id']}/download")
    wait(d, lambda: css(d, "#revoke-all-links"), what="revoke all button")
    css(d, "#revoke-all-links")[0].click()
    wait(d, lambda: css(d, "dialog[open] button.danger"), what="confirm dialog")
    css(d, "dialog[open] button.danger")[0].click()
    wait(d, lambda: not links_of(srv, image=img["id"], state="active"), what="all revoked")
    assert len(links_of(srv, image=img["id"], state="revoked")) == 3
    # The state filter.
    d.get(srv.base + "/console/links")
    wait(d, lambda: css(d, "#link-state"), what="filters")
    css(d, "#link-state")[0].find_element(By.CSS_SELECTOR, 'option[value="active"]').click()
    wait(d, lambda: "No download links." in css(d, "#links-table")[0].text, what="filtered to none")
    assert css(d, "#link-tenant")  # platform administrators filter by tenant
