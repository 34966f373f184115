"""Sign-in under load (issue 12, point 3), against a running assay-server on loopback:
1. sign-ins per second: 60 attempts (unknown e-mails, so each costs one full PBKDF2 through the
   decoy hash), 16 at a time, each from its own client address (X-Forwarded-For through a trusted
   proxy, so no per-address throttle applies);
2. a legitimate sign-in while 500 bogus ones are in flight: how long until it gets in, retrying
   after Retry-After like the portal's user pressing the button again.
Prints one line per measurement."""
import concurrent.futures
import os
import sys
import re
import random
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from live_server import call, newest_mail  # noqa: E402

EMAIL = os.environ["ASSAY_EMAIL"]
PASSWORD = "Tr0ub4dor & 3 horses"
LEGIT_ADDRESS = "10.9.9.9"


def post(path, body, address, cookie=None):
    """A JSON POST from `address` (X-Forwarded-For, believed from the trusted proxy on loopback)."""
    return call("POST", path, body, {"X-Forwarded-For": address}, cookie)


def bogus(index):
    address = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    return post("/api/v1/auth/sign-in", {"email": f"nobody{index}-{random.random()}@bench.example", "password": "Wrong-pass-1", "resolution": "1920x1080"}, address)[0]


def main():
    token = newest_mail(r"/register#(asi_[A-Za-z0-9_-]+)")
    status, _, _ = post("/api/v1/auth/register", {"token": token, "name": "Bench", "phone": "+44 20 7946 0958", "password": PASSWORD}, LEGIT_ADDRESS)
    assert status == 201, f"registration answered {status}"
    # The legitimate browser becomes known (code once), so later sign-ins need only the password.
    status, _, headers = post("/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD, "resolution": "1920x1080"}, LEGIT_ADDRESS)
    attempt = re.search(r"__Host-assay-attempt=([^;]+)", headers.get("Set-Cookie", "")).group(1)
    status, _, _ = post("/api/v1/auth/code", {"code": newest_mail(r"Your code: (\d{7})")}, LEGIT_ADDRESS, cookie=f"__Host-assay-attempt={attempt}")
    assert status == 200, f"code answered {status}"

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(bogus, range(1, 61)))
    elapsed = time.monotonic() - started
    print(f"sign-ins per second (60 attempts, 16 at a time, one full hash each): {60 / elapsed:.1f}/s; answers {sorted(set(statuses))}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=500) as pool:
        flood = [pool.submit(bogus, 1000 + index) for index in range(500)]
        time.sleep(0.5)
        began = time.monotonic()
        tries = 0
        while True:
            tries += 1
            status, _, headers = post("/api/v1/auth/sign-in", {"email": EMAIL, "password": PASSWORD, "resolution": "1920x1080"}, LEGIT_ADDRESS)
            if status == 200:
                break
            if status in (429, 503):
                time.sleep(float(headers.get("Retry-After", "1")))
                continue
            raise SystemExit(f"the legitimate sign-in answered {status}")
        waited = time.monotonic() - began
        answers = [f.result() for f in flood]
    counts = {code: answers.count(code) for code in sorted(set(answers))}
    print(f"a legitimate sign-in with 500 bogus ones in flight: in after {waited:.1f} s ({tries} tries); the bogus ones were answered {counts}")


if __name__ == "__main__":
    main()
