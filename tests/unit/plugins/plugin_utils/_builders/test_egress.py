"""The egress builder through its stage filter (egress_manifests), as the mesh_egress role calls it: one port or
several per host, TLS origination at the egress gateway or the sidecar (Istio's egress TLS origination tasks),
and every refused combination named by its path in mesh_egress_hosts."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.aksmesh.istio.plugins.filter.mesh import FilterModule

EGRESS = FilterModule().filters()["egress_manifests"]
GW = {"namespaces": ["shop", "pay"], "gateway_namespace": "istio-egress",
      "gateway_selector": {"istio": "egressgateway"}, "gateway_service": "istio-egressgateway"}
GW_HOST = "istio-egressgateway.istio-egress.svc.cluster.local"
HOST = "api.example.com"


def objects(hosts, **options):
    return EGRESS(hosts, **dict(GW, **options))


def one(objs, kind, namespace, name=None):
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["namespace"] == namespace
             and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, (kind, namespace, name, [(o["kind"], o["metadata"]) for o in objs])
    return found[0]["spec"]


def refused(hosts, **options):
    with pytest.raises(AnsibleFilterError) as caught:
        objects(hosts, **options)
    return str(caught.value)


ORIGINATING = {"host": HOST, "ports": [
    {"port": 80, "protocol": "HTTP", "tls_origination": {"credential_name": "api-ca"}},
    {"port": 443, "protocol": "TLS"}]}


def test_the_single_port_shape_is_unchanged():
    objs = objects([{"host": HOST, "protocol": "HTTP", "port": 8080}])
    assert one(objs, "ServiceEntry", "shop")["ports"] == [{"number": 8080, "name": "http-8080", "protocol": "HTTP"}]
    assert one(objs, "Gateway", "istio-egress")["servers"] == [{
        "port": {"number": 80, "name": "http-api-example-com", "protocol": "HTTP"}, "hosts": [HOST]}]
    # the sidecar's leg in the client namespace, the gateway's in the egress gateway's, each exported there alone
    assert one(objs, "VirtualService", "pay") == {
        "hosts": [HOST], "gateways": ["mesh"], "exportTo": ["."], "http": [
            {"match": [{"gateways": ["mesh"], "port": 8080}], "route": [
                {"destination": {"host": GW_HOST, "subset": "api-example-com", "port": {"number": 80}}}]}]}
    assert one(objs, "VirtualService", "istio-egress") == {
        "hosts": [HOST], "gateways": ["istio-egress/egress-api-example-com"], "exportTo": ["."], "http": [
            {"match": [{"gateways": ["istio-egress/egress-api-example-com"], "port": 80}], "route": [
                {"destination": {"host": HOST, "port": {"number": 8080}}, "weight": 100}]}]}
    assert not [o for o in objs if o["metadata"]["name"].startswith("originate-tls")]
    tls = objects([{"host": HOST}])
    assert one(tls, "ServiceEntry", "istio-egress")["ports"] == [{"number": 443, "name": "tls-443", "protocol": "TLS"}]
    assert one(tls, "VirtualService", "shop")["tls"] == [
        {"match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [HOST]}], "route": [
            {"destination": {"host": GW_HOST, "subset": "api-example-com", "port": {"number": 443}}}]}]
    assert one(tls, "VirtualService", "istio-egress")["tls"] == [
        {"match": [{"gateways": ["istio-egress/egress-api-example-com"], "port": 443, "sniHosts": [HOST]}],
         "route": [{"destination": {"host": HOST, "port": {"number": 443}}, "weight": 100}]}]


def test_tls_origination_at_the_egress_gateway():
    """Istio's "egress gateways with TLS origination": HTTP from the sidecar to the gateway's port 80, TLS from the
    gateway to the host's 443 through a subset whose portLevelSettings originate it; 443 stays a passthrough."""
    objs = objects([ORIGINATING])
    for ns in ("shop", "pay", "istio-egress"):  # both ports, the TLS origination's target as HTTPS
        assert one(objs, "ServiceEntry", ns)["ports"] == [
            {"number": 80, "name": "http-80", "protocol": "HTTP"},
            {"number": 443, "name": "https-443", "protocol": "HTTPS"}]
    servers = one(objs, "Gateway", "istio-egress", "egress-api-example-com")["servers"]
    assert [(s["port"]["number"], s["port"]["protocol"], s.get("tls")) for s in servers] == [
        (80, "HTTP", None), (443, "TLS", {"mode": "PASSTHROUGH"})]
    # the rule that originates TLS is the egress gateway's, beside the Secret it names
    rule = one(objs, "DestinationRule", "istio-egress", "originate-tls-api-example-com")
    assert rule == {"host": HOST, "exportTo": ["."], "subsets": [{"name": "tls-origination-80", "trafficPolicy": {
        "portLevelSettings": [{"port": {"number": 443}, "tls": {
            "mode": "SIMPLE", "sni": HOST, "credentialName": "api-ca"}}]}}]}
    assert not [o for o in objs if o["metadata"]["name"].startswith("originate-tls")
                and o["metadata"]["namespace"] != "istio-egress"]
    # the gateway's leg, once: port 80 on to the host's 443 through the subset that originates TLS; the
    # application's own TLS on 443 on to the host's 443, no subset, no origination
    vs = one(objs, "VirtualService", "istio-egress", "egress-api-example-com")
    assert vs["gateways"] == ["istio-egress/egress-api-example-com"] and vs["exportTo"] == ["."]
    assert vs["http"] == [{"match": [{"gateways": ["istio-egress/egress-api-example-com"], "port": 80}],
                           "route": [{"destination": {"host": HOST, "port": {"number": 443},
                                                      "subset": "tls-origination-80"}, "weight": 100}]}]
    assert vs["tls"] == [{"match": [{"gateways": ["istio-egress/egress-api-example-com"], "port": 443,
                                     "sniHosts": [HOST]}],
                          "route": [{"destination": {"host": HOST, "port": {"number": 443}}, "weight": 100}]}]
    assert not [o for o in objs if o["kind"] == "DestinationRule" and o["metadata"]["namespace"] == "istio-egress"
                and o["spec"]["host"] == GW_HOST]
    for ns in ("shop", "pay"):  # the sidecar's leg: both ports to the egress gateway, plain HTTP to its 80
        vs = one(objs, "VirtualService", ns, "egress-api-example-com")
        assert vs["gateways"] == ["mesh"] and vs["exportTo"] == ["."]
        assert [r["route"] for r in vs["http"] + vs["tls"]] == [
            [{"destination": {"host": GW_HOST, "subset": "api-example-com", "port": {"number": n}}}]
            for n in (80, 443)]
        rule = one(objs, "DestinationRule", ns, "egressgateway-api-example-com")
        assert rule == {"host": GW_HOST, "exportTo": ["."], "subsets": [{"name": "api-example-com"}]}


def test_one_virtual_service_per_host_on_the_egress_gateway():
    """Two client namespaces used to give two VirtualServices bound to the egress gateway for one host (IST0109):
    the gateway's leg is now one, in its namespace; the collection's lint of the whole batch finds nothing."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._istio import mesh_lint
    objs = objects([{"host": HOST}, {"host": "status.example.com", "protocol": "HTTP"},
                    dict(ORIGINATING, host="cnn.example.com")])
    bound = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs if o["kind"] == "VirtualService"
             and o["spec"]["gateways"] != ["mesh"]]
    assert bound == [("istio-egress", "egress-api-example-com"), ("istio-egress", "egress-status-example-com"),
                     ("istio-egress", "egress-cnn-example-com")]
    found = [m for m in mesh_lint.lint(objs) if m["code"] in ("AKM0008", "AKM0009")]
    assert found == [], found


def test_the_egress_gateway_namespace_as_a_client_namespace_gets_both_legs_in_one():
    objs = objects([ORIGINATING], namespaces=["shop", "istio-egress", "shop"])
    assert sorted((o["kind"], o["metadata"]["namespace"]) for o in objs) == [
        ("DestinationRule", "istio-egress"), ("DestinationRule", "istio-egress"), ("DestinationRule", "shop"),
        ("Gateway", "istio-egress"), ("ServiceEntry", "istio-egress"), ("ServiceEntry", "shop"),
        ("VirtualService", "istio-egress"), ("VirtualService", "shop")]
    vs = one(objs, "VirtualService", "istio-egress")
    assert vs["gateways"] == ["mesh", "istio-egress/egress-api-example-com"] and vs["exportTo"] == ["."]
    assert [r["match"][0]["gateways"] for r in vs["http"] + vs["tls"]] == [
        ["mesh"], ["istio-egress/egress-api-example-com"]] * 2
    mesh_leg = [r for r in vs["http"] if r["match"][0]["gateways"] == ["mesh"]]
    assert one(objs, "VirtualService", "shop")["http"] == mesh_leg


def test_mutual_tls_origination_and_the_target_port_added_when_not_listed():
    objs = objects([{"host": HOST, "protocol": "HTTP", "port": 80, "tls_origination": {
        "mode": "mutual", "port": 8443, "sni": "tls.example.com", "credential_name": "client-credential"}}])
    assert one(objs, "ServiceEntry", "shop")["ports"] == [
        {"number": 80, "name": "http-80", "protocol": "HTTP"}, {"number": 8443, "name": "https-8443",
                                                                "protocol": "HTTPS"}]
    (subset,) = one(objs, "DestinationRule", "istio-egress", "originate-tls-api-example-com")["subsets"]
    assert subset["trafficPolicy"]["portLevelSettings"] == [{"port": {"number": 8443}, "tls": {
        "mode": "MUTUAL", "sni": "tls.example.com", "credentialName": "client-credential"}}]
    assert [s["port"]["number"] for s in one(objs, "Gateway", "istio-egress")["servers"]] == [80]


def test_tls_origination_at_the_sidecar():
    """Istio's "egress TLS origination": no egress gateway; the sidecar's route sends port 80 to 443 through the
    subset that originates TLS, in each client namespace; another HTTP port keeps its own route."""
    objs = objects([{"host": HOST, "via_egress_gateway": False, "ports": [
        {"port": 80, "protocol": "HTTP", "tls_origination": True}, {"port": 8080, "protocol": "HTTP"}]}],
        gateway_namespace="", gateway_selector={}, gateway_service="")
    assert sorted((o["kind"], o["metadata"]["namespace"]) for o in objs) == [
        ("DestinationRule", "pay"), ("DestinationRule", "shop"), ("ServiceEntry", "pay"), ("ServiceEntry", "shop"),
        ("VirtualService", "pay"), ("VirtualService", "shop")]
    assert one(objs, "ServiceEntry", "shop")["ports"][-1] == {"number": 443, "name": "https-443",
                                                              "protocol": "HTTPS"}
    rule = one(objs, "DestinationRule", "pay", "originate-tls-api-example-com")
    assert rule["subsets"][0]["trafficPolicy"]["portLevelSettings"][0]["tls"] == {"mode": "SIMPLE", "sni": HOST}
    vs = one(objs, "VirtualService", "shop", "egress-api-example-com")
    assert vs == {"hosts": [HOST], "exportTo": ["."], "http": [
        {"match": [{"port": 80}], "route": [{"destination": {"host": HOST, "port": {"number": 443},
                                                             "subset": "tls-origination-80"}}]},
        {"match": [{"port": 8080}], "route": [{"destination": {"host": HOST, "port": {"number": 8080}}}]}]}
    plain = objects([{"host": HOST, "via_egress_gateway": False,
                      "ports": [{"port": 80, "protocol": "HTTP"}, {"port": 443}]}])
    assert [o["kind"] for o in plain] == ["ServiceEntry", "ServiceEntry"]  # nothing to route: as before


def test_hosts_that_skip_the_egress_gateway_need_none():
    out = objects([{"host": HOST, "via_egress_gateway": False}], gateway_namespace="", gateway_selector={},
                  gateway_service="")
    assert [o["kind"] for o in out] == ["ServiceEntry", "ServiceEntry"]
    msg = refused([{"host": "a.example.com", "via_egress_gateway": False}, {"host": HOST}], gateway_namespace="",
                  gateway_selector={}, gateway_service="")
    assert msg.startswith("mesh_egress_hosts[1]: routes api.example.com through the egress gateway, but there is "
                          "none"), msg
    assert "the aks_mesh_addon role's egress_gateways" in msg and "mesh_egress_gateway_namespace" in msg


@pytest.mark.parametrize("hosts,where,says", [
    ([{"host": HOST, "port": 443, "ports": [{"port": 443}]}], "mesh_egress_hosts[0]", "gives ports and port"),
    ([{"host": HOST, "ports": []}], "mesh_egress_hosts[0].ports", "is a non-empty list"),
    ([{"host": HOST, "ports": [{"number": 443}]}], "mesh_egress_hosts[0].ports[0].number",
     "unknown key; use port, protocol, tls_origination"),
    ([{"host": HOST, "ports": [{"port": 443}, {"port": "https"}]}], "mesh_egress_hosts[0].ports[1].port",
     "expected an integer, got str 'https'"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "ftp"}]}], "mesh_egress_hosts[0].ports[0].protocol",
     "FTP; use TLS, HTTPS or HTTP"),
    ([{"host": HOST, "ports": [{"port": 443}, {"port": 443, "protocol": "HTTPS"}]}],
     "mesh_egress_hosts[0].ports[1].port", "443 is listed twice (mesh_egress_hosts[0].ports[0] too)"),
    ([{"host": HOST, "ports": [{"port": 443, "tls_origination": {}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination", "is for a port the application sends plain HTTP to"),
    ([{"host": HOST, "protocol": "HTTPS", "tls_origination": True}], "mesh_egress_hosts[0].tls_origination",
     "on port 443 it speaks HTTPS itself"),
    ([{"host": HOST, "protocol": "HTTP", "tls_origination": "yes"}], "mesh_egress_hosts[0].tls_origination",
     "is a mapping"),
    ([{"host": "a.example.com"}, {"host": HOST, "ports": [
        {"port": 80, "protocol": "HTTP", "tls_origination": {"ca": "x"}}]}],
     "mesh_egress_hosts[1].ports[0].tls_origination", "unknown ca; tls_origination takes port, mode, sni"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "HTTP", "tls_origination": {"mode": "ISTIO_MUTUAL"}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.mode", "ISTIO_MUTUAL; use SIMPLE"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "HTTP", "tls_origination": {"mode": "MUTUAL"}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.credential_name", "is missing: MUTUAL presents"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "HTTP", "tls_origination": {"port": 80}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.port", "is 80, the port the application sends plain HTTP"),
    ([{"host": HOST, "via_egress_gateway": False, "ports": [
        {"port": 80, "protocol": "HTTP", "tls_origination": {"port": 8080}}, {"port": 8080, "protocol": "HTTP"}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.port",
     "is 8080, which mesh_egress_hosts[0].ports[1] lists as HTTP"),
    ([{"host": HOST, "via_egress_gateway": False, "ports": [
        {"port": 80, "protocol": "HTTP", "tls_origination": {"credential_name": "api-ca"}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.credential_name", "a sidecar reads no credentialName"),
    ([{"host": HOST, "via_egress_gateway": False, "protocol": "HTTP", "tls_origination": {"mode": "MUTUAL"}}],
     "mesh_egress_hosts[0].tls_origination.mode", "a sidecar reads no credentialName"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "HTTP", "tls_origination": {"credential_name": "Api_CA"}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.credential_name", "'Api_CA' is not a DNS-1123 subdomain"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "HTTP", "tls_origination": {"sni": "https://x"}}]}],
     "mesh_egress_hosts[0].ports[0].tls_origination.sni", "is not a DNS name"),
    ([{"host": "*.example.com", "protocol": "HTTP", "tls_origination": True}],
     "mesh_egress_hosts[0].tls_origination", "the wildcard host *.example.com names no one server"),
    ([{"host": HOST, "ports": [{"port": 80, "protocol": "HTTP"}, {"port": 8080, "protocol": "HTTP"}]}],
     "mesh_egress_hosts[0].ports[1]", "a second HTTP port through the egress gateway"),
    ([{"host": HOST, "ports": [{"port": 443}, {"port": 80, "protocol": "HTTP"}, {"port": 8443, "protocol": "HTTPS"}]}],
     "mesh_egress_hosts[0].ports[2]", "a second TLS port through the egress gateway, which carries one TLS port per "
                                      "host (on its own port 443; mesh_egress_hosts[0].ports[0] is that one)"),
    # what "ServiceEntry ... is given twice in one batch" used to say, at the entry that repeats the host
    ([{"host": HOST, "port": 80, "protocol": "HTTP"}, {"host": HOST, "port": 443}], "mesh_egress_hosts[1].host",
     "api.example.com names the objects mesh_egress_hosts[0] names too (api-example-com)"),
    ([{"host": "a.b.example"}, {"host": "a-b.example"}], "mesh_egress_hosts[1].host", "names the objects"),
    ([{"port": 443}], "mesh_egress_hosts[0].host", "is missing"),
])
def test_bad_combinations_are_refused_by_their_path(hosts, where, says):
    msg = refused(hosts)
    assert msg.startswith(where + ": ") and says in msg, msg


def test_several_http_ports_are_fine_without_the_egress_gateway():
    objs = objects([{"host": HOST, "via_egress_gateway": False, "ports": [
        {"port": 80, "protocol": "HTTP"}, {"port": 8080, "protocol": "HTTP"}, {"port": 443}, {"port": 8443}]}])
    assert [p["number"] for p in one(objs, "ServiceEntry", "shop")["ports"]] == [80, 8080, 443, 8443]
