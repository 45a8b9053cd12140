"""Structured role options (issue 26): every list of mappings or mapping with fixed keys gives its suboptions in the
role's argument spec, and a misspelt key, a wrong type or choice is refused naming its path and the closest key."""

import glob
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.aksmesh.istio.plugins.filter.mesh import FilterModule
from ansible_collections.aksmesh.istio.plugins.filter.settings import role_variables
from ansible_collections.aksmesh.istio.plugins.plugin_utils._settings import derive
from ansible_collections.aksmesh.istio.plugins.plugin_utils._stage_filter import (
    ROLES, every_role_option, option_problems, role_variable_problems, structured)

FILTERS = FilterModule().filters()
# mappings whose keys are the user's data or an upstream schema taken as is: no fixed keys to give
FREE_FORM = {
    "aks_static_ip_tags": "Azure tags",
    "istio_helm_ingress_selector": "pod labels", "istio_helm_egress_selector": "pod labels",
    "mesh_certs_ingress_selector": "pod labels", "mesh_egress_gateway_selector": "pod labels",
    "mesh_gateways_ingress_selector": "pod labels", "mesh_sample_ingress_selector": "pod labels",
    "istio_helm_istiod_values": "Helm values", "istio_helm_gateway_values": "Helm values",
    "cert_manager_chart_values": "Helm values",
    "istio_install_mesh_config": "Istio meshConfig", "mesh_certs_certificate_spec": "cert-manager Certificate spec",
    "mesh_addons_checksums": "file name to sha256", "mesh_sample_checksums": "file name to sha256",
    "mesh_authz_gateway_routes": "host to namespaces", "mesh_traffic_gateway_routes": "host to namespaces",
    "mesh_authz_default_deny_namespaces": "a name or {namespace, dry_run}: no argument spec type for either",
    "mesh_injection_manual": "Kubernetes objects, or YAML text",
}


def entry_point_options():
    """(role, entry point, variable, spec) of every option of every entry point of every role."""
    for path in sorted(glob.glob(os.path.join(ROLES, "*", "meta", "argument_specs.yml"))):
        role = path.split(os.sep)[-3]
        with open(path) as f:
            for entry, spec in yaml.safe_load(f)["argument_specs"].items():
                for variable, option in (spec.get("options") or {}).items():
                    yield role, entry, variable, option


def mapping_like(option):
    return option.get("type") == "dict" or (option.get("type") == "list" and option.get("elements") in ("dict", "raw"))


def test_every_structured_option_gives_its_suboptions():
    found = dict(((role, variable), option) for role, _entry, variable, option in entry_point_options()
                 if mapping_like(option))
    assert len(found) == 51  # the structured options of the roles, counted once per role
    bare = sorted(variable for (_role, variable), option in found.items() if not option.get("options"))
    assert bare == sorted(FREE_FORM)
    assert len(found) - len(bare) == 33
    for (_role, variable), option in found.items():
        if option.get("options"):
            assert structured(option), variable


def test_an_entry_point_that_repeats_an_option_gives_the_same_suboptions():
    first = {}
    for role, entry, variable, option in entry_point_options():
        if option.get("options"):
            assert first.setdefault(variable, option["options"]) == option["options"], (role, entry, variable)


@pytest.mark.parametrize("variable, value, message", [
    # the two: a misspelt key, a string for a list
    ("mesh_traffic_services", [{"name": "a", "namespace": "s"}, {"name": "b", "namespace": "s"},
                               {"name": "c", "namespace": "s", "retires": {"attempts": 3}}],
     "mesh_traffic_services[2].retires: unknown key; did you mean retries?"),
    ("mesh_gateways_gateways", [{"name": "shop-gw", "hosts": "shop.example.com"}],
     "mesh_gateways_gateways[0].hosts: expected a list, got str 'shop.example.com'"),
    # deeper, and a str option never takes a list or a number
    ("mesh_traffic_services", [{"name": "a", "namespace": "s", "routes": [{"match": {"uri": {"prefx": "/a"}}}]}],
     "mesh_traffic_services[0].routes[0].match.uri.prefx: unknown key; did you mean prefix?"),
    ("mesh_traffic_services", [{"name": ["a"], "namespace": "s"}],
     "mesh_traffic_services[0].name: expected a string, got list ['a']"),
    ("mesh_traffic_services", [{"name": "a", "namespace": "s", "timeout": 5}],
     "mesh_traffic_services[0].timeout: expected a string, got int 5: quote it"),
    ("mesh_traffic_services", [{"name": "a", "namespace": "s", "tls_mode": "ISTIO_MUTAL"}],
     "mesh_traffic_services[0].tls_mode: 'ISTIO_MUTAL' is not one of DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL; did you "
     "mean ISTIO_MUTUAL?"),
    ("mesh_traffic_services", [{"name": "a", "namespace": "s", "circuit_breaker": {"max_conections": 1}}],
     "mesh_traffic_services[0].circuit_breaker.max_conections: unknown key; did you mean max_connections?"),
    ("mesh_traffic_services", [{"namespace": "s"}],
     "mesh_traffic_services[0].name: is missing (the Service's name; the VirtualService and DestinationRule take it)"),
    ("mesh_gateways_gateways", [{"name": "gw", "hosts": ["a"], "https": {"credential_nme": "x"}}],
     "mesh_gateways_gateways[0].https.credential_nme: unknown key; did you mean credential_name?"),
    ("mesh_gateways_gateways", [{"name": "gw", "hosts": ["a"], "https": {"mode": "SIMPEL"}}],
     "mesh_gateways_gateways[0].https.mode: 'SIMPEL' is not one of"),
    ("mesh_gateways_virtual_services", [{"name": "vs", "namespace": "s", "hosts": ["a"], "gateway": ["gw"]}],
     "mesh_gateways_virtual_services[0].gateway: unknown key; did you mean gateways?"),
    ("mesh_gateways_destination_rules", [{"name": "dr", "namespace": "s", "host": "a", "trafficPolicy": {}}],
     "mesh_gateways_destination_rules[0].trafficPolicy: unknown key; did you mean traffic_policy?"),
    ("mesh_gateways_workloads", [{"namespace": "x", "selector": {"a": "b"}, "port": [80]}],
     "mesh_gateways_workloads[0].port: unknown key; did you mean ports?"),
    ("mesh_certs_issuers", [{"name": "le", "type": "ca", "ca_secert": "x"}],
     "mesh_certs_issuers[0].ca_secert: unknown key; did you mean ca_secret?"),
    ("mesh_certs_gateways", [{"name": "gw", "hosts": ["a"], "http": "sometimes"}],
     "mesh_certs_gateways[0].http: expected a boolean, got str 'sometimes'"),
    ("mesh_egress_hosts", [{"host": "api.stripe.com", "port": "https"}],
     "mesh_egress_hosts[0].port: expected an integer, got str 'https'"),
    ("mesh_egress_hosts", [{"host": "api.stripe.com", "ports": [{"port": 80, "tls_orgination": True}]}],
     "mesh_egress_hosts[0].ports[0].tls_orgination: unknown key; did you mean tls_origination?"),
    ("mesh_egress_hosts", [{"host": "api.stripe.com", "resolution": "dns"}],
     "mesh_egress_hosts[0].resolution: 'dns' is not one of DNS, DNS_ROUND_ROBIN, STATIC, NONE; did you mean DNS?"),
    ("mesh_authz_policies", [{"name": "p", "namespace": "s", "rule": []}],
     "mesh_authz_policies[0].rule: unknown key; did you mean rules?"),
    ("mesh_authz_policies", [{"name": "p", "namespace": "s", "rules": [{"when": [{"key": "a", "value": ["b"]}]}]}],
     "mesh_authz_policies[0].rules[0].when[0].value: unknown key; did you mean values?"),
    ("mesh_authz_gateway_workloads", [{"namespace": "x", "selector": {}, "serviceaccount": "sa"}],
     "mesh_authz_gateway_workloads[0].serviceaccount: unknown key; did you mean service_account?"),
    ("mesh_injection_namespaces", [{"name": "shop", "revison": "1-30"}],
     "mesh_injection_namespaces[0].revison: unknown key; did you mean revision?"),
    ("mesh_injection_namespaces", [{"name": "shop", "state": "gone"}],
     "mesh_injection_namespaces[0].state: 'gone' is not one of present, absent"),
    ("istio_upgrade_injection_namespaces", [{"nme": "shop"}],
     "istio_upgrade_injection_namespaces[0].nme: unknown key; did you mean name?"),
    ("mesh_mtls_exceptions", [{"namespace": "shop", "mode": "STRICTER"}],
     "mesh_mtls_exceptions[0].mode: 'STRICTER' is not one of STRICT, PERMISSIVE, DISABLE; did you mean STRICT?"),
    ("mesh_mtls_exceptions", [{"namespaces": "shop"}],
     "mesh_mtls_exceptions[0].namespaces: unknown key; did you mean namespace?"),
    ("mesh_network_policies_gateways", [{"namespace": "x", "selector": {}, "role": "ingres"}],
     "mesh_network_policies_gateways[0].role: 'ingres' is not one of ingress, egress; did you mean ingress?"),
    ("mesh_analyze_gateway_workloads", [{"namespace": "x", "selector": {}, "ports": ["http"]}],
     "mesh_analyze_gateway_workloads[0].ports[0]: expected an integer, got str 'http'"),
    ("mesh_sample_gateway_workloads", [{"selector": {}}], "mesh_sample_gateway_workloads[0].namespace: is missing"),
    ("mesh_secrets_key_vault", {"name": "kv", "tenant_id": "t", "client_id": "c", "identiy": "managed"},
     "mesh_secrets_key_vault.identiy: unknown key; did you mean identity?"),
    ("mesh_secrets_key_vault", {"name": "kv"},
     "mesh_secrets_key_vault: give name, tenant_id, client_id together (name given)"),
    ("mesh_secrets_key_vault", {"name": "kv", "tenant_id": "t", "client_id": "c", "objects": {"grafana_user": "x"}},
     "mesh_secrets_key_vault.objects.grafana_user: unknown key; did you mean grafana_username?"),
    ("aks_mesh_addon_certificate_authority", {"key_vault_id": "x", "root_cert_object_name": "r",
                                              "cert_chain_object_name": "c", "cert_object_name": "c",
                                              "key_obect_name": "k"},
     "aks_mesh_addon_certificate_authority.key_obect_name: unknown key; did you mean key_object_name?"),
    ("aks_mesh_addon_egress_gateways", [{"name": "egress", "enable": True}],
     "aks_mesh_addon_egress_gateways[0].enable: unknown key; did you mean enabled?"),
    ("aks_mesh_addon_mesh", {"outbound_policy": "REGISTRY_ONLY", "acces_log_file": ""},
     "aks_mesh_addon_mesh.acces_log_file: unknown key; did you mean access_log_file?"),
    ("aks_mesh_addon_tracing", {"provider": "otel", "service": "c", "prot": 4317},
     "aks_mesh_addon_tracing.prot: unknown key; did you mean port?"),
    ("istio_helm_tracing", {"provider": "otel", "service": "c", "port": "four"},
     "istio_helm_tracing.port: expected an integer, got str 'four'"),
    ("istio_install_tracing", {"provder": "otel"},
     "istio_install_tracing.provder: unknown key; did you mean provider?"),
    ("istio_control_plane_method", {"name": "istioctl", "owns_crd": True},
     "istio_control_plane_method.owns_crd: unknown key; did you mean owns_crds?"),
    ("istio_control_plane_revision_tags_before", [{"tag": "default"}],
     "istio_control_plane_revision_tags_before[0].revision: is missing"),
])
def test_a_bad_key_or_value_names_its_path(variable, value, message):
    problems = role_variable_problems({variable: value}, [variable])
    assert problems and problems[0].startswith(message), problems
    # ansible-core's own check at role entry refuses it too (without the path), except the conversions it takes
    ansible = ArgumentSpecValidator({variable: every_role_option()[variable]}).validate({variable: value})
    lossy = ("expected a list, got str", "expected a string, got", "expected an integer, got str")
    assert ansible.error_messages or any(text in message for text in lossy), message


def test_good_values_pass_and_reach_the_builder_as_given():
    services = [{"name": "web", "namespace": "shop", "subsets": ["v1", "v2"], "timeout": "5s",
                 "canary": {"header": {"name": "x-canary", "exact": "1"}, "subset": "v2",
                            "retries": {"attempts": 2, "per_try_timeout": "1s"}},
                 "circuit_breaker": {"max_connections": 10, "interval": "10s"}, "load_balancer": "RANDOM"}]
    assert role_variable_problems({"mesh_traffic_services": services}, ["mesh_traffic_services"]) == []
    # a gateway that leaves http out still gets its HTTP server: no key the user left out reaches the builder as None
    gateways = [{"name": "shop-gw", "hosts": ["shop.example.com"]}]
    (gw,) = FILTERS["gateway_manifests"](gateways, virtual_services=[], destination_rules=[],
                                         workloads=[{"namespace": "istio-ingress", "selector": {"istio": "ingress"}}],
                                         ingress_selector={"istio": "ingress"})
    assert [s["port"]["number"] for s in gw["spec"]["servers"]] == [80]
    assert gateways == [{"name": "shop-gw", "hosts": ["shop.example.com"]}]


def test_the_stage_filter_names_the_path_before_the_builder_runs():
    with pytest.raises(AnsibleFilterError, match=r"^mesh_traffic_services\[0\].retires: unknown key; did you mean "
                                                 r"retries\?$"):
        FILTERS["traffic_manifests"]([{"name": "web", "namespace": "shop", "retires": {"attempts": 3}}],
                                     gateway_routes={})
    with pytest.raises(AnsibleFilterError, match=r"^mesh_gateways_gateways\[0\].hosts: expected a list"):
        FILTERS["gateway_manifests"]([{"name": "gw", "hosts": "shop.example.com"}], virtual_services=[],
                                     destination_rules=[], workloads=[], ingress_selector={"istio": "ingress"})


def test_the_settings_role_check_takes_what_renders_and_leaves_the_rest():
    class HostVars(dict):
        """What hostvars[host] does with a value that reads an undefined variable: raises on access."""
        def __getitem__(self, key):
            if key == "mesh_certs_gateways":
                raise KeyError("'mesh_gateways_gateways' is undefined")
            return dict.__getitem__(self, key)

    host = HostVars({"mesh_traffic_services": [{"name": "a", "namespace": "s", "retires": {}}],
                     "mesh_gateways_gateways": "{{ my_gateways }}",  # before 2.19, hostvars are handed over raw
                     "mesh_certs_gateways": None, "mesh_traffic_state": "present", "aksmesh_target": "render"})
    names = list(host) + ["mesh_egress_hosts"]  # a name the host does not set
    with pytest.raises(AnsibleFilterError, match=r"^mesh_traffic_services\[0\].retires: unknown key; did you mean "
                                                 r"retries\?$"):
        role_variables(host, names)
    del host["mesh_traffic_services"]
    assert role_variables(host, names) == sorted(set(names))


@pytest.mark.parametrize("method", ["istioctl", "helm", "aks_addon"])
def test_what_the_settings_derive_fits_the_suboptions(method):
    settings = derive({"install_method": method, "revision": "asm-1-28" if method == "aks_addon" else None},
                      host="h", cwd="/tmp")
    given = {"tracing": settings["tracing"], "control_plane": settings["control_plane"]}
    for variable, option in every_role_option().items():
        value = settings["gateways"] if variable.endswith("workloads") or variable == "mesh_network_policies_gateways" \
            else given.get(variable.split("_", 2)[-1])
        if option.get("options") and value is not None and (variable.endswith(("workloads", "_gateways", "tracing"))
                                                            or variable.endswith("_method")):
            if variable in ("mesh_certs_gateways", "aks_mesh_addon_egress_gateways"):
                continue  # Gateways and the add-on's gateways, not workloads
            assert option_problems(variable, value, option) == [], variable
            assert not ArgumentSpecValidator({variable: option}).validate({variable: value}).error_messages, variable


@pytest.mark.parametrize("variable, value, message", [
    # a choice: ansible-core's check at the role's entry refuses it too, in a failed result that carries the whole
    # argument spec of the entry point; here the variable comes first, then the problem and the closest choice
    ("mesh_mtls_mode", "STRIKT", "mesh_mtls_mode: 'STRIKT' is not one of STRICT, PERMISSIVE, DISABLE; "
                                 "did you mean STRICT?"),
    ("aks_mesh_addon_timeout", "soon", "aks_mesh_addon_timeout: expected an integer, got str 'soon'"),
    # a list or a mapping for a string, which ansible-core's check would have turned into text
    ("mesh_mtls_root_namespace", ["istio-system"], "mesh_mtls_root_namespace: is a list, not a string"),
    # a secret's value is never told
    ("mesh_secrets_grafana_passphrase", {"s3cret": 1}, "mesh_secrets_grafana_passphrase: is a mapping, not a string"),
])
def test_a_wrong_value_of_any_role_variable_is_one_line_naming_it(variable, value, message):
    problems = role_variable_problems({variable: value}, [variable])
    assert problems == [problems[0]] and problems[0].startswith(message), problems
    assert "s3cret" not in problems[0]


def test_what_ansible_core_converts_passes_as_it_did():
    # a number for a string, a number as text for an integer, a comma list: the role's entry takes them
    host = {"mesh_mtls_root_namespace": 5, "aks_mesh_addon_timeout": "600", "mesh_mtls_gateway_namespaces": "a,b",
            "mesh_mtls_mode": None, "aksmesh_target": "render", "not_a_role_variable": object()}
    assert role_variable_problems(host, list(host)) == []


def test_errors_return_hands_the_problem_over_as_data():
    host = {"mesh_mtls_mode": "STRIKT", "mesh_traffic_services": [{"name": "a", "namespace": "s", "retires": {}}]}
    assert role_variables(host, list(host), errors="return") == {"failed": True, "msg": (
        "mesh_mtls_mode: 'STRIKT' is not one of STRICT, PERMISSIVE, DISABLE; did you mean STRICT?; "
        "mesh_traffic_services[0].retires: unknown key; did you mean retries?")}
    assert role_variables({"mesh_mtls_mode": "STRICT"}, ["mesh_mtls_mode"], errors="return") == ["mesh_mtls_mode"]
    with pytest.raises(AnsibleFilterError, match="errors must be one of raise, return, got 'ignore'"):
        role_variables(host, list(host), errors="ignore")
