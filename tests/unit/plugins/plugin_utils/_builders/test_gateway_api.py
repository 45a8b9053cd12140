"""The inventory's gateways and VirtualServices as Gateway API objects (plugins/plugin_utils/_builders/gateway_api.py):
what is translated, and each field the Gateway API's standard channel cannot express refused by name. The real
istiod and Envoy take these objects in tests/integration/harness/test_gateway_api.py."""

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import gateway_api

ANNOTATIONS = {"service.beta.kubernetes.io/azure-load-balancer-ipv4": "51.124.9.10"}
GATEWAY = {"name": "shop", "hosts": ["shop.example.com"], "https": {"credential_name": "shop-tls"}}
ROUTE = {"name": "web", "namespace": "shop", "hosts": ["shop.example.com"], "gateways": ["shop"], "http": [
    {"match": [{"headers": {"x-canary": {"exact": "yes"}}}],
     "route": [{"destination": {"host": "web-v2", "port": {"number": 80}}}]},
    {"match": [{"uri": {"prefix": "/api"}, "method": {"exact": "GET"}, "queryParams": {"debug": {"regex": "1|on"}}}],
     "rewrite": {"uri": "/"}, "timeout": "5s",
     "headers": {"request": {"set": {"x-from": "gateway"}, "remove": ["x-internal"]}},
     "route": [{"destination": {"host": "api.backend.svc.cluster.local", "port": {"number": 8080}}}]},
    {"route": [{"destination": {"host": "web-v1", "port": {"number": 80}}, "weight": 75},
               {"destination": {"host": "web-v2.shop", "port": {"number": 80}}, "weight": 25}],
     "mirror": {"host": "shadow", "port": {"number": 80}}, "mirrorPercentage": {"value": 10.0}}]}


def build(gateways=(GATEWAY,), routes=(ROUTE,)):
    return gateway_api.gateway_api_manifests(list(gateways), list(routes), "istio-ingress", "ingress", ANNOTATIONS)


def by_kind(objects):
    return [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]


def test_a_gateway_its_redirect_its_routes_and_the_grant_a_cross_namespace_backend_needs():
    objects = build()
    assert by_kind(objects) == [("Gateway", "istio-ingress", "ingress"),
                                ("HTTPRoute", "istio-ingress", "shop-https-redirect"),
                                ("HTTPRoute", "shop", "web"), ("ReferenceGrant", "backend", "from-shop")]
    gateway = objects[0]["spec"]
    assert gateway["gatewayClassName"] == "istio" and gateway["infrastructure"] == {"annotations": ANNOTATIONS}
    allowed = {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["istio-ingress", "shop"]}]}}}
    assert gateway["listeners"] == [
        {"name": "shop-http", "port": 80, "protocol": "HTTP", "hostname": "shop.example.com", "allowedRoutes": allowed},
        {"name": "shop-https", "port": 443, "protocol": "HTTPS", "hostname": "shop.example.com",
         "allowedRoutes": allowed,
         "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "shop-tls"}]}}]
    assert objects[1]["spec"] == {"parentRefs": [{"name": "ingress", "namespace": "istio-ingress",
                                                  "sectionName": "shop-http"}],
                                  "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {
                                      "scheme": "https", "statusCode": 301}}]}]}
    route = objects[2]
    assert route["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None}
    # the routes of a redirecting gateway are its HTTPS listeners' (its HTTP listener answers 301)
    assert route["spec"]["parentRefs"] == [{"name": "ingress", "namespace": "istio-ingress",
                                            "sectionName": "shop-https"}]
    assert route["spec"]["hostnames"] == ["shop.example.com"]
    canary, api, split = route["spec"]["rules"]
    assert canary == {"matches": [{"headers": [{"name": "x-canary", "type": "Exact", "value": "yes"}]}],
                      "backendRefs": [{"name": "web-v2", "port": 80}]}
    assert api == {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}, "method": "GET",
                                "queryParams": [{"name": "debug", "type": "RegularExpression", "value": "1|on"}]}],
                   "backendRefs": [{"name": "api", "namespace": "backend", "port": 8080}],
                   "filters": [{"type": "RequestHeaderModifier", "requestHeaderModifier": {
                       "set": [{"name": "x-from", "value": "gateway"}], "remove": ["x-internal"]}},
                       {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch",
                                                                      "replacePrefixMatch": "/"}}}],
                   "timeouts": {"request": "5s"}}
    assert split == {"backendRefs": [{"name": "web-v1", "port": 80, "weight": 75},
                                     {"name": "web-v2", "port": 80, "weight": 25}],
                     "filters": [{"type": "RequestMirror", "requestMirror": {
                         "backendRef": {"name": "shadow", "port": 80}, "percent": 10}}]}
    assert objects[3]["spec"] == {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                                            "namespace": "shop"}], "to": [{"group": "", "kind": "Service"}]}


def test_several_hosts_get_a_listener_each_and_no_https_means_no_redirect():
    objects = build([{"name": "shop", "hosts": ["a.example.com", "b.example.com"]}],
                    [dict(ROUTE, hosts=["a.example.com"], http=[ROUTE["http"][0]])])
    assert by_kind(objects) == [("Gateway", "istio-ingress", "ingress"), ("HTTPRoute", "shop", "web")]
    assert [(item["name"], item["hostname"]) for item in objects[0]["spec"]["listeners"]] == [
        ("shop-http-0", "a.example.com"), ("shop-http-1", "b.example.com")]
    assert [ref["sectionName"] for ref in objects[1]["spec"]["parentRefs"]] == ["shop-http-0", "shop-http-1"]


def test_each_gateway_is_a_group_of_listeners_of_the_one_ingress_gateway():
    """Two gateways (two Istio Gateways on the one ingress workload today) are two groups of listeners of one
    Gateway, so one Service carries the static IP; each route attaches to its own gateway's listeners."""
    other = {"name": "admin", "hosts": ["admin.example.com"]}
    objects = build([GATEWAY, other], [ROUTE, dict(ROUTE, name="admin", hosts=["admin.example.com"],
                                                   gateways=["admin"], http=[ROUTE["http"][0]])])
    assert [o["metadata"]["name"] for o in objects if o["kind"] == "Gateway"] == ["ingress"]
    assert [item["name"] for item in objects[0]["spec"]["listeners"]] == ["shop-http", "shop-https", "admin-http"]
    routes = {o["metadata"]["name"]: [r["sectionName"] for r in o["spec"]["parentRefs"]] for o in objects
              if o["kind"] == "HTTPRoute"}
    assert routes == {"shop-https-redirect": ["shop-http"], "web": ["shop-https"], "admin": ["admin-http"]}
    with pytest.raises(MeshConfigError, match="gateways: gateway admin: host shop.example.com on port 80 is gateway "
                                              "shop's too"):
        build([GATEWAY, dict(other, hosts=["shop.example.com"])], [])


@pytest.mark.parametrize("change,field,reason", [
    ({"retries": {"attempts": 3}}, "retries", "HTTPRouteRetry is experimental"),
    ({"fault": {"abort": {"httpStatus": 503}}}, "fault", "no fault injection"),
    ({"corsPolicy": {}}, "corsPolicy", "no CORS filter"),
    ({"route": [{"destination": {"host": "web", "subset": "v1", "port": {"number": 80}}}]},
     "route[0].destination.subset", "give each version a Service"),
    ({"route": [{"destination": {"host": "web"}}]}, "route[0].destination.port", "needs the Service's port number"),
    ({"route": [{"destination": {"host": "api.stripe.com", "port": {"number": 443}}}]},
     "route[0].destination.host", "is not a Service of the cluster"),
    ({"match": [{"port": 80}]}, "match[].port", "a listener's port selects the routes"),
    ({"match": [{"uri": {"prefix": "/a", "exact": "/a"}}]}, "match[].uri", "give exactly one of"),
    ({"match": [{"withoutHeaders": {"x": {}}}]}, "match[].withoutHeaders", "no Gateway API match has it"),
    ({"redirect": {"uri": "/new"}}, "redirect", "either redirects or routes"),
])
def test_what_the_standard_channel_cannot_express_is_refused_by_name(change, field, reason):
    rule = dict(ROUTE["http"][0], **change)
    with pytest.raises(MeshConfigError) as err:
        build(routes=[dict(ROUTE, http=[rule])])
    assert str(err.value).startswith("virtual_services: shop/web http[0]: %s cannot be expressed with the Kubernetes "
                                     "Gateway API: " % field), str(err.value)
    assert reason in str(err.value)


@pytest.mark.parametrize("gateways,routes,message", [
    ([dict(GATEWAY, servers=[{}])], [], "gateways: gateway shop: servers cannot be expressed"),
    ([dict(GATEWAY, selector={"istio": "ingressgateway"})], [], "gateways: gateway shop: selector cannot be expressed"),
    ([dict(GATEWAY, https={"mode": "MUTUAL", "credential_name": "x"})], [], "https.mode MUTUAL cannot be expressed"),
    ([dict(GATEWAY, namespace="shop")], [], "a Gateway API gateway goes to the ingress namespace istio-ingress"),
    ([GATEWAY], [dict(ROUTE, gateways=["mesh"])], "shop/web: gateways 'mesh' cannot be expressed"),
    ([GATEWAY], [dict(ROUTE, gateways=[])], "shop/web: gateways cannot be expressed"),
    ([GATEWAY], [dict(ROUTE, tcp=[{}])], "shop/web: tcp cannot be expressed"),
    ([GATEWAY], [dict(ROUTE, hosts=["*"])], "shop/web: hosts '*' cannot be expressed"),
])
def test_gateways_and_routes_the_translation_refuses(gateways, routes, message):
    with pytest.raises(MeshConfigError, match=message.replace("*", r"\*")):
        build(gateways, routes)


def test_the_ingress_of_a_revision_is_labelled_for_its_istiod_and_its_routes_export_the_rules():
    dr = {"name": "web", "namespace": "shop", "host": "web-v1", "traffic_policy": {"tls": {"mode": "ISTIO_MUTUAL"}}}
    objects = gateway_api.ingress_manifests([GATEWAY], [ROUTE], [dr], "istio-ingress", "ingress", "", "", "", "asm-1-28")
    assert objects[0]["metadata"]["labels"]["istio.io/rev"] == "asm-1-28"
    # the DestinationRule of a host a route uses is exported to the ingress namespace
    assert objects[-1]["kind"] == "DestinationRule" and objects[-1]["spec"]["exportTo"] == [".", "istio-ingress"]
    plain = gateway_api.ingress_manifests([GATEWAY], [ROUTE], [], "istio-ingress", "ingress", "51.124.9.10", "", "",
                                          "default")
    assert "istio.io/rev" not in plain[0]["metadata"].get("labels", {})
    assert plain[0]["spec"]["infrastructure"] == {"annotations": ANNOTATIONS}


def test_source_ranges_reach_the_deployed_service_through_a_configmap_the_gateway_names():
    """A Gateway's infrastructure carries labels and annotations only: the source ranges go into the ConfigMap of
    Istio's gateway customization, whose service overlay istiod merges into the Service it deploys."""
    objects = gateway_api.ingress_manifests([GATEWAY], [ROUTE], [], "istio-ingress", "ingress", "51.124.9.10", "", "",
                                            "default", ["203.0.113.0/24", "198.51.100.7/32"])
    options, gateway = objects[0], objects[1]
    assert (options["kind"], options["metadata"]["namespace"], options["metadata"]["name"]) == (
        "ConfigMap", "istio-ingress", "ingress-options")
    assert yaml.safe_load(options["data"]["service"]) == {
        "spec": {"loadBalancerSourceRanges": ["203.0.113.0/24", "198.51.100.7/32"]}}
    assert gateway["kind"] == "Gateway" and gateway["spec"]["infrastructure"] == {
        "annotations": ANNOTATIONS, "parametersRef": {"group": "", "kind": "ConfigMap", "name": "ingress-options"}}
    # without them, neither the ConfigMap nor the reference
    plain = gateway_api.ingress_manifests([GATEWAY], [ROUTE], [], "istio-ingress", "ingress", "", "", "", "", [])
    assert plain[0]["kind"] == "Gateway" and "infrastructure" not in plain[0]["spec"]


def test_customizations_overlay_each_deployed_resource_with_the_source_ranges_merged_into_the_service():
    """aksmesh_ingress_gateway_customizations: one key of the same ConfigMap per resource istiod deploys for the
    Gateway; the source ranges join the Service's overlay, beside its own fields."""
    custom = {"deployment": {"metadata": {"labels": {"team": "shop"}}},
              "service": {"metadata": {"annotations": {"example.com/owner": "shop"}}},
              "horizontalPodAutoscaler": {"spec": {"minReplicas": 2, "maxReplicas": 4}}}
    objects = gateway_api.ingress_manifests([GATEWAY], [ROUTE], [], "istio-ingress", "ingress", "", "", "", "",
                                            ["203.0.113.0/24"], custom)
    options, gateway = objects[0], objects[1]
    assert {key: yaml.safe_load(text) for key, text in options["data"].items()} == {
        "deployment": {"metadata": {"labels": {"team": "shop"}}},
        "horizontalPodAutoscaler": {"spec": {"maxReplicas": 4, "minReplicas": 2}},
        "service": {"metadata": {"annotations": {"example.com/owner": "shop"}},
                    "spec": {"loadBalancerSourceRanges": ["203.0.113.0/24"]}}}
    assert gateway["spec"]["infrastructure"] == {
        "parametersRef": {"group": "", "kind": "ConfigMap", "name": "ingress-options"}}
    assert custom["service"] == {"metadata": {"annotations": {"example.com/owner": "shop"}}}  # not changed in place
    # a resource istiod does not deploy is refused by the role's variable
    with pytest.raises(MeshConfigError, match=r"^ingress_customizations\.ingress: istiod "
                                              r"customizes deployment, service, serviceAccount"):
        gateway_api.ingress_manifests([GATEWAY], [ROUTE], [], "istio-ingress", "ingress", "", "", "", "", [],
                                      {"ingress": {}})
