from ansible_collections.aksmesh.istio.plugins.module_utils._istio import inventory as inv


def crd(name, group):
    return {"metadata": {"name": name}, "spec": {"group": group}}


def test_crds_installed_only_when_all_required_present():
    all_req = [crd(n, n.split(".", 1)[1]) for n in inv.REQUIRED_CRDS]
    assert inv.istio_crds(all_req + [crd("widgets.example.com", "example.com")]) == {
        "installed": True, "names": sorted(inv.REQUIRED_CRDS), "missing": []}
    partial = inv.istio_crds(all_req[1:])
    assert partial["installed"] is False and partial["missing"] == [inv.REQUIRED_CRDS[0]]


def test_image_version_handles_registries_ports_and_digests():
    assert inv.image_version("docker.io/istio/pilot:1.30.0") == "1.30.0"
    assert inv.image_version("myreg:5000/istio/pilot:1.29.2-distroless") == "1.29.2-distroless"
    assert inv.image_version("myreg:5000/istio/pilot@sha256:abc") is None
    assert inv.image_version("pilot:1.30.1@sha256:abc") == "1.30.1"
    assert inv.image_version(None) is None


def test_revisions_from_istiod_deployments():
    dep = {"metadata": {"name": "istiod-canary", "namespace": "istio-system",
                        "labels": {"app": "istiod", "istio.io/rev": "canary"}},
           "spec": {"replicas": 2, "template": {"spec": {"containers": [
               {"name": "discovery", "image": "docker.io/istio/pilot:1.30.0"}]}}},
           "status": {"readyReplicas": 1}}
    (rev,) = inv.istio_revisions([dep])
    assert rev == {"revision": "canary", "namespace": "istio-system", "deployment": "istiod-canary",
                   "version": "1.30.0", "image": "docker.io/istio/pilot:1.30.0", "ready": False}


def test_injection_modes_and_conflicts():
    nss = [{"metadata": {"name": "b", "labels": {"istio.io/rev": "1-30"}}},
           {"metadata": {"name": "a", "labels": {"istio-injection": "disabled"}}},
           {"metadata": {"name": "c", "labels": {"istio-injection": "enabled", "istio.io/rev": "x"}}},
           {"metadata": {"name": "d"}}]
    assert [(n["name"], n["mode"], n["conflict"]) for n in inv.injection_namespaces(nss)] == [
        ("a", "disabled", False), ("b", "revision", False), ("c", "enabled", True)]


def test_server_version_keeps_digits_of_the_minor():
    assert inv.server_version({"major": "1", "minor": "28+", "gitVersion": "v1.28.3-gke.1"}) == {
        "git_version": "v1.28.3-gke.1", "major": 1, "minor": 28}
    assert inv.server_version({"major": "1", "minor": "", "gitVersion": "v1"})["minor"] == 0


def test_workloads_and_restart_patches_once_per_revision():
    items = [
        {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
         "spec": {"template": {"metadata": {}}}},
        {"kind": "StatefulSet", "metadata": {"name": "db", "namespace": "shop"},
         "spec": {"template": {"metadata": {"annotations": {inv.RESTARTED_FOR: "1-30-0"}}}}},
    ]
    found = inv.workloads(items)
    assert [(w["kind"], w["name"], w["restarted_for"]) for w in found] == [
        ("Deployment", "web", None), ("StatefulSet", "db", "1-30-0")]
    patches = inv.restart_patches(found, "1-30-0", "2026-11-24T01:00:00Z")
    assert [(p["kind"], p["metadata"]["name"]) for p in patches] == [("Deployment", "web")]
    assert patches[0]["spec"] == {"template": {"metadata": {"annotations": {
        inv.RESTARTED_AT: "2026-11-24T01:00:00Z", inv.RESTARTED_FOR: "1-30-0"}}}}
    assert len(inv.restart_patches(found, "1-31-0", "t")) == 2
    assert inv.restart_patches([{"kind": "CronJob", "name": "x", "namespace": "y"}], "r", "t") == []
