"""Unit tests for _azure.aks_kube: which connection reads the AKS cluster, and how a failed read fails."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import aks_kube
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError


class Failed(Exception):
    pass


class FakeModule:
    params = {"resource_group": "rg", "name": "aks", "kubeconfig": None, "context": None, "host": None}
    no_log_values = set()

    def fail_json(self, **result):
        raise Failed(result["msg"])


class FakeRest:
    def __init__(self, answer):
        self.answer = answer

    def request(self, method, path, query=None, **kwargs):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_has_connection():
    assert not aks_kube.has_connection({"kubeconfig": None, "context": None, "host": None})
    assert aks_kube.has_connection({"context": "c"})


def use(monkeypatch, client_or_error):
    def rest_client(params, cs_client, resource_group, name, no_log_values):
        assert (resource_group, name) == ("rg", "aks")
        if isinstance(client_or_error, Exception):
            raise client_or_error
        return client_or_error
    monkeypatch.setattr(aks_kube, "rest_client", rest_client)


def read(what="capacity check of aks", fix="check the kubeconfig"):
    return aks_kube.cluster_items(FakeModule(), "cs", "/api/v1/nodes", what, fix, labelSelector="x")


def test_cluster_items_lists(monkeypatch):
    use(monkeypatch, FakeRest({"items": [{"metadata": {"name": "n1"}}]}))
    assert read() == [{"metadata": {"name": "n1"}}]


@pytest.mark.parametrize("error,message", [
    (K8sApiError(403, "Forbidden", "nodes is forbidden"),
     "capacity check of aks: 403 Forbidden: nodes is forbidden. Fix: check the kubeconfig"),
    (AzureOperationError("user credentials of AKS cluster aks: HTTP 403"),
     "capacity check of aks: user credentials of AKS cluster aks: HTTP 403. Fix: check the kubeconfig"),
    (ValueError("invalid kubeconfig"),
     "capacity check of aks: cannot reach the Kubernetes API: invalid kubeconfig. Fix: check the kubeconfig"),
])
def test_cluster_items_fails_naming_what_why_and_the_fix(monkeypatch, error, message):
    use(monkeypatch, error if not isinstance(error, K8sApiError) else FakeRest(error))
    with pytest.raises(Failed) as failed:
        read()
    assert str(failed.value) == message


def test_the_cluster_user_kubeconfig_from_arm_is_kept_out_of_output(monkeypatch):
    text = ("apiVersion: v1\nkind: Config\ncurrent-context: aks\nclusters: [{name: aks, cluster: "
            "{server: 'https://aks.example:443'}}]\ncontexts: [{name: aks, context: {cluster: aks, user: u}}]\n"
            "users: [{name: u, user: {token: arm-issued-token}}]\n")
    monkeypatch.setattr(aks_kube, "kubeconfig_text", lambda cs, rg, name: text)
    no_log = set()
    rest = aks_kube.rest_client(FakeModule.params, "cs", "rg", "aks", no_log)
    assert rest is not None and no_log == {"arm-issued-token"}
