"""The stage filters: keyword arguments checked against the role's argument spec, errors naming role variables."""

import pathlib

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES, FilterModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.plugin_utils._stage_filter import StageFilter, role_options

REPO = pathlib.Path(__file__).resolve().parents[4]
FILTERS = FilterModule().filters()
MTLS = {"root_namespace": "istio-system", "istio_namespace": "istio-system", "gateway_namespaces": ["istio-ingress"]}
HELM = {"revision": "", "revision_tags": [], "tracing": {}, "ingress_release": "istio-ingress", "ingress_namespace": "istio-ingress",
        "ingress_selector": {"istio": "ingress"}, "ingress_ip": "", "ingress_ip_resource_group": "", "ingress_source_ranges": [],
        "egress_release": "istio-egressgateway", "egress_namespace": "istio-egress",
        "egress_selector": {"istio": "egressgateway"}, "cni_enabled": False, "cni_namespace": "istio-system",
        "profile": "default"}


def fails(name, value, **kwargs):
    """The AnsibleFilterError message of a call that must fail."""
    with pytest.raises(AnsibleFilterError) as caught:
        FILTERS[name](value, **kwargs)
    return caught.value.message


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_every_option_is_specified_documented_and_named_after_its_role(stage):
    spec = stage.argument_spec()  # every builder option is in the role's argument spec (or the filter's own)
    assert stage.input in stage.options
    doc = yaml.safe_load((REPO / "plugins" / "filter" / (stage.name + ".yml")).read_text())["DOCUMENTATION"]
    assert doc["name"] == stage.name
    documented = doc["options"]
    assert sorted(documented) == sorted("_input" if o == stage.input else o for o in stage.options)
    for option in stage.options:
        entry, given = documented["_input" if option == stage.input else option], spec[stage.variable(option)]
        for key in ("type", "elements", "choices"):
            assert entry.get(key) == given.get(key), (option, key)
        if option != stage.input:
            assert entry.get("default") == given.get("default") and entry.get("required", False) == (
                "default" not in given), option
    if stage.role:
        assert "P(aksmesh.istio.%s#role)" % stage.role in " ".join(doc["description"])
        assert all(stage.variable(o) == stage.role + "_" + o for o in stage.options if o not in stage.spec)


def test_a_bad_choice_names_the_role_variable_and_the_choices():
    msg = fails("mtls_manifests", "LOOSE", **MTLS)
    assert msg == "value of mesh_mtls_mode must be one of: STRICT, PERMISSIVE, DISABLE, got: LOOSE"
    msg = fails("aks_addon_mesh_config", {"outbound_policy": "OPEN"}, revisions=["asm-1-28"], tracing={})
    assert msg == "aks_mesh_addon_mesh.outbound_policy: 'OPEN' is not one of REGISTRY_ONLY, ALLOW_ANY"


def test_a_bad_type_names_the_role_variable():
    msg = fails("helm_releases", "istio-system", hpa_min="many", **HELM)
    assert "istio_helm_hpa_min" in msg and "cannot be converted to an int" in msg
    msg = fails("mtls_manifests", "STRICT", **dict(MTLS, exceptions="shop"))
    assert "mesh_mtls_exceptions" in msg


def test_unknown_or_doubled_arguments_are_refused():
    msg = fails("mtls_manifests", "STRICT", gateway_namespace=["x"], **MTLS)
    assert msg == ("unknown argument(s) gateway_namespace: mtls_manifests takes mode as its input and the arguments "
                   "root_namespace, istio_namespace, gateway_namespaces, exceptions")
    assert fails("mtls_manifests", "STRICT", mode="STRICT", **MTLS) == (
        "mode is the input of mtls_manifests; do not pass it as an argument too")


def test_an_option_the_role_derives_must_be_given():
    msg = fails("mtls_manifests", "STRICT", root_namespace="istio-system", gateway_namespaces=[])
    assert msg == "missing required arguments: mesh_mtls_istio_namespace"


def test_builder_errors_name_the_role_variables():
    msg = fails("mtls_manifests", "STRICT", exceptions=[{"namespace": "istio-system"}], **MTLS)
    assert msg.startswith("mesh_mtls_exceptions: entry {'namespace': 'istio-system'} names the root namespace")
    assert msg.endswith("set mesh_mtls_mode instead")
    assert fails("helm_releases", "istio-system", hpa_min=6, **HELM) == (
        "istio_helm_hpa_min: 6 is greater than istio_helm_hpa_max (5)")
    msg = fails("gateway_manifests", [{"name": "gw", "namespace": "shop", "hosts": ["a"]}],
                workloads=[{"selector": {"istio": "ingressgateway"}, "namespace": "istio-ingress"}],
                ingress_selector={"istio": "ingressgateway"})
    assert msg.startswith("mesh_gateways_gateways: gateway gw: namespace shop is not where its workload runs "
                          "(istio-ingress)")
    assert fails("secrets_manifests", "istio-system", grafana_username="u", grafana_passphrase="p",
                 kiali_username="k").startswith("mesh_secrets_kiali_passphrase: is empty")
    # options of a helper no role owns keep their own names
    assert fails("addon_manifests", {"loki": ""}, namespace="istio-system", root_namespace="istio-system",
                 tracing_provider="").startswith("manifests: unknown addon loki")


SECRETS = {"grafana_username": "g", "grafana_passphrase": "g-pass", "kiali_username": "k", "kiali_passphrase": "k-pass"}


@pytest.mark.parametrize("value", [["s3cret"], {"s3cret": 1}, 80412345, True, 1.5])
def test_a_passphrase_that_is_no_string_is_refused_by_name_never_told(value):
    """The spec's type str turned a passphrase ['a'] into the text "['a']" (issue 23): a secret that is no string
    is refused, naming the role variable and the type, never the value."""
    msg = fails("secrets_manifests", "istio-system", **{**SECRETS, "kiali_passphrase": value})
    assert msg.startswith("mesh_secrets_kiali_passphrase: is a ") and "not a string" in msg, msg
    assert "s3cret" not in msg and "80412345" not in msg and "1.5" not in msg


def test_a_list_or_mapping_for_a_string_option_is_refused_by_name():
    assert fails("secrets_manifests", "istio-system", **{**SECRETS, "grafana_username": ["admin"]}) == (
        "mesh_secrets_grafana_username: is a list, not a string: give one string (quote it in YAML)")
    assert fails("mtls_manifests", "STRICT", **{**MTLS, "root_namespace": {"a": 1}}).startswith(
        "mesh_mtls_root_namespace: is a mapping, not a string")
    # a number for a plain string option is still what the spec makes of it
    assert FILTERS["secrets_manifests"]("istio-system", **dict(SECRETS, grafana_username=1234))


@pytest.mark.parametrize("name", ["kube-system", "kube-public", "kube-node-lease", "istio-system"])
def test_injection_refuses_the_clusters_and_the_control_planes_namespaces(name):
    msg = fails("injection_namespaces", [{"name": "shop"}, {"name": name}], revision="", istio_namespace="istio-system",
                dataplane_mode="sidecar")
    assert msg.startswith("mesh_injection_namespaces[1].name: %s: " % name), msg
    assert msg.endswith("; take it out of mesh_injection_namespaces"), msg
    assert ("control plane" in msg) == (name == "istio-system")
    # removing the labels of such a namespace is allowed; the default namespace is the user's to choose
    assert FILTERS["injection_namespaces"]([{"name": name, "state": "absent"}, {"name": "default"}], revision="",
                                           istio_namespace="istio-system",
                                           dataplane_mode="sidecar")[0]["metadata"]["name"] == "default"


def test_spec_defaults_are_applied_and_left_untouched():
    (cm,) = FILTERS["aks_addon_mesh_config"]({"outbound_policy": "ALLOW_ANY"}, revisions=["asm-1-28"], tracing={})
    mesh = yaml.safe_load(cm["data"]["mesh"])
    assert mesh["outboundTrafficPolicy"] == {"mode": "ALLOW_ANY"} and mesh["accessLogFile"] == "/dev/stdout"
    objs = FILTERS["mtls_manifests"]("STRICT", **MTLS)  # exceptions: the spec's []
    assert [o["metadata"]["namespace"] for o in objs] == ["istio-system", "istio-ingress"]
    out = FILTERS["helm_releases"]("istio-system", **HELM)
    out[1]["values"]["meshConfig"]["extra"] = True
    out[2]["values"]["service"]["annotations"] = {"x": "y"}
    assert FILTERS["helm_releases"]("istio-system", **HELM) != out
    assert role_options("istio_helm")["istio_helm_gateway_values"]["default"] == {}


def test_tagged_values_come_out_plain():
    class Tagged(str):
        pass

    class TaggedDict(dict):
        pass

    (ns,) = FILTERS["mesh_namespaces"]([Tagged("shop")])
    assert not isinstance(ns["metadata"]["name"], Tagged)
    assert not isinstance(ns["metadata"]["labels"]["aksmesh.io/stage"], Tagged)
    (secret, _kiali) = FILTERS["secrets_manifests"](Tagged("istio-system"), grafana_username=Tagged("u"),
                                                    grafana_passphrase="p", kiali_username="k", kiali_passphrase="p")
    assert yaml.safe_dump(secret)
    objs = FILTERS["injection_namespaces"]([TaggedDict(name="shop")], revision="", istio_namespace="istio-system",
                                           dataplane_mode="sidecar")
    assert objs[0]["metadata"]["labels"]["istio-injection"] == "enabled"


def test_helpers_without_a_role():
    assert [n["metadata"]["name"] for n in FILTERS["mesh_namespaces"](["a", "", "b", "a"])] == ["a", "b"]
    # the mesh's own namespaces carry the control plane stage's label; a stage's own are left to the stage
    assert FILTERS["mesh_namespaces"](["a"])[0]["metadata"]["labels"]["aksmesh.io/stage"] == "istio"
    assert FILTERS["mesh_namespaces"](["a"], control_plane=False)[0]["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None}
    assert FILTERS["object_references"](["x.io"], api_version="v1", kind="CRD") == [
        {"apiVersion": "v1", "kind": "CRD", "metadata": {"name": "x.io"}}]
    assert fails("object_references", ["x.io"], api_version="v1") == "missing required arguments: kind"
    # the istiod release name is made in one place, the helm_releases builder, for the releases and for this filter
    assert [FILTERS["istiod_release"](r) for r in ("", "default", "1-30-0")] == ["istiod", "istiod", "istiod-1-30-0"]
    assert fails("istiod_release", "1.30") == "revision '1.30' is not a DNS-1123 label (lower-case letters, digits " \
        "and '-', starting and ending with a letter or digit)"


def test_a_builder_option_without_a_spec_is_a_development_error():
    def build(names, colour):
        return [names, colour]

    stage = StageFilter("paint", build, "names", spec={"names": {"type": "list", "default": []}})
    with pytest.raises(AnsibleFilterError, match="paint: option colour has no argument spec"):
        stage(["a"], colour="red")
    with pytest.raises(ValueError, match="the input shade is not an option of build"):
        StageFilter("paint", build, "shade")


def test_mesh_config_error_renders_option_names():
    exc = MeshConfigError("hpa_min", "3 is greater than O(hpa_max) (2); see O(not_an_option_ref")
    assert str(exc) == "hpa_min: 3 is greater than hpa_max (2); see O(not_an_option_ref"
    assert exc.render(lambda option: "role_" + option).startswith("role_hpa_min: 3 is greater than role_hpa_max (2)")
    assert exc.option == "hpa_min"


def test_namespace_and_revision_options_are_checked_as_labels_under_the_role_variable():
    args = dict(MTLS)
    args["root_namespace"] = "istio-system/x"
    msg = fails("mtls_manifests", "STRICT", **args)
    assert msg.startswith("mesh_mtls_root_namespace 'istio-system/x' is not a DNS-1123 label")
    args = dict(MTLS)
    args["gateway_namespaces"] = ["ok", "Bad"]
    msg = fails("mtls_manifests", "STRICT", **args)
    assert msg.startswith("mesh_mtls_gateway_namespaces[1] 'Bad' is not a DNS-1123 label")
    # names.py's rule: "$" would have let a trailing newline through
    args["gateway_namespaces"] = ["shop\n"]
    msg = fails("mtls_manifests", "STRICT", **args)
    assert msg.startswith("mesh_mtls_gateway_namespaces[0] 'shop\\n' is not a DNS-1123 label"), msg


GW = {"workloads": [{"namespace": "istio-ingress", "selector": {"istio": "ingressgateway"}}],
      "ingress_selector": {"istio": "ingressgateway"}}
VS = {"name": "p", "namespace": "shop", "hosts": ["a.example.com"], "http": [{"route": []}]}


@pytest.mark.parametrize("gateways, virtual_services, needle", [
    ([{"name": "gw", "hosts": ["a"]}, {"name": "gw", "hosts": ["b"]}], [], "mesh_gateways_gateways: lists gw twice"),
    ([{"name": "Gw_1", "hosts": ["a"]}], [], "mesh_gateways_gateways: entry 0: name 'Gw_1'"),
    ([], [dict(VS, gateways=["a/b/c"])], "mesh_gateways_virtual_services: gateway reference 'a/b/c'"),
    ([], [dict(VS, gateways=["Ns/gw"])], "namespace 'Ns' is not a DNS-1123 label"),
    ([], [dict(VS, namespace="shop/x")], "virtual service p: namespace 'shop/x'"),
])
def test_gateway_names_and_references_are_checked(gateways, virtual_services, needle):
    msg = fails("gateway_manifests", gateways, virtual_services=virtual_services, destination_rules=[], **GW)
    assert needle in msg, msg


@pytest.mark.parametrize("host", ["http://api.stripe.com/", "api.stripe.com:443", "api.stripe.com/v1", "a..b", "",
                                  "api.stripe.com\n"])
def test_egress_hosts_must_be_dns_names(host):
    msg = fails("egress_manifests", [{"host": host}], namespaces=["shop"], gateway_namespace="istio-egress",
                gateway_selector={"istio": "egressgateway"}, gateway_service="istio-egressgateway")
    assert msg.startswith("mesh_egress_hosts[0].host: "), msg


def test_wildcard_egress_hosts_are_dns_names():
    egress = FilterModule().filters()["egress_manifests"]
    out = egress([{"host": "*.blob.core.windows.net"}], namespaces=["shop"], gateway_namespace="istio-egress",
                 gateway_selector={"istio": "egressgateway"}, gateway_service="istio-egressgateway")
    assert out[0]["spec"]["hosts"] == ["*.blob.core.windows.net"]


def test_a_public_filter_labels_its_objects_with_its_roles_stage():
    """Plays that apply a filter's objects themselves (molecule/default does) get the stage label, as before the
    builders left it to the applying stage; aksmesh.istio.stage keeps a label that has a value."""
    objs = FILTERS["mtls_manifests"]("STRICT", root_namespace="istio-system", istio_namespace="istio-system",
                                     gateway_namespaces=["istio-ingress"])
    assert objs and {o["metadata"]["labels"]["aksmesh.io/stage"] for o in objs} == {"mtls"}
