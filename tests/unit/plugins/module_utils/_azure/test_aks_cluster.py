"""Unit tests for _azure.aks_cluster: the cluster report, its identity, its kubeconfig (fake SDK client)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import aks_cluster as aks
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError

BODY = {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks",
        "name": "aks", "location": "westeurope",
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/uai": {"principalId": "p-9"}}},
        "properties": {"provisioningState": "Succeeded", "powerState": {"code": "Running"},
                       "kubernetesVersion": "1.34", "currentKubernetesVersion": "1.34.2", "nodeResourceGroup": "MC_rg",
                       "networkProfile": {"networkPlugin": "azure", "networkPluginMode": "overlay",
                                          "loadBalancerSku": "standard", "outboundType": "loadBalancer"},
                       "agentPoolProfiles": [{"name": "system"}], "fqdn": "aks.example"}}


class Model:
    def __init__(self, body):
        self.body = body

    def as_dict(self):
        return self.body


class HttpError(Exception):
    def __init__(self, status, code):
        super(HttpError, self).__init__(code)
        self.status_code = status
        self.error = type("E", (), {"code": code, "message": code})()


class Credentials:
    def __init__(self, value):
        self.kubeconfigs = [type("K", (), {"value": value})()]


class FakeClusters:
    def __init__(self, error=None):
        self.error, self.calls = error, []
        self.managed_clusters = self

    def get(self, resource_group, name):
        if self.error:
            raise self.error
        return Model(BODY)

    def list_cluster_user_credentials(self, resource_group, name, **kwargs):
        self.calls.append(("user", kwargs))
        return Credentials(b"apiVersion: v1\n")

    def list_cluster_admin_credentials(self, resource_group, name, **kwargs):
        self.calls.append(("admin", kwargs))
        if self.error:
            raise self.error
        return Credentials("admin: yes\n")


def test_report_agent_pools_and_principal():
    report = aks.report(Model(BODY))
    assert report["kubernetes_version"] == "1.34.2" and report["identity_type"] == "UserAssigned"
    assert report["service_mesh_mode"] == "Disabled" and report["service_mesh_revisions"] == []
    assert (report["network_plugin"], report["network_plugin_mode"]) == ("azure", "overlay")
    assert aks.agent_pools(Model(BODY)) == [{"name": "system"}]
    assert aks.principal_id(Model(BODY)) == "p-9"
    assert aks.principal_id(Model({"identity": {"principalId": "p-1"}})) == "p-1"
    assert aks.principal_id(Model({"properties": {"servicePrincipalProfile": {}}})) is None


def test_argument_spec_joins_name_azure_and_optionally_kubernetes_options():
    spec = aks.aks_argument_spec(extra=dict(type="int"))
    assert {"resource_group", "name", "subscription_id", "extra"} <= set(spec) and "kubeconfig" not in spec
    assert "kubeconfig" in aks.aks_argument_spec(kube=True)


def test_get_cluster_names_a_missing_cluster_with_the_fix():
    assert aks.get_cluster(FakeClusters(), "rg", "aks").body == BODY
    with pytest.raises(AzureOperationError) as err:
        aks.get_cluster(FakeClusters(HttpError(404, "ResourceNotFound")), "rg", "aks")
    assert str(err.value) == ("AKS cluster aks in resource group rg was not found (ResourceNotFound). Fix: check "
                              "resource_group, name and subscription_id")


def test_kubeconfig_text_user_or_admin():
    client = FakeClusters()
    assert aks.kubeconfig_text(client, "rg", "aks", fmt="exec") == "apiVersion: v1\n"
    assert client.calls == [("user", {"server_fqdn": None, "format": "exec"})]
    assert aks.kubeconfig_text(client, "rg", "aks", admin=True) == "admin: yes\n"
    with pytest.raises(AzureOperationError) as err:
        aks.kubeconfig_text(FakeClusters(HttpError(400, "BadRequest")), "rg", "aks", admin=True)
    assert "disables local accounts; use admin: false" in str(err.value)


def test_kubeconfig_text_is_fetched_again_after_a_dropped_connection(monkeypatch):
    from azure.core.exceptions import ServiceResponseError
    from ansible_collections.aksmesh.istio.plugins.module_utils._azure import operations
    monkeypatch.setattr(operations.time, "sleep", lambda seconds: None)

    class Dropping(FakeClusters):
        def list_cluster_user_credentials(self, resource_group, name, **kwargs):
            if not self.calls:
                self.calls.append(("dropped", kwargs))
                raise ServiceResponseError("Connection aborted")
            return super(Dropping, self).list_cluster_user_credentials(resource_group, name, **kwargs)
    client, warned = Dropping(), []
    assert aks.kubeconfig_text(client, "rg", "aks", warn=warned.append) == "apiVersion: v1\n"
    assert [kind for kind, _kw in client.calls] == ["dropped", "user"] and len(warned) == 1


def _network(**profile):
    body = dict(BODY, properties=dict(BODY["properties"], networkProfile=profile))
    return aks.report(Model(body))


@pytest.mark.parametrize("profile", [
    {"networkPlugin": "azure"},
    {"networkPlugin": "azure", "networkPluginMode": "overlay", "networkDataplane": "azure"},
    {"networkPlugin": "azure", "networkPolicy": "calico"},
    {"networkPlugin": "kubenet"},
])
def test_istio_cni_chains_to_azure_cni_and_kubenet(profile):
    assert aks.cni_chaining(_network(**profile), "AKS cluster aks") == ([], [])


def test_istio_cni_refuses_cilium_and_bring_your_own_cni_unless_confirmed():
    cilium = _network(networkPlugin="azure", networkPluginMode="overlay", networkDataplane="cilium",
                      networkPolicy="cilium")
    assert cilium["network_dataplane"] == "cilium" and cilium["network_policy"] == "cilium"
    (error,), warnings = aks.cni_chaining(cilium, "AKS cluster aks")
    assert warnings == [] and error.startswith("AKS cluster aks runs Azure CNI powered by Cilium "
                                               "(networkProfile.networkDataplane: cilium)")
    assert "cni.exclusive: false" in error and "Fix: set aksmesh_cni: false" in error
    assert "networkDataplane is azure" in error and "aks_preflight_cni_chaining_confirmed" in error
    (error,), none_warnings = aks.cni_chaining(_network(networkPlugin="none"), "AKS cluster aks")
    assert none_warnings == []
    assert "brings its own CNI (networkProfile.networkPlugin: none)" in error and "Fix:" in error
    errors, (warning,) = aks.cni_chaining(cilium, "AKS cluster aks", confirmed=True)
    assert errors == [] and "Fix" not in warning and warning.endswith("going on because cni_chaining_confirmed is true")


def test_istio_cni_warns_about_an_unknown_or_missing_plugin():
    assert aks.cni_chaining(_network(networkPlugin="flannel"), "c") == (
        [], ["c uses network plugin flannel, which pre-flight does not know: check that the Istio CNI plugin can "
             "chain to it"])
    assert "reports no networkProfile.networkPlugin" in aks.cni_chaining(_network(), "c")[1][0]
