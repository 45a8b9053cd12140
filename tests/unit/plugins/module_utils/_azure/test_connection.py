import pytest
from azure.identity import ClientSecretCredential, DefaultAzureCredential

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import connection as ac


def params(**kw):
    base = {k: v.get("default") for k, v in ac.AZURE_AUTH_ARG_SPEC.items()}
    base.update(kw)
    return base


def test_default_chain_and_public_cloud():
    conn = ac.AzureConnection(params(subscription_id="sub"))
    assert conn.credential_kind == "default_chain" and isinstance(conn.credential, DefaultAzureCredential)
    assert conn.resource_manager == "https://management.azure.com"
    assert conn.scope == "https://management.azure.com/.default" and not conn.custom_authority


def test_service_principal_and_sovereign_cloud():
    conn = ac.AzureConnection(params(subscription_id="sub", client_id="a", secret="s", tenant="t",
                                     cloud_environment="AzureChinaCloud"))
    assert isinstance(conn.credential, ClientSecretCredential)
    assert conn.resource_manager == "https://management.chinacloudapi.cn"
    assert conn.authority == "https://login.chinacloudapi.cn"


def test_custom_endpoints_turn_off_instance_discovery():
    conn = ac.AzureConnection(params(subscription_id="sub", resource_manager_endpoint="https://127.0.0.1:1/",
                                     authority_host="https://127.0.0.1:1"))
    assert conn.resource_manager == "https://127.0.0.1:1" and conn.custom_authority
    assert conn.scope == "https://127.0.0.1:1/.default"


def test_incomplete_options_are_refused():
    with pytest.raises(ac.AzureConnectionError, match="subscription_id is required"):
        ac.AzureConnection(params())
    with pytest.raises(ac.AzureConnectionError, match="needs client_id and tenant too: set tenant"):
        ac.AzureConnection(params(subscription_id="s", client_id="a", secret="s"))
    with pytest.raises(ac.AzureConnectionError, match="set client_id and tenant"):
        ac.AzureConnection(params(subscription_id="s", secret="s"))


@pytest.mark.parametrize("options, environ, kind", [
    ({"client_id": "a", "secret": "s", "tenant": "t"}, {}, "service_principal"),
    # what the AKS workload identity webhook injects (AWX container groups on AKS)
    ({"client_id": "a", "tenant": "t"}, {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/token"}, "workload_identity"),
    ({"client_id": "a"}, {}, "managed_identity"),
    ({"client_id": "a", "tenant": "t"}, {}, "managed_identity"),
    ({"client_id": "a"}, {"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/token"}, "managed_identity"),
    ({}, {}, "default_chain"),
    ({"tenant": "t"}, {}, "default_chain"),
])
def test_a_secret_makes_a_service_principal_else_the_default_chain(options, environ, kind):
    assert ac.credential_choice(params(**options), environ)[0] == kind


def test_client_id_without_secret_goes_to_managed_and_workload_identity(monkeypatch):
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token")
    seen = {}
    monkeypatch.setattr(ac, "DefaultAzureCredential", lambda **kw: seen.update(kw) or "dac")
    conn = ac.AzureConnection(params(subscription_id="sub", client_id="uami", tenant="t"))
    assert conn.credential_kind == "workload_identity" and conn.credential == "dac"
    assert seen["managed_identity_client_id"] == seen["workload_identity_client_id"] == "uami"
    assert seen["workload_identity_tenant_id"] == "t" and seen["exclude_interactive_browser_credential"]
    seen.clear()
    assert ac.AzureConnection(params(subscription_id="sub")).credential == "dac"
    assert "managed_identity_client_id" not in seen and "workload_identity_tenant_id" not in seen


def test_azcollection_and_identity_env_names_are_both_accepted():
    spec = ac.AZURE_AUTH_ARG_SPEC
    assert spec["secret"]["fallback"][1] == ["AZURE_SECRET", "AZURE_CLIENT_SECRET"]
    assert spec["tenant"]["fallback"][1] == ["AZURE_TENANT", "AZURE_TENANT_ID"]
    assert spec["secret"]["no_log"] is True
