"""site.yml end to end on the Helm method and the no-op runs with the addons on (a file of its own, so that
pytest-xdist's --dist loadfile spreads the site tests over the workers; the upgrades are in test_site_upgrade.py)."""

import json

import yaml
from kubernetes import client, config

from tests.integration.test_site import (MESH, SITE, apply_render_folders, assert_a_gitops_resync_conflicts_with_nothing,
                                         assert_a_second_apply_changes_nothing, assert_policies_select_gateway_pods,
                                         deploy_shop, inventory)
from tests.support.ansible_runner import run_playbook
from tests.support.cluster import ISTIO_VERSION


def test_helm_install_method(kube_api, kubeconfig, istio_chart_repo, tmp_path):
    """The Helm method, every default stage on, the addons included (from a local copy of Istio's samples/addons), run
    by an identity with exactly the published ClusterRoles; a second run is a no-op (issue 27: changed=0 in the
    recap, no write), as test_a_second_run_with_the_addons_on_changes_nothing checks it for istioctl."""
    from tests.integration.roles.test_mesh_roles import addons_dir
    from tests.integration.test_rbac import runner_bound_to_the_published_roles
    kube_api.remove_istio_crds()  # on the Helm path they come from the base chart, which must own them
    host = {"aksmesh_install_method": "helm", "aksmesh_ingress_ip": "51.124.1.2",
            "aksmesh_ingress_ip_resource_group": "rg-network", "aksmesh_istio_version": ISTIO_VERSION,
            "istio_helm_repo": istio_chart_repo, "mesh_addons_source_dir": addons_dir(tmp_path)}
    # run by an identity that holds exactly the ClusterRoles rbac.yml writes for the Helm method (issue 23 §6)
    inv = runner_bound_to_the_published_roles(kube_api, kubeconfig, tmp_path, lambda runner: inventory(
        tmp_path, {"aks": dict(host, aksmesh_kubeconfig=runner)},
        dict(MESH, aksmesh_target="cluster", aksmesh_addons=True)))
    first = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_poll_interval": 1})  # progress lines
    assert first.rc == 0, first.stdout[-4000:]
    assert first.task("Apply the addons")[0]["result"]["changed"]
    charts = first.output_of("Install or upgrade the charts")
    assert "waiting for each release's workloads to be ready; timeout: 5m0s]" in charts, charts
    assert charts.count("ASYNC OK on aks") == 4 and "ASYNC POLL on aks: jid=" in charts, charts
    api = config.new_client_from_config(kubeconfig)
    svc = client.CoreV1Api(api).read_namespaced_service("istio-ingress", "istio-ingress")
    assert svc.metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == "51.124.1.2"
    assert svc.spec.load_balancer_ip is None
    assert_policies_select_gateway_pods(api, {"istio-ingress": {"istio": "ingress"},
                                              "istio-egress": {"istio": "egressgateway"}})
    # Helm path parity with istioctl: Linux nodes, two replicas at least, PodDisruptionBudgets
    istiod = client.AppsV1Api(api).read_namespaced_deployment("istiod", "istio-system")
    assert istiod.spec.template.spec.node_selector == {"kubernetes.io/os": "linux"}
    hpas = client.AutoscalingV2Api(api).list_horizontal_pod_autoscaler_for_all_namespaces().items
    assert {(h.metadata.namespace, h.spec.min_replicas) for h in hpas} >= {
        ("istio-system", 2), ("istio-ingress", 2), ("istio-egress", 2)}
    pdbs = client.PolicyV1Api(api).list_pod_disruption_budget_for_all_namespaces().items
    assert {p.metadata.namespace for p in pdbs} >= {"istio-system", "istio-ingress", "istio-egress"}
    mesh = yaml.safe_load(client.CoreV1Api(api).read_namespaced_config_map("istio", "istio-system").data["mesh"])
    assert mesh["enablePrometheusMerge"] is True and mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert {"name": "otel-tracing", "opentelemetry": {"service": "jaeger-collector.istio-system.svc.cluster.local",
                                                      "port": 4317}} in mesh["extensionProviders"]
    assert svc.metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"] == "rg-network"
    secrets = client.CoreV1Api(api).list_namespaced_secret("istio-system", label_selector="owner=helm").items
    assert sorted(s.metadata.labels["name"] for s in secrets) == ["istio-base", "istiod"]
    gw = client.CustomObjectsApi(api).get_namespaced_custom_object(
        "networking.istio.io", "v1", "istio-ingress", "gateways", "shop-gw")
    assert gw["spec"]["selector"] == {"istio": "ingress"}
    deploy_shop(kubeconfig)
    kube_api.clear_log()
    last = report_analysis(tmp_path)
    second = run_playbook(SITE, tmp_path, inventory=inv)
    assert second.rc == 0 and second.changed == [], [r["task"] for r in second.changed]
    assert recap_changed(second) == {"aks": 0}, second.stdout[-2000:]
    assert_wrote_nothing(kube_api)
    assert_analyzed_unless_the_last_analysis_was_clean(second, last)
    # the Helm method is analyzed after the last stage like the others
    analysis = second.task("Analyze the live mesh with istioctl")[0]["result"]
    assert not analysis.get("failed") and {"shop", "istio-system"} <= set(analysis["namespaces"]), analysis
    # a GitOps re-sync of the render (aksmesh_render_helm_as: manifests, the default): the charts' objects as helm
    # install left them, every folder, 10-istio-helm included, conflicts with nothing helm or the collection applied
    assert_a_gitops_resync_conflicts_with_nothing(kube_api, tmp_path, host, MESH)
    # a revision the cluster does not run would be a second istiod release: refused before any chart changes
    kube_api.clear_log()
    other = run_playbook(SITE, tmp_path, inventory=inv, extra_vars={"aksmesh_revision": "1-31-0"})
    assert other.rc != 0 and "the cluster runs Istio revision(s) default" in other.stdout
    assert not [w for w in kube_api.writes() if "/secrets" in w.path and "istio-system" in w.path
                and w.method == "POST"]


def test_the_helm_method_renders_manifests_that_plain_kubectl_applies(kube_api, istio_chart_repo, tmp_path):
    """The Helm method's render as manifests (the default of aksmesh_render_helm_as): the charts' objects, no Flux
    kind, which `kubectl apply --server-side -R -f` of each folder in turn applies to a cluster without Istio (the
    base chart's CRDs first: they sort first in the first folder), as helm install leaves them (helm's ownership
    label and annotations); a second apply changes nothing."""
    out = tmp_path / "out" / "aks"
    host = {"aksmesh_render_dir": str(out), "aksmesh_install_method": "helm", "aksmesh_istio_version": ISTIO_VERSION,
            "istio_helm_repo": istio_chart_repo}
    inv = inventory(tmp_path, {"aks": host}, dict(MESH, aksmesh_target="render"))
    run = run_playbook(SITE, tmp_path, inventory=inv)
    assert run.rc == 0, run.stdout[-3000:]
    summary = run.task("Summary")[0]["result"]["msg"]
    assert any("for any GitOps tool (Argo CD, Flux) or kubectl apply" in line for line in summary), summary
    files = sorted(out.rglob("*.yaml"))
    objs = dict((path, yaml.safe_load(path.read_text())) for path in files)
    assert not [p for p, o in objs.items() if "fluxcd.io" in o["apiVersion"]]
    helm_folder = sorted(p for p in out.iterdir() if p.is_dir())[0]
    assert helm_folder.name == "10-istio-helm"
    charts = sorted(p.name for p in helm_folder.iterdir())
    assert charts[0].startswith("00-namespace-"), charts
    assert "01-customresourcedefinition--cluster-gateways.networking.istio.io.yaml" in charts, charts
    istiod = objs[helm_folder / "deployment-istio-system-istiod.yaml"]
    assert istiod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
    assert istiod["metadata"]["annotations"] == {"meta.helm.sh/release-name": "istiod",
                                                 "meta.helm.sh/release-namespace": "istio-system"}
    assert "helm.sh/hook" not in json.dumps(list(objs.values()))
    kube_api.remove_istio_crds()
    apply_render_folders(kube_api, sorted(p for p in out.iterdir() if p.is_dir()), files)
    assert kube_api.get("apps/v1", "Deployment", "istio-system", "istiod")
    assert kube_api.get("apps/v1", "Deployment", "istio-ingress", "istio-ingress")
    assert kube_api.get("security.istio.io/v1", "PeerAuthentication", "istio-system", "default")
    assert kube_api.get("networking.istio.io/v1", "Gateway", "istio-ingress", "shop-gw")
    assert_a_second_apply_changes_nothing(kube_api, out, files, tmp_path / "again")


def site_with_addons(kubeconfig, tmp_path):
    """The inventory of one cluster, istioctl method, with every default stage on, the addons included (from a local
    copy of Istio's samples/addons: no download), the sample off."""
    from tests.integration.roles.test_mesh_roles import addons_dir
    host = {"aksmesh_kubeconfig": kubeconfig, "aksmesh_install_method": "istioctl",
            "mesh_addons_source_dir": addons_dir(tmp_path)}
    return inventory(tmp_path, {"aks": host}, dict(MESH, aksmesh_target="cluster", aksmesh_addons=True,
                                                   aksmesh_sample=False))


def assert_wrote_nothing(kube_api):
    """No write request since the log was cleared (the access reviews a run asks create nothing: not writes)."""
    assert kube_api.writes() == [], kube_api.writes()


def recap_changed(run):
    """changed=<n> of each host's PLAY RECAP line, as the user reads it."""
    lines = run.stdout.split("PLAY RECAP", 1)[-1].splitlines()
    return {line.split()[0]: int(line.split("changed=", 1)[1].split()[0]) for line in lines if "changed=" in line}


def report_analysis(tmp_path):
    return json.loads((tmp_path / "reports" / "aks.json").read_text())["analysis"]


def assert_analyzed_unless_the_last_analysis_was_clean(run, last):
    """A run that changed nothing leaves out istioctl analyze exactly when the last analysis (the report of the
    run before) found nothing that fails a run (aksmesh_lint_fail_level: Error); the summary says so. The mesh lint
    runs on every run."""
    analyzed = run.task("Analyze the live mesh with istioctl")[0]
    summary = run.task("Summary")[0]["result"]["msg"]
    said = [line for line in summary if line.startswith("istioctl analyze: not run - no stage changed anything")]
    if last["istioctl"].get("Error", 1) == 0:
        assert analyzed["status"] == "skipped" and said, summary
    else:
        assert analyzed["status"] == "ok" and not said, summary
    assert run.task("Lint the mesh configuration (the render folder, or the live mesh)")[0]["status"] == "ok"


def test_a_second_run_with_the_addons_on_changes_nothing(kube_api, kubeconfig, tmp_path):
    """Issue 27: a no-op site.yml run, every default stage on (the addons included), reports changed=0 in its recap;
    nothing is written to the cluster. The istioctl method here; the Helm method's in test_helm_install_method."""
    inv = site_with_addons(kubeconfig, tmp_path)
    first = run_playbook(SITE, tmp_path, inventory=inv)
    assert first.rc == 0, [(r["task"], r["result"].get("msg")) for r in first.results if r["status"] == "failed"]
    assert first.task("Apply the addons")[0]["result"]["changed"]
    # the routes' hosts, injected by the real istiod (istioctl analyze reports routes to missing hosts)
    deploy_shop(kubeconfig)
    kube_api.clear_log()
    last = report_analysis(tmp_path)
    second = run_playbook(SITE, tmp_path, inventory=inv)
    assert second.rc == 0, [(r["task"], r["result"].get("msg")) for r in second.results if r["status"] == "failed"]
    assert second.changed == [], [r["task"] for r in second.changed]
    assert recap_changed(second) == {"aks": 0}, second.stdout[-2000:]
    assert_wrote_nothing(kube_api)
    # istioctl analyze: left out of a no-op run after an analysis that found nothing failing (the first one saw
    # routes to hosts not deployed yet, reported as errors that fail nothing), its counts kept in the report
    assert_analyzed_unless_the_last_analysis_was_clean(second, last)
    last = report_analysis(tmp_path)
    third = run_playbook(SITE, tmp_path, inventory=inv)
    assert third.rc == 0 and third.changed == [], [r["task"] for r in third.changed]
    assert_analyzed_unless_the_last_analysis_was_clean(third, last)
    assert report_analysis(tmp_path) == last and last["istioctl_args"]["fail_level"] == "Error"
    # aksmesh_analyze_always: istioctl analyze on every run (the analyze stage alone, --tags analyze: the decision
    # is the same whichever stages ran, as they changed nothing)
    always = run_playbook(SITE, tmp_path, inventory=inv, tags="analyze", extra_vars={"aksmesh_analyze_always": True})
    assert always.rc == 0 and always.changed == [], [r["task"] for r in always.changed]
    assert always.task("Analyze the live mesh with istioctl")[0]["status"] == "ok"
