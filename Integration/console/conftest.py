"""Fixtures for the console's end-to-end tests: the real assay-server on the embedded defaults with
mail through a real SMTP server (aiosmtpd, STARTTLS), an administrator registered through the real
invitation mail, the portal's console bundle, and SSH test hosts in network namespaces."""
import email
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
import testhosts  # noqa: E402
from support import free_port, make_ca_and_certificate  # noqa: E402,F401

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("ASSAY_BIN_DIR", ROOT / ".build" / "debug")).resolve()
SERVER, CONSOLE, BOT = str(BIN / "assay-server"), str(BIN / "assay"), str(BIN / "assay-bot")
EMAIL = "jane.doe@acme.example"
PASSWORD = "Tr0ub4dor & 3 horses"
SMTP_PASSWORD = "Smtp-Test-Passw0rd"


class Mailbox:
    """The SMTP server's maildir; each message is read once."""

    def __init__(self, directory):
        self.directory = directory
        self.seen = set()

    def next(self, pattern, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for path in sorted(self.directory.glob("*.eml"), key=lambda p: int(p.stem)):
                if path in self.seen:
                    continue
                message = email.message_from_bytes(path.read_bytes())
                parts = [message] if not message.is_multipart() else list(message.walk())
                text = "\n".join((part.get_payload(decode=True) or b"").decode("utf-8", "replace") for part in parts if not part.is_multipart())
                found = re.search(pattern, text)
                if found:
                    self.seen.add(path)
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no mail matching {pattern} within {timeout} s")


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    directory = tmp_path_factory.mktemp("smtp")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
                   check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "Integration" / "smtp" / "smtp_server.py"), "--port", str(port), "--maildir", str(directory / "mail"),
         "--cert", str(directory / "cert.pem"), "--key", str(directory / "key.pem")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ, SMTP_TEST_PASSWORD=SMTP_PASSWORD), text=True)
    assert process.stdout.readline().startswith("ready")
    yield {"url": f"smtp://assay:{SMTP_PASSWORD}@127.0.0.1:{port}", "ca": str(directory / "cert.pem"), "mailbox": Mailbox(directory / "mail")}
    process.terminate()
    process.wait(timeout=10)


class Service:
    def __init__(self, base, data, tenant, mailbox, log):
        self.base, self.data, self.tenant, self.mailbox, self.log = base, data, tenant, mailbox, log

    def call(self, method, path, body=None, cookie=None):
        request = urllib.request.Request(self.base + path, method=method, data=None if body is None else json.dumps(body).encode())
        for name, value in {"Origin": self.base, "Content-Type": "application/json", "User-Agent": "Mozilla/5.0 Chrome/131.0",
                            "X-Display-Resolution": "1920x1080"}.items():
            request.add_header(name, value)
        if cookie:
            request.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers

    def portal_session(self):
        status, _, headers = self.call("POST", "/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD, "resolution": "1920x1080"})
        cookies = headers.get_all("Set-Cookie") or []
        if status == 202:
            attempt = next(re.search(r"__Host-assay-attempt=([^;]+)", c).group(1) for c in cookies if "assay-attempt" in c)
            code = self.mailbox.next(r"Your code: (\d{7})")
            status, _, headers = self.call("POST", "/api/v1/auth/code", {"code": code}, cookie=f"__Host-assay-attempt={attempt}")
            cookies = headers.get_all("Set-Cookie") or []
        assert status == 200, status
        return next("__Host-assay-session=" + re.search(r"__Host-assay-session=([^;]+)", c).group(1) for c in cookies if "assay-session=" in c)

    def tenant_db(self):
        import sqlite3
        paths = list(pathlib.Path(self.data).glob(f"*/tenant_{self.tenant.replace('-', '')}.sqlite"))
        assert paths, f"no tenant database under {self.data}"
        return sqlite3.connect(paths[0])

    def catalog(self):
        import sqlite3
        return sqlite3.connect(pathlib.Path(self.data) / "catalog.sqlite")

    def wait_ingested(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.catalog() as db:
                states = dict(db.execute("SELECT state, COUNT(*) FROM uploads GROUP BY state").fetchall())
            if states.get("done", 0) >= count and not states.get("queued") and not states.get("processing"):
                return states
            time.sleep(0.3)
        raise AssertionError(f"uploads not ingested in time: {states}")


@pytest.fixture(scope="session")
def service(tmp_path_factory, smtp):
    directory = tmp_path_factory.mktemp("service")
    port = free_port()
    # The tenant-neutral console archive, packed from the binaries under test (a release build
    # would take minutes): the portal completes it with the tenant's bundle at download.
    subprocess.run(["bash", str(ROOT / "scripts" / "build-console.sh"), "--from", str(BIN), "--out", str(directory / "dist")], check=True,
                   capture_output=True)
    env = dict(os.environ, ASSAY_DATA_DIR=str(directory / "data"), ASSAY_PORT=str(port), SMTP_URL=smtp["url"], SMTP_CA_FILE=smtp["ca"],
               ASSAY_CONSOLE_DIST=str(directory / "dist"))
    setup = subprocess.run([SERVER, "quickstart", "--no-scan", "--admin-email", EMAIL], env=env, check=True, capture_output=True, cwd=directory, text=True)
    tenant = re.search(r"tenant-id: (\S+)", setup.stdout).group(1)
    log_path = directory / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([SERVER, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    service = Service(base, directory / "data", tenant, smtp["mailbox"], log_path)
    token = smtp["mailbox"].next(r"/register#(asi_[A-Za-z0-9_-]+)")
    status, _, _ = service.call("POST", "/api/v1/auth/register", {"token": token, "name": "Jane Doe", "phone": "+44 20 7946 0958", "password": PASSWORD})
    assert status == 201, status
    yield service
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def tls_service(service, tmp_path_factory, smtp):
    """A second replica of the same service, serving HTTPS with a certificate from a private CA."""
    directory = tmp_path_factory.mktemp("tls")
    ca, certificate, key = make_ca_and_certificate(directory)
    port = free_port()
    env = dict(os.environ, ASSAY_DATA_DIR=str(service.data), ASSAY_PORT=str(port), SMTP_URL=smtp["url"], SMTP_CA_FILE=smtp["ca"],
               TLS_CERT=str(certificate), TLS_KEY=str(key), ASSAY_INGEST_WORKERS="0")
    with open(directory / "server.log", "w") as log:
        process = subprocess.Popen([SERVER, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    yield f"https://localhost:{port}", ca
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def bundle(service, tmp_path_factory):
    """The console bundle as a writer downloads it from the portal."""
    cookie = service.portal_session()
    status, body, headers = service.call("GET", "/console-bundle.json", cookie=cookie)
    assert status == 200, status
    assert "attachment" in headers.get("Content-Disposition", "")
    path = tmp_path_factory.mktemp("bundle") / "assay-console-bundle.json"
    path.write_bytes(body)
    return path


class Console:
    """Runs the real `assay` with its own state directory."""

    def __init__(self, state):
        self.state = state

    def run(self, *args, input=None, check=True, timeout=300):
        result = subprocess.run([CONSOLE, *args, "--state-dir", str(self.state)], input=input, capture_output=True, text=True, timeout=timeout,
                                env=dict(os.environ, ASSAY_BOT=BOT))
        if check and result.returncode != 0:
            raise AssertionError(f"assay {' '.join(args)} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def json(self, *args, **kwargs):
        return json.loads(self.run(*args, "--json", **kwargs).stdout)

    def login(self, service):
        """`assay login`: password on standard input, then the code read from the real SMTP server."""
        process = subprocess.Popen([CONSOLE, "login", "--email", EMAIL, "--password-stdin", "--state-dir", str(self.state)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        process.stdin.write(PASSWORD + "\n")
        process.stdin.flush()
        line = process.stderr.readline()
        if "code was sent" in line:
            process.stdin.write(service.mailbox.next(r"Your code: (\d{7})") + "\n")
            process.stdin.flush()
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, f"login: {line}{err}"
        return out


@pytest.fixture
def console(tmp_path, bundle, service):
    console = Console(tmp_path / "state")
    console.run("init", str(bundle))
    return console


@pytest.fixture
def fresh_console(tmp_path):
    return Console(tmp_path / "state")
