"""The web console end to end: a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium) against the real server. Sign in; import a local file through the page's tus client with a dropped
connection and a page reload in the middle; watch it become available; mint a download address and fetch it
with curl; rename; batch delete two images; restore one and destroy the other; export and open the workbook;
a view-only sub-account sees no delete button and is refused by the server when it tries anyway.

Screenshots of every page go to Tests/integration/artifacts/console/ (git-ignored; the path is printed)."""
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from conftest import OS_ARGS, Server, sha256_file

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
if not CHROMIUM or not os.path.exists(DRIVER):
    pytest.skip("Debian's chromium and chromium-driver are required (scripts/install-deps.sh --test)",
                allow_module_level=True)

ARTIFACTS = os.path.join(os.path.dirname(__file__), "artifacts", "console")
MiB = 1 << 20
VM_TEMPLATE = "https://cloud.example.com/vm/new?image={image_id}"


class API:
    def __init__(self, server, key):
        self.server, self.key = server, key

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.server.base + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": "Bearer " + self.key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def images(self, **q):
        qs = "&".join(f"{k}={v}" for k, v in q.items())
        return self.call("GET", "/api/v1/images?limit=500&" + qs)[1]["items"]

    def by_name(self, name):
        return [i for i in self.images() if i["name"] == name]


@pytest.fixture(scope="module")
def srv(workdir):
    s = Server(os.path.join(workdir, "data-console"), f"console.vm_create_url = {VM_TEMPLATE}\n").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def admin(srv):
    return API(srv, srv.admin_key)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return str(tmp_path_factory.mktemp("console-downloads"))


@pytest.fixture(scope="module")
def browser(downloads):
    os.makedirs(ARTIFACTS, exist_ok=True)
    print(f"\nconsole screenshots: {os.path.abspath(ARTIFACTS)}")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900",
              "--disable-gpu", "--lang=en-US"):
        opts.add_argument(a)
    opts.add_experimental_option("prefs", {"download.default_directory": downloads,
                                           "download.prompt_for_download": False})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    d.set_window_size(1280, 900)
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    yield d
    d.quit()


def shot(d, name):
    path = os.path.join(ARTIFACTS, name + ".png")
    d.save_screenshot(path)
    return path


def attempt(cond):
    """The condition's value, or False while the page is re-rendering (stale or missing elements)."""
    try:
        return cond()
    except (WebDriverException, AttributeError, IndexError, TypeError, ValueError):
        return False


def wait(d, cond, timeout=30, what=""):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.1).until(lambda _: attempt(cond))
    except Exception:
        shot(d, "failure-" + (what or "wait").replace(" ", "-"))
        logs = d.get_log("browser") if hasattr(d, "get_log") else []
        raise AssertionError(f"timed out waiting for {what}; browser log: {logs}")


def css(d, sel):
    return d.find_elements(By.CSS_SELECTOR, sel)


def row(d, image_id):
    rows = css(d, f'tr[data-id="{image_id}"]')
    return rows[0] if rows else None


def sign_in(d, srv, key):
    d.get(srv.base + "/console/")
    wait(d, lambda: css(d, "#api-key"), what="sign-in form")
    css(d, "#api-key")[0].send_keys(key)
    css(d, "#sign-in button[type=submit]")[0].click()
    wait(d, lambda: css(d, "#image-table table"), what="image table")


def random_file(path, size):
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    return sha256_file(path)


def test_sign_in_and_list(browser, srv, admin):
    d = browser
    d.get(srv.base + "/console/")
    wait(d, lambda: css(d, "#api-key"), what="sign-in form")
    shot(d, "01-sign-in")
    css(d, "#api-key")[0].send_keys("igk_000000000000_wrong")
    css(d, "#sign-in button[type=submit]")[0].click()
    wait(d, lambda: "not accepted" in d.page_source, what="refusal")
    sign_in(d, srv, admin.key)
    assert "platform administrator" in css(d, ".who")[0].text
    # The cookie is HttpOnly: the page's script cannot read it.
    assert "ig_session" not in d.execute_script("return document.cookie")
    headers = [e.text for e in css(d, "table.images thead th")]
    for col in ("Name / resource ID", "Tenant", "Status", "Encrypted", "Feature support", "System type",
                "Operating system", "Project group", "Tags", "Operations"):
        assert col in headers, headers
    shot(d, "02-images-empty")


# Not marked slow: the tests after it work on the image it imports, so the quick tier must run it too (it takes
# a few seconds; a `-m "not slow"` run without it failed five later tests on an empty list).
def test_import_with_dropped_connection_and_reload(browser, srv, admin, tmp_path):
    d = browser
    path = str(tmp_path / "console-disk.raw")
    digest = random_file(path, 6 * MiB)
    # Small chunks and a slow emulated network make the upload last long enough to interrupt it.
    d.execute_script("localStorage.setItem('imagegate.upload.chunkBytes', String(256 * 1024))")
    d.get(srv.base + "/console/import")
    wait(d, lambda: css(d, "#import-form"), what="import wizard")
    # In-page validation first: an empty form is refused with messages, nothing is created.
    css(d, "#import-submit")[0].click()
    wait(d, lambda: not css(d, "#import-errors")[0].get_attribute("hidden"), what="validation summary")
    assert css(d, "#imp-name")[0].get_attribute("aria-invalid") == "true"
    shot(d, "03-import-validation")
    css(d, "#imp-name")[0].send_keys("console upload")
    css(d, "#imp-description")[0].send_keys("uploaded by the console test")
    css(d, "#imp-file")[0].send_keys(path)
    d.find_element(By.CSS_SELECTOR, "#imp-format option[value=raw]").click()
    d.find_element(By.CSS_SELECTOR, "#imp-system-type option[value=Linux]").click()
    d.find_element(By.CSS_SELECTOR, "#imp-architecture option[value=aarch64]").click()
    d.find_element(By.CSS_SELECTOR, "#imp-boot-mode option[value=UEFI]").click()
    d.find_element(By.CSS_SELECTOR, "#imp-platform option[value=Ubuntu]").click()
    versions = [o.get_attribute("value") for o in css(d, "#imp-version option") if o.get_attribute("value")]
    assert versions == ["16.04", "18.04"], versions  # only the matrix's aarch64 Ubuntu versions
    d.find_element(By.CSS_SELECTOR, "#imp-version option[value='18.04']").click()
    css(d, "#imp-features input[value=cloud-init]")[0].click()
    css(d, "#imp-tags")[0].send_keys("console, e2e")
    shot(d, "04-import-wizard")
    d.set_network_conditions(offline=False, latency=150, download_throughput=50 * MiB, upload_throughput=2 * MiB)
    css(d, "#import-submit")[0].click()
    wait(d, lambda: css(d, "#uploads li.upload[data-offset]"), what="upload started")
    img = admin.by_name("console upload")[0]
    assert img["status"] == "uploading" and img["tags"] == ["console", "e2e"] and img["features"] == ["cloud-init"]
    wait(d, lambda: int(css(d, "#uploads li.upload")[0].get_attribute("data-offset") or 0) > 0, what="first bytes")
    wait(d, lambda: row(d, img["id"]) and row(d, img["id"]).find_elements(By.CSS_SELECTOR, "progress"), what="list progress bar")
    shot(d, "05-uploading")
    # 1: the connection drops; the page says it is retrying, and continues by itself when it is back.
    d.set_network_conditions(offline=True, latency=0, download_throughput=-1, upload_throughput=-1)
    wait(d, lambda: css(d, '#uploads li.upload[data-state="retrying"]'), what="retrying")
    shot(d, "06-upload-retrying")
    before = int(css(d, "#uploads li.upload")[0].get_attribute("data-offset"))
    d.set_network_conditions(offline=False, latency=150, download_throughput=50 * MiB, upload_throughput=2 * MiB)
    wait(d, lambda: int(css(d, "#uploads li.upload")[0].get_attribute("data-offset") or 0) > before, 60, "resumed after drop")
    # 2: a reload in the middle: the page remembers the upload and continues once the same file is selected.
    done_before_reload = int(css(d, "#uploads li.upload")[0].get_attribute("data-offset"))
    assert done_before_reload < 6 * MiB, "the upload finished before it could be interrupted"
    d.refresh()
    wait(d, lambda: css(d, f'#uploads input[type=file][data-image="{img["id"]}"]'), what="pending upload")
    # The server kept what arrived, and the list offers to resume or cancel.
    kept = admin.call("GET", f"/api/v1/images/{img['id']}")[1]["progress"]["bytes"]
    assert kept > 0
    wait(d, lambda: row(d, img["id"]) and row(d, img["id"]).find_elements(By.CSS_SELECTOR, ".op-resume"), what="resume button")
    shot(d, "07-upload-pending-after-reload")
    d.set_network_conditions(offline=False, latency=0, download_throughput=-1, upload_throughput=-1)
    d.execute_script("localStorage.removeItem('imagegate.upload.chunkBytes')")
    css(d, f'#uploads input[type=file][data-image="{img["id"]}"]')[0].send_keys(path)
    wait(d, lambda: admin.call("GET", f"/api/v1/images/{img['id']}")[1]["status"] == "available", 90, "available")
    wait(d, lambda: row(d, img["id"]) and row(d, img["id"]).get_attribute("data-status") == "available", 30, "row available")
    done = admin.call("GET", f"/api/v1/images/{img['id']}")[1]
    assert done["sha256"] == digest and done["size"] == 6 * MiB
    assert done["os_release"] == "Ubuntu 18.04 aarch64"
    shot(d, "08-available")


def current(admin, name):
    return admin.by_name(name)[0]


def test_download_address_fetched_with_curl(browser, srv, admin, tmp_path):
    d = browser
    img = current(admin, "console upload")
    row(d, img["id"]).find_element(By.CSS_SELECTOR, ".op-download").click()
    wait(d, lambda: css(d, "#generate-link"), what="download wizard")
    assert "24 hours" in d.page_source
    css(d, "#generate-link")[0].click()
    wait(d, lambda: css(d, "input.url-https"), what="addresses")
    https = css(d, "input.url-https")[0].get_attribute("value")
    assert css(d, "input.url-sftp") and css(d, "#countdown")[0].text.startswith("Time left")
    t0 = css(d, "#countdown")[0].text
    assert t0.startswith("Time left: 23:59:")
    wait(d, lambda: css(d, "#countdown")[0].text != t0, 5, "countdown ticking")  # a live countdown
    commands = [e.get_attribute("value") for e in css(d, "input.cmd")]
    assert any("wget -c" in c for c in commands) and any("curl -fC -" in c for c in commands)
    assert any("lftp -c" in c for c in commands) and any(c.startswith("sftp ") for c in commands)
    # The self-signed certificate: linked from the page, and fetched and checked by every TLS command.
    assert css(d, "#ca-certificate a")[0].get_attribute("href") == srv.base + "/ca.crt"
    pinned = [c for c in commands if "imagegate-ca.crt" in c]
    assert pinned and all("sha256sum -c" in c for c in pinned)
    assert not any(srv.data_dir in c for c in commands)
    curl = next(c for c in commands if "curl -fC -" in c and "https://" in c)
    r = subprocess.run(curl, shell=True, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert sha256_file(str(tmp_path / img["file_name"])) == img["sha256"]
    shot(d, "09-download-wizard")
    out = str(tmp_path / "fetched")
    r = subprocess.run(["curl", "-sSf", "--cacert", srv.ca_file, "-o", out, https], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sha256_file(out) == img["sha256"]


def test_create_vm_hands_off(browser, srv, admin):
    d = browser
    img = current(admin, "console upload")
    d.get(srv.base + f"/console/images/{img['id']}/create-vm")
    wait(d, lambda: css(d, "#vm-go"), what="create VM page")
    assert css(d, "#vm-go")[0].get_attribute("href") == VM_TEMPLATE.replace("{image_id}", img["id"])
    assert "overrides the password" in d.page_source
    shot(d, "10-create-vm")


def test_rename_inline(browser, srv, admin):
    d = browser
    img = current(admin, "console upload")
    d.get(srv.base + "/console/")
    wait(d, lambda: row(d, img["id"]), what="row")
    row(d, img["id"]).find_element(By.CSS_SELECTOR, ".op-edit").click()
    form = wait(d, lambda: css(d, "form.inline-edit"), what="edit form")[0]
    name = form.find_element(By.CSS_SELECTOR, "input")
    name.clear()
    name.send_keys("renamed in console")
    form.find_element(By.CSS_SELECTOR, "textarea").send_keys(" — edited")
    shot(d, "11-inline-edit")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(d, lambda: "renamed in console" in row(d, img["id"]).text, what="renamed")
    assert admin.call("GET", f"/api/v1/images/{img['id']}")[1]["name"] == "renamed in console"


def test_batch_delete_restore_destroy(browser, srv, admin, tmp_path):
    d = browser
    ids = []
    for n in ("batch one", "batch two"):
        p = str(tmp_path / n.replace(" ", "-"))
        random_file(p, 1 * MiB)
        ids.append(srv.import_image(p, n)["id"])
    d.get(srv.base + "/console/?sort=name&order=asc")
    wait(d, lambda: all(row(d, i) for i in ids), what="batch rows")
    for i in ids:
        row(d, i).find_element(By.CSS_SELECTOR, "input.row-select").click()
    assert "(2)" in css(d, "#batch-delete")[0].text
    css(d, "#batch-delete")[0].click()
    wait(d, lambda: css(d, "dialog[open] button.danger"), what="confirm dialog")
    shot(d, "12-batch-delete-confirm")
    css(d, "dialog[open] button.danger")[0].click()
    wait(d, lambda: css(d, "#batch-results li"), what="batch results")
    results = css(d, "#batch-results li")
    assert len(results) == 2 and all(r.get_attribute("data-ok") == "true" for r in results)
    shot(d, "13-batch-delete-results")
    css(d, "dialog[open] button")[0].click()
    wait(d, lambda: not any(row(d, i) for i in ids), what="rows gone")
    # A refused delete is explained: here a VM still uses the image.
    keep = current(admin, "renamed in console")
    assert admin.call("POST", f"/api/v1/images/{keep['id']}/vms", {"vm_id": "vm-console"})[0] == 201
    row(d, keep["id"]).find_element(By.CSS_SELECTOR, ".op-delete").click()
    css(d, "dialog[open] button.danger")[0].click()
    wait(d, lambda: css(d, "dialog[open] .refusal"), what="refusal")
    assert "vm-console" in css(d, "dialog[open] .refusal")[0].text
    shot(d, "14-delete-refused")
    css(d, "dialog[open] button")[0].click()
    admin.call("DELETE", f"/api/v1/images/{keep['id']}/vms/vm-console")
    # Recycle bin: restore one, destroy the other.
    d.get(srv.base + "/console/recycle-bin")
    wait(d, lambda: all(row(d, i) for i in ids), what="recycle rows")
    assert "Destroyed automatically" in d.page_source and "7 d" in d.page_source
    shot(d, "15-recycle-bin")
    row(d, ids[0]).find_element(By.CSS_SELECTOR, ".op-restore").click()
    wait(d, lambda: not row(d, ids[0]), what="restored")
    row(d, ids[1]).find_element(By.CSS_SELECTOR, ".op-destroy").click()
    css(d, "dialog[open] button.danger")[0].click()
    wait(d, lambda: not row(d, ids[1]), what="destroyed")
    assert admin.call("GET", f"/api/v1/images/{ids[0]}")[1]["status"] == "available"
    assert admin.call("GET", f"/api/v1/images/{ids[1]}")[0] == 404


def test_cancel_upload_from_the_list(browser, srv, admin):
    d = browser
    status, img = admin.call("POST", "/api/v1/imports", {
        "name": "to be cancelled", "kind": "self_made", "format": "raw", "system_type": "Linux",
        "platform": "CentOS", "os_version": "7.9", "architecture": "x86_64", "boot_mode": "BIOS",
        "source": {"upload": {"size": 10 * MiB}}})
    assert status == 201, img
    d.get(srv.base + "/console/?status=uploading")
    wait(d, lambda: row(d, img["id"]), what="uploading row")
    assert "status=uploading" in d.current_url and css(d, "select[name=status]")[0].get_attribute("value") == "uploading"
    row(d, img["id"]).find_element(By.CSS_SELECTOR, ".op-cancel").click()
    wait(d, lambda: css(d, "dialog[open] button.danger"), what="cancel dialog")[0].click()
    wait(d, lambda: admin.call("GET", f"/api/v1/images/{img['id']}")[1]["status"] == "failed", what="cancelled")
    d.get(srv.base + "/console/?status=failed")
    badge = wait(d, lambda: row(d, img["id"]).find_element(By.CSS_SELECTOR, ".badge.failed"), what="failed row")
    reason = admin.call("GET", f"/api/v1/images/{img['id']}")[1]["failure_reason"]
    assert reason and badge.get_attribute("title") == reason  # the reason on hover (and on focus)
    shot(d, "20-cancelled-failed")


def test_export_workbook(browser, srv, admin, downloads):
    openpyxl = pytest.importorskip("openpyxl")
    d = browser
    d.get(srv.base + "/console/")
    wait(d, lambda: css(d, "#image-table table"), what="table")
    css(d, "#export")[0].click()
    target = os.path.join(downloads, "images.xlsx")
    wait(d, lambda: os.path.exists(target) and os.path.getsize(target) > 0, what="workbook download")
    time.sleep(0.3)
    wb = openpyxl.load_workbook(target)
    cells = [str(c.value) for ws in wb.worksheets for r in ws.iter_rows() for c in r if c.value is not None]
    assert "renamed in console" in cells and "batch one" in cells


def test_narrow_screen(browser, srv):
    d = browser
    d.set_window_size(390, 844)
    try:
        d.get(srv.base + "/console/")
        wait(d, lambda: css(d, "#image-table table"), what="table")
        # Rows become cards: no horizontal scrolling of the page.
        assert d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(d, "16-narrow-images")
        d.get(srv.base + "/console/guide")
        wait(d, lambda: "qemu-img convert" in d.page_source, what="guide")
        shot(d, "17-narrow-guide")
    finally:
        d.set_window_size(1280, 900)
    d.get(srv.base + "/console/guide")
    wait(d, lambda: css(d, "article.guide h2"), what="guide")
    assert "cloud-init" in d.page_source and "qemu-ga" in d.page_source
    shot(d, "18-guide")


def test_view_only_sub_account(browser, srv, admin, tmp_path):
    d = browser
    status, t = admin.call("POST", "/api/v1/tenants", {"name": "acme"})
    assert status == 201
    tenant = t["tenant"]["id"]
    status, acc = admin.call("POST", "/api/v1/accounts", {"name": "viewer", "permission": "view", "tenant": tenant})
    assert status == 201, acc
    status, key = admin.call("POST", "/api/v1/api-keys", {"account_id": acc["id"]})
    assert status == 201, key
    p = str(tmp_path / "acme-disk")
    random_file(p, 1 * MiB)
    img = srv.cli_json("image", "import", "--file", p, "--name", "acme image", "--tenant", tenant, *OS_ARGS)
    css(d, "#sign-out")[0].click()
    wait(d, lambda: css(d, "#api-key"), what="signed out")
    sign_in(d, srv, key["secret"])
    wait(d, lambda: row(d, img["id"]), what="acme row")
    assert "view only" in css(d, ".who")[0].text
    assert not css(d, ".op-delete") and not css(d, "#batch-delete") and not css(d, "#import-image")
    assert not css(d, ".op-edit") and not css(d, "input.row-select") and css(d, ".op-download")
    assert not [h.text for h in css(d, "table.images thead th") if h.text == "Tenant"]
    assert len(css(d, "tbody tr[data-id]")) == 1  # only its tenant's image
    shot(d, "19-view-only")
    # The server refuses the delete anyway, even with a valid session and CSRF token.
    answer = d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        (async () => {
          const s = await (await fetch('/api/v1/session')).json();
          const r = await fetch('/api/v1/images/' + arguments[0], {method: 'DELETE',
            headers: {'X-CSRF-Token': s.csrf_token}});
          done({status: r.status, body: await r.json()});
        })();""", img["id"])
    assert answer["status"] == 403 and answer["body"]["error"]["code"] == "permission_denied", answer
    assert admin.call("GET", f"/api/v1/images/{img['id']}")[1]["status"] == "available"
