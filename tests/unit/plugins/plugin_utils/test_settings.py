"""The settings boundary: the aksmesh_* inventory validated once, derived into one fact."""

import json
import pathlib
import re

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.settings import FilterModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import sample
from ansible_collections.aksmesh.istio.plugins.plugin_utils import _stages as stages
from ansible_collections.aksmesh.istio.plugins.plugin_utils._settings import (
    DEFAULTS, OTHER_VARIABLES, RUN_VARIABLES, SECRETS, SettingsError, derive, shared_paths)

ROLES = pathlib.Path(__file__).resolve().parents[4] / "roles"


def test_render_default_and_cluster_target():
    s = derive({}, host="aks-weu", cwd="/srv")
    assert s["target"] == "render" and s["render"] and s["render_dir"] == "/srv/rendered/aks-weu"
    assert s["method"] == "istioctl" and s["stages"]["credentials"]["enabled"] is False
    assert [g["name"] for g in s["gateways"]] == ["ingress", "egress"]
    c = derive({"target": "cluster", "resource_group": "rg", "cluster_name": "aks", "install_method": "helm"})
    assert c["render_dir"] == "" and not c["render"]
    assert c["azure"] == {"resource_group": "rg", "cluster_name": "aks", "enabled": True}
    assert c["stages"]["credentials"]["enabled"] and c["stages"]["static_ip"]["enabled"]
    # istioctl on every method: the analyze stage needs it
    assert c["stages"]["istioctl"]["enabled"] and c["stages"]["istio-helm"]["enabled"]
    assert not c["stages"]["istio"]["enabled"]
    assert c["ingress"]["selector"] == {"istio": "ingress"} and c["ingress"]["ports"] == [80, 443]
    kc = derive({"target": "cluster", "resource_group": "rg", "cluster_name": "aks", "kubeconfig": "/k"})
    assert not kc["stages"]["credentials"]["enabled"]
    assert dict(kc["connection"], credentials_dest="") == {"kubeconfig": "/k", "context": None, "credentials_dest": ""}


def test_a_render_of_the_istioctl_method_gets_the_pinned_istioctl():
    """Render mode writes what istioctl manifest generate makes: the istioctl stage downloads the version asked for
    (aksmesh_istioctl_download), for the istioctl method only; the other methods render without istioctl."""
    assert derive({})["stages"]["istioctl"]["enabled"] is True
    assert derive({"istioctl_download": False})["stages"]["istioctl"]["enabled"] is False
    for method, extra in (("helm", {}), ("aks_addon", {"revision": "asm-1-28"})):
        off = derive(dict(extra, install_method=method))["stages"]["istioctl"]
        assert off == dict(off, enabled=False, skipped="")
    assert {"istio", "istio-helm"} <= set(row["name"] for row in stages.loop("preflight"))


def test_addon_settings():
    s = derive({"target": "cluster", "install_method": "aks_addon", "revision": "asm-1-28",
                "resource_group": "rg", "cluster_name": "aks"})
    assert s["istio_namespace"] == "aks-istio-system" and s["injection_labels"] == {"istio.io/rev": "asm-1-28"}
    assert s["egress"] == {} and not s["stages"]["static_ip"]["enabled"] and s["stages"]["istio"]["enabled"]


def test_the_sample_is_opt_in_and_renders_last():
    off, on = derive({}), derive({"sample": True})
    assert off["stages"]["sample"]["enabled"] is False and on["stages"]["sample"]["enabled"] is True
    assert off["stages"]["sample"]["skipped"] == ""  # off by default is not a stage turned off: the summary is quiet
    folders = [stage["folder"] for stage in on["stages"].values() if stage["folder"]]
    assert on["stages"]["sample"]["folder"] == "95-sample" and max(folders) == "95-sample"
    with pytest.raises(SettingsError, match="aksmesh_sample: expected true or false"):
        derive({"sample": "yes"})


def test_the_dataplane_is_sidecars_by_default_or_ambient():
    assert derive({})["dataplane"] == {"mode": "sidecar"}
    assert derive({"dataplane_mode": "ambient"})["dataplane"] == {"mode": "ambient"}


def test_the_ingress_api_is_istios_by_default_or_the_gateway_apis():
    """With gateway_api the ingress row is the Gateway istiod deploys (for the policies that name its pods and
    identity), and the gateway-api stage runs unless turned off."""
    istio = derive({})
    assert istio["ingress"]["api"] == "istio" and istio["ingress"]["gateway"] == ""
    assert istio["stages"]["gateway-api"]["enabled"] is False
    gateway_api = derive({"ingress_api": "gateway_api"})
    ingress = gateway_api["ingress"]
    assert (ingress["api"], ingress["gateway"], ingress["service"], ingress["namespace"]) == (
        "gateway_api", "ingress", "ingress-istio", "istio-ingress")
    assert ingress["selector"] == {"gateway.networking.k8s.io/gateway-name": "ingress"}
    assert (ingress["service_account"], ingress["ports"]) == ("ingress-istio", [80, 443])
    # the install method's own gateway, which it replaces (the Helm method's release)
    assert ingress["method_service"] == istio["ingress"]["method_service"] == "istio-ingressgateway"
    helm = derive({"ingress_api": "gateway_api", "install_method": "helm"})["ingress"]
    assert (helm["service"], helm["method_service"]) == ("ingress-istio", "istio-ingress")
    # the AKS add-on: the Gateway in a namespace of the collection's (aksmesh_ingress_namespace may name it), AKS's
    # managed Gateway API CRDs (no gateway-api stage), the add-on's own external gateway off (its role's default)
    addon = derive({"ingress_api": "gateway_api", "install_method": "aks_addon", "revision": "asm-1-28"})
    assert (addon["ingress"]["namespace"], addon["ingress"]["service"]) == ("istio-ingress", "ingress-istio")
    assert "istio-ingress" in addon["owned_namespaces"] and addon["stages"]["gateway-api"]["enabled"] is False
    named = derive({"ingress_api": "gateway_api", "install_method": "aks_addon", "revision": "asm-1-28",
                    "ingress_namespace": "edge"})
    assert named["ingress"]["namespace"] == "edge" and "edge" in named["owned_namespaces"]
    assert gateway_api["gateways"][0] == {k: v for k, v in ingress.items() if k in gateway_api["gateways"][0]}
    assert gateway_api["stages"]["gateway-api"]["enabled"] is True
    assert derive({"ingress_api": "gateway_api", "gateway_api_crds": False})["stages"]["gateway-api"]["enabled"] \
        is False


def test_a_migration_of_the_ingress_api_keeps_the_other_apis_ingress_serving_beside_it():
    """aksmesh_ingress_migration: the other API's ingress joins the gateways (the policies let both in) and keeps the
    static IP; Istio's Gateways select the install method's gateway; the Gateway API CRDs are needed either way."""
    plain = derive({"ingress_api": "gateway_api"})["ingress"]
    assert plain["migration"] == {"enabled": False, "from": "", "ip": ""} and plain["static_ip_api"] == "gateway_api"
    both = derive({"ingress_api": "gateway_api", "ingress_migration": True, "ingress_ip": "51.124.9.10",
                   "ingress_migration_ip": "51.124.9.11"})
    ingress = both["ingress"]
    assert ingress["migration"] == {"enabled": True, "from": "istio", "ip": "51.124.9.11"}
    assert ingress["static_ip_api"] == "istio" and ingress["ip"] == "51.124.9.10"
    assert ingress["service"] == "ingress-istio" and ingress["selector"] == {"istio": "ingressgateway"}
    assert [(g["name"], g["service"], g["service_account"]) for g in both["gateways"] if g["role"] == "ingress"] == [
        ("ingress", "ingress-istio", "ingress-istio"),
        ("ingress_migration", "istio-ingressgateway", "istio-ingressgateway-service-account")]
    back = derive({"ingress_api": "istio", "ingress_migration": True, "install_method": "helm"})
    assert back["ingress"]["migration"]["from"] == "gateway_api" and back["ingress"]["static_ip_api"] == "gateway_api"
    assert back["gateway_api"]["crds"] is True and back["stages"]["gateway-api"]["enabled"] is True
    assert [g["service"] for g in back["gateways"] if g["role"] == "ingress"] == ["istio-ingress", "ingress-istio"]


def test_the_gateway_api_crds_are_off_by_default_and_pinned():
    off = derive({})
    assert off["gateway_api"] == {"crds": False, "version": "v1.6.0",
                                  "h1": "h1:735YBRj5NXFrOGX0GoSjwzUIzbz8kiEOfADsqHFmHgE=",
                                  "url": "https://proxy.golang.org/sigs.k8s.io/gateway-api/@v/v1.6.0.zip"}
    assert not off["stages"]["gateway-api"]["enabled"] and off["stages"]["gateway-api"]["folder"] == "05-gateway-api"
    on = derive({"gateway_api_crds": True, "install_method": "helm", "gateway_api_proxy": "file:///srv/goproxy/"})
    assert on["stages"]["gateway-api"]["enabled"]
    assert on["gateway_api"]["url"] == "file:///srv/goproxy/sigs.k8s.io/gateway-api/@v/v1.6.0.zip"


def test_cni_is_off_by_default_and_lives_in_the_istio_namespace():
    assert derive({})["cni"] == {"enabled": False, "namespace": "istio-system"}
    on = derive({"cni": True, "install_method": "helm", "istio_namespace": "mesh-system"})
    assert on["cni"] == {"enabled": True, "namespace": "mesh-system"}
    assert derive({"cni": False, "install_method": "aks_addon", "revision": "asm-1-28"})["cni"]["enabled"] is False


@pytest.mark.parametrize("raw,match", [
    ({"target": "prod"}, r"aksmesh_target: 'prod': use render"),
    ({"install_method": "kubectl"}, r"aksmesh_install_method: 'kubectl': use one of istioctl, helm, aks_addon"),
    ({"analyze_absent_hosts": "ignore"}, r"aksmesh_analyze_absent_hosts: 'ignore': use report .* or fail"),
    ({"analyze": "yes"}, r"aksmesh_analyze: expected true or false"),
    ({"reconcile": "overwrite"}, r"aksmesh_reconcile: 'overwrite': use report .* or force"),
    ({"target": "cluster", "render_dir": "/tmp/x"}, r"aksmesh_render_dir: is set but aksmesh_target is cluster"),
    ({"resource_group": "rg"}, r"aksmesh_cluster_name: is missing"),
    ({"cluster_name": "aks"}, r"aksmesh_resource_group: is missing"),
    ({"install_method": "aks_addon"}, r"aksmesh_revision: is missing: the AKS add-on needs its revision"),
    ({"install_method": "aks_addon", "revision": "1-30-0"}, r"aksmesh_revision: '1-30-0'"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "target": "cluster"},
     r"aksmesh_resource_group: is missing: the AKS add-on is enabled through Azure"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "istio_namespace": "istio-system"},
     r"aksmesh_istio_namespace 'istio-system': the AKS add-on places"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "ingress_ip": "20.1.2.3"},
     r"aksmesh_ingress_ip: is set, but the AKS add-on reverts IP customizations .* use the add-on's Gateway API "
     r"ingress \(aksmesh_ingress_api: gateway_api\), whose Gateway takes it, or aksmesh_install_method istioctl"),
    # the resources istiod deploys for the Gateway API ingress: Istio's overlays, AKS's allow list for the add-on
    ({"ingress_gateway_customizations": {"deployment": {"spec": {"replicas": 3}}}},
     r"aksmesh_ingress_gateway_customizations is set, but the ingress is Istio's Gateway .* set aksmesh_ingress_api: "
     r"gateway_api"),
    ({"ingress_api": "gateway_api", "ingress_gateway_customizations": ["deployment"]},
     r"aksmesh_ingress_gateway_customizations: expected a mapping, got list"),
    ({"ingress_api": "gateway_api", "ingress_gateway_customizations": {"deploymnet": {}}},
     r"aksmesh_ingress_gateway_customizations.deploymnet: istiod customizes deployment, service, serviceAccount, "
     r"horizontalPodAutoscaler, podDisruptionBudget only"),
    ({"ingress_api": "gateway_api", "ingress_gateway_customizations": {"service": "type: NodePort"}},
     r"aksmesh_ingress_gateway_customizations.service: expected the overlay of the service as a mapping"),
    ({"ingress_api": "gateway_api", "ingress_source_ranges": ["203.0.113.0/24"],
      "ingress_gateway_customizations": {"service": {"spec": {"loadBalancerSourceRanges": ["198.51.100.0/24"]}}}},
     r"service.spec.loadBalancerSourceRanges and aksmesh_ingress_source_ranges are both set: give the networks once"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "ingress_api": "gateway_api",
      "ingress_gateway_customizations": {"deployment": {"spec": {"template": {"spec": {"hostNetwork": True}}}}}},
     r"aksmesh_ingress_gateway_customizations.deployment.spec.template.spec.hostNetwork: not on the AKS add-on's "
     r"resource customization allow list \(its webhook refuses it\): for the deployment it takes metadata.labels, "),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "ingress_api": "gateway_api",
      "ingress_gateway_customizations": {"deployment": {"spec": {"template": {"spec": {"containers": [
          {"name": "istio-proxy", "resources": {"limits": {"cpu": "2"}}, "image": "mine"}]}}}}}},
     r"deployment.spec.template.spec.containers.image: not on the AKS add-on's resource customization allow list"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "ingress_api": "gateway_api",
      "ingress_gateway_customizations": {"serviceAccount": {"metadata": {"labels": {"a": "b"}}}}},
     r"aksmesh_ingress_gateway_customizations.serviceAccount: the AKS add-on customizes deployment, service, "
     r"horizontalPodAutoscaler, podDisruptionBudget only \(its allow list has no serviceAccount\)"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "ingress_api": "gateway_api",
      "ingress_gateway_customizations": {"horizontalPodAutoscaler": {"spec": {"minReplicas": 1, "maxReplicas": 3}}}},
     r"aksmesh_ingress_gateway_customizations.horizontalPodAutoscaler.spec.minReplicas: 1: the AKS add-on takes "
     r"2 or more"),
    ({"revision": "1.30; touch /tmp/x"}, r"aksmesh_revision: .* is not a revision name"),
    ({"istio_namespace": "Istio_System"}, r"aksmesh_istio_namespace: 'Istio_System' is not a namespace name: it is "
                                          r"not a DNS-1123 label"),
    # the API server's rule (module_utils/_k8s/names.py): no trailing newline, which a '$' pattern let through
    ({"istio_namespace": "istio-system\n"}, r"aksmesh_istio_namespace: 'istio-system\\n' is not a namespace name"),
    ({"ingress_namespace": "i" * 64}, r"aksmesh_ingress_namespace: .* it is 64 characters long"),
    ({"revision": "1-30-0\n"}, r"aksmesh_revision: '1-30-0\\n' is not a revision name"),
    ({"ingress_namespace": "shop\n"}, r"aksmesh_ingress_namespace: 'shop\\n' is not a namespace name: it is not a "
                                      r"DNS-1123 label"),
    ({"egress_namespace": "shop\n"}, r"aksmesh_egress_namespace: 'shop\\n' is not a namespace name"),
    ({"install_method": "aks_addon", "revision": "asm-1-28\n"}, r"aksmesh_revision: 'asm-1-28\\n': the AKS add-on"),
    ({"istio_version": "1.30.0\n"}, r"aksmesh_istio_version: '1.30.0\\n' is not an Istio release"),
    ({"ingress_ip": "1.2.3"}, r"aksmesh_ingress_ip: '1.2.3' is not an IPv4 address"),
    ({"ingress_ip_resource_group": "rg"}, r"aksmesh_ingress_ip_resource_group: is set without aksmesh_ingress_ip"),
    ({"ingress_source_ranges": "203.0.113.0/24"}, r"aksmesh_ingress_source_ranges: expected a list, got str"),
    ({"ingress_source_ranges": ["203.0.113.0/24", "10.1.2.3/8"]},
     r"aksmesh_ingress_source_ranges: \[1\] '10.1.2.3/8' is not a network such as 203.0.113.0/24 \(.*host bits set"),
    ({"ingress_source_ranges": [24]}, r"aksmesh_ingress_source_ranges: \[0\] 24 is not a network"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "ingress_source_ranges": ["203.0.113.0/24"]},
     r"aksmesh_ingress_source_ranges: is set, but the AKS add-on manages its ingress gateway Services"),
    ({"istio_version": "latest"}, r"aksmesh_istio_version: 'latest' is not an Istio release"),
    ({"kube_context": ""}, r"aksmesh_kube_context: is empty"),
    ({"kubeconfig": ""}, r"aksmesh_kubeconfig: is empty"),
    ({"kubeconfig": 7}, r"aksmesh_kubeconfig: expected a path or a kubeconfig mapping, got int"),
    ({"addons": "yes"}, r"aksmesh_addons: expected true or false"),
    ({"resource_group": ["rg"]}, r"aksmesh_resource_group: expected a string, got list"),
    ({"lint_fail_level": "error"}, r"aksmesh_lint_fail_level: 'error': use one of Info, Warning, Error"),
    ({"tagret": "render"}, r"aksmesh_tagret \(did you mean aksmesh_target\?\): unknown variable - rename or remove it"),
    ({"unknown_variables": "ignore"}, r"aksmesh_unknown_variables: 'ignore': use fail .* or warn"),
    ({"cleanup_crds": "maybe"}, r"aksmesh_cleanup_crds: expected true or false, got 'maybe'"),
    ({"cleanup_static_ip": None}, r"aksmesh_cleanup_static_ip: expected true or false, got None"),
    ({"upgrade_remove_old": 2}, r"aksmesh_upgrade_remove_old: expected true or false, got 2"),
    ({"upgrade_to_revision": 1.3}, r"aksmesh_upgrade_to_revision: expected a string, got float: quote it"),
    ({"upgrade_version": ["1.30.1"]}, r"aksmesh_upgrade_version: expected a string, got list"),
    ({"kiali_username": 7}, r"aksmesh_kiali_username: expected a string, got int"),
    ({"poll_interval": 0}, r"aksmesh_poll_interval: 0: use 1 to 60 seconds"),
    ({"poll_interval": 61}, r"aksmesh_poll_interval: 61: use 1 to 60 seconds"),
    ({"poll_interval": "10s"}, r"aksmesh_poll_interval: expected a whole number of seconds, got '10s'"),
    ({"poll_interval": True}, r"aksmesh_poll_interval: expected a whole number of seconds, got True"),
    ({"cni": "yes"}, r"aksmesh_cni: expected true or false"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "cni": True},
     r"aksmesh_cni: is true, but the AKS add-on .*proxyRedirectionMechanism .*use aksmesh_install_method istioctl or helm"),
    ({"install_method": "aks_addon", "revision": "asm-1-28", "gateway_api_crds": True},
     r"aksmesh_gateway_api_crds: is true, but the AKS add-on's Gateway API support uses AKS's managed Gateway API "
     r"CRDs.*az aks update --enable-gateway-api.* set aksmesh_gateway_api_crds: false"),
    ({"gateway_api_crds": "yes"}, r"aksmesh_gateway_api_crds: expected true or false"),
    ({"dataplane_mode": "sidecars"}, r"aksmesh_dataplane_mode: 'sidecars': use sidecar .* or ambient"),
    ({"dataplane_mode": "ambient", "install_method": "aks_addon", "revision": "asm-1-28"},
     r"aksmesh_dataplane_mode: is ambient, but the AKS add-on has no ambient data plane"),
    ({"ingress_api": "gateway"}, r"aksmesh_ingress_api: 'gateway': use istio .* or gateway_api"),
    ({"ingress_migration_ip": "51.124.9.11"}, r"aksmesh_ingress_migration_ip: is set, but aksmesh_ingress_migration "
                                              r"is false.* give the address as aksmesh_ingress_ip"),
    ({"ingress_migration": True, "ingress_ip": "51.124.9.10", "ingress_migration_ip": "51.124.9.10"},
     r"aksmesh_ingress_migration_ip: 51.124.9.10 is aksmesh_ingress_ip too"),
    ({"ingress_migration": True, "ingress_migration_ip": "near"},
     r"aksmesh_ingress_migration_ip: 'near' is not an IPv4 address"),
    ({"ingress_migration": True, "install_method": "aks_addon", "revision": "asm-1-28"},
     r"aksmesh_ingress_migration: is true, but the AKS add-on's ingress gateways are the add-on's"),
    ({"ingress_api": "gateway_api", "install_method": "aks_addon", "revision": "asm-1-25"},
     r"aksmesh_ingress_api: is gateway_api, but the AKS add-on's Gateway API support needs revision asm-1-26 or "
     r"later, and aksmesh_revision is asm-1-25"),
    ({"ingress_api": "gateway_api", "install_method": "aks_addon", "revision": "asm-1-28",
      "ingress_namespace": "aks-istio-system"},
     r"aksmesh_ingress_namespace 'aks-istio-system': the AKS add-on's own namespace"),
    ({"istioctl_sha256": "ABC"}, r"aksmesh_istioctl_sha256: 'ABC' is not a sha256: give the 64 lowercase hex digits"),
    ({"istioctl_sha256": "0" * 64, "istioctl_download": False},
     r"aksmesh_istioctl_sha256: is set, but aksmesh_istioctl_download is false"),
    ({"gateway_api_proxy": "proxy.golang.org"},
     r"aksmesh_gateway_api_proxy: 'proxy.golang.org' is not a Go module proxy's address: give its http://, https:// or "
     r"file:// URL"),
])
def test_bad_settings_get_named_errors(raw, match):
    with pytest.raises(SettingsError, match=match):
        derive(raw)


def test_role_argument_spec_documents_the_same_defaults():
    spec = yaml.safe_load((ROLES / "settings" / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted("aksmesh_" + k for k in list(DEFAULTS) + list(OTHER_VARIABLES))
    for key, (kind, default) in DEFAULTS.items():
        assert options["aksmesh_" + key]["type"] == kind, key
        assert options["aksmesh_" + key].get("default") == default, key
    # the other variables: their types; their defaults are the playbooks' (described, not declared)
    for key, kind in OTHER_VARIABLES.items():
        assert options["aksmesh_" + key]["type"] == kind, key
        assert "default" not in options["aksmesh_" + key], key
    assert sorted(k for k, o in options.items() if o.get("no_log")) == sorted(
        "aksmesh_" + k for k in ("kubeconfig",) + SECRETS)
    # the role reads the variables the inventory sets through the table (aksmesh.istio.setting_variables), and hands
    # the names of every aksmesh_* variable to the settings filter (the unknown ones)
    tasks = (ROLES / "settings" / "tasks" / "main.yml").read_text()
    assert "settings_every_name: \"{{ query('ansible.builtin.varnames', '^aksmesh_') }}\"" in tasks
    assert "settings_every_name | aksmesh.istio.setting_variables" in tasks
    assert re.search(r"aksmesh\.istio\.settings\(inventory_hostname, [^\n]*\n\s*settings_every_name, "
                     r"credentials_dest=settings_credentials_dest,\s*errors='return'\)", tasks)
    assert not re.search(r"aksmesh_(?!\*)\w+ \| default", tasks.replace("aksmesh_kubeconfig | default('')", ""))


@pytest.mark.parametrize("role", sorted(p.name for p in ROLES.iterdir() if (p / "defaults" / "main.yml").exists()))
def test_role_defaults_agree_with_their_argument_specs(role):
    """A literal default is documented as it is; a default derived from settings_mesh documents none; no role
    declares its own connection or re-derives a cross-cutting aksmesh_* setting."""
    defaults = yaml.safe_load((ROLES / role / "defaults" / "main.yml").read_text()) or {}
    options = {}
    for entry in yaml.safe_load((ROLES / role / "meta" / "argument_specs.yml").read_text())["argument_specs"].values():
        options.update(entry.get("options") or {})
    for name, value in defaults.items():
        assert name in options, "%s: %s is not in meta/argument_specs.yml" % (role, name)
        assert not name.endswith(("_kubeconfig", "_context")), name
        if isinstance(value, str) and "{{" in value:
            assert "aksmesh_" not in value, "%s re-derives an inventory setting: %s" % (name, value)
            assert "default" not in options[name], "%s is derived: document where from, not a literal" % name
        else:
            assert options[name].get("default") == value, "%s: default %r, argument spec %r" % (
                name, value, options[name].get("default"))


def test_kubernetes_own_namespaces_are_published_from_one_place():
    assert derive({})["system_namespaces"] == ["default", "kube-system", "kube-public", "kube-node-lease"]
    with pytest.raises(MeshConfigError, match="kube-public is a Kubernetes namespace"):
        sample.check_namespace("kube-public", "istio-system", [])


def test_the_namespaces_the_collection_owns_are_published_from_the_topology_table():
    assert derive({})["owned_namespaces"] == ["istio-system", "istio-ingress", "istio-egress"]
    assert derive({"install_method": "helm", "istio_namespace": "mesh", "ingress_namespace": "mesh",
                   "egress_namespace": "out"})["owned_namespaces"] == ["mesh", "out"]
    assert derive({"install_method": "aks_addon", "revision": "asm-1-28"})["owned_namespaces"] == [
        "aks-istio-system", "aks-istio-ingress"]
    with pytest.raises(MeshConfigError, match=r"istio-egress is a namespace of the mesh \(istio-egress, "
                                              r"istio-ingress, istio-system\)"):
        sample.check_namespace("istio-egress", "istio-system", derive({})["gateways"])
    # nothing else spells the list out: the playbooks, roles and molecule take settings_mesh.owned_namespaces,
    # settings_mesh.system_namespaces (module_utils/_k8s/names.py) or the topology's owned_namespaces()
    restated = []
    for base in ("roles", "playbooks", "molecule"):
        for path in (ROLES.parent / base).rglob("*.yml"):
            text = path.read_text()
            for needle in ("[settings_mesh.istio_namespace] + settings_mesh.gateway_namespaces",
                           "settings_mesh.gateway_namespaces + [settings_mesh.istio_namespace]", "kube-node-lease"):
                if needle in text:
                    restated.append("%s: %s" % (path.relative_to(ROLES.parent), needle))
    assert restated == []


def test_poll_interval_default_and_ini_strings():
    assert derive({})["poll_interval"] == 10
    assert derive({"poll_interval": "3"})["poll_interval"] == 3  # INI [group:vars] hands strings
    assert derive({"poll_interval": 60})["poll_interval"] == 60


def skipped(raw):
    return dict((name, stage["skipped"]) for name, stage in derive(raw)["stages"].items() if stage["skipped"])


def test_the_addons_gateway_api_ingress_takes_a_static_ip_source_ranges_and_allow_listed_customizations():
    """AKS documents annotations (the static IP's) on the add-on's Gateway and a customization ConfigMap within its
    allow list: the add-on's Gateway API ingress takes them, and the static IP stage runs for it."""
    custom = {"deployment": {"metadata": {"labels": {"team": "shop"}}, "spec": {"replicas": 2, "template": {"spec": {
        "containers": [{"name": "istio-proxy", "resources": {"requests": {"cpu": "500m"}}}],
        "tolerations": [{"key": "gw", "operator": "Exists"}]}}}},
        "service": {"metadata": {"annotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "false"}}},
        "horizontalPodAutoscaler": {"spec": {"minReplicas": 2, "maxReplicas": 4}},
        "podDisruptionBudget": {"spec": {"minAvailable": 1}}}
    s = derive({"target": "cluster", "resource_group": "rg", "cluster_name": "aks", "install_method": "aks_addon",
                "revision": "asm-1-28", "ingress_api": "gateway_api", "ingress_ip": "20.1.2.3",
                "ingress_source_ranges": ["203.0.113.0/24"], "ingress_gateway_customizations": custom})
    assert s["stages"]["static_ip"]["enabled"]
    assert s["ingress"]["ip"] == "20.1.2.3" and s["ingress"]["source_ranges"] == ["203.0.113.0/24"]
    assert s["ingress"]["customizations"] == custom
    # Istio's own overlays (a ServiceAccount's too) for the other methods; none by default
    assert derive({"ingress_api": "gateway_api", "ingress_gateway_customizations": {
        "serviceAccount": {"metadata": {"annotations": {"azure.workload.identity/client-id": "x"}}}}})[
        "ingress"]["customizations"]["serviceAccount"]
    assert derive({})["ingress"]["customizations"] == {}


def test_the_summary_learns_why_a_stage_does_not_run():
    assert skipped({}) == {}  # render mode: no Azure stage to speak of
    assert skipped({"addons": False, "secrets": False}) == {
        "addons": "aksmesh_addons is false", "secrets": "aksmesh_secrets is false"}
    plain = skipped({"target": "cluster", "kubeconfig": "/k"})
    assert plain["preflight"].startswith("no Azure names")
    addon = skipped({"target": "cluster", "resource_group": "rg", "cluster_name": "aks", "install_method": "aks_addon",
                     "revision": "asm-1-28", "preflight": False, "kubeconfig": "/k"})
    assert addon == {"credentials": "aksmesh_kubeconfig is given", "preflight": "aksmesh_preflight is false",
                     "static_ip": "the AKS add-on's gateways get their IPs from AKS (its Gateway API ingress takes "
                                  "a static IP: aksmesh_ingress_api gateway_api)",
                     "gateway-api": "the AKS add-on uses AKS's managed Gateway API CRDs"}
    # a switch that is on by default, turned off, is said; one off by default (aksmesh_sample) is not
    assert skipped({"target": "cluster", "kubeconfig": "/k", "istioctl_download": False})["istioctl"] == (
        "aksmesh_istioctl_download is false")
    assert skipped({"target": "cluster", "kubeconfig": "/k", "istioctl_download": False, "install_method": "helm"}
                   )["istioctl"] == "aksmesh_istioctl_download is false"  # every method analyzes with it
    assert skipped({"target": "cluster", "kubeconfig": "/k", "analyze": False})["analyze"] == (
        "aksmesh_analyze is false")


def test_the_stages_are_published_in_run_order_from_the_registry():
    s = derive({"target": "cluster", "kubeconfig": "/k"})
    assert list(s["stages"]) == [stage.name for stage in stages.STAGES]
    assert s["stages"]["network-policies"] == {
        "name": "network-policies", "role": "mesh_network_policies",
        "enabled": True, "skipped": "", "folder": "80-network-policies",
        "prune_kinds": [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy"}],
        "cleanup": "mesh_config", "cleanup_default": True}
    # the tags come with the loop, the same for every host (test_stages.py checks them)
    assert {"name": "certs", "tags": ["mesh", "certs", "gateways"], "validate": True} in stages.loop("preflight")
    assert s["stages"]["istio"]["role"] == s["stages"]["istio-helm"]["role"] == "istio_control_plane"
    assert {"name": "istio", "tags": ["install", "control_plane"], "validate": True} in stages.loop("absent")
    assert s["stages"]["static_ip"]["cleanup_default"] is False


def test_an_unknown_variable_fails_naming_the_closest_known_one():
    with pytest.raises(SettingsError) as exc:
        derive({"target": "render"}, variables=["aksmesh_target", "aksmesh_instal_method"])
    assert str(exc.value) == (
        "aksmesh_instal_method (did you mean aksmesh_install_method?): unknown variable - rename or remove it: the "
        "collection reads no such variable (every variable: ansible-doc -t role aksmesh.istio.settings); "
        "aksmesh_unknown_variables: warn only warns")


def test_several_unknown_variables_are_named_in_one_message():
    with pytest.raises(SettingsError) as exc:
        derive({}, variables=["aksmesh_resource_grup", "aksmesh_cleanup_samples", "aksmesh_zzz", "aksmesh_sample"])
    assert str(exc.value).startswith(
        "aksmesh_cleanup_samples (did you mean aksmesh_cleanup_sample?), aksmesh_resource_grup (did you mean "
        "aksmesh_resource_group?), aksmesh_zzz: unknown variables - rename or remove them: ")
    # the typo is told before what it leads to (aksmesh_cluster_name without aksmesh_resource_group)
    with pytest.raises(SettingsError, match=r"^aksmesh_resource_grup \(did you mean aksmesh_resource_group\?\)"):
        derive({"cluster_name": "aks"}, variables=["aksmesh_cluster_name", "aksmesh_resource_grup"])


def test_the_variables_the_playbooks_set_are_never_reported():
    names = ["aksmesh_" + name for name in list(DEFAULTS) + list(OTHER_VARIABLES) + list(RUN_VARIABLES)]
    assert derive({}, variables=names)["unknown_variables"] == {"mode": "fail", "names": [], "message": ""}
    assert derive({})["unknown_variables"]["names"] == []
    assert set(RUN_VARIABLES) == {"stage", "stage_entry", "stage_runs", "drift", "report"}


def test_warn_tells_the_same_and_goes_on():
    names = ["aksmesh_instal_method", "aksmesh_target"]
    with pytest.raises(SettingsError) as exc:
        derive({"target": "render"}, variables=names)
    s = derive({"target": "render", "unknown_variables": "warn"}, variables=names + ["aksmesh_unknown_variables"])
    assert s["method"] == "istioctl"  # the misspelt variable is ignored, as it was
    assert s["unknown_variables"]["mode"] == "warn" and s["unknown_variables"]["names"] == ["aksmesh_instal_method"]
    assert str(exc.value).startswith(s["unknown_variables"]["message"] + "; ")
    # the settings role prints it, and site.yml's summary repeats it
    tasks = (ROLES / "settings" / "tasks" / "main.yml").read_text()
    assert "msg: \"{{ settings_mesh.unknown_variables.message }}\"" in tasks
    summary = (ROLES.parent / "playbooks" / "templates" / "summary.j2").read_text()
    assert "settings_mesh.unknown_variables.message" in summary


def test_the_other_variables_take_what_the_playbooks_take():
    # cleanup.yml's bool filter and istio_upgrade's bool argument take 'false' from -e aksmesh_cleanup_sample=false
    derive({"cleanup_sample": "false", "cleanup_crds": True, "upgrade_restart": "yes", "upgrade_remove_old": False})
    # an empty revision is istio_upgrade's to refuse, saying what to set
    derive({"upgrade_to_revision": "", "upgrade_version": "1.30.1", "grafana_username": "admin"})


@pytest.mark.parametrize("value", [123456789, ["s3cret-value"], {"s3cret": "value"}, True, None])
def test_a_passphrase_of_the_wrong_type_is_named_never_told(value):
    for name in SECRETS:
        with pytest.raises(SettingsError) as exc:
            derive({name: value})
        assert str(exc.value) == "aksmesh_%s: is not a string: quote it, or vault it (ansible-vault encrypt_string)" % (
            name)


def test_the_passphrases_are_checked_never_published():
    s = derive({"grafana_passphrase": "s3cret-grafana", "kiali_passphrase": "s3cret-kiali", "grafana_username": "g"})
    assert "s3cret" not in json.dumps(s) and '"g"' not in json.dumps(s)
    settings = FilterModule().filters()["settings"]
    assert "s3cret" not in json.dumps(settings({"kiali_passphrase": "s3cret-kiali"}, "h", "/srv", []))
    with pytest.raises(AnsibleFilterError) as exc:
        settings({"kiali_passphrase": 12345678}, "h", "/srv", ["aksmesh_kiali_passphrase"])
    assert "12345678" not in str(exc.value) and "aksmesh_kiali_passphrase: is not a string" in str(exc.value)


class Vaulted(object):
    """What a vaulted value is before ansible-core 2.19 (AnsibleVaultEncryptedUnicode): no str, its text str()."""

    vault = object()
    data = "s3cret"

    def __str__(self):
        return self.data


def test_the_settings_filter_checks_every_aksmesh_name_it_is_given():
    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match=r"^aksmesh\.istio\.settings: aksmesh_instal_method \(did you mean "
                                                 r"aksmesh_install_method\?\): unknown variable"):
        filters["settings"]({}, "h", "/srv", ["aksmesh_instal_method"])
    with pytest.raises(AnsibleFilterError, match="expected a list of variable names, got str"):
        filters["settings"]({}, "h", "/srv", "aksmesh_target")
    # errors=return: the problem is the value, for the settings role to fail with exactly its message (the variable
    # first), not behind ansible-core's wrappers of a filter that raised; a wrong call still raises
    assert filters["settings"]({}, "h", "/srv", ["aksmesh_instal_method"], errors="return") == {
        "failed": True, "msg": "aksmesh_instal_method (did you mean aksmesh_install_method?): unknown variable - rename "
        "or remove it: the collection reads no such variable (every variable: ansible-doc -t role "
        "aksmesh.istio.settings); aksmesh_unknown_variables: warn only warns"}
    assert "failed" not in filters["settings"]({}, "h", "/srv", ["aksmesh_target"], errors="return")
    with pytest.raises(AnsibleFilterError, match="expected a list of variable names, got str"):
        filters["settings"]({}, "h", "/srv", "aksmesh_target", errors="return")
    assert filters["settings"]({"grafana_passphrase": Vaulted()}, "h", "/srv", ["aksmesh_grafana_passphrase"])
    # the variables it checks: the settings, then the others, in the table's order; neither unknown nor run names
    assert filters["setting_variables"](
        ["aksmesh_upgrade_restart", "aksmesh_stage", "aksmesh_instal_method", "aksmesh_target", "other"]) == [
        "aksmesh_target", "aksmesh_upgrade_restart"]


def test_the_other_variables_are_those_the_playbooks_read():
    assert [k for k in OTHER_VARIABLES if k.startswith("cleanup_")] == [
        "cleanup_" + part for part in stages.cleanup_parts() + ["crds", "namespaces"]]
    upgrade = (ROLES.parent / "playbooks" / "upgrade.yml").read_text()
    assert [k for k in OTHER_VARIABLES if k.startswith("upgrade_")] == re.findall(r"aksmesh_(upgrade_\w+) \|", upgrade)
    # every aksmesh_* name the playbooks and the roles read or set is known (a prefix, aksmesh_cleanup_, too)
    known = set(DEFAULTS) | set(OTHER_VARIABLES) | set(RUN_VARIABLES)
    unknown = set()
    paths = list((ROLES.parent / "playbooks").rglob("*"))
    for sub in ("tasks", "defaults", "templates", "vars"):
        paths.extend(ROLES.glob("*/%s/*" % sub))
    for path in paths:
        if path.suffix in (".yml", ".j2"):
            for name in re.findall(r"\baksmesh_(\w+)", path.read_text()):
                if name not in known and not (name.endswith("_") and any(k.startswith(name) for k in known)):
                    unknown.add("%s: aksmesh_%s" % (path.relative_to(ROLES.parent), name))
    assert sorted(unknown) == []


def test_the_inventories_of_the_repository_set_no_unknown_aksmesh_variable():
    known = set(DEFAULTS) | set(OTHER_VARIABLES)
    paths = list((ROLES.parent / "inventory").rglob("*.yml")) + list((ROLES.parent / "molecule").glob("*/molecule.yml"))
    paths += list((ROLES.parent / "molecule").glob("*/converge.yml"))
    found = set()
    for path in paths:
        found.update("%s: aksmesh_%s" % (path.relative_to(ROLES.parent), name)
                     for name in re.findall(r"^\s*aksmesh_(\w+):", path.read_text(), re.M) if name not in known)
    assert sorted(found) == []


def test_render_helm_as_manifests_by_default_for_the_oldest_kubernetes_of_the_istio_line():
    """Manifests by default (any GitOps tool, or kubectl, applies them); helm template renders for the oldest
    Kubernetes the Istio line supports, unless aksmesh_render_kube_version says which."""
    s = derive({"install_method": "helm", "istio_version": "1.30.0"})
    assert s["render_helm"] == {"as": "manifests", "kube_version": "1.32.0"}
    assert derive({"render_helm_as": "flux", "render_kube_version": "v1.34.2"})["render_helm"] == {
        "as": "flux", "kube_version": "1.34.2"}
    # an Istio line the support table does not know: the newest minimum of the table
    assert derive({"istio_version": "1.99.0"})["render_helm"]["kube_version"] == "1.32.0"
    with pytest.raises(SettingsError, match=r"aksmesh_render_helm_as: 'argo': use manifests .* or flux"):
        derive({"render_helm_as": "argo"})
    with pytest.raises(SettingsError, match="aksmesh_render_kube_version: 'latest' is not a Kubernetes version"):
        derive({"render_kube_version": "latest"})


AZURE = {"target": "cluster", "resource_group": "rg", "cluster_name": "aks"}


def run_paths(hosts, cwd="/srv"):
    """shared_paths of a run: {host: (raw settings, aks_credentials_dest)}."""
    return shared_paths([(host, derive(raw, host=host, cwd=cwd, credentials_dest=dest)["paths"])
                         for host, (raw, dest) in hosts.items()])


def test_each_host_writes_paths_of_its_own_by_default(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ops")
    weu = derive(AZURE, host="aks-weu", cwd="/srv")
    assert weu["connection"]["credentials_dest"] == "/home/ops/.kube/aksmesh/aks-weu.yaml"
    assert [(p["variable"], p["path"], p["writes"]) for p in weu["paths"]] == [
        ("aksmesh_report_dir", "/srv/reports/aks-weu.json", True),
        ("aks_credentials_dest", "/home/ops/.kube/aksmesh/aks-weu.yaml", True)]
    render = derive({}, host="aks-neu", cwd="/srv")["paths"]
    assert render == [{"path": "/srv/rendered/aks-neu", "variable": "aksmesh_render_dir", "what": "render folder",
                       "writes": True, "folder": True}]
    # a kubeconfig the inventory names is read, and no credentials stage writes one
    given = derive(dict(AZURE, kubeconfig="kc/aks.yaml"), host="aks-sea", cwd="/srv")["paths"]
    assert [(p["variable"], p["path"], p["writes"]) for p in given] == [
        ("aksmesh_report_dir", "/srv/reports/aks-sea.json", True), ("aksmesh_kubeconfig", "/srv/kc/aks.yaml", False)]
    assert derive(AZURE, host="h", credentials_dest="/k/h.yaml")["connection"]["credentials_dest"] == "/k/h.yaml"
    with pytest.raises(SettingsError, match=r"^aks_credentials_dest: expected the path .* got 7: give a path"):
        derive(AZURE, host="h", credentials_dest=7)
    # the defaults of a fleet: nothing shared, also with one kubeconfig file of several contexts read by all
    assert run_paths({"a": (AZURE, None), "b": (AZURE, None), "c": ({}, None), "d": ({}, None),
                      "e": (dict(AZURE, kubeconfig="/k", kube_context="e"), None),
                      "f": (dict(AZURE, kubeconfig="/k", kube_context="f"), None)}) == []


def test_two_hosts_that_share_a_fetched_kubeconfig_are_refused_by_name():
    (msg,) = run_paths({"aks-weu": (AZURE, "/k/aks.yaml"), "aks-neu": (AZURE, "/k/../k/aks.yaml")})
    assert msg.startswith("hosts aks-weu and aks-neu share a path: aks-weu's fetched kubeconfig "
                          "(aks_credentials_dest) and aks-neu's fetched kubeconfig (aks_credentials_dest) are the "
                          "same file, /k/aks.yaml - each would write over what the other uses"), msg
    assert "give each host a file of its own" in msg and "remove aks_credentials_dest" in msg
    # the file one host fetches is the kubeconfig another reads
    (msg,) = run_paths({"one": (AZURE, "/k/one.yaml"), "two": (dict(AZURE, kubeconfig="/k/one.yaml"), None)})
    assert "one's fetched kubeconfig (aks_credentials_dest) and two's kubeconfig (aksmesh_kubeconfig)" in msg
    assert "point aksmesh_kubeconfig at a file no credentials stage of the run writes" in msg
    # a host without Azure names fetches nothing: its aks_credentials_dest is never written
    assert run_paths({"one": (AZURE, "/k/x.yaml"),
                      "two": (dict(target="cluster", kubeconfig="/k/y"), "/k/x.yaml")}) == []


def test_two_hosts_that_share_or_nest_a_render_folder_are_refused_by_name():
    (msg,) = run_paths({"aks-weu": ({"render_dir": "/out"}, None), "aks-neu": ({"render_dir": "/out/"}, None)})
    assert ("aks-weu's render folder (aksmesh_render_dir) and aks-neu's render folder (aksmesh_render_dir) are the "
            "same folder, /out") in msg and "remove aksmesh_render_dir for the default" in msg
    # one folder inside the other: the outer host's files would take in the inner one's
    (msg,) = run_paths({"a": ({"render_dir": "out"}, None), "b": ({"render_dir": "out/b"}, None)}, cwd="/srv")
    assert "overlap: /srv/out/b is inside /srv/out" in msg
    # the default rendered/<host> of one host inside another's folder
    assert run_paths({"a": ({"render_dir": "rendered"}, None), "b": ({}, None)}, cwd="/srv")
    # a sibling whose name starts the same is no overlap
    assert run_paths({"a": ({"render_dir": "/out/a"}, None), "b": ({"render_dir": "/out/ab"}, None)}) == []
    # a cluster host's report inside a render folder
    (msg,) = run_paths({"r": ({"render_dir": "/out"}, None), "c": (dict(AZURE, report_dir="/out/reports"), None)})
    assert "c's report (aksmesh_report_dir)" in msg and "keep aksmesh_report_dir out of every render folder" in msg


def test_the_shared_paths_filter_takes_the_hosts_settings_paths():
    shared = FilterModule().filters()["shared_paths"]
    paths = derive({"render_dir": "/out"}, host="a")["paths"]
    assert shared({"a": paths}) == [] and shared({}) == []
    (msg,) = shared({"a": paths, "b": paths})
    assert msg.startswith("hosts a and b share a path: ")
    with pytest.raises(AnsibleFilterError, match="expected a mapping of inventory hosts"):
        shared([paths])
    with pytest.raises(AnsibleFilterError, match=r"^aksmesh\.istio\.shared_paths: b: expected settings_mesh\.paths"):
        shared({"a": paths, "b": None})
