"""The mesh_sample role on the real stack: Bookinfo rolled out on the kwok nodes in a namespace whose pods the real
istiod (installed by the real istioctl) injects, its Gateway selecting the real gateway pods, the check through the
gateway's address, idempotence, check mode, render mode, cleanup; the download path's checksums."""

import hashlib
import shutil

import pytest
import yaml
from kubernetes import client, config

from tests.support import shared_data
from tests.support.ansible_runner import REPO, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION

FILES = {"bookinfo": "platform/kube/bookinfo.yaml", "gateway": "networking/bookinfo-gateway.yaml",
         "destination_rules": "networking/destination-rule-all.yaml"}
DEPLOYMENTS = ["details-v1", "productpage-v1", "ratings-v1", "reviews-v1", "reviews-v2", "reviews-v3"]


@pytest.fixture
def bookinfo():
    """Istio's own samples/bookinfo folder (../shared/istio-upstream)."""
    path = shared_data.upstream("samples", "bookinfo")
    if path is None:
        pytest.skip("../shared/istio-upstream is absent: the sample role needs the real Bookinfo files")
    return path


def sample_play(kubeconfig, source, **role_vars):
    return role_play(kubeconfig, [{"role": "aksmesh.istio.mesh_sample", "vars": dict(
        {"mesh_sample_source_dir": str(source)}, **role_vars)}], name="sample")


def injected(pod):
    """The real istiod's sidecar: istio-proxy as a container or a native sidecar (init container)."""
    names = [c["name"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])]
    return "istio-proxy" in names and "sidecar.istio.io/status" in (pod["metadata"].get("annotations") or {})


def test_bookinfo_behind_the_istioctl_gateway(kube_api, kubeconfig, bookinfo, tmp_path, dataplane):
    # the control plane as site.yml installs it: the real istioctl; istiod then serves injection
    install = run_playbook(role_play(kubeconfig, [{"role": "aksmesh.istio.istio_install", "vars": {
        "istio_install_tag": ISTIO_VERSION}}], name="istio"), tmp_path)
    assert install.rc == 0, install.stdout[-3000:]
    api = config.new_client_from_config(kubeconfig)
    core = client.CoreV1Api(api)
    address = kube_api.wait_for(lambda: (core.read_namespaced_service(
        "istio-ingressgateway", "istio-ingress").status.load_balancer.ingress or [None])[0], "the ingress address").ip

    kube_api.clear_log()
    check = run_playbook(sample_play(kubeconfig, bookinfo), tmp_path, check=True, diff=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert kube_api.writes() == []  # check mode: a server dry run, nothing written, nothing requested
    assert not check.task("Request the product page through the ingress gateway")[0]["result"].get("status")

    # the real data plane: the gateway's Envoy and the six sidecars, configured by the real istiod, and the
    # productpage stand-in behind them: the role's own check gets its 200 through the load balancer address
    first = run_playbook(sample_play(kubeconfig, bookinfo, mesh_sample_check_timeout=120), tmp_path)
    assert first.rc == 0, first.stdout[-3000:]
    url = f"http://{address}:80/productpage"
    status = first.task("Report the sample's status code")[0]["result"]["ansible_facts"]["mesh_sample_status"]
    assert status == 200
    assert first.task("Show where to open the sample")[0]["result"]["msg"] == f"sample: {url} answered 200"
    page = [r for r in dataplane.pod("bookinfo", "productpage-v1").requests_seen() if r["path"] == "/productpage"]
    assert page and "spiffe://cluster.local/ns/istio-ingress/sa/istio-ingressgateway-service-account" in page[-1][
        "headers"]["x-forwarded-client-cert"]  # it came through the gateway, over mTLS

    # without a proxy on the gateway address (the data plane stopped) the check names that outcome
    dataplane.stop()
    down = run_playbook(sample_play(kubeconfig, bookinfo, mesh_sample_check_timeout=0), tmp_path)
    assert down.rc != 0
    failure = down.task("Fail when the ingress does not reach the sample")[0]["result"]["msg"]
    assert failure.startswith(f"mesh_sample: GET {url} got no HTTP answer after 0 s (Request failed: <urlopen "
                              "error [Errno 111] Connection refused>)"), failure
    assert "Skip this check with mesh_sample_check_ingress: false" in failure
    assert "The sample itself is applied and rolled out" in failure
    status = down.task("Report the sample's status code")[0]["result"]["ansible_facts"]["mesh_sample_status"]
    assert status == -1
    shown = down.task("Show where to open the sample")[0]["result"]["msg"]
    assert shown == f"sample: {url} answered -1"

    ns = core.read_namespace("bookinfo").metadata.labels
    assert ns["istio-injection"] == "enabled" and ns["aksmesh.io/stage"] == "sample"
    apps = client.AppsV1Api(api)
    deployments = apps.list_namespaced_deployment("bookinfo").items
    assert sorted(d.metadata.name for d in deployments) == DEPLOYMENTS
    for d in deployments:  # rolled out on the fake nodes
        assert d.status.updated_replicas == d.spec.replicas == d.status.available_replicas, d.metadata.name
    pods = kube_api.get("v1", "Pod", "bookinfo")
    assert len(pods) == len(DEPLOYMENTS) and all(p["spec"].get("nodeName") for p in pods)
    assert all(injected(p) for p in pods), [p["metadata"]["name"] for p in pods if not injected(p)]
    # the Gateway lives with the gateway workload and selects exactly its pods
    gw = kube_api.get("networking.istio.io/v1", "Gateway", "istio-ingress", "bookinfo-gateway")
    selector = ",".join(f"{k}={v}" for k, v in gw["spec"]["selector"].items())
    selected = {p.metadata.name for p in core.list_namespaced_pod("istio-ingress", label_selector=selector).items}
    gateway_pods = {p.metadata.name for p in core.list_namespaced_pod(
        "istio-ingress", label_selector="app=istio-ingressgateway").items}
    assert selected and selected == gateway_pods
    assert gw["spec"]["servers"][0]["port"]["number"] in [p.port for p in core.read_namespaced_service(
        "istio-ingressgateway", "istio-ingress").spec.ports]
    vs = kube_api.get("networking.istio.io/v1", "VirtualService", "bookinfo", "bookinfo")
    assert vs["spec"]["gateways"] == ["istio-ingress/bookinfo-gateway"]
    assert vs["spec"]["exportTo"] == [".", "istio-ingress"]

    kube_api.clear_log()
    second = run_playbook(sample_play(kubeconfig, bookinfo, mesh_sample_check_ingress=False), tmp_path)
    assert second.rc == 0, second.stdout[-3000:]
    assert second.changed == [], [r["task"] for r in second.changed]
    assert kube_api.writes() == []
    assert second.task("Show where to open the sample")[0]["result"]["msg"] == f"sample: {url}"

    # cleanup.yml's sample part removes it (namespace and Gateway); a second cleanup has nothing to do
    inventory = {"aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "aksmesh_sample": True}
    gone = run_playbook(REPO / "cleanup.yml", tmp_path, extra_vars=inventory, tags="sample")
    assert gone.rc == 0, gone.stdout[-3000:]
    assert not kube_api.get("v1", "Namespace", None, "bookinfo")
    assert not kube_api.get("networking.istio.io/v1", "Gateway", "istio-ingress", "bookinfo-gateway")
    assert kube_api.get("apps/v1", "Deployment", "istio-ingress", "istio-ingressgateway")  # the mesh stays
    again = run_playbook(REPO / "cleanup.yml", tmp_path, extra_vars=inventory, tags="sample")
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]


def test_a_pending_address_and_a_bad_namespace_are_named(kube_api, kubeconfig, bookinfo, tmp_path):
    """No control plane needed: the Istio CRDs are the harness's, and the ingress Service asks for a public IP
    by a name no cloud resolves, so it stays pending (the harness's cloud provider resolves none outside Azure)."""
    kube_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-ingress"}})
    kube_api.create({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "pending-ingress", "namespace": "istio-ingress",
        "annotations": {"service.beta.kubernetes.io/azure-pip-name": "pip-nowhere"}}, "spec": {
        "type": "LoadBalancer", "selector": {"istio": "ingressgateway"},
        "ports": [{"name": "http2", "port": 80, "targetPort": 8080}]}})
    kube_api.clear_log()
    bad = run_playbook(sample_play(kubeconfig, bookinfo, mesh_sample_namespace="istio-ingress"), tmp_path)
    assert bad.rc != 0 and "mesh_sample_namespace: istio-ingress is a namespace of the mesh" in bad.stdout
    assert kube_api.writes() == []  # refused before anything changed
    run = run_playbook(sample_play(kubeconfig, bookinfo, mesh_sample_ingress_service="pending-ingress",
                                   mesh_sample_check_timeout=0), tmp_path)
    assert run.rc != 0
    failure = run.task("Fail when the ingress does not reach the sample")[0]["result"]["msg"]
    assert failure.startswith(
        "mesh_sample: the ingress gateway Service istio-ingress/pending-ingress has no load balancer address after "
        "0 s, so http://<ingress address>:80/productpage cannot be requested; see its events (kubectl -n "
        "istio-ingress describe service pending-ingress)."), failure
    assert sorted(d["metadata"]["name"] for d in kube_api.get("apps/v1", "Deployment", "bookinfo")) == DEPLOYMENTS


def test_site_with_the_sample_on_a_fresh_cluster_check_then_apply(kube_api, kubeconfig, bookinfo, tmp_path):
    """site.yml --check announces the sample's objects (its namespace, the Gateway into the planned istio-ingress,
    the kinds of the CRDs istioctl would install) and writes nothing; the real run creates exactly those. The
    istioctl method through a kubeconfig, with the CNI node agent on: this is also test_cni's check mode for the
    istioctl method (one site.yml pair for both, as CI's time is counted)."""
    from tests.integration.test_check_mode import check_then_apply
    from tests.integration.test_site import MESH, inventory
    kube_api.remove_istio_crds()  # a fresh cluster: istioctl install brings them
    inv = inventory(tmp_path, {"aks": {"aksmesh_kubeconfig": kubeconfig}}, dict(
        MESH, aksmesh_target="cluster", aksmesh_istioctl_download=False, aksmesh_sample=True,
        mesh_sample_source_dir=str(bookinfo), mesh_sample_check_ingress=False, aksmesh_cni=True,
        istio_install_tag=ISTIO_VERSION))
    check = check_then_apply(kube_api, tmp_path, inv)
    announced = check.task("Apply the sample")[0]["result"]["results"]
    assert {(e["kind"], e.get("namespace"), e["name"]) for e in announced if e["action"] == "created"} >= {
        ("Namespace", None, "bookinfo"), ("Gateway", "istio-ingress", "bookinfo-gateway"),
        ("Deployment", "bookinfo", "productpage-v1")}
    install = check.task("Compare the control plane with the cluster")[0]["result"]
    assert ("DaemonSet", "istio-system", "istio-cni-node", "create") in {
        (c["kind"], c.get("namespace"), c["name"], c["action"]) for c in install["manifest_changes"]}, install
    assert kube_api.get("apps/v1", "DaemonSet", "istio-system", "istio-cni-node")
    pods = kube_api.get("v1", "Pod", "bookinfo")
    assert pods and all(injected(p) for p in pods)


def test_site_renders_the_sample_last_and_lints_it(bookinfo, tmp_path):
    out = tmp_path / "out"
    variables = {"aksmesh_render_dir": str(out), "aksmesh_sample": True, "aksmesh_addons": False,
                 "mesh_sample_source_dir": str(bookinfo), "aksmesh_install_method": "helm",
                 # the control plane as Flux HelmReleases: no chart repository needed for this test of the sample
                 "aksmesh_render_helm_as": "flux"}
    check = run_playbook(REPO / "site.yml", tmp_path, extra_vars=variables, check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert not out.exists()
    run = run_playbook(REPO / "site.yml", tmp_path, extra_vars=variables)
    assert run.rc == 0, run.stdout[-3000:]
    files = sorted(p.name for p in (out / "95-sample").iterdir())
    assert "00-namespace--cluster-bookinfo.yaml" in files and "gateway-istio-ingress-bookinfo-gateway.yaml" in files
    assert "deployment-bookinfo-productpage-v1.yaml" in files and "virtualservice-bookinfo-bookinfo.yaml" in files
    gw = yaml.safe_load((out / "95-sample" / "gateway-istio-ingress-bookinfo-gateway.yaml").read_text())
    assert gw["spec"]["selector"] == {"istio": "ingress"}  # the Helm chart's gateway pods
    lint = run.task("Lint the mesh configuration (the render folder, or the live mesh)")[0]["result"]
    assert not [m for m in lint["messages"] if "bookinfo" in str(m.get("origin", ""))], lint["messages"]
    assert run.task("Show where to open the sample")[0]["result"]["msg"] == \
        "sample: http://<ingress address>:80/productpage"
    assert "sample: http://<ingress address>:80/productpage" in run.task("Summary")[0]["result"]["msg"]
    again = run_playbook(REPO / "site.yml", tmp_path, extra_vars=variables)
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]


def test_downloads_are_verified_and_a_failure_applies_nothing(bookinfo, tmp_path):
    mirror = tmp_path / "mirror"
    shutil.copytree(bookinfo, mirror)
    sums = {key: "sha256:" + hashlib.sha256((mirror / path).read_bytes()).hexdigest() for key, path in FILES.items()}
    out = tmp_path / "out"

    def run(**variables):
        return run_playbook([{"name": "sample", "hosts": "localhost", "gather_facts": False,
                              "vars": {"aksmesh_render_dir": str(out)},
                              "roles": [{"role": "aksmesh.istio.settings"}, {"role": "aksmesh.istio.mesh_sample",
                                        "vars": dict({"mesh_sample_base_url": mirror.as_uri()}, **variables)}]}],
                            tmp_path, env={"AKSMESH_DOWNLOAD_CACHE": str(tmp_path / "cache")})
    unpinned = run()
    assert unpinned.rc != 0
    assert ("mesh_sample_checksums: no sha256 for the bookinfo, gateway, destination_rules file(s) of Istio 1.30.0's "
            "Bookinfo sample (the collection pins none yet)") in unpinned.stdout
    assert f"the sha256sum of {mirror.as_uri()}/platform/kube/bookinfo.yaml" in unpinned.stdout
    bad = run(mesh_sample_checksums=dict(sums, gateway="sha256:" + "0" * 64))
    assert bad.rc != 0
    assert f"mesh_sample: networking/bookinfo-gateway.yaml of Istio 1.30.0 from {mirror.as_uri()}: sha256 checksum " \
        "mismatch" in bad.stdout and "Nothing was applied." in bad.stdout
    assert not out.exists()
    good = run(mesh_sample_checksums=sums)
    assert good.rc == 0, good.stdout[-3000:]
    assert (out / "95-sample" / "deployment-bookinfo-productpage-v1.yaml").exists()
    shutil.rmtree(mirror)  # a second run reads the download cache: nothing is downloaded, nothing changes
    again = run(mesh_sample_checksums=sums)
    assert again.rc == 0 and again.changed == [], [r["task"] for r in again.changed]
