"""The Helm releases carry the istioctl path's production values, under the names the upstream charts read."""

import pytest

from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import static_ip_service
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError

# the istio_helm role's settings on the helm method (the role argument spec's defaults for the rest)
CFG = {"namespace": "istio-system", "revision": "", "revision_tags": [], "tracing": {},
       "ingress_release": "istio-ingress", "ingress_namespace": "istio-ingress", "ingress_selector": {"istio": "ingress"},
       "ingress_ip": "51.124.1.2", "ingress_ip_resource_group": "rg-net",
       "egress_release": "istio-egressgateway", "egress_namespace": "istio-egress",
       "egress_selector": {"istio": "egressgateway"}, "cni_enabled": False, "cni_namespace": "istio-system",
       "profile": "default"}
STAGE = dict((stage.name, stage) for stage in STAGES)["helm_releases"]


def releases(cfg):
    return STAGE.build(**dict(STAGE.defaults(), **cfg))


def test_releases_in_order_with_ha_linux_and_static_ip():
    base, istiod, ingress, egress = releases(CFG)
    assert [r["chart"] for r in (base, istiod, ingress, egress)] == ["base", "istiod", "gateway", "gateway"]
    assert istiod["values"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert istiod["values"]["autoscaleMin"] == 2 and istiod["values"]["global"]["defaultPodDisruptionBudget"] == {
        "enabled": True}
    assert istiod["values"]["meshConfig"]["enablePrometheusMerge"] is True
    assert ingress["values"]["autoscaling"]["minReplicas"] == 2 and ingress["values"]["podDisruptionBudget"]
    assert ingress["values"]["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0][
        "podAffinityTerm"]["labelSelector"] == {"matchLabels": {"istio": "ingress"}}
    assert ingress["values"]["service"] == {"annotations": {
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "51.124.1.2",
        "service.beta.kubernetes.io/azure-load-balancer-resource-group": "rg-net"}}
    assert egress["values"]["service"] == {"type": "ClusterIP"}


def test_cni_chart_goes_in_before_istiod_which_injects_without_istio_init():
    plain = releases(CFG)
    assert "cni" not in [r["chart"] for r in plain] and "pilot" not in plain[1]["values"]
    base, cni, istiod, ingress, egress = releases(dict(CFG, cni_enabled=True))
    assert [r["chart"] for r in (base, cni, istiod)] == ["base", "cni", "istiod"]
    assert (cni["name"], cni["namespace"], cni["values"]) == ("istio-cni", "istio-system", {})
    assert cni["depends_on"] == [{"name": "istio-base", "namespace": "istio-system"}]
    assert istiod["depends_on"] == [{"name": "istio-base", "namespace": "istio-system"},
                                    {"name": "istio-cni", "namespace": "istio-system"}]
    assert istiod["values"]["pilot"] == {"cni": {"enabled": True}}
    assert ingress["depends_on"] == egress["depends_on"] == [{"name": "istiod", "namespace": "istio-system"}]
    # kube-system, a release name of one's own; a user's istiod values still merge over pilot
    cni, istiod = releases(dict(CFG, cni_enabled=True, cni_namespace="kube-system", cni_release="cni",
                                istiod_values={"pilot": {"env": {"A": "1"}}}))[1:3]
    assert (cni["name"], cni["namespace"]) == ("cni", "kube-system")
    assert istiod["values"]["pilot"] == {"cni": {"enabled": True}, "env": {"A": "1"}}
    with pytest.raises(MeshConfigError, match=r"^cni_namespace: 'default': the Istio CNI node agent goes into"):
        releases(dict(CFG, cni_enabled=True, cni_namespace="default"))
    with pytest.raises(MeshConfigError, match=r"^cni_release: is empty"):
        releases(dict(CFG, cni_enabled=True, cni_release=""))


def test_revision_names_istiod_and_user_values_win():
    out = releases(dict(CFG, revision="1-31", istiod_values={"pilot": {"env": {"A": "1"}}, "autoscaleMin": 3},
                        hpa_min=1))
    assert out[0]["values"] == {"defaultRevision": "1-31"}
    assert out[1]["name"] == "istiod-1-31" and out[1]["values"]["revision"] == "1-31"
    assert "revisionTags" not in out[1]["values"]
    tagged = releases(dict(CFG, revision="1-31", revision_tags=["default"]))
    assert tagged[1]["values"]["revisionTags"] == ["default"]
    assert out[1]["values"]["autoscaleMin"] == 3 and out[1]["values"]["pilot"] == {"env": {"A": "1"}}
    assert "podDisruptionBudget" not in out[2]["values"]  # one replica: a PDB would block node drains
    with pytest.raises(MeshConfigError, match=r"^hpa_min: 6 is greater than hpa_max \(5\)"):
        releases(dict(CFG, hpa_min=6))
    without_egress = releases(dict(CFG, egress_enabled=False, ingress_enabled=False))
    assert [r["chart"] for r in without_egress] == ["base", "istiod"]


@pytest.mark.parametrize("ingress,spec,annotations", [
    ({"pip_name": "pip-istio", "ip": "51.1.1.1", "ip_resource_group": "rg"}, {},
     {"service.beta.kubernetes.io/azure-pip-name": "pip-istio",
      "service.beta.kubernetes.io/azure-load-balancer-resource-group": "rg"}),
    ({"ip": "51.1.1.1"}, {}, {"service.beta.kubernetes.io/azure-load-balancer-ipv4": "51.1.1.1"}),
    ({"ip": "51.1.1.1", "load_balancer_ip": True}, {"loadBalancerIP": "51.1.1.1"},
     {"service.beta.kubernetes.io/azure-load-balancer-ipv4": "51.1.1.1"}),
    ({"ip_resource_group": "rg", "dns_label": "shop"}, {}, {"service.beta.kubernetes.io/azure-dns-label-name": "shop"}),
    ({"source_ranges": ["203.0.113.0/24"]}, {"loadBalancerSourceRanges": ["203.0.113.0/24"]}, {}),
    ({"source_ranges": []}, {}, {}),
])
def test_static_ip_the_way_aks_asks_for_it(ingress, spec, annotations):
    assert static_ip_service(ingress) == (spec, annotations)


def test_source_ranges_reach_the_gateway_charts_service_values_and_the_operators_service():
    _base, _istiod, ingress, egress = releases(dict(CFG, ingress_source_ranges=["203.0.113.0/24", "10.1.0.0/16"]))
    assert ingress["values"]["service"]["loadBalancerSourceRanges"] == ["203.0.113.0/24", "10.1.0.0/16"]
    assert "loadBalancerSourceRanges" not in egress["values"]["service"]
    assert "loadBalancerSourceRanges" not in releases(CFG)[2]["values"]["service"]
    operator = dict((stage.name, stage) for stage in STAGES)["istio_operator"]
    iop = operator.build(**dict(operator.defaults(), namespace="istio-system", profile="default", revision="", tracing={},
                                ingress_namespace="istio-ingress", egress_namespace="istio-egress", cni_enabled=False,
                                cni_namespace="istio-system", ingress_ip="", ingress_ip_resource_group="",
                                ingress_source_ranges=["203.0.113.0/24"]))
    (gateway,) = iop["spec"]["components"]["ingressGateways"]
    assert gateway["k8s"]["service"] == {"loadBalancerSourceRanges": ["203.0.113.0/24"]}


def test_ambient_installs_the_cni_and_ztunnel_charts_with_the_ambient_profile():
    """Istio's Helm install of ambient mode: istiod and cni with the chart profile ambient (cni whatever
    cni_enabled says), ztunnel after istiod, of the revision."""
    base, cni, istiod, ztunnel, ingress, egress = releases(dict(CFG, profile="ambient", revision="1-31"))
    assert (cni["chart"], cni["values"]) == ("cni", {"profile": "ambient"})
    assert istiod["values"]["profile"] == "ambient" and istiod["values"]["pilot"] == {"cni": {"enabled": True}}
    assert (ztunnel["name"], ztunnel["chart"], ztunnel["namespace"]) == ("ztunnel", "ztunnel", "istio-system")
    assert ztunnel["values"] == {"profile": "ambient", "revision": "1-31"}
    assert ztunnel["depends_on"] == [{"name": istiod["name"], "namespace": "istio-system"}]
    assert "profile" not in releases(CFG)[1]["values"]
