"""A threaded HTTPS server on 127.0.0.1 with a request log and fault injection.

Both loopback APIs (Kubernetes, Azure Resource Manager) are built on it. The
server certificate comes from a throwaway CA made with ``trustme``; clients
trust it through the CA file (``ca_path``).
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import ssl
import threading
import time
import urllib.parse

import trustme


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict
    body: bytes
    client_cert: dict | None = None

    def q(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def json(self):
        return json.loads(self.body or b"null")


@dataclasses.dataclass
class Response:
    status: int
    body: object = None
    headers: dict = dataclasses.field(default_factory=dict)
    content_type: str = "application/json"

    def encode(self):
        if self.body is None:
            return b""
        if isinstance(self.body, (bytes, bytearray)):
            return bytes(self.body)
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclasses.dataclass
class Fault:
    """Make the next ``count`` requests matching ``method``/``path`` (a regex) misbehave.

    ``action`` is an HTTP status code (int) to return with ``body``/``headers``
    (e.g. ``{"Retry-After": "1"}``), ``"delay"`` (sleep ``seconds`` then serve
    normally) or ``"drop"`` (close the connection without an answer).
    """

    path: str
    action: object
    method: str = ".*"
    count: int = 1
    seconds: float = 0.0
    headers: dict = dataclasses.field(default_factory=dict)
    body: object = None
    hits: int = 0

    def matches(self, method, path):
        return (self.hits < self.count and re.fullmatch(self.method, method, re.I)
                and re.search(self.path, path))


@dataclasses.dataclass
class LogEntry:
    method: str
    path: str
    query: str
    status: int
    content_type: str = ""


class FaultPlan:
    def __init__(self):
        self._faults = []
        self._lock = threading.Lock()

    def add(self, path, action, method=".*", count=1, **kwargs):
        fault = Fault(path=path, action=action, method=method, count=count, **kwargs)
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method, path):
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    def clear(self):
        with self._lock:
            self._faults.clear()


class _CA:
    """One throwaway CA per test process; each server gets its own leaf cert."""

    _instance = None
    _lock = threading.Lock()

    @classmethod
    def get(cls):
        with cls._lock:
            if cls._instance is None:
                cls._instance = trustme.CA(organization_name="aksmesh loopback CA")
            return cls._instance


class LoopbackServer:
    """Serve ``handler(Request) -> Response`` over HTTPS on 127.0.0.1:<free port>."""

    def __init__(self, handler, workdir, name="loopback", tls=True, client_ca=False, port=0, ca=None, hostnames=()):
        self.handler = handler
        self.name = name
        self.faults = FaultPlan()
        self.latency = 0.0  # seconds added to every request, to model the network to a remote API server
        self.log = []
        self._log_lock = threading.Lock()
        self.workdir = workdir
        self.tls = tls
        ca = ca or _CA.get()
        self.ca = ca
        self.ca_path = str(workdir / f"{name}-ca.pem")
        ca.cert_pem.write_to_path(self.ca_path)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                super().setup()
                # answer small requests at once instead of waiting out delayed ACKs (Nagle)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self):
                server._serve_one(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        if tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            # hostnames: the public names this server answers for, through a TunnelProxy (HTTPS_PROXY)
            ca.issue_cert("127.0.0.1", "localhost", *hostnames).configure_cert(ctx)
            ctx.set_alpn_protocols(["http/1.1"])
            if client_ca:
                ca.configure_trust(ctx)
                ctx.verify_mode = ssl.CERT_OPTIONAL
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- request log --------------------------------------------------------------
    def requests(self, method=None, path=None):
        with self._log_lock:
            entries = list(self.log)
        return [e for e in entries if (method is None or e.method == method)
                and (path is None or re.search(path, e.path))]

    def clear_log(self):
        with self._log_lock:
            self.log.clear()

    # ---- one request ----------------------------------------------------------------
    def _serve_one(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        cert = None
        if self.tls:
            try:
                cert = h.connection.getpeercert()
            except (ValueError, AttributeError):
                cert = None
        req = Request(h.command, urllib.parse.unquote(parsed.path), urllib.parse.parse_qs(parsed.query),
                      {k.lower(): v for k, v in h.headers.items()}, body, cert or None)
        if self.latency:
            time.sleep(self.latency)
        fault = self.faults.take(req.method, req.path)
        if fault is not None and fault.action == "drop":
            self._record(req.method, req.path, parsed.query, 0)
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            h.close_connection = True
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None:
            resp = Response(int(fault.action), fault.body if fault.body is not None else self.fault_body(
                int(fault.action)), dict(fault.headers))
        else:
            try:
                resp = self.handler(req)
            except Exception as exc:  # the server must never die with the test's client waiting
                import traceback
                resp = Response(500, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "code": 500, "reason": "InternalError",
                                      "message": f"loopback server error: {exc!r}\n{traceback.format_exc()}"})
        data = resp.encode() if req.method != "HEAD" else b""
        # log before answering, so a client that got its answer always finds it in the log
        self._record(req.method, req.path, parsed.query, resp.status, resp.content_type)
        h.send_response(resp.status)
        h.send_header("Content-Type", resp.content_type)
        h.send_header("Content-Length", str(len(data)))
        for key, value in resp.headers.items():
            h.send_header(key, value)
        # headers and body in one write
        h._headers_buffer.append(b"\r\n")
        h.wfile.write(b"".join(h._headers_buffer) + data)
        h._headers_buffer = []

    def _record(self, method, path, query, status, content_type=""):
        with self._log_lock:
            self.log.append(LogEntry(method, path, query, status, content_type))

    def fault_body(self, code):
        reasons = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": code,
                "reason": reasons.get(code, "Unknown"), "message": f"injected fault {code}"}


class TunnelProxy:
    """An HTTP proxy on loopback that answers every ``CONNECT host:port`` by tunnelling to one loopback server,
    as a client's HTTPS_PROXY: a client whose endpoint is fixed to a public name (the Azure SDK's Resource Graph
    client and management.azure.com) reaches the loopback server, which holds a certificate for that name, with TLS
    from end to end. ``hosts`` records each ``host:port`` asked for."""

    def __init__(self, upstream_port, name="tunnel"):
        self.upstream_port = upstream_port
        self.hosts = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._accept, name=name, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._sock.close()

    def _accept(self):
        while True:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(conn,), daemon=True).start()

    def _tunnel(self, conn):
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(line) != 3 or line[0] != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.hosts.append(line[1])
            with socket.create_connection(("127.0.0.1", self.upstream_port)) as upstream:
                conn.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                upstream.sendall(head.split(b"\r\n\r\n", 1)[1])
                pump = threading.Thread(target=self._pump, args=(upstream, conn), daemon=True)
                pump.start()
                self._pump(conn, upstream)
                pump.join(5)

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def file_server(files, workdir, name="files", content_type="application/octet-stream"):
    """A started plain-HTTP loopback server of ``files`` ({path: bytes}; ``server.files`` is that dict, which a test
    may change while it serves), 404 for any other path: a release page, a Go module proxy."""
    def handler(req):
        if req.path in files:
            return Response(200, files[req.path], content_type=content_type)
        return Response(404, "not found", content_type="text/plain")
    server = LoopbackServer(handler, workdir, name=name, tls=False).start()
    server.files = files
    return server
