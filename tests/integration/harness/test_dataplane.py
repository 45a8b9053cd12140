"""The harness's data plane itself: application stand-ins in pod namespaces, kube-proxy's Service addresses, and
real Envoy proxies bootstrapped by the pinned pilot-agent from the real istiod (certificates over SDS, config over
xDS), with traffic through them. The collection's policies are tested on this in tests/integration/traffic."""

import http.client
import json
import ssl

import pytest
import trustme

from tests.support import cluster as cluster_mod
from tests.support.cluster import NODE_IP
from tests.support.dataplane import connect_refused, http_request, https_request


def app(namespace, name, version="v1", replicas=1, port=8080, annotations=None):
    labels = {"app": name, "version": version}
    meta = {"name": f"{name}-{version}", "namespace": namespace}
    return [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
             "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
                 "metadata": {"labels": labels, "annotations": annotations or {}},
                 "spec": {"containers": [{"name": name, "image": f"example.test/{name}:{version}",
                                          "ports": [{"containerPort": port}]}]}}}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
             "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": port}]}}]


def create_all(kube_api, objs):
    for obj in objs:
        kube_api.create(obj)


def test_stand_ins_answer_on_pod_and_cluster_ips(kube_api, dataplane):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "plain"}})
    create_all(kube_api, app("plain", "web", replicas=2))
    runtimes = dataplane.wait_ready("plain")
    assert len(runtimes) == 2 and all(r.proxy is None for r in runtimes)
    svc = kube_api.get("v1", "Service", "plain", "web")
    seen = set()

    def both():  # kube-proxy spreads a ClusterIP's connections over both endpoints, once both are in its rules
        status, _headers, body = http_request(svc["spec"]["clusterIP"], 80, "/hello", source=NODE_IP)
        assert status == 200
        seen.add(json.loads(body)["pod"])
        return seen == {r.name for r in runtimes}
    kube_api.wait_for(both, "answers from both pods through the ClusterIP", timeout=30, interval=0.05)
    one = runtimes[0]
    status, _headers, body = http_request(one.ip, 8080, "/status/418", source=NODE_IP)
    assert status == 418 and json.loads(body)["path"] == "/status/418"
    assert any(r["path"] == "/status/418" for r in one.requests_seen())
    assert one.ip not in [r.ip for r in runtimes[1:]]


def test_an_https_external_stand_in_logs_each_handshake(dataplane, tmp_path):
    """The external HTTPS service the TLS origination tests reach: found by name through CoreDNS, it serves the
    certificate it was given, logs the server name each client asked for, and takes no plain HTTP."""
    ca = trustme.CA(organization_name="harness CA")
    leaf = ca.issue_cert("secure.external.test")
    ext = dataplane.external("secure.external.test", 443, tls={
        "cert": b"".join(p.bytes() for p in leaf.cert_chain_pems), "key": leaf.private_key_pem.bytes()})
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    for path in ("/one", "/two"):
        status, _headers, body, san = https_request(ext.address, 443, "secure.external.test", path,
                                                    cafile=str(cafile), source=NODE_IP)
        assert status == 200 and ("DNS", "secure.external.test") in san
        assert json.loads(body)["tls"]["sni"] == "secure.external.test"
    seen = ext.requests_seen()
    assert [r["path"] for r in seen] == ["/one", "/two"]
    assert all(r["tls"]["sni"] == "secure.external.test" and r["tls"]["version"].startswith("TLSv1.") for r in seen)
    with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust the CA refuses it
        https_request(ext.address, 443, "secure.external.test", "/untrusted", source=NODE_IP)
    with pytest.raises((OSError, http.client.HTTPException)):  # plain HTTP on the TLS port gets no answer
        http_request(ext.address, 443, "/plain", source=NODE_IP, timeout=5)
    assert [r["path"] for r in ext.requests_seen()] == ["/one", "/two"]


def test_a_pod_that_goes_takes_its_namespace_and_processes(kube_api, dataplane):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    create_all(kube_api, app("gone", "web"))
    runtime = dataplane.wait_ready("gone")[0]
    assert http_request(runtime.ip, 8080, "/", source=NODE_IP)[0] == 200
    kube_api.delete("apps/v1", "Deployment", "gone", "web-v1")
    kube_api.wait_for(lambda: not dataplane.runtimes("gone"), "the pod's runtime to stop")
    # as a kubelet would, its processes get a grace period (the proxy drains), then end with its namespace
    kube_api.wait_for(lambda: all(p.poll() is not None for p in runtime.procs), "the pod's processes to end",
                      timeout=30)
    kube_api.wait_for(lambda: not cluster_mod.has_external_route() and runtime.net._holder.poll() is not None,
                      "the pod's network namespace to go", timeout=30)


def test_a_running_pods_configmap_and_secret_volumes_follow_their_objects(kube_api, dataplane):
    """As a kubelet does: a running pod's ConfigMap and Secret volumes (whole or projected) are rewritten when their
    objects change, and its service account token is not (a proxy that mounted an older istio-ca-root-cert reads
    the new root). No istiod here, only its Service, which the harness resolves the proxy's discovery address to:
    pilot-agent finds nothing behind it, and the volumes are the point."""
    kube_api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    kube_api.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istiod", "namespace": "istio-system"},
                     "spec": {"selector": {"app": "istiod"}, "ports": [{"name": "grpc-xds", "port": 15012}]}})
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "volumes"}})
    kube_api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "root", "namespace": "volumes"},
                     "data": {"root-cert.pem": "first"}})
    kube_api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "volumes"},
                     "stringData": {"key": "one"}})
    proxy = {"name": "istio-proxy", "image": "example.test/proxyv2", "args": ["proxy", "sidecar"],
             "volumeMounts": [{"name": "root", "mountPath": "/var/run/secrets/istio"},
                              {"name": "both", "mountPath": "/etc/both"}]}
    volumes = [{"name": "root", "configMap": {"name": "root"}},
               {"name": "both", "projected": {"sources": [
                   {"secret": {"name": "creds"}},
                   {"serviceAccountToken": {"path": "token", "audience": "istio-ca"}}]}}]
    kube_api.create({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": "proxy", "namespace": "volumes", "annotations": {"aksmesh.test/app": "none"}},
                     "spec": {"containers": [proxy], "volumes": volumes}})
    runtime = dataplane.pod("volumes", "proxy")
    root, key, token = (runtime.root / "var/run/secrets/istio/root-cert.pem", runtime.root / "etc/both/key",
                        runtime.root / "etc/both/token")
    assert (root.read_text(), key.read_text()) == ("first", "one")
    issued = token.read_bytes()
    kube_api.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "root", "namespace": "volumes"},
                    "data": {"root-cert.pem": "second"}})
    kube_api.apply({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": "volumes"},
                    "stringData": {"key": "two"}})
    kube_api.wait_for(lambda: (root.read_text(), key.read_text()) == ("second", "two"),
                      "the pod's volumes to follow the ConfigMap and the Secret", timeout=30)
    assert token.read_bytes() == issued and root.stat().st_uid == 1337


def test_real_envoy_gateway_and_sidecars_carry_mtls_traffic(kube_api, istio, dataplane):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}})
    create_all(kube_api, app("shop", "web"))
    gateway = dataplane.wait_proxy_ready(dataplane.pod("istio-ingress", "istio-ingressgateway"))
    web = dataplane.wait_ready("shop")[0]
    assert web.proxy is not None and web.proxy["name"] == "istio-proxy"
    kube_api.create({"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
                     "metadata": {"name": "web", "namespace": "istio-ingress"},
                     "spec": {"selector": {"istio": "ingressgateway"}, "servers": [{
                         "port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["web.example.com"]}]}})
    kube_api.create({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                     "metadata": {"name": "web", "namespace": "shop"},
                     "spec": {"hosts": ["web.example.com"], "gateways": ["istio-ingress/web"],
                              "http": [{"route": [{"destination": {"host": "web.shop.svc.cluster.local",
                                                                   "port": {"number": 80}}}]}]}})
    svc = kube_api.wait_for(lambda: (kube_api.get("v1", "Service", "istio-ingress", "istio-ingressgateway")
                                     .get("status", {}).get("loadBalancer", {}).get("ingress") or [None])[0],
                            "the ingress address")
    dataplane.wait_proxy_ready(gateway, listeners=["0.0.0.0_8080"])

    def through_gateway():
        status, _headers, body = http_request(svc["ip"], 80, "/through", headers={"Host": "web.example.com"},
                                              source=NODE_IP)
        return (status, body) if status == 200 else None
    status, body = kube_api.wait_for(through_gateway, "a 200 through the gateway", timeout=60)
    seen = json.loads(body)
    assert seen["pod"] == web.name and seen["path"] == "/through"
    # the sidecar terminated the gateway's mTLS and names the gateway's identity
    xfcc = seen["headers"].get("x-forwarded-client-cert", "")
    assert "spiffe://cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account" in xfcc, xfcc
    assert any(r["path"] == "/through" for r in web.requests_seen())
    # no rejected configuration on either proxy
    for runtime in (gateway, web):
        stats = runtime.admin("/stats?filter=update_rejected")[1]
        assert all(line.endswith(": 0") for line in stats.splitlines() if line), stats
    assert not connect_refused(svc["ip"], 80, source=NODE_IP)
