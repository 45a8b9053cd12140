"""Unit tests for _k8s.errors: the one way a Kubernetes module ends."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import errors
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.connection import K8sConnectionError
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError


class Ended(Exception):
    def __init__(self, how, result):
        super(Ended, self).__init__(how)
        self.how, self.result = how, result


class FakeModule:
    def exit_json(self, **result):
        raise Ended("exit", result)

    def fail_json(self, **result):
        raise Ended("fail", result)


def end(fn, **kwargs):
    with pytest.raises(Ended) as ended:
        errors.run(FakeModule(), fn, **kwargs)
    return ended.value


def raises(exc):
    def fn():
        raise exc
    return fn


def test_the_result_exits():
    ended = end(lambda: {"changed": True, "x": 1})
    assert ended.how == "exit" and ended.result == {"changed": True, "x": 1}


def test_an_api_error_fails_naming_what_the_module_did_with_its_partial_result():
    ended = end(raises(K8sApiError(403, "Forbidden", "namespaces is forbidden")), what="reading the cluster failed",
                partial=lambda: {"results": [{"name": "a"}]})
    assert ended.how == "fail"
    assert ended.result["msg"] == "reading the cluster failed: 403 Forbidden: namespaces is forbidden"
    assert ended.result["results"] == [{"name": "a"}] and "K8sApiError" in ended.result["exception"]


def test_the_default_message_and_no_partial_result():
    ended = end(raises(K8sApiError(401, "Unauthorized", "Unauthorized")))
    assert ended.result["msg"] == "Kubernetes API request failed: 401 Unauthorized: Unauthorized"
    assert set(ended.result) == {"msg", "exception"}


def test_an_unreachable_server_is_named_with_the_options_to_check():
    exc = K8sApiError(0, "ConnectionError", "GET /version failed: SSLError", host="https://10.0.0.1:6443")
    msg = end(raises(exc)).result["msg"]
    assert msg.startswith("Kubernetes API request failed: cannot reach the Kubernetes API at https://10.0.0.1:6443: "
                          "GET /version failed: SSLError.")
    assert "kubeconfig/context, host, ca_cert and validate_certs" in msg


def test_a_connection_error_fails_with_its_own_message():
    ended = end(raises(K8sConnectionError("kubeconfig /nope does not exist")))
    assert ended.how == "fail" and ended.result == {"msg": "kubeconfig /nope does not exist"}


def test_other_errors_are_not_swallowed():
    with pytest.raises(ZeroDivisionError):
        errors.run(FakeModule(), lambda: 1 // 0)
