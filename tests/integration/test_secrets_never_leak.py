"""No secret reaches any output: kubeconfig credentials given as a mapping, and the credential Secrets of the
secrets stage, at -vvv --diff, in every task result, in success and in failure; errors that hold no secret stay
readable."""

import base64
import json

import pytest
import yaml

from kubernetes import client, config

from tests.support.ansible_runner import role_play, run_module, run_playbook

# credentials of a second kubeconfig user (not the current context's): the module never uses them, but they are in
# the mapping it is given, so in its invocation
SPARE_USER = {"name": "spare", "user": {
    "client-key-data": "c3BhcmUta2V5LWRhdGEtMDE=", "password": "spare-Passw0rd-02",
    "auth-provider": {"name": "oidc", "config": {"client-id": "kubectl", "client-secret": "spare-oidc-secret-03",
                                                 "refresh-token": "spare-refresh-token-04"}},
    "exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kubelogin",
             "args": ["get-token", "--client-secret=spare-exec-flag-05"],
             "env": [{"name": "AAD_SERVICE_PRINCIPAL_CLIENT_SECRET", "value": "spare-exec-env-06"}]}}}


def everything(run):
    """All a run printed and every task result (the callback's log)."""
    return run.stdout + run.stderr + json.dumps(run.results)


def test_a_kubeconfig_mapping_keeps_its_credentials_out_of_every_output(kube_api, tmp_path):
    kubeconfig = kube_api.kubeconfig()
    kubeconfig["users"].append(SPARE_USER)
    secrets = [kube_api.token, "c3BhcmUta2V5LWRhdGEtMDE=", "spare-Passw0rd-02", "spare-oidc-secret-03",
               "spare-refresh-token-04", "spare-exec-flag-05", "spare-exec-env-06"]
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "leak-check", "namespace": "default"},
                  "data": {"a": "b"}}
    play = [{"name": "kubeconfig mapping", "hosts": "localhost", "gather_facts": False,
             "vars": {"kc": kubeconfig},
             "module_defaults": {"group/aksmesh.istio.k8s": {"kubeconfig": "{{ kc }}"}},
             "tasks": [
                 {"name": "read", "aksmesh.istio.cluster_info": {}},
                 {"name": "write", "aksmesh.istio.apply": {"definitions": [config_map]}},
                 {"name": "label", "aksmesh.istio.injection": {"namespaces": [{"name": "leak-check"}]}},
                 {"name": "invalid option", "aksmesh.istio.apply": {"definitions": [config_map], "state": "gone"},
                  "ignore_errors": True},
                 {"name": "istioctl on the mapping's connection", "aksmesh.istio.istioctl_analyze": {
                     "namespace": "default", "fail_level": "Error"}, "ignore_errors": True},
                 {"name": "helm on the mapping's connection", "aksmesh.istio.helm_release": {
                     "name": "x", "namespace": "default", "state": "absent"}},
             ]}]
    run = run_playbook(play, tmp_path, verbosity=3, diff=True)
    assert run.rc == 0, run.stdout[-3000:]
    assert kube_api.get("v1", "ConfigMap", "default", "leak-check")
    assert run.task("write")[0]["result"]["changed"] is True
    # the failures say what is wrong, with the credentials masked, not the message
    assert "value of state must be one of: present, absent, got: gone" in run.task("invalid option")[0]["result"]["msg"]
    # the tools get the mapping's connection as a private kubeconfig file, its token masked in their results
    analyzed = run.task("istioctl on the mapping's connection")[0]["result"]
    assert "messages" in analyzed and "--kubeconfig" in analyzed["command"], analyzed
    assert run.task("helm on the mapping's connection")[0]["result"]["changed"] is False
    out = everything(run)
    assert "https://" in out and "aksmesh-test" in out  # the server and context stay visible
    for secret in secrets:
        assert secret not in out, secret


SECRETS = {"mesh_secrets_grafana_username": "grafana-admin", "mesh_secrets_grafana_passphrase": "g-Leak-Check-7",
           "mesh_secrets_kiali_username": "kiali-admin", "mesh_secrets_kiali_passphrase": "k-Leak-Check-8"}


@pytest.mark.parametrize("broken", ["missing kubeconfig", "wrong token"])
def test_the_secrets_stage_fails_with_a_readable_error_and_no_passphrase(kube_api, tmp_path, broken):
    """The secrets stage used to run its apply with task-level no_log: every error read "msg: None". The values are
    masked instead, so the error says what is wrong, and no passphrase (plain or base64) is in any output."""
    if broken == "missing kubeconfig":
        kubeconfig = str(tmp_path / "absent" / "kubeconfig")
        expected = f"kubeconfig {kubeconfig} does not exist: set kubeconfig (or K8S_AUTH_KUBECONFIG)"
    else:
        config = kube_api.kubeconfig()
        config["users"][0]["user"]["token"] = "not-the-admin-token"
        kubeconfig = str(tmp_path / "kubeconfig")
        (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
        expected = "Unauthorized"
    kube_api.clear_log()
    run = run_playbook(role_play(kubeconfig, [{"role": "aksmesh.istio.mesh_secrets", "vars": dict(SECRETS)}]),
                       tmp_path, verbosity=3, diff=True)
    assert run.rc != 0
    (failed,) = [r for r in run.results if r["status"] == "failed"]
    assert failed["task"].endswith("Apply the Grafana and Kiali credential Secrets")
    assert expected in (failed["result"].get("msg") or ""), failed["result"]
    assert expected in run.stdout
    out = everything(run)
    for value in ("g-Leak-Check-7", "k-Leak-Check-8", base64.b64encode(b"g-Leak-Check-7").decode(),
                  base64.b64encode(b"k-Leak-Check-8").decode()):
        assert value not in out, value
    if broken == "missing kubeconfig":
        assert kube_api.requests() == []


def test_manifest_diff_masks_secret_values_and_names_the_changed_keys():
    def secret(value):
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "grafana", "namespace": "istio-system"},
                "stringData": {"username": "admin", "passphrase": value}}
    res = run_module("manifest_diff", {"before": [secret("old-Pass-123")], "after": [secret("new-Pass-456")]},
                     diff=True)
    assert not res.failed, res.result
    printed = res.stdout + res.stderr
    assert "old-Pass-123" not in printed and "new-Pass-456" not in printed
    assert "******** (changed)" in res["diff"]["prepared"]


def test_a_placeholder_secret_never_overwrites_the_value_someone_set(kube_api, kubeconfig):
    placeholder = {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "kiali", "namespace": "default", "annotations": {"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent"}},
        "stringData": {"passphrase": "<set-me: the Kiali passphrase>"}}
    first = run_module("apply", {"kubeconfig": kubeconfig, "definitions": [placeholder]})
    assert not first.failed and first["results"][0]["action"] == "created", first.result
    core = client.CoreV1Api(config.new_client_from_config(kubeconfig))
    core.patch_namespaced_secret("kiali", "default", {"stringData": {"passphrase": "real-Pass-789"}})
    again = run_module("apply", {"kubeconfig": kubeconfig, "definitions": [placeholder]})
    assert not again.failed and again["changed"] is False, again.result
    value = core.read_namespaced_secret("kiali", "default").data["passphrase"]
    assert base64.b64decode(value).decode() == "real-Pass-789"


def test_site_sends_its_modules_through_a_pipe_so_no_passphrase_is_left_in_a_file(kube_api, kubeconfig, tmp_path):
    """site.yml sets ansible_pipelining: a module and its arguments (here the credential Secrets' values) reach the
    module's Python on its stdin, never a file in Ansible's temporary folder that a killed run would leave behind.
    AKSMESH_MODULE_PROCESS=1: the apply module as a module process (without it, it runs in the controller and hands
    its arguments to no process at all, plugins/plugin_utils/_in_process.py)."""
    from tests.integration.test_site import MESH, PASSPHRASES, SITE, inventory
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_analyze=False))  # a bare cluster: no mesh to lint
    remote = tmp_path / "ansible-tmp"
    run = run_playbook(SITE, tmp_path, inventory=inv, tags="secrets", verbosity=3,
                       env={"ANSIBLE_REMOTE_TEMP": str(remote), "AKSMESH_MODULE_PROCESS": "1"})
    assert run.rc == 0, run.stdout[-3000:]
    assert run.task("Apply the Grafana and Kiali credential Secrets")[0]["result"]["changed"] is True
    secret = client.CoreV1Api(config.new_client_from_config(kubeconfig)).read_namespaced_secret(
        "grafana", "istio-system")
    assert base64.b64decode(secret.data["passphrase"]).decode() == PASSPHRASES[0]
    # -vvv names each file Ansible transfers (PUT ... TO ...AnsiballZ_<module>.py): none, every module piped
    assert "EXEC /bin/sh -c" in run.stdout and "AnsiballZ_" not in run.stdout, run.stdout[-3000:]
    left = [p for p in remote.rglob("*") if p.is_file()] if remote.exists() else []
    assert left == [], left
