"""aksmesh.istio.aks_mesh_addon: the managed Istio add-on's lifecycle against the loopback ARM."""

import pytest
from azure.mgmt.containerservice._version import VERSION as CONTAINERSERVICE_VERSION
from kubernetes import client, config

from tests.support.ansible_runner import run_module

# azure-mgmt-containerservice 40.1.0 (API 2025-09-01) is the first whose models carry the egress gateways' name,
# namespace and gatewayConfigurationName; the minimum versions (requirements/minimum.txt) are older
EGRESS_SDK = tuple(int(x) for x in CONTAINERSERVICE_VERSION.split(".")[:2]) >= (40, 1)


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
    assert internal["action"] == "configure"
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


CA = {"key_vault_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                      "Microsoft.KeyVault/vaults/mesh-ca-kv",
      "root_cert_object_name": "root-cert", "cert_chain_object_name": "cert-chain",
      "cert_object_name": "ca-cert", "key_object_name": "ca-key"}


def test_plugin_ca_and_egress_gateways_need_their_cluster_features(arm, azure_env, kube_api):
    arm.add_cluster("rg", "aks", kubeconfig=kube_api.kubeconfig())  # neither Key Vault provider nor static egress
    no_kv = addon(azure_env, revisions=["asm-1-25"], certificate_authority=CA, check_self_managed=False)
    assert no_kv.failed and "Azure Key Vault secrets provider, which is off" in no_kv["msg"]
    assert "az aks enable-addons --addons azure-keyvault-secrets-provider" in no_kv["msg"]
    no_sgw = addon(azure_env, revisions=["asm-1-25"], check_self_managed=False,
                   egress_gateways=[{"name": "egress1", "gateway_configuration_name": "sgc1"}])
    if EGRESS_SDK:
        assert no_sgw.failed and "az aks update --enable-static-egress-gateway" in no_sgw["msg"]
        assert "node pool in mode Gateway" in no_sgw["msg"]
    else:  # refused before any write, naming the fields the SDK would leave out and the version that has them
        assert no_sgw.failed and "cannot send these service mesh profile fields" in no_sgw["msg"]
        assert "egressGateways[0].gatewayConfigurationName" in no_sgw["msg"]
        assert "install azure-mgmt-containerservice >= 40.1.0" in no_sgw["msg"]
    bad_kv = addon(azure_env, revisions=["asm-1-25"], certificate_authority=dict(CA, key_vault_id="mesh-ca-kv"))
    assert bad_kv.failed and "certificate_authority.key_vault_id 'mesh-ca-kv' is not a Key Vault resource ID" in \
        bad_kv["msg"]
    no_sgc = addon(azure_env, revisions=["asm-1-25"], egress_gateways=[{"name": "egress1"}])
    assert no_sgc.failed and "egress_gateways aks-istio-egress/egress1 needs gateway_configuration_name" in \
        no_sgc["msg"]
    bad_name = addon(azure_env, revisions=["asm-1-25"], egress_gateways=[{"name": "Egress_1",
                                                                          "gateway_configuration_name": "s"}])
    assert bad_name.failed and "egress_gateways name 'Egress_1'" in bad_name["msg"]
    assert puts(arm) == [] and mesh(arm) == {"mode": "Disabled"}


@pytest.mark.skipif(not EGRESS_SDK, reason="egress gateways need azure-mgmt-containerservice >= 40.1.0")
def test_plugin_ca_and_egress_gateway_are_set_then_kept(arm, azure_env, kube_api):
    arm.add_cluster("rg", "aks", kubeconfig=kube_api.kubeconfig(), static_egress_gateway=True,
                    addon_profiles={"azureKeyvaultSecretsProvider": {"enabled": True}},
                    pools=[{"name": "system", "vmSize": "Standard_D4s_v5", "mode": "System"},
                           {"name": "gwpool", "vmSize": "Standard_D2s_v5", "count": 2, "mode": "Gateway"}])
    egress = [{"name": "egress1", "gateway_configuration_name": "sgc1"}]
    check = addon(azure_env, check_mode=True, diff=True, revisions=["asm-1-25"], certificate_authority=CA,
                  egress_gateways=egress, check_self_managed=False)
    assert check["changed"] and puts(arm) == []
    on = addon(azure_env, revisions=["asm-1-25"], certificate_authority=CA, egress_gateways=egress,
               check_self_managed=False)
    assert not on.failed, on.result
    istio = mesh(arm)["istio"]
    assert istio["certificateAuthority"] == {"plugin": {
        "keyVaultId": CA["key_vault_id"], "rootCertObjectName": "root-cert", "certChainObjectName": "cert-chain",
        "certObjectName": "ca-cert", "keyObjectName": "ca-key"}}
    assert istio["components"]["egressGateways"] == [{"enabled": True, "name": "egress1",
                                                      "namespace": "aks-istio-egress",
                                                      "gatewayConfigurationName": "sgc1"}]
    again = addon(azure_env, revisions=["asm-1-25"], certificate_authority=CA, egress_gateways=egress)
    assert again["changed"] is False and len(puts(arm)) == 1
    assert addon(azure_env, revisions=["asm-1-25"])["changed"] is False  # unset options keep what is there
    off = addon(azure_env, revisions=["asm-1-25"], egress_gateways=[])
    assert off["action"] == "configure"
    assert mesh(arm)["istio"]["components"]["egressGateways"][0]["enabled"] is False
    assert mesh(arm)["istio"]["certificateAuthority"]["plugin"]["keyVaultId"] == CA["key_vault_id"]
    assert addon(azure_env, revisions=["asm-1-25"], egress_gateways=[])["changed"] is False
