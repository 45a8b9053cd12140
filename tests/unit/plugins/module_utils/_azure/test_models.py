"""SDK models from REST-shaped dicts, for both model generations in the supported version ranges."""

from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.containerservice.models import ManagedCluster, ServiceMeshProfile
from azure.mgmt.network.models import PublicIPAddress

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import models
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import rest

MESH = {"mode": "Istio", "istio": {
    "revisions": ["asm-1-25"],
    "components": {"ingressGateways": [{"mode": "External", "enabled": True}]},
    "certificateAuthority": {"plugin": {"keyVaultId": "/subscriptions/s/resourceGroups/g/providers/"
                                                      "Microsoft.KeyVault/vaults/kv",
                                        "certObjectName": "ca-cert", "keyObjectName": "ca-key",
                                        "rootCertObjectName": "root-cert", "certChainObjectName": "chain"}}}}


def test_the_mesh_profile_as_every_supported_containerservice_builds_it():
    """ServiceMeshProfile(mapping) is what 41.x accepts and 32.1.0 refuses (keyword-only msrest constructor)."""
    profile = models.build(ServiceMeshProfile, MESH)
    assert rest(profile) == MESH and models.dropped(profile, MESH) == []
    body = {"location": "westeurope", "properties": {"kubernetesVersion": "1.32.4", "serviceMeshProfile": MESH}}
    cluster = models.build(ManagedCluster, body)
    assert rest(cluster)["properties"]["serviceMeshProfile"] == MESH and models.dropped(cluster, body) == []


def test_flattened_msrest_properties_are_read_from_the_rest_shape():
    definition = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/r"
    body = {"properties": {"roleDefinitionId": definition, "principalId": "p", "principalType": "ServicePrincipal"}}
    params = models.build(RoleAssignmentCreateParameters, body)
    assert (params.principal_id, params.principal_type) == ("p", "ServicePrincipal")
    assert params.role_definition_id.endswith("/roleDefinitions/r") and models.dropped(params, body) == []


def test_what_the_model_cannot_carry_is_named_by_path():
    body = {"properties": {"roleDefinitionId": "r", "principalId": "p", "futureField": {"a": [1]}}}
    params = models.build(RoleAssignmentCreateParameters, body)  # msrest: unknown fields are left out
    assert models.dropped(params, body) == ["properties.futureField"]

    class Mapping(dict):  # the TypeSpec generation keeps what it is given
        def as_dict(self):
            return dict(self)

    assert models.dropped(models.build(Mapping, body), body) == []
    assert models._missing({"a": [{"b": 1, "c": None}, {"d": 2}], "e": {}}, {"a": [{"b": 1}]}, "") == ["a[1]"]
    assert models._missing({"a": [{"b": 1, "x": 2}]}, {"a": [{"b": 1}]}, "") == ["a[0].x"]


def test_public_ip_body_round_trips():
    body = {"location": "westeurope", "sku": {"name": "Standard"}, "zones": ["1", "2", "3"], "tags": {"a": "b"},
            "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4",
                           "dnsSettings": {"domainNameLabel": "shop"}}}
    assert models.dropped(models.build(PublicIPAddress, body), body) == []


def test_unsupported_names_package_version_fields_and_fix():
    msg = models.unsupported("azure-mgmt-containerservice", "these fields", ["a.b", "c"], "40.1.0")
    assert msg.startswith("the installed azure-mgmt-containerservice %s cannot send these fields (a.b, c)"
                          % models.sdk_version("azure-mgmt-containerservice"))
    assert msg.endswith("Fix: install azure-mgmt-containerservice >= 40.1.0")
    assert models.sdk_version("azure-mgmt-containerservice")[0].isdigit()
    assert models.sdk_version("azure-mgmt-nothing") == "unknown"
