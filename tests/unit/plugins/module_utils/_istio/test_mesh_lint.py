import pathlib

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint as ml
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import topology
from tests.support import shared_data

GOOD = """
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gw, namespace: istio-ingress, labels: {app: gw, version: v1}}
spec:
  template:
    metadata: {labels: {app: gw, version: v1, istio: ingressgateway}}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gw, namespace: istio-ingress}
spec: {selector: {istio: ingressgateway}, servers: []}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec: {hosts: [shop.example.com], gateways: [istio-ingress/shop-gw], exportTo: [".", istio-ingress], http: []}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: shop}
spec: {hosts: [api.example.com], exportTo: ["."]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {app: web, version: v1}}
spec:
  template:
    metadata: {labels: {app: web, version: v1}}
"""


def docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def codes(msgs):
    return sorted(m["code"] for m in msgs)


def test_a_clean_mesh_has_no_findings():
    assert ml.lint(docs(GOOD)) == []


def test_each_rule_fires():
    objs = docs(GOOD)
    objs[0]["spec"]["mtls"]["mode"] = "PERMISSIVE"           # AKM0006
    del objs[5]["spec"]["template"]["metadata"]["labels"]["version"]  # AKM0001
    objs[2]["metadata"]["namespace"] = "shop"                 # AKM0005, and the VS reference breaks: AKM0009
    objs[3]["spec"]["exportTo"] = ["."]                        # AKM0003
    objs[4]["spec"].pop("exportTo")                            # AKM0004
    objs.append({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
                 "metadata": {"name": "x", "namespace": "istio-system"}, "spec": {}})  # AKM0007
    found = ml.lint(objs)
    assert codes(found) == ["AKM0001", "AKM0003", "AKM0004", "AKM0005", "AKM0006", "AKM0007", "AKM0009"]
    msg = next(m for m in found if m["code"] == "AKM0009")
    assert msg["level"] == "Error" and msg["origin"] == "VirtualService shop/shop"
    assert set(msg) >= {"code", "level", "message", "origin", "reference", "documentationUrl"}


def unlabelled(name, namespace, labels=None, pod_labels=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"template": {"metadata": {"labels": pod_labels or {}}}}}


def test_app_version_labels_are_checked_on_the_users_workloads_only():
    """AKM0001 is for the user's workloads: istiod, the gateways of every install method, the CNI node agent,
    ztunnel, the collection's addons and cert-manager lack app/version labels and no user can add them."""
    shipped = [
        unlabelled("istiod", "istio-system", {"app.kubernetes.io/part-of": "istio"}),  # istioctl and Helm charts
        unlabelled("istio-ingressgateway", "istio-ingress", {"operator.istio.io/component": "IngressGateways"}),
        unlabelled("istio-ingress", "istio-ingress", pod_labels={"app": "istio-ingress", "istio": "ingress"}),  # helm
        unlabelled("istiod-asm-1-28", "aks-istio-system", pod_labels={"app": "istiod", "istio.io/rev": "asm-1-28"}),
        unlabelled("aks-istio-ingressgateway-external", "aks-istio-ingress",
                   pod_labels={"istio": "aks-istio-ingressgateway-external"}),
        dict(unlabelled("istio-cni-node", "kube-system", {"k8s-app": "istio-cni-node"}), kind="DaemonSet"),
        dict(unlabelled("ztunnel", "istio-system", pod_labels={"app": "ztunnel"}), kind="DaemonSet"),
        unlabelled("grafana", "istio-system", {"aksmesh.io/addon": "grafana"}),
        # cert-manager's chart (the cert_manager role's release): its app label, no version label
        unlabelled("cert-manager-webhook", "cert-manager", *[{"app": "webhook",
                                                              "app.kubernetes.io/instance": "cert-manager"}] * 2),
    ]
    users = [unlabelled("legacy", "shop", {"app": "legacy"}, {"app": "legacy"}),
             unlabelled("istiod-mirror", "shop", {"app": "istiod-mirror"})]  # no label of Istio's: the user's
    found = ml.lint(shipped + users, {"partial": True, "require_mesh_policy": False})
    assert [(m["code"], m["origin"]) for m in found] == [
        ("AKM0001", "Deployment shop/legacy"), ("AKM0001", "Deployment shop/istiod-mirror")]
    assert all(topology.shipped_by(w) for w in shipped) and not any(topology.shipped_by(w) for w in users)


@pytest.mark.shared
def test_upstream_addons_as_the_collection_ships_them_raise_no_label_warning():
    from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import addons
    upstream = dict((name, (shared_data.upstream("samples", "addons") / ("%s.yaml" % name)).read_text())
                    for name in ("prometheus", "grafana", "kiali", "jaeger"))
    objs = addons.addon_manifests(upstream, "istio-system", "grafana", "kiali", "token", "istio-system", "", 1.0,
                                  False)
    assert len([o for o in objs if o["kind"] == "Deployment"]) == 4
    assert [m for m in ml.lint(objs, {"partial": True, "require_mesh_policy": False}) if m["code"] == "AKM0001"] == []


def test_suppressions_and_levels():
    objs = docs(GOOD)
    objs[4]["spec"].pop("exportTo")
    assert ml.lint(objs, suppress=["AKM0004"]) == []
    assert ml.lint(objs, suppress=["AKM0004=ServiceEntry shop/*"]) == []
    assert ml.lint(objs, min_level="Error") == []
    assert ml.counts(ml.lint(objs)) == {"Error": 0, "Warning": 1, "Info": 0}


def test_overlapping_hosts_on_one_gateway():
    objs = docs(GOOD)
    twin = yaml.safe_load(yaml.safe_dump(objs[3]))
    twin["metadata"]["name"] = "shop-2"
    objs.append(twin)
    assert codes(ml.lint(objs)) == ["AKM0008", "AKM0008"]


@pytest.mark.shared
@pytest.mark.parametrize("name,upstream_code,ours", [
    ("virtualservice_conflictingmeshgatewayhosts.yaml", "IST0109", "AKM0008"),
    ("virtualservice_gateways.yaml", "IST0101", "AKM0009"),
])
def test_agrees_with_upstream_analyzer_inputs(name, upstream_code, ours):
    path = shared_data.upstream("pkg", "config", "analysis", "analyzers", "testdata", name)
    if path is None:
        pytest.skip(f"{name} not in this upstream snapshot")
    found = ml.lint(shared_data.load_all(path), {"require_mesh_policy": False})
    assert ours in codes(found), (upstream_code, codes(found))


def test_a_subset_the_gateway_cannot_see_is_an_error():
    objs = docs(GOOD)
    objs[3]["spec"]["http"] = [{"route": [{"destination": {"host": "reviews", "subset": "v2"}}]}]
    dr = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
          "metadata": {"name": "reviews", "namespace": "shop"},
          "spec": {"host": "reviews.shop.svc.cluster.local", "exportTo": ["."],
                   "subsets": [{"name": "v2", "labels": {"version": "v2"}}]}}
    found = ml.lint(objs + [dr])
    assert codes(found) == ["AKM0010"] and "add istio-ingress to its exportTo" in found[0]["message"]
    dr["spec"]["exportTo"] = [".", "istio-ingress"]
    assert ml.lint(objs + [dr]) == []


def test_a_rule_for_the_sidecars_is_not_gateway_traffic():
    """The egress pattern: the sidecar rule (match gateways: [mesh]) routes to the egress gateway's subset, which
    the sidecars' own namespace sees; only the gateway's rule runs in the gateway namespace."""
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
          "metadata": {"name": "egress", "namespace": "shop"},
          "spec": {"hosts": ["api.example.com"], "gateways": ["mesh", "istio-egress/egress"], "exportTo": [
              ".", "istio-egress"], "http": [
              {"match": [{"gateways": ["mesh"]}], "route": [{"destination": {
                  "host": "istio-egressgateway.istio-egress.svc.cluster.local", "subset": "api"}}]},
              {"match": [{"gateways": ["istio-egress/egress"]}], "route": [{"destination": {
                  "host": "api.example.com"}}]}]}}
    dr = {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
          "metadata": {"name": "egressgateway-api", "namespace": "shop"},
          "spec": {"host": "istio-egressgateway.istio-egress.svc.cluster.local", "exportTo": ["."],
                   "subsets": [{"name": "api"}]}}
    assert "AKM0010" not in codes(ml.lint([vs, dr], {"partial": True, "require_mesh_policy": False}))


def test_every_code_is_documented_where_the_codes_are_listed():
    """The codes are defined once (CODES); the module's description, docs/modules.md and docs/mesh_lint.md list
    every one of them, with its level and name where they say them."""
    from ansible_collections.aksmesh.istio.plugins.modules import mesh_lint as module
    repo = pathlib.Path(__file__).resolve().parents[5]
    description = " ".join(yaml.safe_load(module.DOCUMENTATION)["description"])
    modules_md = (repo / "docs" / "modules.md").read_text()
    mesh_lint_md = (repo / "docs" / "mesh_lint.md").read_text()
    for code, (level, name) in ml.CODES.items():
        assert code in description, code
        assert "| [%s](mesh_lint.md#%s) | %s | %s |" % (code, code.lower(), level, name) in modules_md, code
        assert "## %s\n**%s** (%s)" % (code.lower(), name, level) in mesh_lint_md, code
