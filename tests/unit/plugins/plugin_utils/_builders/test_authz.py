"""The AuthorizationPolicy builder, called as the ``authz_manifests`` filter calls it (role spec defaults for the options
a test leaves out), and through the filter itself for the errors the user sees."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology

FILTER = dict((stage.name, stage) for stage in STAGES)["authz_manifests"]
ROUTES = {"web.shop.svc.cluster.local": ["istio-ingress"], "cart.shop.svc.cluster.local": ["istio-ingress"],
          "api.example.com": ["istio-egress"]}


def settings(method="istioctl"):
    topo = topology(method, revision="asm-1-28" if method == "aks_addon" else "")
    return {"gateway_workloads": list(topo["gateways"].values()), "root_namespace": topo["root_namespace"]}


def build(policies=(), method="istioctl", **options):
    given = FILTER.defaults()
    given.update(settings(method))
    given.update(options, policies=list(policies))
    return FILTER.build(**given)


def named(objs):
    return dict(("%s/%s" % (o["metadata"]["namespace"], o["metadata"]["name"]), o) for o in objs)


def test_nothing_asked_builds_nothing():
    assert build() == []
    assert build(gateway_routes=ROUTES) == []  # routes alone restrict nobody


def test_default_deny_is_an_empty_spec_labelled_for_the_stage():
    [deny] = build(default_deny_namespaces=["shop"])
    # the stage label's value is the applying stage's to fill in (aksmesh.istio.stage, from the registry)
    assert deny == {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                    "metadata": {"name": "default-deny", "namespace": "shop", "labels": {
                        "app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None}},
                    "spec": {}}


@pytest.mark.parametrize("method,principals", [
    ("istioctl", ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account"]),
    ("helm", ["cluster.local/ns/istio-ingress/sa/istio-ingress"]),
    ("aks_addon", ["cluster.local/ns/aks-istio-ingress/sa/aks-istio-ingressgateway-external",
                   "cluster.local/ns/aks-istio-ingress/sa/aks-istio-ingressgateway-internal"]),
])
def test_the_ingress_gateway_is_let_into_the_default_deny_namespaces_it_routes_to(method, principals):
    gw_ns = "aks-istio-ingress" if method == "aks_addon" else "istio-ingress"
    routes = {"web.shop.svc.cluster.local": [gw_ns], "db.data.svc.cluster.local": [gw_ns]}
    objs = named(build(method=method, default_deny_namespaces=["shop", "other"], gateway_routes=routes))
    assert sorted(objs) == ["other/default-deny", "shop/allow-ingress-gateway", "shop/default-deny"]
    assert objs["shop/allow-ingress-gateway"]["spec"] == {
        "action": "ALLOW", "rules": [{"from": [{"source": {"principals": principals}}]}]}
    # the egress gateway is never a source; data is not default-deny, so nothing restricts it
    assert "egress" not in str(objs)


def test_per_service_ingress_policies_with_a_workload_label_and_unknown_gateway_namespaces():
    routes = dict(ROUTES, **{"web.shop.svc.cluster.local": ["istio-ingress", "team-gw"]})
    objs = named(build(default_deny_namespaces=["shop"], gateway_routes=routes, ingress_workload_label="app"))
    assert sorted(objs) == ["shop/allow-ingress-cart", "shop/allow-ingress-web", "shop/default-deny"]
    web = objs["shop/allow-ingress-web"]["spec"]
    assert web["selector"] == {"matchLabels": {"app": "web"}}
    # a Gateway of your own in team-gw: no known service account, so its namespace is the source
    assert web["rules"] == [{"from": [
        {"source": {"principals": ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account"]}},
        {"source": {"namespaces": ["team-gw"]}}]}]
    assert not build(default_deny_namespaces=["shop"], gateway_routes=ROUTES, allow_ingress=False)[1:]


def test_allow_rules_by_principal_namespace_method_path_and_port():
    [policy] = build([{"name": "api-from-frontend", "namespace": "shop", "selector": {"app": "api"}, "rules": [
        {"from": {"principals": ["shop/frontend", "ns/batch/sa/jobs", "spiffe.example/ns/x/sa/y", "*/ns/ops/*"]},
         "to": [{"methods": ["get", "HEAD"], "paths": ["/api/*", "*/healthz"], "ports": [8080]}]},
        {"from": [{"namespaces": ["monitoring"]}], "when": [{"key": "request.headers[x-probe]", "values": ["1"]}]}]}],
        trust_domain="corp.example")
    assert policy["metadata"]["name"] == "api-from-frontend" and "annotations" not in policy["metadata"]
    assert policy["spec"] == {"selector": {"matchLabels": {"app": "api"}}, "action": "ALLOW", "rules": [
        {"from": [{"source": {"principals": ["corp.example/ns/shop/sa/frontend", "corp.example/ns/batch/sa/jobs",
                                             "spiffe.example/ns/x/sa/y", "*/ns/ops/*"]}}],
         "to": [{"operation": {"methods": ["GET", "HEAD"], "paths": ["/api/*", "*/healthz"], "ports": ["8080"]}}]},
        {"from": [{"source": {"namespaces": ["monitoring"]}}],
         "when": [{"key": "request.headers[x-probe]", "values": ["1"]}]}]}


def test_an_ambient_policy_attaches_to_the_waypoint_not_to_pods():
    [policy] = build([{"name": "web-get", "namespace": "shop", "target_refs": [{"kind": "Gateway", "name": "waypoint"}],
                       "rules": [{"to": {"methods": ["GET"]}}]}])
    assert policy["spec"] == {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway",
                                              "name": "waypoint"}],
                              "action": "ALLOW", "rules": [{"to": [{"operation": {"methods": ["GET"]}}]}]}
    with pytest.raises(MeshConfigError, match="selector and target_refs: a policy selects pods or attaches to "
                                              "targets"):
        build([{"name": "both", "namespace": "shop", "selector": {"app": "web"},
                "target_refs": [{"kind": "Service", "name": "web"}], "rules": [{"to": {"methods": ["GET"]}}]}])


def test_dry_run_per_policy_per_namespace_and_role_wide():
    policies = [{"name": "deny-admin", "namespace": "shop", "action": "deny", "dry_run": True,
                 "rules": [{"to": {"paths": ["/admin*"]}}]},
                {"name": "allow-all", "namespace": "pay", "rules": [{}]}]
    objs = named(build(policies, default_deny_namespaces=[{"namespace": "shop", "dry_run": True}, "pay"],
                       gateway_routes=ROUTES))

    def dry(key):
        return objs[key]["metadata"].get("annotations") == {"istio.io/dry-run": "true"}

    assert [k for k in sorted(objs) if dry(k)] == ["shop/allow-ingress-gateway", "shop/default-deny",
                                                   "shop/deny-admin"]
    assert objs["shop/deny-admin"]["spec"]["action"] == "DENY"
    everything = build(policies, default_deny_namespaces=["shop", "pay"], gateway_routes=ROUTES, dry_run=True)
    assert all(o["metadata"]["annotations"] == {"istio.io/dry-run": "true"} for o in everything)


@pytest.mark.parametrize("options,needle", [
    ({"default_deny_namespaces": ["istio-system"]}, "mesh_authz_default_deny_namespaces: istio-system is the Istio "
                                                    "root namespace"),
    ({"default_deny_namespaces": ["istio-ingress"]}, "istio-ingress runs a gateway"),
    ({"default_deny_namespaces": ["Shop"]}, "mesh_authz_default_deny_namespaces[0] 'Shop' is not a DNS-1123 label"),
    ({"default_deny_namespaces": [{"namespace": "shop", "mode": "deny"}]}, "unknown key(s) mode"),
    ({"policies": [{"name": "p", "namespace": "shop"}]},
     "mesh_authz_policies: policy shop/p: give at least one rule: an ALLOW policy without rules allows nothing (list "
     "the namespace in mesh_authz_default_deny_namespaces for that)"),
    ({"policies": [{"name": "p", "namespace": "shop", "action": "CUSTOM", "rules": [{}]}]}, "action CUSTOM"),
    ({"policies": [{"name": "p", "namespace": "shop", "rules": [{"from": {"principals": ["frontend"]}}]}]},
     "principal 'frontend': give <namespace>/<service account>"),
    ({"policies": [{"name": "p", "namespace": "shop", "rules": [{"from": {"users": ["x"]}}]}]},
     "from key(s) users: use principals"),
    ({"policies": [{"name": "p", "namespace": "shop", "rules": [{"to": {"paths": ["api"]}}]}]},
     "path 'api' must start with /"),
    ({"policies": [{"name": "p", "namespace": "shop", "rules": [{"to": {"methods": "GET"}}]}]},
     "to.methods must be a non-empty list"),
    ({"policies": [{"name": "P_1", "namespace": "shop", "rules": [{}]}]}, "name 'P_1'"),
    ({"policies": [{"name": "default-deny", "namespace": "shop", "rules": [{}]}], "default_deny_namespaces": ["shop"]},
     "two policies are named shop/default-deny"),
    ({"trust_domain": "a/b"}, "mesh_authz_trust_domain: 'a/b' is not a trust domain"),
    ({"default_deny_namespaces": [5]}, "mesh_authz_default_deny_namespaces: entry 0: namespace 5 is not a string"),
    ({"policies": [{"name": "p", "namespace": "shop", "rules": [{"to": {"ports": ["http"]}}]}]},
     "port 'http' is not a port number"),
])
def test_bad_input_names_the_role_variable(options, needle):
    policies = options.pop("policies", [])
    given = dict(settings(), **options)
    with pytest.raises(AnsibleFilterError) as exc:
        FILTER(policies, **given)
    assert needle in str(exc.value)


def test_the_builder_speaks_its_own_option_names():
    with pytest.raises(MeshConfigError) as exc:
        build(default_deny_namespaces=["istio-system"])
    assert exc.value.option == "default_deny_namespaces"
