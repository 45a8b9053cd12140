"""meta/runtime.yml's filter routing: an old filter name redirects, with a deprecation, to a filter the collection
has (the AKS add-on's filters say aks_addon; "addon" alone is the mesh_addons role's Prometheus/Grafana addons)."""

import importlib
import pathlib

import yaml

REPO = pathlib.Path(__file__).resolve().parents[4]


def collection_filters():
    out = {}
    for path in sorted((REPO / "plugins" / "filter").glob("*.py")):
        module = importlib.import_module("ansible_collections.aksmesh.istio.plugins.filter." + path.stem)
        out.update(module.FilterModule().filters())
    return out


def test_old_filter_names_redirect_with_a_deprecation_to_existing_filters():
    routing = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["plugin_routing"]["filter"]
    filters = collection_filters()
    assert {"addon_egress": "aksmesh.istio.aks_addon_egress",
            "addon_mesh_config": "aksmesh.istio.aks_addon_mesh_config"}.items() <= {
        old: entry["redirect"] for old, entry in routing.items()}.items()
    for old, entry in routing.items():
        assert old not in filters, old  # a filter of the old name would shadow the redirect
        assert entry["redirect"].split(".")[-1] in filters, old
        assert entry["deprecation"]["removal_version"] and entry["deprecation"]["warning_text"], old


def test_the_aks_addon_filters_are_named_for_the_aks_addon():
    filters = collection_filters()
    assert {"aks_addon_egress", "aks_addon_mesh_config", "addon_manifests", "addon_dashboards"} <= set(filters)
    egress = filters["aks_addon_egress"]([{"name": "egress1", "gateway_configuration_name": "egress1",
                                           "gateway_nodepool_name": "gwpool"}])
    assert egress["gateways"] == [{"name": "egress1", "gateway_configuration_name": "egress1"}]
    assert [c["kind"] for c in egress["configurations"]] == ["StaticGatewayConfiguration"]
    # what the mesh_egress role's defaults take when the install method runs no egress gateway of its own
    assert egress["egress"] == {"namespace": "aks-istio-egress", "selector": {"istio": "egress1"},
                                "service": "egress1"}
