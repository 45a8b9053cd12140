"""The builders, called as the stage filters call them: keyword arguments named after their options, the role
argument spec's defaults for the options a test leaves out (``build``), the settings-derived ones given here."""

import base64

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.filter.mesh import STAGES
from ansible_collections.aksmesh.istio.plugins.plugin_utils._builders import (
    addons, gateways, network_policies, traffic)
from ansible_collections.aksmesh.istio.plugins.module_utils._istio import injection
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.topology import topology
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.ingress import ingress_facts
from ansible_collections.aksmesh.istio.plugins.module_utils._istio.mesh_common import MeshConfigError

FILTERS = dict((stage.name, stage) for stage in STAGES)
ISTIOCTL = topology("istioctl")
# what the roles take from settings_mesh on the istioctl method
GATEWAYS = {"workloads": list(ISTIOCTL["gateways"].values()), "ingress_selector": {"istio": "ingressgateway"}}
EGRESS = {"gateway_namespace": "istio-egress", "gateway_selector": {"istio": "egressgateway"},
          "gateway_service": "istio-egressgateway"}
MTLS = {"root_namespace": "istio-system", "istio_namespace": "istio-system", "gateway_namespaces": []}
ADDONS = {"namespace": "istio-system", "root_namespace": "istio-system", "tracing_provider": ""}
CREDENTIALS = {"grafana_username": "u", "grafana_passphrase": "p@ss", "kiali_username": "k", "kiali_passphrase": "kp"}


def build(filter_name, *settings, **options):
    """The builder behind a stage filter, with the role argument spec's defaults for the options not given: the
    ``settings`` dictionaries, then ``options``."""
    stage = FILTERS[filter_name]
    given = stage.defaults()
    for more in settings + (options,):
        given.update(more)
    return stage.build(**given)


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def test_secrets_base64_and_labels():
    g, k = build("secrets_manifests", CREDENTIALS, namespace="istio-system")
    assert base64.b64decode(g["data"]["passphrase"]) == b"p@ss" and g["metadata"]["namespace"] == "istio-system"
    assert g["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "aksmesh"
    assert (g["metadata"]["name"], k["metadata"]["name"]) == ("grafana", "kiali")
    with pytest.raises(MeshConfigError, match="^kiali_passphrase: is empty: set it from a vaulted variable"):
        build("secrets_manifests", CREDENTIALS, namespace="istio-system", kiali_passphrase="")
    gone = build("secrets_manifests", namespace="istio-system", state="absent", kiali_secret_name="kiali-login")
    assert [o["metadata"]["name"] for o in gone] == ["grafana", "kiali-login"]
    assert not any("data" in o for o in gone)


@pytest.mark.parametrize("override,needle", [
    ({"grafana_passphrase": ["a"]}, "^grafana_passphrase: is a list, not a string: give the passphrase as one string"),
    ({"kiali_passphrase": {"a": 1}}, "^kiali_passphrase: is a dict, not a string"),
    ({"kiali_username": True}, "^kiali_username: is a bool, not a string: give the user name"),
])
def test_a_credential_that_is_not_a_string_is_refused_by_name(override, needle):
    """A passphrase ['a'] was stored as the text "['a']"."""
    with pytest.raises(MeshConfigError, match=needle.replace("(", r"\(")):
        build("secrets_manifests", dict(CREDENTIALS, **override), namespace="istio-system")


VAULT = {"name": "mesh-kv", "tenant_id": "11111111-2222-3333-4444-555555555555",
         "client_id": "66666666-7777-8888-9999-000000000000"}


def test_placeholder_secrets_say_what_to_set_and_hold_no_passphrase():
    g, k = build("secrets_manifests", CREDENTIALS, namespace="istio-system", placeholders=True)
    assert g["stringData"] == {"username": "u", "passphrase": "<set-me: the Grafana passphrase>"} and "data" not in g
    assert k["stringData"]["signing-key"] == "<set-me: 32 random characters, Kiali's login-token signing key>"
    assert g["metadata"]["annotations"] == {"aksmesh.io/values": "placeholder",
                                            "kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}
    assert "p@ss" not in str([g, k]) and base64.b64encode(b"p@ss").decode() not in str([g, k])
    # no passphrase needed (render mode gives none)
    bare = build("secrets_manifests", namespace="istio-system", placeholders=True)
    assert bare[0]["stringData"]["username"] == "<set-me: the Grafana user name>"


def test_a_key_vault_gives_secret_provider_classes_that_sync_the_same_secrets():
    g, k = build("secrets_manifests", namespace="istio-system", key_vault=VAULT, kiali_secret_name="kiali-login",
                 placeholders=True)
    assert (g["apiVersion"], g["kind"], g["metadata"]["name"]) == (
        "secrets-store.csi.x-k8s.io/v1", "SecretProviderClass", "grafana")
    params = g["spec"]["parameters"]
    assert g["spec"]["provider"] == "azure" and params["keyvaultName"] == "mesh-kv"
    assert params["tenantId"] == VAULT["tenant_id"] and params["userAssignedIdentityID"] == VAULT["client_id"]
    assert params["useVMManagedIdentity"] == "true" and params["usePodIdentity"] == "false"
    assert yaml.safe_load(yaml.safe_load(params["objects"])["array"][1]) == {
        "objectName": "grafana-passphrase", "objectType": "secret"}
    assert k["spec"]["secretObjects"] == [{"secretName": "kiali-login", "type": "Opaque", "labels": {"app": "kiali"},
                                           "data": [{"objectName": "kiali-username", "key": "username"},
                                                    {"objectName": "kiali-passphrase", "key": "passphrase"},
                                                    {"objectName": "kiali-signing-key", "key": "signing-key"}]}]
    workload = build("secrets_manifests", namespace="istio-system", key_vault=dict(
        VAULT, identity="workload", cloud_name="AzureChinaCloud", objects={"grafana_passphrase": "graf-pw"}))[0]
    params = workload["spec"]["parameters"]
    assert params["clientID"] == VAULT["client_id"] and "userAssignedIdentityID" not in params
    assert params["cloudName"] == "AzureChinaCloud" and "objectName: graf-pw" in params["objects"]
    gone = build("secrets_manifests", namespace="istio-system", key_vault=VAULT, state="absent")
    assert [(o["kind"], o["metadata"]["name"]) for o in gone] == [
        ("SecretProviderClass", "grafana"), ("Secret", "grafana"), ("SecretProviderClass", "kiali"),
        ("Secret", "kiali")]


@pytest.mark.parametrize("vault,message", [
    ({"tenant_id": VAULT["tenant_id"]}, "name None is not a Key Vault name"),
    (dict(VAULT, name="kv_1"), "name 'kv_1' is not a Key Vault name"),
    (dict(VAULT, tenant_id="contoso"), "tenant_id 'contoso' is not a GUID: give the Microsoft Entra tenant"),
    (dict(VAULT, client_id=""), "client_id '' is not a GUID: give the client ID of the identity"),
    (dict(VAULT, tenant_id=VAULT["tenant_id"] + "\n"), "tenant_id '%s\\n' is not a GUID" % VAULT["tenant_id"]),
    (dict(VAULT, identity="pod"), "identity 'pod': use managed"),
    (dict(VAULT, vault="x"), "unknown key(s) vault; the keys are name, tenant_id"),
    (dict(VAULT, objects={"grafana_password": "x"}), "objects: unknown key(s) grafana_password"),
    (dict(VAULT, objects={"kiali_signing_key": "a/b"}), "objects.kiali_signing_key 'a/b' is not a Key Vault secret"),
])
def test_a_bad_key_vault_names_the_key_and_the_fix(vault, message):
    with pytest.raises(MeshConfigError) as caught:
        build("secrets_manifests", namespace="istio-system", key_vault=vault)
    assert caught.value.option == "key_vault" and message in caught.value.message


def test_addons_mount_the_secret_provider_classes_with_a_key_vault():
    deps = {name: [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": {"template": {
        "spec": {"containers": [{"name": name, "image": name}]}}}}] for name in ("grafana", "kiali", "prometheus")}
    out = {o["metadata"]["name"]: o["spec"]["template"]["spec"] for o in build(
        "addon_manifests", ADDONS, manifests=deps, secrets_store=True) if o["kind"] == "Deployment"}
    volume = {"name": "aksmesh-secrets-store", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                                       "volumeAttributes": {"secretProviderClass": "grafana"}}}
    assert volume in out["grafana"]["volumes"]
    assert {"name": "aksmesh-secrets-store", "mountPath": "/mnt/secrets-store", "readOnly": True} in \
        out["kiali"]["containers"][0]["volumeMounts"]
    assert "volumes" not in out["prometheus"]
    plain = build("addon_manifests", ADDONS, manifests=deps)
    assert not any(v.get("csi") for o in plain if o["kind"] == "Deployment"
                   for v in o["spec"]["template"]["spec"].get("volumes") or [])


def test_mtls_root_gateways_and_exceptions():
    objs = build("mtls_manifests", MTLS, gateway_namespaces=["istio-ingress", "istio-system"],
                 exceptions=[{"namespace": "istio-ingress"}])
    modes = {o["metadata"]["namespace"]: o["spec"]["mtls"]["mode"] for o in objs}
    assert modes == {"istio-system": "STRICT", "istio-ingress": "PERMISSIVE"}
    with pytest.raises(MeshConfigError, match="^exceptions: entry .* names the root namespace istio-system.*set mode"):
        build("mtls_manifests", MTLS, exceptions=[{"namespace": "istio-system"}])
    with pytest.raises(MeshConfigError, match="^root_namespace: istio-config must be the Istio install namespace"):
        build("mtls_manifests", MTLS, root_namespace="istio-config")


def test_gateway_placement_and_export_rules():
    objs = build("gateway_manifests", GATEWAYS, {
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
    with pytest.raises(MeshConfigError, match="^virtual_services: shop/a: export_to .* hides it from the gateway"):
        build("gateway_manifests", GATEWAYS, gateways=[{"name": "gw", "hosts": ["x"]}], virtual_services=[
            {"name": "a", "namespace": "shop", "hosts": ["x"], "gateways": ["gw"], "export_to": ["."],
             "http": [{"route": []}]}])
    with pytest.raises(MeshConfigError, match="^gateways: gateway gw: selector .* matches no gateway workloads"):
        build("gateway_manifests", GATEWAYS, gateways=[{"name": "gw", "selector": {"app": "x"}, "hosts": ["x"]}])
    with pytest.raises(MeshConfigError, match="^gateways: entry 0: missing name"):
        build("gateway_manifests", GATEWAYS, gateways=[{"hosts": ["x"]}])


def test_https_gateway_needs_a_credential_and_redirects():
    (gw,) = build("gateway_manifests", GATEWAYS,
                  gateways=[{"name": "gw", "hosts": ["h"], "https": {"credential_name": "tls"}}])
    http, https = gw["spec"]["servers"]
    assert http["tls"] == {"httpsRedirect": True} and https["tls"] == {"mode": "SIMPLE", "credentialName": "tls"}
    with pytest.raises(MeshConfigError, match="^gateways: gateway gw: https needs credential_name"):
        build("gateway_manifests", GATEWAYS, gateways=[{"name": "gw", "hosts": ["h"], "https": {}}])


def test_egress_gateway_pattern():
    objs = build("egress_manifests", EGRESS, namespaces=["shop", "pay"], hosts=[{"host": "api.example.com"}])
    ses = by_kind(objs, "ServiceEntry")
    assert sorted(o["metadata"]["namespace"] for o in ses) == ["istio-egress", "pay", "shop"]
    assert all(o["spec"]["exportTo"] == ["."] for o in ses)
    (gw,) = by_kind(objs, "Gateway")
    assert gw["metadata"]["namespace"] == "istio-egress" and gw["spec"]["servers"][0]["tls"]["mode"] == "PASSTHROUGH"
    # Istio's two legs: the sidecar's in each client namespace, the egress gateway's once in its own namespace
    routes = dict((o["metadata"]["namespace"], o["spec"]) for o in by_kind(objs, "VirtualService"))
    assert sorted(routes) == ["istio-egress", "pay", "shop"]
    assert all(vs["exportTo"] == ["."] for vs in routes.values())
    assert routes["shop"]["gateways"] == routes["pay"]["gateways"] == ["mesh"]
    assert routes["shop"]["tls"][0]["route"][0]["destination"]["host"] == \
        "istio-egressgateway.istio-egress.svc.cluster.local"
    assert routes["istio-egress"]["gateways"] == ["istio-egress/egress-api-example-com"]
    assert [r["route"][0]["destination"]["host"] for r in routes["istio-egress"]["tls"]] == ["api.example.com"]
    direct = build("egress_manifests", EGRESS, namespaces=["shop"],
                   hosts=[{"host": "h.example.com", "via_egress_gateway": False}])
    assert [o["kind"] for o in direct] == ["ServiceEntry"]
    with pytest.raises(MeshConfigError, match=r"^hosts\[0\]\.protocol: FTP; use TLS, HTTPS or HTTP"):
        build("egress_manifests", EGRESS, namespaces=["shop"], hosts=[{"host": "h", "protocol": "ftp"}])
    with pytest.raises(MeshConfigError, match="^namespaces: is empty"):
        build("egress_manifests", EGRESS, hosts=[{"host": "h"}])


@pytest.mark.parametrize("svc,check", [
    ({"canary": {"weights": {"v1": 80, "v2": 20}}},
     lambda vs, dr: [r["weight"] for r in vs["http"][0]["route"]] == [80, 20]),
    ({"canary": {"header": {"name": "x-canary", "exact": "yes"}, "subset": "v2"}},
     lambda vs, dr: vs["http"][0]["match"] == [{"headers": {"x-canary": {"exact": "yes"}}}]),
    ({"canary": {"cookie": {"name": "canary", "value": "on"}, "subset": "v2"}},
     lambda vs, dr: vs["http"][0]["match"][0]["headers"]["cookie"]["regex"] == "^(.*?; ?)?(canary=on)(;.*)?$"),
    ({"mirror": {"subset": "v2", "percentage": 10}},
     lambda vs, dr: vs["http"][0]["mirrorPercentage"] == {"value": 10.0}),
    ({"retries": {"attempts": 3, "per_try_timeout": "2s", "retry_on": "5xx"}},
     lambda vs, dr: vs["http"][0]["retries"] == {"attempts": 3, "perTryTimeout": "2s", "retryOn": "5xx"}),
    ({"fault": {"delay": {"fixed": "5s", "percentage": 10}, "abort": {"http_status": 503}}},
     lambda vs, dr: vs["http"][0]["fault"]["abort"] == {"httpStatus": 503, "percentage": {"value": 100.0}}),
    # a policy without routing: the DestinationRule alone, no VirtualService pinning the traffic to v1
    ({"load_balancer": "random"},
     lambda vs, dr: vs is None and dr["trafficPolicy"]["loadBalancer"] == {"simple": "RANDOM"}),
    ({"load_balancer": {"consistent_hash": {"source_ip": True}}},
     lambda vs, dr: vs is None and dr["trafficPolicy"]["loadBalancer"] == {"consistentHash": {"useSourceIp": True}}),
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
    objs = dict((o["kind"], o["spec"]) for o in traffic.service_manifests(dict(base, **svc)))
    assert [o["exportTo"] for o in objs.values()] in ([["."]], [["."], ["."]]) and "DestinationRule" in objs
    assert check(objs.get("VirtualService"), objs["DestinationRule"])


@pytest.mark.parametrize("header, matched", [
    ("canary=on", True), ("a=b; canary=on", True), ("a=b;canary=on", True), ("canary=on; a=b", True),
    ("canary=off", False), ("xcanary=on", False), ("a=b; canary=onx", False), ("", False)])
def test_cookie_canary_matches_the_cookie_wherever_a_browser_puts_it(header, matched):
    """Browsers separate cookies with "; " (RFC 6265): found by the cookie canary traffic test, where a request
    with another cookie first never reached the canary."""
    import re
    vs, _dr = traffic.service_manifests({"name": "r", "namespace": "s", "subsets": ["v1", "v2"],
                                         "canary": {"cookie": {"name": "canary", "value": "on"}, "subset": "v2"}})
    regex = vs["spec"]["http"][0]["match"][0]["headers"]["cookie"]["regex"]
    assert bool(re.fullmatch(regex, header)) is matched


def test_a_canary_route_carries_its_own_fault_the_default_route_none():
    """Istio's fault injection task: the delay or abort for the matched users only."""
    vs, _dr = traffic.service_manifests({"name": "ratings", "namespace": "shop", "subsets": ["v1"],
                                         "canary": {"header": {"name": "end-user", "exact": "jason"}, "subset": "v1",
                                                    "fault": {"abort": {"http_status": 500}}, "timeout": "2s"}})
    matched, default = vs["spec"]["http"]
    assert matched["match"] == [{"headers": {"end-user": {"exact": "jason"}}}]
    assert matched["fault"] == {"abort": {"httpStatus": 500, "percentage": {"value": 100.0}}}
    assert matched["timeout"] == "2s"
    assert "fault" not in default and "timeout" not in default and "match" not in default
    with pytest.raises(MeshConfigError, match=r"canary.fault \(service s/r\): needs a header or cookie match"):
        traffic.service_manifests({"name": "r", "namespace": "s", "subsets": ["v1", "v2"], "canary": {
            "weights": {"v1": 90, "v2": 10}, "fault": {"abort": {"http_status": 500}}}})


def test_traffic_rejects_bad_weights_and_unknown_subsets():
    with pytest.raises(MeshConfigError, match=r"^services\[0\].canary.weights \(service s/r\): .* add up to 70; "
                                              "they must add up to 100"):
        traffic.service_manifests({"name": "r", "namespace": "s", "subsets": ["v1", "v2"],
                                   "canary": {"weights": {"v1": 50, "v2": 20}}})
    with pytest.raises(MeshConfigError, match=r"^services\[0\].canary.subset \(service s/r\): subset v3 is not in "):
        traffic.service_manifests({"name": "r", "namespace": "s", "subsets": ["v1"],
                                   "canary": {"header": {"name": "x", "exact": "1"}, "subset": "v3"}})


def test_injection_labels_never_both():
    assert injection.desired_labels({"name": "a"}) == {"istio-injection": "enabled", "istio.io/rev": None,
                                                       "istio.io/dataplane-mode": None, "istio.io/use-waypoint": None}
    assert injection.label_patch({"istio-injection": "enabled"}, injection.desired_labels(
        {"name": "a", "revision": "1-30"})) == {"metadata": {"labels": {"istio-injection": None, "istio.io/rev":
                                                                        "1-30"}}}
    assert injection.label_patch({"istio-injection": "enabled"}, injection.desired_labels({"name": "a"})) is None


def policies_for(method, **extra):
    topo = topology(method)
    return build("network_policy_manifests", {
        "gateways": [topo["gateways"][k] for k in sorted(topo["gateways"])],
        "istio_namespace": topo["istio_namespace"], "prometheus_namespace": topo["addons_namespace"]}, extra)


def test_network_policies_modes():
    deny = policies_for("istioctl")
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in deny} == {
        ("istio-ingress", "default-deny"), ("istio-egress", "default-deny"),
        ("istio-ingress", "allow-ingress-gateway"), ("istio-egress", "allow-egress-gateway-from-mesh")}
    strict = policies_for("istioctl", mode="restrict-all")
    assert any(o["metadata"]["name"] == "allow-gateway-egress" for o in strict)
    with pytest.raises(MeshConfigError, match="^gateways: entry .* needs namespace, role"):
        network_policies.network_policies(mode="default-deny", istio_namespace="istio-system", gateways=[
            {"namespace": "istio-ingress", "role": "ingress"}], prometheus_namespace="istio-system")
    with pytest.raises(MeshConfigError, match="^istio_namespace: is empty"):
        policies_for("istioctl", istio_namespace="")


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


def test_ambient_enrolment_takes_the_injection_labels_off():
    assert injection.desired_labels({"name": "a", "revision": "1-30"}, "1-30", "ambient") == {
        "istio-injection": None, "istio.io/rev": None, "istio.io/dataplane-mode": "ambient",
        "istio.io/use-waypoint": None}
    assert injection.label_patch({"istio-injection": "enabled", "team": "a"}, injection.desired_labels(
        {"name": "a"}, None, "ambient")) == {"metadata": {"labels": {"istio-injection": None,
                                                                     "istio.io/dataplane-mode": "ambient"}}}
    # back to sidecars, and cleanup: the ambient label goes too
    assert injection.label_patch({"istio.io/dataplane-mode": "ambient"}, injection.desired_labels({"name": "a"})) == {
        "metadata": {"labels": {"istio-injection": "enabled", "istio.io/dataplane-mode": None}}}
    assert injection.desired_labels({"name": "a", "state": "absent"}, None, "ambient")["istio.io/dataplane-mode"] is None
    ns = injection.labelled_namespaces([{"name": "shop"}], "", "istio-system", "ambient")
    assert ns[0]["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "aksmesh", "aksmesh.io/stage": None,
                                           "istio.io/dataplane-mode": "ambient"}


def test_an_ambient_namespace_with_a_waypoint_gets_its_gateway_and_label():
    """What istioctl waypoint apply writes, and the namespace label that sends its traffic there."""
    assert injection.desired_labels({"name": "shop", "waypoint": True}, None, "ambient")["istio.io/use-waypoint"] \
        == "waypoint"
    assert injection.label_patch({"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"},
                                 injection.desired_labels({"name": "shop"}, None, "ambient")) == {
        "metadata": {"labels": {"istio.io/use-waypoint": None}}}
    (gateway,) = injection.waypoints([{"name": "shop", "waypoint": True}, {"name": "web"}], "1-31", "ambient")
    assert (gateway["kind"], gateway["metadata"]["namespace"], gateway["metadata"]["name"]) == (
        "Gateway", "shop", "waypoint")
    assert gateway["spec"] == {"gatewayClassName": "istio-waypoint",
                               "listeners": [{"name": "mesh", "port": 15008, "protocol": "HBONE"}]}
    assert gateway["metadata"]["labels"]["istio.io/waypoint-for"] == "service"
    assert gateway["metadata"]["labels"]["istio.io/rev"] == "1-31"
    assert injection.waypoints([{"name": "shop", "waypoint": True, "state": "absent"}], "", "ambient") == []
    with pytest.raises(MeshConfigError, match="shop: waypoint is for the ambient data plane"):
        injection.waypoints([{"name": "shop", "waypoint": True}], "", "sidecar")


def test_injection_uses_the_default_revision_when_an_entry_names_none():
    assert injection.desired_labels({"name": "a"}, "asm-1-28") == {"istio-injection": None, "istio.io/rev": "asm-1-28",
                                                                   "istio.io/dataplane-mode": None,
                                                                   "istio.io/use-waypoint": None}
    assert injection.desired_labels({"name": "a", "revision": "1-30"}, "asm-1-28")["istio.io/rev"] == "1-30"
    ns = injection.labelled_namespaces(namespaces=[{"name": "shop"}], revision="asm-1-28",
                                       istio_namespace="aks-istio-system")[0]
    assert ns["metadata"]["labels"]["istio.io/rev"] == "asm-1-28" and "istio-injection" not in ns["metadata"]["labels"]


def test_addon_wiring_and_dashboards():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "grafana", "namespace": "istio-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "grafana", "env": [
               {"name": "GF_AUTH_ANONYMOUS_ENABLED", "value": "true"},
               {"name": "GF_SECURITY_ADMIN_PASSWORD", "value": "admin"}]}]}}}}
    crb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"},
           "subjects": [{"kind": "ServiceAccount", "name": "kiali", "namespace": "istio-system"}]}
    out = build("addon_manifests", ADDONS, manifests={"grafana": [dep], "kiali": [crb]}, namespace="mesh",
                grafana_secret="graf")
    env = {e["name"]: e for e in out[0]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["GF_AUTH_ANONYMOUS_ENABLED"]["value"] == "false"
    assert env["GF_SECURITY_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "graf", "key": "passphrase"}
    assert out[0]["metadata"]["namespace"] == "mesh" and out[1]["subjects"][0]["namespace"] == "mesh"
    assert "namespace" not in out[1]["metadata"]
    assert out[2]["kind"] == "Telemetry" and "tracing" not in out[2]["spec"]  # no Jaeger, no tracing
    (jaeger,) = addons.dashboards(enabled=["jaeger"], namespace="istio-system")
    assert jaeger["port_forward"] == "kubectl -n istio-system port-forward svc/tracing 16686:80"


def kiali_stand_ins():
    """Kiali's ConfigMap as upstream ships it (istio-system, tracing off) and its Deployment."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kiali", "namespace": "istio-system"},
          "data": {"config.yaml": yaml.safe_dump({
              "auth": {"strategy": "anonymous"}, "deployment": {"namespace": "istio-system", "view_only_mode": False},
              "external_services": {"custom_dashboards": {"enabled": True}, "istio": {"root_namespace": "istio-system"},
                                    "prometheus": {"enabled": True}, "tracing": {"enabled": False}}})}}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kiali", "namespace": "istio-system"},
           "spec": {"template": {"spec": {"containers": [{"name": "kiali", "image": "quay.io/kiali/kiali"}]}}}}
    return [cm, dep]


@pytest.mark.parametrize("method,istio_namespace", [("istioctl", "mesh-system"), ("helm", ""),
                                                    ("aks_addon", "")])
def test_kiali_knows_the_namespaces_and_the_other_addons(method, istio_namespace):
    topo = topology(method, istio_namespace, revision="asm-1-28" if method == "aks_addon" else "")
    ns, root = topo["addons_namespace"], topo["root_namespace"]
    upstream = {"kiali": kiali_stand_ins(), "grafana": [], "prometheus": [], "jaeger": []}
    out = build("addon_manifests", ADDONS, manifests=upstream, namespace=ns, root_namespace=root,
                grafana_secret="graf")
    cm, dep = out[0], out[1]
    text = cm["data"]["config.yaml"]
    config = yaml.safe_load(text)
    assert config["deployment"] == {"namespace": ns, "view_only_mode": False}
    services = config["external_services"]
    assert services["istio"] == {"root_namespace": root}
    assert services["prometheus"] == {"enabled": True, "url": "http://prometheus.%s:9090" % ns}
    assert services["custom_dashboards"] == {"enabled": True}  # upstream's other settings stay
    tracing = services["tracing"]
    assert (tracing["enabled"], tracing["provider"], tracing["use_grpc"], tracing["internal_url"]) == (
        True, "jaeger", True, "http://tracing.%s:16685/jaeger" % ns)
    grafana = services["grafana"]
    assert (grafana["enabled"], grafana["internal_url"]) == (True, "http://grafana.%s:3000" % ns)
    assert grafana["auth"] == {"type": "basic", "username": "secret:graf:username",
                               "password": "secret:graf:passphrase"}
    assert "Istio Workload Dashboard" in [d["name"] for d in grafana["dashboards"]]
    # the credentials come from the Secret, mounted where Kiali reads them: the ConfigMap holds no value
    spec = dep["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m["name"] for m in spec["containers"][0]["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts["/kiali-override-secrets/grafana-password"]]["secret"] == {
        "secretName": "graf", "items": [{"key": "passphrase", "path": "value.txt"}]}
    assert volumes[mounts["/kiali-override-secrets/grafana-username"]]["secret"] == {
        "secretName": "graf", "items": [{"key": "username", "path": "value.txt"}]}
    assert CREDENTIALS["grafana_passphrase"] not in text


def test_kiali_without_grafana_or_jaeger_turns_them_off():
    out = build("addon_manifests", ADDONS, manifests={"kiali": kiali_stand_ins()})
    services = yaml.safe_load(out[0]["data"]["config.yaml"])["external_services"]
    assert services["grafana"] == {"enabled": False} and services["tracing"] == {"enabled": False}
    assert services["prometheus"] == {"enabled": True}  # not installed here: upstream's setting stays
    mounts = [m["mountPath"] for m in out[1]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]]
    assert mounts == ["/kiali-override-secrets/login-token-signing-key"]


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
    drs = {o["metadata"]["name"]: o for o in by_kind(build("gateway_manifests", GATEWAYS, config), "DestinationRule")}
    assert drs["reviews"]["spec"]["exportTo"] == [".", "istio-ingress"]
    assert drs["other"]["spec"]["exportTo"] == ["."]
    routes = gateways.gateway_route_hosts(gateways=config["gateways"], virtual_services=config["virtual_services"],
                                          **GATEWAYS)
    assert routes == {"reviews.shop.svc.cluster.local": ["istio-ingress"]}
    policies = traffic.traffic_manifests(gateway_routes=routes, services=[
        {"name": "reviews", "namespace": "shop", "subsets": ["v1", "v2"]}])
    assert by_kind(policies, "DestinationRule")[0]["spec"]["exportTo"] == [".", "istio-ingress"]
    with pytest.raises(MeshConfigError, match="^destination_rules: shop/reviews: export_to .* hides its subsets from "
                                              "the gateway namespace"):
        build("gateway_manifests", GATEWAYS, config, destination_rules=[
            dict(config["destination_rules"][0], export_to=["."])])
    with pytest.raises(MeshConfigError, match=r"^services\[0\] \(service shop/reviews\): export_to .* hides its "
                                              "subsets"):
        traffic.traffic_manifests(gateway_routes=routes, services=[
            {"name": "reviews", "namespace": "shop", "subsets": ["v1"], "export_to": ["."]}])


OPERATOR = {"namespace": "istio-system", "profile": "default", "revision": "", "ingress_namespace": "istio-ingress",
            "ingress_ip": "",
            "ingress_ip_resource_group": "", "egress_namespace": "istio-egress", "tracing": {},
            "cni_enabled": False, "cni_namespace": "istio-system"}


def test_cni_component_and_injection_without_istio_init():
    assert "cni" not in build("istio_operator", OPERATOR)["spec"]["components"]
    assert "pilot" not in build("istio_operator", OPERATOR)["spec"]["values"]
    spec = build("istio_operator", OPERATOR, cni_enabled=True)["spec"]
    assert spec["components"]["cni"] == {"enabled": True, "namespace": "istio-system"}
    assert spec["values"]["pilot"] == {"cni": {"enabled": True}}
    assert spec["values"]["global"]["istioNamespace"] == "istio-system"  # the rest unchanged
    assert build("istio_operator", OPERATOR, cni_enabled=True, cni_namespace="kube-system")["spec"]["components"][
        "cni"]["namespace"] == "kube-system"
    with pytest.raises(MeshConfigError, match=r"^cni_namespace: 'istio-cni': the Istio CNI node agent goes into "
                                              r"the Istio namespace \(istio-system\) or kube-system"):
        build("istio_operator", OPERATOR, cni_enabled=True, cni_namespace="istio-cni")
    # off, the namespace is not looked at
    assert "cni" not in build("istio_operator", OPERATOR, cni_namespace="elsewhere")["spec"]["components"]


def test_tracing_telemetry_and_kiali_signing_key():
    tracing = {"provider": "otel-tracing", "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}
    mesh = build("istio_operator", OPERATOR, tracing=tracing)["spec"]["meshConfig"]
    assert mesh["extensionProviders"] == [{"name": "otel-tracing", "opentelemetry": {
        "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}}]
    assert "extensionProviders" not in build("istio_operator", OPERATOR, tracing=dict(
        tracing, provider=""))["spec"]["meshConfig"]
    (tel,) = addons.telemetry(root_namespace="istio-system", tracing_provider="otel-tracing", tracing_sampling=5)
    assert tel["spec"]["tracing"] == [{"providers": [{"name": "otel-tracing"}], "randomSamplingPercentage": 5.0}]
    assert tel["spec"]["accessLogging"] == [{"providers": [{"name": "envoy"}]}]
    with pytest.raises(MeshConfigError, match="^tracing_sampling: 120.0: give a percentage from 0 to 100"):
        addons.telemetry(root_namespace="istio-system", tracing_provider="otel-tracing", tracing_sampling=120)
    kiali = build("secrets_manifests", CREDENTIALS, namespace="istio-system")[1]
    key = base64.b64decode(kiali["data"]["signing-key"]).decode()
    again = build("secrets_manifests", CREDENTIALS, namespace="istio-system", grafana_passphrase="other")[1]
    assert len(key) == 32 and key == base64.b64decode(again["data"]["signing-key"]).decode()  # stable across runs
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "kiali"},
           "spec": {"template": {"spec": {"containers": [{"name": "kiali", "image": "quay.io/kiali/kiali"}]}}}}
    out = build("addon_manifests", ADDONS, manifests={"kiali": [dep]})
    spec = out[0]["spec"]["template"]["spec"]
    assert spec["containers"][0]["volumeMounts"][0]["mountPath"] == "/kiali-override-secrets/login-token-signing-key"
    assert spec["volumes"][0]["secret"] == {"secretName": "kiali", "items": [{"key": "signing-key",
                                                                              "path": "value.txt"}]}


def test_the_add_on_sends_spans_to_jaeger_as_the_other_methods_do():
    """The add-on's tracing provider: the settings give the same one as on istioctl and Helm, the shared mesh
    ConfigMap declares it (extensionProviders), and the addons' Telemetry in aks-istio-system turns it on."""
    from ansible_collections.aksmesh.istio.plugins.plugin_utils import _settings
    settings = _settings.derive({"install_method": "aks_addon", "revision": "asm-1-28"}, host="h", cwd="/tmp")
    tracing = settings["tracing"]
    assert tracing == _settings.derive({}, host="h", cwd="/tmp")["tracing"] == {
        "provider": "otel-tracing", "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}
    (cm,) = build("aks_addon_mesh_config", revisions=["asm-1-28"], tracing=tracing)
    assert yaml.safe_load(cm["data"]["mesh"])["extensionProviders"] == [{"name": "otel-tracing", "opentelemetry": {
        "service": "jaeger-collector.istio-system.svc.cluster.local", "port": 4317}}]
    jaeger = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "jaeger"}, "spec": {}}
    tel = build("addon_manifests", ADDONS, manifests={"jaeger": [jaeger]}, namespace=settings["addons_namespace"],
                root_namespace=settings["root_namespace"], tracing_provider=tracing["provider"])[-1]
    assert (tel["kind"], tel["metadata"]["namespace"]) == ("Telemetry", "aks-istio-system")
    assert tel["spec"]["tracing"][0]["providers"] == [{"name": "otel-tracing"}]


def test_addon_shared_mesh_config_and_no_egress_gateway():
    import yaml
    cms = build("aks_addon_mesh_config", revisions=["asm-1-27", "asm-1-28"], tracing={})
    assert [c["metadata"]["name"] for c in cms] == ["istio-shared-configmap-asm-1-27", "istio-shared-configmap-asm-1-28"]
    assert {c["metadata"]["namespace"] for c in cms} == {"aks-istio-system"}
    assert yaml.safe_load(cms[0]["data"]["mesh"])["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert "extensionProviders" not in yaml.safe_load(cms[0]["data"]["mesh"])
    with pytest.raises(MeshConfigError, match="^revisions: is empty: the shared mesh ConfigMap is per add-on revision"):
        build("aks_addon_mesh_config", revisions=[], tracing={})
    with pytest.raises(MeshConfigError, match=r"^hosts\[0\]: routes a.example through the egress gateway, but "
                                              "there is none.*aks_mesh_addon role's egress_gateways.*"
                                              "set gateway_namespace, gateway_selector and gateway_service"):
        build("egress_manifests", EGRESS, gateway_namespace="", namespaces=["shop"], hosts=[{"host": "a.example"}])
