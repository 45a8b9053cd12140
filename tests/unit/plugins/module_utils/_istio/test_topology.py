"""The topology table: where each install method puts things."""

import pytest

from ansible_collections.aksmesh.istio.plugins.filter.mesh import FilterModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import (
    TopologyError, addon_egress_gateway, gateway, gateway_workloads, helm_gateway_selector, ingress_service, topology)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import SERVICES
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import lint_program as mesh_lint


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


def test_the_add_on_egress_gateways_are_laid_out_by_their_names():
    """No fixed egress row for the add-on: each egress gateway AKS runs is a Service of its name, its pods
    labelled istio: <name>, in aks-istio-egress unless its entry names a namespace."""
    row = addon_egress_gateway("egress1")
    assert (row["service"], row["namespace"], row["selector"]) == ("egress1", "aks-istio-egress", {"istio": "egress1"})
    assert addon_egress_gateway("team-a", "egress-a")["namespace"] == "egress-a"
    assert addon_egress_gateway("egress1")["ports"] == [80, 443] and row["role"] == "egress"


def test_ingress_info_reads_the_same_table():
    for method in ("istioctl", "helm", "aks_addon"):
        assert SERVICES[method] == ingress_service(method)
    assert SERVICES["aks_addon_internal"] == ("aks-istio-ingressgateway-internal", "aks-istio-ingress")
    assert helm_gateway_selector("istio-ingress") == {"istio": "ingress"}
    assert helm_gateway_selector("edge") == {"istio": "edge"}


def test_the_istio_operator_names_and_selects_its_gateways_by_the_istioctl_row():
    """The IstioOperator's gateway components are where the istioctl row comes true: their names are the Services,
    their pods carry the selectors (the anti-affinity terms select them)."""
    stage = FilterModule().filters()["istio_operator"].__self__
    operator = stage.build(**dict(stage.defaults(), namespace="istio-system", profile="default", revision="", tracing={},
                                  ingress_namespace="istio-ingress", ingress_ip="", ingress_ip_resource_group="",
                                  egress_namespace="istio-egress", cni_enabled=False, cni_namespace="istio-system"))
    components = operator["spec"]["components"]
    for kind, row in (("ingressGateways", gateway("istioctl", "ingress")),
                      ("egressGateways", gateway("istioctl", "egress"))):
        (component,) = components[kind]
        assert component["name"] == row["service"]
        term = component["k8s"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
        assert term["podAffinityTerm"]["labelSelector"]["matchLabels"] == row["selector"]
    copy = gateway("istioctl", "ingress")
    copy["selector"]["istio"] = "changed"
    assert gateway("istioctl", "ingress")["selector"] == {"istio": "ingressgateway"}  # a copy, the table unchanged


class LintModule:
    def __init__(self, **params):
        self.params = dict({"src": [], "definitions": None, "root_namespace": "istio-system", "gateway_workloads": None,
                            "partial": True, "mesh_namespaces": False, "suppress": [], "output_threshold": "Info",
                            "fail_level": "never"},
                           **params)


def test_mesh_lint_places_gateways_by_the_istioctl_row_when_told_no_workloads():
    assert gateway_workloads("istioctl") == [{"selector": {"istio": "ingressgateway"}, "namespace": "istio-ingress"},
                                             {"selector": {"istio": "egressgateway"}, "namespace": "istio-egress"}]
    gw = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
          "metadata": {"name": "shop-gw", "namespace": "shop"},
          "spec": {"selector": {"istio": "ingressgateway"}, "servers": []}}
    codes = [m["code"] for m in mesh_lint.lint(LintModule(definitions=[gw]))["messages"]]
    assert codes == ["AKM0005"]
    helm = [{"selector": w["selector"], "namespace": w["namespace"]} for w in topology("helm")["gateways"].values()]
    assert mesh_lint.lint(LintModule(definitions=[gw], gateway_workloads=helm))["messages"] == []
