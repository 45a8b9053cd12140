"""aksmesh.istio.injection on the controller: a bare namespace name, or a list of names, is named with the fix before
the module runs (Ansible's own check said "dictionary requested, could not parse JSON or key=value")."""

import pytest

from ansible_collections.aksmesh.istio.plugins.action import injection as injection_action
from tests.unit.plugins.action.support import build


def run(args):
    plugin = build(injection_action.ActionModule, "aksmesh.istio.injection", args)
    plugin._load_name = "aksmesh.istio.injection"
    return plugin.run(task_vars={"ansible_facts": {}}), plugin.calls


@pytest.mark.parametrize("namespaces, needle", [
    ("shop", "got the name 'shop': write namespaces: [{name: shop}]; nothing was labelled"),
    ([{"name": "web"}, "shop", "pay"], "got the names 'shop', 'pay': write namespaces: [{name: shop}, {name: pay}]"),
    (7, "namespaces: expected a list of mappings such as [{name: shop}], got int"),
])
def test_a_namespace_given_by_its_name_alone_is_named_with_the_fix(namespaces, needle):
    result, calls = run({"namespaces": namespaces})
    assert result.get("failed") and needle in result["msg"], result
    assert calls == []  # the module never ran


def test_mappings_go_to_the_module_as_given():
    result, calls = run({"namespaces": [{"name": "shop"}, {"name": "pay", "revision": "1-30"}]})
    assert not result.get("failed"), result
    assert calls[0]["module"] == "aksmesh.istio.injection"
    assert calls[0]["args"]["namespaces"] == [{"name": "shop"}, {"name": "pay", "revision": "1-30"}]
