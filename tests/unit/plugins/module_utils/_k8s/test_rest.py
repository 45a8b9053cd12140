"""Unit tests for _k8s.rest: request building, error mapping and the retry policy (no network)."""

import json

import pytest
from kubernetes import client

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import rest as r


def api_client(host="https://k.example:6443"):
    cfg = client.Configuration()
    cfg.host = host
    cfg.api_key = {"BearerToken": "Bearer t0ken"}
    return client.ApiClient(cfg)


def test_requests_are_built_by_the_official_client_with_auth_and_encoded_query():
    query = {"labelSelector": "app=x,v=1"}
    method, url, headers, body, _post = r._serialize(api_client(), "GET", "/api/v1/namespaces/a/pods", query,
                                                     {"Accept": "application/json"}, None)
    assert method == "GET" and body is None
    assert url == "https://k.example:6443/api/v1/namespaces/a/pods?labelSelector=app%3Dx%2Cv%3D1"
    assert headers["authorization"] == "Bearer t0ken" and headers["Accept"] == "application/json"
    _m, url, _h, body, _p = r._serialize(api_client(), "PATCH", "/api/v1/x", {"fieldManager": "m"}, {}, {"a": 1})
    assert url.endswith("/api/v1/x?fieldManager=m") and body == {"a": 1}


def status(code, reason="", message="", causes=None):
    return json.dumps({"kind": "Status", "code": code, "reason": reason, "message": message,
                       "details": {"causes": causes or []}}).encode()


def test_error_mapping_from_status_bodies():
    err = r.K8sApiError.from_response(422, status(422, "Invalid", "spec.x: Required value", [{"field": "spec.x"}]))
    assert (err.status, err.reason, err.message) == (422, "Invalid", "spec.x: Required value")
    assert err.causes == [{"field": "spec.x"}]
    assert str(err) == "422 Invalid: spec.x: Required value" and not err.manager_conflict
    conflict = r.K8sApiError.from_response(409, status(409, "Conflict", "Apply failed",
                                                       [{"reason": "FieldManagerConflict"}]))
    assert conflict.manager_conflict
    typed = r.K8sApiError.from_response(500, status(500, "InternalError", "failed to create typed patch object: x"))
    assert typed.reason == "Invalid"  # no retry can fix a schema mismatch
    assert str(r.K8sApiError.from_response(502, b"<html>bad gateway</html>")) == "502 : <html>bad gateway</html>"
    assert r.K8sApiError.from_response(503, b"").message == "HTTP 503"
    assert r.K8sApiError.from_response(500, b"[1, 2]").message == "[1, 2]"


class Response:
    def __init__(self, code, body=b"", headers=None):
        self.status, self.body, self.headers = code, body, headers or {}

    def read(self):
        return self.body


class ScriptedApi:
    """An ApiClient stand-in that answers from a script (responses, or exceptions to raise)."""

    class RestClientType:
        def __init__(self, configuration):
            self.configuration = configuration

    def __init__(self, *script, host="https://k.example:6443"):
        self.configuration = client.Configuration()
        self.configuration.host = host
        self.rest_client = self.RestClientType(self.configuration)
        self.script = list(script)
        self.calls = []

    def param_serialize(self, method, path, query_params=None, header_params=None, body=None, auth_settings=None):
        return method, self.configuration.host + path, header_params, body

    def call_api(self, method, url, header_params=None, body=None, _request_timeout=None):
        self.calls.append((method, url, header_params, body, _request_timeout))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def rest_client(*script, **kwargs):
    waits = []
    return r.RestClient(ScriptedApi(*script), sleep=waits.append, **kwargs), waits


def test_urllib3_retries_are_turned_off_and_json_is_decoded():
    rest, _waits = rest_client(Response(200, b'{"kind": "Namespace"}'), Response(201, b""))
    assert rest.api.configuration.retries is False
    assert rest.request("GET", "/api/v1/namespaces/a") == {"kind": "Namespace"}
    assert rest.request("POST", "/api/v1/namespaces", body={"a": 1}) == {}
    method, url, headers, body, timeout = rest.api.calls[1]
    assert (method, url, body, timeout) == ("POST", "https://k.example:6443/api/v1/namespaces", {"a": 1}, 30)
    assert headers == {"Accept": "application/json", "Content-Type": "application/json"}
    assert rest.counts == {"GET": 1, "POST": 1} and rest.retried == 0


def test_yaml_bodies_are_sent_as_utf8_without_surrogate_escapes():
    rest, _waits = rest_client(Response(200, b"{}"))
    rest.request("PATCH", "/x", body={"title": "\U0001F600"}, content_type="application/apply-patch+yaml")
    assert rest.api.calls[0][3] == '{"title": "\U0001F600"}'.encode("utf-8")


def test_missing_objects_are_none_only_when_asked():
    rest, _waits = rest_client(Response(404, status(404, "NotFound", "x not found")),
                               Response(404, status(404, "NotFound", "x not found")))
    assert rest.request("GET", "/x", ok_missing=True) is None
    with pytest.raises(r.K8sApiError) as err:
        rest.request("GET", "/x")
    assert err.value.status == 404


def test_throttling_and_server_errors_are_retried_with_backoff_and_retry_after():
    rest, waits = rest_client(Response(429, status(429), {"Retry-After": "3"}), Response(503, status(503)),
                              Response(200, b"{}"))
    assert rest.request("GET", "/x") == {}
    assert waits == [3.0, 1.0] and rest.retried == 2 and rest.counts == {"GET": 3}


def test_retries_are_bounded_and_waits_capped():
    rest, waits = rest_client(*[Response(500, status(500))] * 4, retries=3, max_wait=1.5)
    with pytest.raises(r.K8sApiError) as err:
        rest.request("GET", "/x")
    assert err.value.status == 500 and waits == [0.5, 1.0, 1.5]


def test_lock_races_are_retried_but_not_manager_conflicts_or_invalid_objects():
    # a server-side apply is declarative: the same request is right again after a lock race
    rest, waits = rest_client(Response(409, status(409, "Conflict", "the object has been modified")),
                              Response(200, b"{}"))
    assert rest.request("PATCH", "/x", body={}, content_type="application/apply-patch+yaml") == {}
    assert waits == [0.5]
    # a create that met AlreadyExists, or a write whose precondition failed, goes back to the caller to read again
    for method, reason in (("POST", "AlreadyExists"), ("PUT", "Conflict"), ("PATCH", "Conflict")):
        rest, waits = rest_client(Response(409, status(409, reason, "exists or modified")), Response(200, b"{}"))
        with pytest.raises(r.K8sApiError) as err:
            rest.request(method, "/x", body={}, content_type="application/merge-patch+json")
        assert err.value.reason == reason and waits == []
    rest, waits = rest_client(Response(409, status(409, "Conflict", "Apply failed",
                                                   [{"reason": "FieldManagerConflict"}])))
    with pytest.raises(r.K8sApiError):
        rest.request("PATCH", "/x")
    rest, waits2 = rest_client(Response(500, status(500, "", "failed to create typed patch object")))
    with pytest.raises(r.K8sApiError):
        rest.request("PATCH", "/x")
    assert waits == [] and waits2 == []


def test_dropped_connections_are_retried_then_reported_with_the_server():
    class ProtocolError(Exception):
        pass
    rest, waits = rest_client(ProtocolError("reset"), Response(200, b"{}"))
    assert rest.request("GET", "/x") == {} and waits == [0.5]
    rest, waits = rest_client(ValueError("bad certificate file"))
    with pytest.raises(r.K8sApiError) as err:
        rest.request("GET", "/version")
    assert waits == []  # not a transient error
    assert (err.value.status, err.value.reason, err.value.host) == (0, "ConnectionError", "https://k.example:6443")
    assert err.value.message == "GET /version failed: bad certificate file"


def test_list_items():
    rest, _waits = rest_client(Response(200, b'{"items": [{"a": 1}]}'), Response(200, b"{}"))
    assert r.list_items(rest, "/api/v1/nodes", labelSelector="x") == [{"a": 1}]
    assert r.list_items(rest, "/api/v1/nodes") == []


def test_an_untrusted_certificate_is_named_at_once_and_not_retried():
    """The official client wraps urllib3's SSLError in ApiException(status=0): no HTTP answer, no retry."""
    from kubernetes.client.exceptions import ApiException
    wrapped = ApiException(status=0, reason="SSLError([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed)")
    rest, waits = rest_client(wrapped)
    with pytest.raises(r.K8sApiError) as err:
        rest.request("GET", "/version")
    assert err.value.reason == "TLSError" and "ca_cert" in err.value.message and waits == []
    assert err.value.host == "https://k.example:6443"


def test_a_wrapped_connection_error_is_retried_then_named():
    from kubernetes.client.exceptions import ApiException
    rest, waits = rest_client(ApiException(status=0, reason="Connection refused"), Response(200, b"{}"))
    assert rest.request("GET", "/x") == {} and waits == [0.5]
    rest, waits = rest_client(*[ApiException(status=0, reason="Connection refused")] * 3, retries=2)
    with pytest.raises(r.K8sApiError) as err:
        rest.request("GET", "/x")
    assert err.value.status == 0 and err.value.reason == "ConnectionError" and len(waits) == 2


def test_plain_http_to_a_tls_port_is_named_at_once_not_retried():
    """The server drops a plain HTTP request on its TLS port: named with the fix on the first request, no retries;
    the same reset after an answer (or on an https:// URL) stays a transient error."""
    reset = ConnectionResetError(104, "Connection reset by peer")
    rest = r.RestClient(ScriptedApi(reset, host="http://k.example:6443"), sleep=[].append)
    with pytest.raises(r.K8sApiError) as err:
        rest.request("GET", "/version")
    assert "write https:// in the kubeconfig's server" in err.value.message and rest.retried == 0
    rest = r.RestClient(ScriptedApi(Response(200, b"{}"), reset, Response(200, b"{}"), host="http://k.example:6443"),
                        sleep=[].append)
    assert rest.request("GET", "/a") == {} and rest.request("GET", "/b") == {} and rest.retried == 1
    rest, waits = rest_client(reset, Response(200, b"{}"))
    assert rest.request("GET", "/x") == {} and waits == [0.5]
