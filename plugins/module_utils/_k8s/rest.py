# -*- coding: utf-8 -*-
# Copyright (c) aksmesh developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw Kubernetes REST calls over the official client's ApiClient, with bounded retries.

This file is private to the aksmesh.istio collection: its contents may change at any time.

The typed APIs and DynamicClient cost a model round trip or a full discovery per
call; the apply engine needs neither. This speaks the REST paths directly through
``ApiClient.param_serialize``/``call_api`` (same auth, TLS and proxy handling as the
rest of the client) and owns the retry policy: 429 and 5xx are retried with backoff
honouring ``Retry-After``, so are 409 answers that are not field-manager conflicts
(optimistic-lock races) and dropped connections; everything is time-bounded.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported by _k8s.connection.require_k8s
    class ApiException(Exception):
        status = 0
        body = None

RETRY_STATUSES = (429, 500, 502, 503, 504)
# the fix for an http:// URL that leads to a TLS port (Go's 400 answer, or a reset of the plain request)
HTTPS_FIX = "write https:// in the kubeconfig's server (or host)"


class K8sApiError(Exception):
    """An API answer that is not success, with the Status body's reason, message and causes."""

    def __init__(self, status, reason, message, causes=None, body=None, host=None):
        super(K8sApiError, self).__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.causes = causes or []
        self.body = body
        self.host = host  # the API server, for errors that never reached it (status 0)

    @classmethod
    def from_response(cls, status, raw):
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"message": raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)}
        if not isinstance(body, dict):
            body = {"message": str(body)}
        details = body.get("details") or {}
        message = body.get("message") or "HTTP %s" % status
        if status == 400 and "HTTP request to an HTTPS server" in message:  # Go's answer on a TLS port
            message = "%s: %s" % (message.strip().rstrip("."), HTTPS_FIX)
        reason = body.get("reason") or ""
        if status == 500 and "failed to create typed patch object" in message:
            # the API server answers an apply that does not fit the kind's schema with a 500 that no retry
            # can fix (e.g. ".spec.x: field not declared in schema"): it is an invalid object
            reason = "Invalid"
        return cls(status, reason, message, details.get("causes") or [], body)

    @property
    def manager_conflict(self):
        """A server-side apply conflict between field managers (retrying cannot help)."""
        return any(c.get("reason") == "FieldManagerConflict" for c in self.causes)

    def __str__(self):
        return "%s %s: %s" % (self.status, self.reason, self.message)


class RestClient(object):
    """JSON requests with retries; counts requests per verb for reports and benchmarks."""

    def __init__(self, api_client, timeout=30, retries=5, backoff=0.5, max_wait=30.0, sleep=time.sleep):
        self.api = api_client
        # we retry ourselves: urllib3 would not retry PATCH/POST, and would retry GET behind our back
        if self.api.configuration.retries is not False:
            self.api.configuration.retries = False
            self.api.rest_client = type(self.api.rest_client)(self.api.configuration)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.counts = {}
        self.retried = 0
        self.answered = False  # an HTTP answer came back (the scheme and port speak HTTP)
        self._lock = threading.Lock()

    def request(self, method, path, query=None, body=None, content_type="application/json", ok_missing=False):
        """Return the decoded JSON answer; None for 404 when ``ok_missing``; raise K8sApiError otherwise."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
            if content_type.endswith("yaml") and not isinstance(body, (str, bytes)):
                # JSON is YAML, but the API server's YAML parser rejects the \ud83d-style surrogate escapes
                # that json.dumps writes for characters outside the BMP (emoji in Grafana dashboards): send
                # UTF-8 instead
                body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        attempt = 0
        lost = False  # an earlier attempt may have reached the server and lost only its answer
        while True:
            attempt += 1
            with self._lock:
                self.counts[method] = self.counts.get(method, 0) + 1
            try:
                method_, url, hdrs, payload, _post = _serialize(self.api, method, path, query, headers, body)
                resp = self.api.call_api(method_, url, header_params=hdrs, body=payload,
                                         _request_timeout=self.timeout)
                raw = resp.read()
                status = resp.status
            except ApiException as exc:  # some client versions raise for HTTP errors themselves
                status, raw = exc.status or 0, exc.body
                resp = exc
                if not status:  # no HTTP answer: the client wrapped a connection error (TLS failures among them)
                    self._connection_failed(method, path, exc.reason or exc, attempt)
                    lost = True
                    continue
            except Exception as exc:  # connection dropped, reset, timed out: urllib3 errors
                self._connection_failed(method, path, exc, attempt)
                lost = True
                continue
            self.answered = True
            if 200 <= status < 300:
                return json.loads(raw) if raw else {}
            if status == 404 and ok_missing:
                # a DELETE sent again after its answer was lost finds nothing: the first one did the deleting
                return {} if lost and method == "DELETE" else None
            error = K8sApiError.from_response(status, raw)
            # a 409 is worth sending again only for a server-side apply (declarative: the same request is right
            # again); a create that met AlreadyExists or a write whose precondition failed needs the caller to
            # read the object first
            retry = (status in RETRY_STATUSES and error.reason != "Invalid") or (
                status == 409 and content_type.startswith("application/apply-patch") and not error.manager_conflict)
            if retry and attempt <= self.retries:
                with self._lock:
                    self.retried += 1
                self.sleep(self._wait(attempt, getattr(resp, "headers", None)))
                continue
            raise error

    def _connection_failed(self, method, path, exc, attempt):
        """Wait before a retry of a transient connection error; raise K8sApiError for the others (and when the
        retries are spent). A certificate the client does not trust is never transient: it names the fix."""
        host = getattr(self.api.configuration, "host", None)
        if _untrusted(exc):
            raise K8sApiError(0, "TLSError", "TLS verification failed (%s): set ca_cert to the cluster's CA "
                                             "certificate, or validate_certs: false for a test cluster" % exc,
                              host=host)
        if not self.answered and _plain_http_to_tls(host, exc):
            raise K8sApiError(0, "ConnectionError", "%s %s failed: %s. The server closed the connection on a plain "
                                                    "HTTP request, as a TLS port does: %s"
                              % (method, path, exc, HTTPS_FIX), host=host)
        if attempt <= self.retries and _transient(exc):
            with self._lock:
                self.retried += 1
            self.sleep(self._wait(attempt, None))
            return
        raise K8sApiError(0, "ConnectionError", "%s %s failed: %s" % (method, path, exc), host=host)

    def _wait(self, attempt, headers):
        retry_after = None
        if headers:
            value = headers.get("Retry-After") if hasattr(headers, "get") else None
            try:
                retry_after = float(value) if value is not None else None
            except ValueError:
                retry_after = None
        if retry_after is None:
            retry_after = self.backoff * (2 ** (attempt - 1))
        return min(retry_after, self.max_wait)


def list_items(client, path, **query):
    """The items of a LIST request (``query`` as the API names it, e.g. labelSelector)."""
    return (client.request("GET", path, query=query or None) or {}).get("items") or []


def _serialize(api, method, path, query, headers, body):
    """The official client's request building (auth, host, query encoding) for a raw path."""
    out = api.param_serialize(method, path, query_params=list((query or {}).items()), header_params=headers,
                              body=body, auth_settings=["BearerToken"])
    return tuple(out) + (None,) if len(out) == 4 else out


def _untrusted(exc):
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text


def _plain_http_to_tls(host, exc):
    """Whether ``exc``, met on a first request to ``host``, says that an http:// URL leads to a TLS port: the
    server drops the plain request (a reset, or no answer at all) instead of answering it."""
    text = "%s %s" % (type(exc).__name__, exc)
    return str(host or "").lower().startswith("http://") and any(
        sign in text for sign in ("Connection reset by peer", "ConnectionResetError", "RemoteDisconnected",
                                  "BadStatusLine", "Connection aborted"))


def _transient(exc):
    if isinstance(exc, str):  # the reason of a wrapped ApiException
        return not _untrusted(exc)
    name = type(exc).__name__
    return name in ("MaxRetryError", "ProtocolError", "ReadTimeoutError", "NewConnectionError",
                    "ConnectionResetError", "RemoteDisconnected", "ConnectionError", "SSLError",
                    "ConnectTimeoutError", "TimeoutError", "BrokenPipeError")
