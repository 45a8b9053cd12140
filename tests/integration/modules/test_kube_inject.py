"""kube_inject: the real istioctl kube-inject with a revision's injection ConfigMaps (as the real istioctl generates
them), read from the real API server or from rendered files; the result applied twice."""

import json
import subprocess

import pytest
import yaml

from tests.support.ansible_runner import TOOLS_BIN, run_module

WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}}, "template": {
           "metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The control plane objects of revision 1-30-0 as the pinned istioctl generates them, one file."""
    out = subprocess.run([str(TOOLS_BIN / "istioctl"), "manifest", "generate", "--set", "profile=minimal",
                          "--set", "revision=1-30-0"], capture_output=True, text=True, check=True, timeout=120).stdout
    path = tmp_path_factory.mktemp("generated") / "istio.yaml"
    path.write_text(out)
    return path


def configmaps(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d and d["kind"] == "ConfigMap"
            and d["metadata"]["name"] in ("istio-sidecar-injector-1-30-0", "istio-1-30-0")]


def containers(obj):
    spec = obj["spec"]["template"]["spec"]
    return [c["name"] for c in spec.get("initContainers", []) + spec["containers"]]


def test_offline_from_generated_objects_and_injecting_twice_changes_nothing(generated):
    first = run_module("kube_inject", {"definitions": [WEB, SVC], "revision": "1-30-0",
                                       "injector": [str(generated)]})
    assert not first.failed, first.result
    assert first["changed"] is False and first["source"]["from"] == "injector"
    assert first["injected"] == ["Deployment shop/web"] and first["not_injected"] == ["Service shop/web"]
    web, svc = first["definitions"]
    assert "istio-proxy" in containers(web) and svc == SVC
    status = json.loads(web["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/status"])
    assert status["revision"] == "1-30-0"
    again = run_module("kube_inject", {"definitions": first["definitions"], "revision": "1-30-0",
                                       "injector": [str(generated)]})
    assert again["definitions"] == first["definitions"] and again["injected"] == []
    assert again["already_injected"] == ["Deployment shop/web"]


def test_from_the_cluster_then_applied_twice(kube_api, kubeconfig, generated):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    for cm in configmaps(generated):
        kube_api.create(cm)
    res = run_module("kube_inject", {"kubeconfig": kubeconfig, "definitions": yaml.safe_dump_all([WEB, SVC]),
                                     "revision": "1-30-0"}, check_mode=True)
    assert not res.failed, res.result
    assert res["source"] == {"from": "cluster", "namespace": "istio-system",
                             "configmaps": ["istio-sidecar-injector-1-30-0", "istio-1-30-0"]}
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    applied = [run_module("apply", {"kubeconfig": kubeconfig, "definitions": res["definitions"]}) for _run in (1, 2)]
    assert applied[0]["changed"] and not applied[1]["changed"], applied[1].result
    live = kube_api.get("apps/v1", "Deployment", "shop", "web")
    assert "istio-proxy" in containers(live)
    # the live object, read back and injected again, is what it was: nothing to apply
    again = run_module("kube_inject", {"kubeconfig": kubeconfig, "definitions": [live], "revision": "1-30-0"})
    assert again["already_injected"] == ["Deployment shop/web"]
    assert not run_module("apply", {"kubeconfig": kubeconfig, "definitions": res["definitions"]})["changed"]


def test_a_revision_that_is_not_installed_is_named(kube_api, kubeconfig):
    res = run_module("kube_inject", {"kubeconfig": kubeconfig, "definitions": [WEB], "revision": "1-99-0"})
    assert res.failed
    assert res["msg"] == ("ConfigMap istio-system/istio-sidecar-injector-1-99-0 not found (revision 1-99-0): install "
                          "that revision first, or name the revision and Istio namespace the control plane runs "
                          "with; nothing injected")


@pytest.mark.parametrize("args, message", [
    ({"definitions": "a: ["}, "is not valid YAML"),
    ({"definitions": [{"kind": "Deployment"}]}, "lacks apiVersion, metadata.name"),
    ({"definitions": []}, "nothing to inject: give definitions or src"),
    ({"definitions": [WEB], "revision": "1.30"}, "revision"),
    ({"definitions": [WEB], "injector": ["/nonexistent"]}, "/nonexistent"),
])
def test_bad_inputs_are_named(args, message, tmp_path):
    res = run_module("kube_inject", dict(args, kubeconfig=str(tmp_path / "absent")))
    assert res.failed and message in res["msg"], res.result
