"""How the console's uploader treats each kind of answer (CON-6), against a scripted HTTP service on
loopback: a fake beside the real thing (test_console.py uploads to the real assay-server). 503 and
429 are waited out as Retry-After says, a dropped connection is retried with back-off, a refusal
moves the file to rejected/ with the reason, and no file leaves the spool before a 2xx."""
import collections
import fcntl
import hashlib
import http.server
import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from conftest import BOT, CONSOLE


Scripted = collections.namedtuple("Scripted", "state files document port tmp")


class Script(http.server.BaseHTTPRequestHandler):
    answers = []
    received = []

    renewal = None

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Script.received.append((self.path, hashlib.sha256(body).hexdigest(), self.headers.get("X-Content-SHA256")))
        if self.path == "/api/v1/console/token" and Script.renewal == "trickle":
            # A body promised and sent a byte a second: under any idle timeout, never complete.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(1)
            except OSError:
                pass
            return
        if self.path == "/api/v1/console/token":
            payload = json.dumps(Script.renewal).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        status = Script.answers.pop(0) if Script.answers else 202
        if status == "drop":
            self.connection.close()
            return
        payload = json.dumps({"id": str(uuid.uuid4()), "state": "queued"} if status in (200, 202) else {"error": f"scripted {status}\x1b]0;owned\x07\x1b[2J"}).encode()
        self.send_response(status)
        if status in (429, 503):
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted(tmp_path, bundle):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Script)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Script.answers, Script.received, Script.renewal = [], [], None
    state = tmp_path / "state"
    document = dict(json.loads(bundle.read_text()), serviceURL=f"http://127.0.0.1:{server.server_address[1]}")
    (tmp_path / "bundle.json").write_text(json.dumps(document))
    subprocess.run([CONSOLE, "init", str(tmp_path / "bundle.json"), "--state-dir", str(state)], check=True, capture_output=True)
    (state / "token.txt").write_text(json.dumps({
        "email": "jane.doe@acme.example", "signedInAt": "2026-12-01T00:00:00Z", "grant": "asg_scripted", "grantExpiresAt": "2099-01-01T00:00:00Z",
        "uploadToken": "asu_scripted", "uploadTokenExpiresAt": "2099-01-01T00:00:00Z", "tenantID": document["tenantID"],
        "binding": {"serviceURL": document["serviceURL"], "keyFingerprint": document["fingerprint"]}}))
    os.chmod(state / "token.txt", 0o600)
    key = tmp_path / "tenant.asc"
    key.write_text(document["publicKey"])
    files = []
    for n in range(2):
        path = tmp_path / f"inventory-{n}.pgp"
        subprocess.run([BOT, "inventory", "--recipient", str(key), "--out", str(path)], check=True)
        files.append(path)
    yield Scripted(state, files, document, server.server_address[1], tmp_path)
    server.shutdown()


def upload(state, *args):
    return subprocess.run([CONSOLE, "upload", *map(str, args), "--state-dir", str(state), "--json"], capture_output=True, text=True, timeout=120)


def test_busy_and_throttled_answers_are_waited_out(scripted):
    state, files = scripted.state, scripted.files
    Script.answers = [503, 429, "drop", 202, 200]
    result = upload(state, *files)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["uploaded"]) == 2 and report["remaining"] == 0
    assert "trying again in 1 s" in result.stderr
    # five requests for two files; each carried the body's own SHA-256; the bearer is the upload token
    assert len(Script.received) == 5 and all(path == "/api/v1/uploads" and digest == declared for path, digest, declared in Script.received)
    assert list((state / "spool").glob("*.pgp")) == []


def test_a_refused_file_is_kept_aside_with_the_reason_and_nothing_is_lost(scripted):
    state, files = scripted.state, scripted.files
    Script.answers = [413, 202]
    result = upload(state, *files)
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert len(report["rejected"]) == 1 and len(report["uploaded"]) == 1
    kept = list((state / "rejected").glob("*.pgp"))
    assert len(kept) == 1
    reason = (state / "rejected" / kept[0].name.replace(".pgp", ".reason.txt")).read_text()
    assert "HTTP 413" in reason
    # The service's words are shown and kept without their escape sequences (issue 17, 8).
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr and "\x1b" not in reason


def test_a_service_that_stays_busy_leaves_the_files_in_the_spool(scripted):
    state, files = scripted.state, scripted.files
    Script.answers = [503] * 20
    result = upload(state, files[0], "--patience", "3")
    assert result.returncode == 3
    assert json.loads(result.stdout)["remaining"] == 1
    assert len(list((state / "spool").glob("*.pgp"))) == 1
    Script.answers = []
    assert upload(state).returncode == 0
    assert list((state / "spool").glob("*.pgp")) == []


def test_temporary_refusals_are_retried_not_rejected(scripted):
    # 408 request timeout, 409 conflict, 423 the tenant key locked by an operator, 425 too early:
    # "not now", never "never" (issue 17, 12).
    state, files = scripted.state, scripted.files
    Script.answers = [408, 409, 423, 425, 202]
    result = upload(state, files[0])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["uploaded"]) == 1 and report["rejected"] == []
    assert not list((state / "rejected").glob("*"))
    assert len(Script.received) == 5


def test_a_bundle_for_another_service_or_key_does_not_reroute_the_sign_in(scripted):
    # issue 17, 2: the same tenant GUID at another URL, or with another key, is not taken silently,
    # and with --replace the saved sign-in is still not sent there.
    state, files = scripted.state, scripted.files
    elsewhere = dict(scripted.document, serviceURL="http://127.0.0.2:9")
    (scripted.tmp / "elsewhere.json").write_text(json.dumps(elsewhere))
    init = subprocess.run([CONSOLE, "init", str(scripted.tmp / "elsewhere.json"), "--state-dir", str(state)], capture_output=True, text=True)
    assert init.returncode == 64, init.stderr
    assert f"http://127.0.0.1:{scripted.port} → http://127.0.0.2:9" in init.stderr
    assert json.loads((state / "bundle.json").read_text())["serviceURL"] == scripted.document["serviceURL"]
    # With --replace the bundle changes, but the grant made with the first service stays with it.
    init = subprocess.run([CONSOLE, "init", "--replace", str(scripted.tmp / "elsewhere.json"), "--state-dir", str(state)], capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    result = upload(state, files[0])
    assert result.returncode == 77, result.stderr
    assert "The grant is not sent elsewhere" in result.stderr
    assert Script.received == []


def test_credentials_for_another_key_are_refused(scripted):
    # issue 17, 2: the service (or whoever answers at its address) renews with a key fingerprint
    # that is not the bundle's: the console keeps nothing of the answer and uploads nothing.
    state, files = scripted.state, scripted.files
    token = json.loads((state / "token.txt").read_text())
    token["uploadTokenExpiresAt"] = "2020-01-01T00:00:00Z"
    (state / "token.txt").write_text(json.dumps(token))
    Script.renewal = {"status": "renewed", "grant": "asg_next", "grantExpiresAt": "2099-01-01T00:00:00Z", "uploadToken": "asu_next",
                      "uploadTokenExpiresAt": "2099-01-01T00:00:00Z", "tenantID": scripted.document["tenantID"], "keyFingerprint": "ab" * 20}
    result = upload(state, files[0])
    assert result.returncode == 77, result.stderr
    assert "not the bundle's" in result.stderr
    assert [path for path, _, _ in Script.received] == ["/api/v1/console/token"]
    assert json.loads((state / "token.txt").read_text())["grant"] == "asg_scripted"


def expire_upload_token(state):
    token = json.loads((state / "token.txt").read_text())
    token["uploadTokenExpiresAt"] = "2020-01-01T00:00:00Z"
    (state / "token.txt").write_text(json.dumps(token))


def test_a_service_that_trickles_its_answer_is_cut_off_and_the_lock_released(scripted):
    # issue 17, 6: one call has an overall deadline, whatever the idle timeout; token.lock is free after.
    state, files = scripted.state, scripted.files
    subprocess.run([CONSOLE, "settings", "--service-deadline", "3", "--state-dir", str(state)], check=True, capture_output=True)
    expire_upload_token(state)
    Script.renewal = "trickle"
    started = time.monotonic()
    result = upload(state, files[0])
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "gave no complete answer within 3 s" in result.stderr, result.stderr
    with open(state / "token.lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again


def test_a_held_token_lock_is_waited_for_a_bounded_time_and_its_holder_named(scripted):
    state, files = scripted.state, scripted.files
    subprocess.run([CONSOLE, "settings", "--service-deadline", "2", "--state-dir", str(state)], check=True, capture_output=True)
    expire_upload_token(state)
    with open(state / "token.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock.truncate(0)
        lock.write("pid 4242 (assay upload) since 2026-12-05T00:00:00Z\n")
        lock.flush()
        started = time.monotonic()
        result = upload(state, files[0])
    assert result.returncode == 73, result.stderr
    assert 15 <= time.monotonic() - started < 40
    assert "held by pid 4242 (assay upload)" in result.stderr
    assert Script.received == []
