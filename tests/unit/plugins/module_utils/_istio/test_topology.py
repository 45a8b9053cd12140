"""The topology table: where each install method puts things."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import (
    TopologyError, helm_gateway_selector, ingress_service, topology)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import SERVICES


def test_istioctl_and_helm_defaults():
    t = topology("istioctl")
    assert t["istio_namespace"] == t["root_namespace"] == "istio-system"
    assert t["gateways"]["ingress"]["selector"] == {"istio": "ingressgateway"}
    assert t["gateways"]["ingress"]["ports"] == [8080, 8443]
    assert t["injection_labels"] == {"istio-injection": "enabled"}
    h = topology("helm", "mesh-system", "edge", "out", "1-31")
    assert h["istio_namespace"] == "mesh-system" and h["gateway_namespaces"] == ["edge", "out"]
    assert h["gateways"]["ingress"]["selector"] == helm_gateway_selector(h["gateways"]["ingress"]["service"])
    assert h["injection_labels"] == {"istio.io/rev": "1-31"}


def test_addon_places_everything_itself_and_injects_by_revision():
    t = topology("aks_addon", revision="asm-1-28")
    assert t["istio_namespace"] == t["root_namespace"] == "aks-istio-system"
    assert t["gateway_namespaces"] == ["aks-istio-ingress"] and "egress" not in t["gateways"]
    assert t["injection_labels"] == {"istio.io/rev": "asm-1-28"}
    assert t["addons_namespace"] == "istio-system"
    with pytest.raises(TopologyError, match="aksmesh_istio_namespace 'istio-system'.*remove the setting"):
        topology("aks_addon", istio_namespace="istio-system")
    with pytest.raises(TopologyError, match="use one of"):
        topology("kubectl")


def test_ingress_info_reads_the_same_table():
    for method in ("istioctl", "helm", "aks_addon"):
        assert SERVICES[method] == ingress_service(method)
    assert SERVICES["aks_addon_internal"] == ("aks-istio-ingressgateway-internal", "aks-istio-ingress")
    assert helm_gateway_selector("istio-ingress") == {"istio": "ingress"}
    assert helm_gateway_selector("edge") == {"istio": "edge"}
