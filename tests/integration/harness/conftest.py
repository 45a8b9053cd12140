"""Fixtures of the harness tests."""

import pytest

from tests.support.ansible_runner import role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION


@pytest.fixture
def istio(kube_api, kubeconfig, tmp_path):
    """The control plane as site.yml installs it with the istioctl method (the real istioctl), with its
    ingress gateway in istio-ingress."""
    run = run_playbook(role_play(kubeconfig, [{"role": "aksmesh.istio.istio_install", "vars": {
        "istio_install_tag": ISTIO_VERSION}}], name="istio"), tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    return run
