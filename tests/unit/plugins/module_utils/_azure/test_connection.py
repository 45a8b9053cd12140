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
    with pytest.raises(ac.AzureConnectionError, match="go together"):
        ac.AzureConnection(params(subscription_id="s", client_id="a"))


def test_azcollection_and_identity_env_names_are_both_accepted():
    spec = ac.AZURE_AUTH_ARG_SPEC
    assert spec["secret"]["fallback"][1] == ["AZURE_SECRET", "AZURE_CLIENT_SECRET"]
    assert spec["tenant"]["fallback"][1] == ["AZURE_TENANT", "AZURE_TENANT_ID"]
    assert spec["secret"]["no_log"] is True
