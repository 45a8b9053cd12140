"""Unit tests for the Azure-side logic: support table, sizing, public IP shape, add-on plan, files, LRO wait."""

import os
import stat

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import aks_sizing as sz
from ansible_collections.aksmesh.istio.plugins.module_utils import atomic_file
from ansible_collections.aksmesh.istio.plugins.module_utils._azure import istio_addon
from ansible_collections.aksmesh.istio.plugins.module_utils._azure import public_ip as pip
from ansible_collections.aksmesh.istio.plugins.module_utils._azure.operations import AzureOperationError, describe, wait
from ansible_collections.aksmesh.istio.plugins.module_utils.istio_support import check_kubernetes, minor_of


@pytest.mark.parametrize("text, expect", [("1.30.0", (1, 30)), ("v1.32.4", (1, 32)), ("asm-1-26", (1, 26)),
                                          ("latest", None)])
def test_minor_of(text, expect):
    assert minor_of(text) == expect


def test_kubernetes_support():
    assert check_kubernetes("1.30.1", "1.32.0") == ([], [])
    errors = check_kubernetes("1.30.1", "1.31.9")[0]
    assert "older than Istio 1.30 supports (1.32 to 1.35)" in errors[0]
    warnings = check_kubernetes("1.30.1", "1.36.0")[1]
    assert "newer than Istio 1.30" in warnings[0]
    assert check_kubernetes("1.99.0", "1.32.0")[1]  # unknown line: warn, do not block
    assert check_kubernetes("main", "1.32")[0]


def sku(name, mem, cpu=2, kind="virtualMachines"):
    caps = [{"name": "MemoryGB", "value": str(mem)}, {"name": "vCPUs", "value": str(cpu)}]
    return {"resourceType": kind, "name": name, "capabilities": caps}


def test_memory_check_boundaries():
    memory = sz.vm_memory([sku("Standard_B2s", 4), sku("Standard_DS2_v2", 7), sku("Standard_A1", 1.75),
                           sku("Premium_LRS", 0, kind="disks")])
    assert set(memory) == {"standard_b2s", "standard_ds2_v2", "standard_a1"}
    pools = [{"name": "a", "vmSize": "Standard_B2s"}, {"name": "b", "vmSize": "standard_ds2_v2"},
             {"name": "w", "vmSize": "Standard_A1", "osType": "Windows"}, {"name": "x", "vmSize": "Standard_Z9"}]
    reports, errors = sz.check_pools(pools, memory)
    assert [r["ok"] for r in reports] == [False, True, True, False]
    assert "'a'" in errors[0] and "4 GiB" in errors[0] and "'x'" in errors[1] and "unknown" in errors[1]
    only_b = sz.check_pools(pools, memory, names=["b"])[1]
    assert only_b == []
    none = sz.check_pools(pools[2:3], memory)[1]
    assert "no Linux node pool" in none[0]


@pytest.mark.parametrize("text, value", [("3860Mi", 3860 * 2 ** 20), ("1930m", 1.93), ("4", 4.0), ("16Gi", 2 ** 34),
                                         ("2k", 2000.0)])
def test_quantity(text, value):
    assert sz.quantity(text) == pytest.approx(value)


def test_capacity():
    need = sz.required(istiod_replicas=1, gateways=1, gateway_replicas=1)
    node = {"metadata": {"name": "n", "labels": {"kubernetes.io/os": "linux"}},
            "status": {"allocatable": {"cpu": "1", "memory": "1Gi"},
                       "conditions": [{"type": "Ready", "status": "True"}]}}
    report, errors = sz.check_capacity([node], need)
    assert report["linux_ready_nodes"] == 1 and any("one istiod pod" in e for e in errors)
    cordoned = dict(node, spec={"unschedulable": True})
    assert "no Ready" in sz.check_capacity([cordoned], need)[1][0]


def test_public_ip_shape_and_differences():
    params = {"dns_label": "shop", "zones": ["2", "1"], "tags": {"a": "1"}, "idle_timeout": 4}
    want = pip.desired(params, "westeurope")
    assert want["zones"] == ["1", "2"] and want["properties"]["publicIPAllocationMethod"] == "Static"
    have = {"location": "West Europe", "sku": {"name": "Standard", "tier": "Regional"}, "zones": ["1", "2"],
            "tags": {"a": "1", "other": "x"},
            "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4",
                           "idleTimeoutInMinutes": 4, "dnsSettings": {"domainNameLabel": "shop"}}}
    shape = pip.current_shape(have)
    assert pip.differences(want, shape) == ([], [])
    assert pip.differences(want, shape, purge_tags=True) == (["tags"], [])
    basic = dict(shape, sku={"name": "Basic"})
    assert "SKU of a public IP cannot change" in pip.differences(want, basic)[1][0]
    assert pip.validate({"dns_label": "-bad"}) and pip.validate({"zones": ["9"]})
    assert pip.validate({"idle_timeout": 31})


def test_join_permission_wildcards():
    role = {"properties": {"permissions": [{"actions": ["Microsoft.Network/*"], "notActions": []}]}}
    assert pip.grants_join(role)
    denied = {"properties": {"permissions": [{"actions": ["*"], "notActions": ["Microsoft.Network/*/join/action"]}]}}
    assert not pip.grants_join(denied)
    assert not pip.grants_join({"properties": {"permissions": [{"actions": ["*/read"]}]}})


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


def test_kubeconfig_file_is_private_and_atomic(tmp_path):
    dest = tmp_path / "new" / "kc"
    assert atomic_file.needs_write(str(dest), "a", 0o600) == (True, True)
    atomic_file.write(str(dest), "a: 1\n")
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600 and stat.S_IMODE(os.stat(dest.parent).st_mode) == 0o700
    assert atomic_file.needs_write(str(dest), "a: 1\n", 0o600) == (False, False)


class FakePoller:
    """An LROPoller stand-in: done after ``polls`` waits."""

    def __init__(self, polls):
        self.polls = polls

    def status(self):
        return "Succeeded" if self.polls <= 0 else "InProgress"

    def done(self):
        return self.polls <= 0

    def wait(self, timeout):
        self.polls -= 1

    def result(self):
        return "model"


def test_wait_records_progress_and_times_out():
    assert wait(FakePoller(2), 10, "x") == ("model", ["InProgress", "Succeeded"])
    now = [0.0]

    def clock():
        now[0] += 1
        return now[0]
    with pytest.raises(AzureOperationError) as err:
        wait(FakePoller(100), 3, "updating cluster", clock=clock)
    assert "updating cluster: still InProgress after 3s" in str(err.value)


def test_describe_maps_status_to_fix():
    class Err(Exception):
        status_code = 403

        class error:
            code = "AuthorizationFailed"
            message = "The client does not have authorization."
    text = str(describe(Err(), "public IP p"))
    assert text.startswith("public IP p: HTTP 403 AuthorizationFailed") and "Network Contributor" in text
