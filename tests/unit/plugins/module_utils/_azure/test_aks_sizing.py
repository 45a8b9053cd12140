"""Unit tests for _azure.aks_sizing: VM memory, quantities, control-plane capacity."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import aks_sizing as sz


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
