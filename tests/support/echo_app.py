"""The application stand-in of the test data plane (a test application, not a double of a tool).

No container runs here, so a pod's application container is stood in for by this small HTTP server, started by
the data-plane runner (tests/support/dataplane.py) in the pod's network namespace on each of the container's
ports. It answers every request with JSON naming the pod, its namespace, its ``version`` label and the request
as it arrived (method, path, headers: so a test sees the ``x-forwarded-client-cert`` identity a sidecar adds),
and appends the same to a request log the tests read (what the application saw: retries, mirrored copies).

Behaviour a test asks for: ``/status/<code>`` answers that code (as httpbin does); ``--status`` makes every
answer that code (a failing backend, for outlier detection); ``--kind productpage`` answers ``/productpage``
with the Bookinfo page title, as the sample's productpage does; ``--tls-cert``/``--tls-key`` serve HTTPS (an
external HTTPS service: each request's log entry then has ``tls``, the server name the client asked for (SNI) and
the TLS version; with ``--tls-client-ca`` a client certificate from that CA is required, its subject logged; one
request per connection, so each request is a handshake of its own).

  python -m tests.support.echo_app --ports 9080 --pod NAME --namespace NS --version v1 --log FILE
"""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRODUCTPAGE = ("<!DOCTYPE html><html><head><title>Simple Bookstore App</title></head><body>"
               "<h3>The Comedy of Errors</h3><p>Summary: Wikipedia Summary: The Comedy of Errors is one of "
               "William Shakespeare's early plays.</p></body></html>")


def make_handler(opts, log_lock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # the request log below replaces the default stderr line
            pass

        def _answer(self):
            length = int(self.headers.get("content-length") or 0)
            body_in = self.rfile.read(length) if length else b""
            seen = {"pod": opts.pod, "namespace": opts.namespace, "version": opts.version,
                    "port": self.server.server_address[1], "peer": self.client_address[0],
                    "method": self.command, "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body_in.decode(
                        errors="replace"), "time": time.time()}
            secure = isinstance(self.connection, ssl.SSLSocket)
            if secure:
                peer = self.connection.getpeercert() or {}
                seen["tls"] = {"sni": getattr(self.connection, "sni", None), "version": self.connection.version(),
                               "client_subject": [list(rdn[0]) for rdn in peer.get("subject", ())]}
            with log_lock, open(opts.log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(seen) + "\n")
            status = opts.status
            match = re.match(r"^/status/(\d{3})", self.path)
            if match:
                status = int(match.group(1))
            if opts.kind == "productpage" and self.path.split("?")[0] == "/productpage" and status == 200:
                payload, ctype = PRODUCTPAGE.encode(), "text/html; charset=utf-8"
            else:
                payload, ctype = json.dumps(seen).encode(), "application/json"
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(payload)))
            self.send_header("x-echo-pod", opts.pod)
            self.send_header("x-echo-version", opts.version)
            if secure:  # one request per TLS connection: each request is a handshake of its own, as a test sees it
                self.send_header("connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    return Handler


class TLSServer(ThreadingHTTPServer):
    """HTTPS: the handshake in the request's own thread (a slow client holds up no other), the server name the
    client asked for kept on the connection for the handler to log."""

    context = None

    def finish_request(self, request, client_address):
        try:
            secure = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()


def tls_context(cert, key, client_ca=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_REQUIRED

    def remember(sock, server_name, _context):
        sock.sni = server_name
    context.sni_callback = remember
    return context


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True)
    parser.add_argument("--pod", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--version", default="")
    parser.add_argument("--log", required=True)
    parser.add_argument("--status", type=int, default=200)
    parser.add_argument("--kind", choices=("echo", "productpage"), default="echo")
    parser.add_argument("--bind", default="0.0.0.0")  # noqa: S104 - inside the pod's own network namespace
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-client-ca")
    opts = parser.parse_args(argv)
    lock = threading.Lock()
    servers = []
    context = tls_context(opts.tls_cert, opts.tls_key, opts.tls_client_ca) if opts.tls_cert else None
    for port in sorted({int(p) for p in opts.ports.split(",") if p}):
        server = (TLSServer if context else ThreadingHTTPServer)((opts.bind, port), make_handler(opts, lock))
        server.context = context
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write(f"echo_app: {opts.namespace}/{opts.pod} on {opts.ports}\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
