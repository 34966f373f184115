"""The console end to end (issue 13; CON-1 … CON-6, COL-2, COL-6): the real `assay`, `assay-bot` and
`assay-server`, real OpenSSH servers in network namespaces, mail through a real SMTP server."""
import base64
import glob
import json
import os
import signal
import subprocess
import time

import pytest

import testhosts
from conftest import CONSOLE, EMAIL, PASSWORD


def no_bot_left():
    home = os.path.expanduser("~")
    return [path for pattern in ("/tmp/assay-inventory.*", "/var/tmp/assay-sampler.*", f"{home}/assay-inventory.*", f"{home}/assay-sampler.*")
            for path in glob.glob(pattern)]


@pytest.fixture
def fleet(tmp_path):
    kinds = ["ok"] * 8 + ["refuses", "changed", "unknown", "down", "killer", "notlinux", "hangs", "garbage", "huge", "noexec", "slowbot"]
    with testhosts.Fleet(tmp_path / "hosts", kinds) as fleet:
        yield fleet


def test_bundle_has_no_personal_data(bundle, service):
    document = json.loads(bundle.read_text())
    assert set(document) == {"format", "serviceURL", "tenantID", "publicKey", "fingerprint"}
    assert document["tenantID"] == service.tenant
    text = bundle.read_text()
    assert EMAIL not in text and "Quickstart" not in text and "Jane" not in text
    # Inside the armored key too: every User ID packet (RFC 4880 §5.11, tag 13) names the GUID only.
    assert user_ids(document["publicKey"]) == [f"Assay tenant <tenant-{service.tenant}@assay.invalid>"]


def user_ids(armored):
    """The User ID packets of an armored key, read from its packets (RFC 4880 §4.2)."""
    body = "".join(line for line in armored.strip().splitlines()[1:-1] if line and ":" not in line and not line.startswith("="))
    data, found, offset = base64.b64decode(body), [], 0
    while offset < len(data):
        header = data[offset]
        assert header & 0x80, "not an OpenPGP packet"
        if header & 0x40:  # new format
            tag, first = header & 0x3F, data[offset + 1]
            if first < 192:
                length, start = first, offset + 2
            elif first < 224:
                length, start = ((first - 192) << 8) + data[offset + 2] + 192, offset + 3
            else:
                length, start = int.from_bytes(data[offset + 2:offset + 6], "big"), offset + 6
        else:
            tag, kind = (header >> 2) & 0x0F, header & 0x03
            size = {0: 1, 1: 2, 2: 4}[kind]
            length, start = int.from_bytes(data[offset + 1:offset + 1 + size], "big"), offset + 1 + size
        if tag == 13:
            found.append(data[start:start + length].decode())
        offset = start + length
    return found


def test_the_console_from_the_portal_installs_with_no_other_step(service, tmp_path):
    # CON-5: one archive from the portal: the console, the bot, the tenant's bundle, a README and
    # sums; nothing names the customer or a person; unpack, ./assay init, ./assay login.
    status, body, headers = service.call("GET", "/assay-console-linux-x86_64.tar.gz", cookie=service.portal_session())
    assert status == 200, status
    assert "attachment" in headers.get("Content-Disposition", "")
    (tmp_path / "console.tar.gz").write_bytes(body)
    subprocess.run(["tar", "-xzf", str(tmp_path / "console.tar.gz"), "-C", str(tmp_path)], check=True)
    folder = tmp_path / "assay-console"
    assert sorted(path.name for path in folder.iterdir()) == ["README.txt", "SHA256SUMS", "assay", "assay-bot", "assay-console-bundle.json"]
    subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=folder, check=True)
    for path in folder.iterdir():
        data = path.read_bytes()
        assert EMAIL.encode() not in data and b"Quickstart" not in data and b"Jane Doe" not in data, path.name
    assert json.loads((folder / "assay-console-bundle.json").read_text())["tenantID"] == service.tenant
    env = {key: value for key, value in os.environ.items() if key not in ("ASSAY_BOT", "ASSAY_STATE_DIR")}
    env["XDG_STATE_HOME"] = str(tmp_path / "xdg")
    init = subprocess.run(["./assay", "init", "assay-console-bundle.json"], cwd=folder, env=env, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    login = subprocess.Popen(["./assay", "login", "--email", EMAIL, "--password-stdin"], cwd=folder, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    login.stdin.write(PASSWORD + "\n")
    login.stdin.flush()
    if "code was sent" in login.stderr.readline():
        login.stdin.write(service.mailbox.next(r"Your code: (\d{7})") + "\n")
        login.stdin.flush()
    out, err = login.communicate(timeout=60)
    assert login.returncode == 0, err
    assert "Signed in as" in out
    with service.catalog() as db:
        assert db.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'console.downloaded'").fetchone()[0] >= 1


def test_init_shows_the_fingerprint_and_refuses_a_tampered_bundle(tmp_path, bundle, fresh_console):
    shown = fresh_console.json("init", str(bundle))
    fingerprint = json.loads(bundle.read_text())["fingerprint"]
    assert shown["fingerprint"].replace(" ", "").lower() == fingerprint.lower()
    assert oct(os.stat(fresh_console.state).st_mode & 0o777) == "0o700"
    tampered = json.loads(bundle.read_text())
    tampered["fingerprint"] = "0" * 40
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(tampered))
    result = fresh_console.run("init", str(bad), check=False)
    assert result.returncode == 65 and "fingerprint" in result.stderr
    plain = dict(json.loads(bundle.read_text()), serviceURL="http://assay.example.com")
    bad.write_text(json.dumps(plain))
    result = fresh_console.run("init", str(bad), check=False)
    assert result.returncode != 0 and "HTTPS" in result.stderr


def test_scan_inventories_the_good_hosts_and_names_what_went_wrong_with_the_others(console, service, fleet, tmp_path):
    # given: a signed-in console and a device list from CSV
    console.login(service)
    token = json.loads((console.state / "token.txt").read_text())
    assert oct(os.stat(console.state / "token.txt").st_mode & 0o777) == "0o600"
    assert token["uploadToken"].startswith("asu_")
    devices = tmp_path / "devices.csv"
    devices.write_text(fleet.csv())
    assert console.json("devices", "import", str(devices))["added"] == len(fleet.hosts)
    before = service.catalog().execute("SELECT COUNT(*) FROM uploads").fetchone()[0]

    # when: one inventory scan of them all
    started = time.monotonic()
    result = console.run("scan", "inventory", "--identity", str(fleet.client_key), "--known-hosts", str(fleet.known_hosts),
                         "--ssh-config", str(fleet.ssh_config), "--timeout", "20", "--json", check=False)
    elapsed = time.monotonic() - started

    # then: each host has its own status, the good ones are done, and nothing is left behind
    assert result.returncode == 3, result.stderr
    outcome = json.loads(result.stdout)
    statuses = {device["host"]: device["status"] for device in outcome["devices"]}
    expected = {"ok": "done", "refuses": "authentication-failed", "changed": "host-key-changed", "unknown": "host-key-unknown",
                "down": "unreachable", "killer": "bot-failed", "notlinux": "not-linux", "hangs": "timed-out", "garbage": "bad-output",
                "huge": "bad-output", "noexec": "done", "slowbot": "timed-out"}
    assert statuses == {host.name: expected[host.kind] for host in fleet.hosts}, outcome
    messages = {device["host"]: device["message"] for device in outcome["devices"]}
    assert "signal 9" in messages[next(h.name for h in fleet.hosts if h.kind == "killer")]
    assert "FreeBSD" in messages[next(h.name for h in fleet.hosts if h.kind == "notlinux")]
    # the hung bot was stopped on the device by its time limit, before the console gave up
    slow = next(h for h in fleet.hosts if h.kind == "slowbot")
    assert "was stopped" in messages[slow.name], messages[slow.name]
    assert f"sleep 600{slow.index}" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert elapsed < 60
    assert no_bot_left() == []
    assert outcome["upload"]["uploaded"] and len(outcome["upload"]["uploaded"]) == 9 and outcome["upload"]["remaining"] == 0
    assert list((console.state / "spool").glob("*.pgp")) == []
    # only the good hosts' files reached the service, and they land in the tenant's database
    service.wait_ingested(before + 9)
    with service.tenant_db() as db:
        hosts = {row[0] for row in db.execute("SELECT hostname FROM devices")}
    assert {h.name for h in fleet.hosts if h.kind in ("ok", "noexec")} <= hosts
    assert not hosts & {h.name for h in fleet.hosts if h.kind not in ("ok", "noexec")}
    # the device list remembers each device's last scan
    last = {entry["device"]["host"]: entry["lastScan"]["status"] for entry in console.json("devices", "list")}
    assert last == statuses
    # and the progress went to standard error, one line per device
    assert sum(1 for line in result.stderr.splitlines() if "assay.test" in line) >= len(fleet.hosts)
    # no secret in anything the console printed, nor in its state outside token.txt
    secrets_ = [token["uploadToken"], token["grant"], json.loads((console.state / "token.txt").read_text())["uploadToken"]]
    printed = result.stdout + result.stderr
    assert not any(secret in printed for secret in secrets_)
    for path in console.state.rglob("*"):
        if path.is_file() and path.name != "token.txt" and path.suffix != ".pgp":
            assert not any(secret in path.read_text(errors="replace") for secret in secrets_), path


def test_a_device_not_on_the_list_is_never_contacted(console, fleet, tmp_path):
    devices = tmp_path / "devices.csv"
    devices.write_text(fleet.csv(kinds={"ok"}))
    console.run("devices", "import", str(devices))
    result = console.run("scan", "inventory", "--devices", "h9.assay.test", "--ssh-config", str(fleet.ssh_config), check=False)
    assert result.returncode == 64 and "not on the device list" in result.stderr
    # sshd logs every connection at VERBOSE: the only one is the fixture's readiness probe
    for host in (fleet.hosts[8], fleet.hosts[0]):
        log = (host.directory / "sshd.log").read_text()
        assert log.count("Connection from") == 1 and "publickey" not in log, log


def test_hostile_names_in_a_csv_are_refused_before_anything_runs(console, tmp_path):
    devices = tmp_path / "devices.csv"
    devices.write_text('host,port,user,labels\n"-oProxyCommand=touch /tmp/pwned",22,root,x\n"a;reboot",22,root,x\nok.example,22,"root -oX",x\n')
    result = console.run("devices", "import", str(devices), check=False)
    assert result.returncode == 65
    assert "line 2" in result.stderr and "line 3" in result.stderr and "line 4" in result.stderr
    assert console.json("devices", "list") == []


def test_upload_killed_midway_resumes_and_sends_every_file_exactly_once(console, service, tmp_path):
    # given: 30 encrypted files made by the bot by hand (the air-gapped path)
    console.login(service)
    key = tmp_path / "tenant.asc"
    key.write_text(json.loads((console.state / "bundle.json").read_text())["publicKey"])
    files = []
    for index in range(30):
        path = tmp_path / f"inventory-{index}.pgp"
        subprocess.run([os.environ.get("ASSAY_BOT_PATH", str(console_bot())), "inventory", "--recipient", str(key), "--out", str(path)], check=True)
        files.append(path)
    before = service.catalog().execute("SELECT COUNT(*) FROM uploads").fetchone()[0]
    # when: the first run is killed once a few files are acknowledged
    process = subprocess.Popen([CONSOLE, "upload", *map(str, files), "--state-dir", str(console.state)], stderr=subprocess.PIPE, text=True)
    acknowledged = 0
    while acknowledged < 5:
        line = process.stderr.readline()
        assert line, "the upload ended before it could be killed"
        acknowledged += line.startswith("uploaded ")
    process.send_signal(signal.SIGKILL)
    process.wait()
    left = len(list((console.state / "spool").glob("*.pgp")))
    assert 0 < left < 30
    # then: a second run sends the rest; the service holds each file once
    console.run("upload")
    assert list((console.state / "spool").glob("*.pgp")) == []
    with service.catalog() as db:
        rows = db.execute("SELECT sha256 FROM uploads").fetchall()
    assert len(rows) - before == 30
    assert len(set(rows)) == len(rows)
    logged = [json.loads(line)["sha256"] for line in (console.state / "uploads.log").read_text().splitlines()]
    assert len(set(logged)) == 30


def console_bot():
    from conftest import BOT
    return BOT


def test_upload_refuses_a_file_that_is_not_for_this_tenant(console, tmp_path):
    junk = tmp_path / "junk.pgp"
    junk.write_bytes(b"\x85" + os.urandom(300))
    result = console.run("upload", str(junk), check=False)
    assert result.returncode == 65 and "not an encrypted OpenPGP message" in result.stderr
    assert list((console.state / "spool").glob("*.pgp")) == []


def test_status_and_logout(console, service):
    console.login(service)
    status = console.json("status")
    assert status["signedIn"]["email"] == EMAIL and status["tenantID"] == service.tenant
    grant = json.loads((console.state / "token.txt").read_text())["grant"]
    console.run("logout")
    assert not (console.state / "token.txt").exists()
    answer, _, _ = service.call("POST", "/api/v1/console/token", {"grant": grant, "machineID": "some-console-1"})
    assert answer == 401
    result = console.run("upload", check=False)
    assert result.returncode == 77 and "assay login" in result.stderr


@pytest.fixture
def two_hosts(tmp_path):
    with testhosts.Fleet(tmp_path / "hosts", ["ok", "ok"], prefix="assayc") as fleet:
        yield fleet
    # a failed test must not leave samplers running
    subprocess.run(["pkill", "-f", "/var/tmp/assay-sampler"], capture_output=True)
    subprocess.run("rm -rf /var/tmp/assay-sampler.*", shell=True)


def test_consumption_scan_arrives_in_buckets_and_leaves_nothing_behind(console, service, two_hosts, tmp_path):
    fleet = two_hosts
    console.login(service)
    devices = tmp_path / "devices.csv"
    devices.write_text(fleet.csv())
    console.run("devices", "import", str(devices))
    reach = ["--identity", str(fleet.client_key), "--known-hosts", str(fleet.known_hosts), "--ssh-config", str(fleet.ssh_config)]
    before = service.catalog().execute("SELECT COUNT(*) FROM uploads WHERE state = 'done'").fetchone()[0]

    # the sampler starts detached on both hosts (short intervals for the test)
    started = console.json("scan", "consumption", "--duration", "10m", "--interval", "1s", "--bucket", "5s", "--file-every", "10s", *reach)
    assert [device["status"] for device in started["devices"]] == ["sampling", "sampling"], started
    assert len(glob.glob("/var/tmp/assay-sampler.*")) == 2
    assert console.run("scan", "consumption", "--duration", "10m", *reach, check=False).returncode == 3  # already sampling
    time.sleep(23)

    # collect: finished files come home and leave the devices; the samplers go on
    collected = console.json("scan", "collect", *reach)
    assert all(device["status"] == "sampling" and device["files"] >= 1 for device in collected["devices"]), collected
    assert all(not glob.glob(f"{d}/out/*.pgp") for d in glob.glob("/var/tmp/assay-sampler.*"))

    # stop: the period in progress is written, fetched, and the bot and its directory are removed
    stopped = console.json("scan", "stop", *reach)
    assert [device["status"] for device in stopped["devices"]] == ["done", "done"], stopped
    assert no_bot_left() == []
    assert all(run["state"] == "finished" for run in console.json("scan", "status"))
    files = sum(device["files"] for device in collected["devices"] + stopped["devices"])
    service.wait_ingested(before + files)
    with service.tenant_db() as db:
        buckets = db.execute("SELECT COUNT(DISTINCT bucket_start), MIN(bucket_seconds), MAX(bucket_seconds) FROM samples").fetchone()
        devices_sampled = db.execute("SELECT COUNT(DISTINCT device_id) FROM samples").fetchone()[0]
    assert buckets[0] >= 4 and buckets[1] == buckets[2] == 5, buckets
    assert devices_sampled >= 2


def shift_token(console, **fields):
    path = console.state / "token.txt"
    token = json.loads(path.read_text())
    token.update(fields)
    path.write_text(json.dumps(token))
    os.chmod(path, 0o600)
    return token


def inventory_file(console, tmp_path, name="inventory.pgp"):
    key = tmp_path / "tenant.asc"
    key.write_text(json.loads((console.state / "bundle.json").read_text())["publicKey"])
    path = tmp_path / name
    subprocess.run([console_bot(), "inventory", "--recipient", str(key), "--out", str(path)], check=True)
    return path


def test_the_upload_token_renews_by_itself_and_concurrent_consoles_do_not_burn_the_grant(console, service, tmp_path):
    console.login(service)
    old = shift_token(console, uploadTokenExpiresAt="2020-01-01T00:00:00Z")
    # five uploads at once, each finding the token expired: one renews, the others read its result
    files = [inventory_file(console, tmp_path, f"i{n}.pgp") for n in range(5)]
    processes = [subprocess.Popen([CONSOLE, "upload", str(path), "--state-dir", str(console.state)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for path in files]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in processes]
    assert all(code == 0 for code, _ in results), [err[-400:] for code, err in results if code]
    new = json.loads((console.state / "token.txt").read_text())
    assert new["uploadToken"] != old["uploadToken"] and new["grant"] != old["grant"]
    # the grant chain is intact: a later renewal still works
    shift_token(console, uploadTokenExpiresAt="2020-01-01T00:00:00Z")
    console.run("upload", str(inventory_file(console, tmp_path, "later.pgp")))
    # no secret in anything the console printed
    for _, err in results:
        assert "asu_" not in err and "asg_" not in err


def test_after_the_grant_ends_the_console_asks_for_a_new_sign_in(console, service, tmp_path):
    console.login(service)
    shift_token(console, grantExpiresAt="2020-01-01T00:00:00Z")
    result = console.run("upload", str(inventory_file(console, tmp_path)), check=False)
    assert result.returncode == 77 and "assay login" in result.stderr
    assert len(list((console.state / "spool").glob("*.pgp"))) == 1  # kept for later
    assert "ended" in console.run("status").stdout


def test_https_with_a_private_ca(tls_service, bundle, service, fresh_console, tmp_path):
    url, ca = tls_service
    document = dict(json.loads(bundle.read_text()), serviceURL=url)
    path = tmp_path / "tls-bundle.json"
    path.write_text(json.dumps(document))
    fresh_console.run("init", str(path))
    refused = subprocess.run([CONSOLE, "login", "--email", EMAIL, "--password-stdin", "--state-dir", str(fresh_console.state)],
                             input="x\n", capture_output=True, text=True, timeout=60)
    assert refused.returncode == 69 and "TLS" in refused.stderr and "--ca-file" in refused.stderr, refused.stderr
    fresh_console.run("init", str(path), "--ca-file", str(ca))
    fresh_console.login(service)
    result = fresh_console.json("upload", str(inventory_file(fresh_console, tmp_path)))
    assert len(result["uploaded"]) == 1


def test_every_command_has_help_and_touches_nothing(tmp_path):
    commands = [[], ["init"], ["login"], ["logout"], ["status"], ["devices"], ["devices", "import"], ["devices", "discover"], ["devices", "list"],
                ["devices", "remove"], ["scan"], ["scan", "inventory"], ["scan", "consumption"], ["scan", "collect"], ["scan", "stop"],
                ["scan", "status"], ["upload"], ["settings"]]
    env = dict(os.environ, HOME=str(tmp_path), XDG_STATE_HOME=str(tmp_path / "state"))
    env.pop("ASSAY_STATE_DIR", None)
    for command in commands:
        result = subprocess.run([CONSOLE, *command, "--help"], capture_output=True, text=True, env=env)
        assert result.returncode == 0 and "USAGE: assay" in result.stdout, command
    assert list(tmp_path.iterdir()) == []
    # a password is never an option
    assert "--password " not in subprocess.run([CONSOLE, "login", "--help"], capture_output=True, text=True).stdout
    wrong = subprocess.run([CONSOLE, "scan", "inventory", "--concurrency", "0", "--state-dir", str(tmp_path / "s")], capture_output=True, text=True)
    assert wrong.returncode != 0
