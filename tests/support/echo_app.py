"""The application stand-in of the test data plane (a test application, not a double of a tool).

No container runs here, so a pod's application container is stood in for by this small HTTP server, started by
the data-plane runner (tests/support/dataplane.py) in the pod's network namespace on each of the container's
ports. It answers every request with JSON naming the pod, its namespace, its ``version`` label and the request
as it arrived (method, path, headers: so a test sees the ``x-forwarded-client-cert`` identity a sidecar adds),
and appends the same to a request log the tests read (what the application saw: retries, mirrored copies).

Behaviour a test asks for: ``/status/<code>`` answers that code (as httpbin does); ``--status`` makes every
answer that code (a failing backend, for outlier detection); ``--kind productpage`` answers ``/productpage``
with the Bookinfo page title, as the sample's productpage does.

  python -m tests.support.echo_app --ports 9080 --pod NAME --namespace NS --version v1 --log FILE
"""

from __future__ import annotations

import argparse
import json
import re
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
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _answer

    return Handler


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
    opts = parser.parse_args(argv)
    lock = threading.Lock()
    servers = []
    for port in sorted({int(p) for p in opts.ports.split(",") if p}):
        server = ThreadingHTTPServer((opts.bind, port), make_handler(opts, lock))
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdout.write(f"echo_app: {opts.namespace}/{opts.pod} on {opts.ports}\n")
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
