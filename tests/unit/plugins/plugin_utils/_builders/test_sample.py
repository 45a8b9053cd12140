"""The Bookinfo sample placed for each install method: upstream's files (from ../shared when present, else the same
objects written here), the Gateway with the ingress gateway workload, the exportTo rules, the named errors."""

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.mesh import FilterModule
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import sample
from tests.support import shared_data

SAMPLE = FilterModule().filters()["sample_manifests"]

# what upstream's files hold, reduced to the objects and fields the builder reads (used without ../shared)
GATEWAY = """
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 8080, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http: [{match: [{uri: {exact: /productpage}}], route: [{destination: {host: productpage, port: {number: 9080}}}]}]
"""
APP = """
apiVersion: v1
kind: Service
metadata: {name: productpage, labels: {app: productpage}}
spec: {ports: [{port: 9080, name: http}], selector: {app: productpage}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: productpage-v1, labels: {app: productpage, version: v1}}
spec:
  selector: {matchLabels: {app: productpage, version: v1}}
  template:
    metadata: {labels: {app: productpage, version: v1}}
    spec: {containers: [{name: productpage, image: docker.io/istio/examples-bookinfo-productpage-v1:1.20.3}]}
"""
RULES = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: productpage}
spec: {host: productpage, subsets: [{name: v1, labels: {version: v1}}]}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]}
"""


def upstream_files():
    base = shared_data.upstream("samples", "bookinfo")
    if base is None:
        return {"bookinfo": APP, "gateway": GATEWAY, "destination_rules": RULES}
    return dict((key, (base / path).read_text()) for key, path in sample.FILES.items())


def settings(method, revision=""):
    topo = topology(method, revision=revision)
    return {"revision": revision, "istio_namespace": topo["istio_namespace"],
            "gateway_workloads": list(topo["gateways"].values()),
            "ingress_selector": topo["gateways"]["ingress"]["selector"]}


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, name, [o["metadata"]["name"] for o in found])
    return found[0]


@pytest.mark.parametrize("method, revision, gateway_ns, selector, injection", [
    ("istioctl", "", "istio-ingress", {"istio": "ingressgateway"}, {"istio-injection": "enabled"}),
    ("istioctl", "1-30-0", "istio-ingress", {"istio": "ingressgateway"}, {"istio.io/rev": "1-30-0"}),
    ("helm", "", "istio-ingress", {"istio": "ingress"}, {"istio-injection": "enabled"}),
    ("aks_addon", "asm-1-28", "aks-istio-ingress", {"istio": "aks-istio-ingressgateway-external"},
     {"istio.io/rev": "asm-1-28"}),
])
def test_placed_for_each_install_method(method, revision, gateway_ns, selector, injection):
    objs = SAMPLE(upstream_files(), **settings(method, revision))
    assert objs[0]["kind"] == "Namespace" and objs[0]["metadata"]["name"] == "bookinfo"
    ns_labels = objs[0]["metadata"]["labels"]
    assert {k: v for k, v in ns_labels.items() if k.startswith("istio")} == injection
    for o in objs:
        assert o["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "aksmesh"
        assert o["metadata"]["labels"]["aksmesh.io/stage"] == "sample"  # the filter stamps its stage
        if o["kind"] not in ("Namespace", "Gateway"):
            assert o["metadata"]["namespace"] == "bookinfo", o["metadata"]["name"]
    gw = one(objs, "Gateway")
    assert (gw["metadata"]["namespace"], gw["metadata"]["name"], gw["spec"]["selector"]) == (
        gateway_ns, "bookinfo-gateway", selector)
    # the gateway Service's port, which Istio maps to the pod's port (upstream's 8080 fits istioctl's pod only)
    assert gw["spec"]["servers"] == [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
    vs = one(objs, "VirtualService", "bookinfo")
    assert vs["spec"]["gateways"] == [gateway_ns + "/bookinfo-gateway"]
    assert vs["spec"]["exportTo"] == [".", gateway_ns] and vs["spec"]["hosts"] == ["*"]
    assert vs["spec"]["http"][0]["route"][0]["destination"]["host"] == "productpage"
    # the gateway routes to productpage: its subsets must be visible there; the others stay local
    assert one(objs, "DestinationRule", "productpage")["spec"]["exportTo"] == [".", gateway_ns]
    assert one(objs, "DestinationRule", "reviews")["spec"]["exportTo"] == ["."]
    deployments = [o for o in objs if o["kind"] == "Deployment"]
    assert deployments and all(o["spec"]["template"]["metadata"]["labels"].get("app") for o in deployments)
    assert "productpage-v1" in [d["metadata"]["name"] for d in deployments]


def test_the_real_upstream_files_keep_every_object():
    base = shared_data.upstream("samples", "bookinfo")
    if base is None:
        pytest.skip("../shared/istio-upstream is absent: the real Bookinfo files are not here")
    objs = SAMPLE(upstream_files(), **settings("istioctl"))
    app = [d for d in yaml.safe_load_all((base / sample.FILES["bookinfo"]).read_text()) if d]
    rules = [d for d in yaml.safe_load_all((base / sample.FILES["destination_rules"]).read_text()) if d]
    expected = [(d["kind"], d["metadata"]["name"]) for d in app + rules] + [
        ("Gateway", "bookinfo-gateway"), ("Namespace", "bookinfo"), ("VirtualService", "bookinfo")]
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objs) == sorted(expected)
    # every subset selects pods of the application (upstream's ratings v2, v2-mysql, v2-mysql-vm do not: IST0173)
    pods = [d["spec"]["template"]["metadata"]["labels"] for d in app if d["kind"] == "Deployment"]
    subsets = dict((o["metadata"]["name"], [s["name"] for s in o["spec"].get("subsets") or []])
                   for o in objs if o["kind"] == "DestinationRule")
    assert subsets["ratings"] == ["v1"] and subsets["reviews"] == ["v1", "v2", "v3"], subsets
    for rule in (o for o in objs if o["kind"] == "DestinationRule"):
        for subset in rule["spec"].get("subsets") or []:
            assert any(p.get("app") == rule["spec"]["host"] and all(p.get(k) == v for k, v in subset["labels"].items())
                       for p in pods), (rule["metadata"]["name"], subset)


def test_absent_needs_no_file_and_names_the_namespace_and_the_gateway():
    objs = SAMPLE({}, state="absent", namespace="shop-demo", **settings("helm"))
    assert [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs] == [
        ("Namespace", None, "shop-demo"), ("Gateway", "istio-ingress", "bookinfo-gateway")]


def test_a_renamed_gateway_is_the_one_the_virtual_service_names():
    objs = SAMPLE(upstream_files(), gateway_name="demo-gw", namespace="demo", **settings("istioctl"))
    assert one(objs, "Gateway")["metadata"]["name"] == "demo-gw"
    assert one(objs, "VirtualService")["spec"]["gateways"] == ["istio-ingress/demo-gw"]


def fails(manifests, **options):
    with pytest.raises(AnsibleFilterError) as caught:
        SAMPLE(manifests, **dict(settings("istioctl"), **options))
    return caught.value.message


@pytest.mark.parametrize("namespace, why", [
    ("istio-ingress", "is a namespace of the mesh (istio-egress, istio-ingress, istio-system)"),
    ("istio-system", "is a namespace of the mesh"),
    ("kube-system", "is a Kubernetes namespace"),
    ("default", "is a Kubernetes namespace"),
])
def test_namespaces_cleanup_must_not_delete_are_refused(namespace, why):
    msg = fails(upstream_files(), namespace=namespace)
    assert msg.startswith("mesh_sample_namespace: %s %s" % (namespace, why))
    assert "; cleanup deletes the sample's namespace, so give it one of its own (the default is bookinfo)" in msg
    # the same refusal on the way out: cleanup never deletes them either
    assert fails({}, namespace=namespace, state="absent").startswith("mesh_sample_namespace: ")


def test_bad_inputs_name_the_variable_and_the_fix():
    assert "mesh_sample_namespace 'Book_Info' is not a DNS-1123 label" in fails(upstream_files(), namespace="Book_Info")
    msg = fails(upstream_files(), ingress_selector={"istio": "mygateway"})
    assert msg.startswith("mesh_sample_ingress_selector: gateway bookinfo-gateway: selector {'istio': 'mygateway'} "
                          "matches no gateway workloads") and msg.endswith(
        "set mesh_sample_gateway_workloads to where your ingress gateway runs")
    assert fails({"bookinfo": APP}) == ("manifests: missing destination_rules, gateway: give the text of "
                                        "networking/destination-rule-all.yaml, networking/bookinfo-gateway.yaml")
    assert fails(dict(upstream_files(), gateway=APP)).startswith(
        "manifests: gateway (networking/bookinfo-gateway.yaml) has no Gateway: is it Istio's Bookinfo sample?")
    assert "is not YAML" in fails(dict(upstream_files(), bookinfo="a: [b"))
    assert "value of mesh_sample_state must be one of: present, absent, got: gone" in fails({}, state="gone")
    assert "missing required arguments: mesh_sample_revision" in SAMPLE_missing("revision")


def SAMPLE_missing(option):
    given = settings("istioctl")
    del given[option]
    with pytest.raises(AnsibleFilterError) as caught:
        SAMPLE(upstream_files(), **given)
    return caught.value.message


def test_builder_errors_from_the_gateway_rules_name_the_files():
    bad_route = GATEWAY.replace("http: [{match", "tcp: []\n  httpx: [{match")
    with pytest.raises(MeshConfigError) as caught:
        sample.sample_manifests({"bookinfo": APP, "gateway": bad_route, "destination_rules": RULES}, "bookinfo", "",
                                "bookinfo-gateway", settings("istioctl")["gateway_workloads"],
                                {"istio": "ingressgateway"}, "istio-system", "present")
    assert caught.value.option == "manifests" and "give http, tls or tcp routes" in caught.value.message
