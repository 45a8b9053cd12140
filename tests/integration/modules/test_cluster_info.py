"""aksmesh.istio.cluster_info against the real API server (and one reached through Azure)."""

import subprocess
import sys
import pathlib

import yaml
from kubernetes import client, config

from tests.support.ansible_runner import base_env, run_module, run_playbook
from tests.support.armapi import SUBSCRIPTION, TENANT
from tests.support.cluster import ISTIO_VERSION


def test_cluster_without_istio(kube_api, kubeconfig):
    kube_api.delete("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, "gateways.networking.istio.io")
    kube_api.wait_for(lambda: not kube_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None,
                                               "gateways.networking.istio.io"), "the Gateway CRD to go")
    res = run_module("cluster_info", {"kubeconfig": kubeconfig})
    assert not res.failed, res.result
    assert res["changed"] is False
    assert res["kubernetes_version"] == {"git_version": "v1.35.4", "major": 1, "minor": 35}
    assert res["istio_crds"]["installed"] is False and "gateways.networking.istio.io" in res["istio_crds"]["missing"]
    assert res["istio_revisions"] == [] and res["injection_namespaces"] == []


def test_istio_installed_with_revisions_and_injection(kube_api, kubeconfig, tmp_path):
    iop = tmp_path / "iop.yaml"
    iop.write_text(yaml.safe_dump({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
                                   "spec": {"profile": "default", "tag": "1.30.0"}}))
    subprocess.run(["istioctl", "install", "-y", "-f", str(iop), "--kubeconfig", kubeconfig], check=True,
                   capture_output=True, timeout=600)
    core = client.CoreV1Api(config.new_client_from_config(kubeconfig))
    for name, labels in (("shop", {"istio-injection": "enabled"}), ("pay", {"istio.io/rev": "canary"}),
                         ("both", {"istio-injection": "enabled", "istio.io/rev": "canary"}), ("plain", None)):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    kube_api.clear_log()
    res = run_module("cluster_info", {"kubeconfig": kubeconfig}, check_mode=True)
    assert not res.failed, res.result
    assert res["istio_crds"]["installed"] is True and res["istio_crds"]["missing"] == []
    (rev,) = res["istio_revisions"]
    assert rev["revision"] == "default" and rev["namespace"] == "istio-system" and rev["ready"] is True
    assert rev["version"] == ISTIO_VERSION  # what the pinned istioctl installed
    modes = {n["name"]: (n["mode"], n["conflict"]) for n in res["injection_namespaces"]}
    assert modes == {"shop": ("enabled", False), "pay": ("revision", False), "both": ("enabled", True)}
    only = run_module("cluster_info", {"kubeconfig": kubeconfig, "istio_namespace": ["istio-ingress"]})
    assert only["istio_revisions"] == []
    assert kube_api.requests() and all(e.method == "GET" for e in kube_api.requests())  # read only


def test_connection_by_host_token_and_ca(kube_api):
    res = run_module("cluster_info", {"host": kube_api.url, "api_key": kube_api.token, "ca_cert": kube_api.ca_path})
    assert not res.failed, res.result
    assert kube_api.token not in res.stdout  # no_log on api_key


def test_connection_by_client_certificate(kube_api):
    cert, key = kube_api.issue_client_cert()
    res = run_module("cluster_info", {"host": kube_api.url, "ca_cert": kube_api.ca_path, "client_cert": cert,
                                      "client_key": key})
    assert not res.failed, res.result


def test_k8s_auth_environment_variables(kube_api, kubeconfig):
    res = run_module("cluster_info", {}, env={"K8S_AUTH_KUBECONFIG": kubeconfig, "K8S_AUTH_CONTEXT": "aksmesh-test"})
    assert not res.failed, res.result


def test_clear_errors(kube_api, tmp_path):
    missing = run_module("cluster_info", {"kubeconfig": str(tmp_path / "nope")})
    assert missing.failed and "does not exist" in missing["msg"] and "K8S_AUTH_KUBECONFIG" in missing["msg"]
    untrusted = run_module("cluster_info", {"host": kube_api.url, "api_key": kube_api.token})
    assert untrusted.failed and kube_api.url in untrusted["msg"] and "ca_cert" in untrusted["msg"]
    denied = run_module("cluster_info", {"host": kube_api.url, "api_key": "wrong", "ca_cert": kube_api.ca_path})
    assert denied.failed and "401" in denied["msg"]
    kube_api.kubeconfig(tmp_path / "kc")
    bad_ctx = run_module("cluster_info", {"kubeconfig": str(tmp_path / "kc"), "context": "nope"})
    assert bad_ctx.failed and "invalid kubeconfig" in bad_ctx["msg"]


def test_kubeconfig_from_azure_then_cluster_info(arm, kube_api, tmp_path):
    """Azure names to a working Kubernetes connection: kubeconfig from ARM (real Entra flow), then cluster_info."""
    arm.add_cluster("rg", "aks", kubeconfig=kube_api.kubeconfig(), kubernetes_version="1.35.4")
    from ansible_collections.aksmesh.istio.plugins.module_utils._azure.connection import AzureConnection
    from azure.mgmt.containerservice import ContainerServiceClient
    conn = AzureConnection({"subscription_id": SUBSCRIPTION, "client_id": "app-id", "secret": "app-secret",
                            "tenant": TENANT, "resource_manager_endpoint": arm.url, "authority_host": arm.url})
    assert conn.credential_kind == "service_principal"
    import os
    os.environ["REQUESTS_CA_BUNDLE"] = arm.ca_path
    try:
        creds = conn.client(ContainerServiceClient).managed_clusters.list_cluster_user_credentials("rg", "aks")
    finally:
        del os.environ["REQUESTS_CA_BUNDLE"]
    kubeconfig = yaml.safe_load(creds.kubeconfigs[0].value)
    res = run_module("cluster_info", {"kubeconfig": kubeconfig})
    assert not res.failed, res.result
    assert res["istio_crds"]["installed"] is True
    assert any(e.path.endswith("/oauth2/v2.0/token") for e in arm.requests("POST"))


def test_through_ansible_playbook_with_check_mode(kube_api, kubeconfig, tmp_path):
    play = [{"name": "inspect", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Cluster info", "aksmesh.istio.cluster_info": {"kubeconfig": kubeconfig}, "register": "info"},
        {"name": "Check", "ansible.builtin.assert": {"that": ["info.istio_crds.installed",
                                                              "info.kubernetes_version.minor >= 32"]}}]}]
    run = run_playbook(play, tmp_path, check=True)
    assert run.rc == 0, run.stdout + run.stderr
    assert run.task("Cluster info")[0]["status"] == "ok" and not run.changed


def test_ansible_doc_renders():
    out = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-doc"), "aksmesh.istio.cluster_info"],
                         capture_output=True, text=True, env=base_env(), check=False)
    assert out.returncode == 0, out.stderr
    assert "kubeconfig" in out.stdout and "istio_revisions" in out.stdout
