"""A real SMTP submission server for the tests: aiosmtpd with STARTTLS required before anything
else and AUTH PLAIN/LOGIN only over TLS. Every accepted message is written to --maildir as
<n>.eml; the envelope goes to <n>.envelope. Prints "ready <port>" once it listens and runs until
its stdin closes (the test that started it ended) or it gets SIGTERM.

The password comes from the SMTP_TEST_PASSWORD environment variable, never from argv."""
import argparse
import asyncio
import os
import pathlib
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, maildir: pathlib.Path):
        self.maildir = maildir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        (self.maildir / f"{n}.envelope").write_text(
            f"from {envelope.mail_from}\nto {' '.join(envelope.rcpt_tos)}\ntls {session.ssl is not None}\nauth {session.authenticated}\n")
        tmp = self.maildir / f".{n}.tmp"
        tmp.write_bytes(envelope.original_content or envelope.content)
        tmp.rename(self.maildir / f"{n}.eml")
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", default="assay")
    parser.add_argument("--no-starttls", action="store_true", help="offer no STARTTLS (to test that the client refuses)")
    args = parser.parse_args()
    password = os.environ.get("SMTP_TEST_PASSWORD", "")
    maildir = pathlib.Path(args.maildir)
    maildir.mkdir(parents=True, exist_ok=True)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    context = None
    if not args.no_starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    controller = Controller(
        Store(maildir), hostname="127.0.0.1", port=args.port,
        tls_context=context, require_starttls=not args.no_starttls,
        authenticator=authenticate, auth_require_tls=not args.no_starttls, auth_required=not args.no_starttls,
    )
    controller.start()
    print(f"ready {args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
