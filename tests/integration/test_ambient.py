"""The ambient data plane (aksmesh_dataplane_mode: ambient), istioctl and Helm methods, on the real cluster and in
render mode: the istioctl ambient profile's, or the Helm charts' (ambient profile, the ztunnel chart), istiod, CNI
agent (ambient mode) and ztunnel, ready on every kwok node; the
mesh_injection namespaces enrolled with istio.io/dataplane-mode=ambient and never labelled for injection, their pods
without sidecars; the live lint clean of the ambient mistakes; a second run changes nothing; render mode writes the
same. ztunnel itself (Rust) cannot run here: its pods are kwok's, so no assertion is made about traffic through it -
the traffic tests run on sidecars (docs/testing.md)."""

import pytest
import yaml

from tests.support.ansible_runner import REPO, run_playbook
from tests.support.cluster import ISTIO_VERSION, NODE_NAMES

AMBIENT = {
    "aksmesh_istioctl_download": False, "aksmesh_istio_version": ISTIO_VERSION, "aksmesh_addons": False,
    "aksmesh_dataplane_mode": "ambient", "mesh_injection_namespaces": [{"name": "shop"}],
    "aksmesh_grafana_passphrase": "graf-Pass-123", "aksmesh_kiali_passphrase": "kiali-Pass-456",
}


def inventory(tmp_path, host_vars):
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump({"all": {"hosts": {"aks": dict(AMBIENT, **host_vars)}}}))
    return path


@pytest.mark.parametrize("method", ["istioctl", "helm"])
def test_site_installs_ambient_and_enrols_the_namespaces_without_injection(method, kube_api, kubeconfig, tmp_path,
                                                                           istio_chart_repo):
    host = {"aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": method}
    if method == "helm":
        kube_api.remove_istio_crds()  # the base chart owns them on the Helm path
        host["istio_helm_repo"] = istio_chart_repo
    inv = inventory(tmp_path, host)
    first = run_playbook(REPO / "site.yml", tmp_path, inventory=inv)
    assert first.rc == 0, first.stdout[-4000:]
    for name in ("ztunnel", "istio-cni-node"):
        daemonset = kube_api.get("apps/v1", "DaemonSet", "istio-system", name)
        assert daemonset, name
        status = daemonset["status"]
        assert status["desiredNumberScheduled"] == status["numberReady"] == len(NODE_NAMES), (name, status)
    # the CNI agent in ambient mode (its chart's ConfigMap, which the agent reads)
    assert kube_api.get("v1", "ConfigMap", "istio-system", "istio-cni-config")["data"]["AMBIENT_ENABLED"] == "true"
    labels = kube_api.get("v1", "Namespace", None, "shop")["metadata"]["labels"]
    assert labels["istio.io/dataplane-mode"] == "ambient"
    assert "istio-injection" not in labels and "istio.io/rev" not in labels
    # a pod of the namespace gets no sidecar from the real injector
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web", "version": "v1"}},
           "spec": {"containers": [{"name": "web", "image": "example.test/web:v1"}]}}
    kube_api.create(pod)
    pod = kube_api.get("v1", "Pod", "shop", "web")
    assert [c["name"] for c in pod["spec"]["containers"]] == ["web"]
    assert not [c for c in pod["spec"].get("initContainers") or [] if c["name"].startswith("istio")]
    # the live analysis ran clean of the ambient mistakes
    lint = [t for t in first.results if t["action"] == "aksmesh.istio.mesh_lint"]
    assert lint and not [m for t in lint for m in t["result"].get("messages", [])
                         if m["code"] in ("AKM0013", "AKM0014", "AKM0015")]
    kube_api.delete("v1", "Pod", "shop", "web")
    second = run_playbook(REPO / "site.yml", tmp_path, inventory=inv)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    if method == "helm":
        # cleanup.yml removes the releases, ztunnel first
        removed = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv)
        assert removed.rc == 0, removed.stdout[-4000:]
        assert kube_api.get("apps/v1", "DaemonSet", "istio-system", "ztunnel") is None


@pytest.mark.parametrize("method", ["istioctl", "helm"])
def test_render_writes_the_ambient_control_plane_and_the_enrolled_namespace(method, tmp_path, istio_chart_repo):
    out = tmp_path / "rendered"
    run = run_playbook(REPO / "site.yml", tmp_path, inventory=inventory(tmp_path, {
        "aksmesh_target": "render", "aksmesh_render_dir": str(out), "aksmesh_install_method": method,
        "istio_helm_repo": istio_chart_repo}))
    assert run.rc == 0, run.stdout[-4000:]
    objects = [doc for path in sorted(out.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("DaemonSet", "ztunnel") in kinds and ("DaemonSet", "istio-cni-node") in kinds
    shop = [o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == "shop"]
    assert shop and shop[0]["metadata"]["labels"]["istio.io/dataplane-mode"] == "ambient"
    assert "istio-injection" not in shop[0]["metadata"]["labels"]


def test_a_waypoint_istiod_deploys_and_an_l7_policy_attached_to_it(kube_api, kubeconfig, tmp_path):
    """A namespace waypoint (mesh_injection_namespaces[].waypoint): the Gateway of class istio-waypoint that the real
    istiod deploys, the namespace's istio.io/use-waypoint label, and an L7 AuthorizationPolicy attached to the
    waypoint (mesh_authz target_refs) that istiod's webhook accepts and the live lint finds attached (no AKM0014);
    a Service waypoint (service_waypoints): its Gateway deployed too, the Service's label, a Service not there yet
    reported pending. Without them, the labels and the last waypoints go. The waypoints' Envoy is not run: it takes
    HBONE from ztunnel only (docs/testing.md)."""
    from tests.support.cluster import tool_paths  # pylint: disable=import-outside-toplevel
    from tests.support.loopback import file_server  # pylint: disable=import-outside-toplevel
    goproxy = file_server({"/sigs.k8s.io/gateway-api/@v/v1.6.0.zip": tool_paths()["gateway-api-module"].read_bytes()},
                          tmp_path, name="goproxy", content_type="application/zip")
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube_api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "reviews", "namespace": "shop"},
                     "spec": {"selector": {"app": "reviews"}, "ports": [{"name": "http", "port": 9080}]}})
    try:
        inv = inventory(tmp_path, {
            "aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "aksmesh_gateway_api_crds": True,
            "aksmesh_gateway_api_proxy": goproxy.url, "mesh_injection_namespaces": [{
                "name": "shop", "waypoint": True,
                "service_waypoints": [{"name": "reviews-waypoint", "services": ["reviews", "ratings"]}]}],
            "mesh_authz_policies": [{"name": "web-get", "namespace": "shop",
                                     "target_refs": [{"kind": "Gateway", "name": "waypoint"}],
                                     "rules": [{"to": {"methods": ["GET"], "paths": ["/api/*"]}}]}]})
        first = run_playbook(REPO / "site.yml", tmp_path, inventory=inv)
        assert first.rc == 0, first.stdout[-4000:]
    finally:
        goproxy.stop()
    assert kube_api.get("v1", "Namespace", None, "shop")["metadata"]["labels"]["istio.io/use-waypoint"] == "waypoint"
    gateway = kube_api.get("gateway.networking.k8s.io/v1", "Gateway", "shop", "waypoint")
    assert gateway["spec"]["gatewayClassName"] == "istio-waypoint"
    deployment = kube_api.wait_for(lambda: kube_api.get("apps/v1", "Deployment", "shop", "waypoint"),
                                   "the waypoint Deployment istiod deploys", timeout=60)
    assert deployment["spec"]["template"]["metadata"]["labels"]["gateway.networking.k8s.io/gateway-name"] == "waypoint"
    policy = kube_api.get("security.istio.io/v1", "AuthorizationPolicy", "shop", "web-get")
    assert policy["spec"]["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                             "name": "waypoint"}]
    # the Service waypoint: its Gateway, which istiod deploys, and the Service's label; ratings is not there yet
    assert kube_api.get("v1", "Service", "shop", "reviews")["metadata"]["labels"]["istio.io/use-waypoint"] == \
        "reviews-waypoint"
    kube_api.wait_for(lambda: kube_api.get("apps/v1", "Deployment", "shop", "reviews-waypoint"),
                      "the Service waypoint's Deployment istiod deploys", timeout=60)
    (labelled,) = [t["result"] for t in first.results if t["action"] == "aksmesh.istio.injection"]
    assert sorted((s["name"], s["action"]) for s in labelled["services"]) == [
        ("ratings", "pending"), ("reviews", "labelled")]
    lint = [t for t in first.results if t["action"] == "aksmesh.istio.mesh_lint"]
    assert lint and not [m for t in lint for m in t["result"].get("messages", []) if m["code"] == "AKM0014"]
    # without waypoint the namespace's traffic no longer goes to it: the label goes, and the injection stage prunes
    # the last waypoint (its batch is empty), whose Deployment the garbage collector then removes
    inv = inventory(tmp_path, {"aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig,
                               "aksmesh_gateway_api_crds": True, "aksmesh_gateway_api_proxy": "file:///nonexistent",
                               "mesh_injection_namespaces": [{"name": "shop"}]})
    second = run_playbook(REPO / "site.yml", tmp_path, inventory=inv, tags="injection")
    assert second.rc == 0, second.stdout[-4000:]
    assert "istio.io/use-waypoint" not in kube_api.get("v1", "Namespace", None, "shop")["metadata"]["labels"]
    assert kube_api.get("gateway.networking.k8s.io/v1", "Gateway", "shop", "waypoint") is None
    assert kube_api.get("gateway.networking.k8s.io/v1", "Gateway", "shop", "reviews-waypoint") is None
    assert "istio.io/use-waypoint" not in (kube_api.get("v1", "Service", "shop", "reviews")["metadata"].get("labels")
                                           or {})
    kube_api.wait_for(lambda: kube_api.get("apps/v1", "Deployment", "shop", "waypoint") is None,
                      "the garbage collector removing the waypoint's Deployment", timeout=60)
