"""Unit tests for _k8s.discovery: REST paths of resources and the lazy, cached discovery (no network)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.discovery import (
    Discovery, DiscoveryFailed, Resource, UnknownKind)
from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.rest import K8sApiError


def test_paths_of_core_group_and_cluster_scoped_resources():
    cm = Resource("", "v1", "ConfigMap", "configmaps", True)
    assert cm.api_version == "v1" and cm.base() == "/api/v1"
    assert cm.collection_path("shop") == "/api/v1/namespaces/shop/configmaps"
    assert cm.collection_path() == "/api/v1/configmaps"  # across namespaces
    assert cm.path("a", "shop") == "/api/v1/namespaces/shop/configmaps/a"
    vs = Resource("networking.istio.io", "v1", "VirtualService", "virtualservices", True)
    assert vs.api_version == "networking.istio.io/v1"
    assert vs.path("r", "shop") == "/apis/networking.istio.io/v1/namespaces/shop/virtualservices/r"
    crd = Resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False)
    assert crd.path("x", "ignored") == "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x"
    assert repr(crd) == "Resource(apiextensions.k8s.io/v1, CustomResourceDefinition)"


class FakeRest:
    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    def request(self, method, path, query=None, body=None, content_type=None, ok_missing=False):
        self.sent.append(path)
        answer = self.answers.get(path)
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def listing(*resources):
    return {"resources": [{"name": n, "kind": k, "namespaced": ns} for n, k, ns in resources]}


def test_one_request_per_group_version_and_subresources_skipped():
    rest = FakeRest({"/apis/apps/v1": listing(("deployments", "Deployment", True),
                                              ("deployments/scale", "Scale", True))})
    disc = Discovery(rest)
    dep = disc.resolve("apps/v1", "Deployment")
    assert (dep.group, dep.version, dep.plural, dep.namespaced) == ("apps", "v1", "deployments", True)
    disc.resolve("apps/v1", "Deployment")
    assert rest.sent == ["/apis/apps/v1"]
    with pytest.raises(UnknownKind):
        disc.resolve("apps/v1", "Scale")


def test_an_unknown_kind_is_looked_up_again_once_then_named_with_the_fix():
    rest = FakeRest({"/apis/networking.istio.io/v1": [None, listing(("gateways", "Gateway", True)), None, None]})
    disc = Discovery(rest)
    assert disc.resolve("networking.istio.io/v1", "Gateway").plural == "gateways"  # the CRD arrived meanwhile
    disc.forget("networking.istio.io/v1")
    with pytest.raises(UnknownKind) as err:
        disc.resolve("networking.istio.io/v1", "Gateway")
    assert "install its CustomResourceDefinition first" in str(err.value)
    assert rest.sent == ["/apis/networking.istio.io/v1"] * 4


def test_a_failed_discovery_fails_named_never_counts_as_not_served():
    """A 503 of an aggregated API is no answer: read as 'not served', state=absent reported the object gone and left
    it, state=present asked for a CRD that is installed."""
    disc = Discovery(FakeRest({"/apis/metrics.k8s.io/v1beta1": K8sApiError(503, "ServiceUnavailable", "down")}))
    with pytest.raises(DiscoveryFailed) as err:
        disc.resolve("metrics.k8s.io/v1beta1", "NodeMetrics")
    assert not isinstance(err.value, UnknownKind) and err.value.status == 503
    assert str(err.value).startswith("discovery of metrics.k8s.io/v1beta1 failed (503 ServiceUnavailable: down)")
    assert "CustomResourceDefinition" not in str(err.value)
    disc = Discovery(FakeRest({"/api/v1": K8sApiError(403, "Forbidden", "no")}))
    with pytest.raises(K8sApiError) as err:
        disc.resolve("v1", "ConfigMap")
    assert "discovery of v1 failed (403 Forbidden: no)" in str(err.value)
