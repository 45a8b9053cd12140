"""Unit tests for _azure.names: Azure names are checked before they reach an ARM URL."""

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import names

CLUSTER_SPEC = {"name": {"aliases": ["cluster_name"]}, "resource_group": {}}
IP_SPEC = {"name": {}, "resource_group": {}, "cluster_name": {}, "cluster_resource_group": {}}


@pytest.mark.parametrize("params, spec, needle", [
    ({"resource_group": "", "name": "aks"}, CLUSTER_SPEC, "resource_group '' is empty"),
    ({"resource_group": "rg.", "name": "aks"}, CLUSTER_SPEC, "is not a valid resource group name"),
    ({"resource_group": "r" * 91, "name": "aks"}, CLUSTER_SPEC, "a resource group name has at most 90"),
    ({"resource_group": "rg", "name": "aks/../x"}, CLUSTER_SPEC, "name 'aks/../x' is not a valid AKS cluster name"),
    ({"resource_group": "rg", "name": "-aks"}, CLUSTER_SPEC, "is not a valid AKS cluster name"),
    ({"resource_group": "rg", "name": "pip/x"}, IP_SPEC, "name 'pip/x' is not a valid public IP name"),
    ({"name": "pip", "cluster_name": "", "cluster_resource_group": "rg"}, IP_SPEC, "cluster_name '' is empty"),
    ({"name": "pip", "cluster_resource_group": "a b"}, IP_SPEC, "cluster_resource_group 'a b'"),
])
def test_bad_azure_names_are_named(params, spec, needle):
    assert any(needle in p for p in names.problems(params, spec)), names.problems(params, spec)


def test_good_azure_names_pass():
    assert names.problems({"resource_group": "rg-shop_(weu).1", "name": "aks-shop_1"}, CLUSTER_SPEC) == []
    assert names.problems({"name": "pip-istio.ingress_", "resource_group": "MC_rg_aks_westeurope",
                           "cluster_name": "aks", "cluster_resource_group": "rg"}, IP_SPEC) == []
    assert names.problems({"resource_group": None, "name": "pip"}, IP_SPEC) == []
