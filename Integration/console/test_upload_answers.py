"""How the console's uploader treats each kind of answer (CON-6), against a scripted HTTP service on
loopback: a fake beside the real thing (test_console.py uploads to the real assay-server). 503 and
429 are waited out as Retry-After says, a dropped connection is retried with back-off, a refusal
moves the file to rejected/ with the reason, and no file leaves the spool before a 2xx."""
import hashlib
import http.server
import json
import os
import subprocess
import threading
import uuid

import pytest

from conftest import BOT, CONSOLE


class Script(http.server.BaseHTTPRequestHandler):
    answers = []
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Script.received.append((self.path, hashlib.sha256(body).hexdigest(), self.headers.get("X-Content-SHA256")))
        status = Script.answers.pop(0) if Script.answers else 202
        if status == "drop":
            self.connection.close()
            return
        payload = json.dumps({"id": str(uuid.uuid4()), "state": "queued"} if status in (200, 202) else {"error": f"scripted {status}"}).encode()
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
    Script.answers, Script.received = [], []
    state = tmp_path / "state"
    document = dict(json.loads(bundle.read_text()), serviceURL=f"http://127.0.0.1:{server.server_address[1]}")
    (tmp_path / "bundle.json").write_text(json.dumps(document))
    subprocess.run([CONSOLE, "init", str(tmp_path / "bundle.json"), "--state-dir", str(state)], check=True, capture_output=True)
    (state / "token.txt").write_text(json.dumps({
        "email": "jane.doe@acme.example", "signedInAt": "2026-12-01T00:00:00Z", "grant": "asg_scripted", "grantExpiresAt": "2099-01-01T00:00:00Z",
        "uploadToken": "asu_scripted", "uploadTokenExpiresAt": "2099-01-01T00:00:00Z", "tenantID": document["tenantID"]}))
    os.chmod(state / "token.txt", 0o600)
    key = tmp_path / "tenant.asc"
    key.write_text(document["publicKey"])
    files = []
    for n in range(2):
        path = tmp_path / f"inventory-{n}.pgp"
        subprocess.run([BOT, "inventory", "--recipient", str(key), "--out", str(path)], check=True)
        files.append(path)
    yield state, files
    server.shutdown()


def upload(state, *args):
    return subprocess.run([CONSOLE, "upload", *map(str, args), "--state-dir", str(state), "--json"], capture_output=True, text=True, timeout=120)


def test_busy_and_throttled_answers_are_waited_out(scripted):
    state, files = scripted
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
    state, files = scripted
    Script.answers = [413, 202]
    result = upload(state, *files)
    assert result.returncode == 3
    report = json.loads(result.stdout)
    assert len(report["rejected"]) == 1 and len(report["uploaded"]) == 1
    kept = list((state / "rejected").glob("*.pgp"))
    assert len(kept) == 1
    assert "HTTP 413" in (state / "rejected" / kept[0].name.replace(".pgp", ".reason.txt")).read_text()


def test_a_service_that_stays_busy_leaves_the_files_in_the_spool(scripted):
    state, files = scripted
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
    state, files = scripted
    Script.answers = [408, 409, 423, 425, 202]
    result = upload(state, files[0])
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert len(report["uploaded"]) == 1 and report["rejected"] == []
    assert not list((state / "rejected").glob("*"))
    assert len(Script.received) == 5
