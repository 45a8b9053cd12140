"""Unit tests for _k8s.names: names are checked as the API server checks them before they reach a URL."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s import names


@pytest.mark.parametrize("kind, name, why", [
    ("Namespace", "kube-system/configmaps/victim", "is not a DNS-1123 label"),
    ("Namespace", "..", "is not a DNS-1123 label"),
    ("Namespace", "", "is empty"),
    ("Namespace", "a" * 64, "is 64 characters long; a DNS-1123 label has at most 63"),
    ("Namespace", "Shop", "is not a DNS-1123 label"),
    ("Service", "1gateway", "is not a DNS-1035 label"),
    ("ConfigMap", "a/b", "is not a DNS-1123 subdomain"),
    ("ConfigMap", "%2e%2e", "is not a DNS-1123 subdomain"),
    ("VirtualService", ".", "is not a DNS-1123 subdomain"),
    ("ConfigMap", "x" * 254, "at most 253"),
    ("Namespace", 7, "is not a string"),
    ("ClusterRole", "a/b", "is not a path segment name"),
    ("RoleBinding", "..", "is not a path segment name"),
])
def test_bad_names_are_named(kind, name, why):
    assert why in names.problem(kind, name)
    with pytest.raises(names.InvalidName, match=r"^%s name " % kind):
        names.check(kind, name)


@pytest.mark.parametrize("kind, name", [
    ("Namespace", "istio-system"), ("Service", "istio-ingressgateway"), ("ConfigMap", "istio-sidecar-injector.v1"),
    ("CustomResourceDefinition", "gateways.networking.istio.io"), ("Namespace", "a" * 63),
    ("ClusterRole", "system:aggregate-to-edit"), ("ClusterRoleBinding", "Kiali_Viewer")])
def test_good_names_pass_and_quote_to_themselves(kind, name):
    assert names.problem(kind, name) is None
    assert names.segment(kind, name) == name


def test_core_rules_stay_with_the_core_group_and_newlines_never_pass():
    assert names.problem("Service", "hello.v2", "serving.knative.dev") is None  # a Knative Service, not core
    assert "DNS-1035" in names.problem("Service", "hello.v2")
    assert names.problem("IPAddress", "2001:db8::1", "networking.k8s.io") is None
    assert "is not a DNS-1123 label" in names.problem("Namespace", "shop\n")


def test_the_error_names_what_the_caller_calls_it():
    with pytest.raises(names.InvalidName, match=r"^namespaces\[0\]\.name 'a/b' is not a DNS-1123 label"):
        names.check("Namespace", "a/b", "namespaces[0].name")
