"""`site.yml --check --diff` on a fresh cluster tells the truth: rc 0, nothing written on the API server or in
Azure, no kubeconfig left behind, and what it says it would create is what the real run then creates."""

import base64
import pathlib

from kubernetes import client, config

from tests.integration.test_site import LEGACY, MESH, PASSPHRASES, SITE, inventory
from tests.support.ansible_runner import run_playbook

# the field managers of what the collection writes itself (apply, injection, restarts) and through the tools
OURS = ("aksmesh", "istioctl", "istio-operator", "helm")


def would_create(run):
    """(kind, namespace, name) of every object the check-mode run reports as one it would create."""
    out = set()

    def collect(res):
        for entry in res.get("results") or []:
            if isinstance(entry, dict) and entry.get("action") == "created":  # apply
                out.add((entry["kind"], entry.get("namespace"), entry["name"]))
            elif isinstance(entry, dict) and "action" not in entry:  # a loop's item result
                collect(entry)
        for entry in res.get("manifest_changes") or []:  # istio_install, helm_release
            if entry["action"] == "create":
                out.add((entry["kind"], entry.get("namespace"), entry["name"]))
        for entry in res.get("namespaces") or []:  # injection
            if isinstance(entry, dict) and entry.get("action") == "created":
                out.add(("Namespace", None, entry["name"]))
    for r in run.results:
        collect(r["result"])
    return out


def created_by_us(kube_api, before):
    """(kind, namespace, name) of the objects that appeared since ``before`` (a snapshot) and were written by the
    collection or the tools it drives, not by a controller reacting to them."""
    out = set()
    for api_version, kind, namespace, name in kube_api.snapshot() - before:
        obj = kube_api.get(api_version, kind, namespace, name)
        managers = {m.get("manager", "") for m in (obj or {}).get("metadata", {}).get("managedFields") or []}
        if any(m.startswith(OURS) for m in managers):
            out.add((kind, namespace, name))
    return out


def assert_no_secret_in(run, secrets):
    """None of ``secrets`` (passphrases plain and base64, tokens) in anything the run printed."""
    printed = run.stdout + run.stderr
    assert [s[:4] + "..." for s in secrets if s and s in printed] == []


def check_then_apply(kube_api, tmp_path, inv, env=None, arm=None):
    before = kube_api.snapshot()
    kube_api.clear_log()
    # at -vvv --diff: every module's arguments and results are printed, and none may hold a secret
    check = run_playbook(SITE, tmp_path, inventory=inv, env=env, check=True, diff=True, verbosity=3)
    secrets = [kube_api.token] + [v for p in PASSPHRASES for v in (p, base64.b64encode(p.encode()).decode())]
    if arm is not None:  # the service principal's secret and the ARM access token it was exchanged for
        secrets += [env["AZURE_SECRET"], "loopback-arm-token"]
    assert_no_secret_in(check, secrets)
    failed = [(r["task"], r["result"].get("msg")) for r in check.results if r["status"] == "failed"]
    assert check.rc == 0, failed
    assert kube_api.writes() == [], [(w.method, w.path) for w in kube_api.writes()]
    assert kube_api.snapshot() == before
    if arm is not None:  # fetching credentials is a POST that reads; nothing else may reach ARM but reads
        assert [r.path for r in arm.requests() if r.method not in ("GET",)
                and not r.path.endswith(("/listClusterUserCredential", "/oauth2/v2.0/token"))] == []
    planned = would_create(check)
    real = run_playbook(SITE, tmp_path, inventory=inv, env=env)
    assert real.rc == 0, real.stdout[-3000:]
    created = created_by_us(kube_api, before)
    assert created - planned == set(), "created by the real run but not announced by --check"
    assert planned - created == set(), "announced by --check but not created by the real run"
    return check


def test_check_mode_through_azure_on_a_fresh_cluster(arm, aks, azure_env, kube_api, tmp_path):
    kube_api.remove_istio_crds()  # a fresh cluster: istioctl install brings them
    kubeconfig = tmp_path / "kube" / "aks.yaml"
    inv = inventory(tmp_path, {"aks": {"aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks",
                                       "aks_credentials_dest": str(kubeconfig), "aks_static_ip_dns_label": "shop"}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False))
    arm.clear_log()
    check = check_then_apply(kube_api, tmp_path, inv, env=azure_env, arm=arm)
    # the kubeconfig was fetched into a private temporary file for the dry run, and removed at its end
    creds = check.task("Fetch the cluster kubeconfig into a private per-cluster file")[0]["result"]
    assert creds["temporary"] is True and creds["path"] != str(kubeconfig)
    assert creds["changed"] is True
    assert not pathlib.Path(creds["path"]).exists()
    assert kubeconfig.exists()  # written by the real run only


# check_then_apply on the other paths, each in the test of what it adds (one site.yml pair each, as CI's time is
# counted): the istioctl method through a kubeconfig with the sample and the CNI node agent on
# (roles/test_sample.py), and the Helm method through a kubeconfig with the CNI node agent (test_cni.py)


def test_check_mode_announces_what_manual_injection_creates_on_a_fresh_cluster(kube_api, kubeconfig, tmp_path):
    """The control plane is only planned, so no injection template can be read: the run still reports the
    Namespace and the Deployment manual injection would create (changed, in the diff), and writes nothing."""
    kube_api.remove_istio_crds()
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig, "mesh_injection_manual": [LEGACY]}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False))
    before = kube_api.snapshot()
    kube_api.clear_log()
    check = run_playbook(SITE, tmp_path, inventory=inv, check=True, diff=True, tags="install,injection")
    assert check.rc == 0, [(r["task"], r["result"].get("msg")) for r in check.results if r["status"] == "failed"]
    assert kube_api.writes() == [] and kube_api.snapshot() == before
    injected = check.task("Inject with istioctl kube-inject and the revision's template")[0]["result"]
    assert injected["pending"] == ["Deployment legacy/web"] and injected["source"]["from"] == "planned", injected
    assert {("Namespace", None, "legacy"), ("Deployment", "legacy", "web")} <= would_create(check)
    applied = check.task("Apply the waypoints and the injected workloads, or render them with the labelled "
                         "namespaces")[0]["result"]
    assert applied["changed"] is True, applied
    said = check.task("Report the manual injection")[0]["result"]["msg"]
    assert said.startswith("would inject Deployment legacy/web once revision default is installed in "
                           "istio-system"), said


def test_check_mode_aks_addon_on_a_fresh_cluster(arm, aks, azure_env, kube_api, tmp_path):
    """The add-on brings its namespaces and the Istio CRDs: the dry run plans them and writes nothing; then (as
    the emulated add-on does not run in the test cluster) they are made as AKS would, and the real run creates
    the rest, all of it announced."""
    crds = [c for c in kube_api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            if c["spec"]["group"].endswith("istio.io")]
    kube_api.remove_istio_crds()
    inv = inventory(tmp_path, {"aks": {
        "aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks", "aks_credentials_dest": str(tmp_path / "kc"),
        "aksmesh_install_method": "aks_addon", "aksmesh_revision": "asm-1-28", "mesh_gateways_read_ingress": False,
        "mesh_egress_hosts": []}}, dict(MESH, aksmesh_target="cluster"))
    before = kube_api.snapshot()
    kube_api.clear_log()
    check = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env, check=True, diff=True)
    assert check.rc == 0, [(r["task"], r["result"].get("msg")) for r in check.results if r["status"] == "failed"]
    assert kube_api.writes() == [] and kube_api.snapshot() == before
    addon = check.task("Manage the AKS Istio add-on")[0]["result"]
    assert addon["planned"]["namespaces"] == ["aks-istio-ingress", "aks-istio-system"]
    assert arm.resources[arm.cluster_id("rg", "aks").lower()]["properties"].get("serviceMeshProfile", {}).get(
        "mode", "Disabled") == "Disabled"
    planned = would_create(check)
    admin = config.new_client_from_config_dict(kube_api.kubeconfig())  # what the add-on makes in the cluster
    for crd in crds:
        client.ApiextensionsV1Api(admin).create_custom_resource_definition(
            {k: v for k, v in crd.items() if k in ("apiVersion", "kind", "spec")} | {
                "metadata": {"name": crd["metadata"]["name"]}})
    for ns in ("aks-istio-system", "aks-istio-ingress"):
        client.CoreV1Api(admin).create_namespace({"metadata": {"name": ns}})
    made_by_addon = kube_api.snapshot()
    real = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert real.rc == 0, real.stdout[-3000:]
    assert created_by_us(kube_api, made_by_addon) == planned
