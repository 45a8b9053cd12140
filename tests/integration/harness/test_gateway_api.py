"""The real stack's Kubernetes Gateway API support, which the Gateway API ingress of issue 25 will be tested on:
the pinned standard-channel CRDs (tools.lock.json ``gateway-api``, the version the pinned Istio requires), the real
istiod's gateway controller deploying a gateway's Deployment and Service from a ``Gateway``, the AKS static-IP
annotations reaching that Service through ``infrastructure.annotations``, the statuses istiod reports, and requests
through the auto-deployed gateway's real Envoy following an ``HTTPRoute``'s weights and header match."""

import collections
import json

from tests.integration.harness.test_dataplane import app, create_all
from tests.support.cluster import NODE_IP
from tests.support.dataplane import http_request

GATEWAY_API = "gateway.networking.k8s.io/v1"
STATIC_IP = "51.124.9.10"
AKS_ANNOTATIONS = {"service.beta.kubernetes.io/azure-load-balancer-ipv4": STATIC_IP,
                   "service.beta.kubernetes.io/azure-load-balancer-resource-group": "rg-net"}


def condition(obj, kind):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def programmed(kube_api, namespace="shop-gateway", name="shop"):
    gateway = kube_api.get(GATEWAY_API, "Gateway", namespace, name)
    return gateway if condition(gateway, "Programmed").get("status") == "True" else None


def route_status(kube_api, namespace="shop", name="web"):
    route = kube_api.get(GATEWAY_API, "HTTPRoute", namespace, name)
    return route if route.get("status", {}).get("parents") else None


def test_the_pinned_crds_are_the_standard_channel(gateway_api_crds, kube_api):
    assert {"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
            "gatewayclasses.gateway.networking.k8s.io", "referencegrants.gateway.networking.k8s.io",
            "grpcroutes.gateway.networking.k8s.io"} <= set(gateway_api_crds)
    for name in gateway_api_crds:
        annotations = kube_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, name)["metadata"][
            "annotations"]
        assert annotations["gateway.networking.k8s.io/channel"] == "standard", name
        assert annotations["gateway.networking.k8s.io/bundle-version"] == "v1.6.0", name


def test_istiod_deploys_a_gateway_whose_routes_carry_traffic(gateway_api_crds, kube_api, istio, dataplane):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop-gateway"}})
    create_all(kube_api, app("shop", "web", "v1") + app("shop", "web", "v2")[:1])
    for version in ("v1", "v2"):
        kube_api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"web-{version}",
                                                                             "namespace": "shop"},
                         "spec": {"selector": {"app": "web", "version": version},
                                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    kube_api.create({"apiVersion": GATEWAY_API, "kind": "Gateway", "metadata": {"name": "shop",
                                                                                "namespace": "shop-gateway"},
                     "spec": {"gatewayClassName": "istio", "infrastructure": {"annotations": AKS_ANNOTATIONS},
                              "listeners": [{"name": "http", "port": 80, "protocol": "HTTP",
                                             "hostname": "shop.example.com",
                                             "allowedRoutes": {"namespaces": {"from": "All"}}}]}})
    kube_api.create({"apiVersion": GATEWAY_API, "kind": "HTTPRoute", "metadata": {"name": "web", "namespace": "shop"},
                     "spec": {"parentRefs": [{"name": "shop", "namespace": "shop-gateway"}],
                              "hostnames": ["shop.example.com"],
                              "rules": [{"matches": [{"headers": [{"name": "x-canary", "value": "yes"}]}],
                                         "backendRefs": [{"name": "web-v2", "port": 80}]},
                                        {"backendRefs": [{"name": "web-v1", "port": 80, "weight": 75},
                                                         {"name": "web-v2", "port": 80, "weight": 25}]}]}})
    # the real istiod's gateway controller: the GatewayClass it owns, the Deployment and Service it makes
    gateway_class = kube_api.wait_for(lambda: kube_api.get(GATEWAY_API, "GatewayClass", None, "istio"),
                                      "istiod's GatewayClass istio")
    assert gateway_class["spec"]["controllerName"] == "istio.io/gateway-controller"
    service = kube_api.wait_for(lambda: kube_api.get("v1", "Service", "shop-gateway", "shop-istio"),
                                "the gateway's Service, deployed by istiod", timeout=60)
    assert service["spec"]["type"] == "LoadBalancer"
    for key, value in AKS_ANNOTATIONS.items():  # the static IP reaches the Service as AKS reads it
        assert service["metadata"]["annotations"][key] == value
    assert kube_api.get("apps/v1", "Deployment", "shop-gateway", "shop-istio")
    # statuses as istiod reports them, once the (emulated) load balancer has the static IP
    gateway = kube_api.wait_for(lambda: programmed(kube_api), "the Gateway to be Programmed", timeout=60)
    assert condition(gateway, "Accepted")["status"] == "True"
    assert gateway["status"]["addresses"] == [{"type": "IPAddress", "value": STATIC_IP}]
    route = kube_api.wait_for(lambda: route_status(kube_api), "the HTTPRoute's status")
    parent = route["status"]["parents"][0]
    assert parent["controllerName"] == "istio.io/gateway-controller"
    conditions = {c["type"]: c["status"] for c in parent["conditions"]}
    assert conditions["Accepted"] == "True" and conditions["ResolvedRefs"] == "True", conditions

    # the real data plane: the auto-deployed gateway's Envoy and the two versions
    runtime = dataplane.wait_proxy_ready(dataplane.pod("shop-gateway", "shop-istio"), listeners=["0.0.0.0_80"])
    assert len(dataplane.wait_ready("shop")) == 2

    def ask(headers=None):
        status, _headers, body = http_request(STATIC_IP, 80, "/", source=NODE_IP,
                                              headers={"Host": "shop.example.com", **(headers or {})})
        return json.loads(body)["pod"] if status == 200 else None

    def first():  # kube-proxy programs the load balancer address a moment after the Service gets it
        try:
            return ask()
        except OSError:
            return None
    kube_api.wait_for(first, "a 200 through the auto-deployed gateway", timeout=60)
    # the header match goes to v2 only; without it, about 75:25 (120 requests: each side well away from 0 and 120)
    assert all("-v2-" in ask({"x-canary": "yes"}) for _attempt in range(20))
    seen = collections.Counter("v2" if "-v2-" in ask() else "v1" for _attempt in range(120))
    assert 60 <= seen["v1"] <= 110 and 10 <= seen["v2"] <= 60, seen
    stats = runtime.admin("/stats?filter=update_rejected")[1]
    assert all(line.endswith(": 0") for line in stats.splitlines() if line), stats


def test_the_collections_translation_carries_traffic_on_the_real_stack(
        gateway_api_crds, kube_api, istio, dataplane, tmp_path):
    """The Gateway API objects the collection builds from an inventory's gateway and VirtualService
    (plugins/plugin_utils/_builders/gateway_api.py), applied as they are: istiod accepts every one, and the
    auto-deployed gateway's Envoy serves HTTPS with the Secret's certificate, redirects HTTP to HTTPS, and follows
    the header match, the weights, the cross-namespace backend (its ReferenceGrant), the rewrite and the mirror."""
    import base64  # pylint: disable=import-outside-toplevel

    import trustme  # pylint: disable=import-outside-toplevel

    from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import (  # pylint: disable=import-outside-toplevel
        stamp)
    from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders.gateway_api import (  # pylint: disable=import-outside-toplevel
        gateway_api_manifests)
    from tests.support.dataplane import https_request  # pylint: disable=import-outside-toplevel

    for ns in ("shop", "backend"):
        kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    create_all(kube_api, app("shop", "web", "v1") + app("shop", "web", "v2")[:1] + app("shop", "shadow")
               + app("backend", "api"))
    for version in ("v1", "v2"):
        kube_api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"web-{version}",
                                                                             "namespace": "shop"},
                         "spec": {"selector": {"app": "web", "version": version},
                                  "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    ca = trustme.CA(organization_name="shop CA")
    leaf = ca.issue_cert("shop.example.com")
    kube_api.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                     "metadata": {"name": "shop-tls", "namespace": "istio-ingress"},
                     "data": {"tls.crt": base64.b64encode(b"".join(p.bytes() for p in leaf.cert_chain_pems)).decode(),
                              "tls.key": base64.b64encode(leaf.private_key_pem.bytes()).decode()}})
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    gateways = [{"name": "shop", "hosts": ["shop.example.com"], "https": {"credential_name": "shop-tls"}}]
    routes = [{"name": "web", "namespace": "shop", "hosts": ["shop.example.com"], "gateways": ["shop"], "http": [
        {"match": [{"headers": {"x-canary": {"exact": "yes"}}}],
         "route": [{"destination": {"host": "web-v2", "port": {"number": 80}}}]},
        {"match": [{"uri": {"prefix": "/api"}}], "rewrite": {"uri": "/"}, "timeout": "5s",
         "route": [{"destination": {"host": "api.backend.svc.cluster.local", "port": {"number": 80}}}]},
        {"route": [{"destination": {"host": "web-v1", "port": {"number": 80}}, "weight": 75},
                   {"destination": {"host": "web-v2", "port": {"number": 80}}, "weight": 25}],
         "mirror": {"host": "shadow", "port": {"number": 80}}}]}]
    objects = stamp(gateway_api_manifests(gateways, routes, "istio-ingress", "ingress", AKS_ANNOTATIONS), "gateways")
    for item in objects:
        kube_api.create(item)

    # istiod accepts each object: the Gateway Programmed with the static IP, every route Accepted with its refs
    gateway = kube_api.wait_for(lambda: programmed(kube_api, "istio-ingress", "ingress"),
                                "the Gateway to be Programmed",
                                timeout=60)
    assert gateway["status"]["addresses"] == [{"type": "IPAddress", "value": STATIC_IP}]
    assert {listener["name"]: {c["type"]: c["status"] for c in listener["conditions"]}["Programmed"]
            for listener in gateway["status"]["listeners"]} == {"shop-http": "True", "shop-https": "True"}
    for namespace, name in (("istio-ingress", "shop-https-redirect"), ("shop", "web")):
        route = kube_api.wait_for(lambda n=namespace, r=name: route_status(kube_api, n, r),
                                  f"the status of HTTPRoute {namespace}/{name}")
        conditions = {c["type"]: c["status"] for c in route["status"]["parents"][0]["conditions"]}
        assert conditions["Accepted"] == "True" and conditions["ResolvedRefs"] == "True", (name, conditions)

    runtime = dataplane.wait_proxy_ready(dataplane.pod("istio-ingress", "ingress-istio"),
                                         listeners=["0.0.0.0_80", "0.0.0.0_443"])
    assert len(dataplane.wait_ready("shop")) == 3 and len(dataplane.wait_ready("backend")) == 1

    def ask(path="/", headers=None):
        status, _headers, body, _san = https_request(STATIC_IP, 443, "shop.example.com", path, cafile=str(cafile),
                                                     headers=headers, source=NODE_IP)
        return json.loads(body) if status == 200 else None

    def first():
        try:
            return ask()
        except OSError:
            return None
    kube_api.wait_for(first, "a 200 over HTTPS through the auto-deployed gateway", timeout=60)
    # HTTP answers 301 to HTTPS
    status, headers, _body = http_request(STATIC_IP, 80, "/x", headers={"Host": "shop.example.com"}, source=NODE_IP)
    assert status == 301 and headers["location"] == "https://shop.example.com/x"
    assert all("-v2-" in ask(headers={"x-canary": "yes"})["pod"] for _attempt in range(10))
    # the cross-namespace backend through its ReferenceGrant, with the prefix rewritten
    seen = ask("/api/orders")
    assert seen["pod"].startswith("api-v1-") and seen["path"] == "/orders"
    counts = collections.Counter("v2" if "-v2-" in ask()["pod"] else "v1" for _attempt in range(100))
    assert 50 <= counts["v1"] <= 95 and 5 <= counts["v2"] <= 50, counts
    # the mirror got copies of the split's requests (its answers are dropped)
    shadow = dataplane.wait_ready("shop")
    kube_api.wait_for(lambda: sum(len(r.requests_seen()) for r in shadow if r.name.startswith("shadow-")) >= 50,
                      "the mirror's copies", timeout=30)
    stats = runtime.admin("/stats?filter=update_rejected")[1]
    assert all(line.endswith(": 0") for line in stats.splitlines() if line), stats
