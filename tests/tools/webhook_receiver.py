#!/usr/bin/python3
"""A webhook receiver for the notification tests (loopback only).

Serves HTTPS (or HTTP without --cert), records every POST as one JSON line in --out:
{"path", "headers", "body", "signature_ok"}. With --secret-file it checks
X-Keyturn-Signature (sha256=<hex HMAC-SHA256 of the body>) and answers 401 to a request
whose signature is missing or wrong. --fail-first N answers 503 to the first N requests;
--delay S waits S seconds before answering. Writes the bound port to --port-file.
"""
import argparse, hashlib, hmac, http.server, json, ssl, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--secret-file")
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--delay", type=float, default=0.0)
args = ap.parse_args()

secret = open(args.secret_file, "rb").read().strip() if args.secret_file else None
lock = threading.Lock()
seen = {"n": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if args.delay:
            time.sleep(args.delay)
        ok = None
        if secret is not None:
            want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(want, self.headers.get("X-Keyturn-Signature", ""))
        if n <= args.fail_first:
            status = 503
        elif ok is False:
            status = 401
        else:
            status = 200
        if status == 200 or ok is False:
            with lock, open(args.out, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": dict(self.headers),
                                    "body": body.decode("utf-8"), "signature_ok": ok}) + "\n")
        reply = b'{"ok":true}' if status == 200 else b'{"ok":false}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if args.cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(args.port_file + ".tmp", args.port_file)
server.serve_forever()
