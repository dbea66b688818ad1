"""The web console after the new-user review (issue 11, items 2, 3, 5, 6, 7 and 12), in headless Chromium
through Selenium against the real server: the import wizard shows only the fields that apply and drops a
message once its field is fixed; the download page states the link's real lifetime and a time zone; a stalled
upload shows "stalled since" instead of its last rate (page and API); encrypted images can be declared in
the wizard and with `image import --encrypted`, and the refusal says how; role names, plurals and durations
read as words; the list fits 1280 px; leaving during an upload asks first; operations follow the status;
a view-only account gets a note instead of the import form; project group and tags are editable, and the
recycle bin has Edit.

Screenshots go to Tests/integration/artifacts/console/ (git-ignored), named review-*.png."""
import http.client
import json
import os
import shutil
import subprocess

import pytest

from conftest import OS_ARGS, Server
from test_console import API, ARTIFACTS, CHROMIUM, DRIVER, MiB, css, random_file, row, shot, sign_in, wait

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402

needs_qemu = pytest.mark.skipif(shutil.which("qemu-img") is None, reason="qemu-img (qemu-utils) not installed")


@pytest.fixture(scope="module")
def srv(workdir):
    # A link lifetime other than 24 h: the download page must state the real one.
    s = Server(os.path.join(workdir, "data-console-review"), "tokens.default_ttl = 2h\n").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def admin(srv):
    return API(srv, srv.admin_key)


@pytest.fixture(scope="module")
def browser(srv, admin):
    os.makedirs(ARTIFACTS, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
              "--disable-gpu", "--lang=en-US"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    d.set_window_size(1280, 900)
    # A time zone that is not the server's (UTC): times on the page must name theirs.
    d.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Shanghai"})
    sign_in(d, srv, admin.key)  # tests that sign in as someone else sign the administrator back in
    yield d
    d.quit()


def upload_body(name, size, **fields):
    body = {"name": name, "kind": "self_made", "format": "raw", "system_type": "Linux", "platform": "CentOS",
            "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS", "source": {"upload": {"size": size}}}
    body.update(fields)
    return body


def visible(d, sel):
    els = css(d, sel)
    return bool(els) and els[0].is_displayed()


def field_visible(d, input_id):
    return css(d, f"#{input_id}")[0].find_element(By.XPATH, "..").is_displayed()


def choose(d, sel):
    d.find_element(By.CSS_SELECTOR, sel).click()


def fill_wizard(d, name, path):
    css(d, "#imp-name")[0].send_keys(name)
    css(d, "#imp-file")[0].send_keys(path)
    choose(d, "#imp-system-type option[value=Linux]")
    choose(d, "#imp-architecture option[value=x86_64]")
    choose(d, "#imp-boot-mode option[value=BIOS]")
    choose(d, "#imp-platform option[value=CentOS]")
    choose(d, "#imp-version option[value='7.9']")


def radio(d, name, value):
    css(d, f"input[type=radio][name={name}][value={value}]")[0].click()


def test_wizard_shows_only_the_fields_that_apply(browser, srv, admin):
    d = browser
    d.get(srv.base + "/console/import")
    wait(d, lambda: css(d, "#import-form"), what="import wizard")
    # Local file (the default): the file field, not the address.
    assert field_visible(d, "imp-file") and not field_visible(d, "imp-url")
    radio(d, "method", "url")
    assert field_visible(d, "imp-url") and not field_visible(d, "imp-file")
    # ISO: no file format (always ISO), no agent support, no encryption.
    radio(d, "kind", "iso")
    assert not field_visible(d, "imp-format") and not visible(d, "#imp-features")
    assert not css(d, "#imp-encrypted")[0].is_displayed()
    shot(d, "review-01-wizard-iso-url")
    radio(d, "kind", "self_made")
    assert field_visible(d, "imp-format") and visible(d, "#imp-features") and css(d, "#imp-encrypted")[0].is_displayed()
    # A message goes once its field is fixed; the summary goes with the last one.
    css(d, "#import-submit")[0].click()
    wait(d, lambda: css(d, "#import-errors")[0].is_displayed(), what="validation summary")
    name = css(d, "#imp-name")[0]
    assert name.get_attribute("aria-invalid") == "true" and css(d, "#imp-name-err")[0].is_displayed()
    shot(d, "review-02-wizard-errors")
    name.send_keys("fixed name")
    assert name.get_attribute("aria-invalid") is None and not css(d, "#imp-name-err")[0].is_displayed()
    assert css(d, "#imp-url")[0].get_attribute("aria-invalid") == "true"  # the others stay
    assert css(d, "#import-errors")[0].is_displayed()
    # Switching to a local file drops the address's message with its field.
    radio(d, "method", "file")
    assert css(d, "#imp-url")[0].get_attribute("aria-invalid") is None
    for sel, value in (("imp-system-type", "Linux"), ("imp-architecture", "x86_64"), ("imp-boot-mode", "BIOS"),
                       ("imp-platform", "CentOS"), ("imp-version", "7.9")):
        choose(d, f"#{sel} option[value='{value}']")
    css(d, "#imp-file")[0].send_keys(os.path.abspath(__file__))
    assert not css(d, "#import-errors")[0].is_displayed(), "every field was fixed, the summary must go"
    shot(d, "review-03-wizard-fixed")


def make_luks(path):
    r = subprocess.run(["qemu-img", "create", "-f", "qcow2", "--object", "secret,id=s0,data=pw", "-o",
                        "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=10", path, "16M"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@needs_qemu
def test_encrypted_image_declared_in_the_wizard_and_the_cli(browser, srv, admin, tmp_path):
    d = browser
    path = str(tmp_path / "secret.qcow2")
    make_luks(path)
    # Not declared: refused, and the reason says how to declare it.
    r = srv.cli("image", "import", "--file", path, "--name", "luks undeclared", *OS_ARGS, check=False)
    assert r.returncode == 4, r
    reason = admin.by_name("luks undeclared")[0]["failure_reason"]
    assert "--encrypted" in reason and '"encrypted": true' in reason and "wizard" in reason, reason
    # The CLI flag, on the server host and against a remote server.
    done = srv.cli_json("image", "import", "--file", path, "--name", "luks by cli", "--encrypted", *OS_ARGS)
    assert done["status"] == "available" and done["encrypted"] is True, done
    from conftest import BIN
    r = subprocess.run([BIN, "image", "import", "--file", path, "--name", "luks remote", "--encrypted", "--json",
                        "--server", srv.base, "--system-type", "Linux", "--platform", "CentOS", "--os-version", "7.9",
                        "--architecture", "x86_64", "--boot-mode", "BIOS"], capture_output=True, text=True,
                       env=dict(os.environ, IMAGEGATE_API_KEY=admin.key), timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["encrypted"] is True
    # The wizard's box.
    d.get(srv.base + "/console/import")
    wait(d, lambda: css(d, "#import-form"), what="import wizard")
    fill_wizard(d, "luks by console", path)
    choose(d, "#imp-format option[value=qcow2]")
    css(d, "#imp-encrypted")[0].click()
    shot(d, "review-04-wizard-encrypted")
    css(d, "#import-submit")[0].click()
    wait(d, lambda: admin.by_name("luks by console") and admin.by_name("luks by console")[0]["status"] == "available",
         60, "encrypted image available")
    img = admin.by_name("luks by console")[0]
    assert img["encrypted"] is True
    wait(d, lambda: row(d, img["id"]) and "Yes" in row(d, img["id"]).find_element(By.CSS_SELECTOR, ".c-encrypted").text,
         what="encrypted column")


def test_download_page_states_the_real_lifetime_with_a_time_zone(browser, srv, admin, tmp_path):
    d = browser
    p = str(tmp_path / "dl.raw")
    random_file(p, 1 * MiB)
    img = srv.import_image(p, "download me")
    d.get(srv.base + f"/console/images/{img['id']}/download")
    wait(d, lambda: css(d, "#generate-link"), what="download wizard")
    note = css(d, "#validity-note")[0].text
    assert "2 hours" in note and "24 hours" not in note, note
    css(d, "#generate-link")[0].click()
    wait(d, lambda: css(d, "input.url-https"), what="addresses")
    note = css(d, "#validity-note")[0].text
    expires = css(d, "#expires-at")[0].text
    # The browser is in Asia/Shanghai (UTC+8): the times name that zone.
    assert "2 hours" in note and "GMT+8" in note, note
    assert "GMT+8" in expires, expires
    assert css(d, "#countdown")[0].text.startswith("Time left: 1:59:")
    labels = [e.text for e in css(d, ".copy-row label")]
    assert not [x for x in labels if "_" in x or "openssh" in x], labels  # no API keys as labels
    assert "lftp, 4 connections in parallel (FTPS)" in labels and "OpenSSH sftp (SFTP)" in labels, labels
    shot(d, "review-05-download")
    # "Copied" belongs to this page: it does not follow to the list.
    css(d, ".copy-box button")[0].click()
    wait(d, lambda: css(d, "#status-line")[0].text == "Copied", what="copied")
    d.find_element(By.LINK_TEXT, "Back to the list").click()
    wait(d, lambda: css(d, "#image-table table"), what="list")
    assert css(d, "#status-line")[0].text == ""


@pytest.mark.slow
def test_stalled_upload_in_the_api_and_the_list(browser, srv, admin):
    d = browser
    status, img = admin.call("POST", "/api/v1/imports", upload_body("stalls", 4 * MiB))
    assert status == 201, img
    # One chunk arrives, then nothing.
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    c.request("PATCH", img["upload_url"], body=os.urandom(MiB), headers={
        "Authorization": "Bearer " + admin.key, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert c.getresponse().status == 204
    c.close()
    api_img = wait(d, lambda: (lambda i: i if i["progress"]["stalled_since"] else False)(
        admin.call("GET", f"/api/v1/images/{img['id']}")[1]), 60, "API stalled_since")
    pr = api_img["progress"]
    assert pr["bytes"] == MiB and pr["rate"] is None and pr["eta_seconds"] is None, pr
    assert pr["stalled_since"] == pr["last_bytes_at"]
    d.get(srv.base + "/console/?status=uploading")
    text = wait(d, lambda: row(d, img["id"]).find_element(By.CSS_SELECTOR, ".progress-text").text, what="progress text")
    assert "stalled since" in text and "/s" not in text and "left" not in text, text
    # An upload nobody sends in this browser: cancel, no delete (the server refuses to delete it).
    ops = row(d, img["id"]).find_element(By.CSS_SELECTOR, ".ops")
    assert ops.find_elements(By.CSS_SELECTOR, ".op-cancel") and not ops.find_elements(By.CSS_SELECTOR, ".op-delete")
    shot(d, "review-06-stalled-in-list")
    admin.call("POST", f"/api/v1/images/{img['id']}/cancel")
    d.get(srv.base + "/console/?status=failed")
    wait(d, lambda: row(d, img["id"]).find_elements(By.CSS_SELECTOR, ".op-delete"), what="failed can be deleted")


def before_unload_prevented(d):
    return d.execute_script("""const e = new Event('beforeunload', {cancelable: true});
        window.dispatchEvent(e); return e.defaultPrevented;""")


@pytest.mark.slow
def test_running_upload_in_the_page(browser, srv, admin, tmp_path):
    d = browser
    path = str(tmp_path / "slow.raw")
    random_file(path, 8 * MiB)
    d.get(srv.base + "/console/import")
    wait(d, lambda: css(d, "#import-form"), what="import wizard")
    assert not before_unload_prevented(d)
    d.execute_script("localStorage.setItem('imagegate.upload.chunkBytes', String(256 * 1024))")
    fill_wizard(d, "uploading in page", path)
    d.set_network_conditions(offline=False, latency=50, download_throughput=50 * MiB, upload_throughput=2 * MiB)
    try:
        css(d, "#import-submit")[0].click()
        wait(d, lambda: int(css(d, "#uploads li.upload")[0].get_attribute("data-offset") or 0) > 0, what="first chunk")
        img = admin.by_name("uploading in page")[0]
        # Leaving now would drop the upload: the page asks first.
        assert before_unload_prevented(d)
        # A running upload is not offered "Resume upload", and an uploading image no "Delete".
        r = wait(d, lambda: row(d, img["id"]), what="uploading row")
        ops = r.find_element(By.CSS_SELECTOR, ".ops")
        assert ops.find_elements(By.CSS_SELECTOR, ".op-cancel")
        assert not ops.find_elements(By.CSS_SELECTOR, ".op-resume") and not ops.find_elements(By.CSS_SELECTOR, ".op-delete")
        # The link slows to a crawl: no chunk is confirmed any more, and the tray stops claiming a rate.
        d.set_network_conditions(offline=False, latency=50, download_throughput=50 * MiB, upload_throughput=1024)
        wait(d, lambda: css(d, '#uploads li.upload[data-state="stalled"]'), 60, "tray says stalled")
        text = css(d, "#uploads li.upload .upload-text")[0].text
        assert "Stalled since" in text and "/s" not in text and "left" not in text, text
        shot(d, "review-07-stalled-in-tray")
        row(d, img["id"]).find_element(By.CSS_SELECTOR, ".op-cancel").click()
        wait(d, lambda: css(d, "dialog[open] button.danger"), what="cancel dialog")[0].click()
        wait(d, lambda: admin.call("GET", f"/api/v1/images/{img['id']}")[1]["status"] == "failed", what="cancelled")
        wait(d, lambda: not before_unload_prevented(d), what="no warning once nothing uploads")
    finally:
        d.set_network_conditions(offline=False, latency=0, download_throughput=-1, upload_throughput=-1)
        d.execute_script("localStorage.removeItem('imagegate.upload.chunkBytes')")


def test_list_fits_1280_px(browser, srv, admin, tmp_path):
    d = browser
    p = str(tmp_path / "wide.raw")
    random_file(p, 1 * MiB)
    img = srv.cli_json("image", "import", "--file", p, "--name", "A rather long image name for the widest row",
                       "--description", "remarks that go on for a while to make the name cell tall",
                       "--tags", "production,database,east-region", "--features", "cloud-init,qemu-ga", *OS_ARGS)
    admin.call("PATCH", f"/api/v1/images/{img['id']}", {"project_group": "infrastructure-team"})
    assert d.get_window_size()["width"] == 1280
    d.get(srv.base + "/console/")
    wait(d, lambda: row(d, img["id"]), what="row")
    fits = d.execute_script("""const w = document.getElementById('image-table');
        const ops = [...document.querySelectorAll('td.c-operations')].map(c => c.getBoundingClientRect().right);
        return {scroll: w.scrollWidth, client: w.clientWidth, right: Math.max(...ops), window: window.innerWidth};""")
    shot(d, "review-08-list-1280")
    assert fits["scroll"] <= fits["client"] + 1 and fits["right"] <= fits["window"], fits


def test_role_names_plurals_and_durations(browser, srv, admin, tmp_path):
    d = browser
    status, t = admin.call("POST", "/api/v1/tenants", {"name": "review tenant"})
    assert status == 201, t
    status, key = admin.call("POST", "/api/v1/api-keys", {"account_id": t["owner"]["id"]})
    assert status == 201, key
    p = str(tmp_path / "one.raw")
    random_file(p, 1 * MiB)
    srv.cli_json("image", "import", "--file", p, "--name", "the only one", "--tenant", t["tenant"]["id"], *OS_ARGS)
    css(d, "#sign-out")[0].click()
    wait(d, lambda: css(d, "#api-key"), what="signed out")
    sign_in(d, srv, key["secret"])
    who = css(d, ".who")[0].text
    assert "(tenant owner)" in who and "role." not in who, who
    assert css(d, "table.images caption")[0].text == "1 image"
    d.get(srv.base + "/console/recycle-bin")
    wait(d, lambda: css(d, "#recycle-table table"), what="recycle bin")
    intro = css(d, "main p")[0].text
    assert "7 days" in intro, intro
    assert css(d, "#recycle-table caption")[0].text == "0 images"
    shot(d, "review-09-tenant-owner-recycle")
    css(d, "#sign-out")[0].click()
    wait(d, lambda: css(d, "#api-key"), what="signed out")
    sign_in(d, srv, admin.key)


def test_view_only_account_gets_a_note_not_the_import_form(browser, srv, admin):
    d = browser
    status, t = admin.call("POST", "/api/v1/tenants", {"name": "viewers"})
    status, acc = admin.call("POST", "/api/v1/accounts", {"name": "looker", "permission": "view", "tenant": t["tenant"]["id"]})
    assert status == 201, acc
    status, key = admin.call("POST", "/api/v1/api-keys", {"account_id": acc["id"]})
    css(d, "#sign-out")[0].click()
    wait(d, lambda: css(d, "#api-key"), what="signed out")
    sign_in(d, srv, key["secret"])
    d.get(srv.base + "/console/import")
    wait(d, lambda: css(d, "#import-view-only"), what="view-only note")
    assert not css(d, "#import-form") and "view only" in css(d, "#import-view-only")[0].text
    shot(d, "review-10-view-only-import")
    css(d, "#sign-out")[0].click()
    wait(d, lambda: css(d, "#api-key"), what="signed out")
    sign_in(d, srv, admin.key)


def test_edit_project_group_and_tags_and_in_the_recycle_bin(browser, srv, admin, tmp_path):
    d = browser
    p = str(tmp_path / "edit.raw")
    random_file(p, 1 * MiB)
    img = srv.import_image(p, "to be edited")
    d.get(srv.base + "/console/")
    wait(d, lambda: row(d, img["id"]), what="row")
    row(d, img["id"]).find_element(By.CSS_SELECTOR, ".op-edit").click()
    form = wait(d, lambda: css(d, "form.inline-edit"), what="edit form")[0]
    form.find_element(By.CSS_SELECTOR, ".edit-group").send_keys("platform team")
    form.find_element(By.CSS_SELECTOR, ".edit-tags").send_keys("gold, web")
    shot(d, "review-11-edit-group-tags")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda: "platform team" in row(d, img["id"]).text, what="group shown")
    got = admin.call("GET", f"/api/v1/images/{img['id']}")[1]
    assert got["project_group"] == "platform team" and got["tags"] == ["gold", "web"], got
    # In the recycle bin: Edit renames a deleted image (names and remarks can change in any state).
    assert admin.call("DELETE", f"/api/v1/images/{img['id']}")[0] == 200
    d.get(srv.base + "/console/recycle-bin")
    wait(d, lambda: row(d, img["id"]), what="recycle row")
    row(d, img["id"]).find_element(By.CSS_SELECTOR, ".op-edit").click()
    form = wait(d, lambda: css(d, "form.inline-edit"), what="edit form in the bin")[0]
    name = form.find_element(By.CSS_SELECTOR, ".edit-name")
    name.clear()
    name.send_keys("renamed in the bin")
    form.find_element(By.CSS_SELECTOR, ".edit-remarks").send_keys("kept for the audit")
    shot(d, "review-12-recycle-edit")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda: "renamed in the bin" in row(d, img["id"]).text, what="renamed in the bin")
    got = admin.call("GET", f"/api/v1/images/{img['id']}")[1]
    assert got["name"] == "renamed in the bin" and got["remarks"] == "kept for the audit" and got["status"] == "deleted"
    assert got["tags"] == ["gold", "web"]  # only the changed fields were sent
