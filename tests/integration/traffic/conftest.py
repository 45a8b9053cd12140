"""A mesh that carries traffic, for the traffic tests of this folder: the control plane and the mesh stages as
``site.yml`` applies them (the collection's own playbook and variables), the shop application (``web`` v1 and
v2 behind one Service, a ``client`` pod whose requests go through its sidecar) and the real data plane
(tests/support/dataplane.py) running every proxy and application.

One mesh per test module and install method (setting it up costs about a minute); each test applies its own
policies through the collection's roles, and what a test creates is deleted after it, so each test finds the
mesh as the module set it up and leaves it so. At the end of the module the cluster is as the session left it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
import threading
import time

import pytest
import yaml

from tests.support import dataplane as dataplane_mod
from tests.support.ansible_runner import REPO, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION, NODE_IP

SHOP = "shop"
# the ingress gateway's namespace and Service per install method (the collection's topology table), and the one
# istiod deploys for the Gateway API ingress (aksmesh_ingress_api gateway_api)
INGRESS = {"istioctl": ("istio-ingress", "istio-ingressgateway"), "helm": ("istio-ingress", "istio-ingress"),
           "gateway_api": ("istio-ingress", "ingress-istio")}
HOST = "shop.example.com"

MESH_VARS = {
    "aksmesh_target": "cluster", "aksmesh_addons": False, "aksmesh_istioctl_download": False,
    "aksmesh_istio_version": ISTIO_VERSION,
    "mesh_injection_namespaces": [{"name": SHOP}],
    "mesh_gateways_gateways": [{"name": "shop-gw", "hosts": [HOST]}],
    "mesh_gateways_virtual_services": [{"name": "web-ingress", "namespace": SHOP, "hosts": [HOST],
                                        "gateways": ["shop-gw"], "http": [{"route": [{"destination": {
                                            "host": "web", "port": {"number": 80}}}]}]}],
    "aksmesh_grafana_passphrase": "graf-Pass-123", "aksmesh_kiali_passphrase": "kiali-Pass-456",
}


def workload(name, version, port=8080, annotations=None, replicas=1, service_account=None):
    labels = {"app": name, "version": version}
    spec = {"containers": [{"name": name, "image": f"example.test/{name}:{version}",
                            "ports": [{"containerPort": port}] if port else []}]}
    if service_account:
        spec["serviceAccountName"] = service_account
    meta = {"name": f"{name}-{version}", "namespace": SHOP}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels, "annotations": annotations or {}}, "spec": spec}}}


def service(name, port=80, target=8080):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": SHOP},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port, "targetPort": target}]}}


def service_account(name):
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": SHOP}}


SHOP_OBJECTS = [service_account("web"), service_account("client"), service("web"),
                workload("web", "v1", service_account="web"), workload("web", "v2", service_account="web"),
                workload("client", "v1", port=None, service_account="client")]


class Load:
    """GET through the gateway every ``interval`` seconds until stopped (bounded: ``limit`` requests at most)."""

    def __init__(self, address, interval=0.05, limit=8000):
        self.address, self.interval, self.limit = address, interval, limit
        self.answers = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set() and len(self.answers) < self.limit:
            self.once()
            self._stop.wait(self.interval)

    def once(self):
        """One GET through the gateway, recorded; its status (0: no answer)."""
        started = time.monotonic()
        try:
            status, _headers, body = dataplane_mod.http_request(self.address, 80, "/load", headers={"Host": HOST},
                                                                source=NODE_IP, timeout=3)
            self.answers.append((started, status, json.loads(body).get("pod") if status == 200 else body[:200]))
        except OSError as exc:
            status = 0
            self.answers.append((started, 0, f"{type(exc).__name__}: {exc}"))
        return status

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def failures(self):
        return [a for a in self.answers if a[1] != 200]


@dataclasses.dataclass
class Mesh:
    cluster: object
    plane: object
    method: str
    kubeconfig: str
    workdir: pathlib.Path
    baseline: set
    ingress_ip: str
    inventory: pathlib.Path

    def client(self):
        return self.plane.pod(SHOP, "client-v1")

    def pods(self, prefix):
        return [r for r in self.plane.runtimes(SHOP) if r.name.startswith(prefix)]

    def cluster_ip(self, name, namespace=SHOP):
        return self.cluster.get("v1", "Service", namespace, name)["spec"]["clusterIP"]

    def from_client(self, host="web", path="/", headers=None, count=1, port=80, address=None, method="GET"):
        """``count`` requests from the client pod (through its sidecar) to ``host``: [(status, headers, body)].
        The connection goes to the Service's ClusterIP (or ``address``), as the application's would after its
        DNS lookup; the sidecar routes on the Host header."""
        target = address or self.cluster_ip(host.split(".")[0])
        head = dict({"Host": host}, **(headers or {}))

        def send():
            out = []
            for _attempt in range(count):
                try:
                    out.append(dataplane_mod.http_request(target, port, path, method=method, headers=head))
                except OSError as exc:
                    out.append((0, {}, str(exc)))
            return out
        return self.client().net.run_in(send)

    def through_gateway(self, path="/", headers=None, host=HOST, count=1):
        out = []
        for _attempt in range(count):
            try:
                out.append(dataplane_mod.http_request(self.ingress_ip, 80, path, headers=dict(
                    {"Host": host}, **(headers or {})), source=NODE_IP))
            except OSError as exc:
                out.append((0, {}, str(exc)))
        return out

    def site(self, tags, **extra_vars):
        """site.yml with the module's inventory, limited to ``tags``, with ``extra_vars`` (as a user re-runs one
        stage with more variables)."""
        run = run_playbook(REPO / "site.yml", self.workdir, inventory=self.inventory, tags=tags,
                           extra_vars=extra_vars)
        assert run.rc == 0, run.stdout[-4000:]
        return run

    def apply_roles(self, roles, **inventory):
        """The collection's roles as a user's play runs them (settings first), on this mesh."""
        run = run_playbook(role_play(self.kubeconfig, roles, name="policy", aksmesh_istio_version=ISTIO_VERSION,
                                     **inventory), self.workdir)
        assert run.rc == 0, run.stdout[-4000:]
        return run

    def eventually(self, probe, what, timeout=60.0, interval=0.5):
        """Poll ``probe`` until it returns something true (istiod pushes new config within a second or two):
        returns that value, or fails naming what was last seen."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last and last is not True or last is True:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last: {last}")

    def reset(self):
        self.cluster.reset(self.baseline)


def status_counts(answers):
    counts = {}
    for status, _headers, _body in answers:
        counts[status] = counts.get(status, 0) + 1
    return counts


def versions(answers):
    counts = {}
    for status, headers, _body in answers:
        if status == 200:
            counts[headers.get("x-echo-version")] = counts.get(headers.get("x-echo-version"), 0) + 1
    return counts


def _site_inventory(tmp, kubeconfig, method, chart_repo, host_vars=None):
    inv = tmp / "inventory"
    inv.mkdir(exist_ok=True)
    host = dict({"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": method}, **(host_vars or {}))
    if method == "helm":
        host["istio_helm_repo"] = chart_repo
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"aks": host}, "vars": MESH_VARS}}))
    return inv


@pytest.fixture(scope="module", params=["istioctl", "helm"])
def mesh(request, kube_cluster, tmp_path_factory, istio_chart_repo):
    with running_mesh(kube_cluster, tmp_path_factory.mktemp(f"mesh-{request.param}"), request.param,
                      istio_chart_repo) as built:
        yield built


@contextlib.contextmanager
def running_mesh(kube_cluster, tmp, method, chart_repo, ingress=None, host_vars=None):
    """site.yml's mesh on the real data plane with the shop application, answering through the ingress gateway
    (``ingress``, a key of INGRESS: the method's own by default); ``host_vars`` go to the inventory host. At the end
    the data plane stops and the cluster is as the session left it."""
    reason = dataplane_mod.unavailable(kube_cluster.tools)
    if reason:
        pytest.skip(reason)
    kubeconfig = str(tmp / "kubeconfig")
    kube_cluster.kubeconfig(kubeconfig)
    if method == "helm":
        kube_cluster.remove_istio_crds()  # the base chart owns them on the Helm path
    plane = kube_cluster.dataplane().start()
    try:
        inventory = _site_inventory(tmp, kubeconfig, method, chart_repo, host_vars)
        run = run_playbook(REPO / "site.yml", tmp, inventory=inventory)
        assert run.rc == 0, run.stdout[-4000:]
        for obj in SHOP_OBJECTS:
            kube_cluster.create(obj)
        namespace, name = INGRESS[ingress or method]
        svc = kube_cluster.wait_for(lambda: (kube_cluster.get("v1", "Service", namespace, name)
                                             .get("status", {}).get("loadBalancer", {}).get("ingress") or [None])[0],
                                    "the ingress address")
        for runtime in plane.wait_ready(namespace, timeout=120) + plane.wait_ready(SHOP, timeout=120):
            assert runtime.proxy is not None, f"{runtime.namespace}/{runtime.name} has no sidecar"
        ports = kube_cluster.get("v1", "Service", namespace, name)["spec"]["ports"]
        target = [p["targetPort"] for p in ports if p["port"] == 80][0]  # 8080 (istioctl), 80 (Helm chart)
        for runtime in plane.runtimes(namespace):  # every gateway replica serves the Gateway's port
            plane.wait_proxy_ready(runtime, listeners=[f"0.0.0.0_{target}"])
        built = Mesh(kube_cluster, plane, method, kubeconfig, tmp, kube_cluster.snapshot(), svc["ip"], inventory)
        built.eventually(lambda: built.through_gateway()[0][0] == 200, "the ingress route to answer")
        yield built
    finally:
        plane.stop()
        kube_cluster.reset(kube_cluster.baseline)


@pytest.fixture
def shop(mesh):
    """The module's mesh for one test: what the test creates is deleted after it."""
    yield mesh
    mesh.reset()
