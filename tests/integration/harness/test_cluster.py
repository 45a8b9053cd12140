"""The test harness itself: the real control plane, kwok nodes, the loopback cloud provider, the fault proxy,
the pinned kubectl, and istiod run as a local process serving injection."""

import json
import subprocess
import time

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, ProtocolError

from tests.support import cluster as cluster_mod

WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
           "metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}}}


def kubectl(env, *args, stdin=None, check=True):
    proc = subprocess.run(["kubectl", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120,
                          check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def ns(kube_api, name, labels=None):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}})


def test_only_loopback_is_reachable():
    assert not cluster_mod.has_external_route(), "make test runs the cluster tests in tools/netns-run"


def test_real_versions_and_aks_like_nodes(kube_api, kubectl_env):
    version = json.loads(kubectl(kubectl_env, "version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"] == "v1.35.4"
    assert version["clientVersion"]["gitVersion"] == "v1.35.4"
    nodes = kube_api.get("v1", "Node")
    assert sorted(n["metadata"]["name"] for n in nodes) == cluster_mod.NODE_NAMES
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert labels["kubernetes.azure.com/agentpool"] == "nodepool1" and labels["kubernetes.io/os"] == "linux"
        assert labels["node.kubernetes.io/instance-type"] == "Standard_D4s_v5"
        assert node["status"]["allocatable"]["cpu"] == "3860m"
        assert {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"] == "True"


def test_a_node_a_test_creates_goes_with_it(kube_api):
    """Tests apply upstream inputs that hold Nodes: reset() deletes them, so no later test counts them."""
    kube_api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "from-a-test"}})
    kube_api.reset(kube_api.baseline)
    assert sorted(n["metadata"]["name"] for n in kube_api.get("v1", "Node")) == cluster_mod.NODE_NAMES


def test_deployments_roll_out_on_fake_nodes_with_local_pod_ips(kube_api, kubectl_env):
    ns(kube_api, "shop")
    kube_api.create(WEB)
    kubectl(kubectl_env, "rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s")
    pods = kube_api.get("v1", "Pod", "shop")
    assert len(pods) == 2
    import ipaddress
    assert all(ipaddress.ip_address(p["status"]["podIP"]) in cluster_mod.LOCAL_NET and
               p["spec"]["nodeName"] in cluster_mod.NODE_NAMES for p in pods), [p["status"] for p in pods]


def test_load_balancer_addresses_follow_the_aks_annotations(kube_api):
    ns(kube_api, "edge")

    def svc(name, annotations=None, **spec):
        kube_api.create({"apiVersion": "v1", "kind": "Service",
                         "metadata": {"name": name, "namespace": "edge", "annotations": annotations or {}},
                         "spec": dict({"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80}]},
                                      **spec)})

    svc("pinned", {cluster_mod.AKS_IPV4: "127.3.0.7"})
    svc("legacy", loadBalancerIP="127.3.0.8")
    svc("dynamic")

    def ingress(name):
        got = kube_api.get("v1", "Service", "edge", name)
        return ((got.get("status") or {}).get("loadBalancer") or {}).get("ingress")

    assert kube_api.wait_for(lambda: ingress("pinned"), "pinned address")[0]["ip"] == "127.3.0.7"
    assert kube_api.wait_for(lambda: ingress("legacy"), "legacy address")[0]["ip"] == "127.3.0.8"
    import ipaddress
    dynamic = kube_api.wait_for(lambda: ingress("dynamic"), "dynamic address")[0]["ip"]
    assert ipaddress.ip_address(dynamic) in cluster_mod.LB_POOL


def test_fault_proxy_injects_faults_and_logs_requests(kube_api, kubeconfig):
    api = config.new_client_from_config(kubeconfig)
    core = client.CoreV1Api(api)
    kube_api.faults.add(r"/api/v1/namespaces$", 429, method="GET", headers={"Retry-After": "1"})
    assert core.list_namespace().items  # urllib3 honours Retry-After on 429 and retries once
    kube_api.faults.add(r"/api/v1/namespaces$", 500, method="GET", count=2)
    for _attempt in range(2):
        with pytest.raises(ApiException):
            core.list_namespace()
    kube_api.faults.add(r"/api/v1/namespaces$", "delay", method="GET", seconds=0.3)
    start = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - start >= 0.3
    kube_api.faults.add(r"/api/v1/namespaces$", "drop", method="GET", count=10)
    api.configuration.retries = 0
    with pytest.raises((MaxRetryError, ProtocolError)):
        client.CoreV1Api(api).list_namespace(_request_timeout=5)
    kube_api.faults.clear()
    statuses = [e.status for e in kube_api.requests("GET", r"/api/v1/namespaces$")]
    assert statuses[:5] == [429, 200, 500, 500, 200] and 0 in statuses


def test_dropped_answer_after_the_write_was_done(kube_api, kubeconfig):
    core = client.CoreV1Api(config.new_client_from_config(kubeconfig))
    kube_api.faults.add(r"/api/v1/namespaces$", "drop-after", method="POST")
    with pytest.raises((MaxRetryError, ProtocolError, ApiException)):
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="landed")),
                              _request_timeout=10)
    assert kube_api.get("v1", "Namespace", None, "landed")  # the API server did the work


def test_client_certificates_reach_the_api_server_as_their_user(kube_api):
    cert, key = kube_api.issue_client_cert("cert-admin")
    cfg = client.Configuration(host=kube_api.url)
    cfg.ssl_ca_cert, cfg.cert_file, cfg.key_file = kube_api.ca_path, cert, key
    assert client.CoreV1Api(client.ApiClient(cfg)).list_namespace().items
    plain, plain_key = kube_api.issue_client_cert("nobody", groups=())
    cfg.cert_file, cfg.key_file = plain, plain_key
    with pytest.raises(ApiException) as forbidden:
        client.CoreV1Api(client.ApiClient(cfg)).list_namespace()
    assert forbidden.value.status == 403 and "nobody" in forbidden.value.body
    anon = client.Configuration(host=kube_api.url)
    anon.ssl_ca_cert = kube_api.ca_path
    with pytest.raises(ApiException) as denied:
        client.CoreV1Api(client.ApiClient(anon)).list_namespace()
    assert denied.value.status in (401, 403)


def test_pinned_kubectl_server_side_apply_diff_and_watch(kube_api, kubectl_env):
    ns(kube_api, "shop")
    doc = json.dumps(WEB)
    assert "serverside-applied" in kubectl(kubectl_env, "apply", "--server-side", "-f", "-", stdin=doc).stdout
    # a watch streams through the proxy; once rolled out the status stops moving, so the diff sees only the spec
    kubectl(kubectl_env, "rollout", "status", "deployment/web", "-n", "shop", "--timeout=60s")
    same = kubectl(kubectl_env, "diff", "--server-side", "-f", "-", stdin=doc, check=False)
    assert same.returncode == 0, same.stderr
    changed = kubectl(kubectl_env, "diff", "--server-side", "-f", "-", stdin=doc.replace("nginx:1.27", "nginx:1.28"),
                      check=False)
    assert changed.returncode == 1 and "nginx:1.28" in changed.stdout
    kubectl(kubectl_env, "wait", "--for=condition=Available", "deployment/web", "-n", "shop", "--timeout=60s")


def test_istiod_runs_locally_and_injects_sidecars(kube_api, kubeconfig, kubectl_env, tmp_path):
    iop = tmp_path / "iop.yaml"
    iop.write_text("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  profile: minimal\n")
    install = subprocess.run(["istioctl", "install", "-y", "-f", str(iop), "--kubeconfig", kubeconfig,
                              "--readiness-timeout", "120s"], capture_output=True, text=True, timeout=300,
                             check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    ns(kube_api, "shop", {"istio-injection": "enabled"})
    kube_api.create(WEB)
    kubectl(kubectl_env, "rollout", "status", "deployment/web", "-n", "shop", "--timeout=120s")
    pods = kube_api.get("v1", "Pod", "shop")
    assert pods and all("istio-proxy" in [c["name"] for c in p["spec"]["containers"] + p["spec"].get(
        "initContainers", [])] for p in pods), [p["spec"]["containers"] for p in pods]
    assert all("sidecar.istio.io/status" in p["metadata"]["annotations"] for p in pods)
