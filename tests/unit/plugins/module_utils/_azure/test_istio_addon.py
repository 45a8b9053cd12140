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
