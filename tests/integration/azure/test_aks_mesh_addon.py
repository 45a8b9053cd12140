"""aksmesh.istio.aks_mesh_addon: the managed Istio add-on's lifecycle against the loopback ARM."""

import pytest
from kubernetes import client, config

from tests.support.ansible_runner import run_module


@pytest.fixture
def cluster(arm, kube_api):
    return arm.add_cluster("rg", "aks", kubeconfig=kube_api.kubeconfig())


def addon(azure_env, check_mode=False, diff=False, **args):
    return run_module("aks_mesh_addon", dict({"resource_group": "rg", "name": "aks"}, **args), env=azure_env,
                      check_mode=check_mode, diff=diff)


def puts(arm):
    return arm.requests("PUT", r"/managedClusters/aks$")


def mesh(arm):
    return arm.resources[arm.cluster_id("rg", "aks").lower()]["properties"]["serviceMeshProfile"]


def test_lifecycle_enable_canary_complete_disable(arm, azure_env, cluster):
    info = addon(azure_env, report_only=True)
    assert info["available_revisions"] == ["asm-1-25", "asm-1-26", "asm-1-27", "asm-1-28"]  # Kubernetes 1.32 here
    assert info["revisions"] == [] and info["changed"] is False
    check = addon(azure_env, check_mode=True, revisions=["asm-1-25"], external_ingress_gateway=True)
    assert check["changed"] and check["action"] == "enable" and puts(arm) == []
    arm.lro_polls = 3
    enabled = addon(azure_env, diff=True, revisions=["asm-1-25"], external_ingress_gateway=True)
    assert not enabled.failed, enabled.result
    assert enabled["action"] == "enable" and enabled["revisions"] == ["asm-1-25"]
    assert enabled["progress"][-1] == "Succeeded" and len(enabled["progress"]) >= 2
    assert mesh(arm)["mode"] == "Istio" and mesh(arm)["istio"]["revisions"] == ["asm-1-25"]
    assert enabled["ingress_gateway_services"] == [{"namespace": "aks-istio-ingress", "mode": "External",
                                                    "service": "aks-istio-ingressgateway-external"}]
    assert enabled["diff"]["before"] == {"mode": "Disabled"}
    assert addon(azure_env, revisions=["asm-1-25"], external_ingress_gateway=True)["changed"] is False
    assert addon(azure_env)["action"] == "unchanged"  # no revisions: keep the current ones
    assert len(puts(arm)) == 1

    jump = addon(azure_env, revisions=["asm-1-26"])
    assert jump.failed and "canary" in jump["msg"] and "[asm-1-25, asm-1-26]" in jump["msg"]
    too_far = addon(azure_env, revisions=["asm-1-25", "asm-1-27"])
    assert too_far.failed and "upgrades offered: asm-1-26" in too_far["msg"]
    assert len(puts(arm)) == 1

    start = addon(azure_env, revisions=["asm-1-25", "asm-1-26"])
    assert start["action"] == "upgrade_start" and sorted(mesh(arm)["istio"]["revisions"]) == ["asm-1-25", "asm-1-26"]
    assert mesh(arm)["istio"]["components"]["ingressGateways"] == [{"mode": "External", "enabled": True}]
    assert addon(azure_env, revisions=["asm-1-26", "asm-1-25"])["changed"] is False
    assert addon(azure_env, check_mode=True, revisions=["asm-1-25"])["action"] == "rollback"
    done = addon(azure_env, revisions=["asm-1-26"])
    assert done["action"] == "upgrade_complete" and mesh(arm)["istio"]["revisions"] == ["asm-1-26"]

    internal = addon(azure_env, internal_ingress_gateway=True, external_ingress_gateway=False)
    assert internal["action"] == "gateways"
    assert [g["service"] for g in internal["ingress_gateway_services"]] == ["aks-istio-ingressgateway-internal"]

    off = addon(azure_env, state="absent")
    assert off["action"] == "disable" and mesh(arm) == {"mode": "Disabled"}
    assert addon(azure_env, state="absent")["changed"] is False


def test_refuses_next_to_a_self_managed_istio(arm, azure_env, cluster, kube_api):
    api = config.new_client_from_config_dict(kube_api.kubeconfig())
    client.CoreV1Api(api).create_namespace({"metadata": {"name": "istio-system"}})
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("istio-system", {
        "metadata": {"name": "istiod", "labels": {"app": "istiod"}},
        "spec": {"selector": {"matchLabels": {"app": "istiod"}}, "template": {
            "metadata": {"labels": {"app": "istiod"}},
            "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.30.0"}]}}}})
    res = addon(azure_env, revisions=["asm-1-25"])
    assert res.failed and "self-managed Istio control plane (istio-system/istiod)" in res["msg"]
    assert "uninstall it first" in res["msg"] and puts(arm) == []
    assert any(r.path.endswith("/listClusterUserCredential") for r in arm.requests("POST"))
    forced = addon(azure_env, revisions=["asm-1-25"], check_self_managed=False, check_mode=True)
    assert forced["changed"] is True


def test_bad_revision_conflict_and_missing_cluster(arm, azure_env, cluster):
    bad = addon(azure_env, revisions=["asm-1-99"])
    assert bad.failed and "asm-1-99 is not available" in bad["msg"] and "asm-1-25" in bad["msg"]
    arm.faults.add(r"/managedClusters/aks$", 409, method="PUT",
                   body={"error": {"code": "OperationNotAllowed", "message": "Operation is not allowed because "
                                   "there's an in progress update managed cluster operation."}})
    busy = addon(azure_env, revisions=["asm-1-25"], check_self_managed=False)
    assert busy.failed and "409" in busy["msg"] and "wait and re-run" in busy["msg"]
    assert mesh(arm) == {"mode": "Disabled"}
    missing = run_module("aks_mesh_addon", {"resource_group": "rg", "name": "nope", "report_only": True}, env=azure_env)
    assert missing.failed and "AKS cluster nope in resource group rg was not found" in missing["msg"]


def test_times_out_with_a_readable_message(arm, azure_env, cluster):
    arm.lro_polls = 1000
    res = addon(azure_env, revisions=["asm-1-25"], check_self_managed=False, timeout=1)
    assert res.failed and "still InProgress after 1s" in res["msg"] and "re-run later" in res["msg"]
