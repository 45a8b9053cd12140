"""The inventory's gateways and VirtualServices as Gateway API objects (plugins/plugin_utils/_builders/gateway_api.py):
what is translated, and each field the Gateway API's standard channel cannot express refused by name. The real
istiod and Envoy take these objects in tests/integration/harness/test_gateway_api.py."""

import pytest

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
    return gateway_api.gateway_api_manifests(list(gateways), list(routes), "istio-ingress", ANNOTATIONS)


def by_kind(objects):
    return [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]


def test_a_gateway_its_redirect_its_routes_and_the_grant_a_cross_namespace_backend_needs():
    objects = build()
    assert by_kind(objects) == [("Gateway", "istio-ingress", "shop"),
                                ("HTTPRoute", "istio-ingress", "shop-https-redirect"),
                                ("HTTPRoute", "shop", "web"), ("ReferenceGrant", "backend", "from-shop")]
    gateway = objects[0]["spec"]
    assert gateway["gatewayClassName"] == "istio" and gateway["infrastructure"] == {"annotations": ANNOTATIONS}
    allowed = {"namespaces": {"from": "Selector", "selector": {"matchExpressions": [{
        "key": "kubernetes.io/metadata.name", "operator": "In", "values": ["istio-ingress", "shop"]}]}}}
    assert gateway["listeners"] == [
        {"name": "http", "port": 80, "protocol": "HTTP", "hostname": "shop.example.com", "allowedRoutes": allowed},
        {"name": "https", "port": 443, "protocol": "HTTPS", "hostname": "shop.example.com", "allowedRoutes": allowed,
         "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "shop-tls"}]}}]
    assert objects[1]["spec"] == {"parentRefs": [{"name": "shop", "namespace": "istio-ingress", "sectionName": "http"}],
                                  "rules": [{"filters": [{"type": "RequestRedirect", "requestRedirect": {
                                      "scheme": "https", "statusCode": 301}}]}]}
    route = objects[2]
    assert route["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None}
    assert route["spec"]["parentRefs"] == [{"name": "shop", "namespace": "istio-ingress"}]
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
    assert by_kind(objects) == [("Gateway", "istio-ingress", "shop"), ("HTTPRoute", "shop", "web")]
    assert [(item["name"], item["hostname"]) for item in objects[0]["spec"]["listeners"]] == [
        ("http-0", "a.example.com"), ("http-1", "b.example.com")]


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
