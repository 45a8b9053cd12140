"""kube_inject helpers: the revision's ConfigMaps, the three istioctl inputs, and what was injected."""

import json

import pytest

from ansible_collections.aksmesh.istio.plugins.module_utils._istio import kube_inject as ki


def cm(name, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "istio-system"},
            "data": data}


def deployment(annotations=None, kind="Deployment"):
    template = {"metadata": {"labels": {"app": "web"}, "annotations": annotations or {}}, "spec": {}}
    spec = {"jobTemplate": {"spec": {"template": template}}} if kind == "CronJob" else {"template": template}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "web", "namespace": "shop"}, "spec": spec}


@pytest.mark.parametrize("revision, names", [
    ("default", ("istio-sidecar-injector", "istio")), ("", ("istio-sidecar-injector", "istio")),
    ("1-30-0", ("istio-sidecar-injector-1-30-0", "istio-1-30-0")),
    ("asm-1-28", ("istio-sidecar-injector-asm-1-28", "istio-asm-1-28"))])
def test_configmap_names(revision, names):
    assert ki.configmap_names(revision) == names


def test_inputs_from_the_two_configmaps():
    got = ki.inputs(cm("istio-sidecar-injector", config="tmpl", values="{}"), cm("istio", mesh="m: 1"),
                    "istio-system", "default")
    assert got == {"config": "tmpl", "values": "{}", "mesh": "m: 1"}


@pytest.mark.parametrize("injector, mesh, message", [
    (None, cm("istio", mesh="m"), "ConfigMap istio-system/istio-sidecar-injector not found (revision default)"),
    (cm("istio-sidecar-injector", config="t", values="{}"), None, "ConfigMap istio-system/istio not found"),
    (cm("istio-sidecar-injector", config="t"), cm("istio", mesh="m"), "has no values: it is not an Istio injection"),
    (cm("istio-sidecar-injector", config="t", values="{}"), cm("istio"), "istio-system/istio has no mesh"),
])
def test_missing_inputs_are_named(injector, mesh, message):
    with pytest.raises(ki.InjectError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ki.inputs(injector, mesh, "istio-system", "default")


def test_find_configmaps_among_rendered_objects():
    objs = [cm("istio-sidecar-injector-1-30-0", config="t", values="{}"), cm("istio-1-30-0", mesh="m"),
            cm("istio", mesh="other revision"), dict(cm("istio-1-30-0", mesh="elsewhere"),
                                                     metadata={"name": "istio-1-30-0", "namespace": "other"})]
    injector, mesh = ki.find_configmaps(objs, "istio-system", "1-30-0")
    assert injector["metadata"]["name"] == "istio-sidecar-injector-1-30-0" and mesh["data"]["mesh"] == "m"
    assert ki.find_configmaps(objs, "istio-system", "1-31-0") == (None, None)


def test_outcome_sorts_injected_already_and_untouched():
    status = {ki.STATUS: json.dumps({"revision": "1-30-0"})}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}}
    before = [deployment(), deployment(status, kind="CronJob"), service]
    after = [deployment(status), deployment(status, kind="CronJob"), service]
    assert ki.outcome(before, after) == {"injected": ["Deployment shop/web"],
                                         "already_injected": ["CronJob shop/web"],
                                         "not_injected": ["Service shop/web"]}
    assert ki.injected_revision(deployment({ki.STATUS: "not json"})) == ""
    assert ki.injected_revision(service) is None


def test_pending_lists_what_would_get_the_sidecar_once_the_revision_is_installed():
    """Check mode, the control plane only planned: no template to inject with, the objects are told as pending."""
    cm_obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"}}
    opted_out = deployment({"sidecar.istio.io/inject": "false"})
    opted_out["metadata"]["name"] = "quiet"
    done = deployment({ki.STATUS: json.dumps({"revision": "1-30-0"})})
    done["metadata"]["name"] = "done"
    assert ki.pending([deployment(), deployment(kind="CronJob"), cm_obj, opted_out, done]) == {
        "injected": [], "already_injected": ["Deployment shop/done"],
        "not_injected": ["ConfigMap shop/c", "Deployment shop/quiet"],
        "pending": ["Deployment shop/web", "CronJob shop/web"]}
