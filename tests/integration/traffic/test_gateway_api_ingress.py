"""The Kubernetes Gateway API ingress (``aksmesh_ingress_api: gateway_api``), istioctl and Helm methods, on the real
stack: site.yml installs the pinned Gateway API CRDs (the gateway-api stage, from a loopback Go module proxy), an
Istio with no ingress gateway of its own (no IstioOperator component, no gateway chart release), and the gateways
stage's one ``Gateway``, which the real istiod deploys with the static IP's AKS annotations; requests through that
gateway's real Envoy reach the shop with the gateway's identity, follow an HTTPRoute's header match and weights, and
get through the authorization stage's default deny; a second run changes nothing; a migration of API either way
serves throughout and prunes the old API's objects; source ranges reach the deployed Service and the load balancer drops other
networks."""

import json

import pytest
import yaml

from tests.integration.traffic.conftest import (INGRESS, HOST, MESH_VARS, SHOP, Load, running_mesh, service,
                                                status_counts, versions)
from tests.support.ansible_runner import REPO, run_playbook
from tests.support.cluster import NODE_IP, tool_paths
from tests.support.dataplane import http_request
from tests.support.loopback import file_server

GATEWAY_API = "gateway.networking.k8s.io/v1"
ZIP_PATH = "/sigs.k8s.io/gateway-api/@v/v1.6.0.zip"
STATIC_IP = "51.124.9.10"
NEW_IP = "51.124.9.11"  # the new ingress's address while both serve (aksmesh_ingress_migration_ip)
INGRESS_NS = "istio-ingress"
ELSEWHERE = "198.19.100.1"  # a client address of this machine outside the node's network (as test_traffic's)


@pytest.fixture(scope="module", params=["istioctl", "helm"])
def gw_mesh(request, kube_cluster, tmp_path_factory, istio_chart_repo):
    tmp = tmp_path_factory.mktemp(f"mesh-gateway-api-{request.param}")
    goproxy = file_server({ZIP_PATH: tool_paths()["gateway-api-module"].read_bytes()}, tmp, name="goproxy",
                          content_type="application/zip")
    try:
        with running_mesh(kube_cluster, tmp, request.param, istio_chart_repo, ingress="gateway_api", host_vars={
                "aksmesh_ingress_api": "gateway_api", "aksmesh_gateway_api_proxy": goproxy.url,
                "aksmesh_ingress_ip": STATIC_IP}) as built:
            yield built
    finally:
        goproxy.stop()


@pytest.fixture
def shop(gw_mesh):
    yield gw_mesh
    gw_mesh.reset()


def conditions(obj):
    return {c["type"]: c["status"] for c in (obj.get("status") or {}).get("conditions") or []}


def test_the_gateway_istiod_deploys_serves_with_the_static_ip_and_its_identity(shop):
    cluster = shop.cluster
    # no ingress gateway of the install method's, no Istio Gateway: the Gateway API's objects only
    assert cluster.get("apps/v1", "Deployment", INGRESS_NS, INGRESS[shop.method][1]) is None
    assert cluster.get("networking.istio.io/v1", "Gateway", INGRESS_NS) == []
    gateway = cluster.get(GATEWAY_API, "Gateway", INGRESS_NS, "ingress")
    assert conditions(gateway)["Programmed"] == "True" and conditions(gateway)["Accepted"] == "True"
    assert gateway["status"]["addresses"] == [{"type": "IPAddress", "value": STATIC_IP}]
    route = cluster.get(GATEWAY_API, "HTTPRoute", SHOP, "web-ingress")
    parent = route["status"]["parents"][0]
    assert parent["controllerName"] == "istio.io/gateway-controller"
    assert {c["type"]: c["status"] for c in parent["conditions"]}["Accepted"] == "True"
    # the static IP reached the Service istiod deployed, as AKS reads it
    svc = cluster.get("v1", "Service", INGRESS_NS, "ingress-istio")
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == STATIC_IP
    assert shop.ingress_ip == STATIC_IP
    answers = shop.through_gateway("/hello", count=10)
    assert status_counts(answers) == {200: 10}, answers
    seen = [json.loads(body) for _s, _h, body in answers]
    assert {s["path"] for s in seen} == {"/hello"}
    # the sidecar terminated the gateway's mTLS: the identity of the gateway istiod deployed
    xfcc = seen[0]["headers"]["x-forwarded-client-cert"]
    assert f"URI=spiffe://cluster.local/ns/{INGRESS_NS}/sa/ingress-istio" in xfcc, xfcc
    # a second run of site.yml changes nothing
    again = shop.site("all")
    assert again.changed == [], [c["task"] for c in again.changed]


def test_an_httproutes_header_match_and_weights_carry_the_requests(shop):
    for version in ("v1", "v2"):
        ports = [{"name": "http", "port": 80, "targetPort": 8080}]
        spec = {"selector": {"app": "web", "version": version}, "ports": ports}
        shop.cluster.create(dict(service(f"web-{version}"), spec=spec))
    shop.site("gateways", mesh_gateways_virtual_services=[{
        "name": "web-ingress", "namespace": SHOP, "hosts": [HOST], "gateways": ["shop-gw"], "http": [
            {"match": [{"headers": {"x-canary": {"exact": "yes"}}}],
             "route": [{"destination": {"host": "web-v2", "port": {"number": 80}}}]},
            {"route": [{"destination": {"host": "web-v1", "port": {"number": 80}}, "weight": 80},
                       {"destination": {"host": "web-v2", "port": {"number": 80}}, "weight": 20}]}]}])
    shop.eventually(lambda: versions(shop.through_gateway(headers={"x-canary": "yes"}, count=5)) == {"v2": 5},
                    "the header match")
    assert versions(shop.through_gateway(headers={"x-canary": "yes"}, count=20)) == {"v2": 20}
    answers = shop.through_gateway("/split", count=200)
    counts = versions(answers)
    assert status_counts(answers) == {200: 200}
    assert 0.10 <= counts.get("v2", 0) / 200 <= 0.30, counts  # 20 % ± 10 points
    # the inventory's route again (the module's mesh as the test found it)
    shop.site("gateways")


def test_the_default_deny_lets_the_gateway_istiod_deployed_through(shop):
    shop.site("authz", mesh_authz_default_deny_namespaces=[SHOP])
    shop.eventually(lambda: status_counts(shop.from_client("web", count=20)) == {403: 20}, "the default deny")
    # the authorization stage names the deployed gateway's service account (settings_mesh.ingress)
    policy = shop.cluster.get("security.istio.io/v1", "AuthorizationPolicy", SHOP, "allow-ingress-gateway")
    assert policy["spec"]["rules"] == [{"from": [{"source": {"principals": [
        f"cluster.local/ns/{INGRESS_NS}/sa/ingress-istio"]}}]}]
    assert status_counts(shop.through_gateway("/via-gateway", count=5)) == {200: 5}


@pytest.mark.parametrize("method", ["istioctl", "helm"])
def test_a_migration_renders_both_ingresses_with_their_addresses(method, tmp_path, istio_chart_repo):
    """The render of a migration, for both methods: the install method's gateway (the IstioOperator's component or
    the gateway chart's release) with the static IP and Istio's Gateway beside the Gateway API's with the migration
    address, the DestinationRules once. The Helm method's migration on a cluster is the istioctl test's below with
    the release in place of the component (the roles' conditions are the same)."""
    out = tmp_path / "rendered"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"aks": dict(
        MESH_VARS, aksmesh_target="render", aksmesh_render_dir=str(out), aksmesh_install_method=method,
        istio_helm_repo=istio_chart_repo, aksmesh_ingress_api="gateway_api", aksmesh_ingress_ip=STATIC_IP,
        aksmesh_ingress_migration=True, aksmesh_ingress_migration_ip=NEW_IP,
        mesh_gateways_destination_rules=[{"name": "web", "namespace": SHOP, "host": "web"}])}}}))
    run = run_playbook(REPO / "site.yml", tmp_path, inventory=inventory)
    assert run.rc == 0, run.stdout[-4000:]
    objects = [doc for path in sorted(out.rglob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]
    named = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    method_gateway = named[("Service", INGRESS[method][1])]
    assert method_gateway["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == \
        STATIC_IP
    gateway = [o for o in objects if o["kind"] == "Gateway" and o["apiVersion"] == GATEWAY_API][0]
    assert gateway["spec"]["infrastructure"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": NEW_IP}
    assert ("VirtualService", "web-ingress") in named and ("HTTPRoute", "web-ingress") in named
    assert [o["kind"] for o in objects].count("DestinationRule") == 1


@pytest.mark.parametrize("gw_mesh", ["istioctl"], indirect=True)
def test_a_migration_each_way_serves_without_a_failed_request_then_prunes_the_old_ingress(shop):
    """aksmesh_ingress_migration, both ways (Gateway API to Istio's API, and back): the run that switches the API keeps
    the old ingress serving on the static IP - no request through it fails during the run - while the new one comes
    up beside it on the migration address, and afterwards both serve; the run that ends the migration, with the new
    address as aksmesh_ingress_ip, prunes the old API's objects and gateway, with no failed request through the new
    one. The network policies let both gateways in meanwhile (the authorization policies' principals of both, unit
    tested)."""
    cluster = shop.cluster
    method_service = INGRESS[shop.method][1]

    def serves(address):
        shop.eventually(lambda: Load(address).once() == 200, f"the ingress at {address}", timeout=120)

    def served_without_failure(load):
        assert len(load.answers) > 10 and load.failures() == [], load.failures()[:5]
    # Gateway API to Istio's API: the install method's gateway comes up on the migration address
    with Load(STATIC_IP) as old:
        shop.site("all", aksmesh_ingress_api="istio", aksmesh_ingress_migration=True,
                  aksmesh_ingress_migration_ip=NEW_IP)
        shop.plane.wait_ready(INGRESS_NS, timeout=120)
        serves(NEW_IP)
    served_without_failure(old)
    assert cluster.get(GATEWAY_API, "HTTPRoute", SHOP, "web-ingress")
    assert cluster.get("networking.istio.io/v1", "VirtualService", SHOP, "web-ingress")
    svc = cluster.get("v1", "Service", INGRESS_NS, method_service)
    assert svc["metadata"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == NEW_IP
    # the network policies let both gateways' pods in (the old one's under its own name)
    allowed = cluster.get("networking.k8s.io/v1", "NetworkPolicy", INGRESS_NS, "allow-ingress-migration-gateway")
    assert allowed["spec"]["podSelector"]["matchLabels"] == {"gateway.networking.k8s.io/gateway-name": "ingress"}
    assert cluster.get("networking.k8s.io/v1", "NetworkPolicy", INGRESS_NS, "allow-ingress-gateway")
    assert status_counts(shop.through_gateway(count=3)) == {200: 3}  # the old address still
    # the migration ends: the Gateway API's objects and gateway go, the new address serves throughout
    with Load(NEW_IP) as new:
        shop.site("all", aksmesh_ingress_api="istio", aksmesh_ingress_ip=NEW_IP)
    served_without_failure(new)
    assert cluster.get(GATEWAY_API, "HTTPRoute", SHOP) == [] and cluster.get(GATEWAY_API, "Gateway", INGRESS_NS) == []
    cluster.wait_for(lambda: cluster.get("v1", "Service", INGRESS_NS, "ingress-istio") is None,
                     "the Gateway API gateway's Service to go")
    # and back: Istio's API to the Gateway API, the Gateway istiod deploys on the static IP again
    with Load(NEW_IP) as old:
        shop.site("all", aksmesh_ingress_ip=NEW_IP, aksmesh_ingress_migration=True,
                  aksmesh_ingress_migration_ip=STATIC_IP)
        shop.plane.wait_ready(INGRESS_NS, timeout=120)
        serves(STATIC_IP)
    served_without_failure(old)
    with Load(STATIC_IP) as new:
        shop.site("all")
    served_without_failure(new)
    assert cluster.get("networking.istio.io/v1", "Gateway", INGRESS_NS) == []
    assert cluster.get("networking.istio.io/v1", "VirtualService", SHOP) == []
    cluster.wait_for(lambda: cluster.get("apps/v1", "Deployment", INGRESS_NS, method_service) is None,
                     "the install method's gateway to go")
    assert cluster.get(GATEWAY_API, "HTTPRoute", SHOP, "web-ingress")


@pytest.mark.parametrize("gw_mesh", ["istioctl"], indirect=True)
def test_source_ranges_reach_the_service_istiod_deploys_and_the_load_balancer_drops_other_networks(shop):
    """aksmesh_ingress_source_ranges with the Gateway API: the gateways stage writes the ConfigMap of Istio's gateway
    customization and the Gateway names it (spec.infrastructure.parametersRef); the real istiod merges its service
    overlay into the Service it deployed, and the real kube-proxy drops a client of another network at the load
    balancer address while the node (in the range) gets 200; unset, the ConfigMap is pruned, istiod takes the field
    back and the other client gets through again. On the istioctl mesh only: the Gateway is the same for Helm."""
    cluster = shop.cluster

    def from_elsewhere():  # a client address of this machine outside the node's network
        try:
            return http_request(shop.ingress_ip, 80, "/", headers={"Host": HOST}, timeout=2.0, source=ELSEWHERE)[0]
        except OSError:
            return 0  # no answer: dropped

    def ranges():
        return cluster.get("v1", "Service", INGRESS_NS, "ingress-istio")["spec"].get("loadBalancerSourceRanges")
    # before: any network gets through (after the migration test, once kube-proxy has the re-created Service's rules)
    shop.eventually(lambda: from_elsewhere() == 200, "the other network to get through the gateway", timeout=90)
    shop.site("gateways", aksmesh_ingress_source_ranges=[f"{NODE_IP}/32", "203.0.113.0/24"])
    gateway = cluster.get(GATEWAY_API, "Gateway", INGRESS_NS, "ingress")
    assert gateway["spec"]["infrastructure"]["parametersRef"] == {"group": "", "kind": "ConfigMap",
                                                                  "name": "ingress-options"}
    assert cluster.get("v1", "ConfigMap", INGRESS_NS, "ingress-options")
    shop.eventually(lambda: ranges() == [f"{NODE_IP}/32", "203.0.113.0/24"], "istiod to merge the source ranges")
    shop.eventually(lambda: from_elsewhere() == 0, "kube-proxy to drop the other network's requests")
    assert status_counts(shop.through_gateway(count=5)) == {200: 5}  # the node is in the range
    shop.site("gateways")  # unset again
    assert cluster.get("v1", "ConfigMap", INGRESS_NS, "ingress-options") is None
    assert "parametersRef" not in cluster.get(GATEWAY_API, "Gateway", INGRESS_NS, "ingress")["spec"].get(
        "infrastructure", {})
    shop.eventually(lambda: not ranges(), "istiod to take the source ranges back")
    shop.eventually(lambda: from_elsewhere() == 200, "the other network to get through the gateway again")
