"""What the collection's policies do to real traffic: requests through the ingress gateway and from a sidecar'd
client, carried by real Envoy proxies that the real istiod configures from the objects the collection's roles
applied. Each test asserts what a proxy or an application saw; each runs for the istioctl and the Helm method but
the route policies (ROUTE_POLICY)."""

import base64
import json
import ssl
import time

import pytest
import trustme

from tests.integration.traffic.conftest import HOST, INGRESS, SHOP, status_counts, versions, workload
from tests.support.cluster import NODE_IP
from tests.support.dataplane import connect_refused, http_request, https_request

TRAFFIC = "aksmesh.istio.mesh_traffic"
# The route policies (canaries, retries, mirroring, faults, header manipulation, load balancing, outlier detection)
# are the sidecars' behaviour, the same whichever method installed the control plane (one injector template): they run
# on the istioctl mesh only. What differs per method (the gateways and their identities, egress, TLS at the gateway,
# mTLS) runs on both.
ROUTE_POLICY = pytest.mark.parametrize("mesh", ["istioctl"], indirect=True)
# a client address of the worker's network namespace (198.18.0.0/15 is local there) outside the node's, pods' and
# load balancers' addresses: a client from another network
ELSEWHERE = "198.19.100.1"


def traffic(mesh, *services):
    return mesh.apply_roles([{"role": TRAFFIC, "vars": {"mesh_traffic_services": list(services)}}])


def test_ingress_gateway_reaches_the_application_with_its_identity(shop):
    answers = shop.through_gateway("/hello", count=10)
    assert status_counts(answers) == {200: 10}, answers
    seen = [json.loads(body) for _s, _h, body in answers]
    assert {s["path"] for s in seen} == {"/hello"} and {s["version"] for s in seen} <= {"v1", "v2"}
    # the sidecar terminated the gateway's mTLS: the gateway's SPIFFE identity arrives at the application
    account = {"istioctl": "istio-ingressgateway-service-account", "helm": "istio-ingress"}[shop.method]
    xfcc = seen[0]["headers"]["x-forwarded-client-cert"]
    assert f"URI=spiffe://cluster.local/ns/istio-ingress/sa/{account}" in xfcc, xfcc
    served = [r for pod in shop.pods("web-") for r in pod.requests_seen() if r["path"] == "/hello"]
    assert len(served) == 10


def test_strict_mtls_refuses_plaintext_and_names_the_caller(shop):
    web = shop.pods("web-v1")[0]
    # the harness is outside the mesh: a plaintext request to the pod is refused by its sidecar
    before = len(web.requests_seen())
    try:
        status = http_request(web.ip, 8080, "/plain", source=NODE_IP, timeout=5)[0]
    except OSError:
        status = None
    assert status is None, f"plaintext got an HTTP answer {status} under STRICT mTLS"
    assert connect_refused(web.ip, 8080, source=NODE_IP)
    assert [r for r in web.requests_seen()[before:] if r["path"] == "/plain"] == []
    # from the client's sidecar it is mTLS, with the client's identity
    answers = shop.from_client("web", "/in-mesh", count=4)
    assert status_counts(answers) == {200: 4}
    xfcc = json.loads(answers[0][2])["headers"]["x-forwarded-client-cert"]
    assert "URI=spiffe://cluster.local/ns/shop/sa/client" in xfcc, xfcc


@ROUTE_POLICY
def test_weighted_canary_splits_as_asked(shop):
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"], "canary": {"weights": {"v1": 90,
                                                                                                     "v2": 10}}})
    shop.eventually(lambda: versions(shop.from_client("web", count=20)).get("v1", 0) >= 15, "the canary route")
    answers = shop.from_client("web", "/split", count=300)
    counts = versions(answers)
    assert status_counts(answers) == {200: 300}
    assert 0.05 <= counts.get("v2", 0) / 300 <= 0.15, counts  # 10 % ± 5 points


@ROUTE_POLICY
def test_header_and_cookie_canaries_route_only_the_matched_requests(shop):
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"],
                   "canary": {"header": {"name": "x-canary", "exact": "yes"}, "subset": "v2"}})
    shop.eventually(lambda: versions(shop.from_client("web", headers={"x-canary": "yes"}, count=5)) == {"v2": 5},
                    "the header canary")
    assert versions(shop.from_client("web", count=20)) == {"v1": 20}
    assert versions(shop.from_client("web", headers={"x-canary": "yes"}, count=20)) == {"v2": 20}
    assert versions(shop.from_client("web", headers={"x-canary": "no"}, count=10)) == {"v1": 10}
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"],
                   "canary": {"cookie": {"name": "canary", "value": "on"}, "subset": "v2"}})
    shop.eventually(lambda: versions(shop.from_client("web", headers={"Cookie": "a=b; canary=on"}, count=5))
                    == {"v2": 5}, "the cookie canary")
    assert versions(shop.from_client("web", headers={"Cookie": "canary=off"}, count=20)) == {"v1": 20}
    # the canary is the mesh's route (gateways: mesh): the ingress gateway follows its own VirtualService, which
    # sends to the whole Service, cookie or not
    assert set(versions(shop.through_gateway(headers={"Cookie": "canary=on"}, count=20))) == {"v1", "v2"}


@ROUTE_POLICY
def test_retries_are_seen_by_the_backend(shop):
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1"], "canary": {"weights": {"v1": 100}},
                   "retries": {"attempts": 3, "per_try_timeout": "2s", "retry_on": "5xx"}})
    shop.eventually(lambda: versions(shop.from_client("web", count=5)) == {"v1": 5}, "the v1-only route")
    web = shop.pods("web-v1")[0]
    before = len(web.requests_seen())
    answers = shop.from_client("web", "/status/503", count=1)
    assert answers[0][0] == 503
    tries = [r for r in web.requests_seen()[before:] if r["path"] == "/status/503"]
    assert len(tries) == 4, tries  # the first try and three retries
    assert all(r["headers"].get("x-envoy-attempt-count") for r in tries)
    assert [int(r["headers"]["x-envoy-attempt-count"]) for r in tries] == [1, 2, 3, 4]


@ROUTE_POLICY
def test_mirroring_copies_requests_to_the_mirror(shop):
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"], "canary": {"weights": {"v1": 100}},
                   "mirror": {"subset": "v2", "percentage": 100}})
    shop.eventually(lambda: versions(shop.from_client("web", count=5)) == {"v1": 5}, "the v1-only route")
    v2 = shop.pods("web-v2")[0]
    before = len(v2.requests_seen())
    answers = shop.from_client("web", "/mirrored", count=10)
    assert versions(answers) == {"v1": 10}  # every answer from v1 ...
    copies = shop.eventually(lambda: [r for r in v2.requests_seen()[before:] if r["path"] == "/mirrored"]
                             if len([r for r in v2.requests_seen()[before:] if r["path"] == "/mirrored"]) == 10
                             else None, "the ten mirrored copies at v2")
    assert {r["method"] for r in copies} == {"GET"}  # ... and a copy of each at v2


@ROUTE_POLICY
def test_fault_injection_aborts_and_delays(shop):
    """Service-wide faults (``fault`` of a mesh_traffic service applies to every route of the service; a fault
    for one matched route only is issue 24's per-route policy)."""
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1"], "canary": {"weights": {"v1": 100}},
                   "fault": {"abort": {"http_status": 418, "percentage": 100}}})
    shop.eventually(lambda: status_counts(shop.from_client("web", count=3)) == {418: 3}, "the abort fault")
    web = shop.pods("web-v1")[0]
    before = len(web.requests_seen())
    answers = shop.from_client("web", "/faulted", count=10)
    assert status_counts(answers) == {418: 10}
    assert [r for r in web.requests_seen()[before:] if r["path"] == "/faulted"] == []  # never reached the app
    assert "fault filter abort" in answers[0][2]
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1"], "canary": {"weights": {"v1": 100}},
                   "fault": {"delay": {"fixed": "1s", "percentage": 100}}})
    shop.eventually(lambda: status_counts(shop.from_client("web", count=1)) == {200: 1}, "the delay fault")

    def timed():
        started = time.monotonic()
        status = shop.from_client("web", "/delayed")[0][0]
        return status, time.monotonic() - started
    for status, elapsed in [timed() for _attempt in range(3)]:
        assert status == 200 and 1.0 <= elapsed < 5.0, (status, elapsed)  # delayed by the client's proxy
    assert len([r for r in web.requests_seen() if r["path"] == "/delayed"]) == 3  # then delivered


@ROUTE_POLICY
def test_a_fault_on_the_canary_route_hits_only_the_matched_requests(shop):
    """Istio's fault injection task: an abort for one user's requests only; everyone else is untouched."""
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"],
                   "canary": {"header": {"name": "end-user", "exact": "jason"}, "subset": "v2",
                              "fault": {"abort": {"http_status": 418, "percentage": 100}}}})
    jason = {"end-user": "jason"}
    shop.eventually(lambda: status_counts(shop.from_client("web", headers=jason, count=3)) == {418: 3},
                    "the fault on the matched route")
    v2 = shop.pods("web-v2")[0]
    before = len(v2.requests_seen())
    assert status_counts(shop.from_client("web", "/jason", headers=jason, count=10)) == {418: 10}
    assert [r for r in v2.requests_seen()[before:] if r["path"] == "/jason"] == []  # aborted before v2
    others = shop.from_client("web", "/others", headers={"end-user": "alice"}, count=10)
    assert status_counts(others) == {200: 10} and versions(others) == {"v1": 10}  # the default route, no fault


@ROUTE_POLICY
def test_a_header_matched_group_is_split_by_weights_everyone_else_on_v1(shop):
    """A canary for a header group split 50/50 between v1 and v2 (a match with weights), everyone else on v1."""
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"],
                   "canary": {"header": {"name": "x-beta", "exact": "yes"}, "weights": {"v1": 50, "v2": 50}}})
    beta = {"x-beta": "yes"}
    # the default route (v1 only) shows the VirtualService is in force: before it, the Service spreads over both
    shop.eventually(lambda: versions(shop.from_client("web", count=20)) == {"v1": 20}, "the default route")
    answers = shop.from_client("web", "/beta", headers=beta, count=200)
    assert status_counts(answers) == {200: 200}
    counts = versions(answers)
    assert 0.35 <= counts.get("v2", 0) / 200 <= 0.65, counts  # 50 % ± 15 points (the sd of 200 draws is 3.5)
    assert versions(shop.from_client("web", "/others", count=40)) == {"v1": 40}
    assert versions(shop.from_client("web", "/not-beta", headers={"x-beta": "no"}, count=20)) == {"v1": 20}


@ROUTE_POLICY
def test_ordered_routes_carry_their_own_header_manipulation(shop):
    """routes: jason's requests to v2 with a request header added for the application; everyone else to v1,
    whose answers get a response header; each route's headers reach only its own requests."""
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"], "routes": [
        {"match": {"header": {"name": "end-user", "exact": "jason"}}, "subset": "v2",
         "headers": {"request": {"set": {"x-route": "jason"}}}},
        {"subset": "v1", "headers": {"response": {"set": {"x-served-by": "default-route"}}}}]})
    jason = {"end-user": "jason"}
    shop.eventually(lambda: versions(shop.from_client("web", headers=jason, count=5)) == {"v2": 5}, "jason's route")
    answers = shop.from_client("web", "/jason", headers=jason, count=5)
    assert versions(answers) == {"v2": 5}
    assert {json.loads(body)["headers"].get("x-route") for _s, _h, body in answers} == {"jason"}
    assert all("x-served-by" not in headers for _s, headers, _b in answers)
    others = shop.from_client("web", "/others", headers={"end-user": "alice"}, count=10)
    assert versions(others) == {"v1": 10}
    assert {headers.get("x-served-by") for _s, headers, _b in others} == {"default-route"}
    assert all("x-route" not in json.loads(body)["headers"] for _s, _h, body in others)


@ROUTE_POLICY
def test_a_destination_rule_alone_pins_nothing_and_its_policy_applies(shop):
    """Subsets and a policy without routing intent: the DestinationRule alone. A VirtualService the role applied
    before is pruned, traffic reaches both versions again, and the rule's consistent hash keeps each user on one."""
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"], "default_subset": "v1"})
    shop.eventually(lambda: versions(shop.from_client("web", count=20)) == {"v1": 20}, "the route pinned to v1")
    traffic(shop, {"name": "web", "namespace": SHOP, "subsets": ["v1", "v2"],
                   "load_balancer": {"consistent_hash": {"header": "x-user"}}})
    assert shop.cluster.get("networking.istio.io/v1", "VirtualService", SHOP, "web") is None
    rule = shop.cluster.get("networking.istio.io/v1", "DestinationRule", SHOP, "web")
    assert rule["spec"]["trafficPolicy"]["loadBalancer"] == {"consistentHash": {"httpHeaderName": "x-user"}}
    assert [s["name"] for s in rule["spec"]["subsets"]] == ["v1", "v2"]

    def per_user():
        seen = {}
        for user in range(20):
            seen[user] = versions(shop.from_client("web", "/sticky", headers={"x-user": f"u{user}"}, count=5))
        return seen if set().union(*seen.values()) == {"v1", "v2"} and all(len(v) == 1 for v in seen.values()) \
            else None
    seen = shop.eventually(per_user, "both versions reached, each user on one")
    assert sum(sum(v.values()) for v in seen.values()) == 100, seen


@ROUTE_POLICY
def test_outlier_detection_ejects_the_failing_backend(shop):
    shop.cluster.create(workload("web", "bad", annotations={"aksmesh.test/echo-status": "503"},
                                 service_account="web"))
    bad = shop.plane.wait_proxy_ready(shop.plane.pod(SHOP, "web-bad", timeout=60))
    shop.cluster.wait_for(bad.apps_listening, "the failing backend to listen")
    shop.eventually(lambda: status_counts(shop.from_client("web", count=30)).get(503), "the failing backend in the "
                    "Service's endpoints")
    traffic(shop, {"name": "web", "namespace": SHOP, "circuit_breaker": {
        "consecutive_5xx_errors": 1, "interval": "1s", "base_ejection_time": "60s", "max_ejection_percent": 100}})

    # after the failing pod answered 503 once, it is ejected: the next requests all succeed
    def all_succeed():
        answers = shop.from_client("web", "/after", count=30)
        return answers if status_counts(answers) == {200: 30} else None
    answers = shop.eventually(all_succeed, "the failing backend to be ejected", timeout=30)
    assert status_counts(answers) == {200: 30}
    assert {json.loads(body)["version"] for _s, _h, body in answers} <= {"v1", "v2"}


def test_default_deny_answers_403_while_allowed_callers_and_the_gateway_get_through(shop):
    shop.site("authz", mesh_authz_default_deny_namespaces=[SHOP])
    # every web pod's proxy holds the deny (v1 and v2 get their configuration apart): twenty requests reach both
    shop.eventually(lambda: status_counts(shop.from_client("web", count=20)) == {403: 20}, "the default deny")
    answers = shop.from_client("web", "/denied", count=5)
    assert status_counts(answers) == {403: 5} and "RBAC: access denied" in answers[0][2]
    # the ingress gateway is let in to the namespace its routes point to
    assert status_counts(shop.through_gateway("/via-gateway", count=5)) == {200: 5}
    shop.site("authz", mesh_authz_default_deny_namespaces=[SHOP], mesh_authz_policies=[
        {"name": "web-from-client", "namespace": SHOP, "selector": {"app": "web"},
         "rules": [{"from": {"principals": [f"{SHOP}/client"]}, "to": {"methods": ["GET"], "paths": ["/api/*"]}}]}])
    shop.eventually(lambda: status_counts(shop.from_client("web", "/api/x", count=3)) == {200: 3}, "the allow rule")
    assert status_counts(shop.from_client("web", "/other", count=3)) == {403: 3}  # only what the rule allows
    assert status_counts(shop.from_client("web", "/api/x", method="POST", count=2)) == {403: 2}


def test_registry_only_blocks_unknown_hosts_and_egress_goes_where_the_collection_says(shop):
    direct = shop.plane.external("api.direct.test")
    via = shop.plane.external("api.via-gateway.test")
    client = shop.client()
    # REGISTRY_ONLY: a host no ServiceEntry names gets 502 from the client's own sidecar, and nothing arrives
    answers = shop.from_client("api.direct.test", "/blocked", address=direct.address, count=3)
    assert status_counts(answers) == {502: 3}, answers
    assert direct.requests_seen() == []
    # two client namespaces: one VirtualService per host on the egress gateway, so the analysis site.yml runs after
    # the stage (istioctl analyze and mesh_lint of the live mesh, failing on Error) finds no IST0109 / AKM0008
    shop.cluster.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "payments"}})
    run = shop.site("egress", mesh_egress_namespaces=[SHOP, "payments"], mesh_egress_hosts=[
        {"host": "api.direct.test", "protocol": "HTTP", "port": 80, "via_egress_gateway": False},
        {"host": "api.via-gateway.test", "protocol": "HTTP", "port": 80}])
    assert "IST0109" not in run.stdout and "AKM0008" not in run.stdout, run.stdout[-4000:]
    # a ServiceEntry opens a host: straight from the client's sidecar (the host sees the client pod's address)
    shop.eventually(lambda: status_counts(shop.from_client("api.direct.test", "/open", address=direct.address))
                    == {200: 1}, "the ServiceEntry to open api.direct.test")
    opened = [r for r in direct.requests_seen() if r["path"] == "/open"]
    assert opened and {r["peer"] for r in opened} == {client.ip}
    # through the egress gateway: the host sees the egress gateway's address, never the client's
    shop.eventually(lambda: status_counts(shop.from_client("api.via-gateway.test", "/via", address=via.address))
                    == {200: 1}, "the route through the egress gateway")
    egress = {r.ip for r in shop.plane.runtimes("istio-egress")}
    seen = [r for r in via.requests_seen() if r["path"] == "/via"]
    assert seen and {r["peer"] for r in seen} <= egress, (seen, egress)
    # still closed: a host no ServiceEntry names, on the same address
    assert status_counts(shop.from_client("other.test", "/still-blocked", address=direct.address)) == {502: 1}
    assert not [r for r in direct.requests_seen() if r["path"] == "/still-blocked"]


def test_tls_origination_at_the_egress_gateway_reaches_the_https_host(shop, tmp_path):
    """Istio's "egress gateways with TLS origination" task: the application sends plain HTTP to the host's port 80;
    the egress gateway opens TLS to its port 443 with the host's name as SNI, verifying the host's certificate
    against the CA of the Secret the host's tls_origination names; the answer comes back to the client. Port 443
    stays a passthrough: an application that speaks TLS itself reaches the host with its own handshake."""
    host = "api.tls-origination.test"
    ca = trustme.CA(organization_name="external test CA")
    leaf = ca.issue_cert(host)
    https = shop.plane.external(host, 443, tls={"cert": b"".join(p.bytes() for p in leaf.cert_chain_pems),
                                                "key": leaf.private_key_pem.bytes()})
    egress_ns = "istio-egress"

    def ca_secret(authority):
        return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": "api-tls-ca", "namespace": egress_ns},
                "data": {"ca.crt": base64.b64encode(authority.cert_pem.bytes()).decode()}}
    shop.cluster.create(ca_secret(ca))
    shop.site("egress", mesh_egress_namespaces=[SHOP], mesh_egress_hosts=[
        {"host": host, "ports": [{"port": 80, "protocol": "HTTP", "tls_origination": {"credential_name": "api-tls-ca"}},
                                 {"port": 443, "protocol": "TLS"}]}])

    def originated(path):
        def probe():
            answer = shop.from_client(host, path, address=https.address)[0]
            return answer if answer[0] == 200 else None
        return probe
    status, _headers, body = shop.eventually(originated("/originated"), "TLS origination at the egress gateway")
    answer = json.loads(body)
    assert answer["path"] == "/originated" and answer["port"] == 443
    assert answer["tls"]["sni"] == host and answer["tls"]["version"].startswith("TLSv1."), answer
    egress = {r.ip for r in shop.plane.runtimes(egress_ns)}
    seen = [r for r in https.requests_seen() if r["path"] == "/originated"]
    # every request arrived over TLS for the host's name, from the egress gateway (never from the client pod)
    assert seen and all(r["tls"]["sni"] == host for r in seen), seen
    assert {r["peer"] for r in seen} <= egress, (seen, egress)

    # the application's own TLS to port 443 passes through the egress gateway untouched (no second TLS layer)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))

    def own_tls():
        try:
            return shop.client().net.run_in(lambda: https_request(https.address, 443, host, "/own-tls",
                                                                  cafile=str(cafile)))
        except (OSError, ssl.SSLError):
            return None
    status, _headers, body, san = shop.eventually(own_tls, "the application's TLS through the egress gateway")
    assert status == 200 and ("DNS", host) in san and json.loads(body)["tls"]["sni"] == host
    passed = [r for r in https.requests_seen() if r["path"] == "/own-tls"]
    assert passed and {r["peer"] for r in passed} <= egress, passed

    # the gateway verifies the host: with another CA in the Secret, the handshake fails and nothing arrives
    shop.cluster.apply(ca_secret(trustme.CA(organization_name="another CA")))
    # (requests sent before the new CA reaches the gateway still arrive: istiod pushes it within a second or two)
    shop.eventually(lambda: shop.from_client(host, "/new-ca", address=https.address)[0][0] == 503,
                    "the egress gateway to refuse the host's certificate")
    assert status_counts(shop.from_client(host, "/untrusted", address=https.address, count=3)) == {503: 3}
    assert not [r for r in https.requests_seen() if r["path"] == "/untrusted"]


def test_gateway_tls_terminates_with_the_named_secret_and_redirects_http(shop, tmp_path):
    """HTTPS through the ingress gateway with the TLS Secret a Gateway server names (here made by the test from a
    CA of its own and listed in mesh_certs_existing_secrets; cert-manager cannot issue it here: its controller's
    module is not on the Go module proxy). The client verifies the gateway's certificate against that CA."""
    ca = trustme.CA(organization_name="shop test CA")
    leaf = ca.issue_cert(HOST)
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    gateway_ns = INGRESS[shop.method][0]
    shop.cluster.create({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                         "metadata": {"name": "shop-tls", "namespace": gateway_ns},
                         "data": {"tls.crt": base64.b64encode(b"".join(p.bytes() for p in leaf.cert_chain_pems))
                                  .decode(), "tls.key": base64.b64encode(leaf.private_key_pem.bytes()).decode()}})
    https_gateway = [{"name": "shop-gw", "hosts": [HOST], "https": {"credential_name": "shop-tls"}}]
    try:
        shop.site("gateways", mesh_gateways_gateways=https_gateway, mesh_certs_existing_secrets=["shop-tls"])

        def https():
            try:
                return https_request(shop.ingress_ip, 443, HOST, "/secure", cafile=str(cafile), source=NODE_IP)
            except (OSError, ssl.SSLError):
                return None
        status, _headers, body, san = shop.eventually(https, "HTTPS through the gateway")
        assert status == 200 and json.loads(body)["path"] == "/secure"
        assert ("DNS", HOST) in san  # the Secret's certificate, verified against the test's CA

        # plain HTTP on the same gateway now redirects to HTTPS (https_redirect defaults to true)
        def redirected():
            answer = http_request(shop.ingress_ip, 80, "/plain", headers={"Host": HOST}, source=NODE_IP)
            return answer if answer[0] == 301 else None
        status, headers, _body = shop.eventually(redirected, "the redirect")
        assert headers["location"] == f"https://{HOST}/plain"
        # a client that does not trust that CA refuses the gateway's certificate
        try:
            https_request(shop.ingress_ip, 443, HOST, "/untrusted", cafile=None, source=NODE_IP)
            refused = False
        except ssl.SSLCertVerificationError:
            refused = True
        assert refused
    finally:
        shop.site("gateways")  # the module's HTTP gateway again
        shop.eventually(lambda: shop.through_gateway()[0][0] == 200, "the HTTP route again")


@pytest.mark.parametrize("mesh", ["istioctl"], indirect=True)
def test_ingress_source_ranges_let_in_only_the_listed_networks_then_go_when_unset(shop):
    """aksmesh_ingress_source_ranges becomes the ingress Service's loadBalancerSourceRanges, and the real kube-proxy
    drops what other networks send to the gateway's load balancer address: the node (in the range) gets 200 through
    the gateway, a client from another network gets no answer at the same address; unset, the field is gone and
    every client gets through again. On the istioctl mesh only: the Helm method hands the same field to the gateway
    chart (service.loadBalancerSourceRanges, tests/unit/plugins/plugin_utils/_builders), and one method keeps the
    time."""
    namespace, name = INGRESS[shop.method]

    def from_elsewhere():  # a client address of this machine outside the node's network
        try:
            return http_request(shop.ingress_ip, 80, "/", headers={"Host": HOST}, timeout=2.0, source=ELSEWHERE)[0]
        except OSError:
            return 0  # no answer: dropped
    assert from_elsewhere() == 200
    shop.site("install", aksmesh_ingress_source_ranges=[f"{NODE_IP}/32", "203.0.113.0/24"])
    spec = shop.cluster.get("v1", "Service", namespace, name)["spec"]
    assert spec["loadBalancerSourceRanges"] == [f"{NODE_IP}/32", "203.0.113.0/24"], spec
    shop.eventually(lambda: from_elsewhere() == 0, "kube-proxy to drop the other network's requests")
    assert status_counts(shop.through_gateway(count=5)) == {200: 5}  # the node is in the range
    shop.site("install")  # unset again: istioctl takes the field back
    assert "loadBalancerSourceRanges" not in shop.cluster.get("v1", "Service", namespace, name)["spec"]
    shop.eventually(lambda: from_elsewhere() == 200, "the other network to get through the gateway again")
