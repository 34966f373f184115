"""What the scripts that drive a running assay-server share (security/bruteforce.py,
bench/signin.py): a JSON request as the portal's script sends it, and the mail outbox."""
import glob
import json
import os
import re
import time
import urllib.error
import urllib.request

BASE = os.environ["ASSAY_BASE"]
DATA = os.environ["ASSAY_DATA_DIR"]
HEADERS = {"Origin": BASE, "Content-Type": "application/json", "User-Agent": "Mozilla/5.0 Chrome/131.0", "X-Display-Resolution": "1920x1080"}


def call(method, path, body=None, headers=None, cookie=None):
    """(status, body bytes, headers) of one request; an HTTP error is an answer, not an exception."""
    request = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode())
    for name, value in {**HEADERS, **(headers or {})}.items():
        request.add_header(name, value)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


SEEN = set()


def newest_mail(pattern):
    """The newest mail matching `pattern` that was not read before: sign-in mail leaves off the
    request path, so it is waited for (10 s at most)."""
    for _ in range(100):
        for path in sorted(glob.glob(os.path.join(DATA, "outbox", "*.eml")), key=os.path.getmtime, reverse=True):
            if path in SEEN:
                continue
            match = re.search(pattern, open(path, encoding="utf-8", errors="replace").read())
            if match:
                SEEN.add(path)
                return match.group(1)
        time.sleep(0.1)
    raise SystemExit(f"no new mail matches {pattern}")
