"""Roles istioctl (pinned, checksummed download) and istio_install (operator from variables, idempotent)."""

import hashlib
import io
import os
import pathlib
import tarfile

import pytest

from tests.support.ansible_runner import TOOLS_BIN, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION
from tests.support.loopback import file_server

VERSION = ISTIO_VERSION
ARCHIVE = f"istioctl-{VERSION}-linux-amd64.tar.gz"
_ARCHIVE = {}


def release_archive():
    """A release-shaped archive: istioctl at the top, the pinned real istioctl (built once per session)."""
    if "data" not in _ARCHIVE:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
            tar.add(str((TOOLS_BIN / "istioctl").resolve()), arcname="istioctl")
        _ARCHIVE["data"] = buf.getvalue()
    return _ARCHIVE["data"]


@pytest.fixture
def releases(tmp_path):
    data = release_archive()
    server = file_server({f"/{VERSION}/{ARCHIVE}": data,
                          f"/{VERSION}/{ARCHIVE}.sha256": f"{hashlib.sha256(data).hexdigest()}  {ARCHIVE}\n".encode()},
                         tmp_path, name="releases")
    yield server
    server.stop()


def istioctl_play(releases, install_dir, **extra):
    """The istioctl role from the loopback release server; run it with cache_env(): a download cache per test."""
    return [{"name": "istioctl", "hosts": "localhost", "gather_facts": False, "roles": [
        {"role": "aksmesh.istio.istioctl", "vars": dict({"istioctl_version": VERSION, "istioctl_base_url": releases.url,
                                                         "istioctl_install_dir": str(install_dir),
                                                         "istioctl_checksum": ""}, **extra)}]}]


def cache_env(tmp_path):
    return {"AKSMESH_DOWNLOAD_CACHE": str(tmp_path / "cache")}


def test_download_verify_install_then_skip(releases, tmp_path):
    install_dir = tmp_path / "bin"
    first = run_playbook(istioctl_play(releases, install_dir), tmp_path, env=cache_env(tmp_path))
    assert first.rc == 0, first.stdout[-3000:]
    binary = install_dir / "istioctl"
    assert binary.exists() and os.access(binary, os.X_OK)
    assert [e.path for e in releases.requests()] == [f"/{VERSION}/{ARCHIVE}.sha256", f"/{VERSION}/{ARCHIVE}"]
    releases.clear_log()
    second = run_playbook(istioctl_play(releases, install_dir), tmp_path, env=cache_env(tmp_path))
    assert second.rc == 0 and second.changed == [] and releases.requests() == []
    # another install folder (another user's, a reinstall): the archive comes from the cache, only its checksum
    # file is read
    third = run_playbook(istioctl_play(releases, tmp_path / "bin2"), tmp_path, env=cache_env(tmp_path))
    assert third.rc == 0 and os.access(tmp_path / "bin2" / "istioctl", os.X_OK)
    assert [e.path for e in releases.requests()] == [f"/{VERSION}/{ARCHIVE}.sha256"]


def test_wrong_checksum_fails_and_installs_nothing(releases, tmp_path):
    install_dir = tmp_path / "bin"
    bad = run_playbook(istioctl_play(releases, install_dir, istioctl_checksum="0" * 64), tmp_path,
                       env=cache_env(tmp_path))
    assert bad.rc != 0 and "checksum" in bad.stdout.lower()
    assert not (install_dir / "istioctl").exists()
    assert not list(pathlib.Path("/tmp").glob("aksmesh-istioctl-*"))
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # no partial download left


def test_a_pinned_checksum_is_checked_without_reading_one_from_the_release(releases, tmp_path):
    """aksmesh_istioctl_sha256 (istioctl_checksum): the archive is checked against the inventory's pin, and no checksum
    is read from where the archive comes from."""
    data = releases.files[f"/{VERSION}/{ARCHIVE}"]
    run = run_playbook(istioctl_play(releases, tmp_path / "bin", istioctl_checksum=hashlib.sha256(data).hexdigest()),
                       tmp_path, env=cache_env(tmp_path))
    assert run.rc == 0, run.stdout[-3000:]
    assert [e.path for e in releases.requests()] == [f"/{VERSION}/{ARCHIVE}"]
    assert os.access(tmp_path / "bin" / "istioctl", os.X_OK)


def test_the_archive_is_of_the_controllers_architecture_or_the_one_named(releases, tmp_path):
    """Empty istioctl_arch (the default) is the machine's own (x86_64 here: amd64), so an arm64 execution
    environment downloads the arm64 build; istioctl_arch names another."""
    arm64 = ARCHIVE.replace("-amd64.", "-arm64.")
    data = release_archive()
    releases.files[f"/{VERSION}/{arm64}"] = data
    releases.files[f"/{VERSION}/{arm64}.sha256"] = f"{hashlib.sha256(data).hexdigest()}  {arm64}\n".encode()
    run = run_playbook(istioctl_play(releases, tmp_path / "bin", istioctl_arch="arm64"), tmp_path,
                       env=cache_env(tmp_path))
    assert run.rc == 0, run.stdout[-3000:]
    assert [e.path for e in releases.requests()] == [f"/{VERSION}/{arm64}.sha256", f"/{VERSION}/{arm64}"]
    assert os.uname().machine == "x86_64"  # the default's case below: this machine
    releases.clear_log()
    run = run_playbook(istioctl_play(releases, tmp_path / "bin2"), tmp_path, env=cache_env(tmp_path))
    assert run.rc == 0, run.stdout[-3000:]
    paths = [e.path for e in releases.requests()]
    assert paths[0] == f"/{VERSION}/{ARCHIVE}.sha256" and set(paths) <= {paths[0], f"/{VERSION}/{ARCHIVE}"}, paths


def test_check_mode_installs_nothing(releases, tmp_path):
    install_dir = tmp_path / "bin"
    run = run_playbook(istioctl_play(releases, install_dir), tmp_path, check=True, env=cache_env(tmp_path))
    assert run.rc == 0, run.stdout[-2000:]
    assert not (install_dir / "istioctl").exists() and releases.requests() == []


def install_play(kubeconfig, **role_vars):
    return role_play(kubeconfig, [{"role": "aksmesh.istio.istio_install", "vars": dict({
        "istio_install_tag": VERSION, "istio_install_ingress_ip": "51.124.9.9",
        "istio_install_ingress_ip_resource_group": "rg-net", "istio_install_ingress_dns_label": "shop"},
        **role_vars)}], name="istio")


def test_istio_install_role_converges_once(kube_api, kubeconfig, tmp_path):
    check = run_playbook(install_play(kubeconfig), tmp_path, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert kube_api.writes() == []
    first = run_playbook(install_play(kubeconfig), tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    operator = first.task("Build the IstioOperator")[0]["result"]["ansible_facts"]["istio_install_operator"]
    spec = operator["spec"]
    assert spec["meshConfig"]["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert spec["meshConfig"]["enablePrometheusMerge"] is True
    assert spec["meshConfig"]["extensionProviders"][0]["opentelemetry"]["port"] == 4317 and spec["meshConfig"]["accessLogFile"] == "/dev/stdout"
    assert spec["values"]["global"]["defaultNodeSelector"] == {"kubernetes.io/os": "linux"}
    ingress = spec["components"]["ingressGateways"][0]
    assert ingress["namespace"] == "istio-ingress" and "service" not in ingress["k8s"]
    assert ingress["k8s"]["serviceAnnotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-ipv4": "51.124.9.9",
        "service.beta.kubernetes.io/azure-load-balancer-resource-group": "rg-net",
        "service.beta.kubernetes.io/azure-dns-label-name": "shop"}
    assert spec["components"]["pilot"]["k8s"]["hpaSpec"] == {"minReplicas": 2, "maxReplicas": 5}
    assert "podAntiAffinity" in spec["components"]["egressGateways"][0]["k8s"]["affinity"]
    for ns in ("istio-system", "istio-ingress", "istio-egress"):
        assert kube_api.get("v1", "Namespace", None, ns)
    assert kube_api.get("apps/v1", "Deployment", "istio-ingress", "istio-ingressgateway")
    kube_api.clear_log()
    second = run_playbook(install_play(kubeconfig), tmp_path)
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]
    assert kube_api.writes() == []  # no second istioctl install; analyze reads only


def test_istio_install_role_rejects_bad_variables(kube_api, kubeconfig, tmp_path):
    run = run_playbook(install_play(kubeconfig, istio_install_outbound_policy="OPEN"), tmp_path)
    assert run.rc != 0 and "istio_install_outbound_policy" in run.stdout
