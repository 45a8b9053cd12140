"""Fixtures shared by every test: the real control plane (tests/support/cluster.py), the loopback ARM."""

from __future__ import annotations

import http.client
import os
import pathlib
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
sys.path.insert(0, str(REPO))

from tests.support import ansible_runner, shared_data  # noqa: E402
from tests.support import cluster as cluster_mod  # noqa: E402
from tests.support import dataplane as dataplane_mod  # noqa: E402
from tests.support.armapi import SUBSCRIPTION, TENANT, ArmServer  # noqa: E402

ansible_runner.ensure_collection_link()
# the pinned tools (kubectl, istioctl, helm) first on PATH, then this interpreter's bin (ansible-playbook)
os.environ["PATH"] = os.pathsep.join([str(ansible_runner.TOOLS_BIN), str(pathlib.Path(sys.executable).parent),
                                      os.environ.get("PATH", "")])
if str(ansible_runner.COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(ansible_runner.COLLECTIONS))


def pytest_configure(config):
    config.addinivalue_line("markers", "shared: needs the real upstream Istio files in ../shared/istio-upstream")
    if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("AKSMESH_IN_NETNS") == "1":
        cluster_mod.own_network_namespace()


# The files that keep one worker busiest (worker-minutes measured in make test, docs/testing.md), longest first: each
# is one unit of --dist loadfile, and one of them started last would run alone at the end while the other workers
# sit idle. The other integration files follow, the unit tests (seconds each) fill in last.
LONGEST_FIRST = (
    "integration/test_site_azure.py", "integration/traffic/test_traffic.py",
    "integration/traffic/test_gateway_api_ingress.py", "integration/test_site.py",
    "integration/test_site_helm.py", "integration/test_site_upgrade.py", "integration/test_cni.py",
    "integration/test_check_mode.py",
    "integration/test_drift.py", "integration/roles/test_sample.py", "integration/roles/test_mesh_certs.py",
    "integration/traffic/test_upgrade_traffic.py", "integration/roles/test_mesh_authz.py",
)


def _run_order(item):
    path = pathlib.Path(str(item.fspath)).resolve().relative_to(TESTS).as_posix()
    if path in LONGEST_FIRST:
        return 0, LONGEST_FIRST.index(path)
    return (1 if path.startswith("integration/") else 2), 0


def pytest_collection_modifyitems(config, items):
    items.sort(key=_run_order)  # stable: the order within a file stays
    if shared_data.upstream_dir() is None:
        skip = pytest.mark.skip(reason="../shared/istio-upstream is absent (see ../shared/README.md)")
        for item in items:
            if "shared" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory):
    """The real control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok nodes) for the whole
    session, with the Istio CRDs applied as a user's install applies them. Outside ``make test`` (no pinned
    tools, or not in a loopback-only network namespace) the tests that need it skip, unless
    AKSMESH_REQUIRE_CLUSTER=1 (set by make test) turns that into a failure."""
    problem = None
    missing = cluster_mod.missing_tools()
    if missing:
        problem = f"pinned tools missing ({', '.join(missing)}): run make tools"
    elif cluster_mod.has_external_route() and not os.environ.get("AKSMESH_ALLOW_NETWORK"):
        problem = "the test cluster runs only in a loopback-only network namespace: use tools/netns-run (make test)"
    if problem:
        if os.environ.get("AKSMESH_REQUIRE_CLUSTER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    workdir = tmp_path_factory.mktemp("cluster")
    real = cluster_mod.Cluster(workdir).start()
    try:
        real.install_istio_crds()
        yield real
    finally:
        try:
            ansible_runner.account_api_server(real.served())
        except (OSError, ValueError, http.client.HTTPException):
            pass  # an account, not a test: a cluster that cannot say goes without
        real.stop()


@pytest.fixture
def kube_api(kube_cluster):
    """The session cluster; whatever a test creates (namespaces, cluster-scoped objects, objects in the
    namespaces that existed before) is deleted after it, and faults, latency and the request log are reset."""
    kube_cluster.clear_log()
    yield kube_cluster
    kube_cluster.reset(kube_cluster.baseline)


@pytest.fixture
def dataplane(kube_api):
    """The real data plane for one test (tests/support/dataplane.py): Envoy proxies bootstrapped by the pinned
    pilot-agent for the pods of kwok's nodes, application stand-ins, kube-proxy. After the test every proxy
    and stand-in stops (kube-proxy stays for the session); a failed test's report holds their logs. Where it
    cannot run (not root, no iptables) the test skips with the reason."""
    reason = dataplane_mod.unavailable(kube_api.tools)
    if reason:
        pytest.skip(reason)
    plane = kube_api.dataplane().start()
    yield plane
    plane.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that ran the data plane gets each proxy's and stand-in's log in its report."""
    outcome = yield
    report = outcome.get_result()
    plane = item.funcargs.get("dataplane") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.failed and plane is not None:
        for pod, logs in plane.logs().items():
            for name, text in logs.items():
                report.sections.append((f"data plane {pod} {name}", text[-6000:]))
        for key, error in plane.failed.items():
            report.sections.append((f"data plane {key} failed to start", error))


def pytest_terminal_summary(terminalreporter):
    """make test's account of the ansible-playbook runs (``$AKSMESH_PLAYBOOK_LOG``, tests/support/ansible_runner.py):
    where the suite's time goes, per test file."""
    path = os.environ.get(ansible_runner.PLAYBOOK_LOG)
    if path and os.path.exists(path):
        terminalreporter.section("ansible-playbook runs")
        for line in ansible_runner.playbook_summary(path):
            terminalreporter.write_line(line)
    servers = path and pathlib.Path(path).with_name("api-servers.jsonl")
    if servers and servers.exists():
        terminalreporter.section("API servers")
        for line in ansible_runner.api_server_summary(servers):
            terminalreporter.write_line(line)


@pytest.fixture
def kubeconfig(kube_api, tmp_path):
    path = tmp_path / "kubeconfig"
    kube_api.kubeconfig(path)
    return str(path)


@pytest.fixture
def kubectl_env(kubeconfig, tmp_path):
    """Environment for the pinned kubectl: our kubeconfig, a private discovery cache."""
    return dict(os.environ, KUBECONFIG=kubeconfig, KUBECACHEDIR=str(tmp_path / "kubecache"), HOME=str(tmp_path))


@pytest.fixture
def arm(tmp_path):
    server = ArmServer(tmp_path).start()
    yield server
    server.stop()


class LoopbackCredential:
    """A TokenCredential for in-process SDK tests (modules use the real Entra flow instead)."""

    def get_token(self, *scopes, **kwargs):
        from azure.core.credentials import AccessToken
        return AccessToken("loopback-arm-token", int(time.time()) + 3600)


@pytest.fixture
def aks(arm, kube_api):
    """An AKS cluster in the ARM emulator whose kubeconfig reaches the real test API server."""
    kube_api.pip_resolver = arm.pip_address  # the loopback cloud provider finds azure-pip-name IPs in ARM
    yield arm.add_cluster("rg", "aks", kubeconfig=kube_api.kubeconfig(), kubernetes_version="1.35.4")
    kube_api.pip_resolver = None


@pytest.fixture
def arm_credential():
    return LoopbackCredential()


@pytest.fixture
def azure_env(arm):
    """Environment under which modules reach the loopback ARM through the real credential chain."""
    return {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "AZURE_CLIENT_ID": "app-id", "AZURE_SECRET": "app-secret",
            "AZURE_TENANT": TENANT, "AZURE_RESOURCE_MANAGER_ENDPOINT": arm.url, "AZURE_AUTHORITY_HOST": arm.url,
            "REQUESTS_CA_BUNDLE": arm.ca_path, "AKSMESH_AZURE_POLL_INTERVAL": "0.05"}


def _chart_repo(tmp_path_factory, link, what):
    """The packaged charts of .build/tools/<link> (make tools) in a Helm chart repository on loopback HTTP, as
    the public chart repository serves them: yields its URL."""
    from tests.support.loopback import LoopbackServer, Response
    charts = (ansible_runner.TOOLS_BIN.parent / link).resolve()
    if not (charts / "index.yaml").is_file():
        pytest.skip(f"the {what} charts are not packaged: run make tools")

    def handler(req):
        path = (charts / req.path.lstrip("/")).resolve()
        if path.parent != charts or not path.is_file():
            return Response(404, "not found", content_type="text/plain")
        kind = "text/yaml" if path.suffix == ".yaml" else "application/gzip"
        return Response(200, path.read_bytes(), content_type=kind)
    server = LoopbackServer(handler, tmp_path_factory.mktemp("charts"), name="charts", tls=False).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def istio_chart_repo(tmp_path_factory):
    """The real Istio charts of the pinned Istio in a loopback Helm chart repository: its URL."""
    yield from _chart_repo(tmp_path_factory, "istio-charts", "Istio")


@pytest.fixture(scope="session")
def cert_manager_chart_repo(tmp_path_factory):
    """The real cert-manager chart of the pinned cert-manager module (packaged at its version, as
    charts.jetstack.io serves it) in a loopback Helm chart repository: its URL."""
    yield from _chart_repo(tmp_path_factory, "cert-manager-charts", "cert-manager")


@pytest.fixture
def cert_manager_crds(kube_api):
    """The pinned cert-manager's CRDs on the test cluster for one test (kube_api deletes them after it)."""
    return kube_api.install_cert_manager_crds()


@pytest.fixture
def gateway_api_crds(kube_api):
    """The Kubernetes Gateway API's standard-channel CRDs at the version the pinned Istio requires, on the test
    cluster for one test (kube_api deletes them after it)."""
    return kube_api.install_gateway_api_crds()
