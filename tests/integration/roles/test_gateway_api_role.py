"""The gateway-api stage (role gateway_api) on the real cluster: the pinned Gateway API module zip, as the Go module
proxy served it to ``make tools`` (tools.lock.json ``gateway-api``), from a loopback Go module proxy and checked
against the go.sum hash the collection pins; installed when the cluster has no Gateway API CRD (check mode writes
nothing, a second run changes nothing), another installer's CRDs kept and named, experimental ones refusing site.yml
before its first write, a tampered zip refused, render mode's folder, cleanup of the collection's own only."""

import copy
import hashlib

import pytest
import yaml

from tests.support.ansible_runner import REPO, role_play, run_playbook
from tests.support.cluster import ISTIO_VERSION, ClusterError, tool_paths
from tests.support.loopback import file_server

ZIP_PATH = "/sigs.k8s.io/gateway-api/@v/v1.6.0.zip"
H1 = "h1:735YBRj5NXFrOGX0GoSjwzUIzbz8kiEOfADsqHFmHgE="
CRD = "apiextensions.k8s.io/v1"
VAP = "admissionregistration.k8s.io/v1"
SAFE_UPGRADES = "safe-upgrades.gateway.networking.k8s.io"


def module_zip():
    return tool_paths()["gateway-api-module"].read_bytes()


@pytest.fixture
def goproxy(tmp_path):
    """A Go module proxy on loopback serving the real module zip (``files`` may be changed by a test)."""
    server = file_server({ZIP_PATH: module_zip()}, tmp_path, name="goproxy", content_type="application/zip")
    yield server
    server.stop()


def stage_play(kubeconfig, goproxy, tasks_from="main", **inventory):
    """The role after the settings role, as a user's play has it; another entry point (absent: cleanup.yml's) as a
    task that includes it."""
    settings = dict(aksmesh_gateway_api_crds=True, aksmesh_gateway_api_proxy=goproxy.url, **inventory)
    if tasks_from == "main":
        return role_play(kubeconfig, [{"role": "aksmesh.istio.gateway_api"}], name="gateway-api", **settings)
    play = role_play(kubeconfig, [], name="gateway-api", **settings)
    play[0]["tasks"] = [{"name": "gateway_api", "ansible.builtin.include_role": {
        "name": "aksmesh.istio.gateway_api", "tasks_from": tasks_from}}]
    return play


def cache_env(tmp_path):
    return {"AKSMESH_DOWNLOAD_CACHE": str(tmp_path / "cache")}


def gateway_crds(kube_api):
    return sorted(c["metadata"]["name"] for c in kube_api.get(CRD, "CustomResourceDefinition")
                  if c["spec"]["group"] == "gateway.networking.k8s.io")


def stage_message(run):
    """The stage task's name, which says what the stage does (after the role's name)."""
    names = [t["task"].split(" : ", 1)[-1] for t in run.results]
    return [name for name in names if name.startswith("Gateway API CRDs: the stage ")]


def test_the_tools_zip_has_the_pinned_hash():
    """The pin is the Go checksum database's: the zip the module proxy served to make tools has it."""
    from ansible_collections.aksmesh.istio.plugins.module_utils._files import gomod  # pylint: disable=import-outside-toplevel
    assert gomod.hash_zip(str(tool_paths()["gateway-api-module"])) == H1


def no_gateway_crds(kube_api, what="an earlier test's Gateway API CRDs"):
    """An earlier test's reset deletes its CRDs without waiting: wait until they are gone."""
    kube_api.wait_crds_gone(gateway_crds(kube_api), what)


def test_installed_when_absent_then_unchanged_and_check_mode_writes_nothing(kube_api, kubeconfig, goproxy, tmp_path):
    no_gateway_crds(kube_api)
    check = run_playbook(stage_play(kubeconfig, goproxy), tmp_path, check=True, env=cache_env(tmp_path))
    assert check.rc == 0, check.stdout[-3000:]
    assert kube_api.writes() == [] and gateway_crds(kube_api) == []
    assert stage_message(check) == ["Gateway API CRDs: the stage installs the Gateway API v1.6.0 CRDs (standard channel)"]
    first = run_playbook(stage_play(kubeconfig, goproxy), tmp_path, env=cache_env(tmp_path))
    assert first.rc == 0, first.stdout[-3000:]
    assert [c["task"].split(" : ", 1)[-1] for c in first.changed] == stage_message(first)
    installed = gateway_crds(kube_api)
    assert {"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
            "referencegrants.gateway.networking.k8s.io", "gatewayclasses.gateway.networking.k8s.io"} <= set(installed)
    for name in installed:
        crd = kube_api.get(CRD, "CustomResourceDefinition", None, name)
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "aksmesh", name
        assert crd["metadata"]["labels"]["aksmesh.io/stage"] == "gateway-api", name
        assert crd["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] == "standard", name
        assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True", name
    assert kube_api.get(VAP, "ValidatingAdmissionPolicy", None, SAFE_UPGRADES)
    assert kube_api.get(VAP, "ValidatingAdmissionPolicyBinding", None, SAFE_UPGRADES)
    kube_api.clear_log()
    second = run_playbook(stage_play(kubeconfig, goproxy), tmp_path, env=cache_env(tmp_path))
    assert second.rc == 0 and second.changed == [], [c["task"] for c in second.changed]
    assert stage_message(second) == ["Gateway API CRDs: the stage keeps its Gateway API CRDs at v1.6.0 (standard "
                                     "channel)"]
    # the module zip came from the proxy once, then from the download cache
    assert [r.path for r in goproxy.requests()] == [ZIP_PATH]
    # the policy of the bundle is live: an experimental CRD over the standard ones is refused by the API server
    experimental = copy.deepcopy(kube_api.get(CRD, "CustomResourceDefinition", None, "gateways.gateway.networking.k8s.io"))
    experimental["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] = "experimental"
    with pytest.raises(ClusterError, match="Installing experimental CRDs on top of standard channel CRDs is prohibited"):
        kube_api.ok("PUT", kube_api.path(CRD, "CustomResourceDefinition", None, "gateways.gateway.networking.k8s.io"),
                    experimental)

    # cleanup.yml's entry point removes what the collection installed, when asked
    absent = run_playbook(stage_play(kubeconfig, goproxy, tasks_from="absent"), tmp_path, env=cache_env(tmp_path))
    assert absent.rc == 0, absent.stdout[-3000:]
    assert stage_message(absent) == ["Gateway API CRDs: the stage removes its %d Gateway API objects"
                                     % (len(installed) + 2)], absent.stdout[-3000:]
    # each one is deleted now (the API server's finalizer then removes it)
    assert all(c["metadata"].get("deletionTimestamp") for c in kube_api.get(CRD, "CustomResourceDefinition")
               if c["spec"]["group"] == "gateway.networking.k8s.io")
    no_gateway_crds(kube_api, "the collection's Gateway API CRDs")
    assert not kube_api.get(VAP, "ValidatingAdmissionPolicy", None, SAFE_UPGRADES)


def test_another_installers_crds_are_kept_and_named(kube_api, kubeconfig, goproxy, gateway_api_crds, tmp_path):
    kube_api.clear_log()
    run = run_playbook(stage_play(kubeconfig, goproxy), tmp_path, env=cache_env(tmp_path))
    assert run.rc == 0, run.stdout[-3000:]
    assert stage_message(run) == ["Gateway API CRDs: the stage leaves the cluster's Gateway API CRDs (v1.6.0, written "
                                  "by gateway-api) as they are"]
    # the only change: the module zip into the (new) download cache; nothing of the cluster
    assert [c["action"] for c in run.changed] == ["aksmesh.istio.download"] and kube_api.writes() == []
    # and cleanup leaves them too: none is the collection's
    absent = run_playbook(stage_play(kubeconfig, goproxy, tasks_from="absent"), tmp_path, env=cache_env(tmp_path))
    assert absent.rc == 0, absent.stdout[-3000:]
    assert kube_api.writes() == [] and set(gateway_api_crds) <= set(gateway_crds(kube_api))


def test_experimental_crds_stop_site_yml_before_its_first_write(kube_api, kubeconfig, goproxy, tmp_path):
    no_gateway_crds(kube_api)
    path = tool_paths()["gateway-api-crds"] / "gateway.networking.k8s.io_gateways.yaml"
    experimental = yaml.safe_load(path.read_text())
    experimental["metadata"]["annotations"]["gateway.networking.k8s.io/channel"] = "experimental"
    kube_api.create(experimental)
    kube_api.clear_log()
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"aks": {
        "aksmesh_target": "cluster", "aksmesh_kubeconfig": kubeconfig, "aksmesh_istioctl_download": False,
        "aksmesh_istio_version": ISTIO_VERSION, "aksmesh_addons": False, "aksmesh_gateway_api_crds": True,
        "aksmesh_gateway_api_proxy": goproxy.url,
        "aksmesh_grafana_passphrase": "graf-Pass-123", "aksmesh_kiali_passphrase": "kiali-Pass-456"}}}}))
    run = run_playbook(REPO / "site.yml", tmp_path, inventory=inventory, env=cache_env(tmp_path))
    assert run.rc != 0
    failed = [t for t in run.results if t["status"] == "failed"]
    assert failed and failed[0]["result"]["msg"].startswith(
        "the cluster has experimental-channel Gateway API CRDs (gateways.gateway.networking.k8s.io): the collection "
        "installs and uses the standard channel only"), failed[0]
    assert kube_api.writes() == []


def test_a_tampered_module_zip_is_refused_and_nothing_is_applied(kube_api, kubeconfig, goproxy, tmp_path):
    no_gateway_crds(kube_api)
    data = bytearray(goproxy.files[ZIP_PATH])
    data[len(data) // 2] ^= 0xFF  # one byte of one file's content
    goproxy.files[ZIP_PATH] = bytes(data)
    kube_api.clear_log()
    run = run_playbook(stage_play(kubeconfig, goproxy), tmp_path, env=cache_env(tmp_path))
    assert run.rc != 0
    failed = [t["result"]["msg"] for t in run.results if t["status"] == "failed"]
    assert failed[-1].startswith("aksmesh_gateway_api_proxy: the Gateway API v1.6.0 module zip %s%s: " % (
        goproxy.url, ZIP_PATH)), failed
    assert ("h1 checksum mismatch: expected %s" % H1 in failed[-1] or "is not a Go module zip" in failed[-1]), failed
    assert failed[-1].endswith("Nothing was changed. Fix: the zip is not the module version the Go checksum database "
                               "knows: a mirror must serve the module zip unchanged (check aksmesh_gateway_api_proxy, "
                               "or the proxy behind the mirror)"), failed
    assert kube_api.writes() == [] and gateway_crds(kube_api) == []
    assert not list((tmp_path / "cache").rglob("*.zip"))
    assert hashlib.sha256(data).hexdigest() != hashlib.sha256(module_zip()).hexdigest()


def test_render_mode_writes_the_bundle_before_the_control_plane(goproxy, tmp_path):
    out = tmp_path / "rendered"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"demo": {
        "aksmesh_target": "render", "aksmesh_render_dir": str(out), "aksmesh_istioctl_download": False,
        "aksmesh_istio_version": ISTIO_VERSION, "aksmesh_gateway_api_crds": True, "aksmesh_addons": False,
        "aksmesh_gateway_api_proxy": goproxy.url}}}}))
    run = run_playbook(REPO / "site.yml", tmp_path, inventory=inventory, env=cache_env(tmp_path))
    assert run.rc == 0, run.stdout[-3000:]
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders[0] == "05-gateway-api" and "10-istio" in folders
    kinds = [yaml.safe_load(p.read_text())["kind"] for p in sorted((out / "05-gateway-api").glob("*.yaml"))]
    assert kinds.count("CustomResourceDefinition") >= 8 and "ValidatingAdmissionPolicy" in kinds
