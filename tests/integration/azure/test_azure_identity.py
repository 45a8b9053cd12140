"""Each Azure credential kind as the modules meet it, through the real azure-identity against the loopback ARM's
token endpoints: a service principal (client credentials), the workload identity the AKS webhook injects
(federated token, e.g. AWX container groups on AKS), a user-assigned managed identity (IMDS, App Service)."""

from tests.support.ansible_runner import run_module
from tests.support.armapi import SUBSCRIPTION, TENANT

KUBECONFIG = {"apiVersion": "v1", "kind": "Config", "current-context": "aks",
              "clusters": [{"name": "aks", "cluster": {"server": "https://aks-dns.hcp.westeurope.azmk8s.io:443"}}],
              "contexts": [{"name": "aks", "context": {"cluster": "aks", "user": "u"}}],
              "users": [{"name": "u", "user": {"token": "user-token-0123456789"}}]}
# what the real environment of an Ansible controller may hold, and must not decide the credential here
AZURE_VARS = ("AZURE_CLIENT_ID", "AZURE_SECRET", "AZURE_CLIENT_SECRET", "AZURE_TENANT", "AZURE_TENANT_ID",
              "AZURE_FEDERATED_TOKEN_FILE", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "IDENTITY_ENDPOINT",
              "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET", "IMDS_ENDPOINT", "AZURE_CLIENT_CERTIFICATE_PATH",
              "AZURE_USERNAME", "AZURE_TOKEN_CREDENTIALS")


def identity_env(arm, tmp_path, **extra):
    """The loopback ARM and authority, no credential variables but ``extra``; no Azure CLI login either."""
    env = dict.fromkeys(AZURE_VARS)  # unset
    env.update({"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "AZURE_RESOURCE_MANAGER_ENDPOINT": arm.url,
                "AZURE_AUTHORITY_HOST": arm.url, "REQUESTS_CA_BUNDLE": arm.ca_path, "HOME": str(tmp_path),
                "AZURE_CONFIG_DIR": str(tmp_path / "az")})
    env.update(extra)
    return env


def kubeconfig(arm, env):
    """aks_credentials' kubeconfig through ``env``'s credential: the module result."""
    if not arm.resources:
        arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG)
    return run_module("aks_credentials", {"resource_group": "rg", "name": "aks", "return_content": True}, env=env)


def federated_token(tmp_path, text="eyJhbGciOiJSUzI1NiJ9.service-account-token.sig"):
    path = tmp_path / "azure-identity-token"
    path.write_text(text)
    return str(path)


def test_workload_identity_as_the_aks_webhook_injects_it(arm, tmp_path):
    arm.federated["wi-client-id"] = "eyJhbGciOiJSUzI1NiJ9.service-account-token.sig"
    env = identity_env(arm, tmp_path, AZURE_CLIENT_ID="wi-client-id", AZURE_TENANT_ID=TENANT,
                       AZURE_FEDERATED_TOKEN_FILE=federated_token(tmp_path))
    res = kubeconfig(arm, env)
    assert not res.failed, res.result
    assert res["kubeconfig"]["users"][0]["user"]["token"] == "user-token-0123456789"
    assert arm.grants == [("client_assertion", "wi-client-id")]


def test_workload_identity_with_an_untrusted_token_fails_as_authentication(arm, tmp_path):
    arm.federated["wi-client-id"] = "the-trusted-token"
    env = identity_env(arm, tmp_path, AZURE_CLIENT_ID="wi-client-id", AZURE_TENANT_ID=TENANT,
                       AZURE_FEDERATED_TOKEN_FILE=federated_token(tmp_path, "another-token"))
    res = kubeconfig(arm, env)
    assert res.failed and "authentication failed" in res["msg"] and "check the credential" in res["msg"]
    assert arm.grants == [] and not arm.requests(path="/managedClusters/")


def test_user_assigned_managed_identity_through_imds(arm, tmp_path):
    arm.managed_identities.add("mi-client-id")
    env = identity_env(arm, tmp_path, AZURE_CLIENT_ID="mi-client-id", AZURE_POD_IDENTITY_AUTHORITY_HOST=arm.url)
    res = kubeconfig(arm, env)
    assert not res.failed, res.result
    assert arm.grants == [("imds", "mi-client-id")]
    asked = arm.requests("GET", "^/metadata/identity/oauth2/token$")
    assert asked and "client_id=mi-client-id" in asked[-1].query


def test_client_id_option_selects_the_managed_identity(arm, tmp_path):
    """client_id as a module option (not the environment), as a user-assigned identity of an App Service host."""
    arm.managed_identities.add("option-client-id")
    arm.add_cluster("rg", "aks", kubeconfig=KUBECONFIG)
    env = identity_env(arm, tmp_path, IDENTITY_ENDPOINT=arm.url + "/msi/token", IDENTITY_HEADER=arm.identity_header)
    res = run_module("aks_credentials", {"resource_group": "rg", "name": "aks", "return_content": True,
                                         "client_id": "option-client-id"}, env=env)
    assert not res.failed, res.result
    assert arm.grants == [("app_service", "option-client-id")]


def test_unknown_managed_identity_fails_as_authentication(arm, tmp_path):
    env = identity_env(arm, tmp_path, AZURE_CLIENT_ID="not-assigned", AZURE_POD_IDENTITY_AUTHORITY_HOST=arm.url)
    res = kubeconfig(arm, env)
    assert res.failed and "authentication failed" in res["msg"]
    assert arm.grants == []


def test_service_principal_with_azure_identity_variable_names(arm, tmp_path):
    env = identity_env(arm, tmp_path, AZURE_CLIENT_ID="app-id", AZURE_CLIENT_SECRET="app-secret",
                       AZURE_TENANT_ID=TENANT)
    res = kubeconfig(arm, env)
    assert not res.failed, res.result
    assert arm.grants == [("client_secret", "app-id")]


def test_secret_without_tenant_is_refused_before_any_request(arm, tmp_path):
    env = identity_env(arm, tmp_path, AZURE_CLIENT_ID="app-id", AZURE_SECRET="app-secret")
    res = kubeconfig(arm, env)
    assert res.failed and "needs client_id and tenant too: set tenant" in res["msg"]
    assert "app-secret" not in res.stdout
    assert arm.requests() == []
