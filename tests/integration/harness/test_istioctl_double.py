"""The istioctl double keeps the real CLI's contract (see tests/support/bin/README.md)."""

import json
import subprocess

import pytest
import yaml

from tests.support import shared_data

UPSTREAM_IO = ("operator", "cmd", "mesh", "testdata", "manifest-generate")


def istioctl(*args, env=None, check=True):
    proc = subprocess.run(["istioctl", *args], capture_output=True, text=True, env=env, timeout=120, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"istioctl {args} -> {proc.returncode}: {proc.stderr}")
    return proc


@pytest.fixture
def iop(tmp_path):
    path = tmp_path / "iop.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": {
        "profile": "default", "meshConfig": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}},
        "components": {"ingressGateways": [{"name": "istio-ingressgateway", "namespace": "istio-ingress",
                                            "enabled": True, "k8s": {"service": {"loadBalancerIP": "51.1.2.3"}}}]}}}))
    return path


def test_version_client_only(istioctl_log):
    assert istioctl("version", "--remote=false").stdout.strip() == "1.30.0"
    info = json.loads(istioctl("version", "--remote=false", "-o", "json").stdout)
    assert info["clientVersion"]["version"] == "1.30.0"


@pytest.mark.shared
def test_manifest_generate_prints_the_upstream_golden_for_an_upstream_input(istioctl_log):
    base = shared_data.upstream(*UPSTREAM_IO)
    out = istioctl("manifest", "generate", "-f", str(base / "input" / "pilot_default.yaml")).stdout
    assert out == (base / "output" / "pilot_default.golden.yaml").read_text()
    call = json.loads(istioctl_log.read_text().splitlines()[-1])
    assert call["argv"][1:3] == ["manifest", "generate"] and len(call["files"]) == 1


def test_manifest_generate_renders_any_operator(istioctl_log, iop):
    docs = [d for d in yaml.safe_load_all(istioctl("manifest", "generate", "-f", str(iop)).stdout) if d]
    svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "istio-ingressgateway")
    assert svc["metadata"]["namespace"] == "istio-ingress" and svc["spec"]["loadBalancerIP"] == "51.1.2.3"
    mesh = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "istio")
    assert yaml.safe_load(mesh["data"]["mesh"])["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}


def test_install_applies_to_the_cluster_and_uninstall_purges(istioctl_log, iop, kube_api, kubeconfig):
    out = istioctl("install", "-y", "-f", str(iop), "--kubeconfig", kubeconfig).stdout
    assert "Installation complete" in out
    deps = {k[3] for k in kube_api.state.objects if k[1] == "deployments"}
    assert {"istiod", "istio-ingressgateway"} <= deps
    svc = kube_api.state.objects[("", "services", "istio-ingress", "istio-ingressgateway")]
    assert svc["status"]["loadBalancer"]["ingress"][0]["ip"] == "51.1.2.3"
    managers = {m["manager"] for m in svc["metadata"]["managedFields"]}
    assert "istio-operator" in managers
    remote = json.loads(istioctl("version", "-o", "json", "--kubeconfig", kubeconfig).stdout)
    assert remote["meshVersion"][0]["Component"] == "istiod"
    refused = istioctl("uninstall", "--purge", "--kubeconfig", kubeconfig, check=False)
    assert refused.returncode == 1 and "confirmation" in refused.stderr
    istioctl("uninstall", "--purge", "-y", "--kubeconfig", kubeconfig)
    assert not [k for k in kube_api.state.objects if k[1] == "deployments"]


def test_install_refuses_old_kubernetes(istioctl_log, iop, kube_api, kubeconfig):
    kube_api.version.update(minor="31", gitVersion="v1.31.9")
    failed = istioctl("install", "-y", "-f", str(iop), "--kubeconfig", kubeconfig, check=False)
    assert failed.returncode == 1 and "minimum supported Kubernetes version is 1.32" in failed.stderr
    pre = istioctl("precheck", "--kubeconfig", kubeconfig, check=False)
    assert pre.returncode == 1 and "IST0174" in pre.stdout


def test_analyze_exit_codes_and_thresholds(istioctl_log, tmp_path, iop):
    msgs = [{"code": "IST0101", "level": "Error", "message": "Referenced gateway not found: \"x\"",
             "origin": "VirtualService shop/web", "documentationUrl": "https://istio.io/latest/docs/reference/"
             "config/analysis/ist0101/"},
            {"code": "IST0102", "level": "Info", "message": "The namespace is not enabled for Istio injection.",
             "origin": "Namespace shop"}]
    scenario = tmp_path / "msgs.json"
    scenario.write_text(json.dumps(msgs))
    env = dict(__import__("os").environ, ISTIOCTL_DOUBLE_ANALYZE=str(scenario))
    found = istioctl("analyze", "--use-kube=false", "-o", "json", str(iop), env=env, check=False)
    assert found.returncode == 79 and len(json.loads(found.stdout)) == 2
    warn_only = istioctl("analyze", "--use-kube=false", "-o", "json", "--output-threshold", "Warning",
                         "--failure-threshold", "Error", "-S", "IST0101=*", str(iop), env=env, check=False)
    assert warn_only.returncode == 0 and json.loads(warn_only.stdout) == []
    profile = yaml.safe_load(istioctl("profile", "dump", "default").stdout)
    assert profile["kind"] == "IstioOperator"
