"""Brute force against a real assay-server on loopback (issue 12): passwords in parallel, codes in
parallel, random session tokens, random and revoked upload tokens. For each attack it prints how
many attempts were compared (from the audit log), when the lock or the throttle started, and which
security events were recorded. Started by security/bruteforce.sh, which runs the server."""
import concurrent.futures
import glob
import json
import os
import re
import secrets
import sqlite3
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from live_server import BASE, DATA, call, newest_mail  # noqa: E402

EMAIL = os.environ["ASSAY_EMAIL"]
PASSWORD = "Tr0ub4dor & 3 horses"


def audit(action):
    with sqlite3.connect(os.path.join(DATA, "catalog.sqlite")) as database:
        return database.execute("SELECT COUNT(*) FROM audit_events WHERE action = ?", (action,)).fetchone()[0]


def parallel(count, work):
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(count, 64)) as pool:
        return list(pool.map(work, range(count)))


def report(title, lines):
    print(f"== {title}")
    for line in lines:
        print(f"   {line}")


def main():
    revoked = ""
    link_token = newest_mail(r"/register#(asi_[A-Za-z0-9_-]+)")
    status, _, _ = call("POST", "/api/v1/auth/register", {"token": link_token, "name": "Jane Doe", "phone": "+44 20 7946 0958", "password": PASSWORD})
    assert status == 201, f"registration answered {status}"

    # 0. A console signs in and logs out: its upload token is revoked (used in 4).
    machine = {"machineID": "bruteforce-console-1"}
    status, answer, _ = call("POST", "/api/v1/console/sign-in", {"email": EMAIL, "password": PASSWORD, **machine})
    assert status == 202, f"console sign-in answered {status}"
    attempt = json.loads(answer)["attempt"]
    status, answer, _ = call("POST", "/api/v1/console/code", {"attempt": attempt, "code": newest_mail(r"Your code: (\d{7})"), **machine})
    assert status == 200, f"console code answered {status}"
    credentials = json.loads(answer)
    call("POST", "/api/v1/console/revoke", {"grant": credentials["grant"]})
    revoked = credentials["uploadToken"]

    # 1. Codes in parallel against one sign-in attempt.
    status, _, headers = call("POST", "/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD, "resolution": "1920x1080"})
    assert status == 202, f"sign-in answered {status}"
    attempt = re.search(r"__Host-assay-attempt=([^;]+)", headers.get("Set-Cookie", "")).group(1)
    code = newest_mail(r"Your code: (\d{7})")
    guesses = [f"{n:07d}" for n in range(200) if f"{n:07d}" != code]
    results = parallel(len(guesses), lambda i: call("POST", "/api/v1/auth/code", {"code": guesses[i]}, cookie=f"__Host-assay-attempt={attempt}")[0])
    right, _, _ = call("POST", "/api/v1/auth/code", {"code": code}, cookie=f"__Host-assay-attempt={attempt}")
    report("200 codes at once against one attempt (AUTH-6: 5 tries)", [
        f"answers: {dict((s, results.count(s)) for s in sorted(set(results)))}",
        f"compared (audit signin.code.wrong): {audit('signin.code.wrong')}",
        f"the right code afterwards: {right} (410: the attempt is void; 429: throttled first — either way no sign-in)",
        f"throttle refusals audited (security.throttled): {audit('security.throttled')}",
    ])

    # 2. Passwords in parallel.
    started = time.monotonic()
    results = parallel(30, lambda i: call("POST", "/api/v1/auth/sign-in", {"email": EMAIL, "password": f"Wrong-pass-{i}", "resolution": "1920x1080"})[0])
    elapsed = time.monotonic() - started
    right, _, _ = call("POST", "/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD, "resolution": "1920x1080"})
    time.sleep(1)  # the lock notice leaves off the request path
    report("30 wrong passwords at once (AUTH-7: 3 in a row lock for 30 minutes)", [
        f"answers in {elapsed:.1f} s: {dict((s, results.count(s)) for s in sorted(set(results)))} (429 = throttled before hashing)",
        f"counted: signin.failed {audit('signin.failed')}, account.locked {audit('account.locked')} (the lock started at the 3rd), "
        f"refused while locked {audit('signin.refused.locked')}",
        f"the right password afterwards: {right} (401: the account is locked; 429: throttled first — either way no sign-in)",
        f"lock notices mailed: {len([p for p in glob.glob(os.path.join(DATA, 'outbox', '*.eml')) if 'is locked' in open(p, errors='replace').read()])}",
    ])

    # 3. Random session tokens.
    results = parallel(40, lambda i: call("GET", "/api/v1/me", cookie=f"__Host-assay-session=ass_{secrets.token_urlsafe(32)}")[0])
    report("40 random session tokens (AUTH-10)", [
        f"answers: {dict((s, results.count(s)) for s in sorted(set(results)))}",
        f"security events (security.session-token-guessing): {audit('security.session-token-guessing')}",
    ])

    # 4. Random and revoked upload tokens.
    body = b"\x85" + secrets.token_bytes(64)
    import hashlib
    digest = hashlib.sha256(body).hexdigest()

    def upload(token):
        request = urllib.request.Request(BASE + "/api/v1/uploads", method="POST", data=body)
        request.add_header("Authorization", f"Bearer {token}")
        request.add_header("X-Content-SHA256", digest)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    results = parallel(40, lambda i: upload(f"asu_{secrets.token_urlsafe(32)}"))
    revoked_status = upload(revoked)
    report("40 random upload tokens, then a revoked one (CON-3, CON-4)", [
        f"answers: {dict((s, results.count(s)) for s in sorted(set(results)))}",
        f"security events (security.upload-token-guessing): {audit('security.upload-token-guessing')}",
        f"the revoked token: {revoked_status}; refusals audited (upload-token.refused): {audit('upload-token.refused')}",
    ])


if __name__ == "__main__":
    main()
