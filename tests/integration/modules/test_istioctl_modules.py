"""manifest_diff, mesh_lint and istioctl_analyze, with the real istioctl and the real API server."""

import pytest
import yaml

from tests.support import shared_data
from tests.support.ansible_runner import run_module

GOLDENS = ("operator", "cmd", "mesh", "testdata", "manifest-generate")


def operator(**spec):
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec}


@pytest.mark.shared
def test_manifest_diff_of_two_upstream_goldens():
    out = shared_data.upstream(*GOLDENS, "output")
    res = run_module("manifest_diff", {"before_path": str(out / "pilot_default.golden.yaml"),
                                       "after_path": str(out / "pilot_override_values.golden.yaml")}, diff=True)
    assert not res.failed, res.result
    assert res["differs"] and res["changed"] is False
    assert res["counts"]["changed"] + res["counts"]["added"] + res["counts"]["removed"] > 0
    assert res.result["diff"]["prepared"].startswith("--- a/")


def test_manifest_diff_of_two_operators_rendered_by_istioctl():
    res = run_module("manifest_diff", {
        "before_operator": operator(profile="default"),
        "after_operator": operator(profile="default", meshConfig={"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
        "select": {"kind": "ConfigMap", "name": "istio"}})
    assert not res.failed, res.result
    (changed,) = res["changed_objects"]
    assert changed["object"] == "ConfigMap istio-system/istio" and changed["changes"][0]["path"] == "data.mesh"


def test_manifest_diff_bad_input_and_failed_when():
    bad = run_module("manifest_diff", {"before": "a: [", "after": []})
    assert bad.failed and "not valid YAML" in bad["msg"]
    same = run_module("manifest_diff", {"before": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "a"}}], "after": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    assert not same.failed and same["differs"] is False


def test_mesh_lint_files_and_live(kube_api, kubeconfig, tmp_path):
    (tmp_path / "se.yaml").write_text(yaml.safe_dump({
        "apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "api", "namespace": "s"},
        "spec": {"hosts": ["api.example.com"]}}))
    files = run_module("mesh_lint", {"src": [str(tmp_path)], "partial": True})
    assert not files.failed and [m["code"] for m in files["messages"]] == ["AKM0004"]
    strict = run_module("mesh_lint", {"src": [str(tmp_path)], "partial": True, "fail_level": "Warning"})
    assert strict.failed and "AKM0004" in strict["msg"]
    live = run_module("mesh_lint", {"kubeconfig": kubeconfig, "fail_level": "never"})
    assert not live.failed and [m["code"] for m in live["messages"]] == ["AKM0006"]


VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "web", "namespace": "shop"},
      "spec": {"hosts": ["web.example.com"], "gateways": ["no-such-gateway"],
               "http": [{"route": [{"destination": {"host": "web"}}]}]}}


def test_istioctl_analyze_live_and_offline(kube_api, kubeconfig, tmp_path):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube_api.create(VS)
    found = run_module("istioctl_analyze", {"kubeconfig": kubeconfig, "namespace": "shop"})
    assert found.failed and found["rc"] == 0, found.result  # istioctl exits 0 for -o json: the module decides
    assert [m["level"] for m in found["messages"] if m["code"] == "IST0101" and "no-such-gateway" in m["message"]
            and m["origin"] == "VirtualService shop/web"] == ["Error"]
    assert "IST0101" in found["msg"] and found["counts"]["Error"] >= 1
    assert found["command"][1:4] == ["analyze", "-o", "json"] and "--kubeconfig" in found["command"]
    quiet = run_module("istioctl_analyze", {"kubeconfig": kubeconfig, "namespace": "shop",
                                            "suppress": ["IST0101=*"]})
    assert not quiet.failed and quiet["counts"]["Error"] == 0, quiet.result
    (tmp_path / "vs.yaml").write_text(yaml.safe_dump(VS))
    offline = run_module("istioctl_analyze", {"src": [str(tmp_path)], "use_kube": False})
    assert offline.failed and "IST0101" in [m["code"] for m in offline["messages"]]
    assert "--use-kube=false" in offline["command"]
    calm = run_module("istioctl_analyze", {"src": [str(tmp_path)], "use_kube": False, "fail_level": "Error",
                                           "output_threshold": "Warning", "suppress": ["IST0101=*"]})
    assert not calm.failed and [m["code"] for m in calm["messages"]] == ["IST0132"], calm.result  # a Warning
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    broken = run_module("istioctl_analyze", {"src": [str(tmp_path / "broken.yaml")], "use_kube": False})
    assert broken.failed and "could not parse" in broken["msg"] and "broken.yaml" in broken["msg"], broken.result


def test_analysis_of_the_mesh_namespaces_only(kube_api, kubeconfig):
    """mesh_namespaces: one istioctl run over every namespace, the findings of the namespaces the collection created
    or enrolled in injection kept, another team's namespace left out (and reported with all_namespaces)."""
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {
        "istio-injection": "enabled"}}})
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "legacy"}})
    kube_api.create(VS)
    kube_api.create(dict(VS, metadata={"name": "old", "namespace": "legacy"}))
    mesh = run_module("istioctl_analyze", {"kubeconfig": kubeconfig, "mesh_namespaces": True})
    assert mesh.failed and "-A" in mesh["command"] and "shop" in mesh["namespaces"], mesh.result
    assert "legacy" not in mesh["namespaces"]
    origins = {m["origin"] for m in mesh["messages"] if m["code"] == "IST0101"}
    assert origins == {"VirtualService shop/web"}, mesh["messages"]
    assert "VirtualService shop/web" in mesh["msg"] and "legacy" not in mesh["msg"]
    everything = run_module("istioctl_analyze", {"kubeconfig": kubeconfig, "all_namespaces": True,
                                                 "mesh_namespaces": True})
    assert {m["origin"] for m in everything["messages"] if m["code"] == "IST0101"} == {
        "VirtualService shop/web", "VirtualService legacy/old"}, everything.result
    assert everything["namespaces"] is None
    # the mesh lint keeps the same namespaces: legacy's Gateway reference is not reported
    lint = run_module("mesh_lint", {"kubeconfig": kubeconfig, "mesh_namespaces": True, "fail_level": "never"})
    assert not lint.failed, lint.result
    assert not [m for m in lint["messages"] if "legacy/" in m.get("origin", "")], lint["messages"]
    assert [m for m in lint["messages"] if m.get("origin") == "VirtualService shop/web"], lint["messages"]
    wrong = run_module("mesh_lint", {"definitions": [VS], "mesh_namespaces": True})
    assert wrong.failed and "mesh_namespaces=true" in wrong["msg"]


def deployment(name, namespace, labels):
    meta = {"name": name, "namespace": namespace, "labels": labels}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
                "containers": [{"name": name, "image": name}]}}}}


def test_the_live_lint_checks_the_app_version_labels_of_the_users_workloads_not_istios(kube_api, kubeconfig):
    """On a cluster target the mesh lint reads the live workloads: the user's in an enrolled namespace are checked
    for app/version labels (AKM0001), istiod, a gateway and an addon beside them are not (no user can label
    them)."""
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lint-shop", "labels": {
        "istio.io/rev": "asm-1-28"}}})
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lint-istio", "labels": {
        "app.kubernetes.io/managed-by": "aksmesh"}}})
    kube_api.create(deployment("cart", "lint-shop", {"app": "cart"}))                       # the user's: no version
    kube_api.create(deployment("web", "lint-shop", {"app": "web", "version": "v1"}))        # the user's, labelled
    kube_api.create(deployment("istiod", "lint-istio", {"app": "istiod", "istio": "pilot"}))
    kube_api.create(deployment("gw", "lint-istio", {"istio": "aks-istio-ingressgateway-external"}))
    kube_api.create(deployment("grafana", "lint-istio", {"app.kubernetes.io/name": "grafana",
                                                         "aksmesh.io/addon": "grafana"}))
    lint = run_module("mesh_lint", {"kubeconfig": kubeconfig, "mesh_namespaces": True, "fail_level": "never"})
    assert not lint.failed, lint.result
    assert [m["origin"] for m in lint["messages"] if m["code"] == "AKM0001"] == ["Deployment lint-shop/cart"], \
        lint["messages"]


def test_the_live_lint_finds_the_ambient_mistakes(kube_api, kubeconfig):
    """A namespace in ambient mode that is also labelled for injection (AKM0013, an Error: the run that made it
    fails) and an L7 AuthorizationPolicy there without a waypoint (AKM0014), as the API server holds them."""
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lint-ambient", "labels": {
        "istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"}}})
    kube_api.create({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                     "metadata": {"name": "get-only", "namespace": "lint-ambient"},
                     "spec": {"selector": {"matchLabels": {"app": "web"}},
                              "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}})
    lint = run_module("mesh_lint", {"kubeconfig": kubeconfig, "mesh_namespaces": False})
    assert lint.failed and "AKM0013" in lint["msg"], lint.result
    assert [(m["code"], m["origin"]) for m in lint["messages"] if m["code"] in ("AKM0013", "AKM0014")] == [
        ("AKM0013", "Namespace lint-ambient/lint-ambient"), ("AKM0014", "AuthorizationPolicy lint-ambient/get-only")]


def test_missing_istioctl_is_explained(tmp_path):
    res = run_module("istioctl_analyze", {"src": [str(tmp_path)], "use_kube": False,
                                          "istioctl_path": str(tmp_path / "istioctl")})
    assert res.failed and "aksmesh.istio.istioctl role" in res["msg"]
