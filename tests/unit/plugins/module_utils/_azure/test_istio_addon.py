"""Unit tests for _azure.istio_addon: the managed add-on's revision plan and profile."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import istio_addon


@pytest.mark.parametrize("current, wanted, action", [
    ([], ["asm-1-25"], "enable"), (["asm-1-25"], ["asm-1-25", "asm-1-26"], "upgrade_start"),
    (["asm-1-25", "asm-1-26"], ["asm-1-26"], "upgrade_complete"), (["asm-1-25", "asm-1-26"], ["asm-1-25"], "rollback"),
    (["asm-1-25"], [], "disable"), (["asm-1-25"], ["asm-1-25"], "unchanged")])
def test_addon_plan(current, wanted, action):
    assert istio_addon.plan(current, wanted, ["asm-1-25", "asm-1-26"], ["asm-1-26"]) == (action, None)


def test_addon_plan_refusals_and_profile():
    assert "canary" in istio_addon.plan(["asm-1-25"], ["asm-1-26"], [], ["asm-1-26"])[1]
    assert "at most two" in istio_addon.plan(["a"], ["a", "b", "c"], [], [])[1]
    assert "not available" in istio_addon.plan([], ["asm-1-99"], ["asm-1-25"], [])[1]
    profile = istio_addon.desired_profile({"mode": "Disabled"}, ["asm-1-25"], {"external_ingress_gateway": True,
                                                                               "internal_ingress_gateway": None})
    assert profile == {"mode": "Istio", "istio": {"revisions": ["asm-1-25"], "components": {
        "ingressGateways": [{"mode": "External", "enabled": True}]}}}
    kept = istio_addon.desired_profile(profile, ["asm-1-26"], {"external_ingress_gateway": None})
    assert kept["istio"]["components"]["ingressGateways"][0]["enabled"] is True
    assert istio_addon.comparable(None) == {"mode": "Disabled"}
    assert istio_addon.self_managed([{"metadata": {"namespace": "aks-istio-system", "name": "istiod-asm-1-25"}},
                                    {"metadata": {"namespace": "istio-system", "name": "istiod"}}]) == \
        ["istio-system/istiod"]


CA = {"key_vault_id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
                      "Microsoft.KeyVault/vaults/mesh-kv", "root_cert_object_name": "root",
      "cert_chain_object_name": "chain", "cert_object_name": "ca", "key_object_name": "ca-key"}


def test_plugin_ca_shape_and_named_errors():
    plugin, err = istio_addon.plugin_ca(CA)
    assert err is None and plugin == {"keyVaultId": CA["key_vault_id"], "rootCertObjectName": "root",
                                      "certChainObjectName": "chain", "certObjectName": "ca", "keyObjectName": "ca-key"}
    assert "is not a Key Vault resource ID" in istio_addon.plugin_ca(dict(CA, key_vault_id="/vaults/x"))[1]
    assert "cert_object_name 'a b'" in istio_addon.plugin_ca(dict(CA, cert_object_name="a b"))[1]
    assert "key_object_name is missing" in istio_addon.plugin_ca(dict(CA, key_object_name=""))[1]


def test_egress_gateways_rules():
    out, err = istio_addon.egress_gateways([{"name": "egw", "gateway_configuration_name": "sgc"},
                                            {"name": "old", "enabled": False}])
    assert err is None and out == [
        {"enabled": True, "name": "egw", "namespace": "aks-istio-egress", "gatewayConfigurationName": "sgc"},
        {"enabled": False, "name": "old", "namespace": "aks-istio-egress"}]
    twice = [{"name": "egw", "gateway_configuration_name": "s"}] * 2
    assert "given twice" in istio_addon.egress_gateways(twice)[1]
    assert "1 to 53" in istio_addon.egress_gateways([{"name": "x" * 54, "gateway_configuration_name": "s"}])[1]
    assert "needs gateway_configuration_name" in istio_addon.egress_gateways([{"name": "egw"}])[1]
    assert "is not a namespace name" in istio_addon.egress_gateways([{"name": "e", "namespace": "A/B",
                                                                      "gateway_configuration_name": "s"}])[1]


def test_desired_profile_sets_ca_and_disables_unlisted_egress_gateways():
    current = {"mode": "Istio", "istio": {"revisions": ["asm-1-27"], "components": {"egressGateways": [
        {"enabled": True, "name": "old", "namespace": "aks-istio-egress", "gatewayConfigurationName": "s"}]}}}
    plugin = istio_addon.plugin_ca(CA)[0]
    new = [{"enabled": True, "name": "egw", "namespace": "aks-istio-egress", "gatewayConfigurationName": "sgc"}]
    out = istio_addon.desired_profile(current, ["asm-1-27"], {}, ca=plugin, egress=new)
    assert out["istio"]["certificateAuthority"] == {"plugin": plugin}
    assert [(g["name"], g["enabled"]) for g in out["istio"]["components"]["egressGateways"]] == [
        ("egw", True), ("old", False)]
    assert istio_addon.comparable(out) != istio_addon.comparable(current)
    kept = istio_addon.desired_profile(current, ["asm-1-27"], {})
    assert istio_addon.comparable(kept) == istio_addon.comparable(current)


def test_prerequisites_name_the_fix():
    bare = {"properties": {"agentPoolProfiles": [{"name": "sys", "mode": "System"}]}}
    egress = [{"enabled": True, "name": "egw"}]
    errors = istio_addon.prerequisites(bare, {"keyVaultId": "x"}, egress)
    assert len(errors) == 3 and "azure-keyvault-secrets-provider" in errors[0]
    assert "--enable-static-egress-gateway" in errors[1] and "--mode Gateway" in errors[2]
    ready = {"properties": {"addonProfiles": {"azureKeyvaultSecretsProvider": {"enabled": True}},
                            "networkProfile": {"staticEgressGatewayProfile": {"enabled": True}},
                            "agentPoolProfiles": [{"name": "gw", "mode": "Gateway"}]}}
    assert istio_addon.prerequisites(ready, {"keyVaultId": "x"}, egress) == []
    assert istio_addon.prerequisites(bare, None, [{"enabled": False, "name": "old"}]) == []


def test_addon_egress_splits_module_entries_and_gateway_configurations():
    out = istio_addon.addon_egress([
        {"name": "egw", "gateway_configuration_name": "sgc", "gateway_nodepool_name": "gwpool"},
        {"name": "egw2", "gateway_configuration_name": "sgc", "gateway_nodepool_name": "gwpool"},
        {"name": "ext", "gateway_configuration_name": "byo"}])
    assert out["gateways"][0] == {"name": "egw", "gateway_configuration_name": "sgc"}
    (sgc,) = out["configurations"]
    assert sgc["kind"] == "StaticGatewayConfiguration" and sgc["metadata"]["namespace"] == "aks-istio-egress"
    assert sgc["spec"] == {"gatewayNodepoolName": "gwpool"}


def test_addon_egress_names_the_gateway_mesh_egress_routes_through():
    """The first enabled add-on egress gateway, as AKS lays it out (istio-deploy-egress): Service <name> in its
    namespace (aks-istio-egress unless the entry names another), pods labelled istio: <name>."""
    assert istio_addon.addon_egress([{"name": "egress1", "gateway_configuration_name": "sgc"}])["egress"] == {
        "namespace": "aks-istio-egress", "selector": {"istio": "egress1"}, "service": "egress1"}
    later = istio_addon.addon_egress([
        {"name": "old", "enabled": False},
        {"name": "team-a", "namespace": "egress-a", "gateway_configuration_name": "sgc"},
        {"name": "team-b", "gateway_configuration_name": "sgc"}])
    assert later["egress"] == {"namespace": "egress-a", "selector": {"istio": "team-a"}, "service": "team-a"}
    assert istio_addon.addon_egress([{"name": "old", "enabled": False}])["egress"] == {}
    assert istio_addon.addon_egress([])["egress"] == {}


def test_planned_namespaces_are_those_the_add_on_would_newly_create():
    off = {"mode": "Disabled"}
    on = {"mode": "Istio", "istio": {"revisions": ["asm-1-28"], "components": {
        "ingressGateways": [{"mode": "External", "enabled": True}],
        "egressGateways": [{"name": "e1", "namespace": "egress-ns", "enabled": True},
                           {"name": "e2", "enabled": False}]}}}
    assert istio_addon.planned_namespaces(off, on) == ["aks-istio-ingress", "aks-istio-system", "egress-ns"]
    assert istio_addon.planned_namespaces(on, on) == []
    assert istio_addon.planned_namespaces(off, {"mode": "Istio", "istio": {"revisions": ["asm-1-28"]}}) == [
        "aks-istio-system"]
