"""The official kubernetes client (typed APIs and DynamicClient) against the loopback API."""

import json
import time

import pytest
from kubernetes import client, config, dynamic
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, ProtocolError

PA = {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
      "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}}


@pytest.fixture
def api(kubeconfig):
    return config.new_client_from_config(kubeconfig)


@pytest.fixture
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture
def dyn(api):
    return dynamic.DynamicClient(api)


def make_ns(core, name, labels=None):
    return core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))


def test_version_and_discovery(api, dyn):
    assert client.VersionApi(api).get_code().git_version == "v1.32.4"
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "networking.istio.io", "security.istio.io", "apiextensions.k8s.io"} <= groups
    vs = dyn.resources.get(api_version="networking.istio.io/v1", kind="VirtualService")
    assert vs.namespaced and vs.name == "virtualservices"


def test_crud_metadata_and_selectors(core):
    ns = make_ns(core, "shop", {"istio-injection": "enabled"})
    assert ns.metadata.uid and ns.metadata.resource_version and ns.status.phase == "Active"
    make_ns(core, "other")
    assert [n.metadata.name for n in core.list_namespace(label_selector="istio-injection=enabled").items] == ["shop"]
    assert [n.metadata.name for n in core.list_namespace(label_selector="istio-injection notin (enabled),"
                                                         "kubernetes.io/metadata.name in (other)").items] == ["other"]
    assert [n.metadata.name for n in core.list_namespace(field_selector="metadata.name=shop").items] == ["shop"]
    cm = core.create_namespaced_config_map("shop", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="a"),
                                                                      data={"k": "1"}))
    cm.data["k"] = "2"
    replaced = core.replace_namespaced_config_map("a", "shop", cm)
    assert int(replaced.metadata.resource_version) > int(cm.metadata.resource_version)
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("a", "shop", cm)  # old resourceVersion
    assert stale.value.status == 409 and json.loads(stale.value.body)["reason"] == "Conflict"
    core.delete_namespaced_config_map("a", "shop")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("a", "shop")
    body = json.loads(gone.value.body)
    assert gone.value.status == 404 and body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "a" not found'


def test_namespace_must_exist_and_invalid_objects(core):
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_secret("nowhere", client.V1Secret(metadata=client.V1ObjectMeta(name="s")))
    assert missing.value.status == 404 and json.loads(missing.value.body)["message"] == 'namespaces "nowhere" not found'
    make_ns(core, "istio-system")
    with pytest.raises(ApiException) as bad:
        core.create_namespaced_secret("istio-system", client.V1Secret(metadata=client.V1ObjectMeta(name="s"),
                                                                      data={"password": "not base64!"}))
    assert bad.value.status == 422 and json.loads(bad.value.body)["reason"] == "Invalid"
    with pytest.raises(ApiException) as dup:
        make_ns(core, "istio-system")
    assert dup.value.status == 409 and json.loads(dup.value.body)["reason"] == "AlreadyExists"


def test_patch_types_and_generation(api, core):
    make_ns(core, "web")
    apps = client.AppsV1Api(api)
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"app": "d"}},
           "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {
               "metadata": {"labels": {"app": "d", "version": "v1"}},
               "spec": {"containers": [{"name": "app", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
                                       {"name": "side", "image": "busybox"}]}}}}
    created = apps.create_namespaced_deployment("web", dep)
    assert created.metadata.generation == 1 and created.status.ready_replicas == 1
    # strategic merge patch: containers merge by name
    smp = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}}}}
    patched = apps.patch_namespaced_deployment("d", "web", smp)
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"app": "nginx:2", "side": "busybox"} and patched.metadata.generation == 2
    # metadata-only change keeps the generation
    labelled = apps.patch_namespaced_deployment("d", "web", {"metadata": {"labels": {"team": "x"}}})
    assert labelled.metadata.generation == 2
    # JSON patch
    api_json = [{"op": "replace", "path": "/spec/replicas", "value": 3}]
    scaled = apps.patch_namespaced_deployment("d", "web", api_json)
    assert scaled.spec.replicas == 3 and scaled.metadata.generation == 3


def test_merge_patch_on_custom_resource(dyn, core):
    make_ns(core, "istio-system")
    pa = dyn.resources.get(api_version="security.istio.io/v1", kind="PeerAuthentication")
    pa.create(body=PA, namespace="istio-system")
    out = pa.patch(body={"spec": {"mtls": {"mode": "PERMISSIVE"}}}, name="default", namespace="istio-system",
                   content_type="application/merge-patch+json")
    assert out.spec.mtls.mode == "PERMISSIVE"
    with pytest.raises(ApiException) as smp:
        pa.patch(body={"spec": {}}, name="default", namespace="istio-system",
                 content_type="application/strategic-merge-patch+json")
    assert smp.value.status == 415


def test_server_side_apply_ownership_and_conflicts(dyn, core):
    make_ns(core, "istio-system")
    pa = dyn.resources.get(api_version="security.istio.io/v1", kind="PeerAuthentication")
    first = pa.server_side_apply(body=PA, name="default", namespace="istio-system", field_manager="aksmesh")
    managers = {m["manager"]: m for m in first.to_dict()["metadata"]["managedFields"]}
    assert managers["aksmesh"]["operation"] == "Apply"
    assert managers["aksmesh"]["fieldsV1"]["f:spec"] == {"f:mtls": {"f:mode": {}}}
    again = pa.server_side_apply(body=PA, name="default", namespace="istio-system", field_manager="aksmesh")
    assert again.metadata.resourceVersion == first.metadata.resourceVersion  # no-op apply writes nothing
    other = dict(PA, spec={"mtls": {"mode": "PERMISSIVE"}})
    with pytest.raises(ApiException) as conflict:
        pa.server_side_apply(body=other, name="default", namespace="istio-system", field_manager="someone-else")
    status = json.loads(conflict.value.body)
    assert conflict.value.status == 409
    assert status["details"]["causes"][0] == {"reason": "FieldManagerConflict", "field": ".spec.mtls.mode",
                                              "message": 'conflict with "aksmesh" using security.istio.io/v1'}
    forced = pa.server_side_apply(body=other, name="default", namespace="istio-system",
                                  field_manager="someone-else", force_conflicts=True)
    assert forced.spec.mtls.mode == "PERMISSIVE"
    assert {m["manager"] for m in forced.to_dict()["metadata"]["managedFields"]} == {"someone-else"}
    # same value from two managers: shared ownership, no conflict
    pa.server_side_apply(body=other, name="default", namespace="istio-system", field_manager="aksmesh")
    # a field dropped from a manager's config is removed when no one else owns it
    labelled = dict(other, metadata=dict(PA["metadata"], labels={"a": "1"}))
    pa.server_side_apply(body=labelled, name="default", namespace="istio-system", field_manager="aksmesh")
    dropped = pa.server_side_apply(body=other, name="default", namespace="istio-system", field_manager="aksmesh")
    assert not (dropped.metadata.labels or {})


def test_dry_run_persists_nothing(dyn, core):
    make_ns(core, "istio-system")
    pa = dyn.resources.get(api_version="security.istio.io/v1", kind="PeerAuthentication")
    out = pa.server_side_apply(body=PA, name="default", namespace="istio-system", field_manager="aksmesh",
                               dry_run="All")
    assert out.spec.mtls.mode == "STRICT"
    assert pa.get(namespace="istio-system").items == []


def test_crd_registers_a_kind_and_deleting_it_removes_objects(bare_kube_api, dyn, core):
    crd_api = dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}
    out = crd_api.create(body=crd)
    assert {c["type"]: c["status"] for c in out.status.conditions}["Established"] == "True"
    dyn.resources.invalidate_cache()
    widgets = dyn.resources.get(api_version="example.com/v1", kind="Widget")
    make_ns(core, "w")
    widgets.create(body={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}}, namespace="w")
    crd_api.delete(name="widgets.example.com")
    assert not [k for k in bare_kube_api.state.objects if k[0] == "example.com"]


def test_fault_injection_and_request_log(kube_api, api, core):
    kube_api.clear_log()
    kube_api.faults.add(r"/api/v1/namespaces$", 429, method="GET", headers={"Retry-After": "1"})
    assert core.list_namespace().items  # urllib3 honours Retry-After on 429 and retries once
    kube_api.faults.add(r"/api/v1/namespaces$", 500, method="GET", count=2)
    for _attempt in range(2):
        with pytest.raises(ApiException):
            core.list_namespace()
    kube_api.faults.add(r"/api/v1/namespaces$", "delay", method="GET", seconds=0.3)
    start = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - start >= 0.3
    kube_api.faults.add(r"/api/v1/namespaces$", "drop", method="GET", count=10)
    api.configuration.retries = 0
    with pytest.raises((MaxRetryError, ProtocolError)):
        client.CoreV1Api(api).list_namespace(_request_timeout=5)
    kube_api.faults.clear()
    statuses = [e.status for e in kube_api.requests("GET", r"/api/v1/namespaces$")]
    assert statuses[:5] == [429, 200, 500, 500, 200] and 0 in statuses
    kube_api.faults.add(r"/api/v1/namespaces$", 429, method="GET", count=5, headers={"Retry-After": "0"})
    with pytest.raises(ApiException) as throttled:
        client.CoreV1Api(api).list_namespace()
    assert throttled.value.status == 429 and throttled.value.headers["Retry-After"] == "0"


def test_client_certificate_authentication(kube_api, tmp_path):
    cert, key = kube_api.issue_client_cert()
    cfg = client.Configuration(host=kube_api.url)
    cfg.ssl_ca_cert, cfg.cert_file, cfg.key_file = kube_api.ca_path, cert, key
    assert client.CoreV1Api(client.ApiClient(cfg)).list_namespace().items
    anon = client.Configuration(host=kube_api.url)
    anon.ssl_ca_cert = kube_api.ca_path
    with pytest.raises(ApiException) as denied:
        client.CoreV1Api(client.ApiClient(anon)).list_namespace()
    assert denied.value.status == 401
