"""The portal in a real Chromium (Debian's chromium + chromium-driver, driven by selenium):
invitation -> registration -> sign-in -> e-mailed code -> dashboard -> administration (invite a
colleague, audit log) -> password change -> sign-out -> sign-in again straight to the page asked for,
with screenshots.
The server is the real assay-server binary on the embedded defaults, in a temporary data directory."""
import hashlib
import json
import os
import pathlib
import re
import socket
import subprocess
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = str(pathlib.Path(os.environ.get("ASSAY_SERVER_BINARY", ROOT / ".build" / "debug" / "assay-server")).resolve())
BOT = str(pathlib.Path(SERVER).parent / "assay-bot")
SHOTS = pathlib.Path(os.environ.get("ASSAY_SCREENSHOTS", str(ROOT / ".build" / "screenshots")))
EMAIL = "jane.doe@acme.example"
PASSWORD = "Tr0ub4dor & 3 horses"
NEW_PASSWORD = "Correct horse battery 5taple!"
COLLEAGUE = "sam.colleague@acme.example"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mails(outbox):
    return [p.read_text() for p in sorted(outbox.glob("*.eml"))]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = dict(os.environ, ASSAY_DATA_DIR=str(tmp_path / "data"), ASSAY_PORT=str(port))
    setup = subprocess.run([SERVER, "quickstart", "--no-scan", "--admin-email", EMAIL], env=env, check=True, capture_output=True, cwd=tmp_path, text=True)
    tenant = re.search(r"tenant-id: (\S+)", setup.stdout).group(1)
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([SERVER, "serve", "--log", "trace"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    upload_token = upload_this_machine(env, tmp_path, base, tenant)
    yield base, tmp_path / "data" / "outbox", log_path, upload_token
    process.terminate()
    process.wait(timeout=10)


def upload_this_machine(env, tmp_path, base, tenant):
    """The bot's inventory of this machine, encrypted to the tenant key, through the upload API."""
    key = tmp_path / "tenant.asc"
    key.write_bytes(subprocess.run([SERVER, "key", "public", "--tenant", tenant], env=env, check=True, capture_output=True, cwd=tmp_path).stdout)
    body_path = tmp_path / "inventory.pgp"
    subprocess.run([BOT, "inventory", "--recipient", str(key), "--out", str(body_path)], check=True, capture_output=True)
    token = subprocess.run([SERVER, "upload-token", "--tenant", tenant], env=env, check=True, capture_output=True, cwd=tmp_path, text=True).stdout.strip()
    body = body_path.read_bytes()
    request = urllib.request.Request(base + "/api/v1/uploads", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "X-Content-SHA256": hashlib.sha256(body).hexdigest(), "Content-Type": "application/octet-stream"})
    upload = json.load(urllib.request.urlopen(request, timeout=10))
    for _ in range(100):
        state = json.load(urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/v1/uploads/{upload['id']}", headers={"Authorization": f"Bearer {token}"}), timeout=10))
        if state["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    assert state["state"] == "done", state
    return token


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def shot(driver, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_invitation_to_dashboard_and_sign_out(server, browser):
    base, outbox, log_path, upload_token = server
    wait = WebDriverWait(browser, 20)

    # invitation: the link from the mail, token in the fragment
    invitation = mails(outbox)[0]
    link = re.search(r"(http://\S+/register#\S+)", invitation).group(1).strip()
    token = link.split("#", 1)[1]
    browser.get(link)
    wait.until(EC.presence_of_element_located((By.ID, "name")))
    assert "#" not in browser.current_url, "the token must leave the address bar"
    shot(browser, "1-register")
    browser.find_element(By.ID, "name").send_keys("Jane Doe")
    browser.find_element(By.ID, "phone").send_keys("+44 20 7946 0958")
    browser.find_element(By.ID, "password").send_keys("weak")
    browser.find_element(By.ID, "register-button").click()
    wait.until(lambda d: d.find_element(By.ID, "error").text != "")
    assert "password" in browser.find_element(By.ID, "error").text
    browser.find_element(By.ID, "password").clear()
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "register-button").click()

    # sign-in from a new browser: a code is mailed
    wait.until(EC.url_to_be(base + "/signin"))
    shot(browser, "2-signin")
    browser.find_element(By.ID, "email").send_keys(EMAIL)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "signin-button").click()
    wait.until(EC.url_to_be(base + "/code"))
    shot(browser, "3-code")
    # The code mail leaves off the request path: wait for it.
    wait.until(lambda d: re.search(r"Your code: (\d{7})", "\n".join(mails(outbox))))
    code = re.search(r"Your code: (\d{7})", "\n".join(mails(outbox))).group(1)
    browser.find_element(By.ID, "code").send_keys(code)
    browser.find_element(By.ID, "code-button").click()

    # dashboard
    wait.until(EC.url_to_be(base + "/dashboard"))
    wait.until(lambda d: d.find_element(By.ID, "who").text == EMAIL)
    # this machine, scanned by the bot and ingested, is on the dashboard
    assert socket.gethostname() in browser.find_element(By.ID, "devices").text
    shot(browser, "4-dashboard")
    cookie = browser.get_cookie("__Host-assay-session")
    assert cookie and cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Lax"
    assert browser.execute_script("return document.cookie") == "", "the session cookie is invisible to scripts"

    # administration: invite a colleague with the write claim (the form carries the CSRF token)
    browser.find_element(By.LINK_TEXT, "Users").click()
    wait.until(EC.url_to_be(base + "/admin/users"))
    assert browser.find_element(By.CSS_SELECTOR, "#invite-form input[name=_csrf]").get_attribute("value").startswith("csrf_")
    browser.find_element(By.ID, "invite-email").send_keys(COLLEAGUE)
    browser.find_element(By.CSS_SELECTOR, "#invite-form input[value=write]").click()
    browser.find_element(By.ID, "invite-button").click()
    wait.until(lambda d: any(f"To: {COLLEAGUE}" in m for m in mails(outbox)))
    shot(browser, "5-users")
    browser.find_element(By.LINK_TEXT, "Audit log").click()
    wait.until(EC.url_to_be(base + "/admin/audit"))
    audit = browser.find_element(By.ID, "audit").text
    assert "invitation.sent" in audit and "signin.code.used" in audit
    shot(browser, "6-audit")

    # own account: change the password (the current one is needed), confirmed by mail
    browser.find_element(By.LINK_TEXT, "Account").click()
    wait.until(EC.url_to_be(base + "/account"))
    browser.find_element(By.ID, "currentPassword").send_keys(PASSWORD)
    browser.find_element(By.ID, "newPassword").send_keys(NEW_PASSWORD)
    browser.find_element(By.ID, "password-button").click()
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#password-form .result").text == "Done.")
    assert any("Subject: Your Assay password was changed" in m for m in mails(outbox))
    shot(browser, "7-account")

    # sign-out ends the session: the dashboard sends us back to sign-in
    browser.find_element(By.ID, "signout-button").click()
    wait.until(EC.url_to_be(base + "/signin"))
    browser.get(base + "/dashboard")
    wait.until(EC.url_to_be(base + "/signin"))
    shot(browser, "8-signed-out")

    # a page asked for while signed out is where the next sign-in lands (a known system: no code)
    browser.get(base + "/admin/audit")
    wait.until(EC.url_to_be(base + "/signin?next=/admin/audit"))
    browser.find_element(By.ID, "email").send_keys(EMAIL)
    browser.find_element(By.ID, "password").send_keys(NEW_PASSWORD)
    browser.find_element(By.ID, "signin-button").click()
    wait.until(EC.url_to_be(base + "/admin/audit"))
    assert "password.changed" in browser.find_element(By.ID, "audit").text
    shot(browser, "9-back-to-audit")

    # nothing secret reached the server's log, even at trace level
    log = log_path.read_text()
    for secret in [PASSWORD, NEW_PASSWORD, token, code, cookie["value"], upload_token]:
        assert secret not in log
    assert "csrf_" not in log
