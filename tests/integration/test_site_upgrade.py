"""The canary upgrade by revision, on the Helm and the istioctl method (upgrade.yml, then site.yml with the revision
recorded): a file of its own, so that pytest-xdist's --dist loadfile spreads the long site tests over the workers."""

import json
import subprocess

from kubernetes import client, config

from tests.integration.test_site import MESH, SITE, deploy_shop, inventory
from tests.support.ansible_runner import REPO, run_playbook
from tests.support.cluster import ISTIO_VERSION


def test_helm_canary_upgrade_moves_tags_namespaces_and_gateways(kube_api, kubeconfig, istio_chart_repo, tmp_path):
    """Istio's Helm canary: an istiod release per revision, the gateways upgraded in place (chart value revision),
    the default tag moved through the istiod chart's revisionTags value, the old release removed."""
    kube_api.remove_istio_crds()
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": "helm",
                                       "aksmesh_revision": "1-31-0", "aksmesh_istio_version": ISTIO_VERSION,
                                       "istio_helm_repo": istio_chart_repo}},
                    dict(MESH, aksmesh_target="cluster"))
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, [(r["task"], r["result"].get("msg")) for r in first.results if r["status"] == "failed"]
    api = config.new_client_from_config(kubeconfig)
    core, admission = client.CoreV1Api(api), client.AdmissionregistrationV1Api(api)

    def tags():
        return {w.metadata.labels["istio.io/tag"]: w.metadata.labels["istio.io/rev"] for w in
                admission.list_mutating_webhook_configuration(label_selector="istio.io/tag").items}

    def releases():
        return sorted(s.metadata.labels["name"] for s in core.list_namespaced_secret(
            "istio-system", label_selector="owner=helm,status=deployed").items)
    assert tags() == {"default": "1-31-0"} and releases() == ["istio-base", "istiod-1-31-0"]
    assert core.read_namespace("shop").metadata.labels["istio.io/rev"] == "1-31-0"
    svc_before = core.read_namespaced_service("istio-ingress", "istio-ingress")
    up = dict(aksmesh_upgrade_to_revision="1-31-1", aksmesh_upgrade_remove_old=True)
    run = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars=up)
    assert run.rc == 0, [(r["task"], r["result"].get("msg")) for r in run.results if r["status"] == "failed"]
    assert releases() == ["istio-base", "istiod-1-31-1"] and tags() == {"default": "1-31-1"}
    assert core.read_namespace("shop").metadata.labels["istio.io/rev"] == "1-31-1"
    svc = core.read_namespaced_service("istio-ingress", "istio-ingress")
    assert svc.metadata.uid == svc_before.metadata.uid  # upgraded in place, not re-created
    gateway = client.AppsV1Api(api).read_namespaced_deployment("istio-ingress", "istio-ingress")
    assert gateway.spec.template.metadata.labels["istio.io/rev"] == "1-31-1"
    again = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv,
                         extra_vars=dict(up, aksmesh_upgrade_from_revision="1-31-0"))
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]
    # a tag another revision's release holds is refused before any chart changes
    kube_api.clear_log()
    stolen = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={
        "aksmesh_revision": "1-31-2", "istio_helm_allow_new_revision": True})
    assert stolen.rc != 0 and "revision tag(s) default belong to revision(s) 1-31-1" in stolen.stdout
    assert not [w for w in kube_api.writes() if "/secrets" in w.path and w.method == "POST"]
    deploy_shop(kubeconfig)
    recorded = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_revision": "1-31-1"})
    assert recorded.rc == 0 and recorded.changed == [], [r["task"] for r in recorded.changed]


def test_upgrade_by_revision_moves_namespaces_and_removes_the_old_one(kube_api, kubeconfig, tmp_path, kubectl_env):
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig}},
                    dict(MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False))
    assert run_playbook(SITE, tmp_path, inventory=inv).rc == 0
    api = config.new_client_from_config(kubeconfig)
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("shop", {
        "metadata": {"name": "productpage"}, "spec": {"selector": {"matchLabels": {"app": "productpage"}}, "template": {
            "metadata": {"labels": {"app": "productpage"}},
            "spec": {"containers": [{"name": "app", "image": "docker.io/istio/examples-bookinfo-productpage-v1"}]}}}})

    def ingress():
        svc = client.CoreV1Api(api).read_namespaced_service("istio-ingressgateway", "istio-ingress")
        return svc if svc.status.load_balancer.ingress else None
    ingress_before = kube_api.wait_for(ingress, "the ingress IP")
    up = dict(aksmesh_upgrade_to_revision="1-30-1", aksmesh_upgrade_version="1.30.1", aksmesh_upgrade_restart=True,
              aksmesh_upgrade_remove_old=True)
    run = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars=up,
                       env={"KUBECACHEDIR": kubectl_env["KUBECACHEDIR"]})
    assert run.rc == 0, run.stdout[-4000:]
    labels = client.CoreV1Api(api).read_namespace("shop").metadata.labels
    assert labels.get("istio.io/rev") == "1-30-1" and "istio-injection" not in labels
    kube_api.wait_for(lambda: [d.metadata.labels["istio.io/rev"] for d in apps.list_deployment_for_all_namespaces(
        label_selector="app=istiod").items] == ["1-30-1"], "only the new istiod to be left")
    # the gateways were upgraded in place, so removing the old revision kept them, static IP included
    svc = client.CoreV1Api(api).read_namespaced_service("istio-ingressgateway", "istio-ingress")
    assert svc.metadata.uid == ingress_before.metadata.uid and svc.metadata.labels["istio.io/rev"] == "1-30-1"
    assert svc.status.load_balancer.ingress[0].ip == ingress_before.status.load_balancer.ingress[0].ip
    tags = subprocess.run(["istioctl", "tag", "list", "-o", "json", "--kubeconfig", kubeconfig], capture_output=True,
                          text=True, check=True).stdout
    assert [t["revision"] for t in json.loads(tags) if t["tag"] == "default"] == ["1-30-1"]
    restarted = apps.read_namespaced_deployment("productpage", "shop").spec.template.metadata.annotations
    assert "kubectl.kubernetes.io/restartedAt" in (restarted or {})
    assert restarted["aksmesh.io/restarted-for-revision"] == "1-30-1"
    bad = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv, extra_vars={"aksmesh_upgrade_to_revision": ""})
    assert bad.rc != 0 and "set aksmesh_upgrade_to_revision" in bad.stdout
    # an ambient mesh's upgrade (istiod by revision, ztunnel and the CNI agent in place) is refused, writing nothing
    kube_api.clear_log()
    ambient = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv,
                           extra_vars=dict(up, aksmesh_dataplane_mode="ambient"))
    assert ambient.rc != 0 and "aksmesh_dataplane_mode is ambient, and upgrade.yml upgrades a sidecar mesh only" in \
        ambient.stdout, ambient.stdout[-3000:]
    assert kube_api.writes() == []
    # a second upgrade run to the same revision changes nothing (restarts included: once per revision)
    again = run_playbook(REPO / "upgrade.yml", tmp_path, inventory=inv,
                         extra_vars=dict(up, aksmesh_upgrade_from_revision="default"))
    assert again.rc == 0, [(r["task"], r["result"].get("msg")) for r in again.results if r["status"] == "failed"]
    assert again.changed == [], [r["task"] for r in again.changed]
    # site.yml with the inventory from before the upgrade would install a default revision next to 1-30-1: refused
    kube_api.clear_log()
    stale = run_playbook(SITE, tmp_path, inventory=inv)
    assert stale.rc != 0 and "the cluster runs Istio revision(s) 1-30-1" in stale.stdout
    assert "set aksmesh_revision" in stale.stdout
    assert not [w for w in kube_api.writes() if "istio-system" in w.path and "deployments" in w.path]
    # with the revision recorded, site.yml agrees with the cluster and changes nothing
    deploy_shop(kubeconfig)  # the routes' hosts (istioctl analyze reports routes to missing hosts)
    recorded = run_playbook(SITE, tmp_path, inventory=inv,
                            extra_vars={"aksmesh_revision": "1-30-1", "istio_install_tag": "1.30.1"})
    assert recorded.rc == 0, [(r["task"], r["result"].get("msg")) for r in recorded.results if r["status"] == "failed"]
    assert recorded.changed == [], [r["task"] for r in recorded.changed]
