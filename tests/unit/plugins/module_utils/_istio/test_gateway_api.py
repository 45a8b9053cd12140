"""The Gateway API bundle and what the gateway-api stage does with a cluster's CRDs (module_utils/_istio/
gateway_api.py); the real bundle, module zip and cluster are in tests/integration/roles/test_gateway_api_role.py."""

import io
import json
import pathlib
import zipfile

import pytest
import yaml

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import gateway_api

REPO = pathlib.Path(__file__).resolve().parents[5]


def crd(name, channel="standard", version="v1.6.0", ours=False, manager="kubectl"):
    labels = {"app.kubernetes.io/managed-by": "aksmesh"} if ours else {}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name + ".gateway.networking.k8s.io", "labels": labels,
                         "annotations": {gateway_api.CHANNEL: channel, gateway_api.BUNDLE: version},
                         "managedFields": [{"manager": "kube-apiserver", "fieldsV1": {"f:status": {}}},
                                           {"manager": manager, "fieldsV1": {"f:spec": {}}}]},
            "spec": {"group": gateway_api.GROUP}}


def test_the_pinned_version_is_the_one_the_tools_build_checks_against_istio():
    lock = json.loads((REPO / "tools" / "tools.lock.json").read_text())["tools"]["gateway-api"]
    assert (lock["module"], lock["version"]) == (gateway_api.MODULE, gateway_api.VERSION)
    assert lock["crds"] == gateway_api.FOLDER
    assert gateway_api.module_zip_url("https://mirror.example.com/go/") == (
        "https://mirror.example.com/go/sigs.k8s.io/gateway-api/@v/v1.6.0.zip")


def test_no_crd_installs_and_the_collections_own_are_applied_again():
    assert gateway_api.plan([])["action"] == "install"
    same = gateway_api.plan([crd("gateways", ours=True), crd("httproutes", ours=True)])
    assert same["action"] == "install" and same["message"] == "keeps its Gateway API CRDs at v1.6.0 (standard channel)"
    older = gateway_api.plan([crd("gateways", version="v1.5.1", ours=True)])
    assert older["action"] == "upgrade" and older["message"].endswith("; they were v1.5.1")


def test_another_installers_crds_are_kept_and_named_with_a_warning_when_older():
    kept = gateway_api.plan([crd("gateways", version="v1.4.1", manager="aks-gateway-api"),
                             crd("httproutes", version="v1.4.1", manager="aks-gateway-api")])
    assert kept["action"] == "keep"
    assert kept["message"] == ("leaves the cluster's Gateway API CRDs (v1.4.1, written by aks-gateway-api) as they are")
    assert kept["warnings"] == [
        "the cluster's Gateway API CRDs are bundle v1.4.1, older than the v1.6.0 this Istio is tested with: a Gateway "
        "API field the older CRDs lack is dropped by the API server. Upgrade them where they are managed (AKS's "
        "managed Gateway API follows the cluster's Kubernetes version)"]
    assert [f["manager"] for f in kept["found"]] == ["aks-gateway-api", "aks-gateway-api"]
    newer = gateway_api.plan([crd("gateways", version="v1.7.0")])
    assert newer["action"] == "keep" and newer["warnings"] == []


def test_experimental_or_mixed_crds_are_refused_by_name():
    with pytest.raises(gateway_api.GatewayApiError, match=r"^the cluster has experimental-channel Gateway API CRDs "
                                                          r"\(tcproutes.gateway.networking.k8s.io\): .* Nothing was "
                                                          r"changed. Fix: .*aksmesh_gateway_api_crds: false"):
        gateway_api.plan([crd("gateways"), crd("tcproutes", channel="experimental")])
    with pytest.raises(gateway_api.GatewayApiError, match=r"partly the collection's \(gateways.gateway.networking."
                                                          r"k8s.io\) and partly another installer's \(httproutes"):
        gateway_api.plan([crd("gateways", ours=True), crd("httproutes")])


def test_crds_being_deleted_are_waited_for_by_name():
    going = crd("gateways", ours=True)
    going["metadata"]["deletionTimestamp"] = "2026-12-07T08:00:00Z"
    with pytest.raises(gateway_api.GatewayApiError, match=r"^the cluster's Gateway API CRDs gateways.gateway.networking"
                                                          r".k8s.io are being deleted .* run again once they are gone"):
        gateway_api.plan([going])


def module_zip(tmp_path, files, version="v1.6.0"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, text in files.items():
            archive.writestr("sigs.k8s.io/gateway-api@%s/%s" % (version, name), text)
    path = tmp_path / ("%s.zip" % version)
    path.write_bytes(buf.getvalue())
    return str(path)


def test_the_bundle_is_the_standard_folder_crds_first(tmp_path):
    vap = [{"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"}},
           {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "safe-upgrades.gateway.networking.k8s.io"}}]
    path = module_zip(tmp_path, {
        "config/crd/standard/a_vap.yaml": yaml.safe_dump_all(vap),
        "config/crd/standard/b_gateways.yaml": yaml.safe_dump(crd("gateways")),
        "config/crd/experimental/c_tcproutes.yaml": yaml.safe_dump(crd("tcproutes", channel="experimental")),
        "config/crd/standard/kustomization.txt": "not yaml"})
    objects = gateway_api.bundle(path)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("CustomResourceDefinition", "gateways.gateway.networking.k8s.io"),
        ("ValidatingAdmissionPolicy", "safe-upgrades.gateway.networking.k8s.io"),
        ("ValidatingAdmissionPolicyBinding", "safe-upgrades.gateway.networking.k8s.io")]
    assert gateway_api.path_of(objects[1]) == ("/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/"
                                               "safe-upgrades.gateway.networking.k8s.io")


def test_a_bundle_of_another_version_or_with_an_unknown_kind_is_refused(tmp_path):
    with pytest.raises(gateway_api.GatewayApiError, match="has no sigs.k8s.io/gateway-api@v1.6.0/config/crd/standard/"):
        gateway_api.bundle(module_zip(tmp_path, {"config/crd/standard/a.yaml": "kind: A\n"}, version="v1.5.0"))
    odd = module_zip(tmp_path, {"config/crd/standard/a.yaml": yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})})
    with pytest.raises(gateway_api.GatewayApiError, match="holds v1 ConfigMap, which the collection does not know"):
        gateway_api.bundle(odd)
