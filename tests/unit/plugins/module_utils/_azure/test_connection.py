import pytest
from azure.identity import AzureCliCredential, ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential

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


@pytest.mark.parametrize("options, environ, kind", [
    ({"auth_source": "cli", "client_id": "a", "secret": "s", "tenant": "t"}, {}, "cli"),
    ({"auth_source": "msi", "client_id": "uami"}, {}, "managed_identity"),
    ({"auth_source": "msi"}, {}, "managed_identity"),
    ({"auth_source": "env", "client_id": "a", "secret": "s", "tenant": "t"}, {}, "service_principal"),
    ({"auth_source": "auto", "client_id": "a", "secret": "s", "tenant": "t"}, {}, "service_principal"),
])
def test_azcollections_auth_source_is_taken(options, environ, kind):
    assert ac.credential_choice(params(**options), environ)[0] == kind


def test_auth_source_cli_and_msi_build_their_credentials():
    assert isinstance(ac.AzureConnection(params(subscription_id="s", auth_source="cli")).credential, AzureCliCredential)
    msi = ac.AzureConnection(params(subscription_id="s", auth_source="msi", client_id="uami")).credential
    assert isinstance(msi, ManagedIdentityCredential)


@pytest.mark.parametrize("options, needle", [
    ({"ad_user": "ops@contoso.com", "password": "p"}, "ad_user and password (AZURE_AD_USER, AZURE_PASSWORD: AWX's "
                                                      "Azure Resource Manager credential with a username and password)"),
    ({"password": "p", "client_id": "a", "secret": "s", "tenant": "t"}, "Fix: give the credential a service principal"),
    ({"auth_source": "credential_file"}, "auth_source credential_file (~/.azure/credentials) is not read"),
    ({"auth_source": "env", "client_id": "a"}, "auth_source env takes the service principal of the environment: set "
                                               "AZURE_CLIENT_ID, AZURE_SECRET and AZURE_TENANT (missing: AZURE_SECRET, "
                                               "AZURE_TENANT)"),
])
def test_what_this_collection_does_not_use_is_refused_by_name(options, needle):
    with pytest.raises(ac.AzureConnectionError) as err:
        ac.credential_choice(params(**options), {})
    assert needle in str(err.value)
    assert "ops@contoso.com" not in str(err.value)


def test_the_password_is_no_log_and_the_env_names_are_azcollections():
    spec = ac.AZURE_AUTH_ARG_SPEC
    assert spec["password"]["no_log"] is True
    assert spec["ad_user"]["fallback"][1] == ["AZURE_AD_USER"] and spec["password"]["fallback"][1] == ["AZURE_PASSWORD"]
    assert spec["auth_source"]["fallback"][1] == ["ANSIBLE_AZURE_AUTH_SOURCE"]
