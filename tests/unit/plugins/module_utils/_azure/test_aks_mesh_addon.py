"""Unit tests for _azure.aks_mesh_addon: the module's run over a fake containerservice client (the SDK's models,
no Azure; the loopback ARM runs are in tests/integration/azure/test_aks_mesh_addon.py)."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import aks_mesh_addon as addon
from ansible_collections.aksmesh.istio.plugins.module_utils._azure import istio_addon, models

LOCATION = "westeurope"


class Failed(Exception):
    pass


class Model(dict):
    def as_dict(self):
        return dict(self)


def cluster(profile=None, state="Succeeded", **props):
    properties = dict({"provisioningState": state, "currentKubernetesVersion": "1.33.2"}, **props)
    if profile:
        properties["serviceMeshProfile"] = profile
    return Model(id="/subscriptions/x/aks", name="aks", location=LOCATION, properties=properties)


def istio(*revisions):
    return {"mode": "Istio", "istio": {"revisions": list(revisions)}}


class Clusters:
    def __init__(self, mc, offered=("asm-1-25", "asm-1-26"), upgrades=()):
        self.mc, self.offered, self.upgrades, self.puts = mc, offered, upgrades, []

    def get(self, resource_group, name):
        return self.mc

    def list_mesh_revision_profiles(self, location):
        return [Model(properties={"meshRevisions": [{"revision": r} for r in self.offered]})]

    def get_mesh_upgrade_profile(self, resource_group, name, mode):
        return Model(properties={"upgrades": list(self.upgrades)})


class FakeModule:
    def __init__(self, check_mode=False, diff=False, **params):
        self.params = dict({"resource_group": "rg", "name": "aks", "report_only": False, "state": "present",
                            "revisions": None, "certificate_authority": None, "egress_gateways": None,
                            "external_ingress_gateway": None, "internal_ingress_gateway": None,
                            "check_self_managed": True, "gateway_api": False, "timeout": 60, "poll_interval": 1},
                           **params)
        self.check_mode, self._diff = check_mode, diff

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


def runner(module, clusters, self_managed=()):
    run = object.__new__(addon.AddonModule)
    run.module, run.p, run.label = module, module.params, "AKS cluster aks in resource group rg"
    run.cs = type("Client", (), {"managed_clusters": clusters})()
    run.self_managed = lambda: list(self_managed)
    return run


def test_report_only_reports_the_revisions_and_offers():
    result = runner(FakeModule(report_only=True), Clusters(cluster(istio("asm-1-25")), upgrades=["asm-1-26"])).run()
    assert result == dict(changed=False, action="report", revisions_before=["asm-1-25"], revisions=["asm-1-25"],
                          available_revisions=["asm-1-25", "asm-1-26"], available_upgrades=["asm-1-26"],
                          service_mesh_profile=istio("asm-1-25"), ingress_gateway_services=[])


def test_a_profile_that_matches_is_unchanged():
    result = runner(FakeModule(), Clusters(cluster(istio("asm-1-25")))).run()
    assert result["changed"] is False and result["action"] == "unchanged"


def test_check_mode_enables_the_newest_revision_and_plans_its_namespaces_and_kinds():
    result = runner(FakeModule(check_mode=True, diff=True, external_ingress_gateway=True),
                    Clusters(cluster())).run()
    assert result["changed"] is True and result["action"] == "enable" and result["revisions"] == ["asm-1-26"]
    assert result["diff"]["before"] == {"mode": "Disabled"} and result["diff"]["after"]["mode"] == "Istio"
    assert result["ingress_gateway_services"] == [
        {"namespace": "aks-istio-ingress", "service": "aks-istio-ingressgateway-external", "mode": "External"}]
    assert "aks-istio-system" in result["planned"]["namespaces"] and result["planned"]["kinds"]


def test_a_gateway_change_on_the_same_revision_is_configure():
    result = runner(FakeModule(check_mode=True, internal_ingress_gateway=True),
                    Clusters(cluster(istio("asm-1-25")))).run()
    assert result["action"] == "configure" and result["planned"]["kinds"] == []


def _sdk_sends_egress_gateways():
    version = models.sdk_version("azure-mgmt-containerservice")
    try:
        return tuple(int(p) for p in version.split(".")[:2]) >= tuple(
            int(p) for p in istio_addon.EGRESS_SDK_MINIMUM.split(".")[:2])
    except ValueError:
        return True


# on an SDK that can send egress gateways, the missing Static Egress Gateway feature refuses them; on the oldest
# supported SDK (make unit-minimum) the SDK's model refuses them first: both before any write
EGRESS_REFUSED = ("AKS cluster aks in resource group rg: add-on egress gateways build on the Static Egress Gateway "
                  "feature" if _sdk_sends_egress_gateways() else
                  "cannot send these service mesh profile fields")


@pytest.mark.parametrize("params,clusters,needle", [
    ({}, Clusters(cluster(), offered=()), "no add-on revision is available for AKS cluster aks in resource group rg "
                                          "(Kubernetes 1.33.2 in westeurope)"),
    ({"revisions": ["asm-1-20"]}, Clusters(cluster()), "AKS cluster aks in resource group rg: revision asm-1-20 is "
                                                       "not available"),
    ({}, Clusters(cluster(state="Updating")), "AKS cluster aks in resource group rg is Updating; wait for the "
                                              "running operation to finish and re-run"),
    ({"egress_gateways": [{"name": "out", "namespace": "aks-istio-egress", "gateway_configuration_name": "gw",
                           "enabled": True}]},
     Clusters(cluster(istio("asm-1-25"))), EGRESS_REFUSED),
    # the Gateway API ingress, on every run: the revision floor and the managed Gateway API CRDs
    ({"gateway_api": True, "revisions": ["asm-1-25"]},
     Clusters(cluster(istio("asm-1-25"), ingressProfile={"gatewayAPI": {"installation": "Standard"}})),
     "AKS cluster aks in resource group rg: the add-on's Gateway API support needs revision asm-1-26 or later, and "
     "asm-1-25 is older"),
    ({"gateway_api": True, "revisions": ["asm-1-26"]}, Clusters(cluster(istio("asm-1-26"))),
     "the cluster's managed Gateway API CRDs are not installed (ingressProfile.gatewayAPI.installation is Disabled)"
     ", and the add-on's Gateway API support needs them: az aks update --resource-group <group> --name <cluster> "
     "--enable-gateway-api"),
])
def test_what_the_add_on_or_the_cluster_does_not_allow_fails_before_any_write(params, clusters, needle):
    with pytest.raises(Failed) as failed:
        runner(FakeModule(**params), clusters).run()
    assert needle in failed.value.args[0]["msg"] and clusters.puts == []


def test_enabling_next_to_a_self_managed_istio_fails_and_the_check_can_be_skipped():
    with pytest.raises(Failed) as failed:
        runner(FakeModule(), Clusters(cluster()), self_managed=["istio-system/istiod"]).run()
    assert failed.value.args[0]["msg"].startswith(
        "AKS cluster aks in resource group rg runs a self-managed Istio control plane (istio-system/istiod)")
    assert failed.value.args[0]["action"] == "report"
    result = runner(FakeModule(check_mode=True, check_self_managed=False), Clusters(cluster()),
                    self_managed=["istio-system/istiod"]).run()
    assert result["action"] == "enable"


def test_the_update_reports_the_profile_the_cluster_answers(monkeypatch):
    sent = []

    def run_lro(start, timeout, what):
        sent.append(what)
        return Model(properties={"serviceMeshProfile": istio("asm-1-25", "asm-1-26")}), ["InProgress", "Succeeded"]
    monkeypatch.setattr(addon, "run_lro", run_lro)
    result = runner(FakeModule(revisions=["asm-1-25", "asm-1-26"]),
                    Clusters(cluster(istio("asm-1-25")), upgrades=["asm-1-26"])).run()
    assert sent == ["updating the service mesh profile of AKS cluster aks in resource group rg (upgrade_start)"]
    assert result["changed"] is True and result["action"] == "upgrade_start" and result["progress"] == [
        "InProgress", "Succeeded"]
    assert result["revisions"] == ["asm-1-25", "asm-1-26"] and result["revisions_before"] == ["asm-1-25"]
    assert "planned" not in result and "diff" not in result


@pytest.mark.parametrize("params,needle", [
    ({"revisions": []}, "revisions is empty: list the add-on revisions that should run"),
    ({"revisions": ["asm-1-26", " "]}, "revisions[1] is empty"),
])
def test_options_that_cannot_mean_what_they_say_are_refused_before_azure(params, needle):
    """timeout: 0 sent the PUT, then reported 'still InProgress after 0s'; revisions: [] enabled the newest."""
    with pytest.raises(Failed) as failed:
        addon.check_params(FakeModule(**params))
    assert failed.value.args[0]["msg"].startswith(needle) and "nothing was sent to Azure" in failed.value.args[0]["msg"]
    addon.check_params(FakeModule(revisions=[], state="absent"))
    addon.check_params(FakeModule(revisions=["asm-1-26"]))


def test_the_gateway_api_ingress_on_a_cluster_that_has_what_it_needs_changes_nothing():
    mc = cluster(istio("asm-1-26"), ingressProfile={"gatewayAPI": {"installation": "Standard"}})
    result = runner(FakeModule(gateway_api=True, revisions=["asm-1-26"]), Clusters(mc)).run()
    assert result["changed"] is False and result["action"] == "unchanged"
