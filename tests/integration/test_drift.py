"""Keep it there: what the collection applied, edited by hand (kubectl), on the real control plane and istiod.

Per kind the collection writes through a stage (a VirtualService's canary weights, the mesh-wide PeerAuthentication
mode, an AuthorizationPolicy rule, an injection label) and the control plane istioctl installed (the ingress gateway
Service's IP annotation): a check run (verify.yml) names field, desired and live values and the field
manager; the default (aksmesh_reconcile: report) fails at the object with that and the fix and changes nothing;
force takes the fields back and says what it overwrote; a converged cluster reports nothing. And a fleet: of two
clusters, only the one that drifted is named."""

import json

from tests.integration.test_site import MESH, SITE, inventory
from tests.support.ansible_runner import REPO, run_playbook

VERIFY = REPO / "verify.yml"
POLICY = {"name": "api-from-web", "namespace": "shop", "selector": {"app": "api"},
          "rules": [{"from": {"principals": ["shop/web"]}, "to": {"methods": ["GET"], "paths": ["/api/*"]}}]}
CLUSTER = dict(MESH, aksmesh_target="cluster", mesh_gateways_read_ingress=False, mesh_authz_policies=[POLICY])


def weights(kube_api):
    vs = kube_api.get("networking.istio.io/v1", "VirtualService", "shop", "reviews")
    return [d["weight"] for d in vs["spec"]["http"][-1]["route"]]


IPV4 = "service.beta.kubernetes.io/azure-load-balancer-ipv4"


def ingress_ip(kube_api):
    return kube_api.get("v1", "Service", "istio-ingress", "istio-ingressgateway")["metadata"]["annotations"][IPV4]


def edit_by_hand(kube_api):
    """What an operator does with kubectl: five kinds, five stages (the control plane's with istioctl install)."""
    kube_api.kubectl("annotate", "service", "istio-ingressgateway", "-n", "istio-ingress", IPV4 + "=51.124.9.9",
                     "--overwrite")
    kube_api.kubectl("label", "namespace", "shop", "istio-injection=disabled", "--overwrite")
    vs = kube_api.get("networking.istio.io/v1", "VirtualService", "shop", "reviews")
    http = vs["spec"]["http"]
    for dest, weight in zip(http[-1]["route"], (50, 50)):
        dest["weight"] = weight
    kube_api.kubectl("patch", "virtualservice", "reviews", "-n", "shop", "--type=merge",
                     "-p", json.dumps({"spec": {"http": http}}))
    kube_api.kubectl("patch", "peerauthentication", "default", "-n", "istio-system", "--type=merge",
                     "-p", json.dumps({"spec": {"mtls": {"mode": "PERMISSIVE"}}}))
    kube_api.kubectl("patch", "authorizationpolicy", "api-from-web", "-n", "shop", "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/rules/0/to/0/operation/methods", "value": ["GET", "DELETE"]}]))


def test_drift_is_reported_refused_then_taken_back(kube_api, kubeconfig, tmp_path):
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig, "aksmesh_ingress_ip": "51.124.1.2",
                                       "aksmesh_report_dir": str(tmp_path / "reports")}}, CLUSTER)
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, first.stdout[-4000:]
    clean = run_playbook(VERIFY, tmp_path, inventory=inv, check=True, diff=True)
    assert clean.rc == 0 and clean.changed == [], clean.stdout[-3000:]
    report = json.loads((tmp_path / "reports" / "aks.json").read_text())
    assert report["summary"]["clean"] and report["drift"] == [] and report["check_mode"], report
    assert report["analysis"]["istioctl"], report  # verify analyzes the live mesh in check mode

    edit_by_hand(kube_api)
    kube_api.clear_log()
    # verify.yml: read-only; each field named with its values and who changed it; the cluster fails (AWX notifies)
    found = run_playbook(VERIFY, tmp_path, inventory=inv, check=True, diff=True)
    assert found.rc != 0, found.stdout[-3000:]
    assert kube_api.writes() == []
    report = json.loads((tmp_path / "reports" / "aks.json").read_text())
    drift = dict(((d["kind"], d["path"]), d) for d in report["drift"])
    vs = drift[("VirtualService", ".spec.http")]
    assert [r["weight"] for r in vs["live"][-1]["route"]] == [50, 50]
    assert [r["weight"] for r in vs["desired"][-1]["route"]] == [80, 20]
    assert vs["managers"] == ["kubectl-patch (Update)"] and vs["stage"] == "traffic"
    pa = drift[("PeerAuthentication", ".spec.mtls.mode")]
    assert (pa["desired"], pa["live"], pa["stage"]) == ("STRICT", "PERMISSIVE", "mtls")
    assert pa["managers"] == ["kubectl-patch (Update)"]
    label = drift[("Namespace", ".metadata.labels.istio-injection")]
    assert (label["desired"], label["live"], label["stage"]) == ("enabled", "disabled", "injection")
    assert label["managers"] == ["kubectl-label (Update)"] and label["name"] == "shop"
    svc = drift[("Service", ".metadata.annotations." + IPV4)]
    assert (svc["desired"], svc["live"], svc["stage"]) == ("51.124.1.2", "51.124.9.9", "istio")
    assert svc["managers"] == ["kubectl-annotate (Update)"] and svc["namespace"] == "istio-ingress"
    ap = drift[("AuthorizationPolicy", ".spec.rules")]
    assert ap["live"][0]["to"][0]["operation"]["methods"] == ["GET", "DELETE"] and ap["stage"] == "authz"
    assert sorted(report["summary"]["drifted_objects"]) == [
        "AuthorizationPolicy shop/api-from-web", "Namespace shop", "PeerAuthentication istio-system/default",
        "Service istio-ingress/istio-ingressgateway", "VirtualService shop/reviews"]
    failure = found.task("Fail the cluster that drifted (verify.yml)")[0]["result"]["msg"]
    assert "VirtualService shop/reviews" in failure and "aksmesh_reconcile: force" in failure, failure
    fleet = found.task("Drift of each cluster of the run, one line per cluster")[0]["result"]["msg"]
    # (the live lint failed the host too: the mesh-wide PeerAuthentication is no longer STRICT, AKM0006)
    assert fleet == ["aks: " + report["summary"]["line"] + " (the run failed on it)"], fleet
    assert "AKM0006" in found.stdout

    # site.yml with the default (report): fails at the first drifted stage (the control plane: istioctl install is
    # not run), naming the object, field, values and manager, and changes none of them
    refused = run_playbook(SITE, tmp_path, inventory=inv)
    assert refused.rc != 0
    failed = refused.task("Compare the control plane with the cluster")[0]["result"]
    assert "aksmesh_reconcile: force" in failed["msg"] and "kubectl-annotate" in failed["msg"], failed["msg"]
    assert "Service istio-ingress/istio-ingressgateway" in failed["msg"] and '"51.124.9.9"' in failed["msg"]
    assert ingress_ip(kube_api) == "51.124.9.9"
    assert kube_api.get("v1", "Namespace", None, "shop")["metadata"]["labels"]["istio-injection"] == "disabled"
    assert weights(kube_api) == [50, 50]
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system",
                        "default")["spec"]["mtls"]["mode"] == "PERMISSIVE"

    # force: every field taken back, the report says what was overwritten and from whom; then nothing to do
    forced = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_reconcile": "force"})
    assert forced.rc == 0, forced.stdout[-4000:]
    assert weights(kube_api) == [80, 20] and ingress_ip(kube_api) == "51.124.1.2"
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system",
                        "default")["spec"]["mtls"]["mode"] == "STRICT"
    taken = json.loads((tmp_path / "reports" / "aks.json").read_text())
    assert sorted(d["kind"] for d in taken["drift"]) == ["AuthorizationPolicy", "Namespace", "PeerAuthentication",
                                                         "Service", "VirtualService"], taken
    assert all(d["action"] in ("configured", "labelled") and d["managers"][0].startswith("kubectl-")
               for d in taken["drift"])
    assert kube_api.get("v1", "Namespace", None, "shop")["metadata"]["labels"]["istio-injection"] == "enabled"
    again = run_playbook(SITE, tmp_path, inventory=inv)
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]
    assert json.loads((tmp_path / "reports" / "aks.json").read_text())["summary"]["clean"]


def test_a_fleet_names_only_the_cluster_that_drifted(kube_api, kubeconfig, tmp_path):
    """Two inventory hosts, two meshes on one API server (their own namespaces): one edited by hand."""
    def host(name, ns):
        return {"aksmesh_kubeconfig": kubeconfig, "aksmesh_report_dir": str(tmp_path / "reports"),
                "mesh_traffic_services": [{"name": "reviews", "namespace": ns, "subsets": ["v1", "v2"],
                                           "canary": {"weights": {"v1": 80, "v2": 20}}}],
                "mesh_injection_namespaces": [{"name": ns}], "mesh_egress_namespaces": [ns]}
    only_traffic = {"aksmesh_target": "cluster", "aksmesh_istioctl_download": False, "aksmesh_addons": False,
                    "aksmesh_secrets": False, "aksmesh_analyze": False}
    inv = inventory(tmp_path, {"one": host("one", "shop-one"), "two": host("two", "shop-two")}, only_traffic)
    first = run_playbook(SITE, tmp_path, inventory=inv, tags="injection,traffic")
    assert first.rc == 0, first.stdout[-4000:]
    kube_api.kubectl("patch", "virtualservice", "reviews", "-n", "shop-two", "--type=merge", "-p", json.dumps(
        {"spec": {"http": [{"route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 100}]}]}}))
    found = run_playbook(VERIFY, tmp_path, inventory=inv, check=True, tags="injection,traffic")
    assert found.rc != 0, found.stdout[-3000:]
    assert (tmp_path / "reports" / "one.json").exists(), [
        line for line in found.stdout.splitlines() if "ERROR" in line or "fatal" in line or "report" in line]
    fleet = found.task("Drift of each cluster of the run, one line per cluster")[0]["result"]["msg"]
    assert fleet[0] == "one: no drift", fleet
    assert fleet[1].startswith("two: 1 drifted field(s) in VirtualService shop-two/reviews"), fleet
    assert json.loads((tmp_path / "reports" / "one.json").read_text())["summary"]["clean"]
    assert not json.loads((tmp_path / "reports" / "two.json").read_text())["summary"]["clean"]
