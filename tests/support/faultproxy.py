"""An HTTPS proxy on loopback in front of the real kube-apiserver: request log, added latency, injected faults.

Clients authenticate to the proxy as they would to the API server: a bearer token is passed on as it is; a
client certificate (from the cluster CA) becomes the admin token plus ``Impersonate-User``/``Impersonate-Group``
headers with the certificate's CN and O, so the API server still authorizes the real user. Responses stream
through (watches included). Faults come from :class:`tests.support.loopback.FaultPlan`: a status code with a
body and headers (``Retry-After``), a delay before forwarding, ``drop`` (close before forwarding) or
``drop-after`` (forward, let the API server process the request, then close without an answer).
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse

from .loopback import LoopbackServer

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "host", "content-length"}
FAULT_REASONS = {409: "Conflict", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
                 504: "Timeout"}


def status_body(code, message):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": code,
                       "reason": FAULT_REASONS.get(code, "Unknown"), "message": message}).encode()


def send(connection, method, target, body, headers):
    """(the connection, its response) of a request to the API server on a kept-alive connection:
    ``connection(fresh)`` gives (a connection, whether it served a request before). A reused one that fails in any
    way (the server closed it while idle: a reset, a TLS EOF) is closed and the request sent once more on a new one."""
    for fresh in (False, True):
        conn, reused = connection(fresh)
        try:
            conn.request(method, target, body=body, headers=headers)
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException):
            conn.close()
            if fresh or not reused:
                raise
        except BaseException:
            conn.close()
            raise
    raise AssertionError("unreachable")


class FaultProxy(LoopbackServer):
    """The proxy: LoopbackServer's HTTPS front (request log, faults, latency) with forwarding for a handler."""

    def __init__(self, workdir, upstream, ca, admin_token, port=0):
        super().__init__(None, workdir, name="kube-fault-proxy", client_ca=True, port=port, ca=ca)
        self.upstream = urllib.parse.urlsplit(upstream)
        self._admin_token = admin_token
        self._upstream_ctx = ssl.create_default_context()
        ca.configure_trust(self._upstream_ctx)
        # kept-alive upstream connections no request is using: each client (a module, kubectl, helm) is a process
        # with a connection of its own, and reusing the upstream ones saves the API server a TLS handshake each
        self._idle = []
        self._idle_lock = threading.Lock()

    # ---- forwarding ---------------------------------------------------------------------------
    def _connection(self, fresh=False):
        """(a connection, whether it was idle before): an idle one, unless ``fresh``, else a new one."""
        with self._idle_lock:
            if self._idle and not fresh:
                return self._idle.pop(), True
        return http.client.HTTPSConnection(self.upstream.hostname, self.upstream.port, context=self._upstream_ctx,
                                           timeout=300), False

    def _release(self, conn):
        """Back to the idle ones, once its answer was read to the end (a streamed one is closed instead)."""
        with self._idle_lock:
            if len(self._idle) < 16:
                self._idle.append(conn)
                return
        conn.close()

    def _headers(self, h):
        headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            cert = h.connection.getpeercert()
        except (ValueError, AttributeError):
            cert = None
        if cert and not h.headers.get("Authorization"):
            subject = {k: v for rdn in cert.get("subject", ()) for k, v in rdn}
            headers["Authorization"] = f"Bearer {self._admin_token}"
            headers["Impersonate-User"] = subject.get("commonName", "")
            groups = [g for g in subject.get("organizationName", "").split(",") if g]
            for group in groups:
                headers.setdefault("Impersonate-Group", group)
        return headers

    def _serve_one(self, h):
        parsed = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(parsed.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else None
        if self.latency:
            time.sleep(self.latency)
        fault = self.faults.take(h.command, path)
        if fault is not None and fault.action == "drop":
            self._record(h.command, path, parsed.query, 0)
            self._drop(h)
            return
        if fault is not None and fault.action == "delay":
            time.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.action != "drop-after":
            code = int(fault.action)
            data = fault.body if isinstance(fault.body, bytes) else (
                status_body(code, f"injected fault {code}") if fault.body is None else
                json.dumps(fault.body).encode())
            self._record(h.command, path, parsed.query, code, "application/json")
            h.send_response(code)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            for key, value in fault.headers.items():
                h.send_header(key, value)
            h.end_headers()
            h.wfile.write(data)
            return
        try:
            conn, resp = self._forward(h.command, h.path, body, self._headers(h))
        except (OSError, http.client.HTTPException) as exc:
            data = status_body(502, f"fault proxy: upstream error: {exc}")
            self._record(h.command, path, parsed.query, 502)
            h.send_response(502)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            return
        if fault is not None:  # drop-after: the API server did the work; the client never hears of it
            resp.read()
            self._release(conn)
            self._record(h.command, path, parsed.query, 0)
            self._drop(h)
            return
        self._record(h.command, path, parsed.query, resp.status, resp.getheader("Content-Type", ""))
        h.send_response(resp.status)
        for key, value in resp.getheaders():
            if key.lower() not in HOP_BY_HOP:
                h.send_header(key, value)
        length = resp.getheader("Content-Length")
        if h.command == "HEAD" or resp.status in (204, 304) or resp.status < 200:  # answers without a body
            resp.read()
            self._release(conn)
            if resp.status >= 200 and resp.status not in (204, 304):
                h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if length is not None and resp.getheader("Transfer-Encoding") is None:
            data = resp.read()
            self._release(conn)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(data)
            return
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        try:
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                h.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                h.wfile.flush()
            h.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):  # either side went away mid-stream (a watch ending)
            h.close_connection = True
        finally:
            resp.close()
            conn.close()  # a streamed answer (a watch) may have ended half-way: this connection is not reused

    def _forward(self, method, target, body, headers):
        """(the upstream connection, its response): the caller releases or closes the connection."""
        return send(self._connection, method, target, body, headers)

    @staticmethod
    def _drop(h):
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        h.close_connection = True
