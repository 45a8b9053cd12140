"""Fixtures shared by every test: the loopback Kubernetes API, the loopback ARM, the istioctl double."""

from __future__ import annotations

import copy
import os
import pathlib
import sys
import time

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import ansible_runner, shared_data  # noqa: E402
from tests.support.armapi import SUBSCRIPTION, TENANT, ArmServer  # noqa: E402
from tests.support.kubeapi import KubeApiServer  # noqa: E402

ansible_runner.ensure_collection_link()
# the doubles (istioctl, helm) are Python scripts run by "python3" from PATH: make that this interpreter
os.environ["PATH"] = os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get("PATH", "")])
if str(ansible_runner.COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(ansible_runner.COLLECTIONS))


def pytest_configure(config):
    config.addinivalue_line("markers", "shared: needs the real upstream Istio files in ../shared/istio-upstream")


def pytest_collection_modifyitems(config, items):
    if shared_data.upstream_dir() is None:
        skip = pytest.mark.skip(reason="../shared/istio-upstream is absent (see ../shared/README.md)")
        for item in items:
            if "shared" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def bare_kube_api(tmp_path):
    """A loopback Kubernetes API with only the built-in kinds."""
    server = KubeApiServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def kube_api(bare_kube_api):
    """A loopback Kubernetes API with the Istio CRDs registered (real ones when shared/ is present)."""
    docs = shared_data.istio_crds()[0]
    bare_kube_api.state.load_crds(copy.deepcopy(docs))
    return bare_kube_api


@pytest.fixture
def kubeconfig(kube_api, tmp_path):
    path = tmp_path / "kubeconfig"
    kube_api.kubeconfig(path)
    return str(path)


@pytest.fixture
def kubectl_env(kubeconfig, tmp_path):
    """Environment for the real kubectl: our kubeconfig, a private discovery cache."""
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
def arm_credential():
    return LoopbackCredential()


@pytest.fixture
def azure_env(arm):
    """Environment under which modules reach the loopback ARM through the real credential chain."""
    return {"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION, "AZURE_CLIENT_ID": "app-id", "AZURE_SECRET": "app-secret",
            "AZURE_TENANT": TENANT, "AZURE_RESOURCE_MANAGER_ENDPOINT": arm.url, "AZURE_AUTHORITY_HOST": arm.url,
            "REQUESTS_CA_BUNDLE": arm.ca_path, "AKSMESH_AZURE_POLL_INTERVAL": "0.05"}


@pytest.fixture
def istioctl_log(tmp_path, monkeypatch):
    """Record every istioctl double call; PATH gets the double first."""
    log = tmp_path / "istioctl-calls.jsonl"
    monkeypatch.setenv("ISTIOCTL_DOUBLE_LOG", str(log))
    monkeypatch.setenv("PATH", f"{REPO / 'tests/support/bin'}{os.pathsep}{os.environ['PATH']}")
    return log
