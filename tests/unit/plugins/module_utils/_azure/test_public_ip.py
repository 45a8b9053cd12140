"""Unit tests for _azure.public_ip: the IP's shape, differences and the join permission."""

from ansible_collections.aksmesh.istio.plugins.module_utils._azure import public_ip as pip


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
