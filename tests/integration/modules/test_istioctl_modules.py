"""manifest_diff, mesh_lint and istioctl_analyze, with the istioctl double and the loopback API."""

import json

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


def test_manifest_diff_of_two_operators_rendered_by_istioctl(istioctl_log):
    res = run_module("manifest_diff", {
        "before_operator": operator(profile="default"),
        "after_operator": operator(profile="default", meshConfig={"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
        "select": {"kind": "ConfigMap", "name": "istio"}})
    assert not res.failed, res.result
    (changed,) = res["changed_objects"]
    assert changed["object"] == "ConfigMap istio-system/istio" and changed["changes"][0]["path"] == "data.mesh"
    calls = [json.loads(line)["argv"][1:3] for line in istioctl_log.read_text().splitlines()]
    assert calls == [["manifest", "generate"], ["manifest", "generate"]]


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


def test_istioctl_analyze_contract(istioctl_log, kubeconfig, tmp_path, monkeypatch):
    scenario = tmp_path / "messages.json"
    scenario.write_text(json.dumps([
        {"code": "IST0102", "level": "Info", "message": "The namespace is not enabled for Istio injection.",
         "origin": "Namespace shop"},
        {"code": "IST0101", "level": "Error", "message": "Referenced gateway not found: \"x\"",
         "origin": "VirtualService shop/web", "documentationUrl": "https://istio.io/latest/docs/reference/config/"
         "analysis/ist0101/"}]))
    monkeypatch.setenv("ISTIOCTL_DOUBLE_ANALYZE", str(scenario))
    found = run_module("istioctl_analyze", {"kubeconfig": kubeconfig})
    assert found.failed and found["rc"] == 79 and found["counts"] == {"Error": 1, "Warning": 0, "Info": 1}
    assert "IST0101" in found["msg"]
    assert found["command"][:4] == [found["command"][0], "analyze", "-o", "json"]
    assert "--kubeconfig" in found["command"]
    quiet = run_module("istioctl_analyze", {"kubeconfig": kubeconfig, "suppress": ["IST0101=*"]})
    assert not quiet.failed and quiet["counts"]["Error"] == 0
    offline = run_module("istioctl_analyze", {"src": [str(tmp_path)], "use_kube": False, "fail_level": "Error",
                                              "output_threshold": "Warning", "suppress": ["IST0101=*"]})
    assert not offline.failed and offline["messages"] == [] and "--use-kube=false" in offline["command"]
    monkeypatch.setenv("ISTIOCTL_DOUBLE_ANALYZE", str(tmp_path / "missing.json"))
    broken = run_module("istioctl_analyze", {"src": [str(tmp_path)], "use_kube": False})
    assert broken.failed and "not a finding" in broken["msg"] and broken["rc"] not in (0, 79)


def test_missing_istioctl_is_explained(tmp_path):
    res = run_module("istioctl_analyze", {"src": [str(tmp_path)], "use_kube": False,
                                          "istioctl_path": str(tmp_path / "istioctl")})
    assert res.failed and "aksmesh.istio.istioctl role" in res["msg"]
