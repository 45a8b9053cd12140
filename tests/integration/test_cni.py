"""aksmesh_cni: the Istio CNI node agent with the real istioctl and the real cni chart, and the pre-flight that keeps
it off clusters whose network plugin it cannot chain to."""

import json
import pathlib

import pytest
import yaml

from tests.integration.test_check_mode import check_then_apply
from tests.integration.test_site import MESH, inventory
from tests.support.ansible_runner import REPO, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION

SITE = REPO / "site.yml"
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
       "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}


def rendered(folder):
    """Every object under a render folder."""
    out = []
    for path in sorted(pathlib.Path(folder).rglob("*.yaml")):
        out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def named(objs, kind, name):
    return [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]


def render_play(render_dir, method, role):
    return [{"name": "render", "hosts": "localhost", "gather_facts": False,
             "vars": {"aksmesh_target": "render", "aksmesh_render_dir": str(render_dir),
                      "aksmesh_install_method": method, "aksmesh_cni": True, "aksmesh_istio_version": ISTIO_VERSION,
                      # the Helm method as Flux HelmReleases (the charts' own objects: test_site's render tests)
                      "aksmesh_render_helm_as": "flux"},
             "roles": [{"role": "aksmesh.istio.settings"}, {"role": role}]}]


def test_render_holds_the_cni_daemonset_from_istioctl_and_the_cni_helm_release(tmp_path):
    """istioctl path: the real `istioctl manifest generate` of the built IstioOperator; Helm path: Flux
    HelmReleases, istiod after the cni chart."""
    run = run_playbook(render_play(tmp_path / "istioctl", "istioctl", "aksmesh.istio.istio_install"), tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    operator = run.task("Build the IstioOperator")[0]["result"]["ansible_facts"]["istio_install_operator"]
    assert operator["spec"]["components"]["cni"] == {"enabled": True, "namespace": "istio-system"}
    objs = rendered(tmp_path / "istioctl")
    (daemonset,) = named(objs, "DaemonSet", "istio-cni-node")
    assert daemonset["metadata"]["namespace"] == "istio-system"
    assert daemonset["spec"]["template"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert named(objs, "ConfigMap", "istio-cni-config")
    (injector,) = named(objs, "ConfigMap", "istio-sidecar-injector")
    assert json.loads(injector["data"]["values"])["pilot"]["cni"]["enabled"] is True

    run = run_playbook(render_play(tmp_path / "helm", "helm", "aksmesh.istio.istio_helm"), tmp_path)
    assert run.rc == 0, run.stdout[-3000:]
    objs = rendered(tmp_path / "helm")
    (cni,) = named(objs, "HelmRelease", "istio-cni")
    assert cni["spec"]["chart"]["spec"]["chart"] == "cni" and cni["spec"]["targetNamespace"] == "istio-system"
    (istiod,) = named(objs, "HelmRelease", "istiod")
    assert {"name": "istio-cni", "namespace": "istio-system"} in istiod["spec"]["dependsOn"]
    assert istiod["spec"]["values"]["pilot"] == {"cni": {"enabled": True}}


def helm_play(kubeconfig, repo, **role_vars):
    return role_play(kubeconfig, [{"role": "aksmesh.istio.istio_helm", "vars": dict({
        "istio_helm_repo": repo, "istio_helm_ingress_enabled": False, "istio_helm_egress_enabled": False},
        **role_vars)}], name="helm", aksmesh_install_method="helm", aksmesh_cni=True,
        aksmesh_istio_version=ISTIO_VERSION)


def injected_init_containers(kube_api):
    """The init containers istiod's injector gives a new pod in an injected namespace."""
    kube_api.create({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}}})

    def created():  # the local istiod serves the webhook once it has started
        status, out = kube_api.api("POST", "/api/v1/namespaces/shop/pods", POD)
        return out if status < 400 else None
    pod = kube_api.wait_for(created, "the injection webhook to admit a pod", timeout=120)
    return [c["name"] for c in pod["spec"].get("initContainers", [])]


def test_helm_installs_the_cni_chart_on_every_node_then_nothing_and_cleanup_removes_it(
        kube_api, kubeconfig, istio_chart_repo, tmp_path):
    kube_api.remove_istio_crds()  # the base chart owns them on the Helm path
    kube_api.clear_log()
    check = run_playbook(helm_play(kubeconfig, istio_chart_repo), tmp_path, check=True)
    assert check.rc == 0, check.stdout[-4000:]
    assert kube_api.writes() == []
    first = run_playbook(helm_play(kubeconfig, istio_chart_repo), tmp_path)
    assert first.rc == 0, first.stdout[-4000:]
    assert [r["item"]["name"] for r in first.task("Install or upgrade the charts")[0]["result"]["results"]] == [
        "istio-base", "istio-cni", "istiod"]
    releases = kube_api.get("v1", "Secret", "istio-system")
    assert {s["metadata"]["labels"]["name"] for s in releases if s["metadata"].get("labels", {}).get(
        "owner") == "helm"} == {"istio-base", "istio-cni", "istiod"}
    nodes = [n for n in kube_api.get("v1", "Node") if n["metadata"]["labels"].get("kubernetes.io/os") == "linux"]

    def ready_everywhere():
        found = kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node")
        return found if found and found.get("status", {}).get("numberReady") == len(nodes) else None
    daemonset = kube_api.wait_for(ready_everywhere, "istio-cni-node ready on every node")
    assert daemonset["status"]["desiredNumberScheduled"] == len(nodes) == 3
    # injection without the privileged istio-init container: the CNI plugin redirects the traffic
    inits = injected_init_containers(kube_api)
    assert "istio-validation" in inits and "istio-init" not in inits, inits

    kube_api.clear_log()
    second = run_playbook(helm_play(kubeconfig, istio_chart_repo), tmp_path)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    assert not [w for w in kube_api.writes() if "/secrets" in w.path and w.method in ("POST", "PUT")]

    # cleanup.yml removes the cni release with the others, in reverse order, also once aksmesh_cni is gone
    inv = inventory(tmp_path, {"aks": {
        "aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": "helm",
        "aksmesh_addons": False}})
    gone = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv)
    assert gone.rc == 0, gone.stdout[-4000:]
    removed = [r["item"]["name"] for r in gone.task("Install or upgrade the charts")[0]["result"]["results"]
               if r["changed"]]
    assert removed == ["istiod", "istio-cni", "istio-base"]  # (the gateways were never installed here)
    assert kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node") is None
    again = run_playbook(REPO / "cleanup.yml", tmp_path, inventory=inv)
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]


def install_play(kubeconfig, **role_vars):
    return role_play(kubeconfig, [{"role": "aksmesh.istio.istio_install", "vars": dict({
        "istio_install_tag": ISTIO_VERSION, "istio_install_ingress_enabled": False,
        "istio_install_egress_enabled": False, "istio_install_hpa_min": 1},
        **role_vars)}], name="istio", aksmesh_cni=True)


def test_istioctl_installs_the_cni_component_then_nothing_and_purge_removes_it(kube_api, kubeconfig, tmp_path):
    check = run_playbook(install_play(kubeconfig), tmp_path, check=True)
    assert check.rc == 0, check.stdout[-4000:]
    assert kube_api.writes() == []
    first = run_playbook(install_play(kubeconfig), tmp_path)
    assert first.rc == 0, first.stdout[-4000:]
    daemonset = kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node")
    assert daemonset and daemonset["metadata"]["labels"]["operator.istio.io/component"] == "Cni"
    inits = injected_init_containers(kube_api)
    assert "istio-validation" in inits and "istio-init" not in inits, inits
    kube_api.clear_log()
    second = run_playbook(install_play(kubeconfig), tmp_path)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    purge = run_playbook([{"name": "purge", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "aksmesh.istio.istio_install": {"state": "absent", "purge": True, "kubeconfig": kubeconfig}}]}], tmp_path)
    assert purge.rc == 0 and purge.changed, purge.stdout[-4000:]
    # istioctl uninstall deletes it in the background (its pods' grace period first): gone, not only deleting
    kube_api.wait_for(lambda: kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node") is None,
                      "the CNI DaemonSet to be deleted")


def test_preflight_refuses_a_network_plugin_the_cni_cannot_chain_to_before_any_write(
        arm, aks, azure_env, kube_api, tmp_path):
    """Azure CNI powered by Cilium: site.yml stops at pre-flight, naming the setting and the fix; neither Azure nor
    the cluster sees a write."""
    aks["properties"]["networkProfile"].update(networkPluginMode="overlay", networkDataplane="cilium",
                                               networkPolicy="cilium")
    inv = inventory(tmp_path, {"aks": {
        "aksmesh_resource_group": "rg", "aksmesh_cluster_name": "aks", "aksmesh_target": "cluster",
        "aksmesh_install_method": "helm", "aksmesh_cni": True, "aksmesh_addons": False,
        "aksmesh_istioctl_download": False, "aks_credentials_dest": str(tmp_path / "kube" / "aks.yaml"),
        # the stages' own pre-flights (the credentials among them) pass: the AKS pre-flight is what refuses
        "aksmesh_grafana_passphrase": "graf-Pass-123", "aksmesh_kiali_passphrase": "kiali-Pass-456"}})
    kube_api.clear_log()
    run = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env)
    assert run.rc != 0, run.stdout[-3000:]
    failures = [r for r in run.results if r["status"] == "failed"]
    assert len(failures) == 1, run.stdout[-3000:]
    failed = failures[0]
    assert failed["task"].endswith("Check the AKS cluster can run Istio"), failed["task"]
    msg = failed["result"]["msg"]
    assert "networkProfile.networkDataplane: cilium" in msg and "cni.exclusive: false" in msg
    assert "Fix: set aksmesh_cni: false" in msg and "aks_preflight_cni_chaining_confirmed" in msg
    writes = [r for r in arm.requests() if r.method != "GET" and not r.path.endswith("/token")
              and not r.path.endswith("/listClusterUserCredential")]
    assert writes == [], [(r.method, r.path) for r in writes]
    assert kube_api.writes() == []
    # confirmed (the user checked Cilium's cni.exclusive), the same profile only warns
    confirmed = run_playbook(SITE, tmp_path, inventory=inv, env=azure_env, tags="credentials,preflight",
                             extra_vars={"aks_preflight_cni_chaining_confirmed": True})
    assert confirmed.rc == 0, confirmed.stdout[-3000:]
    assert "going on because cni_chaining_confirmed is true" in confirmed.stdout


def test_istioctl_canary_upgrade_keeps_the_cni_agent(kube_api, kubeconfig, tmp_path):
    """The node agent is one per cluster: the new revision's install takes the DaemonSet over in place, so removing
    the old revision leaves it running."""
    inv = inventory(tmp_path, {"aks": {
        "aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "aksmesh_cni": True,
        "aksmesh_istioctl_download": False, "istio_install_tag": ISTIO_VERSION, "istio_install_hpa_min": 1,
        "istio_install_ingress_enabled": False, "istio_install_egress_enabled": False}})
    first = run_playbook(install_play(kubeconfig), tmp_path)
    assert first.rc == 0, first.stdout[-4000:]
    before = kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node")
    run = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars={
        "aksmesh_upgrade_to_revision": "1-30-1", "aksmesh_upgrade_version": "1.30.1",
        "aksmesh_upgrade_remove_old": True})
    assert run.rc == 0, run.stdout[-4000:]
    after = kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node")
    assert after and after["metadata"]["uid"] == before["metadata"]["uid"], after
    assert after["metadata"]["labels"]["istio.io/rev"] == "1-30-1"


# the istioctl method's check mode with the CNI agent: roles/test_sample.py (the sample on as well, one site.yml pair)
@pytest.mark.parametrize("method", ["helm"])
def test_site_check_mode_announces_the_cni_agent_it_then_creates(method, kube_api, kubeconfig, istio_chart_repo,
                                                                 tmp_path):
    """site.yml --check --diff at -vvv on a fresh cluster through a kubeconfig, for the Helm method with the CNI
    node agent on: it announces every object the real run then creates (the agent's DaemonSet among them), writes
    nothing and prints no secret (test_check_mode.check_then_apply)."""
    kube_api.remove_istio_crds()  # a fresh cluster
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": method,
                                       "aksmesh_istio_version": ISTIO_VERSION, "istio_helm_repo": istio_chart_repo,
                                       "istio_install_tag": ISTIO_VERSION}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False, aksmesh_cni=True))
    check_then_apply(kube_api, tmp_path, inv)
    assert kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node")
