"""The real Azure SDK clients against the loopback Resource Manager and Entra token endpoint."""

import base64

import pytest
import yaml
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.network import NetworkManagementClient

from tests.support.armapi import NETWORK_CONTRIBUTOR, SUBSCRIPTION, TENANT


def sdk(cls, arm, cred, **kw):
    return cls(cred, SUBSCRIPTION, base_url=arm.url, connection_verify=arm.ca_path, **kw)


@pytest.fixture
def cluster(arm):
    return arm.add_cluster("rg", "aks", kubeconfig={"apiVersion": "v1", "kind": "Config", "users": [
        {"name": "u", "user": {"token": "secret-token"}}]},
        pools=[{"name": "system", "vmSize": "Standard_D4s_v5", "count": 3, "mode": "System"},
               {"name": "small", "vmSize": "Standard_B2s", "count": 1, "minCount": 1, "maxCount": 3}])


def test_managed_cluster_agent_pools_and_credentials(arm, arm_credential, cluster):
    cs = sdk(ContainerServiceClient, arm, arm_credential)
    mc = cs.managed_clusters.get("rg", "aks")
    assert mc.kubernetes_version == "1.32.4" and mc.node_resource_group == "MC_rg_aks_westeurope"
    assert [(p.name, p.vm_size, p.os_type) for p in mc.agent_pool_profiles] == [
        ("system", "Standard_D4s_v5", "Linux"), ("small", "Standard_B2s", "Linux")]
    assert mc.identity.type == "SystemAssigned" and mc.network_profile.network_plugin == "azure"
    pools = {p.name: p for p in cs.agent_pools.list("rg", "aks")}
    assert pools["small"].enable_auto_scaling and pools["small"].max_count == 3
    creds = cs.managed_clusters.list_cluster_user_credentials("rg", "aks")
    assert yaml.safe_load(bytes(creds.kubeconfigs[0].value))["users"][0]["user"]["token"] == "secret-token"
    with pytest.raises(ResourceNotFoundError) as missing:
        cs.managed_clusters.get("rg", "nope")
    assert missing.value.error.code == "ResourceNotFound"


def test_resource_skus_are_paged_and_carry_memory(arm, arm_credential):
    comp = sdk(ComputeManagementClient, arm, arm_credential)
    skus = {s.name: s for s in comp.resource_skus.list(filter="location eq 'westeurope'")
            if s.resource_type == "virtualMachines"}
    assert len(arm.requests("GET", "/skus$")) == 2  # two pages followed through nextLink
    mem = {c.name: c.value for c in skus["Standard_B2s"].capabilities}
    assert mem["MemoryGB"] == "4" and mem["vCPUs"] == "2"


def test_public_ip_long_running_create_and_delete(arm, arm_credential, cluster):
    net = sdk(NetworkManagementClient, arm, arm_credential)
    body = {"location": "westeurope", "sku": {"name": "Standard"},
            "properties": {"publicIPAllocationMethod": "Static", "dnsSettings": {"domainNameLabel": "shop"}}}
    arm.lro_polls = 3
    ip = net.public_ip_addresses.begin_create_or_update("MC_rg_aks_westeurope", "ingress", body,
                                                        polling_interval=0).result()
    assert ip.provisioning_state == "Succeeded" and ip.dns_settings.fqdn == "shop.westeurope.cloudapp.azure.com"
    assert len(arm.requests("GET", "/operations/")) == 4  # three InProgress polls, then Succeeded
    again = net.public_ip_addresses.get("MC_rg_aks_westeurope", "ingress")
    assert again.ip_address == ip.ip_address
    net.public_ip_addresses.begin_delete("MC_rg_aks_westeurope", "ingress", polling_interval=0).result()
    assert arm.public_ips() == []
    with pytest.raises(ResourceNotFoundError):
        net.public_ip_addresses.begin_create_or_update("missing-rg", "x", body, polling_interval=0).result()


def test_throttling_is_retried_honouring_retry_after_and_conflicts_surface(arm, arm_credential, cluster):
    cs = sdk(ContainerServiceClient, arm, arm_credential)
    arm.faults.add(r"/managedClusters/aks$", 429, method="GET", headers={"Retry-After": "1"},
                   body={"error": {"code": "TooManyRequests", "message": "throttled"}})
    assert cs.managed_clusters.get("rg", "aks").name == "aks"
    assert [e.status for e in arm.requests("GET", r"/managedClusters/aks$")] == [429, 200]
    arm.faults.add(r"/managedClusters/aks$", 409, method="PUT",
                   body={"error": {"code": "OperationNotAllowed", "message": "another operation is in progress"}})
    mc = cs.managed_clusters.get("rg", "aks")
    with pytest.raises(HttpResponseError) as conflict:
        cs.managed_clusters.begin_create_or_update("rg", "aks", mc, polling_interval=0).result()
    assert conflict.value.status_code == 409 and conflict.value.error.code == "OperationNotAllowed"


def test_service_mesh_profile_update_and_revision_profiles(arm, arm_credential, cluster):
    cs = sdk(ContainerServiceClient, arm, arm_credential)
    mc = cs.managed_clusters.get("rg", "aks")
    mc.service_mesh_profile = {"mode": "Istio", "istio": {"revisions": ["asm-1-25"]}}
    out = cs.managed_clusters.begin_create_or_update("rg", "aks", mc, polling_interval=0).result()
    assert out.service_mesh_profile.istio.revisions == ["asm-1-25"]
    revs = cs.managed_clusters.list_mesh_revision_profiles("westeurope")
    assert "asm-1-26" in [r.revision for p in revs for r in p.properties.mesh_revisions]
    upgrades = cs.managed_clusters.get_mesh_upgrade_profile("rg", "aks", "istio")
    assert upgrades.properties.upgrades == ["asm-1-26"]


def test_role_assignments(arm, arm_credential, cluster):
    auth = sdk(AuthorizationManagementClient, arm, arm_credential)
    scope = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/ips"
    principal = cluster["identity"]["principalId"]
    assert list(auth.role_assignments.list_for_scope(scope, filter=f"principalId eq '{principal}'")) == []
    arm.add_role_assignment(scope, principal)
    found = list(auth.role_assignments.list_for_scope(scope, filter=f"principalId eq '{principal}'"))
    assert found[0].role_definition_id.endswith(NETWORK_CONTRIBUTOR)
    role = auth.role_definitions.get(scope, NETWORK_CONTRIBUTOR)
    assert role.role_name == "Network Contributor"


def test_entra_client_secret_flow(arm, cluster):
    good = ClientSecretCredential(TENANT, "app-id", "app-secret", authority=arm.url,
                                  disable_instance_discovery=True, connection_verify=arm.ca_path)
    cs = sdk(ContainerServiceClient, arm, good)
    assert cs.managed_clusters.get("rg", "aks").name == "aks"
    bad = ClientSecretCredential(TENANT, "app-id", "wrong", authority=arm.url, disable_instance_discovery=True,
                                 connection_verify=arm.ca_path)
    with pytest.raises(ClientAuthenticationError):
        sdk(ContainerServiceClient, arm, bad).managed_clusters.get("rg", "aks")


def test_admin_credentials_refused_without_local_accounts(arm, arm_credential):
    arm.add_cluster("rg", "locked", disable_local_accounts=True, kubeconfig={})
    cs = sdk(ContainerServiceClient, arm, arm_credential)
    with pytest.raises(HttpResponseError) as refused:
        cs.managed_clusters.list_cluster_admin_credentials("rg", "locked")
    assert refused.value.status_code == 400
    assert base64  # (kubeconfigs travel base64-encoded; the SDK decodes them)
