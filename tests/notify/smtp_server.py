#!/usr/bin/env python3
"""A real SMTP server on loopback for wirewatch's notify tests (aiosmtpd).

Needs `pip install aiosmtpd`. Started by tests/notify/smtp.rs:

    python3 tests/notify/smtp_server.py --out DIR [--tls-cert PEM --tls-key PEM] [--user U --password P]

Binds 127.0.0.1 on a free port (or --port), prints "PORT <n>" on stdout, and stores each
accepted message as DIR/msg-<n>.eml (the raw bytes received) plus
DIR/msg-<n>.json ({"mail_from", "rcpt_tos"}), both written before the server
answers 250. With --tls-cert/--tls-key it offers STARTTLS (or, with
--implicit-tls, speaks TLS from the first byte); with --user it
requires AUTH (PLAIN/LOGIN) with that password. With --refuse-rcpt ADDR it
answers RCPT TO that address with a transient 451 (or --refuse-code 550: a
permanent refusal) the first --refuse-times times (default 1). Exits when stdin closes, so
it never outlives the test that started it.
"""

import argparse
import asyncio
import json
import logging
import os
import socket
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult


class Recorder:
    def __init__(self, out, refuse_rcpt=None, refuse_times=0, refuse_code=451):
        self.out = out
        self.refuse_code = refuse_code
        self.count = 0
        self.refuse_rcpt = (refuse_rcpt or "").lower()
        self.refuse_left = refuse_times

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_left > 0 and address.lower() == self.refuse_rcpt:
            self.refuse_left -= 1
            if self.refuse_code == 550:
                return "550 5.1.1 No such mailbox"
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.out, f"msg-{self.count}")
        with open(base + ".eml", "wb") as f:
            f.write(envelope.original_content)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 Message accepted for delivery"


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            auth_data is not None
            and getattr(auth_data, "login", None) == user.encode()
            and getattr(auth_data, "password", None) == password.encode()
        )
        # handled=False: let aiosmtpd answer 535 itself on failure.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return authenticator


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--implicit-tls", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password", default="")
    ap.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    ap.add_argument("--refuse-rcpt")
    ap.add_argument("--refuse-times", type=int, default=1)
    ap.add_argument("--refuse-code", type=int, choices=(451, 550), default=451)
    args = ap.parse_args()
    # Expected failures (e.g. a client rejecting our self-signed certificate)
    # would otherwise print tracebacks into the test output.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    handler = Recorder(
        args.out, args.refuse_rcpt, args.refuse_times if args.refuse_rcpt else 0, args.refuse_code
    )
    # --implicit-tls: TLS from the first byte (port 465 style) instead of STARTTLS.
    implicit = tls_context if args.implicit_tls else None
    kwargs = {"hostname": "localhost", "tls_context": None if implicit else tls_context}
    if args.user:
        kwargs.update(
            authenticator=make_authenticator(args.user, args.password),
            auth_required=True,
            auth_require_tls=tls_context is not None and not implicit,
        )

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(16)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, **kwargs), sock=sock, ssl=implicit)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
