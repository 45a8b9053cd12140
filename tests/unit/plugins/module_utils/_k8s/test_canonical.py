"""Objects in the form the API server stores them: canonical quantities, field selectors with apiVersion."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._k8s.canonical import as_stored, quantity


@pytest.mark.parametrize("given, stored", [
    # the forms the API server writes back (apimachinery's Quantity.String)
    ("2000m", "2"), ("1024Mi", "1Gi"), ("2048Mi", "2Gi"), ("100m", "100m"), ("1.5", "1500m"), ("0.5", "500m"),
    ("1000", "1k"), ("1000M", "1G"), ("0.5Gi", "512Mi"), ("1536Mi", "1536Mi"), ("128Mi", "128Mi"), ("512", "512"),
    ("4096", "4096"), ("1.5Ki", "1536"), ("500Ki", "500Ki"), ("1e3", "1e3"), ("1000e0", "1e3"), ("1E", "1E"), ("1000P", "1E"), ("0", "0"),
    ("0Mi", "0"), (2, "2"), (1000, "1k"), ("-2000m", "-2"),
    # no quantity: left for the API server to refuse
    ("two", "two"), ("1.2.3", "1.2.3"), (None, None), (True, True),
])
def test_quantities_in_their_canonical_form(given, stored):
    assert quantity(given) == stored


def test_as_stored_normalises_resources_and_field_selectors_only():
    deployment = {"kind": "Deployment", "spec": {"template": {"spec": {
        "containers": [{"name": "istio-proxy",
                        "resources": {"limits": {"cpu": "2000m", "memory": "1024Mi"}, "requests": {"cpu": "100m"}},
                        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                {"name": "OTHER", "valueFrom": {"fieldRef": {"apiVersion": "v2", "fieldPath": "x"}}},
                                {"name": "PLAIN", "value": "2000m"}, {"name": "PLATFORM", "value": ""}]}],
        "volumes": [{"name": "podinfo", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]}}}}
    out = as_stored([deployment])[0]
    container = out["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m"}}
    assert [e.get("valueFrom") for e in container["env"]] == [
        {"fieldRef": {"fieldPath": "spec.nodeName", "apiVersion": "v1"}},
        {"fieldRef": {"apiVersion": "v2", "fieldPath": "x"}}, None, None]
    assert container["env"][3] == {"name": "PLATFORM"}  # the API server stores an empty value as none
    assert container["env"][2]["value"] == "2000m"  # a value that only looks like a quantity stays
    assert out["spec"]["template"]["spec"]["volumes"][0]["downwardAPI"]["items"][0]["fieldRef"] == {
        "fieldPath": "metadata.labels", "apiVersion": "v1"}
    # a copy: what was given is unchanged
    assert deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2000m"
    assert as_stored([]) == []


def test_only_the_pods_of_workloads_are_touched():
    schema = {"kind": "CustomResourceDefinition", "spec": {"versions": [{"schema": {"openAPIV3Schema": {
        "properties": {"fieldRef": {"type": "object"}, "resources": {"limits": {"cpu": "2000m"}}}}}}]}}
    assert as_stored([schema]) == [schema]
    pod = {"kind": "Pod", "spec": {"containers": [{"resources": {"limits": {"cpu": "2000m"}}}]}}
    assert as_stored([pod])[0]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2"
