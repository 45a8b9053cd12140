"""The AKS add-on's Kubernetes Gateway API ingress (``aksmesh_install_method: aks_addon``, ``aksmesh_ingress_api:
gateway_api``) on the real stack: the add-on's control plane is the real istiod of revision asm-1-28 in
aks-istio-system (what the add-on runs; the loopback ARM records the add-on's profile, it does not run istiod), the
cluster's managed Gateway API CRDs are the pinned standard channel (what AKS installs). Without the managed Gateway API
the run stops before any write to Azure or the cluster, naming the fix; with it, site.yml turns the add-on's own
external gateway off, ensures the static IP and applies the Gateway with its AKS annotations and the customization
ConfigMap within AKS's allow list, which that istiod deploys (the Deployment, the Service on the static IP, the HPA and
PDB the customizations ask for), and requests through its real Envoy reach the shop."""

import copy
import json

import yaml

from tests.integration.traffic.conftest import HOST, MESH_VARS, SHOP, SHOP_OBJECTS
from tests.support.ansible_runner import REPO, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION, NODE_IP
from tests.support.dataplane import http_request

GATEWAY_API = "gateway.networking.k8s.io/v1"
REVISION = "asm-1-28"
ADDON_NS = "aks-istio-system"
# within AKS's resource customization allow list (plugin_utils/_gateway_customizations.py)
CUSTOMIZATIONS = {
    "deployment": {"metadata": {"labels": {"team": "shop"}}, "spec": {"template": {"spec": {"containers": [
        {"name": "istio-proxy", "resources": {"requests": {"cpu": "200m"}}}]}}}},
    "service": {"metadata": {"annotations": {
        "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz/ready"}}},
    "horizontalPodAutoscaler": {"spec": {"minReplicas": 2, "maxReplicas": 3}},
    "podDisruptionBudget": {"spec": {"minAvailable": 1}},
}


def addon_control_plane(kubeconfig, tmp_path):
    """The istiod the add-on runs for its revision, in its namespace, with no gateway of its own."""
    run = run_playbook(role_play(kubeconfig, [{"role": "aksmesh.istio.istio_install", "vars": {
        "istio_install_tag": ISTIO_VERSION, "istio_install_ingress_enabled": False,
        "istio_install_egress_enabled": False, "istio_install_allow_new_revision": True}}], name="addon-istiod",
        aksmesh_istio_namespace=ADDON_NS, aksmesh_revision=REVISION), tmp_path)
    assert run.rc == 0, run.stdout[-3000:]


def inventory(tmp_path, kubeconfig_path):
    inv = tmp_path / "inventory"
    inv.mkdir(exist_ok=True)
    host = dict(MESH_VARS, aksmesh_target="cluster", aksmesh_istioctl_download=False, aksmesh_resource_group="rg",
                aksmesh_cluster_name="aks", aks_credentials_dest=kubeconfig_path, aksmesh_install_method="aks_addon",
                aksmesh_revision=REVISION, aksmesh_ingress_api="gateway_api",
                aksmesh_ingress_gateway_customizations=CUSTOMIZATIONS)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"aks": host}}}))
    return inv


def test_the_addon_serves_the_gateway_api_ingress_once_aks_has_its_managed_crds(
        arm, aks, azure_env, kube_api, kubeconfig, dataplane, gateway_api_crds, tmp_path):
    def stored():  # the managed cluster as the loopback ARM holds it now (an update replaces the object)
        return arm.resources[arm.cluster_id("rg", "aks").lower()]["properties"]
    props = aks["properties"]
    # the add-on runs with its external ingress gateway, as an earlier run with Istio's API left it
    seeded = {"mode": "Istio", "istio": {"revisions": [REVISION], "components": {
        "ingressGateways": [{"mode": "External", "enabled": True}]}}}
    props["serviceMeshProfile"] = copy.deepcopy(seeded)
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ADDON_NS}})
    addon_control_plane(kubeconfig, tmp_path)
    inv = inventory(tmp_path, str(tmp_path / "kc"))
    # without the managed Gateway API (ingressProfile.gatewayAPI): nothing is written to Azure or the cluster
    kube_api.clear_log()
    arm.clear_log()
    refused = run_playbook(REPO / "site.yml", tmp_path, inventory=inv, env=azure_env)
    assert refused.rc != 0
    assert "the cluster's managed Gateway API CRDs are not installed" in refused.stdout, refused.stdout[-3000:]
    assert "--enable-gateway-api" in refused.stdout
    assert kube_api.writes() == [], ([(w.method, w.path) for w in kube_api.writes()],
                                     [t["task"] for t in refused.results][-25:])
    assert stored()["serviceMeshProfile"] == seeded
    assert [(r.method, r.path) for r in arm.requests() if r.method in ("PUT", "PATCH", "DELETE")] == []

    # AKS installed its managed Gateway API CRDs (the fixture's, the pinned standard channel)
    stored()["ingressProfile"] = {"gatewayAPI": {"installation": "Standard"}}
    run = run_playbook(REPO / "site.yml", tmp_path, inventory=inv, env=azure_env)
    assert run.rc == 0, run.stdout[-4000:]
    # the add-on's own external gateway is off; the Gateway is the collection's, in a namespace of its own, for the
    # add-on's revision
    istio = stored()["serviceMeshProfile"]["istio"]
    assert istio["components"]["ingressGateways"] == [{"mode": "External", "enabled": False}], istio
    assert kube_api.get("v1", "Namespace", None, "istio-ingress")["metadata"]["labels"][
        "app.kubernetes.io/managed-by"] == "aksmesh"
    gateway = kube_api.get(GATEWAY_API, "Gateway", "istio-ingress", "ingress")
    assert gateway["metadata"]["labels"]["istio.io/rev"] == REVISION
    # the static IP stage's public IP, by name in the node resource group, as AKS documents the Gateway's annotations
    (ip,) = arm.public_ips()
    assert gateway["spec"]["infrastructure"]["annotations"] == {
        "service.beta.kubernetes.io/azure-pip-name": ip["name"],
        "service.beta.kubernetes.io/azure-load-balancer-resource-group": "MC_rg_aks_westeurope"}
    assert gateway["spec"]["infrastructure"]["parametersRef"] == {"group": "", "kind": "ConfigMap",
                                                                  "name": "ingress-options"}
    for obj in SHOP_OBJECTS:
        kube_api.create(obj)
    svc = kube_api.wait_for(lambda: ((kube_api.get("v1", "Service", "istio-ingress", "ingress-istio") or {})
                                     .get("status", {}).get("loadBalancer", {}).get("ingress") or [None])[0],
                            "the address of the gateway the add-on's istiod deployed", timeout=90)
    for runtime in dataplane.wait_ready("istio-ingress", timeout=120) + dataplane.wait_ready(SHOP, timeout=120):
        assert runtime.proxy is not None, f"{runtime.namespace}/{runtime.name} has no sidecar"
    dataplane.wait_proxy_ready(dataplane.pod("istio-ingress", "ingress-istio"), listeners=["0.0.0.0_80"])

    def through():
        try:
            status, _headers, body = http_request(svc["ip"], 80, "/addon", headers={"Host": HOST}, source=NODE_IP)
        except OSError:
            return None
        return body if status == 200 else None
    body = kube_api.wait_for(through, "a 200 through the add-on's Gateway API ingress", timeout=60)
    seen = json.loads(body)
    assert seen["path"] == "/addon"
    xfcc = seen["headers"]["x-forwarded-client-cert"]
    assert "URI=spiffe://cluster.local/ns/istio-ingress/sa/ingress-istio" in xfcc, xfcc
    # what the add-on's istiod deployed from the customizations: the Service on the static IP with the annotation,
    # the Deployment's label and proxy requests, the HPA and PDB it deploys only when asked
    assert svc["ip"] == ip["properties"]["ipAddress"]
    service = kube_api.get("v1", "Service", "istio-ingress", "ingress-istio")
    assert service["metadata"]["annotations"][
        "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path"] == "/healthz/ready"
    deployment = kube_api.get("apps/v1", "Deployment", "istio-ingress", "ingress-istio")
    assert deployment["metadata"]["labels"]["team"] == "shop"
    (proxy,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "istio-proxy"]
    assert proxy["resources"]["requests"]["cpu"] == "200m"
    hpa = kube_api.get("autoscaling/v2", "HorizontalPodAutoscaler", "istio-ingress", "ingress-istio")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 3)
    assert kube_api.get("policy/v1", "PodDisruptionBudget", "istio-ingress", "ingress-istio")["spec"][
        "minAvailable"] == 1
