"""istioctl and helm get exactly the module's connection: with only host + api_key (+ ca_cert), as AWX's bearer
token credential gives them (K8S_AUTH_*), and a ~/.kube/config that points at another (nonexistent) server, the
tools reach the real API server, through a private kubeconfig that is gone afterwards."""

import json
import os

import pytest
import yaml

from tests.integration.modules.test_istio_install import operator
from tests.support.ansible_runner import run_module

DECOY = "https://127.0.0.1:1"  # nothing listens there: a tool that reads ~/.kube/config fails


@pytest.fixture
def decoy_env(tmp_path):
    """HOME with a ~/.kube/config for another server; no KUBECONFIG, no K8S_AUTH_* of the caller."""
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    (home / ".kube" / "config").write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "decoy",
        "clusters": [{"name": "decoy", "cluster": {"server": DECOY, "insecure-skip-tls-verify": True}}],
        "contexts": [{"name": "decoy", "context": {"cluster": "decoy", "user": "decoy"}}],
        "users": [{"name": "decoy", "user": {"token": "decoy-token"}}]}))
    env = {"HOME": str(home), "KUBECONFIG": None}
    env.update({name: None for name in os.environ if name.startswith("K8S_AUTH_")})
    return env


def bearer(kube_api):
    """The connection of AWX's "OpenShift or Kubernetes API Bearer Token" credential."""
    return {"K8S_AUTH_HOST": kube_api.url, "K8S_AUTH_API_KEY": kube_api.token, "K8S_AUTH_SSL_CA_CERT": kube_api.ca_path,
            "K8S_AUTH_VERIFY_SSL": "true"}


def private_kubeconfig(command):
    path = command[command.index("--kubeconfig") + 1]
    assert os.path.basename(os.path.dirname(path)).startswith("aksmesh-kube-"), command
    assert not os.path.exists(os.path.dirname(path))  # removed after the tool ran
    return path


VS = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": "web", "namespace": "shop"},
      "spec": {"hosts": ["web.example.com"], "gateways": ["no-such-gateway"],
               "http": [{"route": [{"destination": {"host": "web"}}]}]}}


def test_istioctl_analyze_with_the_bearer_token_credential_reaches_the_real_cluster(kube_api, decoy_env):
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube_api.create(VS)
    kube_api.clear_log()
    res = run_module("istioctl_analyze", {"namespace": "shop"}, env=dict(decoy_env, **bearer(kube_api)))
    assert {m["origin"] for m in res.result.get("messages", []) if m["code"] == "IST0101"} == {
        "VirtualService shop/web"}, res.result  # only the real cluster has it
    private_kubeconfig(res["command"])
    assert kube_api.token not in res.stdout + res.stderr


def test_helm_release_with_host_and_api_key_reaches_the_real_cluster(kube_api, decoy_env):
    kube_api.clear_log()
    res = run_module("helm_release", {"name": "nothing-here", "namespace": "default", "state": "absent",
                                      "host": kube_api.url, "api_key": kube_api.token, "ca_cert": kube_api.ca_path},
                     env=decoy_env)
    assert not res.failed and res["changed"] is False and res["release"] is None, res.result
    # helm listed its release Secrets on the real server (the module's own client reads none)
    assert kube_api.requests("GET", "^/api/v1/namespaces/default/secrets$")
    assert kube_api.token not in res.stdout + res.stderr


def test_istio_install_with_host_and_api_key_installs_on_the_real_cluster(kube_api, decoy_env):
    res = run_module("istio_install", {"operator": operator(), "host": kube_api.url, "api_key": kube_api.token,
                                       "ca_cert": kube_api.ca_path}, env=decoy_env, timeout=600)
    assert not res.failed and res["changed"] is True, res.result
    assert res["command"][1] == "install"
    private_kubeconfig(res["command"])
    assert {d["metadata"]["name"] for d in kube_api.get("apps/v1", "Deployment", "istio-system")} >= {"istiod"}
    assert kube_api.token not in res.stdout + res.stderr


def test_a_kubeconfig_mapping_reaches_istioctl(kube_api, decoy_env):
    res = run_module("istioctl_analyze", {"kubeconfig": kube_api.kubeconfig(), "namespace": "default"},
                     env=decoy_env)
    assert "messages" in res.result and "could not" not in res.result.get("msg", ""), res.result
    private_kubeconfig(res["command"])


def test_impersonation_reaches_the_api_server_and_istioctl(kube_api, decoy_env):
    # straight to the API server: the test proxy would fold repeated headers into one
    direct = {"host": kube_api.direct_url, "api_key": kube_api.token, "ca_cert": kube_api.ca_path}
    denied = run_module("cluster_info", dict(direct, impersonate_user="nobody-special"), env=decoy_env)
    assert denied.failed and "forbidden" in denied["msg"].lower(), denied.result
    # two Impersonate-Group headers; one header "system:masters, system:authenticated" would be one unknown group
    allowed = run_module("cluster_info", dict(direct, impersonate_user="nobody-special",
                                              impersonate_groups=["system:masters", "system:authenticated"]),
                         env=decoy_env)
    assert not allowed.failed, allowed.result
    # istioctl as the impersonated user: one without the groups reads nothing (istioctl analyze skips what it may
    # not list), with system:masters it sees the VirtualService
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    kube_api.create(VS)
    conn = {"host": kube_api.url, "api_key": kube_api.token, "ca_cert": kube_api.ca_path, "namespace": "shop",
            "timeout": "10s"}
    blind = run_module("istioctl_analyze", dict(conn, impersonate_user="nobody-special"), env=decoy_env)
    assert "IST0101" not in json.dumps(blind.result.get("messages")), blind.result
    sees = run_module("istioctl_analyze", dict(conn, impersonate_user="nobody-special",
                                               impersonate_groups=["system:masters"]), env=decoy_env)
    assert sees.failed and "IST0101" in sees["msg"], sees.result
