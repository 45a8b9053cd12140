import base64

import pytest

from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import (
    addons, egress, gateways, mtls, network_policies, secrets, traffic)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import ingress_facts
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def test_secrets_base64_and_labels():
    (g,) = secrets.credential_secrets({"credentials": {"grafana": {"username": "u", "passphrase": "p@ss"}}})
    assert base64.b64decode(g["data"]["passphrase"]) == b"p@ss" and g["metadata"]["namespace"] == "istio-system"
    assert g["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "aksmesh"
    with pytest.raises(MeshConfigError, match="mesh_secrets_kiali_passphrase"):
        secrets.credential_secrets({"credentials": {"kiali": {"username": "u", "passphrase": ""}}})
    (gone,) = secrets.credential_secrets({"state": "absent", "credentials": {"kiali": {}}})
    assert "data" not in gone


def test_mtls_root_gateways_and_exceptions():
    objs = mtls.peer_authentications({"gateway_namespaces": ["istio-ingress", "istio-system"],
                                      "exceptions": [{"namespace": "istio-ingress"}]})
    modes = {o["metadata"]["namespace"]: o["spec"]["mtls"]["mode"] for o in objs}
    assert modes == {"istio-system": "STRICT", "istio-ingress": "PERMISSIVE"}
    with pytest.raises(MeshConfigError, match="root namespace"):
        mtls.peer_authentications({"exceptions": [{"namespace": "istio-system"}]})


def test_gateway_placement_and_export_rules():
    objs = gateways.gateway_manifests({
        "gateways": [{"name": "gw", "hosts": ["a.example.com"]},
                     {"name": "egw", "selector": {"istio": "egressgateway"}, "hosts": ["b.example.com"]}],
        "virtual_services": [
            {"name": "a", "namespace": "shop", "hosts": ["a.example.com"], "gateways": ["gw", "mesh"],
             "http": [{"route": [{"destination": {"host": "a"}}]}]},
            {"name": "inner", "namespace": "shop", "hosts": ["a"], "http": [{"route": [{"destination": {
                "host": "a"}}]}]}]})
    gws = {o["metadata"]["name"]: o["metadata"]["namespace"] for o in by_kind(objs, "Gateway")}
    assert gws == {"gw": "istio-ingress", "egw": "istio-egress"}
    vs = {o["metadata"]["name"]: o["spec"] for o in by_kind(objs, "VirtualService")}
    assert vs["a"]["gateways"] == ["istio-ingress/gw", "mesh"] and vs["a"]["exportTo"] == [".", "istio-ingress"]
    assert vs["inner"]["exportTo"] == ["."]
    with pytest.raises(MeshConfigError, match="hides it from the gateway"):
        gateways.gateway_manifests({"gateways": [{"name": "gw", "hosts": ["x"]}], "virtual_services": [
            {"name": "a", "namespace": "shop", "hosts": ["x"], "gateways": ["gw"], "export_to": ["."],
             "http": [{"route": []}]}]})
    with pytest.raises(MeshConfigError, match="no gateway workloads"):
        gateways.gateway_manifests({"gateways": [{"name": "gw", "selector": {"app": "x"}, "hosts": ["x"]}]})


def test_https_gateway_needs_a_credential_and_redirects():
    (gw,) = gateways.gateway_manifests({"gateways": [{"name": "gw", "hosts": ["h"],
                                                      "https": {"credential_name": "tls"}}]})
    http, https = gw["spec"]["servers"]
    assert http["tls"] == {"httpsRedirect": True} and https["tls"] == {"mode": "SIMPLE", "credentialName": "tls"}
    with pytest.raises(MeshConfigError, match="credential_name"):
        gateways.gateway_manifests({"gateways": [{"name": "gw", "hosts": ["h"], "https": {}}]})


def test_egress_gateway_pattern():
    objs = egress.egress_manifests({"namespaces": ["shop", "pay"], "hosts": [{"host": "api.example.com"}]})
    ses = by_kind(objs, "ServiceEntry")
    assert sorted(o["metadata"]["namespace"] for o in ses) == ["istio-egress", "pay", "shop"]
    assert all(o["spec"]["exportTo"] == ["."] for o in ses)
    (gw,) = by_kind(objs, "Gateway")
    assert gw["metadata"]["namespace"] == "istio-egress" and gw["spec"]["servers"][0]["tls"]["mode"] == "PASSTHROUGH"
    vs = by_kind(objs, "VirtualService")[0]["spec"]
    assert vs["gateways"] == ["mesh", "istio-egress/egress-api-example-com"]
    assert vs["tls"][0]["route"][0]["destination"]["host"] == "istio-egressgateway.istio-egress.svc.cluster.local"
    assert vs["tls"][1]["route"][0]["destination"]["host"] == "api.example.com"
    direct = egress.egress_manifests({"namespaces": ["shop"], "hosts": [{"host": "h.example.com",
                                                                        "via_egress_gateway": False}]})
    assert [o["kind"] for o in direct] == ["ServiceEntry"]


@pytest.mark.parametrize("svc,check", [
    ({"canary": {"weights": {"v1": 80, "v2": 20}}},
     lambda vs, dr: [r["weight"] for r in vs["http"][0]["route"]] == [80, 20]),
    ({"canary": {"header": {"name": "x-canary", "exact": "yes"}, "subset": "v2"}},
     lambda vs, dr: vs["http"][0]["match"] == [{"headers": {"x-canary": {"exact": "yes"}}}]),
    ({"canary": {"cookie": {"name": "canary", "value": "on"}, "subset": "v2"}},
     lambda vs, dr: "canary=on" in vs["http"][0]["match"][0]["headers"]["cookie"]["regex"]),
    ({"mirror": {"subset": "v2", "percentage": 10}},
     lambda vs, dr: vs["http"][0]["mirrorPercentage"] == {"value": 10.0}),
    ({"retries": {"attempts": 3, "per_try_timeout": "2s", "retry_on": "5xx"}},
     lambda vs, dr: vs["http"][0]["retries"] == {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx"}),
    ({"fault": {"delay": {"fixed": "5s", "percentage": 10}, "abort": {"http_status": 503}}},
     lambda vs, dr: vs["http"][0]["fault"]["abort"] == {"httpStatus": 503, "percentage": {"value": 100.0}}),
    ({"load_balancer": "random"}, lambda vs, dr: dr["trafficPolicy"]["loadBalancer"] == {"simple": "RANDOM"}),
    ({"load_balancer": {"consistent_hash": {"source_ip": True}}},
     lambda vs, dr: dr["trafficPolicy"]["loadBalancer"] == {"consistentHash": {"useSourceIp": True}}),
    ({"load_balancer": {"consistent_hash": {"cookie": {"name": "user", "ttl": "60s"}}}},
     lambda vs, dr: dr["trafficPolicy"]["loadBalancer"]["consistentHash"]["httpCookie"] == {"name": "user",
                                                                                            "ttl": "60s"}),
    ({"circuit_breaker": {"max_connections": 10, "http1_max_pending_requests": 1, "consecutive_5xx_errors": 1,
                          "interval": "1s", "base_ejection_time": "3m", "max_ejection_percent": 100}},
     lambda vs, dr: dr["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 1
     and dr["trafficPolicy"]["connectionPool"] == {"tcp": {"maxConnections": 10},
                                                   "http": {"http1MaxPendingRequests": 1}}),
])
def test_traffic_patterns(svc, check):
    base = {"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"]}
    vs, dr = traffic.service_manifests(dict(base, **svc))
    assert vs["spec"]["exportTo"] == ["."] and dr["spec"]["exportTo"] == ["."]
    assert check(vs["spec"], dr["spec"])


def test_traffic_rejects_bad_weights_and_unknown_subsets():
    with pytest.raises(MeshConfigError, match="add up to 100"):
        traffic.service_manifests({"name": "r", "namespace": "s", "subsets": ["v1", "v2"],
                                   "canary": {"weights": {"v1": 50, "v2": 20}}})
    with pytest.raises(MeshConfigError, match="subset v3"):
        traffic.service_manifests({"name": "r", "namespace": "s", "subsets": ["v1"],
                                   "canary": {"header": {"name": "x", "exact": "1"}, "subset": "v3"}})


def test_injection_labels_never_both():
    assert injection.desired_labels({"name": "a"}) == {"istio-injection": "enabled", "istio.io/rev": None}
    assert injection.label_patch({"istio-injection": "enabled"}, injection.desired_labels(
        {"name": "a", "revision": "1-30"})) == {"metadata": {"labels": {"istio-injection": None, "istio.io/rev":
                                                                        "1-30"}}}
    assert injection.label_patch({"istio-injection": "enabled"}, injection.desired_labels({"name": "a"})) is None


def policies_for(method, **extra):
    topo = topology(method)
    return network_policies.network_policies(dict({
        "gateways": [topo["gateways"][k] for k in sorted(topo["gateways"])],
        "istio_namespace": topo["istio_namespace"], "prometheus_namespace": topo["addons_namespace"]}, **extra))


def test_network_policies_modes():
    deny = policies_for("istioctl")
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in deny} == {
        ("istio-ingress", "default-deny"), ("istio-egress", "default-deny"),
        ("istio-ingress", "allow-ingress-gateway"), ("istio-egress", "allow-egress-gateway-from-mesh")}
    strict = policies_for("istioctl", mode="restrict-all")
    assert any(o["metadata"]["name"] == "allow-gateway-egress" for o in strict)
    with pytest.raises(MeshConfigError, match="needs namespace, role"):
        network_policies.network_policies({"istio_namespace": "istio-system", "gateways": [
            {"namespace": "istio-ingress", "role": "ingress"}]})


@pytest.mark.parametrize("method,namespace,selector,ports", [
    ("istioctl", "istio-ingress", {"istio": "ingressgateway"}, {8080, 8443}),
    ("helm", "istio-ingress", {"istio": "ingress"}, {80, 443}),
    ("aks_addon", "aks-istio-ingress", {"istio": "aks-istio-ingressgateway-external"}, {80, 443}),
])
def test_network_policies_admit_the_gateway_pods_of_each_method(method, namespace, selector, ports):
    pols = policies_for(method)
    allow = [p for p in pols if p["metadata"]["namespace"] == namespace and p["spec"]["podSelector"].get(
        "matchLabels") == selector]
    assert len(allow) == 1, pols
    rules = allow[0]["spec"]["ingress"]
    open_ports = {p["port"] for r in rules if "from" not in r for p in r["ports"]}
    assert ports | {15021} <= open_ports
    scrape = [r for r in rules if r.get("from") == [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": topology(method)["addons_namespace"]}}}]]
    assert {p["port"] for r in scrape for p in r["ports"]} == {15020, 15090}
    # one default-deny per namespace, even with two gateways in it (the add-on's external and internal)
    names = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in pols]
    assert len(names) == len(set(names))


def test_injection_uses_the_default_revision_when_an_entry_names_none():
    assert injection.desired_labels({"name": "a"}, "asm-1-28") == {"istio-injection": None, "istio.io/rev": "asm-1-28"}
    assert injection.desired_labels({"name": "a", "revision": "1-30"}, "asm-1-28")["istio.io/rev"] == "1-30"
    ns = injection.labelled_namespaces({"namespaces": [{"name": "shop"}], "revision": "asm-1-28"})[0]
    assert ns["metadata"]["labels"]["istio.io/rev"] == "asm-1-28" and "istio-injection" not in ns["metadata"]["labels"]


def test_addon_wiring_and_dashboards():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "grafana", "namespace": "istio-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "grafana", "env": [
               {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "true"},
               {"name": "GF_SECURITY_ADMIN_PASSWORD", "value": "admin"}]}]}}}}
    crb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"},
           "subjects": [{"kind": "ServiceAccount", "name": "kiali", "namespace": "istio-system"}]}
    out = addons.addon_manifests({"grafana": [dep], "kiali": [crb]}, {"namespace": "mesh",
                                                                      "secrets": {"grafana": "graf"}})
    env = {e["name"]: e for e in out[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "graf", "key": "passphrase"}
    assert out[0]["metadata"]["namespace"] == "mesh" and out[1]["subjects"][0]["namespace"] == "mesh"
    assert "namespace" not in out[1]["metadata"]
    (jaeger,) = addons.dashboards(["jaeger"], "istio-system")
    assert jaeger["port_forward"] == "kubectl -n istio-system port-forward svc/tracing 16686:80"


def test_ingress_facts_from_a_service():
    svc = {"metadata": {"name": "gw", "namespace": "ns"}, "spec": {"type": "LoadBalancer", "ports": [
        {"name": "http2", "port": 80, "nodePort": 30080}, {"name": "https", "port": 443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}}
    facts = ingress_facts(svc)
    assert facts["urls"] == ["http://1.2.3.4", "https://1.2.3.4"] and facts["node_ports"] == {"http2": 30080}
    pending = ingress_facts({"metadata": {"name": "gw"}, "spec": {"ports": []}})
    assert pending["address"] is None and pending["urls"] == []


def test_destination_rules_are_exported_to_the_gateways_that_route_to_them():
    config = {"gateways": [{"name": "gw", "hosts": ["shop.example.com"]}],
              "virtual_services": [{"name": "shop", "namespace": "shop", "hosts": ["shop.example.com"],
                                    "gateways": ["gw"], "http": [{"route": [
                                        {"destination": {"host": "reviews", "subset": "v2"}}]}]}],
              "destination_rules": [{"name": "reviews", "namespace": "shop", "host": "reviews",
                                     "subsets": [{"name": "v2", "labels": {"version": "v2"}}]},
                                    {"name": "other", "namespace": "shop", "host": "ratings"}]}
    drs = {o["metadata"]["name"]: o for o in by_kind(gateways.gateway_manifests(config), "DestinationRule")}
    assert drs["reviews"]["spec"]["exportTo"] == [".", "istio-ingress"]
    assert drs["other"]["spec"]["exportTo"] == ["."]
    routes = gateways.gateway_route_hosts(config)
    assert routes == {"reviews.shop.svc.cluster.local": ["istio-ingress"]}
    policies = traffic.traffic_manifests({"gateway_routes": routes, "services": [
        {"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"]}]})
    assert by_kind(policies, "DestinationRule")[0]["spec"]["exportTo"] == [".", "istio-ingress"]
    with pytest.raises(MeshConfigError, match="hides its subsets from the gateway namespace"):
        gateways.gateway_manifests(dict(config, destination_rules=[
            dict(config["destination_rules"][0], export_to=["."])]))


def test_tracing_telemetry_and_kiali_signing_key():
    from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import addons, istio_operator, secrets
    tracing = {"provider": "otel-tracing", "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}
    mesh = istio_operator.build({"tracing": tracing})["spec"]["meshConfig"]
    assert mesh["extensionProviders"] == [{"name": "otel-tracing", "opentelemetry": {
        "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}}]
    assert "extensionProviders" not in istio_operator.build({"tracing": dict(tracing, provider="")})["spec"][
        "meshConfig"]
    (tel,) = addons.telemetry({"root_namespace": "istio-system", "provider": "otel-tracing", "sampling": 5})
    assert tel["spec"]["tracing"] == [{"providers": [{"name": "otel-tracing"}], "randomSamplingPercentage": 5.0}]
    assert tel["spec"]["accessLogging"] == [{"providers": [{"name": "envoy"}]}]
    with pytest.raises(MeshConfigError, match="mesh_addons_tracing_sampling"):
        addons.telemetry({"provider": "otel-tracing", "sampling": 120})
    kiali = secrets.credential_secrets({"credentials": {"kiali": {"username": "a", "passphrase": "p"}}})[0]
    key = base64.b64decode(kiali["data"]["signing-key"]).decode()
    assert len(key) == 32 and key == base64.b64decode(secrets.credential_secrets({"credentials": {"kiali": {
        "username": "a", "passphrase": "p"}}})[0]["data"]["signing-key"]).decode()  # stable across runs
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kiali"},
           "spec": {"template": {"spec": {"containers": [{"name": "kiali", "image": "quay.io/kiali/kiali"}]}}}}
    out = addons.addon_manifests({"kiali": [dep]}, {"secrets": {"kiali": "kiali"}})
    spec = out[0]["spec"]["template"]["spec"]
    assert spec["containers"][0]["volumeMounts"][0]["mountPath"] == "/kiali-override-secrets/login-token-signing-key"
    assert spec["volumes"][0]["secret"] == {"secretName": "kiali", "items": [{"key": "signing-key",
                                                                              "path": "value.txt"}]}


def test_addon_shared_mesh_config_and_no_egress_gateway():
    from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import istio_operator
    import yaml
    cms = istio_operator.addon_shared_config({"revisions": ["asm-1-27", "asm-1-28"]})
    assert [c["metadata"]["name"] for c in cms] == ["istio-shared-configmap-asm-1-27", "istio-shared-configmap-asm-1-28"]
    assert {c["metadata"]["namespace"] for c in cms} == {"aks-istio-system"}
    assert yaml.safe_load(cms[0]["data"]["mesh"])["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    with pytest.raises(MeshConfigError, match="per add-on revision"):
        istio_operator.addon_shared_config({"revisions": []})
    with pytest.raises(MeshConfigError, match="runs no egress gateway this collection manages"):
        egress.egress_manifests({"gateway_namespace": "", "namespaces": ["shop"], "hosts": [{"host": "a.example"}]})
