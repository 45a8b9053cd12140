"""aksmesh.istio.aks_preflight through the real SDK and Entra flow against the loopback ARM (and Kubernetes API)."""

import pytest

from tests.support.ansible_runner import run_module

GOOD_POOLS = [{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3, "mode": "System"},
              {"name": "apps", "vmSize": "Standard_DS2_v2", "count": 2, "minCount": 1, "maxCount": 5}]


def preflight(azure_env, check_mode=False, **args):
    return run_module("aks_preflight", dict({"resource_group": "rg", "name": "aks"}, **args), env=azure_env,
                      check_mode=check_mode)


def test_healthy_cluster_passes_and_reports(arm, azure_env):
    arm.add_cluster("rg", "aks", pools=GOOD_POOLS + [{"name": "win", "vmSize": "Standard_B2s", "osType": "Windows"}])
    res = preflight(azure_env, check_mode=True)
    assert not res.failed, res.result
    assert res["passed"] is True and res["changed"] is False and res["errors"] == []
    cluster = res["cluster"]
    assert cluster["kubernetes_version"] == "1.32.4" and cluster["node_resource_group"] == "MC_rg_aks_westeurope"
    assert cluster["network_plugin"] == "azure" and cluster["identity_type"] == "SystemAssigned"
    pools = {p["name"]: p for p in res["node_pools"]}
    assert pools["apps"]["memory_gib"] == 7.0 and pools["apps"]["autoscaling"] and pools["apps"]["max_count"] == 5
    assert pools["win"]["checked"] is False  # Windows pools do not run Istio
    assert res["kubernetes"] == {"version": "1.32.4", "istio_version": "1.30.0", "minimum": "1.32",
                                 "tested_maximum": "1.35"}
    assert res["summary"][-1] == "PASSED"
    assert all(r.method == "GET" or r.path.endswith("/token") for r in arm.requests())  # read only


def test_b2s_pool_fails_naming_pool_size_memory_and_fix(arm, azure_env):
    arm.add_cluster("rg", "aks", pools=GOOD_POOLS + [{"name": "small", "vmSize": "Standard_B2s", "count": 2}])
    res = preflight(azure_env)
    assert res.failed and res["passed"] is False
    msg = res["msg"]
    assert "node pool 'small'" in msg and "Standard_B2s" in msg and "4 GiB" in msg and "more than 4 GiB" in msg
    assert "resize the pool" in msg and "new pool" in msg
    assert {p["name"]: p["ok"] for p in res["node_pools"]} == {"system": True, "apps": True, "small": False}
    # limiting the check to other pools lets it pass
    assert not preflight(azure_env, pools=["system", "apps"]).failed
    assert not preflight(azure_env, modes=["System"]).failed
    unknown = preflight(azure_env, pools=["nope"])
    assert unknown.failed and "nope" in unknown["msg"] and "system" in unknown["msg"]


def test_old_kubernetes_fails_and_new_one_warns(arm, azure_env):
    arm.add_cluster("rg", "aks", kubernetes_version="1.30.9", pools=GOOD_POOLS)
    res = preflight(azure_env)
    assert res.failed and "Kubernetes 1.30 is older than Istio 1.30 supports (1.32 to 1.35)" in res["msg"]
    assert "az aks upgrade" in res["msg"]
    assert not preflight(azure_env, istio_version="1.27.3").failed  # an older line accepts 1.30
    arm.add_cluster("rg", "aks", kubernetes_version="1.36.1", pools=GOOD_POOLS)
    newer = preflight(azure_env)
    assert not newer.failed and "newer than Istio 1.30 was tested with" in newer["warnings_found"][0]
    assert "newer than" in str(newer.result.get("warnings"))  # also an Ansible warning


def test_missing_cluster_stopped_cluster_and_bad_credentials(arm, azure_env):
    res = preflight(azure_env)
    assert res.failed and "AKS cluster aks in resource group rg was not found" in res["msg"]
    assert "check resource_group, name and subscription_id" in res["msg"]
    arm.add_cluster("rg", "aks", pools=GOOD_POOLS, provisioning_state="Failed")
    arm.resources[arm.cluster_id("rg", "aks").lower()]["properties"]["powerState"]["code"] = "Stopped"
    res = preflight(azure_env)
    assert res.failed and "provisioning state Failed" in res["msg"] and "az aks start" in res["msg"]
    bad = preflight(dict(azure_env, AZURE_SECRET="wrong-secret"))
    assert bad.failed and "authentication failed" in bad["msg"] and "wrong-secret" not in bad.stdout


def test_throttled_reads_are_retried(arm, azure_env):
    arm.add_cluster("rg", "aks", pools=GOOD_POOLS)
    arm.faults.add(r"/managedClusters/aks$", 429, method="GET", headers={"Retry-After": "1"},
                   body={"error": {"code": "TooManyRequests", "message": "throttled"}})
    res = preflight(azure_env)
    assert not res.failed, res.result
    assert [e.status for e in arm.requests("GET", r"/managedClusters/aks$")] == [429, 200]


@pytest.mark.parametrize("schedulable, istiod_replicas, ok", [(3, 2, True), (1, 7, False)])
def test_live_capacity_through_the_cluster_credentials(arm, azure_env, kube_api, schedulable, istiod_replicas, ok):
    """The three kwok nodes of the test cluster (Standard_D4s_v5 allocatable, as AKS reports it)."""
    arm.add_cluster("rg", "aks", pools=GOOD_POOLS, kubeconfig=kube_api.kubeconfig(), kubernetes_version="1.35.4")
    cordoned = [n["metadata"]["name"] for n in kube_api.get("v1", "Node")][schedulable:]
    for name in cordoned:
        kube_api.ok("PATCH", f"/api/v1/nodes/{name}", {"spec": {"unschedulable": True}},
                    content_type="application/merge-patch+json")
    try:
        res = preflight(azure_env, check_capacity=True, istiod_replicas=istiod_replicas)
    finally:
        for name in cordoned:
            kube_api.ok("PATCH", f"/api/v1/nodes/{name}", {"spec": {"unschedulable": False}},
                        content_type="application/merge-patch+json")
    assert res["capacity"]["linux_ready_nodes"] == schedulable, res.result
    assert res.failed is (not ok), res.result
    if not ok:
        assert "allocatable memory" in res["msg"] and "scale the node pool out" in res["msg"]
    assert any(r.path.endswith("/listClusterUserCredential") for r in arm.requests("POST"))


@pytest.mark.parametrize("profile, error", [
    ({"networkPluginMode": "overlay", "networkDataplane": "azure"}, None),
    ({"networkPlugin": "kubenet"}, None),
    ({"networkPluginMode": "overlay", "networkDataplane": "cilium"}, "networkProfile.networkDataplane: cilium"),
    ({"networkPlugin": "none"}, "networkProfile.networkPlugin: none"),
])
def test_istio_cni_needs_a_network_plugin_it_can_chain_to(arm, azure_env, profile, error):
    body = arm.add_cluster("rg", "aks", pools=GOOD_POOLS)
    body["properties"]["networkProfile"].update(profile)
    assert not preflight(azure_env).failed  # without cni, the network plugin is not looked at
    res = preflight(azure_env, check_mode=True, cni=True)
    assert res["cluster"]["network_dataplane"] == profile.get("networkDataplane")
    if error is None:
        assert not res.failed and res["errors"] == [], res.result
    else:
        assert res.failed and error in res["msg"] and "Fix: set aksmesh_cni: false" in res["msg"]
        confirmed = preflight(azure_env, cni=True, cni_chaining_confirmed=True)
        assert not confirmed.failed and error in confirmed["warnings_found"][0]
    assert all(r.method == "GET" or r.path.endswith("/token") for r in arm.requests())  # read only
