#!/usr/bin/python3
"""A real SMTP server (aiosmtpd, Debian's python3-aiosmtpd) for the notification tests.

Listens on 127.0.0.1 (a free port written to --port-file). With --cert/--key it offers
STARTTLS and requires it before AUTH; with --user/--password it requires AUTH LOGIN or
PLAIN with exactly those. Every message is saved as --out-dir/N.eml (N counts from 1),
with the envelope in N.json.
"""
import argparse, json, os, signal, socket, ssl, threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--out-dir", required=True)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--user")
ap.add_argument("--password")
args = ap.parse_args()
os.makedirs(args.out_dir, exist_ok=True)
lock = threading.Lock()
count = {"n": 0}


class Handler:
    async def handle_DATA(self, server, session, envelope):
        with lock:
            count["n"] += 1
            n = count["n"]
        base = os.path.join(args.out_dir, str(n))
        with open(base + ".json", "w") as f:
            json.dump({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                       "tls": session.ssl is not None,
                       "authenticated": bool(session.authenticated)}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    if not isinstance(auth_data, LoginPassword):
        return AuthResult(success=False, handled=False)
    ok = (auth_data.login.decode() == args.user and auth_data.password.decode() == args.password)
    return AuthResult(success=ok)


s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()

kwargs = {}
if args.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    kwargs.update(tls_context=ctx, require_starttls=True)
if args.user:
    kwargs.update(authenticator=authenticator, auth_required=True,
                  auth_require_tls=bool(args.cert))
controller = Controller(Handler(), hostname="127.0.0.1", port=port, **kwargs)
controller.start()
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(port))
os.rename(args.port_file + ".tmp", args.port_file)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
